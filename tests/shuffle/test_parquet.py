"""ctrng.shuffle_parquet: the output files, concatenated in name order,
are the input rows taken in the order of ctrng.permutation (the sources'
schema and metadata kept), whatever the budget, the pieces (whole row
groups or parts of one) and the groups; files of rows_per_file rows or
num_shards slices; the writer's codec and row groups; bad input fails
before any output; a killed run resumes to the same rows; ``import ctrng``
does not load pyarrow."""

import json
import os
import signal
import subprocess
import sys

import numpy as np
import pytest

import ctrng
from ctrng.shuffle import dataset
from ctrng.shuffle.parquet import ParquetFormat

pa = pytest.importorskip("pyarrow")
pq = pytest.importorskip("pyarrow.parquet")
pc = pytest.importorskip("pyarrow.compute")

KEY = ctrng.Key(11, rank=2)
N = 80000  # 4 buckets of the permutation: enough for several groups


def make_table(n, seed=0):
    """Ten columns of mixed types, with nulls, a list, timestamps, a
    dictionary column, and schema and field metadata."""
    rng = np.random.default_rng(seed)
    words = np.array(["", "a", "bb", "ccc ddd", "\u00e9t\u00e9", "x" * 40])
    nulls = rng.random(n) < 0.1
    lengths = rng.integers(0, 5, n)
    offsets = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int32)
    values = pa.array(rng.integers(-1000, 1000, int(lengths.sum())).astype(np.int32))
    blobs = np.concatenate([[0], np.cumsum(rng.integers(0, 12, n))])
    fields = [
        pa.field("id", pa.int64(), nullable=False),
        pa.field("x", pa.float64()),
        pa.field("name", pa.string(), metadata={"doc": "a name", "unit": "none"}),
        pa.field("tag", pa.dictionary(pa.int32(), pa.string())),
        pa.field("vals", pa.list_(pa.int32())),
        pa.field("ts", pa.timestamp("us", tz="UTC")),
        pa.field("flag", pa.bool_()),
        pa.field("small", pa.int8()),
        pa.field("day", pa.date32()),
        pa.field("blob", pa.binary(), metadata={"encoding": "raw"}),
    ]
    columns = [
        pa.array(np.arange(n, dtype=np.int64)),
        pa.array(rng.normal(size=n), mask=nulls),
        pc.if_else(pa.array(rng.random(n) < 0.05), None, pa.array(words).take(rng.integers(0, len(words), n))),
        pa.array(["red", "green", "blue", "a longer tag"]).take(rng.integers(0, 4, n)).dictionary_encode(),
        pa.ListArray.from_arrays(offsets, values, mask=pa.array(rng.random(n) < 0.1)),
        pa.array(rng.integers(0, 2 ** 50, n), pa.timestamp("us", tz="UTC")),
        pa.array(rng.random(n) < 0.5),
        pa.array(rng.integers(-128, 128, n).astype(np.int8)),
        pa.array(rng.integers(0, 30000, n).astype(np.int32), pa.date32()),
        pa.BinaryArray.from_buffers(pa.binary(), n, [None, pa.py_buffer(blobs.astype(np.int32)),
                                                     pa.py_buffer(rng.integers(0, 256, blobs[-1], np.uint8))]),
    ]
    schema = pa.schema(fields, metadata={"origin": "test_parquet", "rows": str(n)})
    return pa.Table.from_arrays(columns, schema=schema)


@pytest.fixture(scope="module")
def table():
    return make_table(N)


def write_parts(table, folder, cuts, row_group_size=5000, **kwargs):
    """The table's rows cut at `cuts` into folder/in-000.parquet, ..."""
    folder.mkdir(exist_ok=True)
    edges = [0, *cuts, table.num_rows]
    paths = []
    for i, (a, b) in enumerate(zip(edges[:-1], edges[1:])):
        paths.append(folder / f"in-{i:03d}.parquet")
        pq.write_table(table.slice(a, b - a), paths[-1], row_group_size=row_group_size, **kwargs)
    return paths


