"""Pure-Python oracles for the ctrng tests.

Nothing here imports ctrng: the ciphers are written from the Random123
algorithm description (Salmon et al., "Parallel random numbers: as easy as
1, 2, 3", SC'11, and the Random123 headers), the stream layout from
docs/guarantee.md ("Step 1: the layout is injective") and docs/contract.md
("Raw words"), and the distribution mappings from their documented formulas.  The tests compare the C core against these.
"""

from __future__ import annotations

import math
import struct
from fractions import Fraction
from pathlib import Path

import numpy as np

KAT_PATH = Path(__file__).resolve().parent / "data" / "random123_kat_vectors.txt"

ALGORITHMS = ("philox4x32", "philox4x64", "threefry4x32", "threefry4x64")
CODES = {"philox4x32": 0, "philox4x64": 1, "threefry4x32": 2, "threefry4x64": 3}
WORD_BITS = {"philox4x32": 32, "philox4x64": 64, "threefry4x32": 32, "threefry4x64": 64}
KEY_WORDS = {"philox4x32": 2, "philox4x64": 2, "threefry4x32": 4, "threefry4x64": 4}
ROOT_BITS = {a: WORD_BITS[a] * KEY_WORDS[a] for a in ALGORITHMS}
DEFAULT_ROUNDS = {"philox4x32": 10, "philox4x64": 10, "threefry4x32": 20, "threefry4x64": 20}
M32 = (1 << 32) - 1
M64 = (1 << 64) - 1


# ---------------------------------------------------------------------------
# Known-answer file
# ---------------------------------------------------------------------------

def kat_lines(names=ALGORITHMS):
    """(name, rounds, ctr words, key words, expected words) for every line of
    the Random123 known-answer file whose generator is in `names`."""
    rows = []
    for line in KAT_PATH.read_text().splitlines():
        fields = line.split()
        if not fields or fields[0].startswith("#") or fields[0] not in names:
            continue
        name, rounds = fields[0], int(fields[1])
        words = [int(f, 16) for f in fields[2:]]
        nkey = KEY_WORDS[name]
        assert len(words) == 4 + nkey + 4, line
        rows.append((name, rounds, tuple(words[:4]), tuple(words[4:4 + nkey]), tuple(words[4 + nkey:])))
    return rows


# ---------------------------------------------------------------------------
# Ciphers
# ---------------------------------------------------------------------------

PHILOX4X32_M = (0xD2511F53, 0xCD9E8D57)
PHILOX4X32_W = (0x9E3779B9, 0xBB67AE85)
PHILOX4X64_M = (0xD2E7470EE14C6C93, 0xCA5A826395121157)
PHILOX4X64_W = (0x9E3779B97F4A7C15, 0xBB67AE8584CAA73B)


def _philox4(ctr, key, rounds, bits, mults, weyl):
    mask = (1 << bits) - 1
    x0, x1, x2, x3 = (c & mask for c in ctr)
    k0, k1 = (k & mask for k in key[:2])
    for _ in range(rounds):
        p0 = mults[0] * x0  # (hi0, lo0) = mulhilo(M0, x0)
        p1 = mults[1] * x2  # (hi1, lo1) = mulhilo(M1, x2)
        x0, x1, x2, x3 = ((p1 >> bits) ^ x1 ^ k0, p1 & mask, (p0 >> bits) ^ x3 ^ k1, p0 & mask)
        k0 = (k0 + weyl[0]) & mask  # key schedule: Weyl sequence
        k1 = (k1 + weyl[1]) & mask
    return (x0, x1, x2, x3)


def philox4x32(ctr, key, rounds=10):
    return _philox4(ctr, key, rounds, 32, PHILOX4X32_M, PHILOX4X32_W)


def philox4x64(ctr, key, rounds=10):
    return _philox4(ctr, key, rounds, 64, PHILOX4X64_M, PHILOX4X64_W)


# Threefry rotation constants (Random123 threefry.h, from Skein/Threefish-256).
THREEFRY4X32_ROT = ((10, 26), (11, 21), (13, 27), (23, 5), (6, 20), (17, 11), (25, 10), (18, 20))
THREEFRY4X64_ROT = ((14, 16), (52, 57), (23, 40), (5, 37), (25, 33), (46, 12), (58, 22), (32, 32))
SKEIN_PARITY32 = 0x1BD11BDA
SKEIN_PARITY64 = 0x1BD11BDAA9FC1A22


