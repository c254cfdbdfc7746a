"""Permutations and shuffles against NumPy's PCG64, with pytest-benchmark.

Run (about two minutes; NumPy needs over 10 s per 10^8 permutation here):

    python -m pytest benchmarks/test_bench_shuffle.py --benchmark-only --benchmark-json=shuffle.json
    python benchmarks/ratios.py shuffle.json

Each group is one (case, n): NumPy's Generator(PCG64) beside ctrng on 1
thread and on all threads, both allocating their result the same way.
"""

import numpy as np
import pytest

import ctrng
from ctrng._core.threads import cpu_count

IMPLS = {"numpy-pcg64": None, "ctrng-1t": 1, "ctrng-all": cpu_count()}
SEED = 12345


def _permutation(n):
    rng = np.random.Generator(np.random.PCG64(SEED))
    key = ctrng.Key(SEED)
    return (lambda: rng.permutation(n)), (lambda t: ctrng.permutation(key, n, threads=t))


def _shuffle_rows(n):
    rows = np.ones((n, 128), np.float32)
    rng = np.random.Generator(np.random.PCG64(SEED))
    g = ctrng.Generator(SEED)

    def ours(t):
        g.threads = t
        g.shuffle(rows)
        return rows

    return (lambda: rng.shuffle(rows) or rows), ours


CASES = {
    "permutation int64": (_permutation, {"n1M": 10**6, "n100M": 10**8}),
    "shuffle rows (n, 128) float32": (_shuffle_rows, {"n1M": 10**6}),
}
PARAMS = [(label, size) for label, (_, sizes) in CASES.items() for size in sizes]


@pytest.mark.parametrize("impl", IMPLS)
@pytest.mark.parametrize("label, size", PARAMS)
def test_bench(benchmark, label, size, impl):
    make, sizes = CASES[label]
    n = sizes[size]
    theirs, ours = make(n)
    threads = IMPLS[impl]
    fn = theirs if threads is None else (lambda: ours(threads))
    benchmark.group = f"{label} {size}"
    benchmark.extra_info.update(dist=label, n=n, impl=impl, threads=threads or 1)
    result = benchmark.pedantic(fn, rounds=3 if n <= 10**6 * 10 else 2, iterations=1, warmup_rounds=0)
    assert len(result) == n


# n = 10**9 walks 7 % of the time; n = 2**30 + 1 about half the time (the
# worst case: the bijection runs on 2**31 values).
INDEX_SIZES = {"n1e9": 10**9, "n2p30+1": 2**30 + 1}
INDEX_COUNT = 10**7


@pytest.mark.parametrize("size", INDEX_SIZES)
def test_bench_index_permutation(benchmark, size):
    """IndexPermutation p[a:a + 10**7] on one thread; indices per second =
    10**7 / time (in extra_info as indices_per_s)."""
    n = INDEX_SIZES[size]
    p = ctrng.IndexPermutation(ctrng.Key(SEED), n, threads=1)
    a = n // 3
    benchmark.group = f"IndexPermutation {size}"
    result = benchmark.pedantic(lambda: p[a:a + INDEX_COUNT], rounds=5, iterations=1, warmup_rounds=1)
    benchmark.extra_info.update(n=n, count=INDEX_COUNT,
                                indices_per_s=INDEX_COUNT / benchmark.stats.stats.min)
    assert len(result) == INDEX_COUNT
