"""The rows of Parquet files, shuffled out of core by the dataset engine
(``dataset.py``): a batch is a ``pyarrow.Table``, spill and part files are
Arrow IPC files, and the output is a directory of Parquet files with the
sources' schema.

pyarrow is an optional dependency (``pip install "ctrng[parquet]"``): it is
imported when `shuffle_parquet` is called, never by ``import ctrng``.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from .._core.checks import check_int
from ..key import check_key
from .dataset import Format, check_destination, resolve_sources, shuffle_dataset
from .permutation import MAX_ITEMS
from .spans import _stat

__all__ = ["ParquetFormat", "shuffle_parquet"]

# Rows read from the first row group to measure the bytes a row takes in memory.
_SAMPLE_ROWS = 1 << 14
# Read buffer when a piece is a part of a row group (the rows before it are
# decoded and dropped, so the reader streams instead of loading the chunk).
_STREAM_BUFFER = 1 << 20
# The name of the column of permutation words in spill files (dropped when read).
_WORDS = "__ctrng_word__"


def _pyarrow():
    """pyarrow and pyarrow.parquet, or an ImportError that says how to get them."""
    try:
        import pyarrow
        import pyarrow.parquet
    except ImportError as e:
        raise ImportError('ctrng.shuffle_parquet needs pyarrow: pip install "ctrng[parquet]"') from e
    return pyarrow, pyarrow.parquet


def shuffle_parquet(src, dst, *, key, start=0, memory=None, rows_per_file=None, num_shards=None,
                    row_group_size=None, compression="snappy", overwrite=False, threads=None, progress=None,
                    client=None):
    """Write the rows of the Parquet files `src` to a directory `dst` of
    Parquet files in the order of ``ctrng.permutation(key, n, start)``,
    using about `memory` bytes: row j of the output (the files concatenated
    in name order) is row p[j] of the input (the sources concatenated).

    Parameters
    ----------
    src : path, glob pattern, directory or list of paths
        The dataset: its files in order (a directory's ``*.parquet`` files
        and a glob's matches in sorted name order); rows are numbered across
        them.  Every file must have the schema of the first one (names,
        types and nullability); the output has the first file's schema,
        with its metadata and its fields' metadata.
    dst : path
        A directory that gets the files ``part-00000.parquet``, ... : as
        many as there are sources (near-equal slices of the output) unless
        `rows_per_file` or `num_shards` says otherwise.
    key : ctrng.Key
        The permutation's key; `start` is its first 32-bit word.
    memory : int or str
        Budget for the data in memory, e.g. ``"512M"`` (default: a quarter
        of RAM); rows are read a row group (or a part of one) at a time.
    rows_per_file : int
        Files of this many rows (the last one shorter).
    num_shards : int
        Exactly K files, file k holding the k-th contiguous slice of the
        permuted rows (rows n * k // K .. n * (k + 1) // K), so that rank k
        of K reads its own.  Not with `rows_per_file`.
    row_group_size : int
        Rows per row group of the output files (the last of each file
        shorter; the writer holds that many rows).  Default: one row group
        per step of the shuffle and file, as pyarrow cuts it.
    compression : str or None
        The Parquet codec of the output ("snappy", "zstd", "gzip", "brotli",
        "lz4", "none" or None), or a dict of them per column, as pyarrow's
        ParquetWriter takes it.
    overwrite : bool
        Replace an existing `dst`.
    threads : int
        Threads for the bucket shuffles (pyarrow reads and writes with its
        own pool).
    progress : bool
        Show a progress bar (default: when stderr is a terminal).
    client : dask.distributed.Client
        Run the work as tasks on this Dask cluster, whose workers must see
        `src` and `dst` at the same paths (a shared filesystem).

    Returns the number of rows.  Raises ImportError (no pyarrow),
    FileNotFoundError (a missing source, a glob that matches nothing),
    FileExistsError (`dst` exists and not `overwrite`), ValueError (a file
    that is not Parquet, is truncated or has another schema, named in the
    message; `dst` is or holds a source; a budget too small; both
    `rows_per_file` and `num_shards`), TypeError or OSError (too little free
    disk) before writing anything; sources are only read.

    The work goes through spill files (Arrow IPC, uncompressed) in a work
    directory beside `dst` (``.DST.<hash>.work``): free disk for the data
    as it is in memory, and for the output.  An error (a corrupt page found
    when it is read), SIGINT or SIGTERM deletes the work files; a run that
    is killed (SIGKILL, a crash) leaves them, and the same call again (same
    sources, unmodified, and parameters) resumes where it stopped, from the
    start of the output file it was writing, with the same result as an
    uninterrupted run.  `dst` appears only when complete.

    Examples
    --------
    >>> import ctrng, os, tempfile
    >>> import pyarrow as pa, pyarrow.parquet as pq
    >>> d = tempfile.mkdtemp()
    >>> table = pa.table({"x": range(1000), "s": [str(i) for i in range(1000)]})
    >>> pq.write_table(table, os.path.join(d, "a.parquet"), row_group_size=100)
    >>> key = ctrng.Key(7)
    >>> ctrng.shuffle_parquet(os.path.join(d, "a.parquet"), os.path.join(d, "out"), key=key, num_shards=2)
    1000
    >>> sorted(os.listdir(os.path.join(d, "out")))
    ['part-00000.parquet', 'part-00001.parquet']
    >>> out = pq.read_table(os.path.join(d, "out"))
    >>> out.equals(table.take(ctrng.permutation(key, 1000)))
    True
    """
    _pyarrow()
    check_key(key)
    start = check_int(start, "start", 2 * MAX_ITEMS)
    if rows_per_file is not None and num_shards is not None:
        raise ValueError("pass rows_per_file or num_shards, not both")
    if rows_per_file is not None:
        rows_per_file = check_int(rows_per_file, "rows_per_file", MAX_ITEMS + 1, low=1)
    if num_shards is not None:
        num_shards = check_int(num_shards, "num_shards", 1 << 20, low=1)
    if row_group_size is not None:
        row_group_size = check_int(row_group_size, "row_group_size", 1 << 40, low=1)
    sources = resolve_sources(src, suffixes={".parquet"})
    dst = check_destination(dst, sources, overwrite)
    fmt = ParquetFormat(sources, compression, row_group_size)
    num_files = None if rows_per_file is not None else num_shards or len(sources)
    return shuffle_dataset(fmt, dst, key=key, start=start, memory=memory, overwrite=overwrite, threads=threads,
                           progress=progress, client=client, num_files=num_files, items_per_file=rows_per_file,
                           directory=True)


def _check_compression(compression, schema):
    """`compression` as ParquetWriter takes it, tried on an empty file."""
    import io

    pa, pq = _pyarrow()
    if compression is not None and not isinstance(compression, (str, dict)):
        raise TypeError(f"compression must be a codec name, a dict of them or None, not "
                        f"{type(compression).__name__}")
    try:
        pq.ParquetWriter(io.BytesIO(), schema, compression=compression).close()
    except (ValueError, TypeError, pa.ArrowException) as e:
        raise ValueError(f"compression = {compression!r}: {e}") from None
    return compression


class ParquetFormat(Format):
    """The rows of the Parquet files `sources`, in order (the `dataset.Format`
    protocol); the output files are written with `compression` and row
    groups of `row_group_size` rows.

    A piece is (file, first row group, end row group, first row, end row),
    the rows counted from the first row group's start: a run of whole row
    groups, or a part of one row group too large for the budget."""


    # Decoding and encoding Parquet pages, and pyarrow's allocator, take about as much memory again as
    # the rows they hold (peak RSS measured at budgets of 24 to 64 MB).
    data_share = 0.5

    def __init__(self, sources, compression="snappy", row_group_size=None):
        self.sources = [os.fspath(s) for s in sources]
        self.row_group_size = row_group_size
        self.stamp, self.sizes, self.group_rows, self.group_bytes = [], [], [], []
        self.schema = None
        for path in self.sources:
            st, stamp = _stat(Path(path))
            self.stamp.append(stamp)
            self.sizes.append(st.st_size)
            pf = _open(path)
            meta = pf.metadata
            schema = pf.schema_arrow
            if self.schema is None:
                self.schema = schema
            elif not schema.equals(self.schema, check_metadata=False):
                raise ValueError(f"{path}: its schema differs from the one of {self.sources[0]} (column names, "
                                 f"types and nullability must be the same): {_schema_diff(self.schema, schema)}")
            groups = [meta.row_group(g) for g in range(meta.num_row_groups)]
            self.group_rows.append([g.num_rows for g in groups])
            self.group_bytes.append([g.total_byte_size for g in groups])
        self.compression = _check_compression(compression, self.schema)
        self.row_bytes, self.ratio = self._sample()
        self.total_rows = sum(map(sum, self.group_rows))
        self.total_bytes = int(sum(self._group_estimate(f, g) for f, rows in enumerate(self.group_rows)
                                   for g in range(len(rows))))

    def _sample(self):
        """Bytes in memory of a row, and their ratio to the bytes the footer
        gives (uncompressed), measured on the first rows of the first row
        group that has any."""
        pa, _ = _pyarrow()
        for f, rows in enumerate(self.group_rows):
            for g, count in enumerate(rows):
                if count:
                    pf = _open(self.sources[f], _STREAM_BUFFER)
                    try:
                        batch = next(pf.iter_batches(batch_size=min(count, _SAMPLE_ROWS), row_groups=[g]))
                    except (OSError, pa.ArrowException) as e:
                        raise _read_error(self.sources[f], e) from None
                    per_row = max(1.0, batch.nbytes / max(1, batch.num_rows))
                    listed = self.group_bytes[f][g] / count
                    return per_row, per_row / listed if listed > 0 else None
        return 1.0, None

    def _group_estimate(self, f, g):
        """Bytes in memory of row group g of file f, about: its uncompressed
        bytes scaled as the sample's were, or its rows times the sample's."""
        listed = self.group_bytes[f][g]
        if self.ratio is None or listed <= 0:
            return self.group_rows[f][g] * self.row_bytes
        return listed * self.ratio

    def identity(self):
        return {"kind": "parquet", "sources": self.stamp, "compression": self.compression,
                "row_group_size": self.row_group_size}

    def estimate(self):
        """(rows, bytes in memory), the rows exact (from the footers)."""
        return self.total_rows, self.total_bytes

    def disk_bytes(self):
        """The larger of the sources' bytes and the data's bytes in memory (a
        spill file holds the data uncompressed)."""
        return max(sum(self.sizes), self.estimate()[1])

    # -- pieces -----------------------------------------------------------------------------
    def pieces(self, budget):
        """Runs of whole row groups of about `budget` bytes, and parts of row
        groups larger than that."""
        out = []
        for f, rows in enumerate(self.group_rows):
            g = 0
            while g < len(rows):
                if self._group_estimate(f, g) > budget:
                    step = max(1, int(budget * rows[g] / self._group_estimate(f, g)))
                    out.extend((f, g, g + 1, lo, min(rows[g], lo + step)) for lo in range(0, rows[g], step))
                    g += 1
                    continue
                end, total = g, 0
                while end < len(rows) and total + self._group_estimate(f, end) <= budget:
                    total += self._group_estimate(f, end)
                    end += 1
                out.append((f, g, end, 0, sum(rows[g:end])))
                g = end
        return out

    def piece_bytes(self, piece):
        """The piece's share of disk_bytes() (by its rows)."""
        lo, hi = piece[3:]
        return self.disk_bytes() * (hi - lo) // max(1, self.total_rows)

    def first_items(self, pieces):
        firsts, total = [], 0
        for f, g0, g1, lo, hi in pieces:
            firsts.append(total)
            total += hi - lo
        return firsts

    def count(self, piece):
        return piece[4] - piece[3]

    def read(self, piece):
        pa, _ = _pyarrow()
        pa.default_memory_pool().release_unused()  # what earlier tasks freed, back to the system
        f, g0, g1, lo, hi = piece
        path = self.sources[f]
        try:
            if lo == 0 and hi == sum(self.group_rows[f][g0:g1]):
                table = _open(path).read_row_groups(list(range(g0, g1)))
            else:  # a part of one row group: stream it, keeping rows lo..hi
                batches, at = [], 0
                step = min(hi - lo, _SAMPLE_ROWS)
                for batch in _open(path, _STREAM_BUFFER).iter_batches(batch_size=step, row_groups=[g0]):
                    a, b = max(lo - at, 0), min(hi - at, batch.num_rows)
                    if a < b:
                        batches.append(batch.slice(a, b - a))
                    at += batch.num_rows
                    if at >= hi:
                        break
                table = pa.Table.from_batches(batches) if batches else self.schema.empty_table()
        except (OSError, pa.ArrowException) as e:
            raise _read_error(path, e) from None
        if table.num_rows != hi - lo:
            raise ValueError(f"{path}: row groups {g0}..{g1 - 1} hold {table.num_rows} rows, the footer says "
                             f"{hi - lo}")
        return self._bind(table)

    def _bind(self, table):
        """`table` with the first file's schema (its metadata)."""
        pa, _ = _pyarrow()
        return pa.Table.from_arrays(table.columns, schema=self.schema)

    # -- batches ------------------------------------------------------------------------------
    @staticmethod
    def length(batch):
        return batch.num_rows

    @staticmethod
    def nbytes(batch):
        return batch.nbytes

    @staticmethod
    def take(batch, order):
        return batch.take(order)

    @staticmethod
    def slice(batch, lo, hi):
        return batch.slice(lo, hi - lo)

    def concat(self, batches):
        pa, _ = _pyarrow()
        return pa.concat_tables(batches) if batches else self._bind(self.schema.empty_table())

    # -- spill and part files ----------------------------------------------------------------
    def write_spill(self, path, batch, words, counts):
        """An Arrow IPC file of the rows and, as a last column, their words;
        returns the bytes in memory of the rows before each partition."""
        pa, _ = _pyarrow()
        items = np.zeros(len(counts) + 1, np.int64)
        np.cumsum(counts, out=items[1:])
        ends = np.zeros(batch.num_rows + 1, np.int64)
        np.cumsum(_row_bytes(batch), out=ends[1:])
        _write_ipc(path, batch.append_column(pa.field(_WORDS, pa.uint32()), pa.array(words, pa.uint32())))
        return ends[items]

    def read_spill(self, spills, pa_, pb):
        pa, _ = _pyarrow()
        pa.default_memory_pool().release_unused()
        parts = []
        for path, items, _ in spills:
            a, b = int(items[pa_]), int(items[pb])
            if a < b:
                parts.append(_read_ipc(path).slice(a, b - a))
        if not parts:
            return self._bind(self.schema.empty_table()), np.empty(0, np.uint32)
        table = pa.concat_tables(parts)
        words = table.column(table.num_columns - 1).to_numpy().astype(np.uint32, copy=False)
        return self._bind(table.remove_column(table.num_columns - 1)), words

    def write_part(self, path, batch):
        _write_ipc(path, batch)

    def read_part(self, path, lo, hi):
        return self._bind(_read_ipc(path).slice(lo, hi - lo))

    # -- output ------------------------------------------------------------------------------
    @staticmethod
    def output_names(count):
        return [f"part-{k:05d}.parquet" for k in range(count)]

    def writer(self, paths, bounds, state):
        return _ParquetWriter(self, paths, bounds, state)


class _ParquetWriter:
    """Rows in order into the Parquet files `paths`, file k holding rows
    bounds[k]..bounds[k + 1] (every file is written, with no rows if it gets
    none).  A Parquet file cannot be appended to, so a resumed run rewrites
    the file it was writing from its first row: the checkpoint names the
    group of the shuffle in which that file began, and how many rows of the
    group went to the files before it."""

    def __init__(self, fmt, paths, bounds, state):
        self.fmt, self.paths, self.bounds = fmt, paths, bounds
        self.k, self.out, self.items, self.pending = 0, None, 0, []
        self.row = 0  # the next row to write
        self.group, self.group_first = 0, 0  # the group the next write() is from, and its first row
        if state is not None:
            self.k, self.group = state["file"], state["restart"]
            self.row = bounds[min(self.k, len(paths))]
            self.group_first = self.row - state["skip"]
        self.file_group, self.file_skip = self.group, 0

    def _size(self):
        return self.bounds[self.k + 1] - self.bounds[self.k]

    def _open(self):
        _, pq = _pyarrow()
        self.out = pq.ParquetWriter(self.paths[self.k], self.fmt.schema, compression=self.fmt.compression)
        self.items, self.pending = 0, []
        self.file_group, self.file_skip = self.group, self.bounds[self.k] - self.group_first

    def _flush(self, final):
        """Write the pending rows, in row groups of row_group_size rows (all
        of them if `final`)."""
        pa, _ = _pyarrow()
        size = self.fmt.row_group_size
        held = sum(t.num_rows for t in self.pending)
        if not self.pending or size is not None and held < size and not final:
            return
        table = pa.concat_tables(self.pending)
        keep = held if final or size is None else held - held % size
        if keep:
            self.out.write_table(table.slice(0, keep), row_group_size=size)
        self.pending = [table.slice(keep)] if keep < held else []

    def _close_file(self):
        self._flush(final=True)
        self.out.close()
        self.out = None
        fd = os.open(self.paths[self.k], os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
        self.k += 1

    def write(self, batch):
        pa, _ = _pyarrow()
        lo, n = 0, batch.num_rows
        while self.k < len(self.paths):
            if self.out is None and (lo < n or self._size() == 0):
                self._open()
            if self.out is None:
                break
            take = min(self._size() - self.items, n - lo)
            if take:
                self.pending.append(batch.slice(lo, take))
                self._flush(final=False)
            lo, self.items = lo + take, self.items + take
            if self.items == self._size():
                self._close_file()
            elif lo == n:
                break
        self.row += n
        if self.pending:  # rows held for the next row group: copied, so that `batch` can go
            held = pa.concat_tables(self.pending)
            self.pending = [held.take(np.arange(held.num_rows))]

    def checkpoint(self, restart):
        """After the group before `restart`: where a resumed run starts."""
        self.group, self.group_first = restart, self.row
        if self.out is None:  # between files: the next one starts with group `restart`
            return {"restart": restart, "skip": 0, "file": self.k}
        return {"restart": self.file_group, "skip": self.file_skip, "file": self.k}

    def close(self):
        if self.out is not None:
            self._close_file()
        while self.k < len(self.paths):  # files with no rows
            self._open()
            self._close_file()


# -- helpers --------------------------------------------------------------------------------
def _open(path, buffer_size=0):
    """pyarrow's ParquetFile of `path`, its footer read; a ValueError naming
    the file where it is not Parquet or is truncated."""
    pa, pq = _pyarrow()
    try:
        return pq.ParquetFile(path, buffer_size=buffer_size)
    except (OSError, pa.ArrowException) as e:
        if isinstance(e, FileNotFoundError):
            raise
        raise ValueError(f"{path} is not a readable Parquet file (truncated or corrupt?): {e}") from None


def _read_error(path, e):
    return ValueError(f"{path}: a corrupt Parquet file: {type(e).__name__}: {e}")


def _schema_diff(first, other):
    """The first differing column of two schemas, in words."""
    for a, b in zip(first, other):
        if not a.equals(b):
            return f"{_column(a)} in the first file, {_column(b)} in this one"
    return f"{len(first)} columns in the first file, {len(other)} in this one"


def _column(field):
    return f"{field.name!r}: {field.type}{'' if field.nullable else ' not null'}"


def _write_ipc(path, table):
    """`table` to an Arrow IPC file (dictionaries unified: the file format
    takes one dictionary per column)."""
    pa, _ = _pyarrow()
    options = pa.ipc.IpcWriteOptions(unify_dictionaries=True)
    with pa.OSFile(os.fspath(path), "wb") as sink, pa.ipc.new_file(sink, table.schema, options=options) as out:
        out.write_table(table)


def _read_ipc(path):
    """The table of an Arrow IPC file, mapped, not read."""
    pa, _ = _pyarrow()
    return pa.ipc.open_file(pa.memory_map(os.fspath(path))).read_all()


def _row_bytes(table):
    """The bytes in memory of each row (int64): offsets, values, children; a
    dictionary column's indices only (its dictionary is shared)."""
    out = np.zeros(table.num_rows, np.int64)
    for column in table.columns:
        at = 0
        for chunk in column.chunks:
            out[at:at + len(chunk)] += _array_row_bytes(chunk)
            at += len(chunk)
    return out


def _array_row_bytes(arr):
    pa, _ = _pyarrow()
    t, n = arr.type, len(arr)
    if pa.types.is_dictionary(t):
        return _array_row_bytes(arr.indices)
    if pa.types.is_binary(t) or pa.types.is_string(t) or pa.types.is_large_binary(t) or pa.types.is_large_string(t):
        width = 8 if pa.types.is_large_binary(t) or pa.types.is_large_string(t) else 4
        if not n:
            return np.zeros(0, np.int64)
        offsets = np.frombuffer(arr.buffers()[1], np.int64 if width == 8 else np.int32)[arr.offset:arr.offset + n + 1]
        return width + np.diff(offsets.astype(np.int64))
    if pa.types.is_list(t) or pa.types.is_large_list(t) or pa.types.is_map(t):
        offsets = arr.offsets.to_numpy().astype(np.int64)
        child = np.zeros(len(arr.values) + 1, np.int64)
        np.cumsum(_array_row_bytes(arr.values), out=child[1:])
        return (8 if pa.types.is_large_list(t) else 4) + child[offsets[1:]] - child[offsets[:-1]]
    if pa.types.is_fixed_size_list(t):
        return _array_row_bytes(arr.flatten()).reshape(n, t.list_size).sum(axis=1) if n else np.zeros(0, np.int64)
    if pa.types.is_struct(t):
        return sum((_array_row_bytes(child) for child in arr.flatten()), np.zeros(n, np.int64))
    try:
        width = (t.bit_width + 7) // 8
    except ValueError:  # other layouts: the mean
        width = -(-arr.nbytes // max(n, 1))
    return np.full(n, width, np.int64)
