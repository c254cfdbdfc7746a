"""PyTorch helpers (import ``ctrng.torch``; ctrng itself never imports torch).

* In-place fills of tensors: CPU tensors through a zero-copy NumPy view
  (the C core, all threads), CUDA tensors on the device (:mod:`ctrng.cuda`).
  Element i is element ``start + i`` of the stateless function of the same
  name, so a tensor filled on the CPU or the GPU holds the same values.
* :class:`WorkerInit`, a ``worker_init_fn`` for ``DataLoader`` that gives
  every (rank, epoch, worker) its own ctrng stream and seeds NumPy's legacy
  global generator, Python's ``random`` and torch's from it with
  :func:`ctrng.derive_seed`, so forked workers never share the NumPy seed
  (the classic duplicated-augmentation bug).
* :func:`world`: rank, world size and local rank from the environment that
  ``torchrun`` sets.

>>> import torch, ctrng, ctrng.torch                         # doctest: +SKIP
>>> w = torch.empty(256, 128)                                 # doctest: +SKIP
>>> ctrng.torch.normal_(w, ctrng.Key(7), 0.0, 0.02)           # doctest: +SKIP
"""

from __future__ import annotations

import random as _random

import numpy as np
import torch

from . import stateless
from ._core import checks, kinds
from ._core.checks import check_int
from .generator import Generator
from .key import Key
from .seeds import derive_seed
from .shuffle.sampler import world

__all__ = ["random_", "standard_normal_", "uniform_", "normal_", "integers_", "bernoulli_", "WorkerInit",
           "worker_generator", "world", "WORKER_STREAM", "MAX_WORKERS"]

# Worker w in epoch e of a rank draws from stream WORKER_STREAM + e * MAX_WORKERS + w.
WORKER_STREAM = 2**31
MAX_WORKERS = 1024


def _fill(name, tensor, key, args, start, check=None):
    """Fill `tensor` by the function `name` of ctrng.cuda or the stateless
    ones, with parameters `args`; check(dtype), if given, first checks them
    under this module's names where the function's own differ."""
    if not isinstance(tensor, torch.Tensor):
        raise TypeError(f"expected a torch.Tensor, not {type(tensor).__name__}")
    target = tensor.detach()
    if not target.is_contiguous():
        raise ValueError("the tensor must be contiguous")
    if target.is_cuda:
        from . import cuda as module
        out = module.as_device_array(target)
    else:
        module, out = stateless, target.numpy()
    if check is not None:
        check(out.dtype)
    getattr(module, name)(key, *args, start=start, dtype=out.dtype, out=out)
    return tensor


def random_(tensor, key, start=0):
    """Uniform [0, 1) values, as ctrng.random (float32 or float64)."""
    return _fill("random", tensor, key, (), start)


def standard_normal_(tensor, key, start=0):
    """Standard normal values, as ctrng.standard_normal."""
    return _fill("standard_normal", tensor, key, (), start)


def uniform_(tensor, key, low=0.0, high=1.0, start=0):
    """Uniform [low, high) values, as ctrng.uniform."""
    return _fill("uniform", tensor, key, (low, high), start)


def normal_(tensor, key, mean=0.0, std=1.0, start=0):
    """Normal values, as ctrng.normal (mean and std checked as its loc and scale)."""
    def check(dtype):
        dt = checks.check_dtype(dtype, kinds.FLOAT_DTYPES, "normal")
        checks.check_loc_scale(mean, std, dt, ("mean", "std"))

    return _fill("normal", tensor, key, (mean, std), start, check)


def integers_(tensor, key, low, high, start=0):
    """Integers in [low, high), as ctrng.integers (int32, int64 tensors)."""
    return _fill("integers", tensor, key, (low, high), start)


def bernoulli_(tensor, key, p, start=0):
    """0/1 values with P(1) = p, as ctrng.bernoulli (bool or uint8 tensors):
    a dropout mask, say."""
    return _fill("bernoulli", tensor, key, (p,), start)


_worker = None


def worker_generator():
    """The ctrng.Generator of this DataLoader worker (set by WorkerInit)."""
    if _worker is None:
        raise RuntimeError("no ctrng worker stream here: pass ctrng.torch.WorkerInit(...) as worker_init_fn")
    return _worker


class WorkerInit:
    """``DataLoader(..., worker_init_fn=WorkerInit(root))``.

    Worker w of rank r in epoch e gets ``Key(root, rank=r, stream=WORKER_STREAM
    + e * MAX_WORKERS + w)``: a :class:`ctrng.Generator` on it (see
    :func:`worker_generator`), and seeds for NumPy's legacy global generator
    (32 bits), Python's ``random`` and ``torch`` derived from that stream.
    Call ``set_epoch(e)`` before iterating the loader each epoch, so workers
    (re-created every epoch unless persistent) draw new numbers.
    """

    def __init__(self, root, rank=None):
        Key(root)  # checks the root
        self.root = root
        self.rank = world()[0] if rank is None else check_int(rank, "rank", 1 << 32)
        self.epoch = 0

    def set_epoch(self, epoch):
        self.epoch = check_int(epoch, "epoch", WORKER_STREAM // MAX_WORKERS)

    def stream(self, worker_id):
        worker_id = check_int(worker_id, "worker_id", MAX_WORKERS)
        return WORKER_STREAM + self.epoch * MAX_WORKERS + worker_id

    def __call__(self, worker_id):
        global _worker
        stream = self.stream(worker_id)
        _worker = Generator(Key(self.root, rank=self.rank, stream=stream))
        np.random.seed(derive_seed(self.root, self.rank, stream, bits=32))
        _random.seed(derive_seed(self.root, self.rank, stream))
        torch.manual_seed(derive_seed(self.root, self.rank, stream))
