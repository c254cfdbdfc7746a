"""The bridge to the C core: one call fills elements [start, start + n) of a
distribution, cut into contiguous pieces over threads.  Each element depends
only on its index, so the pieces, and the thread count, never change a bit."""

from __future__ import annotations

import os
import threading
from concurrent.futures import ThreadPoolExecutor, wait

import numpy as np

from ._ctrng import ffi, lib

# Distribution codes (csrc/ctrng.h) and the stream bytes one element consumes.
RAW32, UNIFORM_F32, UNIFORM_F64 = lib.CTRNG_RAW32, lib.CTRNG_UNIFORM_F32, lib.CTRNG_UNIFORM_F64
NORMAL_F32, NORMAL_F64 = lib.CTRNG_NORMAL_F32, lib.CTRNG_NORMAL_F64
INTEGERS_32, INTEGERS_64, INTEGERS_128 = lib.CTRNG_INTEGERS_32, lib.CTRNG_INTEGERS_64, lib.CTRNG_INTEGERS_128
BERNOULLI = lib.CTRNG_BERNOULLI
TRUNCNORM_F32, TRUNCNORM_F64 = lib.CTRNG_TRUNCNORM_F32, lib.CTRNG_TRUNCNORM_F64
UNIT_BYTES = {RAW32: 4, UNIFORM_F32: 4, UNIFORM_F64: 8, NORMAL_F32: 4, NORMAL_F64: 8,
              INTEGERS_32: 4, INTEGERS_64: 8, INTEGERS_128: 16, BERNOULLI: 8,
              TRUNCNORM_F32: 8, TRUNCNORM_F64: 8}

INTEGER_KINDS = (INTEGERS_32, INTEGERS_64, INTEGERS_128)
# Integer elements stay below 2**57: the blocks from 2**63 on hold their
# retries (csrc/fill.c, ctrng_integer_retry).
INTEGER_ELEMENTS = 1 << 57

ISAS = {"auto": lib.CTRNG_ISA_AUTO, "portable": lib.CTRNG_ISA_PORTABLE, "avx2": lib.CTRNG_ISA_AVX2,
        "avx512": lib.CTRNG_ISA_AVX512}
_ERRORS = {lib.CTRNG_EALGORITHM: "unknown algorithm", lib.CTRNG_EKIND: "unknown distribution",
           lib.CTRNG_EISA: "instruction set not available", lib.CTRNG_EROUNDS: "bad round count",
           lib.CTRNG_EPARAMS: "bad parameters"}

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


# Read once: the default thread count and the code paths this CPU runs.
_DEFAULT_THREADS = cpu_count()
_RUNNABLE = {code for code in ISAS.values() if lib.ctrng_isa_available(code)}


def available_isas():
    """Names of the code paths this CPU runs, 'portable' (always) first,
    then 'avx2' and 'avx512' where the CPU has them; the default is the
    last.  All give the same bytes.

    >>> import ctrng
    >>> ctrng.available_isas()[0]
    'portable'
    """
    return [name for name, code in ISAS.items() if code and code in _RUNNABLE]


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


def stream_length(key, kind):
    """Elements of distribution `kind` in one stream: 2**64 blocks' worth,
    and at most 2**57 bounded integers."""
    length = (key.block_bytes // UNIT_BYTES[kind]) << 64
    return min(length, INTEGER_ELEMENTS) if kind in INTEGER_KINDS else length


def fill(key, kind, start, n, out, *, params=None, threads=None, isa="auto", stream=False):
    """Write elements [start, start + n) of distribution `kind` of `key`'s
    stream into `out`, a writable, aligned, C-contiguous array of n elements.
    stream: large pieces may bypass the caches (CTRNG_FILL_STREAM), for an
    `out` that was written before (not one just allocated)."""
    length = stream_length(key, kind)
    if start + n > length:
        raise ValueError(
            f"start + n = {start + n} is past the end of the stream ({length} elements of this kind)")
    workers = resolve_threads(threads, n)
    code = ISAS.get(isa) if isinstance(isa, str) else None
    if code is None:
        raise ValueError(f"isa must be one of {sorted(ISAS)}, got {isa!r}")
    if code not in _RUNNABLE:
        raise ValueError(f"instruction set {isa!r} is not available on this CPU")
    if n == 0:
        return out
    cstream = key.cstream()
    prm = params if params is not None else ffi.NULL
    per_block = key.block_bytes // UNIT_BYTES[kind]
    buffer = ffi.from_buffer(out, require_writable=True)  # keeps `out` pinned
    flags = lib.CTRNG_FILL_STREAM if stream else 0
    if workers == 1:
        check(lib.ctrng_fill(cstream, kind, prm, *divmod(start, per_block), n, buffer, code, flags))
        return out

    base = ffi.cast("char *", buffer)

    def piece(lo, hi):
        block, skip = divmod(start + lo, per_block)
        check(lib.ctrng_fill(cstream, kind, prm, block, skip, hi - lo, base + lo * out.itemsize, code,
                             flags))

    run_pieces(n, workers, piece)
    return out


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


def check(err):
    """Raise for an error code of the C core."""
    if err:
        raise RuntimeError(f"ctrng C core failed: {_ERRORS.get(err, err)}")
