"""ctrng against NumPy's PCG64, per distribution, with pytest-benchmark.

Run (about a minute):

    python -m pytest benchmarks --benchmark-only --benchmark-json=bench.json
    python benchmarks/ratios.py bench.json      # or several runs' files

The cases are ctrng.bench.bench_cases (the same as ``ctrng bench``).  Each
benchmark group is one (case, n): the NumPy PCG64 baseline beside ctrng on
1 thread and on all threads.  Select a size with ``-k n10M`` or ``-k n1M``.
"""

import pytest

from ctrng._core.threads import cpu_count
from ctrng.bench import bench_cases

SIZES = {"n1M": 10**6, "n10M": 10**7}
LABELS = [case.label for case in bench_cases(1)]
IMPLS = {"numpy-pcg64": None, "ctrng-1t": 1, "ctrng-all": cpu_count()}


@pytest.mark.parametrize("impl", IMPLS)
@pytest.mark.parametrize("label", LABELS)
@pytest.mark.parametrize("size", SIZES)
def test_bench(benchmark, size, label, impl):
    n = SIZES[size]
    case = {c.label: c for c in bench_cases(n)}[label]
    threads = IMPLS[impl]
    fn = case.numpy if threads is None else (lambda: case.ctrng(threads))
    benchmark.group = f"{label} {size}"
    benchmark.extra_info.update(dist=label, n=n, impl=impl, threads=threads or 1)
    result = benchmark(fn)
    assert len(result) == n
