"""Shuffle the fixed-size records of a file larger than memory.

The result is the in-memory permutation of the records for the same key
(``dst`` record j is ``src`` record ``ctrng.permutation(key, n, start)[j]``),
computed in two sequential passes over the data, within a memory budget:

1. count the records per bucket from the random words alone (no I/O), and
   cut the buckets into groups that each fit the budget; read ``src`` in
   order and append every record to its group's region of a work file (and
   its bucket, as a small integer, to a side file);
2. for each group: read its region, sort it stably by bucket, Fisher-Yates
   shuffle each bucket (steps 2 and 3 of docs/permutations.md), and write it
   to its place in the output.

The work file becomes ``dst``: pass 1 puts the groups one largest group
further on than their final place, so that writing a group's result only
covers regions that earlier groups have read, and the group's own input
stays intact until the next group is written.  Any group can therefore be
done again from its input, and a run can resume where another stopped:

* the work files are named after the job (``.DST.<hash>.tmp``, ``.buckets``
  and ``.journal`` beside ``dst``, the hash covering the source's path,
  size, mtime and inode, the key, start, record size and the cuts the
  memory budget gives), and the running job holds a lock on them;
* the journal records the last completed chunk of pass 1 or group of pass
  2, and is replaced (write, rename) only once the data it vouches for is
  written.  A killed process loses nothing that it wrote, but a machine
  that stops may: the journal names the boot it was written in (Linux's
  boot id), and one from another boot is ignored (the run starts afresh),
  so no data has to be forced to disk before the final fsync.  Where the
  boot id is unknown the data and journal are synced before each save;
* a run that finds the files of its own job resumes from the journal (the
  result is byte-identical to an uninterrupted run); files of another job
  into the same ``dst`` that no live run holds (left by a run that was
  killed, on a source since modified or with other parameters) are deleted;
* a run that fails, or that is stopped by SIGINT or SIGTERM, deletes its
  files; only SIGKILL or a crash leaves them, for the next run to resume.

``dst`` is replaced by a rename at the end, so it is never partial; ``src``
is only read.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import re
import shutil
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from .._core.checks import check_int
from .._core.threads import resolve_threads
from ..key import check_key
from .dataset import check_destination, resolve_sources, shuffle_dataset
from .jobs import (ProgressBar, boot_id, claim, default_memory, parse_size, read_exactly, source_stat,
                   start_writeback, terminate_cleanly, write_all)
from .permutation import MAX_ITEMS, Buckets, check_room, scatter_labels
from .spans import SpansFormat

__all__ = ["shuffle_file"]

# Bytes per record besides the two copies of the record that the passes
# hold: its bucket as uint32 and two copies of its side-file number (2 or 4
# bytes) in pass 1, its side-file number and bucket as uint32 in pass 2.
# That is 12 at most; the rest covers what does not grow with the chunk.
_INDEX_BYTES = 16

def shuffle_file(src, dst, record_size=None, *, key, start=0, format=None, header=False, num_shards=None,
                 memory=None, overwrite=False, threads=None, progress=None, client=None):
    """Write the items of `src` (lines, fixed-size records or ``.npy`` rows)
    to `dst` in the order of ``ctrng.permutation(key, n, start)``, using
    about `memory` bytes: item j of the output is item p[j] of the input.

    Parameters
    ----------
    src : path, glob pattern, directory or list of paths
        The dataset: its files in order (a directory's visible files and a
        glob's matches in sorted name order); items are numbered across them.
    dst : path
        The output file; with `num_shards`, a directory that gets the files
        ``shard-00000-of-0000K<suffix>`` (suffix: the first source's).
    record_size : int
        Bytes per record (``format="records"``); for ``.npy`` files it is read
        from the header.
    key : ctrng.Key
        The permutation's key; `start` is its first 32-bit word.
    format : {"records", "npy", "lines"}
        Default: "npy" for ``.npy`` sources, else "records".  "lines": items
        are lines, never decoded; an empty line is an item, ``\\r\\n`` stays
        part of its line, and a last line without a newline gets one (with a
        warning).  A line longer than the budget allows is a ValueError.
    header : bool
        Lines only: the first line of every source (each must have the same
        one, e.g. a CSV header) is not an item and heads every output file.
    num_shards : int
        Write K files, shard k holding the k-th contiguous slice of the
        permuted items (items n * k // K .. n * (k + 1) // K), so that rank k
        of K reads its own.
    memory : int or str
        Budget for the buffers, e.g. ``"512M"`` (default: a quarter of RAM).
    overwrite : bool
        Replace an existing `dst`.
    progress : bool
        Show a progress bar (default: when stderr is a terminal).
    client : dask.distributed.Client
        Run the work as tasks on this Dask cluster, whose workers must see
        `src` and `dst` at the same paths (a shared filesystem); the result
        is the same files, byte for byte, as without it.

    Returns the number of items.  Raises FileNotFoundError (a missing
    source, a glob that matches nothing), IsADirectoryError, FileExistsError
    (`dst` exists and not `overwrite`), ValueError (bad sizes or headers,
    `dst` is or holds a source, a budget too small), TypeError or OSError
    (too little free disk) before writing anything; sources are only read.

    One file of records or ``.npy`` rows into one file (no `num_shards`,
    no `client`) is shuffled in place in a work file that becomes `dst`
    (``.DST.<hash>.tmp``, ``.buckets``, ``.journal`` beside it: free disk
    for one copy).  Everything else goes through spill files in a work
    directory beside `dst` (``.DST.<hash>.work``: free disk for two
    copies).  An error, SIGINT or SIGTERM deletes the work files; a run that
    is killed (SIGKILL, a crash) leaves them, and the same call again (same
    sources, unmodified, and parameters) resumes where it stopped, with the
    same result as an uninterrupted run.  `dst` appears only when complete.

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
    >>> with open(os.path.join(d, "a.txt"), "wb") as f:
    ...     _ = f.write(b"".join(b"line %d\\n" % i for i in range(100)))
    >>> ctrng.shuffle_file(os.path.join(d, "a.txt"), os.path.join(d, "b.txt"), key=key, format="lines")
    100
    """
    check_key(key)
    if format not in (None, "records", "npy", "lines"):
        raise ValueError(f"format must be 'records', 'npy' or 'lines', not {format!r}")
    if not isinstance(header, bool):
        raise TypeError(f"header must be True or False, not {type(header).__name__}")
    if header and format != "lines":
        raise ValueError("header=True is for format='lines'")
    if num_shards is not None:
        num_shards = check_int(num_shards, "num_shards", 1 << 20, low=1)
    start = check_int(start, "start", 2 * MAX_ITEMS)
    sources = resolve_sources(src)
    if format is None:
        format = "npy" if all(Path(s).suffix == ".npy" for s in sources) else "records"
    if len(sources) == 1 and num_shards is None and client is None and format != "lines":
        return _shuffle_in_place(sources[0], dst, format, record_size, key, start, memory, overwrite, threads,
                                 progress)
    if format == "lines" and record_size is not None:
        raise ValueError("record_size is for format='records' or 'npy', not 'lines'")
    dst = check_destination(dst, sources, overwrite)
    if dst.is_dir() and num_shards is None:
        raise IsADirectoryError(f"dst {dst} is a directory")
    fmt = SpansFormat(format, sources, record_size, header)
    return shuffle_dataset(fmt, dst, key=key, start=start, memory=memory, overwrite=overwrite, threads=threads,
                           progress=progress, client=client, num_files=num_shards or 1,
                           directory=num_shards is not None)


def _shuffle_in_place(src, dst, format, record_size, key, start, memory, overwrite, threads, progress):
    """One file of records or .npy rows into one file, in the work file
    that becomes dst (the module's docstring)."""
    src, dst = Path(src), Path(dst)
    st = source_stat(src)
    if dst.is_dir():
        raise IsADirectoryError(f"dst {dst} is a directory")
    if dst.exists():
        if dst.resolve() == src.resolve():
            raise ValueError("dst must not be the source file (the source is never modified)")
        if not overwrite:
            raise FileExistsError(f"{dst} exists; pass overwrite=True to replace it")
    memory = default_memory() if memory is None else parse_size(memory, "memory")
    if memory < 1:
        raise ValueError("memory must be at least 1 byte")
    layout = SpansFormat(format, [src], record_size)
    record_size, n = layout.width, layout.estimate()[0]
    with open(src, "rb") as f:
        header = f.read(layout.prefix[0])
    if n > MAX_ITEMS:
        raise ValueError(f"{src} holds {n} records; at most 2**56 can be shuffled")
    check_room(key, start, n)
    workers = resolve_threads(threads, n)
    plan = _Plan(Buckets(key, start, n, workers), record_size, len(header), memory)
    show = sys.stderr.isatty() if progress is None else bool(progress)
    bar = ProgressBar(4 * n * record_size, show)
    try:
        with terminate_cleanly():
            _run(plan, src, dst, plan.job(src, st), header, threads, bar)
    finally:
        bar.close()
    return n


def _run(plan, src, dst, job, header, threads, bar):
    """Both passes in the work files of `job`, resumed where a killed run
    stopped; then the rename to `dst`."""
    files = _WorkFiles(dst, job)
    fd = claim(files.data, dst)
    side_fd = None
    journal = _Journal(files, job)
    try:
        _discard_stale(dst, job)
        side_fd = os.open(files.side, os.O_RDWR | os.O_CREAT, 0o600)
        journal.fds = (fd, side_fd)
        step, done = journal.load(plan)
        need = plan.work_size + plan.side_size - sum(os.fstat(f).st_blocks * 512 for f in (fd, side_fd))
        free = shutil.disk_usage(dst.parent).free
        if need > free:
            raise OSError(f"not enough free disk for {dst}: need {need} bytes, {free} available")
        n, rs = plan.buckets.n, plan.record_size
        if (step, done) == (1, 0):
            with contextlib.suppress(FileNotFoundError):
                os.unlink(files.journal)  # one that did not match the files
            shutil.copymode(src, files.data)
            os.ftruncate(fd, plan.work_size)
            os.ftruncate(side_fd, plan.side_size)
            write_all(fd, 0, header)
        elif step == 1:
            bar.resume(2 * done * rs, f"pass 1/2, record {done} of {n}")
        else:
            bar.resume(2 * (n + int(plan.bucket_start[plan.groups[done]])) * rs,
                       f"pass 2/2, group {done + 1} of {len(plan.groups) - 1}")
        if n * rs:
            if step == 1:
                src_fd = os.open(src, os.O_RDONLY)
                try:
                    plan.scatter_pass(src_fd, fd, side_fd, journal, done, bar)
                finally:
                    os.close(src_fd)
                step, done = 2, 0
                journal.save(step, done)
            plan.shuffle_pass(fd, side_fd, threads, journal, done, bar)
            journal.wait()
        os.ftruncate(fd, len(header) + n * rs)  # the last `slack` bytes held pass 1's copy of the last groups
        os.fsync(fd)
        files.remove(data=False)
        os.replace(files.data, dst)
    except BaseException:
        journal.close()  # no save lands after the files are gone
        files.remove()
        raise
    finally:
        journal.close()
        if side_fd is not None:
            os.close(side_fd)
        os.close(fd)


class _WorkFiles:
    """The files of a job beside dst: the data (renamed to dst at the end),
    the bucket numbers of pass 1 and the journal.  `job` is the job's hash
    (the first 16 hex digits name the files)."""

    def __init__(self, dst, job):
        stem = f".{dst.name}.{job[:16]}"
        self.data, self.side, self.journal, self.new_journal = (
            dst.with_name(stem + ext) for ext in (".tmp", ".buckets", ".journal", ".journal.new"))

    def remove(self, data=True):
        """Delete the files there are (the data file last: it holds the lock)."""
        for path in (self.new_journal, self.journal, self.side) + ((self.data,) if data else ()):
            with contextlib.suppress(FileNotFoundError):
                os.unlink(path)


def _discard_stale(dst, job):
    """Delete the work files of other jobs into `dst` (left by killed runs)
    unless a live run holds them."""
    names = re.compile(rf"\.{re.escape(dst.name)}\.([0-9a-f]{{16}})\.(?:tmp|buckets|journal|journal\.new)")
    for other in {m.group(1) for m in map(names.fullmatch, os.listdir(dst.parent)) if m} - {job[:16]}:
        files = _WorkFiles(dst, other)
        try:
            fd = os.open(files.data, os.O_RDONLY)
        except FileNotFoundError:  # a run that was killed before its data file, or one just finished
            files.remove(data=False)
            continue
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            files.remove()
        except BlockingIOError:
            pass  # a live run of that job
        finally:
            os.close(fd)


class _Journal:
    """How far a job got: pass 1 and the records whose chunks are done, or
    pass 2 and the groups done, in this boot.  A save replaces the journal
    atomically (after making the data files, `fds`, durable where the boot
    is unknown), on a thread of its own while the next chunk or group is
    read and sorted."""

    def __init__(self, files, job):
        self.files, self.job, self.fds = files, job, ()
        self.boot = boot_id()
        self.saver = ThreadPoolExecutor(1, thread_name_prefix="ctrng-journal")
        self.pending = None

    def load(self, plan):
        """(pass, done) to resume at: the journal's, when it is this job's
        and the data files have their sizes; else (1, 0), a fresh start."""
        try:
            state = json.loads(self.files.journal.read_text())
            resume = state["pass"], state["done"]
            sizes = tuple(os.fstat(f).st_size for f in self.fds)
            if state["job"] == self.job and state["boot"] == self.boot and sizes == (plan.work_size,
                                                                                     plan.side_size):
                return resume
        except (OSError, ValueError, KeyError, TypeError):
            pass
        return 1, 0

    def save(self, step, done):
        """Record (step, done) for the data written so far, in the background."""
        self.wait()
        self.pending = self.saver.submit(self._save, step, done)

    def wait(self):
        """Wait for the last save (raising its error)."""
        pending, self.pending = self.pending, None
        if pending is not None:
            pending.result()

    def close(self):
        self.saver.shutdown()

    def _save(self, step, done):
        durable = self.boot is None  # a reboot cannot be told: the journal must not outlive its data
        for fd in self.fds if durable else ():
            os.fdatasync(fd)
        with open(self.files.new_journal, "w") as f:
            json.dump({"job": self.job, "boot": self.boot, "pass": step, "done": done}, f)
            if durable:
                f.flush()
                os.fsync(f.fileno())
        os.replace(self.files.new_journal, self.files.journal)
        if durable:
            dir_fd = os.open(self.files.journal.parent, os.O_RDONLY)
            try:
                os.fsync(dir_fd)  # the rename is durable before a write relies on it
            finally:
                os.close(dir_fd)


# Pass 1 writes each unit's records of a chunk with one call; units grow
# (2, 4, ... buckets) until such a run is about this many bytes.
_RUN_BYTES = 32 << 10


class _Plan:
    """How the two passes cut the work.

    Pass 1 reads `chunk` records at a time and sorts them (stably) into
    units of `unit` consecutive buckets, each written to its place in the
    work file, `slack` bytes (the largest group) after its final place.
    With one bucket a unit, the work file is then already sorted by bucket;
    with more, each record's bucket goes to a side file (as uint16, mod
    2**16, when no group spans more buckets) for pass 2.  Pass 2 handles
    `groups` (runs of whole units that fit the memory budget): read, finish
    the sort, shuffle the buckets, write to the final place.
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
        self.largest = int(np.max(self.bucket_start[self.groups[1:]] - self.bucket_start[self.groups[:-1]]))
        self.slack = self.largest * record_size
        self.work_size = offset + self.slack + buckets.n * record_size

    @property
    def side_size(self):
        return self.buckets.n * self.side_bytes

    def job(self, src, st):
        """A hash of everything the work files depend on: the source (path,
        inode, size, mtime), the permutation, the record layout and the cuts."""
        b = self.buckets
        what = {"layout": 1, "src": str(src.resolve()), "device": st.st_dev, "inode": st.st_ino,
                "size": st.st_size, "mtime_ns": st.st_mtime_ns, "key": b.key.to_dict(), "start": b.start, "n": b.n,
                "record_size": self.record_size, "offset": self.offset, "chunk": self.chunk, "unit": self.unit,
                "side_bytes": self.side_bytes}
        digest = hashlib.sha256(json.dumps(what, sort_keys=True).encode())
        digest.update(self.groups.tobytes())
        return digest.hexdigest()

    def scatter_pass(self, src_fd, fd, side_fd, journal, done, bar):
        """Pass 1: records to their unit's region, in source order, from
        record `done` on (a killed run wrote the chunks before it)."""
        n, rs, unit = self.buckets.n, self.record_size, self.unit
        base = self.offset + self.slack
        chunk = min(self.chunk, n)
        records = np.empty((chunk, rs), np.uint8)
        moved = np.empty_like(records)
        labels = np.empty(chunk, np.uint32)
        counts = np.empty(len(self.bucket_start) - 1, np.uint64)
        sides = None if self.side_dtype is None else np.empty((2, chunk), self.side_dtype)
        written = self.bucket_start[:-1:unit].copy()  # next output position per unit
        for lo in range(0, n, chunk):
            hi = min(n, lo + chunk)
            counts.fill(0)
            self.buckets.count(lo, hi, counts)
            per_unit = counts.reshape(-1, unit).sum(axis=1)
            if lo >= done:
                part, out = records[:hi - lo], moved[:hi - lo]
                read_exactly(src_fd, self.offset + lo * rs, part)
                label = self.buckets.bucket_of(lo, hi, out=labels[:hi - lo])
                if sides is not None:
                    side, side_out = sides[:, :hi - lo]
                    side[:] = label  # the bucket, mod 2**16 for uint16
                    label >>= np.uint32(unit.bit_length() - 1)
                    scatter_labels(label, per_unit, side, side_out)
                scatter_labels(label, per_unit, part, out)
                first = 0
                for u in np.flatnonzero(per_unit).tolist():
                    take, at = int(per_unit[u]), int(written[u])
                    write_all(fd, base + at * rs, out[first:first + take])
                    if sides is not None:
                        write_all(side_fd, at * self.side_bytes, side_out[first:first + take])
                    first += take
                if hi < n:
                    journal.save(1, hi)
                bar.advance(2 * (hi - lo) * rs, "pass 1/2")
            written += per_unit.astype(np.int64)

    def shuffle_pass(self, fd, side_fd, threads, journal, done, bar):
        """Pass 2: each group from group `done` on read from pass 1's place,
        sorted by bucket (if pass 1 left that to do), its buckets shuffled,
        and written to its final place."""
        starts, rs = self.bucket_start, self.record_size
        records = np.empty((self.largest, rs), np.uint8)
        sorting = self.side_dtype is not None  # units of several buckets: finish the sort here
        moved = np.empty_like(records) if sorting else None
        side = np.empty(self.largest, self.side_dtype) if sorting else None
        labels = np.empty(self.largest, np.uint32) if sorting else None
        for g in range(done, len(self.groups) - 1):
            first, last = int(self.groups[g]), int(self.groups[g + 1])
            lo, hi = int(starts[first]), int(starts[last])
            if hi == lo:
                continue
            part = records[:hi - lo]
            read_exactly(fd, self.offset + self.slack + lo * rs, part)
            if sorting:
                read_exactly(side_fd, lo * self.side_bytes, side[:hi - lo])
                side[:hi - lo] -= self.side_dtype(first % (1 << 8 * self.side_bytes))  # wraps as the stored bucket did
                labels[:hi - lo] = side[:hi - lo]
                part = scatter_labels(labels[:hi - lo], np.diff(starts[first:last + 1]), part, moved[:hi - lo])
            self.buckets.shuffle(first, last, part, lo, threads=threads)
            journal.wait()  # groups before g are recorded as done: this write may cover what g - 1 read
            write_all(fd, self.offset + lo * rs, part)
            start_writeback(fd, self.offset + lo * rs, part.nbytes)
            if g + 2 < len(self.groups):
                journal.save(2, g + 1)
            bar.advance(2 * (hi - lo) * rs, "pass 2/2")
