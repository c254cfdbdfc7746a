"""Threads for fills: how many to use, the shared pool, and running a fill
cut into contiguous pieces.  Each element depends only on its index, so the
pieces, and the thread count, never change a bit."""

from __future__ import annotations

import os
import threading
from concurrent.futures import ThreadPoolExecutor, wait

import numpy as np

# Below this many elements per thread, extra threads cost more than they save.
MIN_PER_THREAD = 1 << 16

_pool = None
_pool_size = 0
_pool_lock = threading.Lock()


def cpu_count():
    """Cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


# Read once: the default thread count.
_DEFAULT_THREADS = cpu_count()


def resolve_threads(threads, n):
    """Threads to use for n elements: `threads` (default all cores), fewer
    when the pieces would get too small to pay off."""
    if threads is None:
        return max(1, min(_DEFAULT_THREADS, n // MIN_PER_THREAD))
    if isinstance(threads, bool) or not isinstance(threads, (int, np.integer)) or threads < 1:
        raise ValueError(f"threads must be a positive integer or None, got {threads!r}")
    return max(1, min(int(threads), n // MIN_PER_THREAD))


def _forget_pool_after_fork():
    """A forked child (a DataLoader worker, say) inherits the pool object but
    not its threads: start afresh there instead of waiting on dead threads."""
    global _pool, _pool_size, _pool_lock
    _pool, _pool_size, _pool_lock = None, 0, threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_pool_after_fork)


def _submit(piece, ranges):
    """Submit piece(lo, hi) for each range to the pool, growing it first if it
    has fewer threads than ranges.  Submitting under the lock means a pool is
    only ever replaced between two callers' submissions: a replaced pool
    still runs the pieces it was given (shutdown without cancelling), and no
    caller can hold it when it stops taking new ones."""
    global _pool, _pool_size
    with _pool_lock:
        if _pool is None or _pool_size < len(ranges):
            if _pool is not None:
                _pool.shutdown(wait=False)
            _pool = ThreadPoolExecutor(max_workers=len(ranges), thread_name_prefix="ctrng")
            _pool_size = len(ranges)
        return [_pool.submit(piece, lo, hi) for lo, hi in ranges]


def run_pieces(n, workers, piece):
    """Run piece(lo, hi) over `workers` contiguous pieces of [0, n): the first
    on the calling thread, the others on the pool (so each thread
    first-touches its own part of an output, and a call waits for one thread
    handoff fewer).  Returns when every piece has ended, raising the first
    error of any."""
    bounds = [n * i // workers for i in range(workers + 1)]
    rest = list(zip(bounds[1:-1], bounds[2:]))
    futures = _submit(piece, rest) if rest else []
    try:
        piece(bounds[0], bounds[1])
    finally:
        if futures:
            wait(futures)  # no piece may still be writing once this returns
    for f in futures:
        f.result()
