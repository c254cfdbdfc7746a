"""What this CPU reports in /proc/cpuinfo, for the tests that check which
code paths the build offers (and runs)."""

import os
import platform

# The AVX-512 subsets the AVX-512 kernels use (csrc/dispatch.c, ctrng_isa_available).
AVX512 = {"avx512f", "avx512vl", "avx512bw", "avx512dq"}


def cpu_flags():
    """The feature flags of an x86-64 Linux CPU; empty elsewhere."""
    if platform.machine() not in ("x86_64", "AMD64") or not os.path.exists("/proc/cpuinfo"):
        return set()
    with open("/proc/cpuinfo") as f:
        return next((set(line.split(":", 1)[1].split()) for line in f if line.startswith("flags")), set())
