"""Uniform random permutations of arrays in memory.

A permutation of n items reads the stream's 32-bit words [start, start + 2n):
word start + i sends item i to one of 2**B buckets (B depends on n only;
buckets hold 2**14 to 2**15 items on average), the items are stably sorted
by bucket, and each bucket is Fisher-Yates shuffled in place with the draws
at words start + n + q.  Every ordering is exactly equally likely given
ideal random words (the argument is in docs/permutations.md).  The result
never depends on the thread count: the sort is stable and every draw has a
fixed address.
"""

from __future__ import annotations

import numpy as np

from .._core import bridge, kinds
from .._core.checks import allocate, check_int
from .._core.threads import resolve_threads, run_pieces
from ..key import check_key
from ..stateless import random_raw

__all__ = ["permutation", "permutation_words", "MAX_ITEMS"]

# Draws that the first word rejects read ctrng_integer_retry's blocks, which
# keep apart from the stream words only below 2**57.
MAX_ITEMS = 1 << 56

# Rows up to this size are moved by the bucket sort itself; larger rows are
# gathered once by the finished index permutation, which measured faster.
SCATTER_ROW_BYTES = 16


def permutation_words(n):
    """32-bit words of the stream that a permutation of n items reads."""
    return 2 * n


class Buckets:
    """Step 1 of a permutation of n items at word `start`: how many items
    each bucket gets, counted over `workers` contiguous pieces of [0, n)."""

    def __init__(self, key, start, n, workers):
        self.key, self.start, self.n = key, start, n
        self.stream = key.cstream()
        self.bits = bridge.perm_bits(n)
        bounds = [n * c // workers for c in range(workers + 1)]
        self.piece_row = {lo: c for c, lo in enumerate(bounds[:-1])}
        if self.bits == 0:  # one bucket holds every item: nothing to count (and no NumPy calls,
            # whose fixed costs would dominate a small permutation)
            self.counts = np.array([[hi - lo] for lo, hi in zip(bounds, bounds[1:])], np.uint64)
            self.bucket_start = np.array([0, n], np.uint64)
            return
        self.counts = np.zeros((workers, 1 << self.bits), np.uint64)

        run_pieces(n, workers, lambda lo, hi: self.count(lo, hi, self.counts[self.piece_row[lo]]))
        self.bucket_start = np.zeros((1 << self.bits) + 1, np.uint64)
        np.cumsum(self.counts.sum(axis=0), out=self.bucket_start[1:])

    @classmethod
    def laid_out(cls, key, start, n, bucket_start):
        """The buckets of a permutation whose bucket starts were counted
        before (uint64, buckets + 1): for shuffling them, without counting."""
        self = cls.__new__(cls)
        self.key, self.start, self.n = key, start, n
        self.stream, self.bits, self.bucket_start = key.cstream(), bridge.perm_bits(n), bucket_start
        return self

    def count(self, lo, hi, out):
        """Add the number of items of [lo, hi) in each bucket to `out`
        (uint64, one per bucket)."""
        bridge.perm_count(self.stream, self.start, lo, hi, self.bits, out)

    def bucket_of(self, lo, hi, out):
        """Bucket of each item in [lo, hi), written to `out` (uint32)."""
        words = random_raw(self.key, hi - lo, start=self.start + lo, out=out, threads=1)
        if self.bits:
            return np.right_shift(words, np.uint32(32 - self.bits), out=words)
        words.fill(0)
        return words

    def shuffle(self, first, last, data, base, threads=None):
        """Step 3 for buckets [first, last), whose items are in `data` (a
        C-contiguous array holding output positions base, base + 1, ...)."""
        def piece(lo, hi):
            bridge.perm_shuffle_buckets(self.stream, self.start, self.n, self.bucket_start, first + lo, first + hi,
                                        data, base)

        count = last - first
        run_pieces(count, min(resolve_threads(threads, len(data)), max(count, 1)), piece)


def scatter_labels(labels, counts, src, dst):
    """Stable counting sort of the rows of `src` into `dst` by `labels`
    (uint32, one per row; `counts` is the bincount of labels)."""
    nexts = np.zeros(len(counts), np.uint64)
    np.cumsum(counts[:-1], out=nexts[1:])
    bridge.scatter_labels(labels, nexts, src, dst)
    return dst


def permute_rows(key, start, n, src, dst, *, threads=None):
    """Write the permutation of the n rows of `src` (a C-contiguous array, or
    None for the indices themselves as int64) into `dst`, a C-contiguous
    array of the same shape and dtype."""
    if n == 0:
        return dst
    workers = resolve_threads(threads, n)
    buckets = Buckets(key, start, n, workers)
    if buckets.bits == 0:  # one bucket: the stable scatter leaves every item in place
        dst[...] = np.arange(n) if src is None else src
    else:
        counts = buckets.counts
        nexts = buckets.bucket_start[:-1] + np.cumsum(counts, axis=0) - counts
        def scatter(lo, hi):
            bridge.perm_scatter(buckets.stream, start, lo, hi, buckets.bits, nexts[buckets.piece_row[lo]], src, dst)

        run_pieces(n, workers, scatter)
    buckets.shuffle(0, 1 << buckets.bits, dst, 0, threads=workers)
    return dst


def permutation(key, x, start=0, *, axis=0, threads=None):
    """A uniformly random permutation of ``range(x)`` (int `x`) or a permuted
    copy of array `x` along `axis`, from the key's 32-bit words
    [start, start + 2n).  The same call gives the same result on any number
    of threads; permuting an array gives ``x[permutation(key, len(x))]``.

    Examples
    --------
    >>> import ctrng, numpy as np
    >>> key = ctrng.Key(7)
    >>> p = ctrng.permutation(key, 10)
    >>> sorted(p.tolist()) == list(range(10))
    True
    >>> rows = np.arange(20).reshape(10, 2)
    >>> bool((ctrng.permutation(key, rows) == rows[p]).all())
    True
    """
    check_key(key)
    start = check_int(start, "start", bridge.stream_length(key, kinds.RAW32))
    n, arr, axis = items(x, axis)
    check_room(key, start, n)
    return permuted(key, start, n, arr, axis, threads)


def items(x, axis):
    """(n, array or None, axis) for permuting x: an item count or an array."""
    if isinstance(x, (int, np.integer)) and not isinstance(x, bool):
        return check_int(x, "n", MAX_ITEMS + 1), None, 0
    if not isinstance(x, np.ndarray) and np.ndim(x) == 0:
        raise TypeError(f"x must be an integer or an array, not {type(x).__name__}")
    arr = np.asarray(x)
    if arr.ndim == 0:
        raise ValueError("x must be an integer or an array with at least one dimension")
    axis = check_int(axis, "axis", arr.ndim, low=-arr.ndim) % arr.ndim
    return check_int(arr.shape[axis], "len(x)", MAX_ITEMS + 1), arr, axis


def check_room(key, start, n):
    """Raise unless words [start, start + 2n) fit the permutation's limits."""
    end = start + permutation_words(n)
    if end > 2 * MAX_ITEMS or end > bridge.stream_length(key, kinds.RAW32):
        raise ValueError(f"a permutation of {n} items from word {start} goes past word 2**57 of the stream")


def permuted(key, start, n, arr, axis, threads):
    """The permutation of range(n) (arr None) or of arr along axis."""
    if arr is None:
        return permute_rows(key, start, n, None, allocate(n, np.int64), threads=threads)
    if axis == 0 and not arr.dtype.hasobject and arr[:1].nbytes <= SCATTER_ROW_BYTES:
        src = np.ascontiguousarray(arr)
        return permute_rows(key, start, n, src, np.empty_like(src), threads=threads)
    perm = permute_rows(key, start, n, None, allocate(n, np.int64), threads=threads)
    return np.take(arr, perm, axis=axis)
