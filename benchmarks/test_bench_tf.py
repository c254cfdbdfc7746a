"""ctrng.tf against TensorFlow's own stateless random ops, with
pytest-benchmark (each ctrng row beside its baseline in one group):

    python -m pytest benchmarks/test_bench_tf.py --benchmark-only

10**7 values, eager on the CPU: ctrng.tf.random float32 against
tf.random.stateless_uniform (both Philox4x32-10 through TensorFlow's Philox
kernel; ctrng's takes the top 24 bits of a word, TensorFlow's the low 23),
standard normals against tf.random.stateless_normal (ctrng: Box-Muller with
its own polynomials, in a dozen elementwise ops; TensorFlow: one fused
kernel) and integers in [0, 1000) against stateless_uniform's int64 (which
is not exactly uniform: a modulo, where ctrng rejects and redraws).
"""

import os

import pytest

tf = __import__("tensorflow") if os.environ.get("CI") else pytest.importorskip("tensorflow")
import ctrng  # noqa: E402
import ctrng.tf as ctf  # noqa: E402

N = 10**7
KEY = ctrng.Key(2024, rank=1)
SEED = tf.constant([2024, 1], tf.int64)

CASES = {
    "uniform float32": {
        "ctrng.tf": lambda: ctf.random(KEY, N, dtype=tf.float32),
        "tf.random": lambda: tf.random.stateless_uniform([N], SEED, dtype=tf.float32),
    },
    "normal float32": {
        "ctrng.tf": lambda: ctf.standard_normal(KEY, N, dtype=tf.float32),
        "tf.random": lambda: tf.random.stateless_normal([N], SEED, dtype=tf.float32),
    },
    "integers [0, 1000) int64": {
        "ctrng.tf": lambda: ctf.integers(KEY, 0, 1000, N, dtype=tf.int64),
        "tf.random": lambda: tf.random.stateless_uniform([N], SEED, 0, 1000, dtype=tf.int64),
    },
}


@pytest.mark.parametrize("impl", ["ctrng.tf", "tf.random"])
@pytest.mark.parametrize("case", CASES)
def test_bench_tf(benchmark, case, impl):
    benchmark.group = f"tf {case}, 10**7 values, eager"
    fn = CASES[case][impl]
    fn()  # warm up (kernels, thread pool)
    benchmark(fn)
