"""Shuffle the fixed-size records of a file larger than memory.

The result is the in-memory permutation of the records for the same key
(``dst`` record j is ``src`` record ``ctrng.permutation(key, n, start)[j]``),
computed in two sequential passes over the data, within a memory budget:

1. count the records per bucket from the random words alone (no I/O), and
   cut the buckets into groups that each fit the budget; read ``src`` in
   order and append every record to its group's region of the output (and
   its bucket, as a small integer, to a side file);
2. for each group: read its region, sort it stably by bucket, Fisher-Yates
   shuffle each bucket (steps 2 and 3 of docs/permutations.md), and write it
   back in place.

The output is written to a temporary file next to ``dst`` and renamed over
it at the end, so an interrupted run leaves no partial ``dst``; ``src`` is
only read.
"""

from __future__ import annotations

import os
import re
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from . import _fill
from .key import check_int
from .permute import MAX_ITEMS, Buckets, check_room, scatter_labels
from .stateless import check_key

__all__ = ["shuffle_file", "parse_size"]

# Bytes per record besides the two copies of the record that the passes
# hold: the bucket, group and bucket-within-group numbers.
_INDEX_BYTES = 16

_SIZE = re.compile(r"\s*(\d[\d_]*)\s*([KMGT]?)(i?B)?\s*", re.IGNORECASE)


def parse_size(text, name="size"):
    """Bytes in a size: an int, or a string of digits with an optional K, M,
    G or T suffix (powers of 1024; a trailing 'B' or 'iB' is accepted), such
    as '4096', '64K', '512MiB', '2G'."""
    if isinstance(text, (int, np.integer)) and not isinstance(text, bool):
        return check_int(text, name, 1 << 62)
    match = _SIZE.fullmatch(str(text))
    if not match:
        raise ValueError(f"{name} is not a byte count: {text!r} (use e.g. 4096, 64K, 100M, 2G)")
    return int(match.group(1).replace("_", "")) * 1024 ** " KMGT".index(match.group(2).upper() or " ")


