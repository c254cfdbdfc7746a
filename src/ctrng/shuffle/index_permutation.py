"""`IndexPermutation`: position i of a pseudo-random permutation of range(n),
computed on its own in O(1) time and memory, for any n up to 2**63 - 1.

It is a keyed bijection (an alternating Feistel network on the smallest
power-of-two range holding n, a keyed rotation, and cycle walking back into
[0, n); csrc/shuffle/iperm.c and docs/permutations.md give the details), so a
sampler can hand out the epoch order of a dataset of 10**10 items without
ever materialising it, and jump to any position.  Unlike
:func:`ctrng.permutation` it is pseudo-random rather than exactly uniform:
uniform up to the quality of its rounds (24 up to 2**20 values, 12 above),
which the tests and the docs measure.
"""

from __future__ import annotations

import numpy as np

from .._core import bridge
from .._core.checks import allocate, check_int
from .._core.threads import resolve_threads
from ..key import check_key

__all__ = ["IndexPermutation"]

MAX_N = (1 << 63) - 1


class IndexPermutation:
    """The permutation of ``range(n)`` given by `key`: ``p[i]`` is its i-th
    element, ``p.inverse(v)`` the position of value v.

    ``p[i]`` takes an int (negative counts from the end), a slice, or an
    integer array (any shape; the result has that shape, dtype int64).
    The same (key, n) gives the same permutation everywhere; the key's
    block n is read for the round keys, so give it a stream of its own.

    Examples
    --------
    >>> import ctrng
    >>> p = ctrng.IndexPermutation(ctrng.Key(7), 10)
    >>> order = p[:].tolist()
    >>> sorted(order) == list(range(10))
    True
    >>> p[3] == order[3] and p.inverse(order[3]) == 3
    True
    >>> big = ctrng.IndexPermutation(ctrng.Key(7), 10**12)
    >>> int(big.inverse(big[123456789]))
    123456789
    """

    __slots__ = ("_key", "_n", "_params", "threads")

    def __init__(self, key, n, *, threads=None):
        self._key = check_key(key)
        self._n = check_int(n, "n", MAX_N + 1, low=1)
        self._params = bridge.iperm(key.cstream(), self._n)
        if threads is not None:
            resolve_threads(threads, 1)
        self.threads = threads

    @property
    def key(self):
        return self._key

    @property
    def n(self):
        return self._n

    def __len__(self):
        return self._n

    def __repr__(self):
        return f"IndexPermutation({self._key!r}, {self._n})"

    def __eq__(self, other):
        if not isinstance(other, IndexPermutation):
            return NotImplemented
        return (self._key, self._n) == (other._key, other._n)

    def __hash__(self):
        return hash((IndexPermutation, self._key, self._n))

    def __reduce__(self):
        return (IndexPermutation, (self._key, self._n))

    def __getitem__(self, index):
        return self._map(index, False, "index")

    def inverse(self, value):
        """The position of `value` (an int, a slice of values or an integer
        array): ``p.inverse(p[i]) == i``."""
        return self._map(value, True, "value")

    def __iter__(self):
        """The permutation in order, computed 65536 items at a time."""
        step = 1 << 16
        for lo in range(0, self._n, step):
            yield from self[lo:min(lo + step, self._n)].tolist()

    # -- evaluation -----------------------------------------------------------
    def _map(self, index, inverse, name):
        if isinstance(index, slice):
            start, stop, step = index.indices(self._n)
            if step == 1:
                count = max(0, stop - start)
                return self._run(None, start, count, inverse)
            index = np.arange(start, stop, step, dtype=np.int64)
        elif isinstance(index, (int, np.integer)) and not isinstance(index, bool):
            i = int(index)
            if not -self._n <= i < self._n:
                raise IndexError(f"{name} {i} is out of range for n = {self._n}")
            return int(self._run(None, i % self._n, 1, inverse)[0])
        arr = np.asarray(index)
        if arr.size == 0:
            return np.empty(arr.shape, np.int64)
        if arr.dtype.kind not in "iu":
            raise TypeError(f"{name}es must be integers, not {arr.dtype}")
        low, high = int(arr.min()), int(arr.max())
        for bad in (low, high):
            if not -self._n <= bad < self._n:
                raise IndexError(f"{name} {bad} is out of range for n = {self._n}")
        items = arr.reshape(-1).astype(np.int64)
        if low < 0:
            items[items < 0] += self._n
        return self._run(items, 0, items.size, inverse).reshape(arr.shape)

    def _run(self, items, first, count, inverse):
        out = allocate(count, np.int64, "the slice")
        if count == 0:
            return out
        return bridge.iperm_map(self._params, items, first, out, inverse, self.threads)
