"""The cffi build script: what Python may call (cdef, read from csrc/ctrng.h)
and what is compiled (set_source)."""

import os
import re
from pathlib import Path

from cffi import FFI

ROOT = Path(__file__).resolve().parents[3]
CSRC = ROOT / "csrc"


def header_declarations(path):
    """csrc/ctrng.h as cffi reads it: the header minus its include guard and
    #include lines, so the C and Python sides share one declaration list."""
    keep = [line for line in path.read_text().splitlines()
            if not re.match(r"\s*#\s*(if|endif|include|define CTRNG_H\b)", line)]
    return "\n".join(keep)


SOURCES = ["kinds.c", "layout.c", "dispatch.c", "fill.c", "bitgen.c", "shuffle/permute.c", "shuffle/iperm.c",
           "shuffle/spans.c", "kernels/portable.c", "kernels/avx2.c", "kernels/avx512.c"]
# No FMA contraction: every instruction set must round identically.
COMPILE_ARGS = ["-O3", "-std=gnu11", "-ffp-contract=off", "-fno-math-errno", "-Wno-psabi"]
# CTRNG_SANITIZE=1 at build time: AddressSanitizer and UndefinedBehaviorSanitizer
# (load libasan first when importing: see tests/core/test_sanitizers.py).
# -fno-wrapv undoes the -fwrapv of Python's CFLAGS, under which signed overflow
# is defined and UBSan does not check it (gcc then also takes ~45 s, not ~5 s,
# on the sanitized AVX2 kernels).
SANITIZE_ARGS = ["-O1", "-g", "-fno-omit-frame-pointer", "-fsanitize=address,undefined",
                 "-fno-sanitize-recover=all", "-fno-wrapv"]
SANITIZE = os.environ.get("CTRNG_SANITIZE", "") not in ("", "0")

def make_builder(sanitize=SANITIZE, absolute=False):
    """The FFI builder for ctrng._core._ctrng; sources relative to the project root
    (as setuptools wants) unless `absolute` (to compile from anywhere)."""
    def path(p):
        return str(p if absolute else p.relative_to(ROOT))

    builder = FFI()
    builder.cdef(header_declarations(CSRC / "ctrng.h"))
    builder.set_source(
        "ctrng._core._ctrng",
        '#include "ctrng.h"',
        sources=[path(CSRC / name) for name in SOURCES],
        include_dirs=[path(CSRC)],
        extra_compile_args=COMPILE_ARGS + (SANITIZE_ARGS if sanitize else []),
        extra_link_args=SANITIZE_ARGS if sanitize else [],
    )
    return builder


ffibuilder = make_builder()

if __name__ == "__main__":
    ffibuilder.compile(tmpdir=str(ROOT / "build"), verbose=True)
