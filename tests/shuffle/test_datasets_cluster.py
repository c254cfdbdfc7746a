"""Dataset shuffles as tasks on a dask.distributed LocalCluster of worker
processes: the same files, byte for byte, as in one process, for 1, 2 and 4
workers, and when workers are killed (SIGKILL) in each step: Dask reruns
their tasks and no item is lost or doubled."""

import os
import subprocess
import sys

import pytest

import ctrng
from ctrng.shuffle import dataset
from ctrng.shuffle.spans import SpansFormat

pytest.importorskip("distributed")
from distributed import Client, LocalCluster  # noqa: E402
from dying_formats import DyingLines  # noqa: E402
from test_datasets import KEY, files_of, make_lines, shuffled  # noqa: E402

MEMORY = "3M"  # several pieces and groups for the lines below


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    folder = tmp_path_factory.mktemp("corpus")
    lines = make_lines(200000, seed=5)
    for i in range(3):
        (folder / f"c{i}.txt").write_bytes(b"".join(lines[i * 70000:(i + 1) * 70000]))
    return sorted(folder.iterdir()), lines


def cluster(workers):
    return LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, memory_limit="1GiB",
                        dashboard_address=None)


def read_shards(dst):
    return b"".join((dst / name).read_bytes() for name in files_of(dst))


@pytest.mark.parametrize("workers, shards", [(1, None), (2, 3), (4, 3)])
def test_a_cluster_writes_the_files_one_process_writes(corpus, tmp_path, workers, shards):
    sources, lines = corpus
    ctrng.shuffle_file(sources, tmp_path / "here", key=KEY, format="lines", memory=MEMORY, num_shards=shards)
    with cluster(workers) as c, Client(c) as client:
        ctrng.shuffle_file(sources, tmp_path / "there", key=KEY, format="lines", memory=MEMORY, num_shards=shards,
                           client=client)
    here, there = tmp_path / "here", tmp_path / "there"
    if shards:
        assert files_of(there) == files_of(here) and len(files_of(there)) == shards
        for name in files_of(here):
            assert (there / name).read_bytes() == (here / name).read_bytes()
        there = read_shards(there)
    else:
        there = there.read_bytes()
    assert there == b"".join(shuffled(lines))
    assert not [p for p in os.listdir(tmp_path) if p.endswith(".work")]


@pytest.mark.parametrize("files, victims", [(1, dict(piece=1, partition=1)), (3, dict(part="part-000001.data"))])
def test_killed_workers_are_replaced_and_the_result_is_the_same(corpus, tmp_path, files, victims):
    """A worker dies (SIGKILL) while reading piece 1 (scatter step) and
    while reading the spill sections of the group that starts at partition
    1 (shuffle step, writing into the one output file), or, with 3 output
    files, while reading part file 1 (writing them): the nanny starts a new
    worker, the scheduler reruns the lost tasks."""
    sources, lines = corpus
    if "piece" in victims:
        plan = dataset._Plan(SpansFormat("lines", sources), KEY, 0, ctrng.shuffle.jobs.parse_size(MEMORY), tmp_path)
        victims = dict(victims, piece=plan.pieces[victims["piece"]])
    fmt = DyingLines(sources, str(tmp_path), **victims)
    with cluster(2) as c, Client(c) as client:
        dst = ctrng.shuffle.dataset.check_destination(tmp_path / "out", sources, False)
        n = dataset.shuffle_dataset(fmt, dst, key=KEY, start=0, memory=MEMORY, overwrite=False, threads=None,
                                    progress=False, client=client, num_files=files, directory=files > 1)
    assert n == len(lines)
    died = {"piece": "piece", "partition": "spill", "part": "part"}
    assert sorted(p for p in os.listdir(tmp_path) if p in died.values()) == sorted(died[v] for v in victims)
    got = read_shards(tmp_path / "out") if files > 1 else (tmp_path / "out").read_bytes()
    assert got == b"".join(shuffled(lines))


def test_the_killed_steps_exist(corpus, tmp_path):
    """The victims of the test above are real: piece 1, a group starting at
    partition 1 and a part file 1 exist for these lines and this budget."""
    sources, _ = corpus
    plan = dataset._Plan(SpansFormat("lines", sources), KEY, 0, ctrng.shuffle.jobs.parse_size(MEMORY), tmp_path)
    first = 0
    for m in range(len(plan.pieces)):
        first += dataset.scatter_task(plan, m, first)
    plan.finish(first)
    assert len(plan.pieces) > 1 and 1 in [pa for pa, _ in plan.groups] and len(plan.groups) > 1


_KILLED_CLIENT = """
import os, signal, sys
from distributed import Client
import ctrng
from ctrng.shuffle import dataset
real, calls = dataset._share, []

def share(plan, name):
    calls.append(name)
    if len(calls) == 2:  # the scatter step is done
        os.kill(os.getpid(), signal.SIGKILL)
    return real(plan, name)

dataset._share = share
with Client(sys.argv[1]) as client:
    ctrng.shuffle_file(sys.argv[2:-1], sys.argv[-1], key=ctrng.Key(2024, rank=3), format="lines", memory="3M",
                       client=client)
"""


def test_a_killed_client_resumes_where_it_stopped(corpus, tmp_path, monkeypatch):
    """The client dies (SIGKILL) after the scatter step; the same call again
    does not scatter again and writes the same bytes."""
    sources, lines = corpus
    with cluster(2) as c, Client(c) as client:
        killed = subprocess.run([sys.executable, "-c", _KILLED_CLIENT, c.scheduler_address,
                                 *map(str, sources), str(tmp_path / "out")], capture_output=True, text=True)
        assert killed.returncode == -9, killed.stderr
        (work,) = [p for p in tmp_path.iterdir() if p.name.endswith(".work")]
        scattered = {p.name: p.stat().st_mtime_ns for p in work.glob("spill-*.npy")}
        assert len(scattered) > 1
        seen = {}
        real = dataset._Plan.finish

        def finish(self, n, threads=None):
            seen.update({p.name: p.stat().st_mtime_ns for p in work.glob("spill-*.npy")})
            return real(self, n, threads)

        monkeypatch.setattr(dataset._Plan, "finish", finish)
        ctrng.shuffle_file(sources, tmp_path / "out", key=KEY, format="lines", memory=MEMORY, client=client)
    assert seen == scattered  # no piece was scattered again
    assert (tmp_path / "out").read_bytes() == b"".join(shuffled(lines))
