"""Dataset shuffles (lines, Parquet, Dask) against dd, GNU shuf, DuckDB and
Hugging Face datasets.

Run (needs the "bench" extra: ``pip install -e ".[bench]"``; about 10 GB
of free disk beside the data; at the full sizes on 2 cores, about 3 minutes
to make the data once, then 7 minutes with HF datasets at 1 M rows, which
at 40 M rows takes about an hour):

    CTRNG_BENCH_HF_ROWS=1000000 python -m pytest benchmarks/test_bench_datasets.py --benchmark-only \
        --benchmark-json=datasets.json
    python benchmarks/test_bench_datasets.py datasets.json     # the table of ratios

A smoke run (half a minute):

    CTRNG_BENCH_LINES_MB=32 CTRNG_BENCH_LINES_MEMORY=100M CTRNG_BENCH_PARQUET_ROWS=400000 \
    CTRNG_BENCH_PARQUET_MEMORY=8M CTRNG_BENCH_DUCKDB_MEMORY=200M CTRNG_BENCH_HF_ROWS=100000 \
    CTRNG_BENCH_DATA=/tmp/ctrng-bench-small python -m pytest benchmarks/test_bench_datasets.py --benchmark-only

Sizes (environment variables; the defaults are the full sizes):

    CTRNG_BENCH_LINES_MB      MiB of JSON lines (default 1024)
    CTRNG_BENCH_PARQUET_ROWS  rows over 4 Parquet files (default 40 million, about 2.2 GB in memory)
    CTRNG_BENCH_LINES_MEMORY  ctrng's memory in the lines cases against dd and on Dask (default: a quarter
                              of the file; a bucket of the permutation holds about 32k lines, 32 MiB here,
                              and must fit twice over, so below about 400 MiB of lines give it 100M)
    CTRNG_BENCH_HF_ROWS       rows for the case against HF datasets (default: the same); when it differs,
                              that case runs on its own data of this size, with ctrng and pyarrow
    CTRNG_BENCH_PARQUET_MEMORY ctrng's memory in the Parquet cases (default: a quarter of the data's size
                              in memory; a smoke run of 400000 rows needs about 8M)
    CTRNG_BENCH_DUCKDB_MEMORY DuckDB's memory_limit, e.g. 1G (default: ctrng's memory; 400000 rows need
                              about 200M)
    CTRNG_BENCH_SPARE         ctrng's memory in the case against shuf (default 4G)
    CTRNG_BENCH_ROUNDS        rounds of every case (default 1)
    CTRNG_BENCH_DATA          where the generated data is kept between runs (default
                              $TMPDIR/ctrng-bench-datasets; delete it by hand)

The cases, each timed for ctrng with pytest-benchmark and for its
contenders in the same rounds (the lowest time of each over the rounds):

* lines, memory a quarter of the file: ``ctrng.shuffle_file(format="lines")``
  against ``dd bs=16M`` with and without ``conv=fsync`` (ctrng fsyncs its
  output before the final rename);
* lines, memory to spare: against GNU ``shuf src -o dst``;
* Parquet, memory a quarter of the data's in-memory size:
  ``ctrng.shuffle_parquet`` against DuckDB's ``ORDER BY random()`` under
  the same ``memory_limit`` (2 threads), Hugging Face datasets'
  ``from_parquet(...).shuffle(seed=1).flatten_indices().to_parquet(...)``,
  and pyarrow reading all the data and writing it again (a floor: no
  shuffle at all);
* Dask: the lines (and Parquet) shuffles with ``client=`` on a
  ``LocalCluster`` of 2 worker processes of 1 thread against 1 such
  worker; the clusters start outside the timed part.

Page cache and disk: before every timed run, of ctrng and of each
contender alike, the outputs of the last run are deleted, ``sync`` writes
back every dirty page, and the sources are read with ``cat src >
/dev/null``: every run starts with its input in the page cache and no
writeback pending.  Outputs go beside the data.

extra_info holds each side's seconds (``*_s``) and the ratios
``vs_<contender>`` = contender time / ctrng time (above 1: ctrng is
faster); ``targets`` holds the ratio each case aims at.
"""

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pytest

