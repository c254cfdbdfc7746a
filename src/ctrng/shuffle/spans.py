"""The byte formats of the dataset shuffle: text lines, fixed-size records
and the rows of ``.npy`` files, held as `Spans` (items back to back in one
buffer).  Lines are never decoded: an item is the bytes up to and including
its ``\\n`` (a ``\\r`` before it stays), an empty line is an item, and a
last line without ``\\n`` gets one."""

from __future__ import annotations

import mmap
import os
import threading
import warnings

import numpy as np

from .._core import bridge
from .._core.checks import check_int
from .dataset import Format
from .jobs import read_exactly, release, source_stat, start_writeback, write_all

__all__ = ["Spans", "SpansFormat"]

# Bytes of the first file read to estimate the mean line length.
_SAMPLE_BYTES = 1 << 16


def _line_start(buf):
    """Offset past the first newline of `buf`, or -1 if it has none."""
    end = np.empty(1, np.uint64)
    return int(end[0]) if bridge.line_ends(buf, end) else -1


class Spans:
    """Items laid end to end: item i is bytes ``ends[i - 1]:ends[i]`` (ends
    uint64, ends[-1] taken as 0), or rows of `width` bytes each.  The bytes
    are one buffer (`buf`, uint8) or, for items mapped from several places
    and never copied together, the buffers `parts`, part p holding the items
    from firsts[p] on."""

    __slots__ = ("parts", "firsts", "ends", "width")

    def __init__(self, buf, ends=None, width=None, firsts=None):
        """`buf` one buffer, or a list of them with `firsts` (ascending, from 0)."""
        if firsts is None:
            self.parts, self.firsts = [buf], np.zeros(1, np.uint64)
        else:
            self.parts, self.firsts = buf or [np.empty(0, np.uint8)], np.asarray(firsts or [0], np.uint64)
        self.ends, self.width = ends, width

    @classmethod
    def joined(cls, batches, width):
        """The items of `batches` in order, their buffers not copied."""
        parts, firsts, ends, items, nbytes = [], [], [], 0, 0
        for batch in batches:
            for part, first in zip(batch.parts, batch.firsts.tolist()):
                if len(part):
                    parts.append(part)
                    firsts.append(items + first)
            if not width:
                ends.append(batch.ends + np.uint64(nbytes))
            items, nbytes = items + len(batch), nbytes + batch.nbytes
        return cls(parts, None if width else np.concatenate(ends or [np.empty(0, np.uint64)]), width, firsts)

    @property
    def buf(self):
        """The bytes, when they are one buffer."""
        if len(self.parts) != 1:  # pragma: no cover - only takes, reads and slices of them get here
            raise ValueError("the items lie in several buffers")
        return self.parts[0]

    @property
    def nbytes(self):
        return sum(part.nbytes for part in self.parts)

    def __len__(self):
        return self.nbytes // self.width if self.width else len(self.ends)

    def bounds(self, lo, hi):
        """Byte range of items lo..hi."""
        if self.width:
            return lo * self.width, hi * self.width
        return (int(self.ends[lo - 1]) if lo else 0), (int(self.ends[hi - 1]) if hi else 0)


def _mapped(fd, offset, length):
    """Bytes offset..offset + length of the open file `fd`, mapped read-only
    (uint8): no copy, and the pages are the page cache's own.  The mapping
    goes when the last view of it does."""
    if length <= 0:
        return np.empty(0, np.uint8)
    skip = offset % mmap.ALLOCATIONGRANULARITY
    return np.frombuffer(mmap.mmap(fd, length + skip, prot=mmap.PROT_READ, offset=offset - skip), np.uint8)[skip:]


def _stat(path):
    st = source_stat(path)
    return st, [os.fspath(path.absolute()), st.st_size, st.st_mtime_ns, st.st_ino, st.st_dev]


class _Buffer(threading.local):
    """The byte buffer a thread's takes reuse from one piece or group to the
    next: a fresh large allocation costs a page fault per page each time, as
    much as copying the bytes (several times more on some virtual machines).
    It is mapped without NumPy's advice to use huge pages, whose first touch
    (zeroing 2 MiB, compacting memory to find them) stalls for long on a
    busy or fragmented machine and buys little for a buffer that is
    streamed through."""

    held = None

    def get(self, nbytes):
        if self.held is None or len(self.held) < nbytes:
            self.held = None  # the old one goes first
            self.held = np.frombuffer(mmap.mmap(-1, max(nbytes, 1)), np.uint8)
        return self.held[:nbytes]


