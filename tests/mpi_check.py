"""Run by tests/test_mpi.py under `mpirun -n 4`: rank 0 prints one JSON line
of checks against a single-process computation."""

import json

import numpy as np
from mpi4py import MPI

import ctrng
import ctrng.mpi

comm = MPI.COMM_WORLD
rank, size = comm.Get_rank(), comm.Get_size()
own = ctrng.mpi.key(root=None)  # root drawn on rank 0, broadcast
roots = comm.gather(own.root, root=0)
firsts = comm.gather(ctrng.mpi.generator(root=own.root).random_raw(4).tolist(), root=0)
shared = ctrng.Key(own.root, stream=1)
n = 1000003
blocks = {name: comm.gather(fn(), root=0) for name, fn in {
    "random": lambda: ctrng.mpi.random(shared, n),
    "normal32": lambda: ctrng.mpi.standard_normal(shared, n, dtype=np.float32),
    "integers": lambda: ctrng.mpi.integers(shared, -7, 7, n),
}.items()}
if rank == 0:
    whole = {"random": ctrng.random(shared, n), "normal32": ctrng.standard_normal(shared, n, dtype=np.float32),
             "integers": ctrng.integers(shared, -7, 7, n)}
    print(json.dumps({
        "size": size,
        "same_root": len(set(roots)) == 1,
        "distinct_rank_streams": len({tuple(f) for f in firsts}) == size,
        "rank_streams_are_keys": all(f == ctrng.random_raw(ctrng.Key(own.root, rank=r), 4).tolist()
                                     for r, f in enumerate(firsts)),
        "gathered_equal_whole": {k: bool(np.array_equal(np.concatenate(v), whole[k])) for k, v in blocks.items()},
    }))