def _threefry4(ctr, key, rounds, bits, rot, parity):
    mask = (1 << bits) - 1

    def rotl(v, r):
        return ((v << r) | (v >> (bits - r))) & mask

    ks = [k & mask for k in key[:4]]
    ks.append(parity ^ ks[0] ^ ks[1] ^ ks[2] ^ ks[3])
    x = [(c + k) & mask for c, k in zip(ctr, ks)]
    for r in range(rounds):
        ra, rb = rot[r % 8]
        if r % 2 == 0:
            x[0] = (x[0] + x[1]) & mask
            x[1] = rotl(x[1], ra) ^ x[0]
            x[2] = (x[2] + x[3]) & mask
            x[3] = rotl(x[3], rb) ^ x[2]
        else:
            x[0] = (x[0] + x[3]) & mask
            x[3] = rotl(x[3], ra) ^ x[0]
            x[2] = (x[2] + x[1]) & mask
            x[1] = rotl(x[1], rb) ^ x[2]
        if r % 4 == 3:  # key injection every 4 rounds
            s = (r + 1) // 4
            for j in range(4):
                x[j] = (x[j] + ks[(s + j) % 5]) & mask
            x[3] = (x[3] + s) & mask
    return tuple(x)


def threefry4x32(ctr, key, rounds=20):
    return _threefry4(ctr, key, rounds, 32, THREEFRY4X32_ROT, SKEIN_PARITY32)


def threefry4x64(ctr, key, rounds=20):
    return _threefry4(ctr, key, rounds, 64, THREEFRY4X64_ROT, SKEIN_PARITY64)


CIPHERS = {"philox4x32": philox4x32, "philox4x64": philox4x64,
           "threefry4x32": threefry4x32, "threefry4x64": threefry4x64}


# ---------------------------------------------------------------------------
# Stream layout, version 1 (docs/guarantee.md#step-1-the-layout-is-injective)
# ---------------------------------------------------------------------------

def layout_key(algorithm, root):
    bits = WORD_BITS[algorithm]
    mask = (1 << bits) - 1
    assert 0 <= root < 1 << ROOT_BITS[algorithm]
    return tuple((root >> (bits * i)) & mask for i in range(KEY_WORDS[algorithm]))


def layout_counter(algorithm, rank, stream, p):
    assert 0 <= rank < 1 << 32 and 0 <= stream < 1 << 32 and 0 <= p < 1 << 64
    if WORD_BITS[algorithm] == 32:
        return (p & M32, p >> 32, stream, rank)
    return (p, stream, rank, 0)


def stream_block(algorithm, root, rank, stream, p, rounds=None):
    """The four words of block p of stream (algorithm, root, rank, stream)."""
    rounds = DEFAULT_ROUNDS[algorithm] if rounds is None else rounds
    return CIPHERS[algorithm](layout_counter(algorithm, rank, stream, p), layout_key(algorithm, root), rounds)


def block_bytes(algorithm, root, rank, stream, p, rounds=None):
    """Block p as little-endian bytes (the stream is these, blocks in order)."""
    fmt = "<4I" if WORD_BITS[algorithm] == 32 else "<4Q"
    return struct.pack(fmt, *stream_block(algorithm, root, rank, stream, p, rounds))


def stream_bytes(algorithm, root, rank, stream, first_byte, nbytes, rounds=None):
    """Bytes [first_byte, first_byte + nbytes) of the stream."""
    bb = 4 * WORD_BITS[algorithm] // 8
    p0, p1 = first_byte // bb, (first_byte + nbytes + bb - 1) // bb
    data = b"".join(block_bytes(algorithm, root, rank, stream, p, rounds) for p in range(p0, p1))
    off = first_byte - p0 * bb
    return data[off:off + nbytes]


