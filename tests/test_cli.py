"""The `ctrng` command line tool: `raw` is byte-exact with `ctrng.random_raw`,
`demo` shows the collision it promises, `bench` prints its table, and bad
options fail with a message."""

import os
import re
import subprocess
import sys

import numpy as np
import pytest

import ctrng
from ctrng import cli


def run_cli(*args, timeout=60):
    return subprocess.run([sys.executable, "-m", "ctrng", *args], capture_output=True, timeout=timeout)


def raw_bytes(*args):
    res = run_cli("raw", *args)
    assert res.returncode == 0, res.stderr.decode()
    return res.stdout


def le(words):
    return np.asarray(words, dtype="<u4").tobytes()


def test_raw_defaults_match_random_raw():
    assert raw_bytes("--bytes", "4096") == le(ctrng.random_raw(ctrng.Key(0), 1024))


@pytest.mark.parametrize("algorithm", ["philox4x32", "philox4x64", "threefry4x32", "threefry4x64"])
def test_raw_options_match_random_raw(algorithm):
    out = raw_bytes("--algorithm", algorithm, "--root", "123456789", "--rank", "7", "--stream", "3",
                    "--bytes", "4096")
    key = ctrng.Key(123456789, rank=7, stream=3, algorithm=algorithm)
    assert out == le(ctrng.random_raw(key, 1024))


def test_raw_hex_root_start_and_partial_word():
    out = raw_bytes("--root", "0xDEADBEEF", "--start", "5", "--bytes", "4099")
    words = ctrng.random_raw(ctrng.Key(0xDEADBEEF), 1025, start=5)
    assert out == le(words)[:4099]


def test_raw_chunks_join_seamlessly():
    # Several internal chunks (the chunk size is lowered) give the same bytes.
    res = run_cli("raw", "--bytes", "40000", "--chunk-words", "1000", "--root", "9")
    assert res.returncode == 0
    assert res.stdout == le(ctrng.random_raw(ctrng.Key(9), 10000))


def test_raw_size_suffix():
    assert len(raw_bytes("--bytes", "3K")) == 3072


@pytest.mark.parametrize("k", [2, 4, 5])
def test_raw_interleave_ranks(k):
    n = 1024  # words per rank
    out = raw_bytes("--interleave-ranks", str(k), "--root", "42", "--bytes", str(4 * n * k))
    streams = np.stack([ctrng.random_raw(ctrng.Key(42, rank=r), n) for r in range(k)])
    expected = streams.T.reshape(-1)  # word j of rank 0, word j of rank 1, ..., then word j + 1
    assert out == le(expected)


def test_raw_interleave_from_rank_and_chunks():
    out = raw_bytes("--interleave-ranks", "4", "--rank", "10", "--stream", "2", "--bytes", "16000",
                    "--chunk-words", "400")
    streams = np.stack([ctrng.random_raw(ctrng.Key(0, rank=10 + r, stream=2), 1000) for r in range(4)])
    assert out == le(streams.T.reshape(-1))


def test_raw_weave_wider_than_a_chunk():
    """More streams than a chunk holds: word j of the streams in groups,
    down to a last word cut short."""
    out = raw_bytes("--interleave-ranks", "10", "--root", "5", "--chunk-words", "4", "--bytes", str(4 * 10 * 3 + 6))
    streams = np.stack([ctrng.random_raw(ctrng.Key(5, rank=r), 4) for r in range(10)])
    assert out == le(streams.T.reshape(-1))[:4 * 10 * 3 + 6]


def test_raw_weave_of_streams_whose_keys_are_made_as_needed():
    k = cli._KEPT_KEYS + 4464  # 70000 streams: keys made as they are needed
    out = raw_bytes("--interleave-roots", str(k), "--root", "77", "--bytes", str(8 * k + 8))
    streams = np.stack([ctrng.random_raw(ctrng.Key(77 + j), 3) for j in range(k)])
    assert out == le(streams.T.reshape(-1))[:8 * k + 8]


