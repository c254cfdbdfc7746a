"""ctrng.shuffle_file and `ctrng shuffle-file`: the result equals the
in-memory permutation for every way the passes can be cut; the source is
never modified; failures leave no partial output."""

import hashlib
import os

import numpy as np
import pytest

import ctrng
from ctrng import cli
from ctrng import outofcore as sf
from ctrng.permute import Buckets

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
    plan = sf._Plan(Buckets(KEY, 5, n, 1), 3, 0, sf.parse_size(memory))
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
    plan = sf._Plan(Buckets(KEY, 0, n, 1), 4, 0, sf.parse_size("1200K"))
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
    assert sf.parse_size("4096") == 4096
    assert sf.parse_size("64K") == 65536 and sf.parse_size("512MiB") == 512 << 20
    assert sf.parse_size("2g") == 2 << 30 and sf.parse_size(7) == 7
    for bad in ("1.5G", "-3", "12Q", ""):
        with pytest.raises(ValueError):
            sf.parse_size(bad)


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
