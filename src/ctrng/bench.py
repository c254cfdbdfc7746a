"""The speed comparison against NumPy's PCG64, defined once: used by
``ctrng bench``, ``ctrng demo`` and the pytest-benchmark suite in
benchmarks/.

Each case pairs a NumPy call with the ctrng call doing the same job: both
fill preallocated arrays where NumPy can (``random``, ``standard_normal``)
and allocate where it cannot (raw words, integers).  ``raw uint32, out=``
times ctrng into a preallocated buffer against NumPy's allocating call,
which has no ``out=``.
"""

from __future__ import annotations

import platform
import time
from typing import Callable, NamedTuple

import numpy as np

from . import __version__
from ._core import bridge
from ._core.threads import cpu_count
from .key import DEFAULT_ALGORITHM, Key
from .stateless import integers, random, random_raw, standard_normal

__all__ = ["BenchCase", "bench_cases", "best_time", "machine_line"]


class BenchCase(NamedTuple):
    label: str
    numpy: Callable[[], object]
    ctrng: Callable[[object], object]  # takes threads (None: all cores)


def bench_cases(n, algorithm=DEFAULT_ALGORITHM, seed=12345):
    """The cases, on n elements each."""
    rng = np.random.Generator(np.random.PCG64(seed))
    key = Key(seed, algorithm=algorithm)
    f32 = np.empty(n, np.float32)
    f64 = np.empty(n, np.float64)
    u32 = np.empty(n, np.uint32)
    return [
        BenchCase("raw uint32",
                  lambda: rng.integers(0, 2**32, n, dtype=np.uint32),
                  lambda t: random_raw(key, n, threads=t)),
        BenchCase("raw uint32, out=",
                  lambda: rng.integers(0, 2**32, n, dtype=np.uint32),
                  lambda t: random_raw(key, out=u32, threads=t)),
        BenchCase("uniform float32",
                  lambda: rng.random(out=f32, dtype=np.float32),
                  lambda t: random(key, out=f32, dtype=np.float32, threads=t)),
        BenchCase("uniform float64",
                  lambda: rng.random(out=f64, dtype=np.float64),
                  lambda t: random(key, out=f64, dtype=np.float64, threads=t)),
        BenchCase("normal float32",
                  lambda: rng.standard_normal(out=f32, dtype=np.float32),
                  lambda t: standard_normal(key, out=f32, dtype=np.float32, threads=t)),
        BenchCase("normal float64",
                  lambda: rng.standard_normal(out=f64, dtype=np.float64),
                  lambda t: standard_normal(key, out=f64, dtype=np.float64, threads=t)),
        BenchCase("integers(0, 1000) int64",
                  lambda: rng.integers(0, 1000, n),
                  lambda t: integers(key, 0, 1000, n, threads=t)),
    ]


def best_time(fn, repeat):
    """The best of `repeat` timed calls of fn(), after one untimed warm-up."""
    fn()
    best = float("inf")
    for _ in range(max(1, repeat)):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def machine_line(threads):
    """One line naming the CPU, cores, versions and ctrng's code paths."""
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return (f"{cpu}, {cpu_count()} cores available, {threads} threads; Python "
            f"{platform.python_version()}, NumPy {np.__version__}, ctrng {__version__} "
            f"({'/'.join(bridge.available_isas())})")
