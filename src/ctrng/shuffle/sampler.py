"""`DistributedSampler`: a drop-in for ``torch.utils.data.DistributedSampler``
built on :class:`ctrng.IndexPermutation`.

* Memory per rank is O(1) in the dataset size: no permutation is stored;
  indices are computed 4096 at a time as the iterator runs.
* The order of an epoch is one global sequence, ``order[g]`` for global
  position g = step * num_replicas + rank, that does not depend on the
  number of replicas: 1, 2, 3 or 8 ranks, taken in step order, read the
  same sequence (elastic training).
* ``state_dict()`` / ``load_state_dict()`` resume exactly mid-epoch, also
  with a different number of replicas, by recording the global position;
  the rest of the epoch is then shared out by torch's rule (cut down with
  drop_last, else padded) so every rank still gets the same count.

It does not import torch: ``DataLoader(ds, sampler=ctrng.DistributedSampler(ds))``
works because a sampler only needs ``__iter__`` and ``__len__``.
"""

from __future__ import annotations

import os
import sys

import numpy as np

from .._core.checks import check_fields, check_int
from ..key import Key
from .index_permutation import IndexPermutation

__all__ = ["DistributedSampler", "SAMPLER_RANK", "world"]

# The epoch order of seed s is IndexPermutation(Key(s, rank=SAMPLER_RANK,
# stream=epoch), n): a rank of its own, apart from ranks 0, 1, ... that
# workers use and from ctrng.init's 2**32 - 1.
SAMPLER_RANK = 2**32 - 2

_CHUNK = 4096
_STATE_VERSION = 1


def world():
    """(rank, world_size, local_rank) from torch.distributed when it is
    initialised (looked up only if torch is already imported), else from
    RANK / WORLD_SIZE / LOCAL_RANK (set by torchrun), else (0, 1, 0)."""
    dist = sys.modules.get("torch.distributed")
    if dist is not None and dist.is_available() and dist.is_initialized():
        rank, size = dist.get_rank(), dist.get_world_size()
    else:
        rank, size = _env("RANK", 0), _env("WORLD_SIZE", 1)
    return rank, size, _env("LOCAL_RANK", 0)


def _env(name, default):
    return check_int(int(os.environ.get(name, default)), f"${name}", 1 << 32)


