"""GPU bulk generation: fill CUDA arrays with ctrng streams, on the device.

Each function returns a Numba device array, or fills ``out=``: any object
with ``__cuda_array_interface__`` (CuPy, PyTorch, Numba device arrays),
zero-copy.  Every value is the same bits the CPU functions give for the same
key and positions: raw words, uniforms, integers and Bernoulli draws, and
also normals (the same Box-Muller, operation for operation, with every
product that feeds an add rounded on its own, as the C core rounds it, so
that the CUDA compiler cannot fuse the two: ``fmul`` in
``ctrng/numba/_device.py``).

>>> import numpy as np, ctrng, ctrng.cuda                     # doctest: +SKIP
>>> x = ctrng.cuda.random(ctrng.Key(7), 10**8)                # float32, on the GPU  # doctest: +SKIP
>>> bool((x[:5].copy_to_host() == ctrng.random(ctrng.Key(7), 5, dtype=np.float32)).all())  # doctest: +SKIP
True

The kernels are thin users of the device functions in :mod:`ctrng.numba`:
for raw words, uniforms and normals one thread computes one cipher block and
writes every element made from it; integers and Bernoulli draws take one
thread per element.  The block kernels are compiled for one cipher and
round count (on the first call that needs them) and take the key by value.
"""

from __future__ import annotations

import functools

import numpy as np
from numba import cuda
from numba.extending import register_jitable

from . import _fill, stateless
from .key import check_int
from .index_permutation import IndexPermutation
from .numba import index_permutation_params, stream_words
from .numba._device import (M32, ONE, S32, U64, _is64, _pick, bernoulli as bernoulli_draw, block_of, bounded_offset,
                            box_muller_f32, box_muller_f64, fmul, iperm_walk, truncated_normal, uniform_f64,
                            unit_f32, unit_f64)

__all__ = ["random_raw", "random", "uniform", "standard_normal", "normal", "integers", "bernoulli",
           "index_permutation", "permute", "as_device_array"]

THREADS_PER_BLOCK = 256
# Enough thread blocks to fill a large GPU; each thread then loops.
MAX_GRID = 65536


@register_jitable
def _word32(b, w, is64):
    """uint32 word w of a block (4 words for 4x32 ciphers, 8 for 4x64)."""
    if is64:
        x = _pick(b, U64(w) >> ONE)
        return (x >> S32) if w & 1 else (x & M32)
    return _pick(b, U64(w))


@register_jitable
def _word64(b, w, is64):
    """uint64 word w of a block (2 words for 4x32 ciphers, 4 for 4x64)."""
    if is64:
        return _pick(b, U64(w))
    return (_pick(b, U64(2 * w + 1)) << S32) | _pick(b, U64(2 * w))


@register_jitable
def _identity(x):
    return x


@register_jitable
def _keep(x, loc, scale):
    return x


@register_jitable
def _affine(x, loc, scale):
    return fmul(x, scale) + loc


# By distribution code: (bits per word, two words per pair of elements, the
# conversion); raw uint64 words have no code of their own.
_DISTRIBUTIONS = {
    _fill.RAW32: (32, False, _identity),
    "raw64": (64, False, _identity),
    _fill.UNIFORM_F32: (32, False, unit_f32),
    _fill.UNIFORM_F64: (64, False, unit_f64),
    _fill.NORMAL_F32: (32, True, box_muller_f32),
    _fill.NORMAL_F64: (64, True, box_muller_f64),
}


