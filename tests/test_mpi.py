"""ctrng.mpi under a real MPI launcher: `mpirun -n 4` runs tests/mpi_check.py."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

if not os.environ.get("CI"):  # CI installs Open MPI and mpi4py (.ci/run, the test extra)
    pytest.importorskip("mpi4py")
    if shutil.which("mpirun") is None:
        pytest.skip("mpirun is not installed", allow_module_level=True)


def test_four_ranks_gather_to_the_single_process_result():
    script = Path(__file__).with_name("mpi_check.py")
    cmd = ["mpirun", "-n", "4", "--oversubscribe", sys.executable, str(script)]
    env = dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1")
    run = subprocess.run(cmd, capture_output=True, text=True, timeout=300, env=env)
    assert run.returncode == 0, run.stderr[-3000:]
    result = json.loads([line for line in run.stdout.splitlines() if line.startswith("{")][-1])
    assert result == {"size": 4, "same_root": True, "distinct_rank_streams": True, "rank_streams_are_keys": True,
                      "gathered_equal_whole": {"random": True, "normal32": True, "integers": True}}
