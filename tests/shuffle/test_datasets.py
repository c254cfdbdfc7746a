"""Dataset shuffles (ctrng.shuffle_file with format="lines", many source
files, shards): every output equals the in-memory permutation of the
items, taken in Python from ctrng.permutation, whatever the memory budget,
the number of pieces and groups, the threads, the sources' split into files
or the shards; bad input fails before any output; a killed run resumes to
the same bytes."""

import glob
import hashlib
import os
import signal
import subprocess
import sys
import warnings

import numpy as np
import pytest

import ctrng
from ctrng.shuffle import dataset
from ctrng.shuffle.spans import SpansFormat

KEY = ctrng.Key(2024, rank=3)


def make_lines(n, seed=0, longest=60):
    """Lines of random bytes (no newline inside; any other byte, so no
    encoding), some empty, some ending in \\r\\n."""
    rng = np.random.default_rng(seed)
    alphabet = np.frombuffer(b"abc\x00\xff\xe9 {}\"\r", np.uint8)
    lengths = rng.integers(0, longest, n)
    body = alphabet[rng.integers(0, len(alphabet), int(lengths.sum()))].tobytes()
    ends = np.cumsum(lengths)
    crlf = rng.random(n) < 0.1
    return [body[e - k:e] + (b"\r\n" if c else b"\n") for e, k, c in zip(ends.tolist(), lengths.tolist(), crlf)]


def shuffled(items, key=KEY, start=0):
    return [items[i] for i in ctrng.permutation(key, len(items), start=start)]


def files_of(path):
    return [p for p in sorted(os.listdir(path))]


def work_dirs(path):
    return [p for p in os.listdir(path) if p.endswith(".work")]


@pytest.fixture(scope="module")
def lines():
    return make_lines(200000)


@pytest.fixture
def corpus(tmp_path, lines):
    src = tmp_path / "corpus.jsonl"
    src.write_bytes(b"".join(lines))
    return src


class Counted(SpansFormat):
    """A format that counts what the engine does with it."""

    reads = 0

    def read(self, piece):
        Counted.reads += 1
        return super().read(piece)


@pytest.mark.parametrize("memory", ["3M", "6M", "12M", "1G"])
def test_lines_are_the_in_memory_permutation(corpus, lines, tmp_path, memory):
    dst = tmp_path / "out.jsonl"
    assert ctrng.shuffle_file(corpus, dst, key=KEY, format="lines", memory=memory) == len(lines)
    assert dst.read_bytes() == b"".join(shuffled(lines))
    assert sorted(os.listdir(tmp_path)) == ["corpus.jsonl", "out.jsonl"]  # no work files left


def test_the_budgets_above_cut_the_work_several_ways(corpus):
    """The budgets of the test above give one piece and one group, and
    several of both (so each path runs)."""
    cuts = set()
    for memory in (3 << 20, 6 << 20, 12 << 20, 1 << 30):
        plan = dataset._Plan(SpansFormat("lines", [corpus]), KEY, 0, memory, corpus.parent)
        for m in range(len(plan.pieces)):
            dataset.scatter_task(plan, m, sum(len(plan.fmt.read(p)) for p in plan.pieces[:m]))
        plan.finish(200000)
        cuts.add((len(plan.pieces) > 1, len(plan.groups) > 1))
        for p in corpus.parent.glob("spill-*"):
            p.unlink()
    assert cuts == {(False, False), (True, True)}


def test_partitions_finer_than_buckets_keep_the_input_order(corpus, lines, tmp_path, monkeypatch):
    """Where a bucket spans partitions (more partitions than buckets: n
    smaller than estimated), the shuffle step restores each bucket's input
    order from the words before sorting by bucket."""
    real = dataset._Plan.__init__

    def finer(self, *args):
        real(self, *args)
        self.pbits = 6  # 200000 items have 8 buckets (B = 3)

    monkeypatch.setattr(dataset._Plan, "__init__", finer)
    dst = tmp_path / "out.jsonl"
    ctrng.shuffle_file(corpus, dst, key=KEY, format="lines", memory="3M")
    assert dst.read_bytes() == b"".join(shuffled(lines))


def test_start_threads_and_algorithms(corpus, lines, tmp_path):
    key = ctrng.Key(5, algorithm="threefry4x64")
    want = b"".join(shuffled(lines, key, start=77))
    for threads in (1, 2):
        dst = tmp_path / f"out{threads}"
        ctrng.shuffle_file(corpus, dst, key=key, start=77, format="lines", memory="4M", threads=threads)
        assert dst.read_bytes() == want


