"""MPI helpers (import ``ctrng.mpi``; needs ``mpi4py``).

* :func:`key` / :func:`generator`: the calling rank's stream, from a
  communicator and a root; with ``root=None`` rank 0 draws the root from the
  OS and broadcasts it, so every rank (and the log) has the same root.
* :func:`local_range` and the block functions: each rank generates its
  contiguous block of one global array from a key shared by all ranks, so
  gathering the blocks in rank order equals generating the whole array in
  one process; no communication is needed to generate.

Run with, e.g., ``mpirun -n 4 python train.py``::

    import numpy as np
from mpi4py import MPI
    import ctrng, ctrng.mpi
    g = ctrng.mpi.generator()                          # this rank's own stream
    shared = ctrng.Key(ctrng.mpi.key().root, stream=1)  # a key every rank shares
    x = ctrng.mpi.standard_normal(shared, 10**9)        # this rank's block of 10**9
"""

from __future__ import annotations

import numpy as np
from mpi4py import MPI

from . import stateless
from ._core.checks import MAX_N, check_int
from .generator import Generator
from .key import DEFAULT_ALGORITHM, Key

__all__ = ["key", "generator", "local_range", "random", "standard_normal", "integers"]


def _comm(comm):
    return MPI.COMM_WORLD if comm is None else comm


def key(root=None, comm=None, stream=0, algorithm=DEFAULT_ALGORITHM):
    """``Key(root, rank=comm rank, stream=stream)``; a root of None is drawn
    on rank 0 and broadcast (collective: every rank must call it)."""
    comm = _comm(comm)
    if root is None:
        root = comm.bcast(Key(None, algorithm=algorithm).root if comm.Get_rank() == 0 else None, root=0)
    return Key(root, rank=comm.Get_rank(), stream=stream, algorithm=algorithm)


def generator(root=None, comm=None, stream=0, algorithm=DEFAULT_ALGORITHM):
    """A :class:`ctrng.Generator` on this rank's stream (see :func:`key`)."""
    return Generator(key(root, comm, stream, algorithm))


def local_range(n, comm=None):
    """(start, count): this rank's contiguous block of n elements, rank r
    holding [n r / size, n (r + 1) / size) (floors)."""
    comm = _comm(comm)
    n = check_int(n, "n", MAX_N)
    rank, size = comm.Get_rank(), comm.Get_size()
    start = n * rank // size
    return start, n * (rank + 1) // size - start


def random(shared_key, n, comm=None, dtype=np.float64):
    """This rank's block of ``ctrng.random(shared_key, n)``."""
    return stateless.random(shared_key, *_block(n, comm), dtype=dtype)


def standard_normal(shared_key, n, comm=None, dtype=np.float64):
    """This rank's block of ``ctrng.standard_normal(shared_key, n)``."""
    return stateless.standard_normal(shared_key, *_block(n, comm), dtype=dtype)


def integers(shared_key, low, high, n, comm=None, dtype=np.int64):
    """This rank's block of ``ctrng.integers(shared_key, low, high, n)``."""
    return stateless.integers(shared_key, low, high, *_block(n, comm), dtype=dtype)


def _block(n, comm):
    """(count, start) of this rank's block, in the stateless functions' order."""
    start, count = local_range(n, comm)
    return count, start
