"""The runner of the CUDA kernel tests: each test's script runs in a fresh
Python under Numba's CUDA simulator (all that CI has), or on the machine's
real GPU when the environment says CTRNG_CUDA_TESTS=gpu:

    CTRNG_CUDA_TESTS=gpu python -m pytest tests/cuda tests/numba tests/test_init.py
"""

import json
import os
import subprocess
import sys


def run_kernel_script(script, timeout=600):
    """Run `script`, which prints one JSON value on its last line, and
    return that value."""
    env = dict(os.environ)
    if os.environ.get("CTRNG_CUDA_TESTS", "simulator") != "gpu":
        env["NUMBA_ENABLE_CUDASIM"] = "1"
    run = subprocess.run([sys.executable, "-W", "ignore", "-c", script], env=env, capture_output=True, text=True,
                         timeout=timeout)
    assert run.returncode == 0, run.stderr[-3000:]
    return json.loads(run.stdout.strip().splitlines()[-1])
