"""Device functions: one Python source compiled by Numba for the CPU
(``@njit``) and for CUDA (``@cuda.jit``), via ``register_jitable``.

All arithmetic is on uint64 values (32-bit words are kept masked), so the
same code types identically on both targets and matches the C core bit for
bit.  Constants are uint64 globals: Numba freezes them with their types.
"""

import math

import numpy as np
from llvmlite import ir
from numba.core import types
from numba.core.extending import intrinsic, overload
from numba.extending import register_jitable

from .._core import kinds
from .._core.bridge import ALGORITHM_CODES, KIND_ROWS

U64 = np.uint64
U32 = np.uint32
M32 = U64(0xFFFFFFFF)
S11, S12, S32, S63 = U64(11), U64(12), U64(32), U64(63)
ONE, TWO, THREE, SIX, SEVEN = U64(1), U64(2), U64(3), U64(6), U64(7)

PHILOX_M32 = (U64(0xD2511F53), U64(0xCD9E8D57))
PHILOX_W32 = (U64(0x9E3779B9), U64(0xBB67AE85))
PHILOX_M64 = (U64(0xD2E7470EE14C6C93), U64(0xCA5A826395121157))
PHILOX_W64 = (U64(0x9E3779B97F4A7C15), U64(0xBB67AE8584CAA73B))
PARITY32, PARITY64 = U64(0x1BD11BDA), U64(0x1BD11BDAA9FC1A22)
ROT32 = (U64(10), U64(26), U64(11), U64(21), U64(13), U64(27), U64(23), U64(5),
         U64(6), U64(20), U64(17), U64(11), U64(25), U64(10), U64(18), U64(20))
ROT64 = (U64(14), U64(16), U64(52), U64(57), U64(23), U64(40), U64(5), U64(37),
         U64(25), U64(33), U64(46), U64(12), U64(58), U64(22), U64(32), U64(32))
# The C core's cipher codes (words[0] of a stream), as uint64 constants.
PHILOX4X32, PHILOX4X64, THREEFRY4X32, THREEFRY4X64 = (
    U64(ALGORITHM_CODES[name]) for name in ("philox4x32", "philox4x64", "threefry4x32", "threefry4x64"))
TWO_M24 = np.float32(2.0 ** -24)
TWO_M53 = 2.0 ** -53


@register_jitable
def fmul(a, b):
    """a * b rounded on its own.  The C core never fuses a product into a
    following add; a CUDA compiler does unless told otherwise, so every
    product that an add takes below goes through here."""
    return a * b


@overload(fmul, target="cuda")
def _fmul_cuda(a, b):
    from numba.core import types
    from numba.cuda import libdevice  # mul.rn: an instruction nothing fuses

    if isinstance(a, types.Float) and a.bitwidth == 32:
        return lambda a, b: libdevice.fmul_rn(a, b)
    return lambda a, b: libdevice.dmul_rn(a, b)


@register_jitable
def mul_wide32(a, b):
    """The 64-bit product of a and b, uint64 values below 2**32."""
    return a * b


@intrinsic
def _mul_wide_u32(typingctx, a, b):
    """mul.wide.u32 of the low 32 bits of a and b.  Numba types every
    integer operation in 64 bits, and a 64-bit multiply of values it does
    not know to be 32-bit costs a GPU several multiplies, or one and an add
    of zero that NVVM and ptxas leave in."""
    def codegen(context, builder, sig, args):
        i32 = ir.IntType(32)
        asm = ir.InlineAsm(ir.FunctionType(ir.IntType(64), [i32, i32]), "mul.wide.u32 $0, $1, $2;", "=l,r,r")
        return builder.call(asm, [builder.trunc(x, i32) for x in args])
    return types.uint64(types.uint64, types.uint64), codegen


@overload(mul_wide32, target="cuda")
def _mul_wide32_cuda(a, b):
    return lambda a, b: _mul_wide_u32(a, b)


