"""examples/tf_workers.py: two TensorFlow worker processes whose data order,
dropout masks and initial weights come from ctrng; a rerun prints the same
lines, and seed + rank collides across runs where ctrng does not."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

# CI installs TensorFlow (the "tf" extra); elsewhere this test may skip.
if not os.environ.get("CI"):
    pytest.importorskip("tensorflow")

ROOT = Path(__file__).resolve().parents[1]


def test_tf_workers_example_reruns_identically_and_shows_the_collision():
    cmd = [sys.executable, str(ROOT / "examples" / "tf_workers.py"), "--steps", "3", "--root", "7"]
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    runs = [subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT, env=env)
            for _ in range(2)]  # the run and its rerun, side by side
    outs = []
    for run in runs:
        out, err = run.communicate(timeout=300)
        assert run.returncode == 0, err[-3000:]
        outs.append([json.loads(line) for line in out.splitlines() if line.startswith("{")])
    first, again = outs
    assert first == again
    steps = [d for d in first if "step" in d]
    assert [(d["step"], d["rank"]) for d in steps] == [(s, r) for s in range(3) for r in range(2)]
    assert all(d["mask"] != e["mask"] for d, e in zip(steps[::2], steps[1::2]))  # each rank its own masks
    recipes = {d["recipe"]: d for d in first if "recipe" in d}
    assert recipes["seed+rank"]["collide"] is True
    assert recipes["ctrng"]["collide"] is False