class SpansFormat(Format):
    """Lines (`kind` "lines"), fixed-size records ("records", `record_size`
    bytes each) or ``.npy`` rows ("npy") of the files `sources`, in order;
    `header` keeps the first line of every file out of the items (each file
    must have the same one; it heads every output file)."""

    def __init__(self, kind, sources, record_size=None, header=False):
        self.kind, self.sources = kind, [os.fspath(s) for s in sources]
        self.header, self.width, self.prefix = b"", None, []
        stats = [_stat(s) for s in sources]
        self.sizes = [st.st_size for st, _ in stats]
        self.stamp = [stamp for _, stamp in stats]
        if kind == "lines":
            self.needs_reading = True
            self.no_newline = []
            self.prefix = [0] * len(sources)
            if header:
                self._read_headers()
            self._check_last_lines()
            self.mean_line = self._sample_line_length()
        elif kind == "records":
            if record_size is None:
                raise TypeError("record_size is required for records (format='records')")
            self.width = check_int(record_size, "record_size", 1 << 40, low=1)
            for path, size in zip(self.sources, self.sizes):
                if size % self.width:
                    raise ValueError(f"{path} holds {size} bytes, not a multiple of record_size = {self.width}")
            self.prefix = [0] * len(sources)
            self.rows = [size // self.width for size in self.sizes]
        elif kind == "npy":
            self._read_npy_headers(record_size)
        else:  # pragma: no cover - the callers pass one of the three
            raise ValueError(f"unknown kind {kind!r}")
        self.limit = None
        self.buffer = _Buffer()

    def __getstate__(self):  # sent to Dask workers: without the buffer
        return {k: v for k, v in self.__dict__.items() if k != "buffer"}

    def __setstate__(self, state):
        self.__dict__.update(state, buffer=_Buffer())

    # -- what the sources hold ------------------------------------------------------------
    def _read_headers(self):
        for path, size in zip(self.sources, self.sizes):
            with open(path, "rb") as f:
                line = f.readline(1 << 20)
            if size and not line.endswith(b"\n") and len(line) < size:
                raise ValueError(f"{path}: the header line is longer than 1 MiB")
            if path == self.sources[0]:
                self.header = line if line.endswith(b"\n") or not line else line + b"\n"
            elif line.rstrip(b"\n") != self.header.rstrip(b"\n"):
                raise ValueError(f"{path}: its header line differs from the one of {self.sources[0]}")
            self.prefix.append(len(line))
        self.prefix = self.prefix[len(self.sources):]

    def _check_last_lines(self):
        for path, size, prefix in zip(self.sources, self.sizes, self.prefix):
            if size > prefix:
                with open(path, "rb") as f:
                    f.seek(size - 1)
                    if f.read(1) != b"\n":
                        self.no_newline.append(path)
                        warnings.warn(f"{path}: the last line has no newline; the output gives it one",
                                      stacklevel=4)

    def _sample_line_length(self):
        for path, size, prefix in zip(self.sources, self.sizes, self.prefix):
            if size > prefix:
                with open(path, "rb") as f:
                    f.seek(prefix)
                    sample = f.read(_SAMPLE_BYTES)
                return max(1.0, len(sample) / max(1, sample.count(b"\n")))
        return 1.0

    def _read_npy_headers(self, record_size):
        self.descr, self.rows = None, []
        for path in self.sources:
            try:
                arr = np.load(path, mmap_mode="r")
            except ValueError as e:  # object arrays cannot be mapped
                raise ValueError(f"{path}: {e}") from None
            if arr.ndim == 0:
                raise ValueError(f"{path}: a 0-d array has no axis 0 to shuffle")
            if arr.ndim > 1 and not arr.flags.c_contiguous:
                raise ValueError(f"{path}: Fortran-ordered arrays are not supported (rows are not contiguous)")
            descr = (arr.dtype.str if not arr.dtype.fields else arr.dtype.descr, arr.shape[1:])
            if self.descr is None:
                self.descr, self.dtype, self.row_shape = descr, arr.dtype, arr.shape[1:]
                self.width = arr.dtype.itemsize * int(np.prod(arr.shape[1:], dtype=np.int64))
                if record_size is not None and record_size != self.width:
                    raise ValueError(f"record_size = {record_size}, but the rows of {path} hold {self.width} bytes")
            elif descr != self.descr:
                raise ValueError(f"{path}: its rows ({arr.dtype}, {arr.shape[1:]}) differ from those of "
                                 f"{self.sources[0]} ({self.dtype}, {self.row_shape})")
            if arr.offset + arr.shape[0] * self.width != os.path.getsize(path):
                raise ValueError(f"{path}: the file holds {os.path.getsize(path)} bytes, its header describes "
                                 f"{arr.offset + arr.shape[0] * self.width}")
            self.prefix.append(arr.offset)
            self.rows.append(arr.shape[0])

    def identity(self):
        return {"kind": self.kind, "sources": self.stamp, "width": self.width, "header": self.header.hex()}

    def estimate(self):
        """(items, bytes) of the dataset; for lines, items from the mean
        line length of a sample."""
        data = sum(size - prefix for size, prefix in zip(self.sizes, self.prefix))
        if self.kind != "lines":
            return sum(self.rows), data
        data += len(self.no_newline)
        return int(data / self.mean_line) + 1, data

    def disk_bytes(self):
        return self.estimate()[1]

    def suffix(self):
        return os.path.splitext(self.sources[0])[1] if self.sources else ""

    # -- pieces -----------------------------------------------------------------------------
    def pieces(self, budget):
        """Runs of about `budget` bytes: (file, first, end) where first..end
        is a byte range (lines: the lines that start in it) or a range of
        rows."""
        self.limit = budget
        if self.width == 0:
            raise ValueError(f"{self.sources[0]}: rows of 0 bytes have nothing to shuffle in several files")
        out = []
        for f, (size, prefix) in enumerate(zip(self.sizes, self.prefix)):
            if self.width:
                rows, step = (size - prefix) // self.width, max(1, budget // self.width)
                out.extend((f, lo, min(rows, lo + step)) for lo in range(0, rows, step))
            else:
                out.extend((f, lo, min(size, lo + budget)) for lo in range(prefix, size, budget))
        return out

    def piece_bytes(self, piece):
        f, lo, hi = piece
        return (hi - lo) * (self.width or 1)

    def first_items(self, pieces):
        if not self.width:
            return None
        firsts, total = [], 0
        for f, lo, hi in pieces:
            firsts.append(total)
            total += hi - lo
        return firsts

    def count(self, piece):
        return len(self.read(piece))

    def read(self, piece):
        """The piece's items, mapped from the file."""
        f, lo, hi = piece
        path = self.sources[f]
        fd = os.open(path, os.O_RDONLY)
        try:
            if self.width:
                return Spans(_mapped(fd, self.prefix[f] + lo * self.width, (hi - lo) * self.width), width=self.width)
            return self._read_lines(fd, path, self.sizes[f], self.prefix[f], lo, hi)
        finally:
            os.close(fd)

    def _read_lines(self, fd, path, size, prefix, begin, end):
        """The lines whose first byte is in [begin, end): from the first
        line start there to the newline that ends the last one."""
        at = begin - 1 if begin > prefix else begin  # the byte before tells whether `begin` starts a line
        length = end - at
        view = _mapped(fd, at, min(size, end + self.limit) - at)  # and as far as its last line may run on
        first = 0
        if begin > prefix:
            first = _line_start(view[:length - 1])  # a newline at begin - 1 .. end - 2 starts a line here
            if first < 0:
                return Spans(view[:0], np.empty(0, np.uint64))
        count = bridge.line_ends(view[first:length], None)
        ends = np.empty(count + 1, np.uint64)
        bridge.line_ends(view[first:length], ends)
        tail = first + (int(ends[count - 1]) if count else 0)
        if tail == length:
            return Spans(view[first:length], ends[:count])
        # the last line runs past `end`, or the file ends without a newline
        found = _line_start(view[length:])
        stop = length + found if found >= 0 else len(view)
        if stop - tail > self.limit or (found < 0 and at + len(view) < size):
            raise ValueError(f"{path}: the line at byte {at + tail} is longer than {self.limit} bytes, "
                             f"the most the memory budget allows (raise memory)")
        ends[count] = stop - first
        if found >= 0:
            return Spans(view[first:stop], ends)
        buf = np.empty(stop - first + 1, np.uint8)  # the file's last line, given the newline it lacks
        buf[:-1] = view[first:stop]
        buf[-1] = ord("\n")
        ends[count] += 1
        return Spans(buf, ends)

    # -- batches ------------------------------------------------------------------------------
    @staticmethod
    def length(batch):
        return len(batch)

    @staticmethod
    def nbytes(batch):
        return batch.buf.nbytes

    def take(self, batch, order):
        """The items at `order`, in the buffer the next take reuses."""
        if batch.width:
            nbytes = len(order) * batch.width
        elif len(order) == len(batch):
            nbytes = batch.bounds(0, len(batch))[1]
        else:
            nbytes = int((batch.ends[order] - np.where(order > 0, batch.ends[order - 1], 0).astype(np.uint64)).sum())
        buf = self.buffer.get(nbytes)
        ends = None if batch.width else np.empty(len(order), np.uint64)
        bridge.gather_spans(batch.parts, batch.firsts, batch.ends, batch.width, order, buf, ends)
        return Spans(buf, ends, batch.width)

    def concat(self, batches):
        return Spans.joined(batches, self.width)

    @staticmethod
    def slice(batch, lo, hi):
        a, b = batch.bounds(lo, hi)
        return Spans(batch.buf[a:b], None if batch.width else batch.ends[lo:hi] - np.uint64(a), batch.width)

    # -- spill and part files ----------------------------------------------------------------
    def write_spill(self, path, batch, words, counts):
        """[data][words as uint32][item lengths as uint32, lines only]."""
        items = np.zeros(len(counts) + 1, np.int64)
        np.cumsum(counts, out=items[1:])
        if batch.width:
            byte_bounds = items * batch.width
        else:
            ends = np.concatenate([[0], batch.ends]).astype(np.int64)
            byte_bounds = ends[items]
        with open(path, "wb") as f:
            f.write(batch.buf)
            f.write(words)
            if not batch.width:
                f.write(np.diff(np.concatenate([[0], batch.ends])).astype(np.uint32))
        return byte_bounds

    def read_spill(self, spills, pa, pb):
        items = sum(int(i[pb] - i[pa]) for _, i, _ in spills)
        words = np.empty(items, np.uint32)
        lengths = None if self.width else np.empty(items, np.uint32)
        parts, firsts, at_item = [], [], 0
        for path, i, b in spills:
            k = int(i[pb] - i[pa])
            if not k:
                continue
            fd = os.open(path, os.O_RDONLY)
            try:
                parts.append(_mapped(fd, int(b[pa]), int(b[pb] - b[pa])))
                read_exactly(fd, int(b[-1]) + 4 * int(i[pa]), words[at_item:at_item + k])
                if lengths is not None:
                    read_exactly(fd, int(b[-1]) + 4 * int(i[-1]) + 4 * int(i[pa]), lengths[at_item:at_item + k])
            finally:
                os.close(fd)
            firsts.append(at_item)
            at_item += k
        ends = None if self.width else np.cumsum(lengths, dtype=np.uint64)
        return Spans(parts, ends, self.width, firsts), words

    def release_spill(self, spills, pa, pb):
        """Give back the disk and page cache of the sections of partitions
        [pa, pb), once their items are safely in the output."""
        for path, i, b in spills:
            fd = os.open(path, os.O_WRONLY)
            try:
                release(fd, int(b[pa]), int(b[pb] - b[pa]))
                release(fd, int(b[-1]) + 4 * int(i[pa]), 4 * int(i[pb] - i[pa]))
                if not self.width:
                    release(fd, int(b[-1]) + 4 * int(i[-1]) + 4 * int(i[pa]), 4 * int(i[pb] - i[pa]))
            finally:
                os.close(fd)

    def write_part(self, path, batch):
        """[item count as uint64][ends as uint64, lines only][data]."""
        with open(path, "wb") as f:
            f.write(np.uint64(len(batch)).tobytes())
            if not batch.width:
                f.write(batch.ends)
            f.write(batch.buf)

    def write_into(self, path, offset, batch):
        """Write the items at `offset` of the output file `path`, synced."""
        fd = os.open(path, os.O_WRONLY)
        try:
            write_all(fd, offset, batch.buf)
            os.fsync(fd)
        finally:
            os.close(fd)

    def read_part(self, path, lo, hi):
        fd = os.open(path, os.O_RDONLY)
        try:
            head = np.empty(1, np.uint64)
            read_exactly(fd, 0, head)
            n = int(head[0])
            data = 8 + (0 if self.width else 8 * n)
            if self.width:
                buf = np.empty((hi - lo) * self.width, np.uint8)
                read_exactly(fd, data + lo * self.width, buf)
                return Spans(buf, width=self.width)
            ends = np.empty(hi - lo + (lo > 0), np.uint64)
            read_exactly(fd, 8 + 8 * (lo - (lo > 0)), ends)
            a = int(ends[0]) if lo else 0
            ends = ends[1:] if lo else ends
            buf = np.empty(int(ends[-1]) - a if len(ends) else 0, np.uint8)
            read_exactly(fd, data + a, buf)
            return Spans(buf, ends - np.uint64(a))
        finally:
            os.close(fd)

    # -- output ------------------------------------------------------------------------------
    def output_names(self, count):
        return [f"shard-{k:05d}-of-{count:05d}{self.suffix()}" for k in range(count)]

    def writer(self, paths, bounds, state):
        return _SpansWriter(self, paths, bounds, state)

    def file_prefix(self, rows):
        """What heads an output file of `rows` items: the header line, or the
        .npy header for that many rows."""
        if self.kind != "npy":
            return self.header
        import io

        out = io.BytesIO()
        np.lib.format.write_array_header_2_0(out, {"descr": np.lib.format.dtype_to_descr(self.dtype),
                                                   "fortran_order": False, "shape": (rows, *self.row_shape)})
        return out.getvalue()


class _SpansWriter:
    """Items in order into the files `paths`, file k holding items
    bounds[k]..bounds[k + 1], each headed by the format's prefix."""

    def __init__(self, fmt, paths, bounds, state):
        self.fmt, self.paths, self.bounds = fmt, paths, bounds
        self.k, self.items, self.fd, self.offset = 0, 0, None, 0
        if state is not None:
            self.k, self.items, self.offset = state["file"], state["items"], state["offset"]
            if self.k < len(paths):
                self.fd = os.open(paths[self.k], os.O_WRONLY | os.O_CREAT, 0o644)
                os.ftruncate(self.fd, self.offset)

    def _open_next(self):
        """Start file k (also when it gets no items)."""
        self.fd = os.open(self.paths[self.k], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        prefix = self.fmt.file_prefix(self.bounds[self.k + 1] - self.bounds[self.k])
        write_all(self.fd, 0, np.frombuffer(prefix, np.uint8))
        self.offset, self.items = len(prefix), 0

    def _close_file(self):
        os.fsync(self.fd)
        os.close(self.fd)
        self.fd = None
        self.k += 1

    def write(self, batch):
        lo, n = 0, len(batch)
        while lo < n:  # files that get no items are made by close()
            if self.fd is None:
                self._open_next()
            room = self.bounds[self.k + 1] - self.bounds[self.k] - self.items
            take = min(room, n - lo)
            a, b = batch.bounds(lo, lo + take)
            write_all(self.fd, self.offset, batch.buf[a:b])
            start_writeback(self.fd, self.offset, b - a)
            self.offset += b - a
            self.items += take
            lo += take
            if self.items == self.bounds[self.k + 1] - self.bounds[self.k]:
                self._close_file()

    def checkpoint(self, restart):
        return {"restart": restart, "skip": 0, "file": self.k, "items": self.items, "offset": self.offset}

    def close(self):
        if self.fd is not None:
            self._close_file()
        while self.k < len(self.paths):  # files with no items
            self._open_next()
            self._close_file()