@register_jitable
def mulhilo64(a, b):
    """(high, low) 64-bit halves of the 128-bit product a * b."""
    al, ah, bl, bh = a & M32, a >> S32, b & M32, b >> S32
    ll, lh, hl, hh = mul_wide32(al, bl), mul_wide32(al, bh), mul_wide32(ah, bl), mul_wide32(ah, bh)
    mid = (ll >> S32) + (lh & M32) + (hl & M32)
    return hh + (lh >> S32) + (hl >> S32) + (mid >> S32), (mid << S32) | (ll & M32)


@register_jitable
def philox4x32(c0, c1, c2, c3, k0, k1, rounds):
    """Philox4x32-`rounds` block of counter (c0..c3) under key (k0, k1)."""
    c0, c1, c2, c3, k0, k1 = c0 & M32, c1 & M32, c2 & M32, c3 & M32, k0 & M32, k1 & M32
    for _ in range(rounds):
        p0 = mul_wide32(c0, PHILOX_M32[0])
        p1 = mul_wide32(c2, PHILOX_M32[1])
        c0, c1, c2, c3 = (p1 >> S32) ^ c1 ^ k0, p1 & M32, (p0 >> S32) ^ c3 ^ k1, p0 & M32
        k0 = (k0 + PHILOX_W32[0]) & M32
        k1 = (k1 + PHILOX_W32[1]) & M32
    return c0, c1, c2, c3


@register_jitable
def philox4x64(c0, c1, c2, c3, k0, k1, rounds):
    """Philox4x64-`rounds` block of counter (c0..c3) under key (k0, k1)."""
    for _ in range(rounds):
        h0, l0 = mulhilo64(PHILOX_M64[0], c0)
        h1, l1 = mulhilo64(PHILOX_M64[1], c2)
        c0, c1, c2, c3 = h1 ^ c1 ^ k0, l1, h0 ^ c3 ^ k1, l0
        k0 = k0 + PHILOX_W64[0]
        k1 = k1 + PHILOX_W64[1]
    return c0, c1, c2, c3


@register_jitable
def _mix(xa, xb, xc, xd, ra, rb, width, mask):
    """Two Threefish MIXes: (xa, xb) with rotation ra, (xc, xd) with rb."""
    xa = (xa + xb) & mask
    xb = (((xb << ra) | (xb >> (width - ra))) & mask) ^ xa
    xc = (xc + xd) & mask
    xd = (((xd << rb) | (xd >> (width - rb))) & mask) ^ xc
    return xa, xb, xc, xd


@register_jitable
def _four_rounds(x0, x1, x2, x3, left, rot, width, mask):
    """Up to four rounds (as many as `left` says) with rotations rot[0..7]:
    even rounds mix (x0, x1) and (x2, x3), odd ones (x0, x3) and (x2, x1).
    Constant indices: a tuple indexed by a round counter compiles to a
    chain of branches."""
    if left > 0:
        x0, x1, x2, x3 = _mix(x0, x1, x2, x3, rot[0], rot[1], width, mask)
    if left > 1:
        x0, x3, x2, x1 = _mix(x0, x3, x2, x1, rot[2], rot[3], width, mask)
    if left > 2:
        x0, x1, x2, x3 = _mix(x0, x1, x2, x3, rot[4], rot[5], width, mask)
    if left > 3:
        x0, x3, x2, x1 = _mix(x0, x3, x2, x1, rot[6], rot[7], width, mask)
    return x0, x1, x2, x3


@register_jitable
def _inject(x0, x1, x2, x3, k0, k1, k2, k3, k4, s, due, mask):
    """If `due` (four more rounds were made), the next key injection: the
    schedule k0..k4 turns one place and is added, with the count s + 1."""
    if not due:
        return x0, x1, x2, x3, k0, k1, k2, k3, k4, s
    k0, k1, k2, k3, k4, s = k1, k2, k3, k4, k0, s + ONE
    return (x0 + k0) & mask, (x1 + k1) & mask, (x2 + k2) & mask, (x3 + k3 + s) & mask, k0, k1, k2, k3, k4, s