@functools.lru_cache(maxsize=None)
def _block_kernel(dist, alg, rounds, affine):
    """The kernel writing elements [first_block * per + skip, ... + n) of
    distribution `dist`, compiled for one cipher and round count (the
    algorithm dispatch and the round loop then vanish: about 2.5x faster on
    an H100 than reading them from `words` at run time); with `affine`,
    x * scale + loc in the output's precision."""
    bits, pairs, convert = _DISTRIBUTIONS[dist]
    word = _word32 if bits == 32 else _word64
    is64 = bool(_is64((alg,)))  # the device functions' own test, on the code alone
    per = (256 if is64 else 128) // bits  # words per cipher block
    post = _affine if affine else _keep
    alg = U64(alg)

    @cuda.jit
    def kernel(words, first_block, skip, n, loc, scale, out):
        nblocks = (skip + n + per - 1) // per
        for bi in range(cuda.grid(1), nblocks, cuda.gridsize(1)):
            b = block_of(alg, rounds, words, first_block + U64(bi))
            base = bi * per - skip
            # All but the first and last block take the branch with no bounds
            # tests: written as one loop with `whole or 0 <= ...`, the tests
            # compile to 64-bit compares for every element of every block.
            if 0 <= base and base + per <= n:
                if pairs:
                    for w in range(0, per, 2):
                        z0, z1 = convert(word(b, w, is64), word(b, w + 1, is64))
                        out[base + w] = post(z0, loc, scale)
                        out[base + w + 1] = post(z1, loc, scale)
                else:
                    for w in range(per):
                        out[base + w] = post(convert(word(b, w, is64)), loc, scale)
            elif pairs:
                for w in range(0, per, 2):
                    z0, z1 = convert(word(b, w, is64), word(b, w + 1, is64))
                    if 0 <= base + w < n:
                        out[base + w] = post(z0, loc, scale)
                    if 0 <= base + w + 1 < n:
                        out[base + w + 1] = post(z1, loc, scale)
            else:
                for w in range(per):
                    if 0 <= base + w < n:
                        out[base + w] = post(convert(word(b, w, is64)), loc, scale)

    return kernel


@cuda.jit
def _integers_kernel(words, span, low, signed, start, n, out):
    for j in range(cuda.grid(1), n, cuda.gridsize(1)):
        v = low + bounded_offset(words, span, start + U64(j))  # modulo 2**64, as the dtype wraps
        if signed:
            out[j] = np.int64(v)
        else:
            out[j] = v


@cuda.jit
def _bernoulli_kernel(words, threshold, certain, start, n, out):
    for j in range(cuda.grid(1), n, cuda.gridsize(1)):
        out[j] = 1 if certain or bernoulli_draw(words, threshold, start + U64(j)) else 0


@cuda.jit
def _truncated_kernel(words, start, plo, width, flip, alpha, beta, mean, std, out):
    for j in range(cuda.grid(1), out.size, cuda.gridsize(1)):
        out[j] = truncated_normal(uniform_f64(words, start + U64(j)), plo, width, flip, alpha, beta, mean, std)


def truncated_normal_fill(key, start, args, out):
    """Fill the CUDA array `out` as ctrng.init.trunc_normal_ fills elements
    [start, start + out.size): args = (plo, width, flip, alpha, beta, mean,
    std) as that function computes them."""
    flat = _device_out(out, None, as_device_array(out).dtype)
    start = _check(key, start, flat.size, _fill.UNIFORM_F64)
    if flat.size:
        _launch(_truncated_kernel, flat.size, _words(key), U64(start), *args, flat)


def _words(key):
    """The stream words as a kernel argument: a tuple, passed by value, so
    that a launch copies nothing to the device first and the kernel keeps
    the words in registers (an array could alias the output and be re-read
    after every store)."""
    return tuple(stream_words(key))


