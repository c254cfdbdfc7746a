"""ctrng against NumPy's PCG64, per distribution, with pytest-benchmark.

Run (a few minutes):

    python -m pytest benchmarks --benchmark-only --benchmark-json=bench.json
    python benchmarks/ratios.py bench.json

Each benchmark group is one (distribution, n); it holds the NumPy PCG64
baseline beside ctrng on 1 thread and on all threads, so
``--benchmark-group-by=group`` (the default) prints them together.  Select a
size with ``-k n10M`` or ``-k n1M``.

Baselines (``rng = np.random.Generator(np.random.PCG64(seed))``):
raw uint32 ``rng.integers(0, 2**32, n, dtype=np.uint32)`` (allocates);
uniform ``rng.random(out=buf, dtype=...)``; normal
``rng.standard_normal(out=buf, dtype=...)``; integers ``rng.integers(0, 1000, n)``
(allocates, int64).  ctrng does the same, and raw uint32 is also timed into a
preallocated ``out=`` (``ctrng-out-*``; NumPy has no such call).
"""

import numpy as np
import pytest

import ctrng
from ctrng._fill import cpu_count

SEED = 20240601
SIZES = {"n1M": 10**6, "n10M": 10**7}
ALL = cpu_count()


def _numpy(dist, n):
    rng = np.random.Generator(np.random.PCG64(SEED))
    if dist == "raw-uint32":
        return lambda: rng.integers(0, 2**32, n, dtype=np.uint32)
    if dist == "integers-0-1000-int64":
        return lambda: rng.integers(0, 1000, n)
    kind, dtype = dist.split("-")
    buf = np.empty(n, dtype)
    if kind == "uniform":
        return lambda: rng.random(out=buf, dtype=buf.dtype)
    return lambda: rng.standard_normal(out=buf, dtype=buf.dtype)


def _ctrng(dist, n, threads, out):
    key = ctrng.Key(SEED)
    if dist == "raw-uint32":
        if out:
            buf = np.empty(n, np.uint32)
            return lambda: ctrng.random_raw(key, out=buf, threads=threads)
        return lambda: ctrng.random_raw(key, n, threads=threads)
    if dist == "integers-0-1000-int64":
        return lambda: ctrng.integers(key, 0, 1000, n, threads=threads)
    kind, dtype = dist.split("-")
    buf = np.empty(n, dtype)
    fn = ctrng.random if kind == "uniform" else ctrng.standard_normal
    return lambda: fn(key, out=buf, dtype=buf.dtype, threads=threads)


DISTS = ["raw-uint32", "uniform-float32", "uniform-float64", "normal-float32", "normal-float64",
         "integers-0-1000-int64"]
# (implementation id, threads, preallocated out=)
IMPLS = [("numpy-pcg64", None, False), ("ctrng-1t", 1, False), ("ctrng-all", None, False),
         ("ctrng-out-1t", 1, True), ("ctrng-out-all", None, True)]
CASES = [
    pytest.param(dist, size, impl, threads, out, id=f"{dist}-{size}-{impl}")
    for size in SIZES
    for dist in DISTS
    for impl, threads, out in IMPLS
    if not out or dist == "raw-uint32"  # out= variants only where NumPy allocates but ctrng need not
]


@pytest.mark.parametrize("dist, size, impl, threads, out", CASES)
def test_bench(benchmark, dist, size, impl, threads, out):
    n = SIZES[size]
    fn = _numpy(dist, n) if impl == "numpy-pcg64" else _ctrng(dist, n, threads, out)
    benchmark.group = f"{dist} {size}"
    benchmark.extra_info.update(dist=dist, n=n, impl=impl,
                                threads=1 if impl == "numpy-pcg64" else (threads or ALL))
    result = benchmark(fn)
    assert len(result) == n