@register_jitable
def _threefry(x0, x1, x2, x3, k0, k1, k2, k3, rounds, width, mask, parity, rot):
    """Threefry4xW: the Threefish-256 mix, the key injected every fourth round."""
    k4 = parity ^ k0 ^ k1 ^ k2 ^ k3
    x0, x1, x2, x3 = (x0 + k0) & mask, (x1 + k1) & mask, (x2 + k2) & mask, (x3 + k3) & mask
    s = U64(0)
    for r in range(0, rounds, 8):  # the rotations repeat every 8 rounds
        x0, x1, x2, x3 = _four_rounds(x0, x1, x2, x3, rounds - r, rot[:8], width, mask)
        x0, x1, x2, x3, k0, k1, k2, k3, k4, s = _inject(x0, x1, x2, x3, k0, k1, k2, k3, k4, s,
                                                        r + 4 <= rounds, mask)
        x0, x1, x2, x3 = _four_rounds(x0, x1, x2, x3, rounds - r - 4, rot[8:], width, mask)
        x0, x1, x2, x3, k0, k1, k2, k3, k4, s = _inject(x0, x1, x2, x3, k0, k1, k2, k3, k4, s,
                                                        r + 8 <= rounds, mask)
    return x0, x1, x2, x3


@register_jitable
def threefry4x32(c0, c1, c2, c3, k0, k1, k2, k3, rounds):
    """Threefry4x32-`rounds` block of counter (c0..c3) under key (k0..k3)."""
    return _threefry(c0, c1, c2, c3, k0, k1, k2, k3, rounds, S32, M32, PARITY32, ROT32)


@register_jitable
def threefry4x64(c0, c1, c2, c3, k0, k1, k2, k3, rounds):
    """Threefry4x64-`rounds` block of counter (c0..c3) under key (k0..k3)."""
    return _threefry(c0, c1, c2, c3, k0, k1, k2, k3, rounds, U64(64), ~U64(0), PARITY64, ROT64)


@register_jitable
def is64(alg):
    """True for the 4x64 ciphers."""
    return alg == PHILOX4X64 or alg == THREEFRY4X64


@register_jitable
def stream_block(words, p):
    """Block p of the stream `words` (see stream_words): four uint64 values,
    32-bit words zero-extended for the 4x32 ciphers."""
    return block_of(words[0], int(words[1]), words, p)


@register_jitable
def block_of(alg, rounds, words, p):
    """stream_block with the algorithm code and round count given apart:
    as compile-time constants they leave one cipher, its rounds unrolled."""
    if alg == PHILOX4X32:
        return philox4x32(p & M32, p >> S32, words[7], words[8], words[2], words[3], rounds)
    if alg == PHILOX4X64:
        return philox4x64(p, words[6], words[7], words[8], words[2], words[3], rounds)
    if alg == THREEFRY4X32:
        return threefry4x32(p & M32, p >> S32, words[7], words[8], words[2], words[3], words[4], words[5],
                            rounds)
    return threefry4x64(p, words[6], words[7], words[8], words[2], words[3], words[4], words[5], rounds)


@register_jitable
def _pick(b, j):
    if j == 0:
        return b[0]
    if j == ONE:
        return b[1]
    if j == TWO:
        return b[2]
    return b[3]


@register_jitable
def block_word32(b, w, wide):
    """uint32 word w (an int) of the cipher block b (four uint64 values): 4
    words for the 4x32 ciphers, 8 for the 4x64 ones (`wide`, low half
    first).  w stays a signed int: the kernels' loops over w then unroll
    as they would over constant indices."""
    if wide:
        x = _pick(b, U64(w) >> ONE)
        return (x >> S32) if w & 1 else (x & M32)
    return _pick(b, U64(w))


@register_jitable
def block_word64(b, w, wide):
    """uint64 word w (an int) of the cipher block b: 2 words for the 4x32
    ciphers (two 32-bit words each, low first), 4 for the 4x64 ones
    (`wide`)."""
    if wide:
        return _pick(b, U64(w))
    return (_pick(b, U64(2 * w + 1)) << S32) | _pick(b, U64(2 * w))


@register_jitable
def raw32_of(alg, rounds, words, i):
    """random_raw32 with the algorithm code and round count given apart."""
    i = U64(i)
    if is64(alg):
        return block_word32(block_of(alg, rounds, words, i >> THREE), np.int64(i & SEVEN), True)
    return block_word32(block_of(alg, rounds, words, i >> TWO), np.int64(i & THREE), False)


