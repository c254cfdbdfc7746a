"""The CUDA kernel factories: the fill kernels (one thread per cipher
block, or per element for 128-bit integer draws), their table of per-kind
transforms (_TRANSFORMS) and the index permutation kernels.  Each factory
compiles for one cipher and round count (and thread-block size), on the
first call that needs it; the launches and argument checks are in
ctrng.cuda itself."""

from __future__ import annotations

import functools

import numpy as np
from numba import cuda, from_dtype
from numba.extending import register_jitable

from .._core import kinds
from ..numba._device import (
    ONE,
    U64,
    block_of,
    block_word32,
    block_word64,
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
from .stores import store_group


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
    """Elements a whole cipher block is written in groups of: the whole
    cipher block where it is a whole number of 16-byte stores (one group: no
    loop over its words, whose index would then be known only at run time),
    else pairs."""
    return per if itemsize in (4, 8) and per * itemsize % 16 == 0 else 2


# Each kind in _TRANSFORMS below is (whether words go in pairs, maker);
# maker(alg, rounds, option) gives the device function that turns stream
# words into output elements, given the kernel's parameter tuple `prm`:
# value(x, prm, words, pos) for one word x of the bits an element takes
# (element_bits: the C table's), `pos` the element's place in the stream, or
# value(x0, x1, prm) -> two elements for a pair.

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


def element_bits(kind, words=1):
    """Stream bits one element of `kind` takes, from the C table (raw words:
    `words` 32-bit words an element)."""
    return 8 * kinds.UNIT_BYTES[kind] * words


# Raw words are RAW32 for either output width: a uint64 element is two words
# (element_bits' `words`).
_TRANSFORMS = {
    kinds.RAW32: (False, _converted(_identity)),
    kinds.UNIFORM_F32: (False, _converted(unit_f32)),
    kinds.UNIFORM_F64: (False, _converted(unit_f64)),
    kinds.NORMAL_F32: (True, _paired(box_muller_f32)),
    kinds.NORMAL_F64: (True, _paired(box_muller_f64)),
    kinds.INTEGERS_32: (False, _integers(element_bits(kinds.INTEGERS_32))),
    kinds.INTEGERS_64: (False, _integers(element_bits(kinds.INTEGERS_64))),
    kinds.BERNOULLI: (False, _plain(_bernoulli)),
    kinds.TRUNCNORM_F32: (False, _plain(_truncated)),  # float64 values, rounded by the store
    kinds.TRUNCNORM_F64: (False, _plain(_truncated)),
}


@functools.lru_cache(maxsize=None)
def _fill_kernel(dist, bits, alg, rounds, option, dtype, threads):
    """The kernel writing elements [first_cipher_block * per + skip, ... +
    n) of distribution `dist`, `bits` stream bits each (element_bits), into
    an array of `dtype`, one thread per cipher block, compiled for one
    cipher and round count (the algorithm dispatch and the round loop then
    vanish, where reading them from `words` at run time costs the kernel
    much of its speed) and for `option` (see _TRANSFORMS).  `aligned`:
    element -skip of `out` is on a 16-byte boundary (see store_group).

    Where a cipher block's elements take more than 16 bytes (32 or 64), a
    thread's vector stores would be that far apart, and a warp's store
    would cover each 32-byte sector in halves or quarters, which writes well
    below the bandwidth of stores covering contiguous bytes a warp.  There,
    the thread block puts its elements in shared memory first, then writes
    them out with consecutive threads on consecutive elements, element
    stores that need no alignment."""
    pairs, make = _TRANSFORMS[dist]
    value = make(U64(alg), rounds, option)
    word = block_word32 if bits == 32 else block_word64
    wide = bool(is64(U64(alg)))  # the device functions' own test
    per = (256 if wide else 128) // bits  # words per cipher block
    size = _group_size(per, dtype.itemsize)
    group = _grouped(value, word, wide, pairs, size)
    alg = U64(alg)

    @register_jitable
    def write_cipher_block(words, first_cipher_block, skip, n, prm, out, aligned, c):
        """The elements of the range's cipher block c that fall in out."""
        p = first_cipher_block + U64(c)
        b = block_of(alg, rounds, words, p)
        base = c * per - skip
        pos = p * U64(per)  # the stream's element at word 0 (integers' retries need it)
        # All but the first and last cipher block take the branch with no
        # bounds tests: written as one loop with `whole or 0 <= ...`, the
        # tests compile to 64-bit compares for every element of every one.
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
        def kernel(words, first_cipher_block, skip, n, prm, out, aligned):
            cipher_blocks = (skip + n + per - 1) // per
            for c in range(cuda.grid(1), cipher_blocks, cuda.gridsize(1)):
                write_cipher_block(words, first_cipher_block, skip, n, prm, out, aligned, c)
        return kernel

    span = threads * per  # elements of a thread block's cipher blocks
    element = from_dtype(dtype)

    @cuda.jit
    def staged(words, first_cipher_block, skip, n, prm, out, aligned):
        stage = cuda.shared.array(span, element)
        cipher_blocks = (skip + n + per - 1) // per
        me = cuda.threadIdx.x
        for first in range(cuda.blockIdx.x * threads, cipher_blocks, cuda.gridDim.x * threads):
            lo = first * per - skip  # the element of `out` at word 0 of cipher block `first`
            # the same for the whole thread block; any alignment (element stores)
            if 0 <= lo and lo + span <= n:
                p = first_cipher_block + U64(first + me)
                b = block_of(alg, rounds, words, p)
                # the whole cipher block is one group here (size == per: see _group_size)
                store_group(stage, me * per, group(b, 0, prm, words, p * U64(per)), False)
                cuda.syncthreads()
                for k in range(per):  # consecutive threads, consecutive elements
                    out[lo + me + k * threads] = stage[me + k * threads]
                cuda.syncthreads()
            elif first + me < cipher_blocks:
                write_cipher_block(words, first_cipher_block, skip, n, prm, out, aligned, first + me)
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

# -- index permutations ---------------------------------------------------------
@functools.lru_cache(maxsize=None)
def _permutation_kernels(rounds, tile):
    """The "indices" and "gather" kernels for permutations of `rounds`
    rounds, for thread blocks of `tile` threads (rows a thread block
    gathers at a time); the parameters come as a tuple (see
    ctrng.cuda._words)."""

    @cuda.jit
    def indices(params, start, out):
        iperm_fill(params, start, cuda.grid(1), cuda.gridsize(1), out, rounds)

    @cuda.jit
    def gather(params, src, out):
        """out row j = src row p[j].  A thread block takes `tile` rows at a
        time: each thread walks to the source of one row, then the thread
        block copies the rows with consecutive threads on consecutive
        elements, so the writes, and the reads within a row, coalesce, and
        p[j] is computed once per row, not once per element."""
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

    return {"indices": indices, "gather": gather}

