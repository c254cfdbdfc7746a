"""ctrng.torch and ctrng.init on PyTorch tensors, WorkerInit in a real
DataLoader, and a 2-process torch.distributed run started by torchrun."""

import json
import os
import random
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

# CI installs torch (the "torch" extra); elsewhere these tests may skip.
torch = __import__("torch") if os.environ.get("CI") else pytest.importorskip("torch")
import ctrng  # noqa: E402
import ctrng.torch as ct  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
KEY = ctrng.Key(5, rank=2)


@pytest.mark.parametrize("name, args, dtype, stateless", [
    ("random_", (), torch.float32, lambda n: ctrng.random(KEY, n, 3, np.float32)),
    ("standard_normal_", (), torch.float64, lambda n: ctrng.standard_normal(KEY, n, 3)),
    ("uniform_", (-1.0, 2.0), torch.float32, lambda n: ctrng.uniform(KEY, -1.0, 2.0, n, 3, np.float32)),
    ("normal_", (1.0, 0.5), torch.float64, lambda n: ctrng.normal(KEY, 1.0, 0.5, n, 3)),
    ("integers_", (0, 10), torch.int64, lambda n: ctrng.integers(KEY, 0, 10, n, 3)),
    ("bernoulli_", (0.3,), torch.bool, lambda n: ctrng.bernoulli(KEY, 0.3, n, 3)),
])
def test_cpu_fills_equal_the_stateless_functions(name, args, dtype, stateless):
    t = torch.empty(6, 5, dtype=dtype)
    assert getattr(ct, name)(t, KEY, *args, start=3) is t
    assert np.array_equal(t.numpy().reshape(-1), stateless(30))


def test_fill_errors():
    with pytest.raises(ValueError, match="contiguous"):
        ct.random_(torch.empty(4, 4).t(), KEY)
    with pytest.raises(TypeError, match="torch.Tensor"):
        ct.random_(np.zeros(3), KEY)
    with pytest.raises(TypeError, match="dtype"):
        ct.random_(torch.empty(3, dtype=torch.float16), KEY)


def test_init_fills_parameters_in_place():
    layer = torch.nn.Linear(20, 30)
    key = ctrng.init.parameter_key(1, "fc.weight")
    ctrng.init.kaiming_uniform_(layer.weight, key, a=5 ** 0.5)
    expected = np.empty((30, 20), np.float32)
    ctrng.init.kaiming_uniform_(expected, key, a=5 ** 0.5)
    assert layer.weight.requires_grad and np.array_equal(layer.weight.detach().numpy(), expected)
    ctrng.init.orthogonal_(layer.weight, key)
    w = layer.weight.detach().numpy().astype(np.float64)
    assert np.allclose(w.T @ w, np.eye(20), atol=1e-5)


def test_world_from_torchrun_environment(monkeypatch):
    monkeypatch.setenv("RANK", "3")
    monkeypatch.setenv("WORLD_SIZE", "8")
    monkeypatch.setenv("LOCAL_RANK", "1")
    assert ct.world() == (3, 8, 1)
    monkeypatch.delenv("RANK")
    monkeypatch.delenv("WORLD_SIZE")
    monkeypatch.delenv("LOCAL_RANK")
    assert ct.world() == (0, 1, 0)


class Draws(torch.utils.data.Dataset):
    """Each item: what this worker's NumPy, random, torch and ctrng draw."""

    def __len__(self):
        return 8

    def __getitem__(self, i):
        return (float(np.random.rand()), random.random(), float(torch.rand(1)),
                float(ct.worker_generator().random()))


def _epoch(init, epoch):
    init.set_epoch(epoch)
    loader = torch.utils.data.DataLoader(Draws(), batch_size=None, num_workers=2, worker_init_fn=init,
                                         multiprocessing_context="fork")
    return [tuple(row) for row in loader]


def test_worker_init_gives_every_worker_its_own_streams():
    init = ct.WorkerInit(11, rank=1)
    first = _epoch(init, 0)
    # workers 0 and 1 alternate items; their draws differ in every library
    for column in range(4):
        assert first[0][column] != first[1][column]
    assert _epoch(ct.WorkerInit(11, rank=1), 0) == first  # reproducible
    assert _epoch(init, 1) != first  # a new epoch draws new numbers
    assert _epoch(ct.WorkerInit(11, rank=2), 0) != first  # another rank too
    worker0 = ctrng.Generator(ctrng.Key(11, rank=1, stream=ct.WORKER_STREAM))
    assert first[0][3] == worker0.random()
    with pytest.raises(RuntimeError, match="WorkerInit"):
        ct.worker_generator()


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _torchrun(*args):
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc-per-node", "2", "--master-addr", "127.0.0.1",
           "--master-port", str(_free_port()), str(ROOT / "examples" / "data_parallel.py"), *args]
    run = subprocess.run(cmd, capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert run.returncode == 0, run.stderr[-3000:]
    return [json.loads(line) for line in run.stdout.splitlines() if line.startswith("{")]


def test_two_process_training_is_reproducible():
    first = _torchrun("--steps", "6")
    assert [r["step"] for r in first] == list(range(6))
    assert _torchrun("--steps", "6") == first  # identical losses and masks on a rerun
    assert all(len(r["masks"]) == 2 and r["masks"][0] != r["masks"][1] for r in first)  # ranks differ
    assert _torchrun("--steps", "6", "--root", "7") != first