@register_jitable
def raw64_of(alg, rounds, words, i):
    """random_raw64 with the algorithm code and round count given apart."""
    i = U64(i)
    if is64(alg):
        return block_word64(block_of(alg, rounds, words, i >> TWO), np.int64(i & THREE), True)
    return block_word64(block_of(alg, rounds, words, i >> ONE), np.int64(i & ONE), False)


@register_jitable
def random_raw32(words, i):
    """uint32 element i of the stream (as a uint64)."""
    return raw32_of(words[0], int(words[1]), words, i)


@register_jitable
def random_raw64(words, i):
    """uint64 element i of the stream."""
    return raw64_of(words[0], int(words[1]), words, i)


@register_jitable
def unit_f64(w):
    """The float64 in [0, 1) made from the uint64 word w: (w >> 11) 2^-53."""
    return np.float64(w >> S11) * TWO_M53


@register_jitable
def unit_f32(w):
    """The float32 in [0, 1) made from the uint32 word w: (w >> 8) 2^-24
    (converted from 32 bits: a GPU converts 64-bit integers slowly)."""
    return np.float32(U32(w >> U64(8))) * TWO_M24


@register_jitable
def uniform_f64(words, i):
    """Element i of ctrng.random(key, ..., dtype=float64)."""
    return unit_f64(random_raw64(words, i))


@register_jitable
def uniform_f32(words, i):
    """Element i of ctrng.random(key, ..., dtype=float32)."""
    return unit_f32(random_raw32(words, i))


@register_jitable
def bernoulli(words, threshold, i):
    """Element i of ctrng.bernoulli(key, p): True when uint64 element i is
    below threshold = ctrng.numba.bernoulli_threshold(p)."""
    return random_raw64(words, i) < threshold


@register_jitable
def _mulmod(a, b, m):
    """a * b mod m for a, b < m < 2**64 (shift-and-add; only ever needed on
    the 2**-64-rare path below)."""
    r = U64(0)
    for bit in range(63, -1, -1):
        r = r - m if r >= m - r else r + r  # r = 2 r mod m, without overflow
        if (b >> U64(bit)) & ONE:
            r = r - (m - a) if r >= m - a else r + a
    return r


# The integer kinds of the C table (csrc/kinds.h), narrowest first: each
# serves ranges (span = high - low - 1) below 2**range_bits by one draw of
# unit_bytes * 8 bits.  Read at import, so that kernels see constants.
_NARROW, _MIDDLE, _WIDE = (KIND_ROWS[code] for code in kinds.INTEGER_KINDS)
NARROW_SPAN, MIDDLE_SPAN = U64((1 << _NARROW.range_bits) - 1), U64((1 << _MIDDLE.range_bits) - 1)
NARROW_BITS, MIDDLE_BITS, WIDE_BITS = 8 * _NARROW.unit_bytes, 8 * _MIDDLE.unit_bytes, 8 * _WIDE.unit_bytes


@register_jitable
def _draw_bits(span):
    """Bits one draw takes for offsets in [0, span]: the draw of the
    narrowest integer kind whose ranges include span, as ctrng.integers
    picks it."""
    if span <= NARROW_SPAN:
        return NARROW_BITS
    if span <= MIDDLE_SPAN:
        return MIDDLE_BITS
    return WIDE_BITS


@register_jitable
def lemire_threshold(bits, m):
    """2**bits mod m (bits 32 or 64, 1 <= m <= 2**bits): a draw whose
    product with m has a low part below it is rejected.  Also called on the
    host (with NumPy uint64 values) for kernels that take it as a parameter."""
    if bits == 32:
        return (U64(0x100000000) - m) % m
    return (~m + ONE) % m


@register_jitable
def lemire_accept(bits, m, threshold, x):
    """(accepted, offset) of a 32- or 64-bit draw x for offsets in [0, m),
    given threshold = 2**bits mod m."""
    if bits == 32:
        p = x * m
        return (p & M32) >= threshold, p >> S32
    hi, lo = mulhilo64(x, m)
    return lo >= threshold, hi


