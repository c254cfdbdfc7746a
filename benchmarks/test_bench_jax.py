"""ctrng.jax against JAX's own generator (threefry2x32, JAX's default key),
with pytest-benchmark, on JAX's CPU backend.

Run (about a minute):

    python -m pytest benchmarks/test_bench_jax.py --benchmark-only --benchmark-json=jax.json
    python benchmarks/test_bench_jax.py jax.json      # the ratio table

Each group is one job on 10^7 values, JAX's default key beside a ctrng.jax
key: each function jitted, called once to compile before timing, and every
call waited for (block_until_ready).  The rows name the JAX impl in
``extra_info["jax_impl"]`` (not ``impl``: benchmarks/ratios.py compares
against NumPy and leaves these out).
"""

import json
import sys

import numpy as np
import pytest

jax = pytest.importorskip("jax") if __name__ != "__main__" else None

N = 10**7


def _cases():
    import jax
    import jax.numpy as jnp

    import ctrng.jax as cj

    return {
        # label -> {impl: (key maker, jitted function of the key)}
        "random float32": {
            "jax-threefry": (lambda: jax.random.key(12345), lambda k: jax.random.uniform(k, (N,), jnp.float32)),
            "ctrng-jax": (lambda: cj.key(12345), lambda k: cj.random(k, (N,), dtype=np.float32)),
        },
        "bits uint32": {
            "jax-threefry": (lambda: jax.random.key(12345), lambda k: jax.random.bits(k, (N,), jnp.uint32)),
            "ctrng-jax": (lambda: cj.key(12345), lambda k: jax.random.bits(k, (N,), jnp.uint32)),
        },
        "normal float32": {
            "jax-threefry": (lambda: jax.random.key(12345), lambda k: jax.random.normal(k, (N,), jnp.float32)),
            "ctrng-jax": (lambda: cj.key(12345), lambda k: cj.standard_normal(k, (N,), dtype=np.float32)),
        },
        "integers(0, 1000) int32": {
            "jax-threefry": (lambda: jax.random.key(12345), lambda k: jax.random.randint(k, (N,), 0, 1000)),
            "ctrng-jax": (lambda: cj.key(12345), lambda k: cj.integers(k, 0, 1000, (N,))),
        },
    }


LABELS = ["random float32", "bits uint32", "normal float32", "integers(0, 1000) int32"]
IMPLS = ["jax-threefry", "ctrng-jax"]


@pytest.mark.parametrize("impl", IMPLS)
@pytest.mark.parametrize("label", LABELS)
def test_bench(benchmark, label, impl):
    make_key, fn = _cases()[label][impl]
    k = make_key()
    f = jax.jit(fn)
    f(k).block_until_ready()  # compile
    benchmark.group = f"jax {label}"
    benchmark.extra_info.update(dist=label, n=N, jax_impl=impl, backend=jax.default_backend(),
                                jax_version=jax.__version__)
    result = benchmark(lambda: f(k).block_until_ready())
    assert result.shape == (N,)


def main(paths):
    """Print JAX time / ctrng.jax time per job (min of the rounds, lowest
    over the files)."""
    times = {}
    for path in paths:
        with open(path) as f:
            for b in json.load(f)["benchmarks"]:
                info = b.get("extra_info", {})
                if "jax_impl" in info:
                    key = (info["dist"], info["jax_impl"])
                    times[key] = min(times.get(key, float("inf")), b["stats"]["min"])
    print("Ratio = jax.random (threefry2x32) time / ctrng.jax time (min of the rounds); above 1: ctrng.jax "
          "is faster.\n")
    print("| job | n | JAX ms | ctrng.jax ms | ratio |\n|---|---:|---:|---:|---:|")
    for label in LABELS:
        base, ours = times.get((label, "jax-threefry")), times.get((label, "ctrng-jax"))
        if base and ours:
            print(f"| {label} | 10^7 | {1e3 * base:.1f} | {1e3 * ours:.1f} | {base / ours:.2f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
