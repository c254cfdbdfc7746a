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
one thread computes one cipher block and writes every element made from it,
16 bytes a store where the output allows, or through shared memory where a
block's elements take more than 16 bytes (only integers of spans over
2**32, which take 128 bits each, run one thread per element).  The kernels
are compiled for one cipher and round count (on the first call that needs
them) and take the key by value.
"""

from __future__ import annotations

import functools

import numpy as np
from llvmlite import ir
from numba import cuda, from_dtype, types
from numba.core import cgutils
from numba.extending import intrinsic, overload, register_jitable

from .. import stateless
from .._core import bridge, checks, kinds
from .._core.checks import check_int
from ..key import check_key
from ..numba import index_permutation_params, stream_words
from ..numba._device import (
    M32,
    ONE,
    S32,
    U64,
    _pick,
    block_of,
    bounded_offset_of,
    box_muller_f32,
    box_muller_f64,
    fmul,
    iperm_fill,
    iperm_walk,
    is64,
    lemire_accept,
    retried_offset,
    truncated_normal,
    unit_f32,
    unit_f64,
)
from ..shuffle.index_permutation import IndexPermutation

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
def _as_int64(x):
    return np.int64(x)


@register_jitable
def _keep(x, loc, scale):
    return x


@register_jitable
def _affine(x, loc, scale):
    return fmul(x, scale) + loc


def store_group(out, i, values, aligned):
    """out[i + k] = values[k] for each k (a tuple, converted to out's dtype).
    With `aligned` (out[i] on a 16-byte boundary) and a group a whole number
    of 16-byte chunks, each chunk is one vector store.  Where each thread of
    a warp stores one chunk, the warp's store covers whole 32-byte sectors;
    scalar stores 16 bytes apart, or two chunks a thread 32 bytes apart,
    cover each sector in pieces (see _block_kernel).  (This Python body is
    what the CUDA simulator runs.)"""
    for k, v in enumerate(values):
        out[i + k] = v


@intrinsic
def _store_group(typingctx, out, i, values, aligned):
    def codegen(context, builder, sig, args):
        aryty, _, valty, _ = sig.args
        ary = context.make_array(aryty)(context, builder, args[0])
        first = cgutils.get_item_pointer(context, builder, aryty, ary, [args[1]])
        elems = [context.cast(builder, builder.extract_value(args[2], k), valty[k], aryty.dtype)
                 for k in range(len(valty))]

        def scalar():
            for k, e in enumerate(elems):
                builder.store(e, builder.gep(first, [ir.Constant(ir.IntType(64), k)]))

        chunk = 128 // aryty.dtype.bitwidth  # elements a 16-byte store takes
        if 128 % aryty.dtype.bitwidth or len(elems) % chunk:
            scalar()
            return context.get_dummy_value()
        with builder.if_else(args[3]) as (vector, otherwise):
            with vector:
                vty = ir.VectorType(elems[0].type, chunk)
                for c in range(0, len(elems), chunk):
                    v = ir.Constant(vty, ir.Undefined)
                    for k in range(chunk):
                        v = builder.insert_element(v, elems[c + k], ir.Constant(ir.IntType(32), k))
                    at = builder.gep(first, [ir.Constant(ir.IntType(64), c)])
                    builder.store(v, builder.bitcast(at, vty.as_pointer()), align=16)
            with otherwise:
                scalar()
        return context.get_dummy_value()
    return types.void(out, i, values, types.boolean), codegen


@overload(store_group)
def _store_group_jit(out, i, values, aligned):
    return lambda out, i, values, aligned: _store_group(out, i, values, aligned)


def _grouped(value, word, wide, pairs, size):
    """The device function giving elements w, ..., w + size - 1 (size a
    power of two, at least 2) of a cipher block b, as a tuple."""
    if pairs:
        def group(b, w, prm, words, pos):
            return value(word(b, w, wide), word(b, w + 1, wide), prm)
    else:
        def group(b, w, prm, words, pos):
            return (value(word(b, w, wide), prm, words, pos + U64(w)),
                    value(word(b, w + 1, wide), prm, words, pos + U64(w + 1)))
    group = register_jitable(group)
    n = 2
    while n < size:
        group, n = _doubled(group, n), 2 * n
    return group


def _doubled(half, n):
    """A group function of 2 n elements from one of n."""
    @register_jitable
    def group(b, w, prm, words, pos):
        return half(b, w, prm, words, pos) + half(b, w + n, prm, words, pos)
    return group


def _group_size(per, itemsize):
    """Elements a whole block is written in groups of: the whole block where
    it is a whole number of 16-byte stores (one group: no loop over the
    block's words, whose index would then be known only at run time), else
    pairs."""
    return per if itemsize in (4, 8) and per * itemsize % 16 == 0 else 2


# Each distribution below is (bits per word, whether words go in pairs, maker);
# maker(alg, rounds, option) gives the device function that turns stream
# words into output elements, given the kernel's parameter tuple `prm`:
# value(x, prm, words, pos) for one word x, the stream's element `pos` in
# words of that many bits, or value(x0, x1, prm) -> two elements for a pair.

def _converted(convert):
    """Raw words and uniforms; option: map x to x * scale + loc, prm =
    (loc, scale) in the output's precision."""
    def make(alg, rounds, affine):
        post = _affine if affine else _keep

        @register_jitable
        def value(x, prm, words, pos):
            return post(convert(x), prm[0], prm[1])
        return value
    return make


def _paired(convert):
    """Normals (Box-Muller: two words, two elements); option and prm as
    for _converted."""
    def make(alg, rounds, affine):
        post = _affine if affine else _keep

        @register_jitable
        def value(x0, x1, prm):
            z0, z1 = convert(x0, x1)
            return post(z0, prm[0], prm[1]), post(z1, prm[0], prm[1])
        return value
    return make


def _integers(bits):
    """Integers from one 32- or 64-bit draw each; prm = (span, 2**bits mod
    (span + 1), low) as uint64; option: a signed output."""
    def make(alg, rounds, signed):
        cast = _as_int64 if signed else _identity

        @register_jitable
        def value(x, prm, words, pos):
            span, threshold, low = prm
            ok, off = lemire_accept(bits, span + ONE, threshold, x)
            if not ok:
                off = retried_offset(alg, rounds, words, span, bits, pos)
            return cast(low + off)  # modulo 2**64, as the dtype wraps
        return value
    return make


def _plain(value):
    """A value function that needs no compile-time choice."""
    return lambda alg, rounds, option: value


@register_jitable
def _bernoulli(x, prm, words, pos):
    """prm = (threshold, certain) as uint64."""
    return 1 if prm[1] or x < prm[0] else 0


@register_jitable
def _truncated(x, prm, words, pos):
    """prm = (plo, width, flip, alpha, beta, mean, std), as
    ctrng.init.trunc_normal_ computes them."""
    return truncated_normal(unit_f64(x), prm[0], prm[1], prm[2], prm[3], prm[4], prm[5], prm[6])


# Raw uint64 words have no code of their own.
_DISTRIBUTIONS = {
    kinds.RAW32: (32, False, _converted(_identity)),
    "raw64": (64, False, _converted(_identity)),
    kinds.UNIFORM_F32: (32, False, _converted(unit_f32)),
    kinds.UNIFORM_F64: (64, False, _converted(unit_f64)),
    kinds.NORMAL_F32: (32, True, _paired(box_muller_f32)),
    kinds.NORMAL_F64: (64, True, _paired(box_muller_f64)),
    kinds.INTEGERS_32: (32, False, _integers(32)),
    kinds.INTEGERS_64: (64, False, _integers(64)),
    kinds.BERNOULLI: (64, False, _plain(_bernoulli)),
    kinds.TRUNCNORM_F64: (64, False, _plain(_truncated)),
}


@functools.lru_cache(maxsize=None)
def _block_kernel(dist, alg, rounds, option, dtype):
    """The kernel writing elements [first_block * per + skip, ... + n) of
    distribution `dist` into an array of `dtype`, one thread per cipher
    block, compiled for one cipher and round count (the algorithm dispatch
    and the round loop then vanish: about 2.5x faster on an H100 than
    reading them from `words` at run time) and for `option` (see
    _DISTRIBUTIONS).  `aligned`: element -skip of `out` is on a 16-byte
    boundary (see store_group).

    Where a block's elements take more than 16 bytes (32 or 64), a thread's
    vector stores would be that far apart, and a warp's store would cover
    each 32-byte sector in halves or quarters: measured on an H100, two
    16-byte stores a thread 32 bytes apart write at half the bandwidth of
    stores covering 512 contiguous bytes a warp.  There, the thread block
    puts its elements in shared memory first, then writes them out with
    consecutive threads on consecutive elements, element stores that need
    no alignment."""
    bits, pairs, make = _DISTRIBUTIONS[dist]
    value = make(U64(alg), rounds, option)
    word = _word32 if bits == 32 else _word64
    wide = bool(is64(U64(alg)))  # the device functions' own test
    per = (256 if wide else 128) // bits  # words per cipher block
    size = _group_size(per, dtype.itemsize)
    group = _grouped(value, word, wide, pairs, size)
    alg = U64(alg)

    @register_jitable
    def write_block(words, first_block, skip, n, prm, out, aligned, bi):
        """The elements of the range's cipher block bi that fall in out."""
        p = first_block + U64(bi)
        b = block_of(alg, rounds, words, p)
        base = bi * per - skip
        pos = p * U64(per)  # the stream's element at word 0 (integers' retries need it)
        # All but the first and last block take the branch with no bounds
        # tests: written as one loop with `whole or 0 <= ...`, the tests
        # compile to 64-bit compares for every element of every block.
        if 0 <= base and base + per <= n:
            for w in range(0, per, size):
                store_group(out, base + w, group(b, w, prm, words, pos), aligned)
        elif pairs:
            for w in range(0, per, 2):
                z0, z1 = value(word(b, w, wide), word(b, w + 1, wide), prm)
                if 0 <= base + w < n:
                    out[base + w] = z0
                if 0 <= base + w + 1 < n:
                    out[base + w + 1] = z1
        else:
            for w in range(per):
                if 0 <= base + w < n:
                    out[base + w] = value(word(b, w, wide), prm, words, pos + U64(w))

    if size * dtype.itemsize <= 16:
        @cuda.jit
        def kernel(words, first_block, skip, n, prm, out, aligned):
            nblocks = (skip + n + per - 1) // per
            for bi in range(cuda.grid(1), nblocks, cuda.gridsize(1)):
                write_block(words, first_block, skip, n, prm, out, aligned, bi)
        return kernel

    threads = THREADS_PER_BLOCK
    span = threads * per  # elements of a thread block's cipher blocks
    element = from_dtype(dtype)

    @cuda.jit
    def staged(words, first_block, skip, n, prm, out, aligned):
        stage = cuda.shared.array(span, element)
        nblocks = (skip + n + per - 1) // per
        me = cuda.threadIdx.x
        for first in range(cuda.blockIdx.x * threads, nblocks, cuda.gridDim.x * threads):
            lo = first * per - skip  # the element of `out` at the first block's word 0
            # the same for the whole thread block; any alignment (element stores)
            if 0 <= lo and lo + span <= n:
                p = first_block + U64(first + me)
                b = block_of(alg, rounds, words, p)
                # the whole block is one group here (size == per: see _group_size)
                store_group(stage, me * per, group(b, 0, prm, words, p * U64(per)), False)
                cuda.syncthreads()
                for k in range(per):  # consecutive threads, consecutive elements
                    out[lo + me + k * threads] = stage[me + k * threads]
                cuda.syncthreads()
            elif first + me < nblocks:
                write_block(words, first_block, skip, n, prm, out, aligned, first + me)
    return staged


@functools.lru_cache(maxsize=None)
def _wide_integers_kernel(alg, rounds, signed):
    """Integers from 128-bit draws (spans over 2**32), one thread each."""
    cast = _as_int64 if signed else _identity
    alg = U64(alg)

    @cuda.jit
    def kernel(words, span, low, start, out):
        for j in range(cuda.grid(1), out.size, cuda.gridsize(1)):
            out[j] = cast(low + bounded_offset_of(alg, rounds, words, span, start + U64(j)))

    return kernel


def truncated_normal_fill(key, start, args, out):
    """Fill the CUDA array `out` as ctrng.init.trunc_normal_ fills elements
    [start, start + out.size): args = (plo, width, flip, alpha, beta, mean,
    std) as that function computes them."""
    dt = as_device_array(out).dtype
    _fill_blocks(kinds.TRUNCNORM_F64, key, None, start, dt, out, args)


@functools.lru_cache(maxsize=1024)
def _words(key):
    """The stream words as a kernel argument: a tuple, passed by value, so
    that a launch copies nothing to the device first and the kernel keeps
    the words in registers (an array could alias the output and be re-read
    after every store).  Cached: keys are immutable, and building the tuple
    took several microseconds of the host's time per call."""
    return tuple(stream_words(key))


def _launch(kernel, work, *args, threads=None):
    """Launch over `work` threads' worth of items, at most MAX_GRID blocks."""
    threads = threads or THREADS_PER_BLOCK
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
    return arr if arr.ndim == 1 else arr.reshape(arr.size)


def _check(key, start, n, kind, words=1):
    """start as an int, checked against the stream's end for elements of
    `kind` (raw: `words` 32-bit words each)."""
    check_key(key)
    start = check_int(start, "start", 1 << 80)
    if start + n > bridge.stream_length(key, kind) // words:
        raise ValueError(f"start + n = {start + n} is past the end of the stream")
    return start


def _fill_blocks(dist, key, n, start, dt, out, prm=(0.0, 1.0), option=False):
    """Fill `out` (or a new array of n elements of dt) with elements [start,
    ...) of distribution `dist` by its block kernel; prm and option as
    _DISTRIBUTIONS says (the default prm: loc 0, scale 1)."""
    bits = _DISTRIBUTIONS[dist][0]
    flat = _device_out(out, n, dt)
    if dist == "raw64":
        start = _check(key, start, flat.size, kinds.RAW32, 2)
    else:
        start = _check(key, start, flat.size, dist)
    if flat.size:
        per = key.block_bytes * 8 // bits
        first_block, skip = divmod(start, per)
        nblocks = (skip + flat.size + per - 1) // per
        words = _words(key)
        target = flat.view(np.uint8) if dt == np.bool_ else flat
        kernel = _block_kernel(dist, int(words[0]), int(words[1]), option, target.dtype)
        _launch(kernel, nblocks, words, U64(first_block), skip, flat.size, prm, target, _aligned(target, skip))
    return out if out is not None else flat


def random_raw(key, n=None, start=0, dtype=np.uint32, out=None):
    """Raw words on the GPU; the same bits as ctrng.random_raw."""
    dt = checks.check_dtype(dtype, (np.uint32, np.uint64), "random_raw")
    return _fill_blocks("raw64" if dt.itemsize == 8 else kinds.RAW32, key, n, start, dt, out)


def random(key, n=None, start=0, dtype=np.float32, out=None):
    """Uniform floats in [0, 1) on the GPU (default float32); the same bits
    as ctrng.random."""
    dt = checks.check_dtype(dtype, (np.float32, np.float64), "random")
    return _fill_blocks(stateless.float_kind(True, dt), key, n, start, dt, out)


def uniform(key, low=0.0, high=1.0, n=None, start=0, dtype=np.float32, out=None):
    """Uniform floats in [low, high) on the GPU: u * (high - low) + low in the
    output's precision, as ctrng.uniform (and with its checks of low and high)."""
    dt = checks.check_dtype(dtype, (np.float32, np.float64), "uniform")
    low, high = checks.check_interval(low, high, dt)
    prm = (dt.type(low), dt.type(high - low))
    return _fill_blocks(stateless.float_kind(True, dt), key, n, start, dt, out, prm, True)


def normal(key, loc=0.0, scale=1.0, n=None, start=0, dtype=np.float32, out=None):
    """Normal variates on the GPU: z * scale + loc, as ctrng.normal (and
    with its checks of loc and scale)."""
    dt = checks.check_dtype(dtype, (np.float32, np.float64), "normal")
    loc, scale = checks.check_loc_scale(loc, scale, dt)
    prm = (dt.type(loc), dt.type(scale))
    return _fill_blocks(stateless.float_kind(False, dt), key, n, start, dt, out, prm, True)


def standard_normal(key, n=None, start=0, dtype=np.float32, out=None):
    """Standard normal variates on the GPU (default float32), by the same
    Box-Muller as ctrng.standard_normal."""
    dt = checks.check_dtype(dtype, (np.float32, np.float64), "standard_normal")
    return _fill_blocks(stateless.float_kind(False, dt), key, n, start, dt, out)


def integers(key, low, high, n=None, start=0, dtype=np.int64, out=None):
    """Exactly unbiased integers in [low, high) on the GPU; the same values
    as ctrng.integers."""
    dt = checks.check_dtype(dtype, stateless.INT_DTYPES, "integers")
    kind, prm = stateless.integer_params(low, high, dt)
    signed = dt.kind == "i"
    if kind != kinds.INTEGERS_128:
        bits = _DISTRIBUTIONS[kind][0]
        threshold = (1 << bits) % (prm.range + 1)
        return _fill_blocks(kind, key, n, start, dt, out, (U64(prm.range), U64(threshold), U64(prm.low)), signed)
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
    return _fill_blocks(kinds.BERNOULLI, key, n, start, dt, out, (U64(prm.threshold), U64(bool(prm.certain))))


# -- index permutations ---------------------------------------------------------
@functools.lru_cache(maxsize=None)
def _permutation_kernels(rounds):
    """The "indices" and "gather" kernels for permutations of `rounds`
    rounds; the parameters come as a tuple (see _words)."""
    tile = THREADS_PER_BLOCK  # rows a thread block gathers at a time

    @cuda.jit
    def indices(params, start, out):
        iperm_fill(params, start, cuda.grid(1), cuda.gridsize(1), out, rounds)

    @cuda.jit
    def gather(params, src, out):
        """out row j = src row p[j].  A thread block takes `tile` rows at a
        time: each thread walks to the source of one row, then the block
        copies the rows with consecutive threads on consecutive elements, so
        the writes, and the reads within a row, coalesce, and p[j] is
        computed once per row, not once per element."""
        source = cuda.shared.array(tile, np.int64)
        n, width = src.shape[0], U64(src.shape[1])
        me = cuda.threadIdx.x
        for first in range(cuda.blockIdx.x * tile, n, cuda.gridDim.x * tile):
            if first + me < n:
                source[me] = np.int64(iperm_walk(params, U64(first + me), False, rounds))
            cuda.syncthreads()
            for t in range(U64(me), U64(min(tile, n - first)) * width, U64(tile)):
                r = t // width
                out[first + r, t - r * width] = src[source[r], t - r * width]
            cuda.syncthreads()

    return {"indices": indices, "gather": gather, "tile": tile}


def _permutation_launch(which, perm, work, *args):
    params = index_permutation_params(perm)
    kernels = _permutation_kernels(int(params[2]))
    _launch(kernels[which], work, tuple(params), *args, threads=kernels["tile"])


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
    as ``x[ctrng.IndexPermutation(key, len(x))[:]]`` on the CPU.  Each p[j]
    is computed on the spot, once per row; nothing else is stored."""
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