@register_jitable
def _lemire(span, bits, x0, x1):
    """(accepted, offset) of one draw, as csrc/dist/lemire.h (x0 the low, x1 the
    high word of a 128-bit draw)."""
    m = span + ONE
    if bits == 32:
        return lemire_accept(32, m, lemire_threshold(32, m), x0)
    if bits == 64:
        return lemire_accept(64, m, lemire_threshold(64, m), x0)
    if span == ~U64(0):
        return True, x1
    h0, l0 = mulhilo64(x0, m)
    h1, l1 = mulhilo64(x1, m)
    mid_lo = l1 + h0
    off = h1 + (ONE if mid_lo < l1 else U64(0))
    if mid_lo != 0:
        return True, off
    r64 = lemire_threshold(64, m)
    return l0 >= _mulmod(r64, r64, m), off


@register_jitable
def retried_offset(alg, rounds, words, span, bits, i):
    """The offset of integer element i whose first draw was rejected, from
    the C core's retries: retry r reads the first bits of block
    2^63 | i << 6 | r."""
    ok, off, r = False, U64(0), U64(0)
    while not ok and r < U64(64):
        b = block_of(alg, rounds, words, (ONE << S63) | (i << SIX) | r)
        wide = is64(alg)
        x0, x1 = block_word64(b, 0, wide), block_word64(b, 1, wide)
        if bits == 32:
            x0 = x0 & M32
        ok, off = _lemire(span, bits, x0, x1)
        r += ONE
    return off


@register_jitable
def bounded_offset_of(alg, rounds, words, span, i):
    """bounded_offset with the algorithm code and round count given apart."""
    i = U64(i)
    span = U64(span)
    bits = _draw_bits(span)
    if bits == 32:
        x0, x1 = raw32_of(alg, rounds, words, i), U64(0)
    elif bits == 64:
        x0, x1 = raw64_of(alg, rounds, words, i), U64(0)
    else:
        x0, x1 = raw64_of(alg, rounds, words, TWO * i), raw64_of(alg, rounds, words, TWO * i + ONE)
    ok, off = _lemire(span, bits, x0, x1)
    return off if ok else retried_offset(alg, rounds, words, span, bits, i)


@register_jitable
def bounded_offset(words, span, i):
    """Offset in [0, span] of element i of ctrng.integers(key, low,
    low + span + 1): the integer is low + offset.  Exactly unbiased, with the
    C core's draws and retries."""
    return bounded_offset_of(words[0], int(words[1]), words, span, i)


# ---- standard normal: the C core's Box-Muller, operation for operation ------
# csrc/dist/transforms.h evaluates these on vectors; here each lane is a scalar.
# The exponent splits use frexp instead of bit tricks, with the same
# thresholds, so every intermediate value is the same IEEE number.

F32 = np.float32
LOG_SPLIT_F64 = float.fromhex("0x1.6a09ep-1")    # high word 0x3fe6a09e
LOG_SPLIT_F32 = F32(float.fromhex("0x1.6a09e6p-1"))  # 0x3f3504f3
LG_F32 = tuple(F32(float.fromhex(h)) for h in ("0x1.555554p-1", "0x1.999c26p-2", "0x1.23d3dcp-2", "0x1.f13c4cp-3"))
PIO2 = float.fromhex("0x1.921fb54442d18p+0")
ROUNDER = float.fromhex("0x1.8p52")
PIO2_PER_2_22 = F32(float.fromhex("0x1.921fb6p-22"))


