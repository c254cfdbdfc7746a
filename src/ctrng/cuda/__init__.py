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

The package: ``stores`` (the 16-byte grouped store), ``kernels`` (the
kernel factories and their per-kind transform table) and this module (the
public functions: argument checks through ctrng._core.checks, launches).
The kernels are thin users of the device functions in :mod:`ctrng.numba`:
one thread computes one cipher block and writes every element made from it,
16 bytes a store where the output allows, or through shared memory where a
cipher block's elements take more than 16 bytes (only integers of spans over
2**32, which take 128 bits each, run one thread per element).  The kernels
are compiled for one cipher and round count (on the first call that needs
them) and take the key by value.
"""

from __future__ import annotations

import functools
import warnings

import numpy as np
from numba import cuda

from .. import stateless
from .._core import bridge, checks, kinds
from .._core.checks import check_int
from ..key import check_key
from ..numba import index_permutation_params, stream_words
from ..numba._device import U64, lemire_threshold
from ..shuffle.index_permutation import IndexPermutation
from .kernels import (
    _fill_kernel,
    _permutation_kernels,
    _wide_integers_kernel,
    element_bits,
)
from .stores import store_group as store_group  # tests compile it alone

__all__ = ["random_raw", "random", "uniform", "standard_normal", "normal", "integers", "bernoulli",
           "index_permutation", "index_permuted", "permute", "as_device_array"]

THREADS_PER_BLOCK = 256
# Enough thread blocks in a grid to fill a large GPU; each thread then loops.
MAX_GRID = 65536


def truncated_normal_fill(key, start, args, out):
    """Fill the CUDA array `out` as ctrng.init.trunc_normal_ fills elements
    [start, start + out.size): args = (plo, width, flip, alpha, beta, mean,
    std) as that function computes them."""
    dt = as_device_array(out).dtype
    _fill(kinds.float_kind("truncnorm", dt), key, None, start, dt, out, args)


@functools.lru_cache(maxsize=1024)
def _words(key):
    """The stream words as a kernel argument: a tuple, passed by value, so
    that a launch copies nothing to the device first and the kernel keeps
    the words in registers (an array could alias the output and be re-read
    after every store).  Cached: keys are immutable, and building the tuple
    is host time on every launch."""
    return tuple(stream_words(key))


def _launch(kernel, work, *args):
    """Launch over `work` threads' worth of items, at most MAX_GRID thread
    blocks of THREADS_PER_BLOCK threads."""
    threads = THREADS_PER_BLOCK
    kernel[max(1, min(MAX_GRID, -(-work // threads))), threads](*args)


def as_device_array(obj):
    """A Numba device array viewing `obj` (zero-copy)."""
    if getattr(obj, "__cuda_ndarray__", False):  # a Numba device array
        return obj
    if hasattr(obj, "__cuda_array_interface__"):  # CuPy, PyTorch, ...
        return cuda.as_cuda_array(obj)
    raise TypeError(f"expected a CUDA array (__cuda_array_interface__), not {type(obj).__name__}")


def _aligned(arr, skip):
    """Whether element -skip of the 1-D array arr (on the device) is on a
    16-byte boundary.  (The CUDA simulator's arrays are NumPy arrays, with
    no __cuda_array_interface__.)"""
    face = getattr(arr, "__cuda_array_interface__", None) or arr.__array_interface__
    return (face["data"][0] - skip * arr.dtype.itemsize) % 16 == 0


def _device_out(out, n, dt):
    """A flat device array of n elements of dt: `out` wrapped zero-copy, or new."""
    return checks.prepare_out(out, n, dt, wrap=as_device_array, empty=cuda.device_array)[1]


def _check(key, start, n, kind, words=1):
    """start as an int, checked against the stream's end for elements of
    `kind` (raw: `words` 32-bit words each)."""
    check_key(key)
    start = checks.check_start(start)
    bridge.check_range(key, kind, start, n, words)
    return start


def _fill(dist, key, n, start, dt, out, prm=(0.0, 1.0), option=False, words=1):
    """Fill `out` (or a new array of n elements of dt) with elements [start,
    ...) of distribution `dist` by its fill kernel (one thread a cipher block) (raw words: `words`
    32-bit words an element); prm and option as kernels._TRANSFORMS says
    (the default prm: loc 0, scale 1)."""
    bits = element_bits(dist, words)
    flat = _device_out(out, n, dt)
    start = _check(key, start, flat.size, dist, words)
    if flat.size:
        per = key.block_bytes * 8 // bits
        first_cipher_block, skip = divmod(start, per)
        cipher_blocks = (skip + flat.size + per - 1) // per
        stream = _words(key)
        target = flat.view(np.uint8) if dt == np.bool_ else flat
        kernel = _fill_kernel(dist, bits, int(stream[0]), int(stream[1]), option, target.dtype, THREADS_PER_BLOCK)
        _launch(kernel, cipher_blocks, stream, U64(first_cipher_block), skip, flat.size, prm, target,
                _aligned(target, skip))
    return out if out is not None else flat


def random_raw(key, n=None, start=0, dtype=np.uint32, out=None):
    """Raw words on the GPU; the same bits as ctrng.random_raw."""
    dt = checks.check_dtype(dtype, (np.uint32, np.uint64), "random_raw")
    return _fill(kinds.RAW32, key, n, start, dt, out, words=dt.itemsize // kinds.WORD_BYTES)


def random(key, n=None, start=0, dtype=np.float32, out=None):
    """Uniform floats in [0, 1) on the GPU (default float32); the same bits
    as ctrng.random."""
    dt = checks.check_dtype(dtype, kinds.FLOAT_DTYPES, "random")
    return _fill(kinds.float_kind("uniform", dt), key, n, start, dt, out)


def uniform(key, low=0.0, high=1.0, n=None, start=0, dtype=np.float32, out=None):
    """Uniform floats in [low, high) on the GPU: u * (high - low) + low in the
    output's precision, as ctrng.uniform (and with its checks of low and high)."""
    dt = checks.check_dtype(dtype, kinds.FLOAT_DTYPES, "uniform")
    low, high = checks.check_interval(low, high, dt)
    prm = (dt.type(low), dt.type(high - low))
    return _fill(kinds.float_kind("uniform", dt), key, n, start, dt, out, prm, True)