@pytest.mark.parametrize("memory", ["5M", "1G"])  # spill files; all in memory
def test_many_files_are_one_dataset(tmp_path, lines, memory):
    """A list, a glob and a directory of files give the same bytes as their
    concatenation in one file; empty files and files of one line count."""
    parts = [lines[:10000], [], lines[10000:10001], lines[10001:25000], lines[25000:]]
    folder = tmp_path / "shards"
    folder.mkdir()
    for i, part in enumerate(parts):
        (folder / f"s{i:02d}.txt").write_bytes(b"".join(part))
    want = b"".join(shuffled(lines))
    paths = sorted(folder.iterdir())
    for k, src in enumerate([paths, str(folder / "s*.txt"), folder]):
        dst = tmp_path / f"out{k}.txt"
        assert ctrng.shuffle_file(src, dst, key=KEY, format="lines", memory=memory) == len(lines)
        assert dst.read_bytes() == want


@pytest.mark.parametrize("num_shards", [1, 3, 7])
def test_shard_k_is_the_kth_slice(corpus, lines, tmp_path, num_shards):
    dst = tmp_path / "shards"
    ctrng.shuffle_file(corpus, dst, key=KEY, format="lines", memory="4M", num_shards=num_shards)
    names = files_of(dst)
    assert names == [f"shard-{k:05d}-of-{num_shards:05d}.jsonl" for k in range(num_shards)]
    want, n = shuffled(lines), len(lines)
    for k, name in enumerate(names):
        assert (dst / name).read_bytes() == b"".join(want[n * k // num_shards:n * (k + 1) // num_shards])


def test_more_shards_than_items_gives_empty_shards(tmp_path):
    src = tmp_path / "two.txt"
    src.write_bytes(b"a\nb\n")
    ctrng.shuffle_file(src, tmp_path / "out", key=KEY, format="lines", num_shards=4)
    got = [(tmp_path / "out" / name).read_bytes() for name in files_of(tmp_path / "out")]
    assert len(got) == 4 and sorted(got) == [b"", b"", b"a\n", b"b\n"]


def test_lines_edge_cases(tmp_path):
    """Empty file, one line, empty lines only, a last line without a newline
    (which gets one, with a warning naming the file)."""
    cases = {b"": [], b"x": [b"x\n"], b"\n\n\n": [b"\n"] * 3, b"a\r\nb": [b"a\r\n", b"b\n"]}
    for i, (data, items) in enumerate(cases.items()):
        src = tmp_path / f"in{i}"
        src.write_bytes(data)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            n = ctrng.shuffle_file(src, tmp_path / f"out{i}", key=KEY, format="lines")
        assert n == len(items)
        assert (tmp_path / f"out{i}").read_bytes() == b"".join(shuffled(items))
        added = [str(w.message) for w in caught if "no newline" in str(w.message)]
        assert added == ([f"{src}: the last line has no newline; the output gives it one"]
                         if data and not data.endswith(b"\n") else [])


def test_files_without_a_last_newline_in_several_pieces(tmp_path, lines):
    """Files cut into several pieces whose last line has no newline (read
    from the mapped file, it is copied out with the newline added): the
    output is the permutation of all the lines, each of those given one."""
    parts = [lines[:60000], lines[60000:61000], lines[61000:120000]]
    items, paths = [], []
    for i, part in enumerate(parts):
        paths.append(tmp_path / f"in{i}.txt")
        last = part[-1] if i == 1 else b"no newline %d" % i
        paths[-1].write_bytes(b"".join(part[:-1]) + last)
        items += part[:-1] + [last if i == 1 else last + b"\n"]
    with pytest.warns(UserWarning, match="no newline"):
        n = ctrng.shuffle_file(paths, tmp_path / "out.txt", key=KEY, format="lines", memory="4M")
    assert n == len(items)
    assert (tmp_path / "out.txt").read_bytes() == b"".join(shuffled(items))


@pytest.mark.parametrize("width", [None, 3])
def test_gathering_items_from_several_buffers(width):
    """bridge.gather_spans against indexing in Python: items laid end to end
    over buffers of 0 to 40 items (empty ones included), any order with
    repeats."""
    from ctrng._core import bridge

    rng = np.random.default_rng(5)
    items = [rng.integers(0, 256, width or int(rng.integers(0, 9)), dtype=np.uint8).tobytes() for _ in range(300)]
    cuts = np.sort(rng.integers(0, 301, 12))
    bounds = [0, *cuts.tolist(), 300]
    parts = [np.frombuffer(b"".join(items[a:b]), np.uint8) for a, b in zip(bounds[:-1], bounds[1:])]
    ends = None if width else np.cumsum([len(x) for x in items]).astype(np.uint64)
    order = rng.integers(0, 300, 500).astype(np.int64)
    want = b"".join(items[i] for i in order)
    dst, dst_ends = np.empty(len(want), np.uint8), np.empty(len(order), np.uint64)
    bridge.gather_spans(parts, np.asarray(bounds[:-1], np.uint64), ends, width, order, dst, dst_ends)
    assert dst.tobytes() == want
    assert dst_ends.tolist() == np.cumsum([len(items[i]) for i in order]).tolist()


def test_a_header_line_heads_every_output(tmp_path, lines):
    rows = [b"%d,%s\n" % (i, line.strip(b"\r\n").replace(b",", b";")) for i, line in enumerate(lines[:5000])]
    for i in range(2):
        (tmp_path / f"t{i}.csv").write_bytes(b"id,text\n" + b"".join(rows[i * 2500:(i + 1) * 2500]))
    srcs = [tmp_path / "t0.csv", tmp_path / "t1.csv"]
    ctrng.shuffle_file(srcs, tmp_path / "out.csv", key=KEY, format="lines", header=True)
    assert (tmp_path / "out.csv").read_bytes() == b"id,text\n" + b"".join(shuffled(rows))
    ctrng.shuffle_file(srcs, tmp_path / "shards", key=KEY, format="lines", header=True, num_shards=2)
    want = shuffled(rows)
    for k, name in enumerate(files_of(tmp_path / "shards")):
        assert (tmp_path / "shards" / name).read_bytes() == b"id,text\n" + b"".join(want[2500 * k:2500 * (k + 1)])
    (tmp_path / "t1.csv").write_bytes(b"id,body\n" + b"".join(rows[:10]))
    with pytest.raises(ValueError, match="t1.csv: its header line differs from the one of .*t0.csv"):
        ctrng.shuffle_file(srcs, tmp_path / "other.csv", key=KEY, format="lines", header=True)


def test_records_and_npy_in_many_files_match_the_one_file_shuffle(tmp_path):
    """The spill engine (many files, shards) gives the bytes of the in-place
    engine on the concatenation (one file), for records and .npy rows."""
    rows = np.arange(60000 * 3, dtype=np.int32).reshape(60000, 3)
    rows.tofile(tmp_path / "all.bin")
    for i, cut in enumerate(np.split(rows, [1000, 1000, 30000])):
        cut.tofile(tmp_path / f"part{i}.bin")
        np.save(tmp_path / f"part{i}.npy", cut)
    ctrng.shuffle_file(tmp_path / "all.bin", tmp_path / "one.bin", 12, key=KEY, memory="2M")
    parts = sorted(glob.glob(str(tmp_path / "part*.bin")))
    ctrng.shuffle_file(parts, tmp_path / "many.bin", 12, key=KEY, memory="2M")
    assert (tmp_path / "many.bin").read_bytes() == (tmp_path / "one.bin").read_bytes()
    want = rows[ctrng.permutation(KEY, len(rows))]
    assert (np.fromfile(tmp_path / "many.bin", np.int32).reshape(-1, 3) == want).all()
    ctrng.shuffle_file(str(tmp_path / "part*.npy"), tmp_path / "npy", key=KEY, memory="2M", num_shards=3)
    shards = [np.load(tmp_path / "npy" / name) for name in files_of(tmp_path / "npy")]
    assert [len(s) for s in shards] == [20000] * 3 and (np.concatenate(shards) == want).all()
    np.save(tmp_path / "part9.npy", rows[:5].astype(np.int64))
    with pytest.raises(ValueError, match="part9.npy: its rows .* differ from those of .*part0.npy"):
        ctrng.shuffle_file(str(tmp_path / "part*.npy"), tmp_path / "bad", key=KEY, num_shards=2)


def test_bad_input_fails_before_any_output(tmp_path, corpus):
    before = corpus.read_bytes()
    with pytest.raises(FileNotFoundError, match="no file matches"):
        ctrng.shuffle_file(str(tmp_path / "nothing*.txt"), tmp_path / "o", key=KEY, format="lines")
    with pytest.raises(ValueError, match="is or holds the source file"):
        ctrng.shuffle_file([corpus], corpus, key=KEY, format="lines", overwrite=True)
    with pytest.raises(ValueError, match="is or holds the source file"):
        ctrng.shuffle_file([corpus], tmp_path, key=KEY, format="lines", num_shards=2, overwrite=True)
    (tmp_path / "taken").mkdir()
    with pytest.raises(FileExistsError, match="taken exists; pass overwrite=True"):
        ctrng.shuffle_file(corpus, tmp_path / "taken", key=KEY, format="lines", num_shards=2)
    with pytest.raises(ValueError, match="format must be"):
        ctrng.shuffle_file(corpus, tmp_path / "o", key=KEY, format="csv")
    with pytest.raises(ValueError, match="header=True is for format='lines'"):
        ctrng.shuffle_file(corpus, tmp_path / "o", 4, key=KEY, header=True)
    with pytest.raises(TypeError, match="header must be True or False"):
        ctrng.shuffle_file(corpus, tmp_path / "o", key=KEY, format="lines", header="yes")
    with pytest.raises(ValueError, match="num_shards"):
        ctrng.shuffle_file(corpus, tmp_path / "o", key=KEY, format="lines", num_shards=0)
    with pytest.raises(TypeError, match="num_shards"):
        ctrng.shuffle_file(corpus, tmp_path / "o", key=KEY, format="lines", num_shards=2.5)
    with pytest.raises(TypeError, match="client must be a dask.distributed Client, not str"):
        ctrng.shuffle_file(corpus, tmp_path / "o", key=KEY, format="lines", client="tcp://x:8786")
    with pytest.raises(TypeError, match="src must be"):
        ctrng.shuffle_file(3, tmp_path / "o", key=KEY, format="lines")
    assert corpus.read_bytes() == before
    assert sorted(os.listdir(tmp_path)) == ["corpus.jsonl", "taken"]


def test_a_line_longer_than_the_budget_is_an_error_before_any_output(tmp_path):
    src = tmp_path / "long.txt"
    src.write_bytes(b"short\n" * 20000 + b"L" * (3 << 20) + b"\n" + b"short\n" * 1000)
    with pytest.raises(ValueError, match=r"long.txt: the line at byte 120000 is longer than \d+ bytes"):
        ctrng.shuffle_file(src, tmp_path / "o.txt", key=KEY, format="lines", memory="2M")
    assert sorted(os.listdir(tmp_path)) == ["long.txt"]


def test_a_budget_too_small_for_a_bucket_is_an_error_before_any_work(tmp_path, corpus, monkeypatch):
    def no_work(*args, **kwargs):
        raise AssertionError("read the data before checking the budget")

    monkeypatch.setattr(dataset, "scatter_task", no_work)
    with pytest.raises(ValueError, match=r"memory = 1048576 bytes is too small for this dataset: .* about \d+ bytes"):
        ctrng.shuffle_file(corpus, tmp_path / "o", key=KEY, format="lines", memory="1M")
    assert sorted(os.listdir(tmp_path)) == ["corpus.jsonl"]


def test_too_little_disk_is_an_error_before_writing(tmp_path, corpus, monkeypatch):
    monkeypatch.setattr(dataset.shutil, "disk_usage", lambda path: type("U", (), {"free": 1000})())
    with pytest.raises(OSError, match="not enough free disk"):
        ctrng.shuffle_file(corpus, tmp_path / "o", key=KEY, format="lines")
    assert sorted(os.listdir(tmp_path)) == ["corpus.jsonl"]


def test_an_error_in_the_shuffle_step_leaves_nothing(tmp_path, corpus, monkeypatch):
    def fail(*args, **kwargs):
        raise OSError("disk gone")

    monkeypatch.setattr(dataset, "shuffle_task", fail)
    (tmp_path / "o").write_bytes(b"old")
    with pytest.raises(OSError, match="disk gone"):
        ctrng.shuffle_file(corpus, tmp_path / "o", key=KEY, format="lines", memory="4M", overwrite=True)
    assert sorted(os.listdir(tmp_path)) == ["corpus.jsonl", "o"] and (tmp_path / "o").read_bytes() == b"old"


def test_overwrite_replaces_a_directory_of_shards(tmp_path, corpus, lines):
    dst = tmp_path / "shards"
    dst.mkdir()
    (dst / "stale.txt").write_bytes(b"old")
    ctrng.shuffle_file(corpus, dst, key=KEY, format="lines", num_shards=2, overwrite=True)
    assert files_of(dst) == ["shard-00000-of-00002.jsonl", "shard-00001-of-00002.jsonl"]
    assert sorted(os.listdir(tmp_path)) == ["corpus.jsonl", "shards"]


# A run of `shuffle_file` that kills itself (SIGKILL) at the CALL-th call of
# dataset.FUNC, then the same call again must resume and give the bytes of an
# uninterrupted run.
_KILLED = """
import os, signal, sys
import ctrng
from ctrng.shuffle import dataset
func, call, src, dst, shards = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], int(sys.argv[5])
sig = getattr(signal, sys.argv[6] if len(sys.argv) > 6 else "SIGKILL")
signal.signal(signal.SIGINT, signal.default_int_handler)  # as at a terminal, even when started with it ignored
real, seen = getattr(dataset, func), [0]

def counted(*args, **kwargs):
    seen[0] += 1
    if seen[0] == call:
        os.kill(os.getpid(), sig)
    return real(*args, **kwargs)

setattr(dataset, func, counted)
ctrng.shuffle_file(src, dst, key=ctrng.Key(2024, rank=3), format="lines", memory="3M",
                   num_shards=shards or None)
"""


@pytest.mark.parametrize("func, call, shards", [("scatter_task", 3, 0), ("shuffle_task", 2, 0),
                                                ("shuffle_task", 3, 4)])
def test_a_killed_run_resumes_to_the_same_bytes(tmp_path, corpus, lines, func, call, shards, monkeypatch):
    dst = tmp_path / "out"
    killed = subprocess.run([sys.executable, "-c", _KILLED, func, str(call), str(corpus), str(dst), str(shards)],
                            capture_output=True, text=True)
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    assert not dst.exists() and len(work_dirs(tmp_path)) == 1
    Counted.reads = 0
    monkeypatch.setattr(ctrng.shuffle.files, "SpansFormat", Counted)
    ctrng.shuffle_file(corpus, dst, key=KEY, format="lines", memory="3M", num_shards=shards or None)
    pieces = len(dataset._Plan(SpansFormat("lines", [corpus]), KEY, 0, 3 << 20, tmp_path).pieces)
    assert Counted.reads == (pieces - (call - 1) if func == "scatter_task" else 0)  # done pieces are not read
    want = b"".join(shuffled(lines))
    got = dst.read_bytes() if not shards else b"".join((dst / n).read_bytes() for n in files_of(dst))
    assert got == want and work_dirs(tmp_path) == []


def test_a_run_with_other_parameters_discards_a_killed_runs_files(tmp_path, corpus, lines):
    dst = tmp_path / "out"
    killed = subprocess.run([sys.executable, "-c", _KILLED, "shuffle_task", "2", str(corpus), str(dst), "0"])
    assert killed.returncode == -signal.SIGKILL and len(work_dirs(tmp_path)) == 1
    ctrng.shuffle_file(corpus, dst, key=ctrng.Key(1), format="lines", memory="3M")
    assert dst.read_bytes() == b"".join(shuffled(lines, ctrng.Key(1))) and work_dirs(tmp_path) == []


@pytest.mark.parametrize("sig", ["SIGTERM", "SIGINT"])
@pytest.mark.parametrize("func", ["scatter_task", "shuffle_task"])
def test_sigterm_and_sigint_leave_nothing(tmp_path, corpus, sig, func):
    stopped = subprocess.run([sys.executable, "-c", _KILLED, func, "2", str(corpus), str(tmp_path / "o"), "0", sig],
                             capture_output=True, text=True)
    assert stopped.returncode == -getattr(signal, sig), stopped.stderr
    assert sig == "SIGTERM" or "KeyboardInterrupt" in stopped.stderr
    assert sorted(os.listdir(tmp_path)) == ["corpus.jsonl"]


_STOPPED = _KILLED.replace("os.kill(os.getpid(), sig)", "os.kill(os.getpid(), signal.SIGSTOP)")


def test_a_second_run_into_the_same_dst_waits_for_no_one(tmp_path, corpus, lines):
    """While a run is alive (here: stopped), another run of the same job
    refuses (BlockingIOError) and deletes nothing; once the first is killed,
    the next run resumes its work."""
    dst = tmp_path / "o"
    first = subprocess.Popen([sys.executable, "-c", _STOPPED, "shuffle_task", "2", str(corpus), str(dst), "0"])
    try:
        for _ in range(600):
            if os.path.exists(f"/proc/{first.pid}/stat") and open(f"/proc/{first.pid}/stat").read().split()[2] == "T":
                break
            subprocess.run(["sleep", "0.05"])
        with pytest.raises(BlockingIOError, match="another run is shuffling"):
            ctrng.shuffle_file(corpus, dst, key=KEY, format="lines", memory="3M")
        assert len(work_dirs(tmp_path)) == 1
    finally:
        first.kill()
        first.wait()
    ctrng.shuffle_file(corpus, dst, key=KEY, format="lines", memory="3M")
    assert dst.read_bytes() == b"".join(shuffled(lines)) and work_dirs(tmp_path) == []


def test_bad_budgets_keys_and_starts(tmp_path, corpus):
    for memory, error in [("abc", "memory is not a byte count"), (100, "memory = 100 bytes is too small"),
                          (1.5e6, "memory is not a byte count"), ("1K", r"memory = 1024 bytes is too small")]:
        with pytest.raises(ValueError, match=error):
            ctrng.shuffle_file(corpus, tmp_path / "o", key=KEY, format="lines", memory=memory)
    with pytest.raises(TypeError, match="key"):
        ctrng.shuffle_file(corpus, tmp_path / "o", key=7, format="lines")
    with pytest.raises(ValueError, match="start"):
        ctrng.shuffle_file(corpus, tmp_path / "o", key=KEY, format="lines", start=-1)
    assert sorted(os.listdir(tmp_path)) == ["corpus.jsonl"]


def test_progress_bar_on_request_only(tmp_path, corpus, capfd):
    ctrng.shuffle_file(corpus, tmp_path / "a", key=KEY, format="lines", memory="4M", progress=True)
    err = capfd.readouterr().err
    assert "shuffle-file 1/2" in err and "shuffle-file 2/2" in err and "100.0%" in err
    ctrng.shuffle_file(corpus, tmp_path / "b", key=KEY, format="lines", memory="4M")
    assert capfd.readouterr().err == ""


_PEAK = """
import resource, sys
import ctrng
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
ctrng.shuffle_file(sys.argv[1], sys.argv[2], key=ctrng.Key(1), format="lines", memory=sys.argv[3])
print(base, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""


def test_peak_memory_stays_within_the_budget(tmp_path):
    """A 20 MB file of lines with memory = 16 MB (several pieces and groups):
    the process's peak RSS grows by at most the budget (plus 4 MB of slack
    for the interpreter's own allocations) over its size after `import
    ctrng`."""
    rng = np.random.default_rng(0)
    with open(tmp_path / "big.txt", "wb") as f:
        for _ in range(24):
            lengths = rng.integers(20, 400, 4000)
            f.write(b"".join(b"z" * int(n) + b"\n" for n in lengths))
    out = subprocess.run([sys.executable, "-c", _PEAK, str(tmp_path / "big.txt"), str(tmp_path / "o"), "16M"],
                         capture_output=True, text=True, check=True)
    base, peak = map(int, out.stdout.split())
    assert (peak - base) * 1024 <= (16 << 20) + (4 << 20), (base, peak)


def test_sources_are_never_modified(tmp_path, corpus):
    digest = hashlib.sha256(corpus.read_bytes()).hexdigest()
    mtime = corpus.stat().st_mtime_ns
    ctrng.shuffle_file(corpus, tmp_path / "o", key=KEY, format="lines", memory="3M", num_shards=2)
    assert hashlib.sha256(corpus.read_bytes()).hexdigest() == digest and corpus.stat().st_mtime_ns == mtime


def test_written_groups_give_back_their_spill_space(tmp_path, corpus, lines, monkeypatch):
    """After each group is written (and recorded), its spill sections are
    punched out: the spill files hold fewer blocks group by group."""
    real, blocks = dataset.shuffle_task, []

    def measured(plan, g, threads=None):
        blocks.append(sum(plan.spill(m)[0].stat().st_blocks for m in range(len(plan.pieces))))
        return real(plan, g, threads)

    monkeypatch.setattr(dataset, "shuffle_task", measured)
    ctrng.shuffle_file(corpus, tmp_path / "o", key=KEY, format="lines", memory="3M")
    assert len(blocks) > 2 and all(a > b for a, b in zip(blocks, blocks[1:])), blocks
    assert (tmp_path / "o").read_bytes() == b"".join(shuffled(lines))