import ctrng
from ctrng.shuffle.jobs import parse_size

LINES_BYTES = int(os.environ.get("CTRNG_BENCH_LINES_MB", "1024")) << 20
PARQUET_ROWS = int(os.environ.get("CTRNG_BENCH_PARQUET_ROWS", str(40_000_000)))
PARQUET_FILES = 4
HF_ROWS = int(os.environ.get("CTRNG_BENCH_HF_ROWS", str(PARQUET_ROWS)))
PARQUET_MEMORY = parse_size(os.environ.get("CTRNG_BENCH_PARQUET_MEMORY") or "0", "memory")
DUCKDB_MEMORY = parse_size(os.environ.get("CTRNG_BENCH_DUCKDB_MEMORY") or "0", "memory") or None
LINES_MEMORY = os.environ.get("CTRNG_BENCH_LINES_MEMORY")
SPARE = os.environ.get("CTRNG_BENCH_SPARE", "4G")
ROUNDS = int(os.environ.get("CTRNG_BENCH_ROUNDS", "1"))
DATA = Path(os.environ.get("CTRNG_BENCH_DATA", Path(tempfile.gettempdir()) / "ctrng-bench-datasets"))
KEY = ctrng.Key(1)


# -- the data, generated once and kept ----------------------------------------------------
def _make_lines(path, size):
    """JSON lines of 50 to 2000 bytes (newline included, lengths uniform):
    {"id": i, "text": "<letters and spaces>"}."""
    rng = np.random.default_rng(2026)
    pool = rng.choice(np.frombuffer(b"abcdefghijklmnopqrstuvwxyz      ", np.uint8), 1 << 24).tobytes()
    tmp, written, i = path.with_suffix(".tmp"), 0, 0
    with open(tmp, "wb") as f:
        while written < size:
            lengths = rng.integers(50, 2001, 4096).tolist()
            offsets = rng.integers(0, len(pool) - 2000, 4096).tolist()
            lines = []
            for length, at in zip(lengths, offsets):
                head = b'{"id": %d, "text": "' % i
                lines.append(head + pool[at:at + length - len(head) - 3] + b'"}\n')
                i += 1
            chunk = b"".join(lines)
            f.write(chunk)
            written += len(chunk)
    os.replace(tmp, path)


@pytest.fixture(scope="module")
def lines_file():
    DATA.mkdir(parents=True, exist_ok=True)
    path = DATA / f"lines-{LINES_BYTES >> 20}MiB.jsonl"
    if not path.exists():
        _make_lines(path, LINES_BYTES)
    return path