def raw_words(algorithm, root, rank, stream, start, n, dtype, rounds=None):
    """Elements [start, start + n) of the uint32 or uint64 view of the stream."""
    size = np.dtype(dtype).itemsize
    data = stream_bytes(algorithm, root, rank, stream, start * size, n * size, rounds)
    fmt = "<%d%s" % (n, "I" if size == 4 else "Q")
    return list(struct.unpack(fmt, data))


# ---------------------------------------------------------------------------
# Distributions (from the raw words)
# ---------------------------------------------------------------------------

def uniform_f64(u64):
    return [(int(w) >> 11) * 2.0 ** -53 for w in u64]


def uniform_f32(u32):
    # (w >> 8) < 2**24 is exact in float32, and so is the scaling.
    return [float(np.float32((int(w) >> 8) * 2.0 ** -24)) for w in u32]


def box_muller_f64(u64):
    """Float64 Box-Muller as documented in ctrng.standard_normal: radius
    u = 1 - (w >> 12) 2**-52 from uint64 element 2k, angle
    t = (w' >> 12) 2**-52 from element 2k + 1; z_2k = r cos(2 pi t),
    z_2k+1 = r sin(2 pi t), r = sqrt(-2 ln u)."""
    out = []
    for k in range(len(u64) // 2):
        u1 = 1.0 - (int(u64[2 * k]) >> 12) * 2.0 ** -52
        t = (int(u64[2 * k + 1]) >> 12) * 2.0 ** -52
        r = math.sqrt(-2.0 * math.log(u1))
        out += [r * math.cos(2.0 * math.pi * t), r * math.sin(2.0 * math.pi * t)]
    return out


def _f32(x):
    return struct.unpack("<f", struct.pack("<f", x))[0]


def _radius_f32(w):
    """u1 = (float32(w >> 1) + 1/4) 2**-31, in float32 arithmetic."""
    return _f32(_f32(float(int(w) >> 1)) + 0.25) * 2.0 ** -31


def box_muller_f32(u32):
    """Float32 Box-Muller: radius u1 from uint32 word 2k (_radius_f32), angle
    t = (w[2k+1] >> 8) * 2**-24; the transcendental functions are evaluated
    in float64."""
    out = []
    for k in range(len(u32) // 2):
        u1 = _radius_f32(u32[2 * k])
        t = (int(u32[2 * k + 1]) >> 8) * 2.0 ** -24
        r = math.sqrt(-2.0 * math.log(u1))
        out += [r * math.cos(2.0 * math.pi * t), r * math.sin(2.0 * math.pi * t)]
    return out


def box_muller_radius(u_radius, f32=False):
    """The radius sqrt(-2 ln u1) of the pair, used to scale tolerances."""
    if f32:
        u1 = _radius_f32(u_radius)
    else:
        u1 = 1.0 - (int(u_radius) >> 12) * 2.0 ** -52
    return math.sqrt(-2.0 * math.log(u1))


def bernoulli_threshold(p):
    """floor(p * 2**64), exactly."""
    return math.floor(Fraction(p) * (1 << 64))


def bernoulli(u64, p):
    t = bernoulli_threshold(p)
    return [int(w) < t for w in u64]


# ---------------------------------------------------------------------------
# Bounded integers: Lemire's multiply-and-reject, positions fixed
# ---------------------------------------------------------------------------

def draw_width(span):
    """Bits of the draw for a span high - low (documented in ctrng.integers)."""
    if span <= 1 << 16:
        return 32
    if span <= 1 << 32:
        return 64
    return 128


def lemire(x, m, w):
    """(accepted, offset) for a w-bit draw x and m values: offset = x m >> w,
    rejected when (x m mod 2**w) < 2**w mod m."""
    prod = x * m
    return (prod & ((1 << w) - 1)) >= (1 << w) % m, prod >> w


def retry_draw(algorithm, root, rank, stream, i, r, w, rounds=None):
    """Retry r of element i: the first w bits (little-endian) of block
    2**63 | i << 6 | r of the same stream."""
    data = block_bytes(algorithm, root, rank, stream, (1 << 63) | (i << 6) | r, rounds)
    return int.from_bytes(data[: w // 8], "little")


def integers(algorithm, root, rank, stream, low, high, start, words, rounds=None, log=None):
    """Elements [start, start + len) of integers in [low, high).

    `words` are the draws of those elements taken from the stream: for
    32/64-bit draws uint32/uint64 element i; for 128-bit draws the pair
    (uint64 element 2i, uint64 element 2i + 1) as (low, high) halves.
    `log`, if a dict, receives the indices whose first draw was rejected."""
    m = high - low
    w = draw_width(m)
    out = []
    for j, x in enumerate(words):
        i = start + j
        if w == 128:
            x = int(x[0]) | int(x[1]) << 64
        ok, off = lemire(int(x), m, w)
        if not ok and log is not None:
            log.setdefault("rejected", []).append(i)
        r = 0
        while not ok and r < 64:  # after 64 rejections the last offset is kept
            ok, off = lemire(retry_draw(algorithm, root, rank, stream, i, r, w, rounds), m, w)
            r += 1
        out.append(low + off)
    return out


# ---------------------------------------------------------------------------
# Permutations: stable bucket sort, then Fisher-Yates inside each bucket
# ---------------------------------------------------------------------------

def permutation_bits(n):
    """Bucket bits B: the fewest (at most 32) with n <= 2**(B + 15)."""
    bits = 0
    while bits < 32 and n > 1 << (bits + 15):
        bits += 1
    return bits


def permutation(words, retry, n, log=None):
    """The permutation of range(n) given the 2n stream words it reads
    (uint32, from its start word on) and retry(q, r): the r-th 64-bit retry
    draw of output position q.  `log`, if a list, receives the q whose first
    draw was rejected."""
    bits = permutation_bits(n)
    words = [int(x) for x in words]
    buckets = [[] for _ in range(1 << bits)]
    for i in range(n):
        buckets[words[i] >> (32 - bits) if bits else 0].append(i)
    out, o = [], 0
    for items in buckets:
        for q in range(o + len(items) - 1, o, -1):
            t = q - o
            ok, k = lemire(words[n + q], t + 1, 32)
            if not ok and log is not None:
                log.append(q)
            r = 0
            while not ok and r < 64:
                ok, k = lemire(retry(q, r), t + 1, 64)
                r += 1
            items[t], items[k] = items[k], items[t]
        out.extend(items)
        o += len(items)
    return out


# ---------------------------------------------------------------------------
# Index permutation: keyed Feistel rounds, a rotation, cycle walking
# ---------------------------------------------------------------------------

M64 = (1 << 64) - 1


def _splitmix64(state):
    state = (state + 0x9E3779B97F4A7C15) & M64
    z = state
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & M64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & M64
    return state, z ^ (z >> 31)


def _lowbias32(x):
    x ^= x >> 16
    x = (x * 0x7FEB352D) & M32
    x ^= x >> 15
    x = (x * 0x846CA68B) & M32
    return x ^ (x >> 16)


def index_permutation_params(algorithm, root, rank, stream, n):
    """(m, round keys, added constant) of IndexPermutation(key, n): from
    block n of the stream, its little-endian bytes read as 64-bit words."""
    data = block_bytes(algorithm, root, rank, stream, n) + bytes(32)
    w = struct.unpack("<4Q", data[:32])
    state, salt = w[0] ^ w[2], w[1] ^ w[3]
    m = max(2, (n - 1).bit_length())
    keys = []
    for _ in range(24 if m <= 20 else 12):
        state, z = _splitmix64(state)
        keys.append((z ^ salt) & M32)
    state, z = _splitmix64(state)
    return m, keys, (z ^ salt) & ((1 << m) - 1)


def index_permutation(params, n, i, inverse=False):
    """Element i of the permutation (or the position of value i)."""
    m, keys, add = params
    a, b = m // 2, m - m // 2

    def forward(x):
        for k in keys:
            hi, lo = x >> b, x & ((1 << b) - 1)
            x = (lo << a) | (hi ^ (_lowbias32(lo ^ k) >> (32 - a)))
        return (x + add) % (1 << m)

    def backward(y):
        y = (y - add) % (1 << m)
        for k in reversed(keys):
            lo, g = y >> a, y & ((1 << a) - 1)
            y = ((g ^ (_lowbias32(lo ^ k) >> (32 - a))) << b) | lo
        return y

    step = backward if inverse else forward
    x = step(i)
    while x >= n:
        x = step(x)
    return x
