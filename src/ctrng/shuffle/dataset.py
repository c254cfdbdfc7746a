"""Shuffle a dataset of many items (text lines, fixed-size records, table
rows) held in one or many files, out of core, on one machine or as tasks on
a Dask cluster.

The result is the in-memory permutation: output item j is input item p[j],
``p = ctrng.permutation(key, n, start)``, the input items numbered across
the source files in order.  The permutation (docs/permutations.md) sends
item i to bucket ``word[start + i] >> (32 - B)``, B depending on n only,
sorts the items stably by bucket and Fisher-Yates shuffles each bucket with
draws that depend on n and the bucket's place only.  Bucket numbers nest:
the top PB bits of item i's word, its *partition*, name a run of whole
buckets (PB <= B) or a part of one, and need no n, which for lines is only
known once the whole input has been read.  So the work is cut in two
steps, each a set of tasks within the memory budget:

1. **scatter**, a task per *piece* (a run of consecutive items): read the
   piece, sort its items stably by partition and write them, with their
   words, to the piece's spill file (``spill-M.data``, and ``spill-M.npy``
   for where each partition's section starts, written last: the task is
   done when it exists);
2. **shuffle**, a task per *group* (consecutive partitions holding whole
   buckets, cut to fit the budget once the spill sizes are known): read
   the group's section of every spill file in piece order (so each bucket's
   items are in input order), sort them stably by bucket, Fisher-Yates
   shuffle each bucket, and hand the items over in output order.

On one machine the groups are done in order and stream into the output
files (two passes over the data).  On a Dask cluster each group's items go
to a part file, and a third step writes each output file from the parts
its items lie in, except where the output is one file of lines or records:
there each group's bytes have a known place, and its task writes them
there.  Lines, whose item numbers are not known before a piece is read,
take a counting step first on a cluster.  Every task writes under a temporary
name and renames when done, so a task that is run again (its worker was
killed and Dask reruns it elsewhere, or a later run resumes the job) does
the same work to the same bytes.

What a format provides (``spans.SpansFormat`` for lines and records,
``parquet.ParquetFormat`` for Arrow tables) is the `Format` protocol below.
"""

from __future__ import annotations

import fcntl
import functools
import glob
import hashlib
import json
import os
import pickle
import re
import shutil
import sys
from pathlib import Path

import numpy as np
from tqdm import tqdm

from .._core import bridge
from .._core.threads import resolve_threads
from ..key import check_key
from ..stateless import random_raw
from .jobs import ProgressBar, boot_id, claim, default_memory, parse_size, terminate_cleanly
from .permutation import MAX_ITEMS, Buckets, check_room, permutation, scatter_labels

__all__ = ["Format", "resolve_sources", "check_destination", "shuffle_dataset"]

# Bytes of bookkeeping per item in a task besides two copies of its data:
# word, label, order, ends and their copies (uint32 / int64 arrays).
ITEM_BYTES = 40
# Partitions per memory budget of data: a group is cut from several of
# them, so that groups fill the budget and no partition outgrows it.
PARTITIONS_PER_BUDGET = 4
MAX_PARTITION_BITS = 24
# A dataset permuted in memory is gathered into the output this many slices at a time.
IN_MEMORY_SLICES = 16