def default_memory():
    """A quarter of the machine's memory, at least 64 MiB."""
    try:
        total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):  # pragma: no cover - not POSIX
        total = 4 << 30
    return max(64 << 20, total // 4)


class _Progress:
    """A one-line progress bar on stderr, shown only on a terminal."""

    def __init__(self, total, enabled):
        self.total, self.done, self.enabled = total, 0, enabled
        self.t0 = time.perf_counter()
        self.last = 0.0

    def advance(self, nbytes, label):
        self.done += nbytes
        now = time.perf_counter()
        if not self.enabled or (now - self.last < 0.2 and self.done < self.total):
            return
        self.last = now
        frac = self.done / self.total if self.total else 1.0
        rate = self.done / max(now - self.t0, 1e-9) / 2**20
        bar = "#" * int(30 * frac)
        sys.stderr.write(f"\rshuffle-file {label} [{bar:<30}] {100 * frac:5.1f}% {rate:8.1f} MiB/s")
        sys.stderr.flush()

    def close(self):
        if self.enabled:
            sys.stderr.write("\n")
            sys.stderr.flush()


def _npy_layout(path):
    """(header bytes, record size, records) of a .npy file."""
    try:
        arr = np.load(path, mmap_mode="r")
    except ValueError as e:  # object arrays cannot be mapped
        raise ValueError(f"{path}: {e}") from None
    if arr.ndim == 0:
        raise ValueError(f"{path}: a 0-d array has no axis 0 to shuffle")
    if arr.ndim > 1 and not arr.flags.c_contiguous:
        raise ValueError(f"{path}: Fortran-ordered arrays are not supported (rows are not contiguous)")
    with open(path, "rb") as f:
        header = f.read(arr.offset)
    return header, arr.dtype.itemsize * int(np.prod(arr.shape[1:], dtype=np.int64)), arr.shape[0]


def _read_exactly(f, offset, buf):
    view = memoryview(buf).cast("B")
    got = 0
    while got < len(view):
        n = os.preadv(f, [view[got:]], offset + got)
        if n == 0:
            raise OSError(f"unexpected end of file at byte {offset + got}")
        got += n


def _write_all(f, offset, buf):
    view = memoryview(buf).cast("B")
    done = 0
    while done < len(view):
        done += os.pwrite(f, view[done:], offset + done)


def shuffle_file(src, dst, record_size=None, *, key, start=0, memory=None, overwrite=False, threads=None,
                 progress=None):
    """Write the records of `src` to `dst` in the order of
    ``ctrng.permutation(key, n, start)``, using about `memory` bytes.

    Parameters
    ----------
    src, dst : path
        A file of fixed-size records (or a ``.npy`` file, shuffled along
        axis 0 with its header kept), and where to write the result.
    record_size : int
        Bytes per record; for ``.npy`` files it is read from the header.
    key : ctrng.Key
        The permutation's key; `start` is its first 32-bit word.
    memory : int or str
        Budget for the buffers, e.g. ``"512M"`` (default: a quarter of RAM).
    overwrite : bool
        Replace an existing `dst`.
    progress : bool
        Show a progress bar (default: when stderr is a terminal).

    Returns the number of records.  Raises FileNotFoundError,
    FileExistsError, ValueError (a size that is not a multiple of
    record_size, a memory budget smaller than one bucket, dst == src) or
    OSError (too little free disk) before writing anything.

    Examples
    --------
    >>> import ctrng, numpy as np, os, tempfile
    >>> d = tempfile.mkdtemp()
    >>> src, dst = os.path.join(d, "a.npy"), os.path.join(d, "b.npy")
    >>> x = np.arange(1000).reshape(500, 2)
    >>> np.save(src, x)
    >>> key = ctrng.Key(7)
    >>> ctrng.shuffle_file(src, dst, key=key, memory="1M")
    500
    >>> bool((np.load(dst) == ctrng.permutation(key, x)).all())
    True
    """
    check_key(key)
    src, dst = Path(src), Path(dst)
    if not src.is_file():
        raise FileNotFoundError(f"source file not found: {src}")
    if dst.exists():
        if dst.resolve() == src.resolve():
            raise ValueError("dst must not be the source file (the source is never modified)")
        if not overwrite:
            raise FileExistsError(f"{dst} exists; pass overwrite=True to replace it")
    memory = default_memory() if memory is None else parse_size(memory, "memory")
    if memory < 1:
        raise ValueError("memory must be at least 1 byte")
    size = src.stat().st_size
    if src.suffix == ".npy":
        header, row_bytes, n = _npy_layout(src)
        if record_size is not None and record_size != row_bytes:
            raise ValueError(f"record_size = {record_size}, but the rows of {src} hold {row_bytes} bytes")
        record_size = row_bytes
        if len(header) + n * record_size != size:
            raise ValueError(f"{src}: the file holds {size} bytes, its header describes "
                             f"{len(header) + n * record_size}")
    else:
        if record_size is None:
            raise TypeError("record_size is required for files other than .npy")
        record_size = check_int(record_size, "record_size", 1 << 40, low=1)
        if size % record_size:
            raise ValueError(f"{src} holds {size} bytes, not a multiple of record_size = {record_size}")
        header, n = b"", size // record_size
    start = check_int(start, "start", 2 * MAX_ITEMS)
    if n > MAX_ITEMS:
        raise ValueError(f"{src} holds {n} records; at most 2**56 can be shuffled")
    check_room(key, start, n)
    workers = _fill.resolve_threads(threads, n)
    plan = _Plan(Buckets(key, start, n, workers), record_size, len(header), memory)
    free = shutil.disk_usage(dst.parent).free
    need = size + n * plan.side_bytes
    if need > free:
        raise OSError(f"not enough free disk for {dst}: need {need} bytes, {free} available")
    show = sys.stderr.isatty() if progress is None else bool(progress)
    bar = _Progress(4 * n * record_size, show)

    fd, tmp = tempfile.mkstemp(prefix=f".{dst.name}.", suffix=".tmp", dir=dst.parent)
    side_fd, side_tmp = tempfile.mkstemp(prefix=f".{dst.name}.", suffix=".buckets", dir=dst.parent)
    try:
        shutil.copymode(src, tmp)
        os.ftruncate(fd, size)
        os.ftruncate(side_fd, n * plan.side_bytes)
        _write_all(fd, 0, header)
        src_fd = os.open(src, os.O_RDONLY)
        try:
            plan.scatter_pass(src_fd, fd, side_fd, bar)
        finally:
            os.close(src_fd)
        plan.shuffle_pass(fd, side_fd, threads, bar)
        os.fsync(fd)
        os.close(fd)
        fd = None
        os.replace(tmp, dst)
    except BaseException:
        if fd is not None:
            os.close(fd)
        os.unlink(tmp)
        raise
    finally:
        bar.close()
        os.close(side_fd)
        os.unlink(side_tmp)
    return n


def _start_writeback(fd, offset, nbytes):
    """Let the kernel write finished output to disk while work goes on, so
    the final fsync has little left to do (and the page cache is spared)."""
    if hasattr(os, "posix_fadvise"):
        os.posix_fadvise(fd, offset, nbytes, os.POSIX_FADV_DONTNEED)


# Pass 1 writes each unit's records of a chunk with one call; units grow
# (2, 4, ... buckets) until such a run is about this many bytes.
_RUN_BYTES = 32 << 10


class _Plan:
    """How the two passes cut the work.

    Pass 1 reads `chunk` records at a time and sorts them (stably) into
    units of `unit` consecutive buckets, each written to its place in the
    output.  With one bucket a unit, the output is then already sorted by
    bucket; with more, each record's bucket goes to a side file (as
    uint16, mod 2**16, when no group spans more buckets) for pass 2.
    Pass 2 handles `groups` (runs of whole units that fit the memory
    budget): read, finish the sort, shuffle the buckets, write back.
    """

    def __init__(self, buckets, record_size, offset, memory):
        self.buckets, self.record_size, self.offset = buckets, record_size, offset
        self.bucket_start = buckets.bucket_start.astype(np.int64)
        per_record = 2 * record_size + _INDEX_BYTES
        limit = max(1, memory // per_record)  # records held at once
        self.chunk = limit
        sizes = np.diff(self.bucket_start)
        nb = len(sizes)
        if sizes.max() > limit:
            raise ValueError(f"memory = {memory} bytes is too small: a bucket holds {int(sizes.max())} "
                             f"records, which needs {int(sizes.max()) * per_record} bytes")
        self.unit = 1
        while (self.unit < nb and limit // nb * self.unit * record_size < _RUN_BYTES
               and 2 * self.unit * sizes.max() <= limit):
            self.unit *= 2
        unit_sizes = np.add.reduceat(sizes, np.arange(0, nb, self.unit))
        if unit_sizes.max() > limit:  # pragma: no cover - the loop above keeps units within the limit
            self.unit = 1
            unit_sizes = sizes
        edges, total = [0], 0
        for u, count in enumerate(unit_sizes.tolist()):
            if total + count > limit:
                edges.append(u * self.unit)
                total = 0
            total += count
        edges.append(nb)
        self.groups = np.array(edges, np.int64)
        widest = int(np.diff(self.groups).max())
        self.side_dtype = None if self.unit == 1 else np.uint16 if widest <= 1 << 16 else np.uint32
        self.side_bytes = 0 if self.side_dtype is None else np.dtype(self.side_dtype).itemsize

    def scatter_pass(self, src_fd, fd, side_fd, bar):
        """Pass 1: records to their unit's region, in source order."""
        n, rs, unit = self.buckets.n, self.record_size, self.unit
        units = -(-len(self.bucket_start[:-1]) // unit)
        written = self.bucket_start[np.arange(units) * unit].copy()  # next output position per unit
        records = np.empty((min(self.chunk, n), rs), np.uint8)
        moved = np.empty_like(records)
        for lo in range(0, n, self.chunk):
            hi = min(n, lo + self.chunk)
            part, out = records[:hi - lo], moved[:hi - lo]
            _read_exactly(src_fd, self.offset + lo * rs, part)
            bucket = self.buckets.bucket_of(lo, hi)
            label = bucket // np.uint32(unit) if unit > 1 else bucket
            counts = np.bincount(label, minlength=units)
            scatter_labels(label, counts, part, out)
            side = None
            if self.side_dtype is not None:
                side = scatter_labels(label, counts, bucket.astype(self.side_dtype), np.empty(hi - lo, self.side_dtype))
            first = 0
            for u in np.flatnonzero(counts).tolist():
                take, at = int(counts[u]), int(written[u])
                _write_all(fd, self.offset + at * rs, out[first:first + take])
                if side is not None:
                    _write_all(side_fd, at * self.side_bytes, side[first:first + take])
                written[u] += take
                first += take
            bar.advance(2 * (hi - lo) * rs, "pass 1/2")

    def shuffle_pass(self, fd, side_fd, threads, bar):
        """Pass 2: each group sorted by bucket (if pass 1 left that to do)
        and its buckets shuffled, in place."""
        starts, rs = self.bucket_start, self.record_size
        largest = int(np.max(starts[self.groups[1:]] - starts[self.groups[:-1]]))
        records = np.empty((largest, rs), np.uint8)
        sorting = self.side_dtype is not None  # units of several buckets: finish the sort here
        moved = np.empty_like(records) if sorting else None
        side = np.empty(largest, self.side_dtype) if sorting else None
        for first, last in zip(self.groups[:-1].tolist(), self.groups[1:].tolist()):
            lo, hi = int(starts[first]), int(starts[last])
            if hi == lo:
                continue
            part = records[:hi - lo]
            _read_exactly(fd, self.offset + lo * rs, part)
            if sorting:
                labels = side[:hi - lo]
                _read_exactly(side_fd, lo * self.side_bytes, labels)
                labels -= self.side_dtype(first % (1 << 8 * self.side_bytes))  # wraps as the stored bucket did
                part = scatter_labels(labels.astype(np.uint32), np.diff(starts[first:last + 1]), part,
                                      moved[:hi - lo])
            self.buckets.shuffle(first, last, part, lo, threads=threads)
            _write_all(fd, self.offset + lo * rs, part)
            _start_writeback(fd, self.offset + lo * rs, part.nbytes)
            bar.advance(2 * (hi - lo) * rs, "pass 2/2")