def _make_parquet(folder, rows):
    """PARQUET_FILES snappy files of 10 columns: integers of 4 widths, 2
    floats, a bool, a timestamp, a short name and a category (strings)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    rng = np.random.default_rng(2026)
    letters = np.frombuffer(b"abcdefghijklmnopqrstuvwxyz", np.uint8)
    names = pa.array([bytes(rng.choice(letters, n)).decode() for n in rng.integers(3, 13, 50_000)])
    categories = pa.array(["books", "music", "garden", "kitchen", "toys", "sports", "tools", "health",
                           "beauty", "games", "office", "auto", "baby", "pets", "shoes", "travel"])
    tmp = folder.with_name(folder.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    nbytes = 0
    for k in range(PARQUET_FILES):
        lo, hi = rows * k // PARQUET_FILES, rows * (k + 1) // PARQUET_FILES
        n = hi - lo
        table = pa.table({
            "id": pa.array(np.arange(lo, hi, dtype=np.int64)),
            "user": pa.array(rng.integers(0, 1 << 31, n, dtype=np.int32)),
            "count": pa.array(rng.integers(0, 1000, n, dtype=np.int16)),
            "level": pa.array(rng.integers(0, 100, n, dtype=np.int8)),
            "score": pa.array(rng.standard_normal(n)),
            "ratio": pa.array(rng.random(n, dtype=np.float32)),
            "flag": pa.array(rng.random(n) < 0.3),
            "time": pa.array(1_700_000_000_000_000 + rng.integers(0, 10**14, n), pa.timestamp("us")),
            "name": names.take(pa.array(rng.integers(0, len(names), n))),
            "category": categories.take(pa.array(rng.integers(0, len(categories), n))),
        })
        nbytes += table.nbytes
        pq.write_table(table, tmp / f"part-{k}.parquet", compression="snappy")
    (tmp / "info.json").write_text(json.dumps({"rows": rows, "nbytes": nbytes}))
    os.replace(tmp, folder)


def _parquet(rows):
    """The Parquet files of `rows` rows (made the first time) and their
    {"rows", "nbytes"} (bytes in memory as Arrow tables)."""
    pytest.importorskip("pyarrow")
    folder = DATA / f"parquet-{rows}"
    if not folder.exists():
        _make_parquet(folder, rows)
    return sorted(folder.glob("*.parquet")), json.loads((folder / "info.json").read_text())


# -- timing ---------------------------------------------------------------------------------
def _remove(*paths):
    for p in paths:
        if p.is_dir() and not p.is_symlink():
            shutil.rmtree(p)
        elif p.exists() or p.is_symlink():
            p.unlink()


def _prepare(sources, outputs):
    """The state every timed run starts from: no outputs, no dirty pages,
    the sources in the page cache."""
    _remove(*outputs)
    for p in outputs[0].parent.glob(f".{outputs[0].name}.*"):  # work files of a run that failed
        _remove(p)
    subprocess.run(["sync"], check=True)
    subprocess.run(["cat", *map(str, sources)], stdout=subprocess.DEVNULL, check=True)


def _seconds(fn):
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def _run(benchmark, group, sources, outputs, shuffle, contenders, targets, **info):
    """ROUNDS rounds, each timing every contender and then `shuffle` (the
    benchmark), all from the state _prepare sets; the ratios to extra_info."""
    times = {name: [] for name in contenders}

    def setup():
        for name, fn in contenders.items():
            _prepare(sources, outputs)
            times[name].append(_seconds(fn))
        _prepare(sources, outputs)

    benchmark.group = group
    benchmark.pedantic(shuffle, setup=setup, rounds=ROUNDS, iterations=1)
    best = benchmark.stats.stats.min
    info.update(ctrng_s=best, targets=targets)
    for name, ts in times.items():
        info[f"{name}_s"] = min(ts)
        info[f"vs_{name}"] = min(ts) / best
    benchmark.extra_info.update(info)


def _dd(src, dst, *flags):
    return lambda: subprocess.run(["dd", f"if={src}", f"of={dst}", "bs=16M", "status=none", *flags], check=True)


# -- lines --------------------------------------------------------------------------------------
def _shuffle_lines(src, dst, memory, client=None):
    def run():
        ctrng.shuffle_file(src, dst, key=KEY, format="lines", memory=memory, overwrite=True, client=client,
                           progress=False)
    return run


def _same_bytes(src, dst):
    assert os.path.getsize(dst) == os.path.getsize(src)


def test_lines_vs_dd(benchmark, lines_file):
    dst = DATA / "out.jsonl"
    memory = LINES_MEMORY or os.path.getsize(lines_file) // 4
    _run(benchmark, "lines vs dd", [lines_file], [dst], _shuffle_lines(lines_file, dst, memory),
         {"dd": _dd(lines_file, dst), "dd_fsync": _dd(lines_file, dst, "conv=fsync")},
         {"vs_dd": 0.5, "vs_dd_fsync": 0.5}, file_bytes=os.path.getsize(lines_file), memory=memory)
    _same_bytes(lines_file, dst)
    _remove(dst)


def test_lines_vs_shuf(benchmark, lines_file):
    dst = DATA / "out.jsonl"
    _run(benchmark, "lines, memory to spare, vs shuf", [lines_file], [dst], _shuffle_lines(lines_file, dst, SPARE),
         {"shuf": lambda: subprocess.run(["shuf", str(lines_file), "-o", str(dst)], check=True)},
         {"vs_shuf": 1.5}, file_bytes=os.path.getsize(lines_file), memory=SPARE)
    _same_bytes(lines_file, dst)
    _remove(dst)


# -- Parquet ------------------------------------------------------------------------------------
def _rows(folder):
    import pyarrow.parquet as pq

    return sum(pq.ParquetFile(p).metadata.num_rows for p in sorted(Path(folder).glob("*.parquet")))


def _duckdb(files, out, memory):
    def run():
        import duckdb

        out.mkdir()
        con = duckdb.connect()
        con.execute(f"SET memory_limit = '{memory // (1 << 20)}MiB'")
        con.execute("SET threads = 2")
        con.execute(f"SET temp_directory = '{DATA / 'duckdb.tmp'}'")
        listed = ", ".join(f"'{f}'" for f in files)
        con.execute(f"COPY (SELECT * FROM read_parquet([{listed}]) ORDER BY random()) "
                    f"TO '{out / 'data.parquet'}' (FORMAT parquet, COMPRESSION snappy)")
        con.close()
    return run


def _hf_datasets(files, out, cache):
    def run():
        import datasets

        datasets.disable_progress_bars()
        out.mkdir()
        ds = datasets.Dataset.from_parquet([str(f) for f in files], cache_dir=str(cache))
        ds.shuffle(seed=1).flatten_indices().to_parquet(str(out / "data.parquet"))
    return run


def _pyarrow_copy(files, out):
    def run():
        import pyarrow.parquet as pq

        out.mkdir()
        table = pq.read_table([str(f) for f in files])
        for k in range(len(files)):
            lo, hi = table.num_rows * k // len(files), table.num_rows * (k + 1) // len(files)
            pq.write_table(table.slice(lo, hi - lo), out / f"part-{k}.parquet", compression="snappy")
    return run


def _shuffle_parquet(files, dst, memory, client=None):
    def run():
        ctrng.shuffle_parquet(files, dst, key=KEY, memory=memory, compression="snappy", overwrite=True,
                              client=client, progress=False)
    return run


def _parquet_case(benchmark, group, files, info, contenders, targets):
    dst, cache = DATA / "out.parquet.d", DATA / "hf-cache"
    memory = PARQUET_MEMORY or info["nbytes"] // 4
    named = {"duckdb": lambda: _duckdb(files, dst, memory if DUCKDB_MEMORY is None else DUCKDB_MEMORY),
             "hf_datasets": lambda: _hf_datasets(files, dst, cache), "pyarrow_copy": lambda: _pyarrow_copy(files, dst)}
    extra = {} if DUCKDB_MEMORY is None or "duckdb" not in contenders else {"duckdb_memory": DUCKDB_MEMORY}
    _run(benchmark, group, files, [dst, cache, DATA / "duckdb.tmp"], _shuffle_parquet(files, dst, memory),
         {name: named[name]() for name in contenders}, targets, rows=info["rows"], files=len(files),
         file_bytes=sum(os.path.getsize(f) for f in files), memory_bytes=info["nbytes"], memory=memory, **extra)
    assert _rows(dst) == info["rows"]
    _remove(dst, cache, DATA / "duckdb.tmp")


def _needs_parquet():
    pytest.importorskip("duckdb")
    pytest.importorskip("datasets")
    if not hasattr(ctrng, "shuffle_parquet"):
        pytest.skip("ctrng.shuffle_parquet is not there yet")


def test_parquet(benchmark):
    _needs_parquet()
    contenders = ["duckdb", "pyarrow_copy"] + (["hf_datasets"] if HF_ROWS == PARQUET_ROWS else [])
    _parquet_case(benchmark, "Parquet", *_parquet(PARQUET_ROWS), contenders, {"vs_duckdb": 1.5})


def test_parquet_vs_hf_datasets(benchmark):
    _needs_parquet()
    if HF_ROWS == PARQUET_ROWS:
        pytest.skip("HF datasets runs in test_parquet (CTRNG_BENCH_HF_ROWS is CTRNG_BENCH_PARQUET_ROWS)")
    _parquet_case(benchmark, "Parquet, HF datasets", *_parquet(HF_ROWS), ["hf_datasets", "pyarrow_copy"], {})


# -- Dask ---------------------------------------------------------------------------------------
def _cluster(workers):
    from distributed import Client, LocalCluster

    cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, memory_limit="8GiB",
                           dashboard_address=":0", local_directory=str(DATA / "dask"))
    return cluster, Client(cluster)


def _dask_case(benchmark, group, sources, dst, make, **info):
    """The shuffle `make(client)` on 1 worker (the contender, timed first)
    and on 2 (the benchmark), each cluster started before its rounds."""
    pytest.importorskip("distributed")
    cluster, client = _cluster(1)
    try:
        one = []
        for _ in range(ROUNDS):
            _prepare(sources, [dst])
            one.append(_seconds(make(client)))
    finally:
        client.close()
        cluster.close()
    cluster, client = _cluster(2)
    try:
        _run(benchmark, group, sources, [dst], make(client), {}, {"vs_one_worker": 1.6}, **info)
    finally:
        client.close()
        cluster.close()
    benchmark.extra_info.update(one_worker_s=min(one), vs_one_worker=min(one) / benchmark.stats.stats.min)


def test_dask_lines(benchmark, lines_file):
    dst = DATA / "out.jsonl"
    memory = LINES_MEMORY or os.path.getsize(lines_file) // 4
    _dask_case(benchmark, "Dask, lines, 2 workers vs 1", [lines_file], dst,
               lambda client: _shuffle_lines(lines_file, dst, memory, client),
               file_bytes=os.path.getsize(lines_file), memory=memory)
    _same_bytes(lines_file, dst)
    _remove(dst)


def test_dask_parquet(benchmark):
    if not hasattr(ctrng, "shuffle_parquet"):
        pytest.skip("ctrng.shuffle_parquet is not there yet")
    files, info = _parquet(PARQUET_ROWS)
    dst = DATA / "out.parquet.d"
    memory = PARQUET_MEMORY or info["nbytes"] // 4
    _dask_case(benchmark, "Dask, Parquet, 2 workers vs 1", files, dst,
               lambda client: _shuffle_parquet(files, dst, memory, client),
               rows=info["rows"], memory_bytes=info["nbytes"], memory=memory)
    assert _rows(dst) == info["rows"]
    _remove(dst)


# -- the table ----------------------------------------------------------------------------------
def ratio_table(runs):
    """Markdown: each case's seconds and ratios (contender / ctrng), the
    target beside each, from loaded --benchmark-json dicts."""
    lines = ["| case | size | ctrng memory | ctrng s | contender | contender s | ratio | target | holds |",
             "|---|---|---|---:|---|---:|---:|---:|---|"]
    for data in runs:
        for b in data["benchmarks"]:
            info = b.get("extra_info", {})
            if "ctrng_s" not in info:
                continue
            size = (f"{info['rows']:,} rows" if "rows" in info else f"{info['file_bytes'] / 2**20:.0f} MiB")
            for key, value in info.items():
                if not key.startswith("vs_"):
                    continue
                name = key[3:]
                target = info["targets"].get(key)
                holds = "-" if target is None else ("yes" if value >= target else "no")
                memory = info["memory"]
                memory = f"{memory / 2**20:.0f} MiB" if isinstance(memory, int) else memory
                lines.append(f"| {b['group']} | {size} | {memory} | {info['ctrng_s']:.2f} | {name} | "
                             f"{info[name + '_s']:.2f} | {value:.2f} | {'-' if target is None else target} | "
                             f"{holds} |")
    return "\n".join(lines)


if __name__ == "__main__":
    loaded = []
    for arg in sys.argv[1:]:
        with open(arg) as f:
            loaded.append(json.load(f))
    print("Ratio = contender time / ctrng time (above 1: ctrng is faster).\n")
    print(ratio_table(loaded))