@register_jitable
def _neg2log_f64(u):
    """-2 ln u, u in (0, 1], subnormal u included (fdlibm's reduction and polynomial)."""
    m, e = math.frexp(u)
    if m < LOG_SPLIT_F64:
        m, e = m * 2.0, e - 1
    f = m - 1.0
    dk = np.float64(e)
    hfsq = fmul(0.5 * f, f)
    sq = f / (2.0 + f)
    z = sq * sq
    w = z * z
    w2 = w * w
    t1 = fmul(w, (3.999999999940941908e-01 + fmul(w, 2.222219843214978396e-01)) + fmul(w2, 1.531383769920937332e-01))
    t2 = fmul(z, (6.666666666666735130e-01 + fmul(w, 2.857142874366239149e-01)) +
              fmul(w2, 1.818357216161805012e-01 + fmul(w, 1.479819860511658591e-01)))
    return (fmul(-2.0 * sq, hfsq + (t2 + t1)) + (fmul(dk, -2.0 * 1.90821492927058770002e-10) + fmul(f, f))) + \
        (-2.0 * f + fmul(dk, -2.0 * 6.93147180369123816490e-01))


@register_jitable
def _quadrant(s, c, q):
    """(cos, sin) of x + q pi / 2 from (sin x, cos x)."""
    if q == 0:
        return c, s
    if q == 1:
        return -s, c
    if q == 2:
        return -c, -s
    return s, -c


@register_jitable
def box_muller_f64(wr, wa):
    """(z_2k, z_2k+1) from the uint64 words 2k (radius) and 2k + 1 (angle)."""
    r = math.sqrt(_neg2log_f64(1.0 - np.float64(wr >> S12) * 2.0 ** -52))
    y = np.float64(wa >> S12) * 2.0 ** -50
    n = (y + ROUNDER) - ROUNDER
    q = int(n) & 3
    th = fmul(y - n, PIO2)
    z = th * th
    z2 = z * z
    z4 = z2 * z2
    s = th + fmul(z * th, (-1.66666666666666324348e-01 + fmul(z, 8.33333333332248946124e-03)) +
                  fmul(z2, -1.98412698298579493134e-04 + fmul(z, 2.75573137070700676789e-06)) +
                  fmul(z4, -2.50507602534068634195e-08 + fmul(z, 1.58969099521155010221e-10)))
    rc = z * ((4.16666666666666019037e-02 + fmul(z, -1.38888888888741095749e-03)) +
              fmul(z2, 2.48015872894767294178e-05 + fmul(z, -2.75573143513906633035e-07)) +
              fmul(z4, 2.08757232129817482790e-09 + fmul(z, -1.13596475577881948265e-11)))
    hz = 0.5 * z
    c1 = 1.0 - hz
    c = c1 + (((1.0 - c1) - hz) + fmul(z, rc))
    cv, sv = _quadrant(s, c, q)
    return r * cv, r * sv


@register_jitable
def standard_normal_f64(words, i):
    """Element i of ctrng.standard_normal(key, ..., dtype=float64)."""
    i = U64(i)
    k2 = i & ~ONE
    zc, zs = box_muller_f64(random_raw64(words, k2), random_raw64(words, k2 + ONE))
    return zs if i & ONE else zc


@register_jitable
def _neg2log_f32(x, bias):
    """-2 ln(x 2**-bias) in float32 (musl's logf reduction and polynomial)."""
    m, e = math.frexp(np.float64(x))
    m = F32(m)
    if m < LOG_SPLIT_F32:
        m, e = m * F32(2.0), e - 1
    f = m - F32(1.0)
    dk = F32(e - bias)
    sq = f / (F32(2.0) + f)
    z = sq * sq
    w = z * z
    rr = fmul(z, LG_F32[0] + fmul(w, LG_F32[2])) + fmul(w, LG_F32[1] + fmul(w, LG_F32[3]))
    hfsq = fmul(F32(0.5) * f, f)
    return (fmul(F32(-2.0) * sq, hfsq + rr) + (fmul(dk, F32(-2.0) * F32(9.0580006145e-06)) + fmul(f, f))) + \
        (F32(-2.0) * f + fmul(dk, F32(-2.0) * F32(6.9313812256e-01)))