def normal(key, loc=0.0, scale=1.0, n=None, start=0, dtype=np.float32, out=None):
    """Normal variates on the GPU: z * scale + loc, as ctrng.normal (and
    with its checks of loc and scale)."""
    dt = checks.check_dtype(dtype, kinds.FLOAT_DTYPES, "normal")
    loc, scale = checks.check_loc_scale(loc, scale, dt)
    prm = (dt.type(loc), dt.type(scale))
    return _fill(kinds.float_kind("normal", dt), key, n, start, dt, out, prm, True)


def standard_normal(key, n=None, start=0, dtype=np.float32, out=None):
    """Standard normal variates on the GPU (default float32), by the same
    Box-Muller as ctrng.standard_normal."""
    dt = checks.check_dtype(dtype, kinds.FLOAT_DTYPES, "standard_normal")
    return _fill(kinds.float_kind("normal", dt), key, n, start, dt, out)


def integers(key, low, high, n=None, start=0, dtype=np.int64, out=None):
    """Exactly unbiased integers in [low, high) on the GPU; the same values
    as ctrng.integers."""
    dt = checks.check_dtype(dtype, stateless.INT_DTYPES, "integers")
    kind, prm = stateless.integer_params(low, high, dt)
    signed = dt.kind == "i"
    if kind != kinds.INTEGERS_128:
        threshold = lemire_threshold(element_bits(kind), U64(prm.range) + U64(1))
        return _fill(kind, key, n, start, dt, out, (U64(prm.range), threshold, U64(prm.low)), signed)
    flat = _device_out(out, n, dt)
    start = _check(key, start, flat.size, kind)
    if flat.size:
        words = _words(key)
        kernel = _wide_integers_kernel(int(words[0]), int(words[1]), signed)
        _launch(kernel, flat.size, words, U64(prm.range), U64(prm.low), U64(start), flat)
    return out if out is not None else flat


def bernoulli(key, p, n=None, start=0, dtype=np.uint8, out=None):
    """Bernoulli(p) draws on the GPU, as uint8 (or bool); the same values as
    ctrng.bernoulli."""
    dt = checks.check_dtype(dtype, (np.bool_, np.uint8), "bernoulli")
    prm = stateless.bernoulli_params(p)
    return _fill(kinds.BERNOULLI, key, n, start, dt, out, (U64(prm.threshold), U64(bool(prm.certain))))


# -- index permutations ---------------------------------------------------------

def _permutation_launch(which, perm, work, *args):
    params = index_permutation_params(perm)
    kernels = _permutation_kernels(int(params[2]), THREADS_PER_BLOCK)
    _launch(kernels[which], work, tuple(params), *args)


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


def index_permuted(key, x, out=None):
    """The rows of the CUDA array `x` (axis 0) in index permutation order:
    ``out[j] = x[p[j]]`` for ``p = ctrng.IndexPermutation(key, len(x))``,
    the same as ``x[p[:]]`` on the CPU.  This is not the order of
    ``ctrng.permutation(key, x)`` (a different map of the same key).  Each
    p[j] is computed on the spot, once per row; nothing else is stored."""
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
        _permutation_launch("gather", IndexPermutation(key, n), n, src.reshape(shape), dst.reshape(shape))
    return out if out is not None else dst


def permute(key, x, out=None):
    """Deprecated name of :func:`index_permuted` (the rows of `x` in index
    permutation order, not ``ctrng.permutation``'s order)."""
    warnings.warn("ctrng.cuda.permute is deprecated: it is ctrng.cuda.index_permuted (the rows in "
                  "ctrng.IndexPermutation order, not ctrng.permutation's)", DeprecationWarning, stacklevel=2)
    return index_permuted(key, x, out)