def decoded(table):
    """The table with dictionary columns as their values (dictionaries
    differ with the chunking, so equal tables may not compare equal)."""
    columns = [c.cast(c.type.value_type) if pa.types.is_dictionary(c.type) else c for c in table.columns]
    return pa.Table.from_arrays(columns, names=table.column_names)


def oracle(sources, key=KEY, start=0):
    inputs = pa.concat_tables([pq.read_table(p) for p in sources])
    return inputs.take(ctrng.permutation(key, inputs.num_rows, start=start)), inputs.schema


def outputs(dst):
    return [pq.read_table(dst / name) for name in sorted(os.listdir(dst))]


def assert_shuffled(dst, sources, key=KEY, start=0):
    want, schema = oracle(sources, key, start)
    files = outputs(dst)
    for part in files:
        assert part.schema.equals(schema, check_metadata=True)
        assert part.schema.field("name").metadata == {b"doc": b"a name", b"unit": b"none"}
    got = pa.concat_tables(files)
    assert decoded(got).equals(decoded(want))
    return files


def leftovers(folder):
    return [p for p in os.listdir(folder) if p.startswith(".")]


@pytest.fixture
def two_files(tmp_path, table):
    return write_parts(table, tmp_path / "src", [30000])


def test_one_file_and_the_default_file_count(tmp_path, table):
    src = write_parts(table, tmp_path / "src", [])
    dst = tmp_path / "out"
    assert ctrng.shuffle_parquet(src[0], dst, key=KEY, start=5) == N
    assert os.listdir(dst) == ["part-00000.parquet"]
    assert_shuffled(dst, src, start=5)
    assert leftovers(tmp_path) == []