@register_jitable
def box_muller_f32(wr, wa):
    """(z_2k, z_2k+1) in float32 from the uint32 words 2k (radius) and 2k + 1
    (angle), given as uint64."""
    x = F32(U32(wr >> ONE)) + F32(0.25)
    r = F32(math.sqrt(np.float64(_neg2log_f32(x, 31))))
    a = wa >> U64(8)
    q = (a + U64(1 << 21)) >> U64(22)
    th = fmul(F32(np.int64(a) - np.int64(q << U64(22))), PIO2_PER_2_22)
    z = th * th
    z2 = z * z
    s = th + fmul(th * z, (fmul(F32(8.3321608736e-3), z) + F32(-1.6666654611e-1)) + fmul(F32(-1.9515295891e-4), z2))
    c = (F32(1.0) - F32(0.5) * z) + fmul(z2, (fmul(F32(-1.388731625493765e-3), z) + F32(4.166664568298827e-2)) +
                                         fmul(F32(2.443315711809948e-5), z2))
    cv, sv = _quadrant(s, c, int(q & THREE))
    return r * cv, r * sv


@register_jitable
def standard_normal_f32(words, i):
    """Element i of ctrng.standard_normal(key, ..., dtype=float32)."""
    i = U64(i)
    k2 = i & ~ONE
    zc, zs = box_muller_f32(random_raw32(words, k2), random_raw32(words, k2 + ONE))
    return zs if i & ONE else zc


# ---- the normal quantile: csrc/dist/transforms.h's ndtri, lane by lane -------------
# Wichura's AS 241 (PPND16), about 1e-16 relative, with the fdlibm log above
# (-ln x = (-2 ln x) / 2 exactly): used by the exact truncated normal
# (inversion) of ctrng.init.
AS241 = (
    (3.387132872796366608, 133.14166789178437745, 1971.5909503065514427, 13731.693765509461125,
     45921.953931549871457, 67265.770927008700853, 33430.575583588128105, 2509.0809287301226727),
    (1.0, 42.313330701600911252, 687.1870074920579083, 5394.1960214247511077,
     21213.794301586595867, 39307.89580009271061, 28729.085735721942674, 5226.495278852545925),
    (1.42343711074968357734, 4.6303378461565452959, 5.7694972214606914055, 3.64784832476320460504,
     1.27045825245236838258, .24178072517745061177, .0227238449892691845833, 7.7454501427834140764e-4),
    (1.0, 2.05319162663775882187, 1.6763848301838038494, .68976733498510000455,
     .14810397642748007459, .0151986665636164571966, 5.475938084995344946e-4, 1.05075007164441684324e-9),
    (6.6579046435011037772, 5.4637849111641143699, 1.7848265399172913358, .29656057182850489123,
     .026532189526576123093, .0012426609473880784386, 2.71155556874348757815e-5, 2.01033439929228813265e-7),
    (1.0, .59983220655588793769, .13692988092273580531, .0148753612908506148525,
     7.868691311456132591e-4, 1.8463183175100546818e-5, 1.4215117583164458887e-7, 2.04426310338993978564e-15),
)


@register_jitable
def _poly8(c, x):
    """c[0] + c[1] x + ... + c[7] x^7 in Estrin's scheme, as the C core."""
    x2 = x * x
    x4 = x2 * x2
    return ((c[0] + fmul(c[1], x)) + fmul(x2, c[2] + fmul(c[3], x))) + \
        fmul(x4, (c[4] + fmul(c[5], x)) + fmul(x2, c[6] + fmul(c[7], x)))


@register_jitable
def ndtri(p):
    """The standard normal quantile of p in [0, 1] (ndtri(0) = -inf)."""
    q = p - 0.5
    if abs(q) <= 0.425:
        r = 0.180625 - fmul(q, q)
        return q * _poly8(AS241[0], r) / _poly8(AS241[1], r)
    pp = p if q < 0 else 1.0 - p
    if pp == 0.0:
        v = math.inf
    else:
        r = math.sqrt(0.5 * _neg2log_f64(pp))
        if r <= 5.0:
            r -= 1.6
            v = _poly8(AS241[2], r) / _poly8(AS241[3], r)
        else:
            r -= 5.0
            v = _poly8(AS241[4], r) / _poly8(AS241[5], r)
    return -v if q < 0 else v