class Format:
    """How one kind of dataset is read, spilled and written.

    A *batch* is the format's own in-memory run of items (``spans.Spans``,
    a ``pyarrow.Table``).  Pieces and everything a format holds must pickle
    (tasks run on Dask workers).

    identity()                   what the result depends on besides key, start and memory (json-able)
    estimate()                   (items, bytes in memory) of the dataset; before reading, an estimate
    disk_bytes()                 bytes a spill or an output copy of the dataset takes on disk, about
    pieces(budget)               descriptors of runs of consecutive items, each about `budget` bytes in memory
    piece_bytes(piece)           bytes of the piece in the source files (for the progress bar)
    first_items(pieces)          the item number of each piece's first item, or None when only reading tells
    count(piece)                 items of a piece (reads it; used on a cluster when first_items is None)
    read(piece)                  the piece's items, a batch (until the batch goes, no later call changes it)
    length(batch), nbytes(batch) items, bytes in memory
    take(batch, order)           the items at `order` (int64), a batch
    concat(batches)              one batch of the items of several (a dataset that fits the budget is read
                                 whole and permuted in memory)
    slice(batch, lo, hi)         items lo..hi
    write_spill(path, batch, words, counts)  items sorted by partition, `counts` per partition; returns byte
                                 bounds of the partitions' sections (int64, partitions + 1)
    read_spill(spills, pa, pb)   (batch, words) of partitions [pa, pb) of every spill, in order; spills are
                                 (path, item bounds, byte bounds)
    release_spill(spills, pa, pb)  optional: give back the space of those sections (their group is written)
    write_part(path, batch), read_part(path, lo, hi)   a group's output on a cluster
    write_into(path, offset, batch), file_prefix(n)   optional, for formats whose one output file is
                                 file_prefix(n) and then the items' bytes: a cluster writes each group
                                 there directly, with no part files
    output_names(count)          names of `count` output files
    writer(paths, bounds, state) a Writer of items into `paths`, file k holding items bounds[k]..bounds[k + 1];
                                 state is a Writer.checkpoint() to resume from, or None
    """

    needs_reading = False  # whether the items are unknown until the pieces are read (lines)
    data_share = 1.0  # the part of the memory budget for the items and their bookkeeping (the rest: the format's
    # own readers, writers and allocators)


def resolve_sources(src, suffixes=None):
    """The source files of `src`, in order: a path, a directory (its files
    ending in one of `suffixes`, or all of its visible files, in sorted name
    order), a glob pattern (sorted), or a list of paths."""
    if isinstance(src, (list, tuple)):
        if not src:
            raise ValueError("src is an empty list")
        if any(not isinstance(s, (str, os.PathLike)) for s in src):
            raise TypeError(f"src lists must hold paths, not {[type(s).__name__ for s in src]}")
        return [p for s in src for p in resolve_sources(s, suffixes)]
    if not isinstance(src, (str, os.PathLike)):
        raise TypeError(f"src must be a path, a glob pattern or a list of paths, not {type(src).__name__}")
    path = Path(src)
    text = os.fspath(src)
    if path.is_dir():
        files = sorted(p for p in path.iterdir() if not p.name.startswith(".") and p.is_file()
                       and (suffixes is None or p.suffix in suffixes))
        if not files:
            raise FileNotFoundError(f"directory {path} holds no {'/'.join(suffixes or ['data'])} files")
        return files
    if not path.exists() and glob.has_magic(text):
        files = sorted(Path(p) for p in glob.glob(text) if Path(p).is_file())
        if not files:
            raise FileNotFoundError(f"no file matches {text!r}")
        return files
    return [path]


def check_destination(dst, sources, overwrite):
    """dst as a Path, after checking that it is not and does not hold a
    source file, and that it exists only with `overwrite`."""
    if not isinstance(dst, (str, os.PathLike)):
        raise TypeError(f"dst must be a path, not {type(dst).__name__}")
    dst = Path(dst).absolute()
    for s in sources:
        s = s.resolve()
        if s == dst.resolve() or dst.resolve() in s.parents:
            raise ValueError(f"dst {dst} is or holds the source file {s} (sources are never modified)")
    if (dst.exists() or dst.is_symlink()) and not overwrite:
        raise FileExistsError(f"{dst} exists; pass overwrite=True to replace it")
    if not dst.parent.is_dir():
        raise FileNotFoundError(f"the directory of dst, {dst.parent}, does not exist")
    return dst


