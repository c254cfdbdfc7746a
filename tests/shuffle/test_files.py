"""ctrng.shuffle_file and `ctrng shuffle-file`: the result equals the
in-memory permutation for every way the passes can be cut; the source is
never modified; failures, SIGINT and SIGTERM leave no partial output nor
work files; a killed run resumes to the same bytes; peak memory stays within
the budget."""

import fcntl
import hashlib
import json
import os
import signal
import subprocess
import sys

import numpy as np
import pytest

import ctrng
from ctrng import cli
from ctrng.shuffle import files as sf
from ctrng.shuffle.jobs import parse_size
from ctrng.shuffle.permutation import Buckets

KEY = ctrng.Key(3, stream=2)


def _digest(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.parametrize("memory, unit, groups", [("64M", 1, 1), ("700K", 1, 16), ("2M", 2, 4), ("1M", 2, 8)])
def test_raw_records_equal_the_in_memory_permutation(tmp_path, memory, unit, groups):
    n = 300001
    records = np.random.default_rng(1).integers(0, 256, (n, 3), dtype=np.uint8)
    src = tmp_path / "records.bin"
    records.tofile(src)
    before = _digest(src)
    plan = sf._Plan(Buckets(KEY, 5, n, 1), 3, 0, parse_size(memory))
    assert (plan.unit, len(plan.groups) - 1) == (unit, groups)  # each way of cutting the passes
    assert ctrng.shuffle_file(src, tmp_path / "out.bin", 3, key=KEY, start=5, memory=memory) == n
    got = np.fromfile(tmp_path / "out.bin", np.uint8).reshape(n, 3)
    assert np.array_equal(got, ctrng.permutation(KEY, records, start=5))
    assert _digest(src) == before
    assert sorted(os.listdir(tmp_path)) == ["out.bin", "records.bin"]  # no temporary files left


def test_side_file_with_32_bit_bucket_numbers(tmp_path, monkeypatch):
    """Groups wider than 2**16 buckets store buckets as uint32: forced here
    by shrinking the width limit to 2 buckets."""
    n = 300001
    records = np.arange(n, dtype=np.uint32)
    src = tmp_path / "r.bin"
    records.tofile(src)
    real = sf._Plan.__init__

    def narrow(self, *args):
        real(self, *args)
        if self.side_dtype is not None:
            self.side_dtype, self.side_bytes = np.uint32, 4

    monkeypatch.setattr(sf._Plan, "__init__", narrow)
    ctrng.shuffle_file(src, tmp_path / "o.bin", 4, key=KEY, memory="1200K")
    plan = sf._Plan(Buckets(KEY, 0, n, 1), 4, 0, parse_size("1200K"))
    assert plan.side_dtype == np.uint32
    assert np.array_equal(np.fromfile(tmp_path / "o.bin", np.uint32), ctrng.permutation(KEY, records))


def test_npy_rows_and_header(tmp_path):
    x = np.arange(5 * 10**5 * 3, dtype=np.float32).reshape(5 * 10**5, 3)
    np.save(tmp_path / "x.npy", x)
    ctrng.shuffle_file(tmp_path / "x.npy", tmp_path / "y.npy", key=KEY, memory="8M", progress=False)
    y = np.load(tmp_path / "y.npy")
    assert y.dtype == x.dtype and y.shape == x.shape
    assert np.array_equal(y, ctrng.permutation(KEY, x))
    one_d = np.arange(1000, dtype="<i8")
    np.save(tmp_path / "v.npy", one_d)
    ctrng.shuffle_file(tmp_path / "v.npy", tmp_path / "w.npy", key=KEY)
    assert np.array_equal(np.load(tmp_path / "w.npy"), one_d[ctrng.permutation(KEY, 1000)])


def test_empty_and_single_record_files(tmp_path):
    (tmp_path / "e.bin").write_bytes(b"")
    assert ctrng.shuffle_file(tmp_path / "e.bin", tmp_path / "f.bin", 8, key=KEY) == 0
    assert (tmp_path / "f.bin").read_bytes() == b""
    (tmp_path / "one.bin").write_bytes(b"abcd")
    assert ctrng.shuffle_file(tmp_path / "one.bin", tmp_path / "two.bin", 4, key=KEY) == 1
    assert (tmp_path / "two.bin").read_bytes() == b"abcd"


def test_progress_bar(tmp_path, capsys):
    np.arange(10**5, dtype=np.int64).tofile(tmp_path / "a.bin")
    ctrng.shuffle_file(tmp_path / "a.bin", tmp_path / "b.bin", 8, key=KEY, progress=True)
    err = capsys.readouterr().err
    assert "pass 1/2" in err and "pass 2/2" in err and "100.0%" in err


def test_errors_before_anything_is_written(tmp_path, monkeypatch):
    src = tmp_path / "s.bin"
    src.write_bytes(bytes(100))
    with pytest.raises(FileNotFoundError):
        ctrng.shuffle_file(tmp_path / "missing.bin", tmp_path / "d.bin", 4, key=KEY)
    with pytest.raises(ValueError, match="not a multiple of record_size"):
        ctrng.shuffle_file(src, tmp_path / "d.bin", 3, key=KEY)
    with pytest.raises(TypeError, match="record_size is required"):
        ctrng.shuffle_file(src, tmp_path / "d.bin", key=KEY)
    with pytest.raises(ValueError, match="source"):
        ctrng.shuffle_file(src, src, 4, key=KEY, overwrite=True)
    (tmp_path / "d.bin").write_bytes(b"keep")
    with pytest.raises(FileExistsError, match="overwrite=True"):
        ctrng.shuffle_file(src, tmp_path / "d.bin", 4, key=KEY)
    big = tmp_path / "big.bin"
    np.zeros(10**6, np.int64).tofile(big)
    with pytest.raises(ValueError, match="too small"):
        ctrng.shuffle_file(big, tmp_path / "d2.bin", 8, key=KEY, memory="64K")
    with pytest.raises(ValueError, match="byte count"):
        ctrng.shuffle_file(src, tmp_path / "d2.bin", 4, key=KEY, memory="lots")
    with pytest.raises(TypeError, match="Key"):
        ctrng.shuffle_file(src, tmp_path / "d2.bin", 4, key=5)
    np.save(tmp_path / "rows.npy", np.zeros((4, 3)))
    with pytest.raises(ValueError, match="rows of"):
        ctrng.shuffle_file(tmp_path / "rows.npy", tmp_path / "g.npy", 8, key=KEY)
    np.save(tmp_path / "f.npy", np.asfortranarray(np.zeros((4, 3))))
    with pytest.raises(ValueError, match="Fortran"):
        ctrng.shuffle_file(tmp_path / "f.npy", tmp_path / "g.npy", key=KEY)
    np.save(tmp_path / "o.npy", np.array([1, "a"], dtype=object), allow_pickle=True)
    with pytest.raises(ValueError, match="o.npy"):
        ctrng.shuffle_file(tmp_path / "o.npy", tmp_path / "g.npy", key=KEY)
    monkeypatch.setattr(sf.shutil, "disk_usage", lambda path: type("U", (), {"free": 10})())
    with pytest.raises(OSError, match="not enough free disk"):
        ctrng.shuffle_file(src, tmp_path / "d3.bin", 4, key=KEY)
    assert (tmp_path / "d.bin").read_bytes() == b"keep"
    assert not (tmp_path / "d2.bin").exists() and not (tmp_path / "d3.bin").exists()
    assert not [p for p in os.listdir(tmp_path) if p.startswith(".")]


def test_an_interrupted_run_leaves_dst_as_it_was(tmp_path, monkeypatch):
    src = tmp_path / "s.bin"
    np.arange(10**5, dtype=np.int64).tofile(src)
    (tmp_path / "d.bin").write_bytes(b"old")

    def fail(*args):
        raise KeyboardInterrupt

    monkeypatch.setattr(sf._Plan, "shuffle_pass", fail)
    with pytest.raises(KeyboardInterrupt):
        ctrng.shuffle_file(src, tmp_path / "d.bin", 8, key=KEY, overwrite=True)
    with pytest.raises(KeyboardInterrupt):
        ctrng.shuffle_file(src, tmp_path / "new.bin", 8, key=KEY)
    assert (tmp_path / "d.bin").read_bytes() == b"old"
    assert sorted(os.listdir(tmp_path)) == ["d.bin", "s.bin"]


def test_parse_size():
    assert parse_size("4096") == 4096
    assert parse_size("64K") == 65536 and parse_size("512MiB") == 512 << 20
    assert parse_size("2g") == 2 << 30 and parse_size(7) == 7
    for bad in ("1.5G", "-3", "12Q", ""):
        with pytest.raises(ValueError):
            parse_size(bad)


def test_command_line(tmp_path, capsys):
    x = np.arange(3000, dtype=np.int16).reshape(1000, 3)
    np.save(tmp_path / "a.npy", x)
    argv = ["shuffle-file", str(tmp_path / "a.npy"), str(tmp_path / "b.npy"), "--root", "3", "--stream", "2",
            "--memory", "1M", "--no-progress"]
    assert cli.main(argv) == 0
    assert np.array_equal(np.load(tmp_path / "b.npy"), ctrng.permutation(KEY, x))
    assert "shuffled 1000 records" in capsys.readouterr().err
    assert cli.main(argv) == 1  # dst exists
    assert "exists" in capsys.readouterr().err
    assert cli.main(argv + ["--overwrite"]) == 0
    raw = tmp_path / "r.bin"
    raw.write_bytes(bytes(range(10)))
    assert cli.main(["shuffle-file", str(raw), str(tmp_path / "q.bin"), "--root", "1", "--record-size", "3"]) == 1
    assert "not a multiple" in capsys.readouterr().err


def test_empty_rows_are_copied(tmp_path):
    """Rows of zero bytes (a .npy of shape (5, 0)) have nothing to move."""
    np.save(tmp_path / "z.npy", np.zeros((5, 0)))
    assert ctrng.shuffle_file(tmp_path / "z.npy", tmp_path / "y.npy", key=KEY) == 5
    assert (tmp_path / "y.npy").read_bytes() == (tmp_path / "z.npy").read_bytes()
    assert np.load(tmp_path / "y.npy").shape == (5, 0)


def test_what_the_source_is_when_it_is_not_a_file(tmp_path):
    (tmp_path / "empty").mkdir()  # a directory stands for its files (a dataset of shards)
    with pytest.raises(FileNotFoundError, match="empty holds no data files"):
        ctrng.shuffle_file(tmp_path / "empty", tmp_path / "d.bin", 4, key=KEY)
    (tmp_path / "empty").rmdir()
    os.mkfifo(tmp_path / "fifo")
    with pytest.raises(ValueError, match=r"fifo is not a regular file \(a FIFO\)"):
        ctrng.shuffle_file(tmp_path / "fifo", tmp_path / "d.bin", 4, key=KEY)
    with pytest.raises(ValueError, match=r"/dev/zero is not a regular file \(a character device\)"):
        ctrng.shuffle_file("/dev/zero", tmp_path / "d.bin", 4, key=KEY)
    assert sorted(os.listdir(tmp_path)) == ["fifo"]


def test_dst_that_is_a_directory_fails_before_any_work(tmp_path, monkeypatch):
    np.arange(1000, dtype=np.int64).tofile(tmp_path / "s.bin")
    (tmp_path / "out").mkdir()

    def no_work(*args):
        raise AssertionError("planned the shuffle before checking dst")

    monkeypatch.setattr(sf, "Buckets", no_work)
    with pytest.raises(IsADirectoryError, match="out is a directory"):
        ctrng.shuffle_file(tmp_path / "s.bin", tmp_path / "out", 8, key=KEY, overwrite=True)
    assert sorted(os.listdir(tmp_path)) == ["out", "s.bin"] and not os.listdir(tmp_path / "out")


# Runs `ctrng shuffle-file ARGS...` and sends itself signal SIG during a
# write: the WRITES-th write after the CALLS-th call of Buckets.FUNC
# (bucket_of: a chunk of pass 1; shuffle: a group of pass 2) puts half its
# bytes on disk, then the signal comes.
_KILLED_RUN = """
import os, signal, sys
from ctrng import cli
from ctrng.shuffle import files as outofcore
from ctrng.shuffle.permutation import Buckets
func, calls, writes, sig = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), getattr(signal, sys.argv[4])
# SIGINT as at a terminal, even where this process was started with SIGINT
# ignored (a background job of a non-interactive shell), which Python keeps.
signal.signal(signal.SIGINT, signal.default_int_handler)
seen = {"calls": 0, "writes": 0}
real_func, real_write = getattr(Buckets, func), outofcore.write_all

def counted(*args, **kwargs):
    seen["calls"] += 1
    return real_func(*args, **kwargs)

def write_all(f, offset, buf):
    if seen["calls"] >= calls:
        seen["writes"] += 1
        if seen["writes"] == writes:
            data = memoryview(buf).cast("B")
            real_write(f, offset, data[:len(data) // 2])
            os.kill(os.getpid(), sig)
    real_write(f, offset, buf)

setattr(Buckets, func, counted)
outofcore.write_all = write_all
sys.exit(cli.main(sys.argv[5:]))
"""


def _shuffle_cli(tmp_path, rs, *extra, stop=None, memory="1M"):
    """`ctrng shuffle-file` of tmp_path/src.bin into tmp_path/dst.bin in a
    subprocess, stopped by stop = (FUNC, CALLS, WRITES, SIGNAL) if given."""
    args = ["shuffle-file", str(tmp_path / "src.bin"), str(tmp_path / "dst.bin"), "--record-size", str(rs),
            "--root", "3", "--stream", "2", "--start", "5", "--memory", memory, *extra]
    code = ["-c", _KILLED_RUN, *map(str, stop)] if stop else ["-m", "ctrng"]
    return subprocess.run([sys.executable, *code, *args], capture_output=True, text=True, timeout=120)


def _work_files(tmp_path):
    return sorted(p for p in os.listdir(tmp_path) if p.startswith("."))


@pytest.mark.parametrize("n, rs", [(600_000, 8), (300_001, 3)])  # one bucket a unit; several, with a side file
def test_a_killed_run_resumes_where_it_stopped(tmp_path, n, rs):
    records = np.random.default_rng(n).integers(0, 256, (n, rs), dtype=np.uint8)
    records.tofile(tmp_path / "src.bin")
    plan = sf._Plan(Buckets(KEY, 5, n, 1), rs, 0, parse_size("1M"))
    assert -(-n // plan.chunk) > 5 and len(plan.groups) - 1 > 5 and (plan.side_bytes > 0) == (rs == 3)
    expected = ctrng.permutation(KEY, records, start=5).tobytes()

    killed = _shuffle_cli(tmp_path, rs, "--progress", stop=("bucket_of", 3, 2, "SIGKILL"))  # in pass 1
    assert killed.returncode == -signal.SIGKILL
    left = [p for p in _work_files(tmp_path) if p.endswith(".tmp")]
    assert left and not (tmp_path / "dst.bin").exists()
    again = _shuffle_cli(tmp_path, rs, "--progress", stop=("shuffle", 4, 1, "SIGKILL"))  # in pass 2
    assert again.returncode == -signal.SIGKILL
    assert "resuming an interrupted run at pass 1/2, record" in again.stderr
    assert [p for p in _work_files(tmp_path) if p.endswith(".tmp")] == left  # the same job's, found and used
    (tmp_path / left[0].replace(".tmp", ".journal.new")).write_text("{")  # as a kill during a save leaves it
    last = _shuffle_cli(tmp_path, rs, "--progress")
    assert last.returncode == 0, last.stderr
    assert "resuming an interrupted run at pass 2/2, group 4 of" in last.stderr  # the group cut short is redone
    assert (tmp_path / "dst.bin").read_bytes() == expected
    assert _work_files(tmp_path) == []

    # Killed in the last chunk of pass 1, in the first group of pass 2, in
    # the last group, and again in that group when it is redone: the result
    # is still the same.
    groups = len(plan.groups) - 1
    for stop in [("bucket_of", -(-n // plan.chunk), 1, "SIGKILL"), ("shuffle", 1, 1, "SIGKILL"),
                 ("shuffle", groups, 1, "SIGKILL"), ("shuffle", 1, 1, "SIGKILL")]:
        assert _shuffle_cli(tmp_path, rs, "--overwrite", stop=stop).returncode == -signal.SIGKILL
    quiet = _shuffle_cli(tmp_path, rs, "--overwrite")
    assert quiet.returncode == 0 and "resuming" not in quiet.stderr  # said only with the progress bar
    assert (tmp_path / "dst.bin").read_bytes() == expected
    assert _work_files(tmp_path) == []


def test_sigterm_cleans_up_like_sigint(tmp_path):
    np.arange(300_000, dtype=np.int64).tofile(tmp_path / "src.bin")
    (tmp_path / "dst.bin").write_bytes(b"old")
    for stop in [("bucket_of", 2, 1, "SIGTERM"), ("shuffle", 3, 1, "SIGTERM"), ("shuffle", 3, 1, "SIGINT")]:
        res = _shuffle_cli(tmp_path, 8, "--overwrite", stop=stop)
        assert res.returncode == (-signal.SIGTERM if stop[3] == "SIGTERM" else 130), res.stderr
        assert _work_files(tmp_path) == []
        assert (tmp_path / "dst.bin").read_bytes() == b"old"


def test_a_changed_job_starts_afresh_and_discards_the_old_files(tmp_path):
    n = 200_000
    first = np.arange(n, dtype=np.int64)
    first.tofile(tmp_path / "src.bin")
    assert _shuffle_cli(tmp_path, 8, stop=("shuffle", 3, 1, "SIGKILL")).returncode == -signal.SIGKILL
    left = _work_files(tmp_path)
    # Another budget cuts the work differently: the old files cannot be used.
    assert _shuffle_cli(tmp_path, 8, "--progress", memory="2M", stop=("shuffle", 2, 1, "SIGKILL")).returncode < 0
    assert not set(left) & set(_work_files(tmp_path))
    # The source rewritten (same size, another mtime and content) is a new job too.
    second = first[::-1].copy()
    second.tofile(tmp_path / "src.bin")
    os.utime(tmp_path / "src.bin", ns=(10**18, 10**18))
    res = _shuffle_cli(tmp_path, 8, "--progress", memory="2M")
    assert res.returncode == 0 and "resuming" not in res.stderr
    assert np.array_equal(np.fromfile(tmp_path / "dst.bin", np.int64), ctrng.permutation(KEY, second, start=5))
    assert _work_files(tmp_path) == []


def test_a_journal_from_another_boot_is_not_trusted(tmp_path):
    """Nothing is forced to disk before the end, so after the machine stopped
    the journal may vouch for data that was lost: one written in another
    boot starts the run afresh (and the result is still right)."""
    records = np.arange(200_000, dtype=np.int64)
    records.tofile(tmp_path / "src.bin")
    assert _shuffle_cli(tmp_path, 8, stop=("shuffle", 3, 1, "SIGKILL")).returncode == -signal.SIGKILL
    journal = tmp_path / next(p for p in _work_files(tmp_path) if p.endswith(".journal"))
    state = json.loads(journal.read_text())
    assert state["pass"] == 2 and state["boot"] == sf.boot_id()
    data = tmp_path / journal.name.replace(".journal", ".tmp")
    data.write_bytes(b"\0" * data.stat().st_size)  # what was not on disk yet is lost
    journal.write_text(json.dumps(dict(state, boot="another boot")))
    res = _shuffle_cli(tmp_path, 8, "--progress")
    assert res.returncode == 0 and "resuming" not in res.stderr
    assert np.array_equal(np.fromfile(tmp_path / "dst.bin", np.int64), ctrng.permutation(KEY, records, start=5))
    assert _work_files(tmp_path) == []


def test_a_live_run_is_left_alone(tmp_path, monkeypatch):
    """A second run of the same job while one is going on fails; the files
    of another job that a live run holds are not discarded."""
    np.arange(100_000, dtype=np.int64).tofile(tmp_path / "s.bin")
    other = tmp_path / f".d.bin.{'0' * 16}.tmp"
    other.write_bytes(b"busy")
    held = os.open(other, os.O_RDONLY)
    fcntl.flock(held, fcntl.LOCK_EX)
    real = sf._discard_stale
    second = []

    def discard_and_try_again(dst, job):
        real(dst, job)
        with pytest.raises(BlockingIOError, match="another run"):
            ctrng.shuffle_file(tmp_path / "s.bin", dst, 8, key=KEY)
        second.append(True)

    monkeypatch.setattr(sf, "_discard_stale", discard_and_try_again)
    ctrng.shuffle_file(tmp_path / "s.bin", tmp_path / "d.bin", 8, key=KEY)
    os.close(held)
    assert second and other.read_bytes() == b"busy"
    assert np.array_equal(np.fromfile(tmp_path / "d.bin", np.int64), ctrng.permutation(KEY, 100_000))
    assert _work_files(tmp_path) == [other.name]


_PEAK_RSS = """
import resource, subprocess, sys
subprocess.run([sys.executable, "-c", sys.argv[1]], check=True)
print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024)
"""


def _peak_rss(code):
    """Peak resident bytes of a Python process running `code`."""
    return int(subprocess.run([sys.executable, "-c", _PEAK_RSS, code], capture_output=True, text=True,
                              check=True, timeout=300).stdout)


@pytest.mark.parametrize("rs", [1, 4, 8, 64])
def test_peak_memory_stays_within_the_budget(tmp_path, rs):
    src = tmp_path / "s.bin"
    np.random.default_rng(rs).integers(0, 256, 32 << 20, dtype=np.uint8).tofile(src)  # twice the budget
    baseline = _peak_rss("import ctrng, numpy")
    peak = _peak_rss(f"import ctrng; ctrng.shuffle_file({str(src)!r}, {str(tmp_path / 'd.bin')!r}, {rs}, "
                     f"key=ctrng.Key(1), memory='16M')")
    assert peak - baseline <= 16 << 20, f"{(peak - baseline) / 2**20:.1f} MiB over the interpreter's"
