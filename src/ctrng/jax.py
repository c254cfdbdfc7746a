"""ctrng streams as a JAX PRNG implementation, and ctrng's distributions in JAX.

``ctrng.jax.key(root, rank=r, stream=s)`` is a JAX typed key (as from
``jax.random.key``) whose key data are the words of ``ctrng.Key(root,
rank=r, stream=s)``: every ``jax.random`` function takes it, inside ``jit``,
``vmap`` and sharded computations, and its raw bits are the ctrng stream:

>>> import numpy as np, jax, jax.numpy as jnp, ctrng, ctrng.jax
>>> k = ctrng.jax.key(2024, rank=3)
>>> bits = jax.random.bits(k, (8,), jnp.uint32)
>>> bool((np.asarray(bits) == ctrng.random_raw(ctrng.Key(2024, rank=3), 8)).all())
True

``jax.random.split`` and ``jax.random.fold_in`` are ``ctrng.Key.child`` and
``ctrng.Key.fold_in``: children inside the 256-ary stream tree are exact
(injective, never colliding); the others, and every fold-in, are hashed
keys, distinct only with overwhelming probability (docs/guarantee.md,
"Derived keys"):

>>> kids = jax.random.split(k, 3)
>>> [ctrng.jax.to_key(c).stream for c in kids]
[1, 2, 3]
>>> ctrng.jax.to_key(jax.random.fold_in(k, 7)) == ctrng.Key(2024, rank=3).fold_in(7)
True

``ctrng.jax.random``, ``uniform``, ``standard_normal``, ``normal``,
``integers`` and ``bernoulli`` apply ctrng's own transforms, so they give
the C core's values (``jax.random.uniform`` and friends apply JAX's):

>>> u = ctrng.jax.random(k, (4,), start=10)
>>> bool((np.asarray(u) == ctrng.random(ctrng.Key(2024, rank=3), 4, start=10, dtype=np.float32)).all())
True

Element i of every output is computed from its own index (no sequential
state), so any sharding of the output gives the same values.  All four
algorithms, with their default rounds; keys of philox4x64 and threefry4x64
(64-bit words) draw only with 64-bit JAX (``jax_enable_x64``).  See
docs/jax.md.
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax
from jax.extend.random import define_prng_impl

from . import derive
from ._core import kinds
from ._core.checks import check_dtype, check_interval, check_loc_scale, check_shape, check_start
from .key import ALGORITHMS, DEFAULT_ALGORITHM, Key
from .stateless import INT_DTYPES, bernoulli_threshold, integer_bounds, integer_params

__all__ = ["PHILOX4X32", "THREEFRY4X32", "PHILOX4X64", "THREEFRY4X64", "key", "key_data", "to_key", "random_bits", "random", "uniform",
           "standard_normal", "normal", "integers", "bernoulli"]

U32 = jnp.uint32
_M32 = 0xFFFFFFFF
SUPPORTED = ("philox4x32", "threefry4x32", "philox4x64", "threefry4x64")

# ---- the ciphers on uint32 arrays ------------------------------------------------

_PHILOX_M = (np.uint32(0xD2511F53), np.uint32(0xCD9E8D57))
_PHILOX_W = (np.uint32(0x9E3779B9), np.uint32(0xBB67AE85))


def mulhilo(a, m):
    """(high, low) 32-bit halves of a * m, for a uint32 array a and a
    constant m < 2**32.  With 64-bit JAX, one uint64 product; without, the
    high half from 16-bit limbs (four uint32 products).  Not lax.mulhi,
    though XLA's CPU backend runs it faster than the limbs: JAX
    0.10 cannot lower it in a sharded computation ("failed to legalize
    operation 'mhlo.unknown'")."""
    if jax.config.jax_enable_x64:
        p = lax.convert_element_type(a, jnp.uint64) * np.uint64(m)
        return lax.convert_element_type(p >> np.uint64(32), U32), lax.convert_element_type(p, U32)
    m = int(m)
    al, ah = a & np.uint32(0xFFFF), a >> np.uint32(16)
    ml, mh = np.uint32(m & 0xFFFF), np.uint32(m >> 16)
    ll, lh, hl, hh = al * ml, al * mh, ah * ml, ah * mh
    mid = (ll >> np.uint32(16)) + (lh & np.uint32(0xFFFF)) + (hl & np.uint32(0xFFFF))
    hi = hh + (lh >> np.uint32(16)) + (hl >> np.uint32(16)) + (mid >> np.uint32(16))
    return hi, a * np.uint32(m)


def _philox(c, k, rounds, mul, weyl, mulhilo):
    """The Philox rounds shared by both widths: counter words c (4 arrays)
    under key words k (2), with the multipliers, Weyl steps and high-low
    product of the width."""
    c0, c1, c2, c3 = c
    k0, k1 = k
    for r in range(rounds):
        if r:
            k0, k1 = k0 + weyl[0], k1 + weyl[1]
        hi0, lo0 = mulhilo(c0, mul[0])
        hi1, lo1 = mulhilo(c2, mul[1])
        c0, c1, c2, c3 = hi1 ^ c1 ^ k0, lo1, hi0 ^ c3 ^ k1, lo0
    return c0, c1, c2, c3


def philox4x32(c, k, rounds=10):
    """Philox4x32-`rounds` of counter words c (4 uint32 arrays) under key
    words k (2)."""
    return _philox(c, k, rounds, _PHILOX_M, _PHILOX_W, mulhilo)


_ROT32 = (10, 26, 11, 21, 13, 27, 23, 5, 6, 20, 17, 11, 25, 10, 18, 20)
_ROT64 = (14, 16, 52, 57, 23, 40, 5, 37, 25, 33, 46, 12, 58, 22, 32, 32)


def _threefry(c, k, rounds, t, rot_table, parity):
    """Threefry4xW (W the bits of the NumPy type t): the Threefish-256 mix,
    the key injected every fourth round."""
    bits = 8 * np.dtype(t).itemsize
    ks = list(k) + [t(parity) ^ k[0] ^ k[1] ^ k[2] ^ k[3]]
    x = [c[i] + ks[i] for i in range(4)]
    for r in range(rounds):
        rot = rot_table[r % 8 * 2:r % 8 * 2 + 2]
        a, b = (1, 3) if r % 2 == 0 else (3, 1)
        x[0] = x[0] + x[a]
        x[a] = ((x[a] << t(rot[0])) | (x[a] >> t(bits - rot[0]))) ^ x[0]
        x[2] = x[2] + x[b]
        x[b] = ((x[b] << t(rot[1])) | (x[b] >> t(bits - rot[1]))) ^ x[2]
        if r % 4 == 3:
            s = (r + 1) // 4
            x = [x[i] + ks[(s + i) % 5] for i in range(4)]
            x[3] = x[3] + t(s)
    return tuple(x)


def threefry4x32(c, k, rounds=20):
    """Threefry4x32-`rounds` of counter words c (4 uint32 arrays) under key words k (4)."""
    return _threefry(c, k, rounds, np.uint32, _ROT32, 0x1BD11BDA)


def threefry4x64(c, k, rounds=20):
    """Threefry4x64-`rounds` of counter words c (4 uint64 arrays) under key words k (4); 64-bit JAX."""
    return _threefry(c, k, rounds, np.uint64, _ROT64, 0x1BD11BDAA9FC1A22)


_PHILOX_M64 = (0xD2E7470EE14C6C93, 0xCA5A826395121157)
_PHILOX_W64 = (np.uint64(0x9E3779B97F4A7C15), np.uint64(0xBB67AE8584CAA73B))


def philox4x64(c, k, rounds=10):
    """Philox4x64-`rounds` of counter words c (4 uint64 arrays) under key words k (2); 64-bit JAX."""
    return _philox(c, k, rounds, _PHILOX_M64, _PHILOX_W64, _mulhilo64)


# ---- key data ------------------------------------------------------------------
# The root's 32-bit words (low first: 2 for philox4x32, 4 for philox4x64 and
# threefry4x32, 8 for threefry4x64), then stream and rank.

def _nroot(alg):
    """32-bit words of the root in the key data."""
    return alg.root_bits // 32


def _wpb(alg):
    """32-bit words a cipher block: 4 or 8."""
    return alg.block_bytes // 4


def _alg(name):
    if name not in ALGORITHMS:
        raise ValueError(f"algorithm must be one of {sorted(ALGORITHMS)}, got {name!r}")
    if name not in SUPPORTED:
        raise NotImplementedError(f"ctrng.jax supports {', '.join(SUPPORTED)}; not {name}")
    return ALGORITHMS[name]


def _words_of(key):
    """The key data (a NumPy uint32 array) of a ctrng.Key."""
    alg = _alg(key.algorithm)
    if key.rounds != alg.default_rounds:
        raise NotImplementedError(f"ctrng.jax supports the default rounds only ({alg.default_rounds})")
    words = [(key.root >> (32 * i)) & _M32 for i in range(_nroot(alg))]
    return np.array(words + [key.stream, key.rank], np.uint32)


def _block(alg, kd, blo, bhi):
    """The 32-bit words (4, or 8 for the 4x64 ciphers: each 64-bit word low
    half first) of block (bhi, blo) of the stream of key data kd."""
    nr = _nroot(alg)
    z = jnp.zeros_like(blo)
    if alg.word_bits == 32:
        ctr = (blo, bhi, z + kd[nr], z + kd[nr + 1])
        if alg.name == "philox4x32":
            return philox4x32(ctr, (kd[0], kd[1]))
        return threefry4x32(ctr, tuple(kd[:4]))
    _need_x64(np.uint64, f"a {alg.name} key's output")
    u64 = lambda w: lax.convert_element_type(w, jnp.uint64)  # noqa: E731
    z64 = u64(z)
    ctr = (_u64(blo, bhi), z64 + u64(kd[nr]), z64 + u64(kd[nr + 1]), z64)
    key = tuple(_u64(kd[2 * i], kd[2 * i + 1]) for i in range(nr // 2))
    out = philox4x64(ctr, key) if alg.name == "philox4x64" else threefry4x64(ctr, key)
    words = []
    for w in out:
        words += [lax.convert_element_type(w, U32), lax.convert_element_type(w >> np.uint64(32), U32)]
    return tuple(words)


def _hash_root(alg, kd, kind, data):
    """ctrng.derive's hashed root for key data kd (uint32 words)."""
    nk = _nroot(alg)
    words = [np.uint32(derive.MAGIC), np.uint32(alg.code), np.uint32(alg.default_rounds), np.uint32(kind),
             np.uint32(nk), np.uint32(1), *[kd[i] for i in range(nk)], kd[nk + 1], kd[nk], data]
    words += [np.uint32(0)] * (-len(words) % 4)
    shape = jnp.shape(data)
    # the first block is the header's constants: absorbed here, by the C core
    m = [int(w) for w in words[:4]]
    h = tuple(np.uint32(x ^ y) for x, y in zip(derive.threefry4x32_20(m, derive.IV), m))
    h = tuple(jnp.full(shape, w, U32) for w in h)
    words = [jnp.broadcast_to(jnp.asarray(w, U32), shape) for w in words]
    for b in range(4, len(words), 4):
        m = words[b:b + 4]
        h = tuple(x ^ y for x, y in zip(threefry4x32(m, h), m))
    z = jnp.zeros(shape, U32)
    out = []
    for j in range(-(-nk // 4)):
        out += threefry4x32((z + np.uint32(j), z + np.uint32(derive.OUT), z, z), h)
    return out[:nk]


def _columns(cols):
    """The arrays cols side by side on a new last axis.  Not jnp.stack: on
    a stack of Threefry outputs XLA's algebraic simplifier loops for many
    minutes; selects on a column index compile in a second or two."""
    shape = jnp.shape(cols[0]) + (len(cols),)
    col = lax.broadcasted_iota(U32, shape, len(shape) - 1)
    out = jnp.zeros(shape, U32)
    for i, c in enumerate(cols):
        out = jnp.where(col == i, jnp.expand_dims(c, -1), out)
    return out


def _impl_functions(alg):
    nk = _nroot(alg)

    def seed(s):
        """jax.random.key(s, impl=...): root s (its two's complement bits
        for a negative s), rank 0, stream 0."""
        s = jnp.asarray(s)
        lo = lax.convert_element_type(s, U32)
        if s.dtype.itemsize == 8:
            hi = lax.convert_element_type(lax.shift_right_logical(s, jnp.asarray(32, s.dtype)), U32)
        else:
            hi = jnp.where(s < 0, np.uint32(_M32), np.uint32(0)) if jnp.issubdtype(s.dtype, jnp.signedinteger) \
                else jnp.zeros((), U32)
        z = jnp.zeros((), U32)
        return jnp.stack([lo, hi] + [z] * (nk - 2) + [z, z])

    def split(kd, shape):
        n = math.prod(shape)
        if n > 1 << 32:
            raise NotImplementedError("split into more than 2**32 keys")
        j = lax.iota(U32, n)
        stream = kd[nk]
        child = stream * np.uint32(256) + np.uint32(1) + j  # wraps to 0 only at 2**32
        fits = (j < 256) & (stream < np.uint32(1 << 24)) & (child != 0)
        hashed = _hash_root(alg, kd, derive.CHILD, j)
        z = jnp.zeros((n,), U32)
        tree = [z + kd[i] for i in range(nk)] + [child, z + kd[nk + 1]]
        other = list(hashed) + [z, z + kd[nk + 1]]
        out = _columns([jnp.where(fits, a, b) for a, b in zip(tree, other)])
        return out.reshape(tuple(shape) + (nk + 2,))

    def fold_in(kd, data):
        root = _hash_root(alg, kd, derive.FOLD_IN, jnp.asarray(data, U32))
        z = jnp.zeros((), U32)
        return _columns(list(root) + [z, kd[nk + 1]])

    def random_bits(kd, bit_width, shape):
        if bit_width not in (8, 16, 32, 64):
            raise TypeError("ctrng.jax random_bits needs 8, 16, 32 or 64 bits")
        return _bits(alg, kd, bit_width, tuple(shape), 0)

    return seed, split, random_bits, fold_in


def _define(name, tag):
    alg = ALGORITHMS[name]
    seed, split, random_bits, fold_in = _impl_functions(alg)
    return define_prng_impl(key_shape=(_nroot(alg) + 2,), seed=seed, split=split, random_bits=random_bits,
                            fold_in=fold_in, name=f"ctrng_{name}", tag=f"ct{tag}")


PHILOX4X32 = _define("philox4x32", "p4")
THREEFRY4X32 = _define("threefry4x32", "t4")
PHILOX4X64 = _define("philox4x64", "p8")
THREEFRY4X64 = _define("threefry4x64", "t8")
_SPECS = {"philox4x32": PHILOX4X32, "threefry4x32": THREEFRY4X32, "philox4x64": PHILOX4X64,
          "threefry4x64": THREEFRY4X64}


def key(root, rank=0, stream=0, algorithm=DEFAULT_ALGORITHM):
    """The JAX typed key of ``ctrng.Key(root, rank, stream, algorithm)``
    (or of a given ctrng.Key): its key data are the layout's words, root
    first, then stream and rank."""
    if not isinstance(root, Key):
        root = Key(root, rank=rank, stream=stream, algorithm=algorithm)
    elif (rank, stream, algorithm) != (0, 0, DEFAULT_ALGORITHM):
        raise TypeError("give either a ctrng.Key or root/rank/stream/algorithm, not both")
    return jax.random.wrap_key_data(_words_of(root), impl=_SPECS[root.algorithm])


def _unwrap(k):
    """(algorithm, key data) of a ctrng.jax key (one key) or a ctrng.Key."""
    if isinstance(k, Key):
        return _alg(k.algorithm), jnp.asarray(_words_of(k))
    if not (hasattr(k, "dtype") and jnp.issubdtype(k.dtype, jax.dtypes.prng_key)):
        raise TypeError(f"key must be a ctrng.jax key or a ctrng.Key, not {type(k).__name__}")
    spec = jax.random.key_impl(k)
    name = next((n for n, s in _SPECS.items() if s == spec), None)
    if name is None:
        raise TypeError(f"key is a JAX key of {jax.random.key_impl(k)}, not a ctrng.jax key")
    if k.shape != ():
        raise ValueError(f"one key at a time (shape ()), got shape {k.shape}: use jax.vmap")
    return ALGORITHMS[name], jax.random.key_data(k)


def key_data(k):
    """The uint32 key data of a ctrng.jax key or ctrng.Key."""
    return _unwrap(k)[1]


def to_key(k):
    """The ctrng.Key of a concrete ctrng.jax key (not inside jit)."""
    alg, kd = _unwrap(k)
    words = [int(w) for w in np.asarray(kd)]
    nk = _nroot(alg)
    root = sum(w << (32 * i) for i, w in enumerate(words[:nk]))
    return Key(root, rank=words[nk + 1], stream=words[nk], algorithm=alg.name)


# ---- element indices -----------------------------------------------------------

def _shape(shape):
    shape = check_shape(shape, "shape")
    if math.prod(shape) > 1 << 32:
        raise NotImplementedError("ctrng.jax makes at most 2**32 elements a call")
    return shape


def _iota(shape):
    """The row-major flat index of each element, uint32 (from broadcast
    iotas, which the SPMD partitioner splits without communication)."""
    if not shape:
        return jnp.zeros((), U32)
    idx, stride = None, 1
    for d in range(len(shape) - 1, -1, -1):
        term = lax.broadcasted_iota(U32, shape, d)
        if stride != 1:
            term = term * np.uint32(stride)
        idx = term if idx is None else idx + term
        stride *= shape[d]
    return idx


def _add64(start, i):
    """start (a Python int < 2**64) + i (uint32 array) as (lo, hi) uint32 arrays."""
    lo = i + np.uint32(start & _M32)
    hi = jnp.where(lo < i, np.uint32(((start >> 32) + 1) & _M32), np.uint32(start >> 32))
    return lo, hi


def _place(shape, start, per_block):
    """(block lo, block hi, position in block) of elements start + i, for
    per_block elements a block (a power of 2)."""
    t = _iota(shape) + np.uint32(start % per_block)
    shift = per_block.bit_length() - 1
    blo, bhi = _add64(start // per_block, t >> np.uint32(shift))
    return blo, bhi, t & np.uint32(per_block - 1)


def _pick(words, pos):
    """words[pos] for each element (pos an array below len(words))."""
    out = words[-1]
    for j in range(len(words) - 2, -1, -1):
        out = jnp.where(pos == j, words[j], out)
    return out


def _words32(alg, kd, shape, start):
    """uint32 elements start + i of the stream."""
    blo, bhi, pos = _place(shape, start, _wpb(alg))
    return _pick(_block(alg, kd, blo, bhi), pos)


def _words64(alg, kd, shape, start):
    """(lo, hi) uint32 halves of uint64 elements start + i of the stream."""
    blo, bhi, pos = _place(shape, start, _wpb(alg) // 2)
    w = _block(alg, kd, blo, bhi)
    return _pick(w[0::2], pos), _pick(w[1::2], pos)


def _need_x64(dtype, what):
    if not jax.config.jax_enable_x64:
        raise TypeError(f"{what} of dtype {np.dtype(dtype).name} needs 64-bit JAX (jax_enable_x64)")


def _bits(alg, kd, bit_width, shape, start):
    """Raw elements of bit_width bits: the stream as little-endian bytes,
    viewed as that width (element i of uint8 is byte i)."""
    if bit_width == 32:
        return _words32(alg, kd, shape, start)
    if bit_width == 64:
        _need_x64(np.uint64, "random bits")
        lo, hi = _words64(alg, kd, shape, start)
        u64 = jnp.uint64
        return (lax.convert_element_type(hi, u64) << np.uint64(32)) | lax.convert_element_type(lo, u64)
    per = 32 // bit_width  # elements a word; 4 * per a block
    blo, bhi, pos = _place(shape, start, _wpb(alg) * per)
    w = _pick(_block(alg, kd, blo, bhi), pos >> np.uint32(per.bit_length() - 1))
    w = w >> ((pos & np.uint32(per - 1)) * np.uint32(bit_width))
    return lax.convert_element_type(w & np.uint32((1 << bit_width) - 1), jnp.dtype(f"uint{bit_width}"))


# ---- the public functions ---------------------------------------------------------

def _start(start, n, length):
    start = check_start(start)
    if start + n > length:
        raise ValueError(f"elements [{start}, {start + n}) go past the end of the stream ({length} elements)")
    return start


def _float_dtype(dtype, what):
    if dtype is None:
        return np.dtype(np.float64 if jax.config.jax_enable_x64 else np.float32)
    dt = check_dtype(dtype, kinds.FLOAT_DTYPES, what)
    if dt == np.float64:
        _need_x64(dt, "floats")
    return dt


def random_bits(k, shape, start=0, dtype=np.uint32):
    """Raw elements [start, start + n) of the stream as uint8, uint16,
    uint32 or uint64 (64-bit JAX): the stream's little-endian bytes viewed
    at that width, as ``ctrng.random_raw`` does for uint32 and uint64."""
    alg, kd = _unwrap(k)
    dt = check_dtype(dtype, (np.uint8, np.uint16, np.uint32, np.uint64), "random_bits")
    shape = _shape(shape)
    start = _start(start, math.prod(shape), (alg.block_bytes // dt.itemsize) << 64)
    return _bits(alg, kd, 8 * dt.itemsize, shape, start)


def _unit32(w):
    """(w >> 8) 2**-24, float32."""
    return lax.convert_element_type(w >> np.uint32(8), jnp.float32) * np.float32(2.0 ** -24)


def _unit64(lo, hi):
    """(w >> 11) 2**-53 of the uint64 w = hi 2**32 + lo, float64 (exact)."""
    w = (lax.convert_element_type(hi, jnp.uint64) << np.uint64(32)) | lax.convert_element_type(lo, jnp.uint64)
    return lax.convert_element_type(w >> np.uint64(11), jnp.float64) * 2.0 ** -53


def random(k, shape=(), start=0, dtype=None):
    """Uniform floats in [0, 1): elements [start, start + n) of
    ``ctrng.random``, bit for bit.  float32 from uint32 element i
    ((w >> 8) 2**-24); float64 (64-bit JAX) from uint64 element i."""
    alg, kd = _unwrap(k)
    dt = _float_dtype(dtype, "random")
    shape = _shape(shape)
    start = _start(start, math.prod(shape), (alg.block_bytes // dt.itemsize) << 64)
    if dt == np.float32:
        return _unit32(_words32(alg, kd, shape, start))
    return _unit64(*_words64(alg, kd, shape, start))


def _rounder(kd):
    """nc(x): x, rounded on its own.  XLA's CPU compiler lets LLVM fuse a
    product into a following add as an FMA, which the C core never does;
    nc sends the product's bits through an integer xor with a zero that the
    compilers cannot see is zero (r (r + 1) mod 2 of a key word r), which no
    FMA can cross."""
    r = kd[-1]
    zero32 = (r * (r + np.uint32(1))) & np.uint32(1)

    def nc(x):
        if x.dtype == jnp.float32:
            return lax.bitcast_convert_type(lax.bitcast_convert_type(x, U32) ^ zero32, jnp.float32)
        zero64 = lax.convert_element_type(zero32, jnp.uint64)
        return lax.bitcast_convert_type(lax.bitcast_convert_type(x, jnp.uint64) ^ zero64, jnp.float64)

    return nc


def uniform(k, low=0.0, high=1.0, shape=(), start=0, dtype=None):
    """Uniform floats in [low, high): u * (high - low) + low in the output's
    precision, u = ``random``'s element; ``ctrng.uniform`` bit for bit."""
    dt = _float_dtype(dtype, "uniform")
    low, high = check_interval(low, high, dt)  # finite in dt, as ctrng.uniform's
    u = random(k, shape, start, dt)
    ft = u.dtype.type
    return _rounder(key_data(k))(u * ft(high - low)) + ft(low)


def standard_normal(k, shape=(), start=0, dtype=None):
    """Standard normal variates: ``ctrng.standard_normal``'s Box-Muller with
    its own log, sin and cos, operation for operation: the C core's bits
    (docs/jax.md).  float32 by default, float64 with 64-bit JAX.

    >>> import numpy as np, jax, ctrng, ctrng.jax
    >>> keys = jax.random.split(ctrng.jax.key(4, rank=1), 3)   # streams 1, 2, 3
    >>> z = jax.vmap(lambda k: ctrng.jax.standard_normal(k, (2, 5)))(keys)
    >>> z.shape
    (3, 2, 5)
    >>> bool((np.asarray(z[2]).ravel() == ctrng.standard_normal(ctrng.Key(4, rank=1, stream=3), 10,
    ...                                                          dtype=np.float32)).all())
    True
    """
    alg, kd = _unwrap(k)
    dt = _float_dtype(dtype, "standard_normal")
    shape = _shape(shape)
    start = _start(start, math.prod(shape), (alg.block_bytes // dt.itemsize) << 64)
    if dt == np.float32:
        # element e: radius word 2 (e >> 1), angle word 2 (e >> 1) + 1, in one block
        blo, bhi, pos = _place(shape, start, _wpb(alg))
        w = _block(alg, kd, blo, bhi)
        pair = pos >> np.uint32(1)
        return _box_muller_f32(_pick(w[0::2], pair), _pick(w[1::2], pair), (pos & np.uint32(1)) == 1,
                               _rounder(kd))
    # uint64 elements 2k (radius) and 2k + 1 (angle): 32-bit words 4k .. 4k + 3
    blo, bhi, pos = _place(shape, start, _wpb(alg) // 2)
    w = _block(alg, kd, blo, bhi)
    pair = pos >> np.uint32(1)
    wr = (_pick(w[0::4], pair), _pick(w[1::4], pair))
    wa = (_pick(w[2::4], pair), _pick(w[3::4], pair))
    return _box_muller_f64(wr, wa, (pos & np.uint32(1)) == 1, _rounder(kd))


def normal(k, loc=0.0, scale=1.0, shape=(), start=0, dtype=None):
    """Normal variates: z * scale + loc in the output's precision,
    z = ``standard_normal``'s element."""
    dt = _float_dtype(dtype, "normal")
    loc, scale = check_loc_scale(loc, scale, dt)  # finite in dt, as ctrng.normal's
    z = standard_normal(k, shape, start, dt)
    ft = z.dtype.type
    return _rounder(key_data(k))(z * ft(scale)) + ft(loc)


def _f32(bits):
    return lax.bitcast_convert_type(bits, jnp.float32)


def _bits32(x):
    return lax.bitcast_convert_type(x, U32)


def _box_muller_f32(wr, wa, sine, nc):
    """csrc/dist/transforms.h normal_f32 for one element: r cos or r sin."""
    f32 = np.float32
    x = lax.convert_element_type(lax.convert_element_type(wr >> np.uint32(1), jnp.int32), jnp.float32) + f32(0.25)
    # -2 ln(x 2**-31), musl's logf reduction
    ix = _bits32(x) + np.uint32(0x3F800000 - 0x3F3504F3)
    dk = lax.convert_element_type(lax.convert_element_type(ix >> np.uint32(23), jnp.int32) - (0x7F + 31),
                                  jnp.float32)
    f = _f32((ix & np.uint32(0x007FFFFF)) + np.uint32(0x3F3504F3)) - f32(1.0)
    sq = f / (f32(2.0) + f)
    z = nc(sq * sq)
    w = nc(z * z)
    R = nc(z * (f32(float.fromhex("0x1.555554p-1")) + nc(w * f32(float.fromhex("0x1.23d3dcp-2"))))) + \
        nc(w * (f32(float.fromhex("0x1.999c26p-2")) + nc(w * f32(float.fromhex("0x1.f13c4cp-3")))))
    hfsq = nc(nc(f32(0.5) * f) * f)
    neg2log = (nc((f32(-2.0) * sq) * (hfsq + R)) + (nc(dk * f32(-2.0 * 9.0580006145e-06)) + nc(f * f))) + \
        (nc(f32(-2.0) * f) + nc(dk * f32(-2.0 * 6.9313812256e-01)))
    r = jnp.sqrt(neg2log)
    # the angle (w >> 8) 2**-24 turns: quarter turns q and a remainder
    a = wa >> np.uint32(8)
    q = (a + np.uint32(1 << 21)) >> np.uint32(22)
    th = nc(lax.convert_element_type(lax.convert_element_type(a - (q << np.uint32(22)), jnp.int32), jnp.float32)
            * f32(float.fromhex("0x1.921fb6p-22")))
    z = nc(th * th)
    z2 = nc(z * z)
    S = th + nc(nc(th * z) * ((nc(f32(8.3321608736e-3) * z) + f32(-1.6666654611e-1)) + nc(f32(-1.9515295891e-4) * z2)))
    C = (f32(1.0) - nc(f32(0.5) * z)) + \
        nc(z2 * ((nc(f32(-1.388731625493765e-3) * z) + f32(4.166664568298827e-2)) + nc(f32(2.443315711809948e-5) * z2)))
    return r * _quadrant(S, C, q, sine)


def _quadrant(S, C, q, sine):
    """cos (or sin, where `sine`) of x + q pi / 2 from (sin x, cos x)."""
    q = q & np.uint32(3)
    odd = (q & np.uint32(1)) == 1
    cos_v = jnp.where(odd, S, C)
    sin_v = jnp.where(odd, C, S)
    cos_neg = (q == 1) | (q == 2)
    sin_neg = q >= 2
    cos_v = jnp.where(cos_neg, -cos_v, cos_v)
    sin_v = jnp.where(sin_neg, -sin_v, sin_v)
    return jnp.where(sine, sin_v, cos_v)


def _u64(lo, hi):
    return (lax.convert_element_type(hi, jnp.uint64) << np.uint64(32)) | lax.convert_element_type(lo, jnp.uint64)


def _box_muller_f64(wr, wa, sine, nc):
    """csrc/dist/transforms.h normal_f64 for one element (64-bit JAX)."""
    f64 = lambda b: lax.bitcast_convert_type(b, jnp.float64)  # noqa: E731
    xr, xa = _u64(*wr), _u64(*wa)
    ONE = np.uint64(0x3FF0000000000000)
    u = 2.0 - f64((xr >> np.uint64(12)) | ONE)  # 1 - (w >> 12) 2**-52, in (0, 1]
    # -2 ln u, fdlibm's log reduction
    ix = lax.bitcast_convert_type(u, jnp.uint64) + np.uint64((0x3FF00000 - 0x3FE6A09E) << 32)
    kk = lax.convert_element_type(ix >> np.uint64(52), jnp.int64) - 0x3FF
    dk = f64(lax.bitcast_convert_type(kk, jnp.uint64) + np.uint64(0x4338000000000000)) - float.fromhex("0x1.8p52")
    f = f64((ix & np.uint64(0x000FFFFFFFFFFFFF)) + np.uint64(0x3FE6A09E << 32)) - 1.0
    hfsq = nc(nc(0.5 * f) * f)
    sq = f / (2.0 + f)
    z = nc(sq * sq)
    w = nc(z * z)
    w2 = nc(w * w)
    t1 = nc(w * ((3.999999999940941908e-01 + nc(w * 2.222219843214978396e-01)) + nc(w2 * 1.531383769920937332e-01)))
    t2 = nc(z * ((6.666666666666735130e-01 + nc(w * 2.857142874366239149e-01)) +
                 nc(w2 * (1.818357216161805012e-01 + nc(w * 1.479819860511658591e-01)))))
    neg2log = (nc((-2.0 * sq) * (hfsq + (t2 + t1))) + (nc(dk * (-2.0 * 1.90821492927058770002e-10)) + nc(f * f))) + \
        (nc(-2.0 * f) + nc(dk * (-2.0 * 6.93147180369123816490e-01)))
    r = jnp.sqrt(neg2log)
    y = nc((f64((xa >> np.uint64(12)) | ONE) - 1.0) * 4.0)
    m = nc(y + float.fromhex("0x1.8p52"))  # nc: else XLA folds y - (m - 1.5 2**52) to 0
    q = lax.convert_element_type(lax.bitcast_convert_type(m, jnp.uint64) & np.uint64(3), U32)
    th = nc((y - (m - float.fromhex("0x1.8p52"))) * float.fromhex("0x1.921fb54442d18p+0"))
    z = nc(th * th)
    z2 = nc(z * z)
    z4 = nc(z2 * z2)
    S = th + nc(nc(z * th) * ((-1.66666666666666324348e-01 + nc(z * 8.33333333332248946124e-03)) +
                              nc(z2 * (-1.98412698298579493134e-04 + nc(z * 2.75573137070700676789e-06))) +
                              nc(z4 * (-2.50507602534068634195e-08 + nc(z * 1.58969099521155010221e-10)))))
    rc = nc(z * ((4.16666666666666019037e-02 + nc(z * -1.38888888888741095749e-03)) +
                 nc(z2 * (2.48015872894767294178e-05 + nc(z * -2.75573143513906633035e-07))) +
                 nc(z4 * (2.08757232129817482790e-09 + nc(z * -1.13596475577881948265e-11)))))
    hz = nc(0.5 * z)
    c1 = 1.0 - hz
    C = c1 + (((1.0 - c1) - hz) + nc(z * rc))
    return r * _quadrant(S, C, q, sine)


# ---- bounded integers and Bernoulli --------------------------------------------

def _lemire(kind, m, words):
    """(offset, accepted) of draws for offsets in [0, m), as csrc/dist/lemire.h:
    kind 32 takes words[0] (uint32), 64 (words[0], words[1]) as a uint64,
    128 two uint64 (words[0..3]; 64-bit JAX).  Offsets are uint32, or uint64
    for kind 128."""
    if kind == 32:
        x = words[0]
        t = np.uint32(((1 << 32) - m) % m)
        mm = np.uint32(m)
        a, b = (x & np.uint32(0xFFFF)) * mm, (x >> np.uint32(16)) * mm
        mid = b + (a >> np.uint32(16))
        lo = (mid << np.uint32(16)) | (a & np.uint32(0xFFFF))
        return mid >> np.uint32(16), lo >= t
    if kind == 64:
        xl, xh = words[0], words[1]
        if m == 1 << 32:
            return xh, jnp.ones(xh.shape, bool)
        t = ((1 << 64) - m) % m
        a_hi, a_lo = mulhilo(xl, m)
        b_hi, b_lo = mulhilo(xh, m)
        mid_lo = b_lo + a_hi
        mid_hi = b_hi + (mid_lo < a_hi).astype(U32)
        t_hi, t_lo = np.uint32(t >> 32), np.uint32(t & _M32)
        return mid_hi, (mid_lo > t_hi) | ((mid_lo == t_hi) & (a_lo >= t_lo))
    x0, x1 = _u64(words[0], words[1]), _u64(words[2], words[3])
    if m == 1 << 64:
        return x1, jnp.ones(x1.shape, bool)
    t = np.uint64(((1 << 128) - m) % m)
    p0_hi, p0_lo = _mulhilo64(x0, m)
    p1_hi, p1_lo = _mulhilo64(x1, m)
    mid_lo = p1_lo + p0_hi
    off = p1_hi + (mid_lo < p0_hi).astype(jnp.uint64)
    return off, (mid_lo != 0) | (p0_lo >= t)


def _mulhilo64(x, m):
    """(high, low) uint64 halves of x * m (x uint64, m < 2**64 a constant),
    from 32-bit limbs (not lax.mulhi: see mulhilo)."""
    M, S = np.uint64(_M32), np.uint64(32)
    xl, xh = x & M, x >> S
    ml, mh = np.uint64(m & _M32), np.uint64(m >> 32)
    ll, lh, hl, hh = xl * ml, xl * mh, xh * ml, xh * mh
    mid = (ll >> S) + (lh & M) + (hl & M)
    return hh + (lh >> S) + (hl >> S) + (mid >> S), x * np.uint64(m)


def _retried(alg, kd, kind, m, e_lo, e_hi, off):
    """Offsets of elements (e_lo, e_hi) whose first draw was rejected: retry
    r reads block 2**63 | e << 6 | r (ctrng_integer_retry in csrc/layout.c);
    all 64 rejected (probability below 2**-1000) keeps the last."""
    bhi = (e_hi << np.uint32(6)) | (e_lo >> np.uint32(26)) | np.uint32(1 << 31)

    def cond(c):
        r, _, ok = c
        return (r < 64) & ~ok.all()

    def body(c):
        r, off, ok = c
        w = _block(alg, kd, (e_lo << np.uint32(6)) | r, bhi)
        if kind == 32:
            w = (w[0],)
        new, accepted = _lemire(kind, m, w)
        return r + np.uint32(1), jnp.where(ok, off, new), ok | accepted

    return lax.while_loop(cond, body, (np.uint32(0), off, jnp.zeros(off.shape, bool)))[1]


# Rejected elements are redrawn this many at a time (a while_loop runs until
# none is left: one round but for a 2**-16-rare event in 2**16 elements).
RETRY_BATCH = 256


def _fix_rejected(alg, kd, kind, m, off, bad, start):
    """off with each rejected element's offset redrawn from its retries."""
    shape = off.shape
    off, bad = off.reshape(-1), bad.reshape(-1)
    batch = min(RETRY_BATCH, off.size)

    def body(c):
        off, bad = c
        idx = jnp.nonzero(bad, size=batch, fill_value=0)[0]
        valid = bad[idx]
        e_lo, e_hi = _add64(start, idx.astype(U32))
        new = _retried(alg, kd, kind, m, e_lo, e_hi, off[idx])
        return off.at[idx].set(jnp.where(valid, new, off[idx])), bad.at[idx].set(False)

    off, _ = lax.while_loop(lambda c: c[1].any(), body, (off, bad))
    return off.reshape(shape)




def integers(k, low, high, shape=(), start=0, dtype=None):
    """Exactly unbiased integers in [low, high): elements [start, start + n)
    of ``ctrng.integers``, bit for bit: Lemire's multiply-and-reject on a
    32-, 64- or 128-bit draw at each element's own position, a rejected draw
    redrawn from the stream's retry blocks (inside a ``lax.while_loop`` that
    runs only when some draw was rejected).  dtype int32 (the default
    without 64-bit JAX), uint32, or int64/uint64 (64-bit JAX; the default
    there); spans above 2**32 need a 64-bit dtype.  Elements below 2**57.

    >>> import numpy as np, jax, ctrng, ctrng.jax
    >>> v = jax.jit(lambda k: ctrng.jax.integers(k, 0, 6, (1000,), start=5))(ctrng.jax.key(9))
    >>> bool((np.asarray(v) == ctrng.integers(ctrng.Key(9), 0, 6, 1000, start=5, dtype=np.int32)).all())
    True
    """
    alg, kd = _unwrap(k)
    low, high = integer_bounds(low, high)
    if dtype is None:
        dtype = np.int64 if jax.config.jax_enable_x64 else np.int32
    dt = check_dtype(dtype, INT_DTYPES, "integers")
    if dt.itemsize == 8:
        _need_x64(dt, "integers")
    code, _ = integer_params(low, high, dt)  # the C core's range checks and integer kind
    m = high - low
    kind = 8 * kinds.UNIT_BYTES[code]  # the draw's bits: 32, 64 or 128
    shape = _shape(shape)
    start = _start(start, math.prod(shape), 1 << 57)
    if kind == 32:
        words = (_words32(alg, kd, shape, start),)
    elif kind == 64:
        words = _words64(alg, kd, shape, start)
    else:  # uint64 elements 2e and 2e + 1: 32-bit words 4e .. 4e + 3
        blo, bhi, pos = _place(shape, start, _wpb(alg) // 4)
        w = _block(alg, kd, blo, bhi)
        words = tuple(_pick(w[j::4], pos) for j in range(4))
    off, ok = _lemire(kind, m, words)
    if off.size:
        off = _fix_rejected(alg, kd, kind, m, off, ~ok, start)
    if dt.itemsize == 4:
        v = off + np.uint32(low & _M32)
        return v if dt == np.uint32 else lax.bitcast_convert_type(v, jnp.int32)
    v = lax.convert_element_type(off, jnp.uint64) + np.uint64(low % (1 << 64))
    return v if dt == np.uint64 else lax.bitcast_convert_type(v, jnp.int64)


def bernoulli(k, p, shape=(), start=0, dtype=np.bool_):
    """Bernoulli(p) draws as bool or uint8: element i is 1 when uint64
    element i is below floor(p 2**64) (always for p = 1): ``ctrng.bernoulli``
    bit for bit."""
    alg, kd = _unwrap(k)
    threshold = bernoulli_threshold(p)
    dt = check_dtype(dtype, (np.bool_, np.uint8), "bernoulli")
    shape = _shape(shape)
    start = _start(start, math.prod(shape), (alg.block_bytes // 8) << 64)
    if threshold is None:
        return jnp.ones(shape, dt)
    lo, hi = _words64(alg, kd, shape, start)
    t_hi, t_lo = np.uint32(threshold >> 32), np.uint32(threshold & _M32)
    return ((hi < t_hi) | ((hi == t_hi) & (lo < t_lo))).astype(dt)
