"""Initializers against the raw fills they are built on (and torch.nn.init
on the CPU where PyTorch is installed), with pytest-benchmark:

    python -m pytest benchmarks/test_bench_init.py --benchmark-only

A (4096, 4096) float32 weight: kaiming_uniform_ should cost what
ctrng.random costs for the same array, normal_ what ctrng.standard_normal
costs (the affine map is fused into the fill), trunc_normal_ what the C
core's truncated-normal fill costs.  That fill reads a float64 draw per
value and inverts the normal CDF: it is set against the float64 uniform
fill of as many values too.
"""

import math

import numpy as np
import pytest

import ctrng
from ctrng import init
from ctrng._core import bridge, kinds

SHAPE = (4096, 4096)
KEY = init.parameter_key(1, "bench.weight")


@pytest.fixture
def weight():
    w = np.empty(SHAPE, np.float32)
    w.fill(0)
    return w


DRAWS_F64 = np.zeros(SHAPE)
TRUNC = init.truncnorm_params(0.0, 0.02, -0.04, 0.04)

CASES = {
    "fill-random": lambda w: ctrng.random(KEY, out=w, dtype=np.float32),
    "fill-random-float64": lambda w: ctrng.random(KEY, out=DRAWS_F64),
    "kaiming_uniform_": lambda w: init.kaiming_uniform_(w, KEY, a=math.sqrt(5)),
    "fill-standard_normal": lambda w: ctrng.standard_normal(KEY, out=w, dtype=np.float32),
    "normal_": lambda w: init.normal_(w, KEY, 0.0, 0.02),
    "fill-truncnorm": lambda w: bridge.fill(KEY, kinds.TRUNCNORM_F32, 0, w.size, w, params=TRUNC),
    "trunc_normal_": lambda w: init.trunc_normal_(w, KEY, 0.0, 0.02, -0.04, 0.04),
}


@pytest.mark.parametrize("case", CASES)
def test_bench_init(benchmark, weight, case):
    benchmark.group = "init (4096, 4096) float32"
    benchmark(CASES[case], weight)


@pytest.mark.parametrize("case", ["kaiming_uniform_", "normal_", "trunc_normal_"])
def test_bench_torch_init(benchmark, case):
    torch = pytest.importorskip("torch")
    w = torch.empty(SHAPE, dtype=torch.float32)
    fn = {"kaiming_uniform_": lambda: torch.nn.init.kaiming_uniform_(w, a=math.sqrt(5)),
          "normal_": lambda: torch.nn.init.normal_(w, 0.0, 0.02),
          "trunc_normal_": lambda: torch.nn.init.trunc_normal_(w, 0.0, 0.02, -0.04, 0.04)}[case]
    benchmark.group = "init (4096, 4096) float32"
    benchmark.name = f"torch {case}"
    benchmark(fn)