def _launch(kernel, work, *args):
    blocks = max(1, min(MAX_GRID, -(-work // THREADS_PER_BLOCK)))
    kernel[blocks, THREADS_PER_BLOCK](*args)


def as_device_array(obj):
    """A Numba device array viewing `obj` (zero-copy)."""
    if getattr(obj, "__cuda_ndarray__", False):  # a Numba device array
        return obj
    if hasattr(obj, "__cuda_array_interface__"):  # CuPy, PyTorch, ...
        return cuda.as_cuda_array(obj)
    raise TypeError(f"expected a CUDA array (__cuda_array_interface__), not {type(obj).__name__}")


def _device_out(out, n, dt):
    """A device array of n elements of dt: `out` wrapped zero-copy, or new."""
    if out is None:
        if n is None:
            raise TypeError("n is required when out is not given")
        return cuda.device_array(check_int(n, "n", 1 << 63), dt)
    arr = as_device_array(out)
    if arr.dtype != dt:
        raise TypeError(f"out has dtype {arr.dtype}; expected {dt}")
    if not arr.is_c_contiguous():
        raise ValueError("out must be C-contiguous")
    if n is not None and check_int(n, "n", 1 << 63) != arr.size:
        raise ValueError(f"out has {arr.size} elements but n = {n}")
    return arr.reshape(arr.size)


def _check(key, start, n, kind, words=1):
    """start as an int, checked against the stream's end for elements of
    `kind` (raw: `words` 32-bit words each)."""
    stateless.check_key(key)
    start = check_int(start, "start", 1 << 80)
    if start + n > _fill.stream_length(key, kind) // words:
        raise ValueError(f"start + n = {start + n} is past the end of the stream")
    return start


def _fill_blocks(kind, key, n, start, dt, out, affine=None):
    """The block kernels: every element takes dt.itemsize stream bytes (kind
    RAW32 with uint64 elements: two words each); affine = (loc, scale) maps
    float results to x * scale + loc."""
    raw64 = kind == _fill.RAW32 and dt.itemsize == 8
    flat = _device_out(out, n, dt)
    start = _check(key, start, flat.size, kind, 2 if raw64 else 1)
    if flat.size:
        per = key.block_bytes // dt.itemsize
        first_block, skip = divmod(start, per)
        nblocks = (skip + flat.size + per - 1) // per
        loc, scale = affine or (0, 1)
        cast = dt.type if dt.kind == "f" else np.float64
        words = _words(key)
        kernel = _block_kernel("raw64" if raw64 else kind, int(words[0]), int(words[1]), affine is not None)
        _launch(kernel, nblocks, words, U64(first_block), skip, flat.size, cast(loc), cast(scale), flat)
    return out if out is not None else flat


def random_raw(key, n=None, start=0, dtype=np.uint32, out=None):
    """Raw words on the GPU; the same bits as ctrng.random_raw."""
    dt = stateless.check_dtype(dtype, (np.uint32, np.uint64), "random_raw")
    return _fill_blocks(_fill.RAW32, key, n, start, dt, out)


def random(key, n=None, start=0, dtype=np.float32, out=None):
    """Uniform floats in [0, 1) on the GPU (default float32); the same bits
    as ctrng.random."""
    dt = stateless.check_dtype(dtype, (np.float32, np.float64), "random")
    return _fill_blocks(stateless.float_kind(True, dt), key, n, start, dt, out)


def uniform(key, low=0.0, high=1.0, n=None, start=0, dtype=np.float32, out=None):
    """Uniform floats in [low, high) on the GPU: u * (high - low) + low in the
    output's precision, as ctrng.uniform."""
    dt = stateless.check_dtype(dtype, (np.float32, np.float64), "uniform")
    low, high = stateless.check_interval(low, high)
    return _fill_blocks(stateless.float_kind(True, dt), key, n, start, dt, out, (low, high - low))


def normal(key, loc=0.0, scale=1.0, n=None, start=0, dtype=np.float32, out=None):
    """Normal variates on the GPU: z * scale + loc, as ctrng.normal."""
    dt = stateless.check_dtype(dtype, (np.float32, np.float64), "normal")
    loc, scale = stateless.check_loc_scale(loc, scale)
    return _fill_blocks(stateless.float_kind(False, dt), key, n, start, dt, out, (loc, scale))


def standard_normal(key, n=None, start=0, dtype=np.float32, out=None):
    """Standard normal variates on the GPU (default float32), by the same
    Box-Muller as ctrng.standard_normal."""
    dt = stateless.check_dtype(dtype, (np.float32, np.float64), "standard_normal")
    return _fill_blocks(stateless.float_kind(False, dt), key, n, start, dt, out)


def integers(key, low, high, n=None, start=0, dtype=np.int64, out=None):
    """Exactly unbiased integers in [low, high) on the GPU; the same values
    as ctrng.integers."""
    dt = stateless.check_dtype(dtype, stateless.INT_DTYPES, "integers")
    kind, prm = stateless.integer_params(low, high, dt)
    flat = _device_out(out, n, dt)
    start = _check(key, start, flat.size, kind)
    if flat.size:
        _launch(_integers_kernel, flat.size, _words(key), U64(prm.range),
                U64(prm.low), dt.kind == "i", U64(start), flat.size, flat)
    return out if out is not None else flat


def bernoulli(key, p, n=None, start=0, dtype=np.uint8, out=None):
    """Bernoulli(p) draws on the GPU, as uint8 (or bool); the same values as
    ctrng.bernoulli."""
    dt = stateless.check_dtype(dtype, (np.bool_, np.uint8), "bernoulli")
    prm = stateless.bernoulli_params(p)
    flat = _device_out(out, n, dt)
    start = _check(key, start, flat.size, _fill.BERNOULLI)
    if flat.size:
        _launch(_bernoulli_kernel, flat.size, _words(key), U64(prm.threshold),
                bool(prm.certain), U64(start), flat.size, flat.view(np.uint8) if dt == np.bool_ else flat)
    return out if out is not None else flat


# -- index permutations ---------------------------------------------------------
@functools.lru_cache(maxsize=None)
def _permutation_kernels(rounds):
    """The "indices" and "gather" kernels for permutations of `rounds`
    rounds; the parameters come as a tuple (see _words)."""

    @cuda.jit
    def indices(params, start, out):
        for j in range(cuda.grid(1), out.size, cuda.gridsize(1)):
            out[j] = np.int64(iperm_walk(params, start + U64(j), False, rounds))

    @cuda.jit
    def gather(params, src, out):
        """out row j = src row p[j]; rows are `src.shape[1]` elements."""
        width = src.shape[1]
        for t in range(cuda.grid(1), out.shape[0] * width, cuda.gridsize(1)):
            j = t // width
            out[j, t - j * width] = src[iperm_walk(params, U64(j), False, rounds), t - j * width]

    return {"indices": indices, "gather": gather}


def _permutation_launch(which, perm, work, *args):
    params = index_permutation_params(perm)
    _launch(_permutation_kernels(int(params[2]))[which], work, tuple(params), *args)


def index_permutation(key, n, start=0, count=None, out=None):
    """``ctrng.IndexPermutation(key, n)[start:start + count]`` computed on the
    GPU (int64; count defaults to the rest), or into ``out=``."""
    perm = IndexPermutation(key, n)
    start = check_int(start, "start", perm.n + 1)
    count = perm.n - start if count is None else check_int(count, "count", perm.n - start + 1)
    flat = _device_out(out, count, np.dtype(np.int64))
    if flat.size != count:
        raise ValueError(f"out has {flat.size} elements but count = {count}")
    if count:
        _permutation_launch("indices", perm, count, U64(start), flat)
    return out if out is not None else flat


def permute(key, x, out=None):
    """The rows of the CUDA array `x` (axis 0) in the order of
    ``ctrng.IndexPermutation(key, len(x))``: ``out[j] = x[p[j]]``, the same
    as ``x[ctrng.IndexPermutation(key, len(x))[:]]`` on the CPU.  Each
    thread computes its p[j] on the spot; nothing else is stored."""
    src = as_device_array(x)
    if src.ndim == 0:
        raise ValueError("x must have at least one dimension")
    if not src.is_c_contiguous():
        raise ValueError("x must be C-contiguous")
    n = src.shape[0]
    dst = cuda.device_array(src.shape, src.dtype) if out is None else as_device_array(out)
    if dst.shape != src.shape or dst.dtype != src.dtype or not dst.is_c_contiguous():
        raise ValueError(f"out must be a C-contiguous {src.dtype} array of shape {src.shape}")
    if src.size:
        shape = (n, src.size // n)
        _permutation_launch("gather", IndexPermutation(key, n), src.size, src.reshape(shape), dst.reshape(shape))
    return out if out is not None else dst