def test_a_list_a_directory_and_a_glob_are_one_dataset(tmp_path, table):
    """As many output files as sources (near-equal slices); an empty
    source counts; files that are not .parquet in the directory do not."""
    src = write_parts(table, tmp_path / "src", [20000, 20000, 50000])
    (tmp_path / "src" / "notes.txt").write_text("not data")
    for k, source in enumerate([src, tmp_path / "src", str(tmp_path / "src" / "in-*.parquet")]):
        dst = tmp_path / f"out{k}"
        assert ctrng.shuffle_parquet(source, dst, key=KEY, memory="12M") == N
        files = assert_shuffled(dst, src)
        assert [f.num_rows for f in files] == [N * i // 4 - N * (i - 1) // 4 for i in range(1, 5)]


def test_budgets_that_cut_several_pieces_and_groups(tmp_path, table, monkeypatch):
    """A small budget gives several pieces (runs of row groups) and groups
    (so the spill files are read in sections), a large one a single group."""
    src = write_parts(table, tmp_path / "src", [30000], row_group_size=2000)
    seen = {}
    real_shuffle, real_read = dataset.shuffle_task, ParquetFormat.read

    def shuffle_task(plan, g, threads=None):
        seen.setdefault("groups", set()).add(g)
        return real_shuffle(plan, g, threads)

    def read(self, piece):
        seen.setdefault("pieces", []).append(piece)
        return real_read(self, piece)

    monkeypatch.setattr(dataset, "shuffle_task", shuffle_task)
    monkeypatch.setattr(ParquetFormat, "read", read)
    for memory, several in [("12M", True), ("1G", False)]:
        seen.clear()
        dst = tmp_path / f"out-{memory}"
        ctrng.shuffle_parquet(src, dst, key=KEY, memory=memory)
        assert_shuffled(dst, src)
        assert (len(seen.get("groups", ())) > 1, len(seen["pieces"]) > 2) == (several, several)
        assert ("groups" in seen) == several  # a dataset that fits the budget is permuted in memory
        if several:
            assert all(g1 - g0 > 1 and lo == 0 for _, g0, g1, lo, _ in seen["pieces"])


def test_a_row_group_larger_than_the_budget_is_read_in_parts(tmp_path, table, monkeypatch):
    src = write_parts(table, tmp_path / "src", [], row_group_size=N)
    pieces = []
    real = ParquetFormat.read
    monkeypatch.setattr(ParquetFormat, "read", lambda self, piece: pieces.append(piece) or real(self, piece))
    ctrng.shuffle_parquet(src, tmp_path / "out", key=KEY, memory="12M")
    assert_shuffled(tmp_path / "out", src)
    assert len(pieces) > 1 and {(g0, g1) for _, g0, g1, _, _ in pieces} == {(0, 1)}
    assert pieces[0][3] == 0 and pieces[-1][4] == N


def test_rows_per_file(tmp_path, two_files):
    dst = tmp_path / "out"
    ctrng.shuffle_parquet(two_files, dst, key=KEY, rows_per_file=30001, memory="12M")
    files = assert_shuffled(dst, two_files)
    assert sorted(os.listdir(dst)) == ["part-00000.parquet", "part-00001.parquet", "part-00002.parquet"]
    assert [f.num_rows for f in files] == [30001, 30001, N - 60002]


@pytest.mark.parametrize("num_shards", [3, 7])
def test_shard_k_is_the_kth_slice(tmp_path, two_files, num_shards):
    dst = tmp_path / "out"
    ctrng.shuffle_parquet(two_files, dst, key=KEY, num_shards=num_shards, memory="12M")
    want, _ = oracle(two_files)
    files = outputs(dst)
    assert len(files) == num_shards
    for k, part in enumerate(files):
        a, b = N * k // num_shards, N * (k + 1) // num_shards
        assert decoded(part).equals(decoded(want.slice(a, b - a)))


def test_more_shards_than_rows_gives_empty_files_with_the_schema(tmp_path, table):
    src = write_parts(table.slice(0, 3), tmp_path / "src", [])
    ctrng.shuffle_parquet(src, tmp_path / "out", key=KEY, num_shards=5)
    files = assert_shuffled(tmp_path / "out", src)
    assert sorted(f.num_rows for f in files) == [0, 0, 1, 1, 1]


def test_an_empty_dataset(tmp_path, table):
    src = write_parts(table.slice(0, 0), tmp_path / "src", [])
    assert ctrng.shuffle_parquet(src, tmp_path / "out", key=KEY) == 0
    assert [f.num_rows for f in assert_shuffled(tmp_path / "out", src)] == [0]


@pytest.mark.parametrize("compression, stored", [("zstd", "ZSTD"), (None, "UNCOMPRESSED"), ("lz4", "LZ4")])
def test_compression_and_row_group_size(tmp_path, two_files, compression, stored):
    dst = tmp_path / "out"
    ctrng.shuffle_parquet(two_files, dst, key=KEY, num_shards=2, row_group_size=7000, compression=compression,
                          memory="12M")
    assert_shuffled(dst, two_files)
    for name in sorted(os.listdir(dst)):
        meta = pq.ParquetFile(dst / name).metadata
        rows = [meta.row_group(g).num_rows for g in range(meta.num_row_groups)]
        assert rows == [7000] * 5 + [5000]
        assert {meta.row_group(g).column(c).compression for g in range(meta.num_row_groups)
                for c in range(meta.num_columns)} == {stored}


def test_errors_before_any_output(tmp_path, table, two_files):
    def fails(error, match, src=two_files, dst=tmp_path / "out", **kwargs):
        with pytest.raises(error, match=match):
            ctrng.shuffle_parquet(src, dst, **{"key": KEY, **kwargs})
        assert not os.path.exists(tmp_path / "out") and leftovers(tmp_path) == []

    fails(ValueError, "rows_per_file or num_shards, not both", rows_per_file=10, num_shards=2)
    fails(ValueError, "compression = 'lzma'", compression="lzma")
    fails(TypeError, "compression must be", compression=3)
    fails(ValueError, "row_group_size must be in", row_group_size=0)
    fails(FileNotFoundError, "no file matches", src=str(tmp_path / "nothing-*.parquet"))
    fails(FileNotFoundError, "source file not found", src=tmp_path / "missing.parquet")
    fails(ValueError, "is or holds the source file", dst=two_files[0])
    fails(ValueError, "is or holds the source file", dst=tmp_path / "src")
    fails(TypeError, "key", key=5)

    other = tmp_path / "other"
    other.mkdir()
    pq.write_table(table.slice(0, 10).drop_columns(["flag"]), other / "b.parquet")
    fails(ValueError, r"other/b.parquet: its schema differs from the one of .*in-000.parquet",
          src=[two_files[0], other / "b.parquet"])
    pq.write_table(table.slice(0, 10).set_column(7, "small", table.column("small").slice(0, 10).cast(pa.int16())),
                   other / "c.parquet")
    fails(ValueError, r"c.parquet: its schema differs .*'small': int8 in the first file, 'small': int16 in this one",
          src=[two_files[0], other / "c.parquet"])

    data = two_files[1].read_bytes()
    (other / "cut.parquet").write_bytes(data[:len(data) // 2])
    fails(ValueError, r"cut.parquet is not a readable Parquet file", src=[two_files[0], other / "cut.parquet"])
    (other / "junk.parquet").write_bytes(os.urandom(5000))
    fails(ValueError, r"junk.parquet is not a readable Parquet file", src=[two_files[0], other / "junk.parquet"])
    (other / "empty.parquet").write_bytes(b"")
    fails(ValueError, r"empty.parquet is not a readable Parquet file", src=other / "empty.parquet")

    (tmp_path / "out").mkdir()
    with pytest.raises(FileExistsError, match="overwrite=True"):
        ctrng.shuffle_parquet(two_files, tmp_path / "out", key=KEY)
    assert os.listdir(tmp_path / "out") == []
    ctrng.shuffle_parquet(two_files, tmp_path / "out", key=KEY, overwrite=True, memory="12M")
    assert_shuffled(tmp_path / "out", two_files)


def test_a_corrupt_page_fails_when_read_and_leaves_nothing(tmp_path, table, two_files):
    """The footer is sound, a later row group's first page is not: the
    scatter step fails naming the file, and the work directory goes."""
    bad = tmp_path / "bad" / "in-001.parquet"
    bad.parent.mkdir()
    data = bytearray(two_files[1].read_bytes())
    column = pq.ParquetFile(two_files[1]).metadata.row_group(3).column(0)
    at = column.dictionary_page_offset or column.data_page_offset
    data[at:at + 64] = b"\xff" * 64
    bad.write_bytes(bytes(data))
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "old.parquet").write_bytes(b"kept")
    with pytest.raises(ValueError, match=r"bad/in-001.parquet: a corrupt Parquet file"):
        ctrng.shuffle_parquet([two_files[0], bad], tmp_path / "out", key=KEY, overwrite=True, memory="12M")
    assert os.listdir(tmp_path / "out") == ["old.parquet"] and leftovers(tmp_path) == []


# Runs shuffle_parquet(**json(argv[1])) and SIGKILLs itself at a point:
# argv[2] = "spill" after the n-th spill file is written, "save" after the
# n-th save of the journal (n = argv[3]).
_KILLED_RUN = """
import json, os, signal, sys
import ctrng
from ctrng.shuffle import dataset
from ctrng.shuffle.parquet import ParquetFormat
args, where, at = json.loads(sys.argv[1]), sys.argv[2], int(sys.argv[3])
seen = [0]

def counted(real):
    def wrapper(*a, **k):
        out = real(*a, **k)
        seen[0] += 1
        if seen[0] == at:
            os.kill(os.getpid(), signal.SIGKILL)
        return out
    return wrapper

if where == "spill":
    ParquetFormat.write_spill = counted(ParquetFormat.write_spill)
else:
    dataset._Job.save = counted(dataset._Job.save)
args["key"] = ctrng.Key(11, rank=2)
ctrng.shuffle_parquet(**args)
"""


def test_a_killed_run_resumes_to_the_same_rows(tmp_path, two_files, capsys):
    """Killed in the scatter step, then in the shuffle step while an output
    file that began inside a group is open: the next run resumes (redoing
    that file from its first row) and gives the rows of a run that was not
    stopped."""
    dst = tmp_path / "out"
    args = {"src": [str(p) for p in two_files], "dst": str(dst), "memory": "12M", "rows_per_file": 9001,
            "start": 3}

    def killed(where, at):
        run = subprocess.run([sys.executable, "-c", _KILLED_RUN, json.dumps(args), where, str(at)],
                             check=False, capture_output=True, text=True, timeout=120)
        assert run.returncode == -signal.SIGKILL, run.stderr
        assert not dst.exists()
        work = [p for p in leftovers(tmp_path) if p.endswith(".work")]
        assert len(work) == 1
        return tmp_path / work[0]

    work = killed("spill", 2)  # the second piece's data written, its index not: that piece is redone
    assert len(list(work.glob("spill-*.npy"))) == 1
    work = killed("save", 3)
    journal = json.loads((work / "journal.json").read_text())
    assert journal["restart"] < 3 and journal["skip"] > 0 and journal["groups"] > 3  # a file begun in a group
    assert sorted(os.listdir(work / "out")) == [f"part-{k:05d}.parquet" for k in range(journal["file"] + 1)]

    args["key"] = KEY
    capsys.readouterr()
    assert ctrng.shuffle_parquet(**args, progress=True) == N
    assert f"resuming an interrupted run at the shuffle step, group {journal['restart'] + 1}" in \
        capsys.readouterr().err
    files = assert_shuffled(dst, two_files, start=3)
    assert [f.num_rows for f in files] == [9001] * 8 + [N - 8 * 9001]
    assert leftovers(tmp_path) == []


def test_import_ctrng_does_not_load_pyarrow_and_says_how_to_get_it():
    script = ("import sys, ctrng\n"
              "assert 'pyarrow' not in sys.modules, 'import ctrng loaded pyarrow'\n"
              "sys.modules['pyarrow'] = None\n"
              "try:\n"
              "    ctrng.shuffle_parquet('x.parquet', 'out', key=ctrng.Key(1))\n"
              "except ImportError as e:\n"
              "    print(e)\n")
    run = subprocess.run([sys.executable, "-c", script], check=False, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    assert 'pip install "ctrng[parquet]"' in run.stdout


def test_row_bytes_count_what_each_row_holds(table):
    """The spill files' byte bounds come from each row's own bytes: a row
    with a long string or list weighs more."""
    from ctrng.shuffle.parquet import _row_bytes

    t = pa.table({"s": ["a", "b" * 1000, None], "l": pa.array([[1], [], list(range(100))], pa.list_(pa.int64())),
                  "d": pa.array(["x", "y", "x"]).dictionary_encode(), "i": [1, 2, 3]})
    assert _row_bytes(t).tolist() == [4 + 1 + 4 + 8 + 4 + 8, 4 + 1000 + 4 + 4 + 8, 4 + 4 + 800 + 4 + 8]
    assert _row_bytes(t.slice(1)).tolist() == _row_bytes(t)[1:].tolist()
    sample = table.slice(0, 1000)
    assert abs(int(_row_bytes(sample).sum()) - sample.nbytes) < 0.2 * sample.nbytes


def test_a_cluster_writes_the_files_one_process_writes(tmp_path, two_files):
    """As tasks on a LocalCluster of two worker processes, one of which is
    killed (SIGKILL) while reading piece 1, another while reading the spill
    sections of the group that starts at partition 1 and another while
    reading part file 1: the same files, byte for byte, as one process."""
    distributed = pytest.importorskip("distributed")
    from dying_formats import DyingParquet

    options = dict(key=KEY, num_shards=3, row_group_size=4000, memory="12M")
    ctrng.shuffle_parquet(two_files, tmp_path / "here", **options)
    plan = dataset._Plan(ParquetFormat(two_files), KEY, 0, 12 << 20, tmp_path)
    assert len(plan.pieces) > 1 and plan.pbits > 0  # piece 1 and partition 1 exist
    fmt = DyingParquet(two_files, str(tmp_path), dict(row_group_size=4000), piece=plan.pieces[1], partition=1,
                       part="part-000001.data")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, memory_limit="1GiB",
                                  dashboard_address=None) as cluster, distributed.Client(cluster) as client:
        dst = dataset.check_destination(tmp_path / "there", two_files, False)
        dataset.shuffle_dataset(fmt, dst, key=KEY, start=0, memory="12M", overwrite=False, threads=None,
                                progress=False, client=client, num_files=3, directory=True)
    assert sorted(p.name for p in tmp_path.iterdir() if p.name in ("piece", "spill", "part")) == \
        ["part", "piece", "spill"]
    names = sorted(os.listdir(tmp_path / "here"))
    assert names == sorted(os.listdir(tmp_path / "there")) == [f"part-0000{k}.parquet" for k in range(3)]
    for name in names:
        assert (tmp_path / "there" / name).read_bytes() == (tmp_path / "here" / name).read_bytes()
    assert_shuffled(tmp_path / "there", two_files)


def test_docstring_example():
    import doctest

    from ctrng.shuffle import parquet

    result = doctest.testmod(parquet, optionflags=doctest.ELLIPSIS)
    assert result.failed == 0 and result.attempted > 0


_PEAK = """
import os, sys
import ctrng, numpy as np, pyarrow as pa, pyarrow.parquet as pq
rng = np.random.default_rng(0)
n = 600_000
pq.write_table(pa.table({"id": np.arange(n), "x": rng.random(n), "k": rng.integers(0, 100, n).astype(np.int32),
                         "s": pa.array(["row %d of the table" % i * (1 + i % 5) for i in range(n)])}),
               sys.argv[1] + "/a.parquet", row_group_size=50_000)
pq.read_table(sys.argv[1] + "/a.parquet").slice(0, 10).take([0, 1])  # the libraries loaded, the pool made
pa.default_memory_pool().release_unused()
def rss():
    d = dict(line.split(":", 1) for line in open("/proc/self/status"))
    return int(d["VmRSS"].split()[0]), int(d["VmHWM"].split()[0])
base = rss()[0]
with open("/proc/self/clear_refs", "w") as f:
    f.write("5")  # restart the peak (VmHWM) from here
ctrng.shuffle_parquet(sys.argv[1] + "/a.parquet", sys.argv[1] + "/out", key=ctrng.Key(1), memory=sys.argv[2])
print(base, rss()[1])
"""


@pytest.mark.parametrize("memory", [24, 64])
def test_peak_memory_stays_within_the_budget(tmp_path, memory):
    """600 000 rows (about 45 MB in memory) at memory = 24 and 64 MB (several
    pieces and groups): the peak RSS of the process grows by at most the
    budget plus 32 MB (pyarrow's reader and writer buffers and allocator;
    measured 48 and 73 MB) over its size with pyarrow loaded."""
    out = subprocess.run([sys.executable, "-c", _PEAK, str(tmp_path), f"{memory}M"], capture_output=True,
                         text=True, check=True)
    base, peak = map(int, out.stdout.split())
    assert (peak - base) / 1024 <= memory + 32, (base, peak)