class DistributedSampler:
    """Each rank's share of a shuffled epoch, like torch's DistributedSampler
    (same arguments, same padding and drop_last rules, same ``set_epoch``).

    Parameters
    ----------
    dataset : int or sized object
        The dataset, or its length.
    num_replicas, rank : int, optional
        Default: from ``torch.distributed`` when initialised, else from the
        ``WORLD_SIZE`` and ``RANK`` environment variables, else 1 and 0.
    shuffle : bool
        False gives positions in order (0, 1, 2, ...).
    seed : int, str or bytes
        Root of the epoch orders, the same on every rank (default 0, as
        torch's).  ``None`` is refused: a root drawn from the OS would
        differ between ranks (and between iterations), breaking the
        partition, so pass the run's seed.
    drop_last : bool
        Drop the tail so every rank gets the same count (True), or pad by
        repeating the order from its start (False), as torch does.

    Examples
    --------
    >>> import ctrng
    >>> ranks = [ctrng.DistributedSampler(10, num_replicas=2, rank=r, seed=7) for r in range(2)]
    >>> a, b = (list(s) for s in ranks)
    >>> len(a), sorted(a + b) == list(range(10))
    (5, True)
    >>> one = list(ctrng.DistributedSampler(10, num_replicas=1, rank=0, seed=7))
    >>> [x for pair in zip(a, b) for x in pair] == one   # the same global order
    True
    """

    def __init__(self, dataset, num_replicas=None, rank=None, shuffle=True, seed=0, drop_last=False):
        n = dataset if isinstance(dataset, (int, np.integer)) and not isinstance(dataset, bool) else len(dataset)
        self.n = check_int(n, "len(dataset)", 1 << 63)
        if num_replicas is None or rank is None:
            world_rank, world_size, _ = world()
            num_replicas = world_size if num_replicas is None else num_replicas
            rank = world_rank if rank is None else rank
        self.num_replicas = check_int(num_replicas, "num_replicas", 1 << 32, low=1)
        self.rank = check_int(rank, "rank", self.num_replicas)
        if not isinstance(shuffle, bool) or not isinstance(drop_last, bool):
            raise TypeError("shuffle and drop_last must be bools")
        if seed is None:
            raise TypeError("seed must be the run's seed (an int, str or bytes, the same on every rank), "
                            "not None: a root drawn from the OS would differ between ranks")
        Key(seed)  # checks the seed
        self.seed, self.shuffle, self.drop_last = seed, shuffle, drop_last
        self.epoch = 0
        self._start = 0  # global position the current (or next) iteration starts from
        self._yielded = 0  # indices the current iteration has handed out
        self._finished = False  # the last iteration ran to the end: the next starts over

    # -- torch's rules --------------------------------------------------------
    def _per_rank(self, start):
        """Indices each rank gets from global position `start` to the end of
        the epoch: the rest of the order cut down (drop_last) or padded up
        to a multiple of num_replicas, torch's rule when start is 0."""
        rest = max(0, self.n - start)
        return rest // self.num_replicas if self.drop_last else -(-rest // self.num_replicas)

    @property
    def num_samples(self):
        """Indices each rank gets in a whole epoch."""
        return self._per_rank(0)

    @property
    def total_size(self):
        """Global positions in a whole epoch (padding included)."""
        return self.num_samples * self.num_replicas

    def __len__(self):
        """Indices the next iteration yields (num_samples, less what a
        loaded mid-epoch state has already consumed)."""
        return self._per_rank(0 if self._finished else self._start)

    def set_epoch(self, epoch):
        """Use epoch's order for the next iteration.  A different epoch starts
        at its beginning; the current one (after load_state_dict) resumes."""
        epoch = check_int(epoch, "epoch", 1 << 32)
        if epoch != self.epoch:
            self._start, self._yielded, self._finished = 0, 0, False
        self.epoch = epoch

    def order(self, epoch=None):
        """The global order of an epoch (default: the current one), as an
        object indexable by global position: ``order[g]``, ``order[a:b]``."""
        epoch = self.epoch if epoch is None else check_int(epoch, "epoch", 1 << 32)
        if not self.shuffle or self.n == 0:
            return _Identity(self.n)
        return IndexPermutation(Key(self.seed, rank=SAMPLER_RANK, stream=epoch), self.n, threads=1)

    # -- iteration ------------------------------------------------------------
    def __iter__(self):
        if self._finished:
            self._start, self._finished = 0, False
        order = self.order()
        step = self.num_replicas
        first = self._start + self.rank
        end = first + len(self) * step
        self._yielded = 0
        for lo in range(first, end, step * _CHUNK):
            positions = np.arange(lo, min(end, lo + step * _CHUNK), step, dtype=np.int64)
            if positions[-1] >= self.n:  # padding: the order again from its start
                positions %= self.n
            for index in order[positions].tolist():
                self._yielded += 1
                yield index
        self._finished = True

    # -- checkpoints ----------------------------------------------------------
    def state_dict(self, consumed=None):
        """The position to resume from: `consumed` (default: what the current
        iteration has yielded) indices of this rank's share, in lockstep with
        the other ranks, are taken as done.  With a DataLoader that prefetches,
        pass the count the training loop has really used."""
        consumed = self._yielded if consumed is None else check_int(consumed, "consumed", 1 << 63)
        position = self._start + min(consumed, self._per_rank(self._start)) * self.num_replicas
        return {"version": _STATE_VERSION, "n": self.n, "seed": self.seed, "shuffle": self.shuffle,
                "epoch": self.epoch, "position": position}

    def load_state_dict(self, state):
        """Resume from state_dict() output, possibly saved with another
        num_replicas: the next iteration continues the same global order."""
        check_fields(state, "state", "DistributedSampler.state_dict()",
                     ("version", "n", "seed", "shuffle", "epoch", "position"), tag=("version", _STATE_VERSION))
        for name in ("n", "seed", "shuffle"):
            if state[name] != getattr(self, name):
                raise ValueError(f"the state was saved with {name}={state[name]!r}, this sampler has "
                                 f"{getattr(self, name)!r}")
        epoch = check_int(state["epoch"], "epoch", 1 << 32)
        position = check_int(state["position"], "position", (1 << 63) + (1 << 32))
        self.epoch, self._start, self._yielded, self._finished = epoch, position, 0, False


class _Identity:
    """range(n) with IndexPermutation's indexing, for shuffle=False."""

    def __init__(self, n):
        self.n = n

    def __len__(self):
        return self.n

    def __getitem__(self, index):
        if isinstance(index, slice):
            return np.arange(*index.indices(self.n), dtype=np.int64)
        if isinstance(index, (int, np.integer)):
            return int(range(self.n)[index])
        return np.asarray(index, dtype=np.int64)
