"""Small draws, where a call's fixed cost is all there is: ctrng.Generator
against NumPy's Generator(PCG64), with pytest-benchmark.

Run (a few seconds):

    python -m pytest benchmarks/test_bench_small.py --benchmark-only --benchmark-json=small.json
    python benchmarks/ratios.py small.json

Per-sample code (a data loader drawing a crop, a flip and a noise level for
each image) makes millions of such calls.  Each group is one call, NumPy
beside ctrng; n is the number of values a call returns (1: a scalar).
"""

import numpy as np
import pytest

import ctrng

SEED = 12345

# label -> (values per call, the call on a NumPy Generator or a ctrng one)
CASES = {
    "random()": (1, lambda g: g.random()),
    "random(16)": (16, lambda g: g.random(16)),
    "random(100)": (100, lambda g: g.random(100)),
    "standard_normal()": (1, lambda g: g.standard_normal()),
    "uniform(0.5, 2.0)": (1, lambda g: g.uniform(0.5, 2.0)),
    "normal(0.0, 0.1)": (1, lambda g: g.normal(0.0, 0.1)),
    "integers(0, 10)": (1, lambda g: g.integers(0, 10)),
    "integers(0, 10, 8)": (8, lambda g: g.integers(0, 10, 8)),
    "permutation(100)": (100, lambda g: g.permutation(100)),
}
IMPLS = {"numpy-pcg64": lambda: np.random.Generator(np.random.PCG64(SEED)),
         "ctrng-1t": lambda: ctrng.Generator(SEED, threads=1)}


@pytest.mark.parametrize("impl", IMPLS)
@pytest.mark.parametrize("label", CASES)
def test_bench(benchmark, label, impl):
    n, call = CASES[label]
    g = IMPLS[impl]()
    benchmark.group = label
    benchmark.extra_info.update(dist=label, n=n, impl=impl, threads=1)
    result = benchmark(lambda: call(g))
    assert np.size(result) == n