@register_jitable
def truncated_normal(u, plo, width, flip, alpha, beta, mean, std):
    """mean + std z, z the standard normal truncated to [alpha, beta] at the
    uniform u in [0, 1), by inversion from the lower tail (see
    ctrng.init.trunc_normal_); flip mirrors an interval in the upper tail."""
    z = ndtri(plo + fmul(u, width))
    if flip:
        z = -z
    if z < alpha:  # rounding at the ends only
        z = alpha
    if z > beta:
        z = beta
    return mean + fmul(std, z)


# -- index permutations (csrc/shuffle/iperm.c) ------------------------------------------
# params = ctrng.numba.index_permutation_params(p): [n, bits, rounds, add, keys...]
LOWBIAS = (U64(0x7FEB352D), U64(0x846CA68B))
S15, S16 = U64(15), U64(16)


@register_jitable
def _lowbias32(x):
    x ^= x >> S16
    x = (x * LOWBIAS[0]) & M32
    x ^= x >> S15
    x = (x * LOWBIAS[1]) & M32
    return x ^ (x >> S16)


def _walker(W):
    """Cycle walking over the Feistel bijection in words of type W: np.uint32
    while params[1], the bit count, is at most 32, else np.uint64: a pass
    in 32-bit words compiles to fewer GPU instructions than in 64-bit ones,
    with the same values."""

    @register_jitable
    def once(params, x, inverse, rounds):
        """One pass of the bijection of [0, 2**bits) (or of its inverse)."""
        bits = params[1]
        a = bits // TWO
        b = bits - a
        mask_a, mask_b, mask_m = W((ONE << a) - ONE), W((ONE << b) - ONE), W((ONE << bits) - ONE)
        top = S32 - a  # F_r(lo): the top a bits of the mixer's output
        if not inverse:
            for r in range(rounds):
                lo = W(x & mask_b)
                f = W(_lowbias32(lo ^ params[4 + r]) >> top)
                x = W((lo << a) | ((x >> b) ^ f))
            return W((x + params[3]) & mask_m)
        x = W((x - params[3]) & mask_m)
        for r in range(rounds - 1, -1, -1):
            lo = W(x >> a)
            f = W(_lowbias32(lo ^ params[4 + r]) >> top)
            x = W((((x & mask_a) ^ f) << b) | lo)
        return x

    @register_jitable
    def walk(params, x, inverse, rounds):
        x = once(params, W(x), inverse, rounds)
        while x >= params[0]:
            x = once(params, x, inverse, rounds)
        return U64(x)

    @register_jitable
    def walk_many(params, start, j, step, out, rounds):
        """out[j] = walk(start + j) for j, j + step, ... below out.size,
        taking the next index as soon as a walk ends: the lanes of a GPU
        warp then make one pass each per step of the loop, instead of all
        waiting for the longest walk, several times the mean (see
        docs/permutations.md, "On the GPU")."""
        x = W(start + U64(j))
        while j < out.size:
            x = once(params, x, False, rounds)
            if x < params[0]:
                out[j] = np.int64(x)
                j += step
                x = W(start + U64(j))

    return walk, walk_many


(_walk32, _walk_many32), (_walk64, _walk_many64) = _walker(U32), _walker(U64)


@register_jitable
def iperm_walk(params, x, inverse, rounds):
    """Cycle walking: repeat the pass until the value is below n; `rounds`
    is params[2], given apart so that a kernel can fix it at compile time."""
    if params[1] <= S32:
        return _walk32(params, x, inverse, rounds)
    return _walk64(params, x, inverse, rounds)


@register_jitable
def iperm_fill(params, start, j, step, out, rounds):
    """out[j] = element start + j of the permutation, for j, j + step, ...
    below out.size (rounds as for iperm_walk)."""
    if params[1] <= S32:
        _walk_many32(params, start, j, step, out, rounds)
    else:
        _walk_many64(params, start, j, step, out, rounds)


@register_jitable
def index_permutation(params, i):
    """Element i (< n) of ctrng.IndexPermutation(key, n), from its params."""
    return iperm_walk(params, i, False, params[2])


@register_jitable
def index_permutation_inverse(params, v):
    """The position of value v (< n) in ctrng.IndexPermutation(key, n)."""
    return iperm_walk(params, v, True, params[2])
