"""Dask arrays of ctrng streams (import ``ctrng.dask``; needs ``dask[array]``).

Element ``idx`` of an array of shape ``shape`` is element
``start + ravel_multi_index(idx, shape)`` of the stateless function of the
same name, so the values never depend on the chunking, on the scheduler or
on which worker computes a chunk, and ``x.compute()`` equals the in-memory
call: ``ctrng.dask.random(key, (n,)).compute() == ctrng.random(key, n)``.
Each chunk is generated where it is computed, from the key alone: nothing
is sent but the key, and an array far larger than any worker's memory can
be reduced chunk by chunk.

>>> import ctrng, ctrng.dask, numpy as np
>>> key = ctrng.Key(7)
>>> x = ctrng.dask.random(key, (1000, 30), chunks=(256, 7))
>>> bool((x.compute() == ctrng.random(key, 30000).reshape(1000, 30)).all())
True
"""

from __future__ import annotations

import warnings

import dask.array as da
import numpy as np
from dask.base import tokenize

from . import stateless
from ._core import checks, kinds
from ._core.shards import fill_runs
from .key import check_key
from .shuffle.index_permutation import IndexPermutation

__all__ = ["random", "standard_normal", "integers", "index_permutation"]


def _array(name, shape, chunks, dtype, fill, token):
    """A dask array whose chunk covering flat positions [a, b) in C order is
    fill(out, a) run by run."""
    shape = checks.check_shape(shape, "shape")
    chunks = da.core.normalize_chunks(chunks, shape, dtype=dtype)

    def block(block_info=None):
        loc = [tuple(span) for span in block_info[None]["array-location"]]
        out = np.empty([b - a for a, b in loc], dtype)
        fill_runs(fill, out.reshape(-1), shape, loc)
        return out

    return da.map_blocks(block, chunks=chunks, dtype=dtype, meta=np.empty((0,) * len(shape), dtype),
                         name=f"ctrng-{name}-{tokenize(token, shape, chunks, str(np.dtype(dtype)))}")


def _float(name, key, shape, chunks, dtype, start):
    check_key(key)
    dt = checks.check_dtype(dtype, kinds.FLOAT_DTYPES, name)
    fn = getattr(stateless, name)
    start = checks.check_start(start)

    def fill(out, at):
        fn(key, start=start + at, dtype=dt, out=out, threads=1)

    return _array(name, shape, chunks, dt, fill, (key.to_dict(), start))


def random(key, shape, chunks="auto", dtype=np.float64, start=0):
    """Uniform [0, 1) floats, element for element ctrng.random's."""
    return _float("random", key, shape, chunks, dtype, start)


def standard_normal(key, shape, chunks="auto", dtype=np.float64, start=0):
    """Standard normal floats, element for element ctrng.standard_normal's."""
    return _float("standard_normal", key, shape, chunks, dtype, start)


def integers(key, low, high, shape, chunks="auto", dtype=np.int64, start=0):
    """Integers in [low, high), element for element ctrng.integers'."""
    check_key(key)
    dt = checks.check_dtype(dtype, stateless.INT_DTYPES, "integers")
    stateless.integer_params(low, high, dt)  # checks the bounds for the dtype now, not on a worker
    start = checks.check_start(start)

    def fill(out, at):
        stateless.integers(key, low, high, start=start + at, dtype=dt, out=out, threads=1)

    return _array("integers", shape, chunks, dt, fill, (key.to_dict(), low, high, start))


def index_permutation(key, n, chunks="auto"):
    """``ctrng.IndexPermutation(key, n)[:]`` as a 1-d int64 dask array: each
    chunk computes its positions alone, so n may exceed any machine's memory.
    This is the IndexPermutation order (a keyed bijection), not what
    ``ctrng.permutation(key, n)`` gives for the same key."""
    perm = IndexPermutation(key, n, threads=1)

    def fill(out, at):
        out[...] = perm[at:at + out.size]

    return _array("index_permutation", (perm.n,), chunks, np.int64, fill, (key.to_dict(), perm.n))


def permutation(key, n, chunks="auto"):
    """Deprecated name of :func:`index_permutation` (whose order is not
    ``ctrng.permutation``'s)."""
    warnings.warn("ctrng.dask.permutation is deprecated: use ctrng.dask.index_permutation (the "
                  "IndexPermutation order, not ctrng.permutation's)", DeprecationWarning, stacklevel=2)
    return index_permutation(key, n, chunks)