def file_bounds(n, num_files=None, items_per_file=None):
    """Item bounds of the output files: `num_files` near-equal contiguous
    slices (slice k is items n * k // K .. n * (k + 1) // K), or files of
    `items_per_file` items (the last one shorter)."""
    if items_per_file is not None:
        return list(range(0, n, items_per_file)) + [n] if n else [0, 0]
    return [n * k // num_files for k in range(num_files + 1)]


class _Plan:
    """What every task needs: picklable, built before the first step and
    completed (n, buckets, groups) after the scatter step."""

    def __init__(self, fmt, key, start, memory, workdir):
        self.fmt, self.key, self.start, self.memory, self.workdir = fmt, key, start, memory, str(workdir)
        self.budget = budget = int(memory * fmt.data_share)  # for the items and their bookkeeping
        items, nbytes = fmt.estimate()
        cost = 2 * nbytes + ITEM_BYTES * items
        bucket = cost / (1 << bridge.perm_bits(items))  # the mean bucket, which the shuffle step holds whole
        if bucket > (1.25 if fmt.needs_reading else 1) * budget:  # lines: their count is an estimate
            raise ValueError(f"memory = {memory} bytes is too small for this dataset: the permutation shuffles "
                             f"each of its buckets (2**14 to 2**15 items) in memory, which needs about "
                             f"{int(bucket / fmt.data_share)} bytes")
        self.pieces = fmt.pieces(max(1, int(budget * nbytes / max(cost, 1))))  # pieces of about the budget
        self.fits = cost <= budget
        cost = PARTITIONS_PER_BUDGET * cost / budget
        # Partitions finer than buckets buy nothing (a group holds whole buckets) and cost a
        # re-sort in the shuffle step (_source_order, where n was overestimated).
        self.pbits = min(bridge.perm_bits(items), MAX_PARTITION_BITS, max(0, int(np.ceil(np.log2(max(cost, 1))))))
        self.n = self.bits = self.bucket_start = self.groups = None

    def spill(self, m):
        return Path(self.workdir, f"spill-{m:06d}.data"), Path(self.workdir, f"spill-{m:06d}.npy")

    def part(self, g):
        return Path(self.workdir, f"part-{g:06d}.data")

    def finish(self, n, threads=None):
        """The bucket layout of n items and the groups, from the spill indexes."""
        if n > MAX_ITEMS:
            raise ValueError(f"the dataset holds {n} items; at most 2**56 can be shuffled")
        check_room(self.key, self.start, n)
        self.n = n
        buckets = Buckets(self.key, self.start, n, resolve_threads(threads, n))
        self.bits, self.bucket_start = buckets.bits, buckets.bucket_start
        items = np.zeros(1 << self.pbits, np.int64)
        nbytes = np.zeros(1 << self.pbits, np.int64)
        self.piece_items = []
        for m in range(len(self.pieces)):
            index = np.load(self.spill(m)[1])
            items += np.diff(index[0])
            nbytes += np.diff(index[1])
            self.piece_items.append(int(index[0, -1]))
        # units: the fewest consecutive partitions that hold whole buckets
        per_unit = 1 << max(0, self.pbits - self.bits)
        cost = (2 * nbytes + ITEM_BYTES * items).reshape(-1, per_unit).sum(axis=1)
        if cost.max(initial=0) > self.budget:
            worst = int(cost.argmax())
            unit = slice(worst * per_unit, (worst + 1) * per_unit)
            raise ValueError(f"memory = {self.memory} bytes is too small for this dataset: the permutation "
                             f"shuffles each of its buckets (2**14 to 2**15 items) in memory, and the run of "
                             f"buckets {worst} holds {int(items[unit].sum())} items of {int(nbytes[unit].sum())} "
                             f"bytes, which need {int(cost[worst] / self.fmt.data_share)} bytes")
        edges, total = [0], 0
        for u, c in enumerate(cost.tolist()):
            if total + c > self.budget:
                edges.append(u * per_unit)
                total = 0
            total += c
        edges.append(1 << self.pbits)
        self.groups = list(zip(edges[:-1], edges[1:]))
        self.group_items = [int(items[a:b].sum()) for a, b in self.groups]
        self.group_bytes = [int(nbytes[a:b].sum()) for a, b in self.groups]

    def buckets_of(self, pa, pb):
        """First and last bucket of the partitions [pa, pb)."""
        shift = self.pbits - self.bits
        if shift >= 0:
            return pa >> shift, pb >> shift if pb < 1 << self.pbits else 1 << self.bits
        return pa << -shift, pb << -shift


def _labels(words, bits):
    """Top `bits` bits of each word (uint32); all zero for 0 bits."""
    if bits == 0:
        return np.zeros(len(words), np.uint32)
    return np.right_shift(words, np.uint32(32 - bits))


def _stable_order(labels, count):
    """The stable sort of range(len(labels)) by labels < count (int64), and
    the count of each label."""
    counts = np.bincount(labels, minlength=count).astype(np.uint64) if len(labels) else np.zeros(count, np.uint64)
    return scatter_labels(labels, counts, np.arange(len(labels), dtype=np.int64),
                          np.empty(len(labels), np.int64)), counts


def _durable_replace(tmp, path, durable):
    if durable:
        with open(tmp, "rb+") as f:
            os.fsync(f.fileno())
    os.replace(tmp, path)


def scatter_task(plan, m, first, durable=False):
    """Step 1 for piece m, whose first item is item `first`: its spill file
    (kept if a run before wrote it).  Returns the piece's item count."""
    data, index = plan.spill(m)
    if index.exists():
        return int(np.load(index)[0, -1])
    fmt = plan.fmt
    batch = fmt.read(plan.pieces[m])
    k = fmt.length(batch)
    if first + k > MAX_ITEMS:
        raise ValueError("the dataset holds more than 2**56 items; at most 2**56 can be shuffled")
    words = random_raw(plan.key, k, start=plan.start + first, out=np.empty(k, np.uint32), threads=1)
    order, counts = _stable_order(_labels(words, plan.pbits), 1 << plan.pbits)
    tmp = data.with_suffix(".tmp")
    byte_bounds = fmt.write_spill(tmp, fmt.take(batch, order), words[order], counts)
    _durable_replace(tmp, data, durable)
    item_bounds = np.zeros(len(counts) + 1, np.int64)
    np.cumsum(counts, out=item_bounds[1:])
    tmp = index.with_name(index.stem + ".tmp.npy")
    np.save(tmp, np.stack([item_bounds, np.asarray(byte_bounds, np.int64)]))
    _durable_replace(tmp, index, durable)
    return k


def shuffle_task(plan, g, threads=None):
    """Step 2 for group g: its items in output order (a batch)."""
    pa, pb = plan.groups[g]
    spills = [(plan.spill(m)[0], *np.load(plan.spill(m)[1], mmap_mode="r")) for m in range(len(plan.pieces))]
    batch, words = plan.fmt.read_spill(spills, pa, pb)
    first, last = plan.buckets_of(pa, pb)
    if plan.pbits > plan.bits:  # buckets span partitions: each bucket's items back in input order first
        ahead = _source_order(plan, pa, pb)
        labels = _labels(words[ahead], plan.bits)
        labels -= np.uint32(first)
        order = ahead[_stable_order(labels, last - first)[0]]
    else:
        labels = _labels(words, plan.bits)
        labels -= np.uint32(first)
        order, _ = _stable_order(labels, last - first)
    buckets = Buckets.laid_out(plan.key, plan.start, plan.n, plan.bucket_start)
    buckets.shuffle(first, last, order, int(plan.bucket_start[first]), threads=threads)
    return plan.fmt.take(batch, order)


def _source_order(plan, pa, pb):
    """Where the items of partitions [pa, pb) read from the spill files
    (piece by piece, each piece's items sorted by partition) stand, in input
    order: the piece's words again tell which of its items are in [pa, pb)
    and in what order its spill lists them."""
    out, at, first = [], 0, 0
    for k in plan.piece_items:
        words = random_raw(plan.key, k, start=plan.start + first, out=np.empty(k, np.uint32), threads=1)
        part = _labels(words, plan.pbits)
        mine = np.flatnonzero((part >= pa) & (part < pb))
        listed = mine[np.argsort(part[mine], kind="stable")]  # the input position of each spilled item
        out.append(at + np.argsort(listed, kind="stable"))
        at, first = at + len(mine), first + k
    return np.concatenate(out) if out else np.empty(0, np.int64)


def part_task(plan, g, durable=True):
    """Step 2 on a cluster: group g's items in output order to its part file."""
    path = plan.part(g)
    if not path.exists():
        tmp = path.with_suffix(".tmp")
        plan.fmt.write_part(tmp, shuffle_task(plan, g, threads=1))
        _durable_replace(tmp, path, durable)
    return g


def write_into_task(plan, g, path, offset):
    """Steps 2 and 3 in one on a cluster, for one output file of a format
    whose output is a prefix and the items' bytes (lines, records): group
    g's items, in output order, straight into the file at `offset` (the
    bytes of the groups before it), synced; a marker file records it."""
    done = Path(plan.workdir, f"written-{g:06d}")
    if not done.exists():
        plan.fmt.write_into(path, offset, shuffle_task(plan, g, threads=1))
        tmp = done.with_suffix(".tmp")
        tmp.touch()
        _durable_replace(tmp, done, True)
    return g


def assemble_task(plan, bounds, k, path, durable=True):
    """Step 3 on a cluster: output file k (items bounds[k]..bounds[k + 1])
    from the part files its items lie in."""
    if path.exists():
        return k
    lo, hi = bounds[k], bounds[k + 1]
    tmp = path.with_name(path.name + ".tmp")
    writer = plan.fmt.writer([tmp], [0, hi - lo], None)
    at = 0
    for g, count in enumerate(plan.group_items):
        a, b = max(lo, at), min(hi, at + count)
        if a < b:
            writer.write(plan.fmt.read_part(plan.part(g), a - at, b - at))
        at += count
    writer.close()
    _durable_replace(tmp, path, durable)
    return k


# -- running a job: the work directory, resuming, the final rename ----------------------------
class _Job:
    """The work directory of a job beside dst (``.DST.<hash>.work``), held
    by a lock while the job runs; work directories of other jobs into the
    same dst that no live run holds are deleted."""

    def __init__(self, dst, identity, durable):
        self.dst = dst
        self.hash = hashlib.sha256(json.dumps(identity, sort_keys=True, default=str).encode()).hexdigest()
        self.dir = dst.with_name(f".{dst.name}.{self.hash[:16]}.work")
        self.boot = "durable" if durable else boot_id()
        self.fd = None

    def open(self):
        self.dir.mkdir(exist_ok=True)
        self.fd = claim(self.dir / "lock", self.dst)
        self._discard_others()
        marker = self.dir / "job.json"
        try:
            same = json.loads(marker.read_text()) == {"job": self.hash, "boot": self.boot}
        except (OSError, ValueError):
            same = False
        if not same or self.boot is None:  # files of another boot may have lost data that was not synced
            for p in self.dir.iterdir():
                if p.name != "lock":
                    shutil.rmtree(p) if p.is_dir() and not p.is_symlink() else p.unlink()
            marker.write_text(json.dumps({"job": self.hash, "boot": self.boot}))
        return self.dir

    def _discard_others(self):
        names = re.compile(rf"\.{re.escape(self.dst.name)}\.([0-9a-f]{{16}})\.work")
        for entry in os.listdir(self.dir.parent):
            m = names.fullmatch(entry)
            if not m or m.group(1) == self.hash[:16]:
                continue
            other = self.dir.parent / entry
            try:
                fd = os.open(other / "lock", os.O_RDONLY)
            except FileNotFoundError:
                shutil.rmtree(other, ignore_errors=True)
                continue
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                shutil.rmtree(other, ignore_errors=True)
            except BlockingIOError:
                pass  # a live run of that job
            finally:
                os.close(fd)

    def journal(self):
        try:
            return json.loads((self.dir / "journal.json").read_text())
        except (OSError, ValueError):
            return None

    def save(self, state):
        tmp = self.dir / "journal.tmp"
        tmp.write_text(json.dumps(state))
        os.replace(tmp, self.dir / "journal.json")

    def publish(self, outputs, directory):
        """Move the finished outputs into place: dst itself (one file), or a
        directory dst holding them."""
        if directory:
            out = self.dir / "out"
            old = self.dir / "old"
            if self.dst.exists() or self.dst.is_symlink():
                os.replace(self.dst, old)
            os.replace(out, self.dst)
        else:
            os.replace(outputs[0], self.dst)

    def remove(self):
        """Delete the work directory, if this run holds it."""
        if self.fd is not None:
            shutil.rmtree(self.dir, ignore_errors=True)
            os.close(self.fd)
            self.fd = None


def shuffle_dataset(fmt, dst, *, key, start, memory, overwrite, threads, progress, client,
                    num_files=None, items_per_file=None, directory):
    """Run the job: `fmt` (a Format over its sources) shuffled into `dst`,
    one file (directory False) or a directory of files (directory True),
    cut into `num_files` near-equal slices or files of `items_per_file`
    items.  Returns the number of items."""
    check_key(key)
    if client is not None and not all(hasattr(client, name) for name in ("map", "gather", "submit")):
        raise TypeError(f"client must be a dask.distributed Client, not {type(client).__name__}")
    memory = default_memory() if memory is None else parse_size(memory, "memory")
    if memory < 1024:
        raise ValueError(f"memory = {memory} bytes is too small (at least 1 KiB)")
    identity = {"layout": 1, "format": fmt.identity(), "key": key.to_dict(), "start": start, "memory": memory,
                "num_files": num_files, "items_per_file": items_per_file, "dst": str(dst)}
    job = _Job(dst, identity, durable=client is not None)
    free = shutil.disk_usage(dst.parent).free
    show = sys.stderr.isatty() if progress is None else bool(progress)
    with terminate_cleanly():  # SIGTERM unwinds like SIGINT, through the cleanup below
        try:
            workdir = job.open()
            plan = _Plan(fmt, key, start, memory, workdir)
            copies = 3 if client is not None else 1 if plan.fits else 2  # (spill, parts,) output
            need = copies * fmt.disk_bytes()
            if need > free + _bytes_in(workdir):
                raise OSError(f"not enough free disk beside {dst}: the {'output' if copies == 1 else 'spill and output'}"
                              f" files need about {need} bytes, {free} are available")
            if client is None:
                n = _run_here(plan, job, dst, num_files, items_per_file, directory, threads, show)
            else:
                n = _run_on_cluster(plan, job, dst, num_files, items_per_file, directory, client, show)
        except BaseException:
            job.remove()
            raise
    job.remove()
    return n


def _bytes_in(path):
    return sum(p.stat().st_blocks * 512 for p in Path(path).rglob("*") if p.is_file())


def _output_paths(plan, dst, count, directory):
    out = Path(plan.workdir, "out")
    out.mkdir(exist_ok=True)
    names = plan.fmt.output_names(count) if directory else [dst.name]
    return [out / name for name in names]


def _run_here(plan, job, dst, num_files, items_per_file, directory, threads, show):
    """Both steps in this process: the pieces in order, then the groups in
    order streaming into the output files; or, when the whole dataset fits
    the budget, the permutation in memory."""
    fmt = plan.fmt
    bar = ProgressBar(4 * max(1, fmt.disk_bytes()), show)
    try:
        whole = _read_whole(plan, bar) if plan.fits else None
        if whole is not None:
            return _shuffle_in_memory(plan, whole, job, dst, num_files, items_per_file, directory, threads, bar)
        firsts = fmt.first_items(plan.pieces)
        done = [plan.spill(m)[1].exists() for m in range(len(plan.pieces))]
        if any(done):
            bar.resume(2 * sum(fmt.piece_bytes(p) for p, d in zip(plan.pieces, done) if d),
                       f"the scatter step, {sum(done)} of {len(done)} pieces done")
        first = 0
        for m, piece in enumerate(plan.pieces):
            start = first if firsts is None else firsts[m]
            first = start + scatter_task(plan, m, start)
            if not done[m]:
                bar.advance(2 * fmt.piece_bytes(piece), "1/2")
        plan.finish(first, threads)
        bounds = file_bounds(plan.n, num_files, items_per_file)
        paths = _output_paths(plan, dst, len(bounds) - 1, directory)
        state = job.journal()
        if state is not None and state.get("groups") != len(plan.groups):
            state = None
        writer = fmt.writer(paths, bounds, state)
        g0, skip = (state["restart"], state["skip"]) if state else (0, 0)
        if g0:
            bar.resume(bar.n + 2 * sum(plan.group_bytes[:g0]), f"the shuffle step, group {g0 + 1}")
        spills = [(plan.spill(m)[0], *np.load(plan.spill(m)[1])) for m in range(len(plan.pieces))]
        release, released = getattr(fmt, "release_spill", None), g0
        for g in range(g0, len(plan.groups)):
            batch = shuffle_task(plan, g, threads)
            if skip:
                batch = fmt.slice(batch, skip, fmt.length(batch))
                skip = 0
            writer.write(batch)
            del batch  # the next group's buffers take its place
            state = writer.checkpoint(g + 1)
            state["groups"] = len(plan.groups)
            job.save(state)
            for h in range(released, state["restart"] if release else released):  # no resume reads these again
                release(spills, *plan.groups[h])
            released = max(released, state["restart"])
            bar.advance(2 * plan.group_bytes[g], "2/2")
        writer.close()
        job.publish(paths, directory)
    finally:
        bar.close()
    return plan.n


def _read_whole(plan, bar):
    """All the items in one batch, if they fit the budget with their
    permutation (two copies and ITEM_BYTES an item); else None (the
    estimate was short: the spill steps follow)."""
    fmt, batches, cost = plan.fmt, [], 0
    for piece in plan.pieces:
        batches.append(fmt.read(piece))
        cost += 2 * fmt.nbytes(batches[-1]) + ITEM_BYTES * fmt.length(batches[-1])
        if cost > plan.budget:
            return None
        bar.advance(fmt.piece_bytes(piece), "1/2")
    return batches[0] if len(batches) == 1 else fmt.concat(batches)


def _shuffle_in_memory(plan, batch, job, dst, num_files, items_per_file, directory, threads, bar):
    """The items of `batch` in the order ctrng.permutation(key, n, start)
    into the output files, gathered a slice of the order at a time (each
    about a sixteenth of the data, in one buffer used again)."""
    fmt, n = plan.fmt, plan.fmt.length(batch)
    check_room(plan.key, plan.start, n)
    order = permutation(plan.key, n, start=plan.start, threads=threads)
    bounds = file_bounds(n, num_files, items_per_file)
    paths = _output_paths(plan, dst, len(bounds) - 1, directory)
    writer = fmt.writer(paths, bounds, None)
    step = max(1, -(-n // IN_MEMORY_SLICES))
    for lo in range(0, n, step):
        writer.write(fmt.take(batch, order[lo:lo + step]))
    writer.close()
    bar.advance(bar.total - bar.n, "2/2")
    job.publish(paths, directory)
    return n


def _run_on_cluster(plan, job, dst, num_files, items_per_file, directory, client, show):
    """The steps as tasks on a Dask cluster (`client`); each task's files
    are synced before they are renamed into place, so a later run may
    resume from any machine."""
    fmt = plan.fmt
    pieces = range(len(plan.pieces))
    firsts = fmt.first_items(plan.pieces)
    shared = _share(plan, "plan-1.pickle")
    if firsts is None:
        counts = _gather(client, client.map(_task, [_count] * len(pieces), [shared] * len(pieces), pieces,
                                            pure=False), show, "count")
        firsts = np.concatenate([[0], np.cumsum(counts)[:-1]]).astype(np.int64).tolist() if counts else []
    sizes = _gather(client, client.map(_task, [scatter_task] * len(pieces), [shared] * len(pieces), pieces, firsts,
                                       durable=True, pure=False), show, "scatter")
    plan.finish(int(sum(sizes)))
    shared = _share(plan, "plan-2.pickle")
    groups = range(len(plan.groups))
    bounds = file_bounds(plan.n, num_files, items_per_file)
    paths = _output_paths(plan, dst, len(bounds) - 1, directory)
    if len(paths) == 1 and hasattr(fmt, "write_into"):  # each group's bytes have a known place: write them there
        prefix = fmt.file_prefix(plan.n)
        if not paths[0].exists():
            with open(paths[0], "wb") as f:
                f.write(prefix)
                f.truncate(len(prefix) + sum(plan.group_bytes))
        offsets = (len(prefix) + np.concatenate([[0], np.cumsum(plan.group_bytes)[:-1]])).tolist()
        _gather(client, client.map(_task, [write_into_task] * len(groups), [shared] * len(groups), groups,
                                   [paths[0]] * len(groups), offsets, pure=False), show, "shuffle")
    else:
        _gather(client, client.map(_task, [part_task] * len(groups), [shared] * len(groups), groups, pure=False),
                show, "shuffle")
        files = range(len(paths))
        _gather(client, client.map(_task, [assemble_task] * len(files), [shared] * len(files),
                                   [bounds] * len(files), files, paths, pure=False), show, "write")
    job.publish(paths, directory)
    return plan.n


def _share(plan, name):
    """Write the plan to the work directory (shared storage) for the tasks
    to read, rather than send it with each of them; returns its path."""
    path = Path(plan.workdir, name)
    tmp = path.with_suffix(".tmp")
    tmp.write_bytes(pickle.dumps(plan))
    _durable_replace(tmp, path, True)
    return str(path)


@functools.lru_cache(maxsize=2)
def _load_plan(path):
    return pickle.loads(Path(path).read_bytes())


def _task(func, plan_path, *args, **kwargs):
    """Run func(plan, *args) on a worker, the plan read from plan_path
    (once per worker process)."""
    return func(_load_plan(plan_path), *args, **kwargs)


def _count(plan, m):
    return plan.fmt.count(plan.pieces[m])


def _gather(client, futures, show, label):
    """The tasks' results in order, with a progress bar over the tasks."""
    if show:
        with tqdm(total=len(futures), file=sys.stderr, desc=f"shuffle {label}", unit="task") as bar:
            for future in futures:
                future.result()
                bar.update(1)
    return client.gather(futures)