@pytest.mark.parametrize("option", ["--interleave-roots", "--interleave-ranks"])
def test_raw_huge_weave_starts_at_once_in_bounded_memory(option):
    """A weave of 10**8-10**9 streams held gigabytes and wrote nothing for a
    minute: its keys are now made as the output needs them."""
    code = ("import resource, subprocess, sys; "
            f"p = subprocess.run([sys.executable, '-m', 'ctrng', 'raw', '{option}', '1000000000', '--root', '3', "
            "'--bytes', '24'], capture_output=True, timeout=60); "
            "sys.stdout.write(p.stdout.hex() + ' ' + str(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss))")
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr
    data, peak_kib = res.stdout.split()
    field = "root" if option == "--interleave-roots" else "rank"
    first = [ctrng.random_raw(ctrng.Key(3 + j if field == "root" else 3, rank=j if field == "rank" else 0), 1)[0]
             for j in range(6)]
    assert bytes.fromhex(data) == le(first)
    assert int(peak_kib) < 300 * 1024  # the interpreter, NumPy and one group of keys: ~60 MiB here


def test_raw_endless_closed_pipe_exits_quietly():
    # `ctrng raw | head -c 100`: the reader stops, the writer must exit 0, silently.
    p = subprocess.Popen([sys.executable, "-m", "ctrng", "raw"], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    head = p.stdout.read(100)
    p.stdout.close()
    err = p.stderr.read()
    assert p.wait(timeout=30) == 0, err.decode()
    assert err == b""
    assert head == le(ctrng.random_raw(ctrng.Key(0), 25))


def test_raw_zero_bytes():
    assert raw_bytes("--bytes", "0") == b""


def test_demo_shows_collision_and_distinct_streams():
    res = run_cli("demo", "--n", "200000", "--repeat", "1")
    assert res.returncode == 0, res.stderr.decode()
    text = res.stdout.decode()
    numpy_vals = cli._fmt(np.random.default_rng(101).random(5))
    assert text.count(numpy_vals) == 2  # run A rank 1 and run B rank 0 print the same numbers
    assert "IDENTICAL" in text
    a = cli._fmt(ctrng.random(ctrng.Key(100, rank=1), 5))
    b = cli._fmt(ctrng.random(ctrng.Key(101, rank=0), 5))
    assert a != b and a in text and b in text
    assert "different numbers" in text
    assert re.search(r"normal float64 .*\d+\.\dx", text)  # a throughput ratio against NumPy


def test_bench_prints_a_ratio_per_distribution():
    res = run_cli("bench", "--n", "100000", "--repeat", "1")
    assert res.returncode == 0, res.stderr.decode()
    text = res.stdout.decode()
    for label in ["raw uint32", "uniform float32", "uniform float64", "normal float32", "normal float64",
                  "integers(0, 1000) int64"]:
        row = next(line for line in text.splitlines() if line.startswith(f"| {label} "))
        cells = [c.strip() for c in row.strip("|").split("|")]
        assert len(cells) == 6
        assert all(float(c) > 0 for c in cells[1:])


@pytest.mark.parametrize("args, message", [
    (["raw", "--root", "-1"], "root"),
    (["raw", "--root", "abc"], "not an integer"),
    (["raw", "--rank", str(2**32)], "rank"),
    (["raw", "--stream", "-3"], "stream"),
    (["raw", "--algorithm", "mt19937"], "invalid choice"),
    (["raw", "--bytes", "12X"], "byte count"),
    (["raw", "--bytes", "-4"], "byte count"),
    (["raw", "--interleave-ranks", "0"], "at least 1"),
    (["raw", "--rank", str(2**32 - 2), "--interleave-ranks", "3"], "last rank"),
    (["raw", "--start", str(4 << 64)], "--start"),
    (["raw", "--threads", "0"], "--threads"),
    (["bench", "--n", "0"], "at least 1"),
    (["demo", "--repeat", "x"], "not an integer"),
    (["frobnicate"], "invalid choice"),
    ([], "required"),
])
def test_bad_options_fail_with_a_message(args, message, capsys):
    with pytest.raises(SystemExit) as exc:
        cli.main(args)
    assert exc.value.code != 0
    err = capsys.readouterr().err
    assert message in err


def test_shuffle_file_messages_name_the_options_and_the_file(tmp_path, capsys):
    src, dst = tmp_path / "s.bin", tmp_path / "d.bin"
    src.write_bytes(bytes(64))
    dst.write_bytes(b"keep")
    assert cli.main(["shuffle-file", str(src), str(dst), "--root", "1", "--record-size", "8"]) == 1
    err = capsys.readouterr().err
    assert f"{dst} exists; pass --overwrite" in err and "overwrite=True" not in err
    assert cli.main(["shuffle-file", str(tmp_path), str(dst), "--root", "1", "--record-size", "8"]) == 1
    assert f"dst {dst} is or holds the source file {dst}" in capsys.readouterr().err  # the directory's files
    assert cli.main(["shuffle-file", "/dev/zero", str(dst), "--root", "1", "--record-size", "8"]) == 1
    assert "/dev/zero is not a regular file (a character device)" in capsys.readouterr().err
    assert cli.main(["shuffle-file", str(src), str(tmp_path), "--root", "1", "--record-size", "8", "--overwrite"]) == 1
    assert f"dst {tmp_path} is a directory" in capsys.readouterr().err
    assert dst.read_bytes() == b"keep"


def test_shuffle_file_lines_shards_and_many_sources(tmp_path, capsys):
    """`ctrng shuffle-file --format lines` with several sources and shards
    writes what ctrng.shuffle_file writes; --help names every format."""
    for i in range(2):
        (tmp_path / f"s{i}.txt").write_bytes(b"".join(b"%d-%d\n" % (i, j) for j in range(500)))
    srcs = [str(tmp_path / "s0.txt"), str(tmp_path / "s1.txt")]
    key = ctrng.Key(9, rank=2)
    assert cli.main(["shuffle-file", "--format", "lines", "--root", "9", "--rank", "2", *srcs,
                     str(tmp_path / "cli"), "--num-shards", "3"]) == 0
    assert f"shuffled 1000 lines of {' '.join(srcs)} into {tmp_path / 'cli'}" in capsys.readouterr().err
    ctrng.shuffle_file(srcs, tmp_path / "api", key=key, format="lines", num_shards=3)
    for name in sorted(os.listdir(tmp_path / "api")):
        assert (tmp_path / "cli" / name).read_bytes() == (tmp_path / "api" / name).read_bytes()
    with pytest.raises(SystemExit):
        cli.main(["shuffle-file", "--root", "1", srcs[0], str(tmp_path / "x"), "--compression", "zstd"])
    assert "--compression are for --format parquet" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        cli.main(["shuffle-file", "--help"])
    text = capsys.readouterr().out
    for word in ("records", "npy", "lines", "parquet", "--header", "--num-shards", "--rows-per-file",
                 "--scheduler"):
        assert word in text


def test_shuffle_file_parquet(tmp_path, capsys):
    """`ctrng shuffle-file` on .parquet files (the format guessed from the
    names) is ctrng.shuffle_parquet with the Parquet options."""
    pa = pytest.importorskip("pyarrow")
    import pyarrow.parquet as pq

    table = pa.table({"i": np.arange(3000), "s": [f"row {i}" for i in range(3000)]})
    pq.write_table(table, tmp_path / "t.parquet")
    assert cli.main(["shuffle-file", "--root", "3", str(tmp_path / "t.parquet"), str(tmp_path / "out"),
                     "--rows-per-file", "1000", "--compression", "zstd", "--row-group-size", "500"]) == 0
    assert "shuffled 3000 rows" in capsys.readouterr().err
    names = sorted(os.listdir(tmp_path / "out"))
    assert names == ["part-00000.parquet", "part-00001.parquet", "part-00002.parquet"]
    got = pa.concat_tables([pq.read_table(tmp_path / "out" / name) for name in names])
    assert got.equals(table.take(ctrng.permutation(ctrng.Key(3), 3000)))
    meta = pq.ParquetFile(tmp_path / "out" / names[0]).metadata
    assert meta.num_row_groups == 2 and meta.row_group(0).column(0).compression == "ZSTD"
