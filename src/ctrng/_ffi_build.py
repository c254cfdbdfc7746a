"""The cffi build script: what Python may call (cdef, read from csrc/ctrng.h)
and what is compiled (set_source)."""

import re
from pathlib import Path

from cffi import FFI

ROOT = Path(__file__).resolve().parents[2]
CSRC = ROOT / "csrc"


def header_declarations(path):
    """csrc/ctrng.h as cffi reads it: the header minus its include guard and
    #include lines, so the C and Python sides share one declaration list."""
    keep = [line for line in path.read_text().splitlines()
            if not re.match(r"\s*#\s*(if|endif|include|define CTRNG_H\b)", line)]
    return "\n".join(keep)


SOURCES = ["fill.c", "permute.c", "iperm.c", "kernels_portable.c", "kernels_avx2.c"]

ffibuilder = FFI()
ffibuilder.cdef(header_declarations(CSRC / "ctrng.h"))
ffibuilder.set_source(
    "ctrng._ctrng",
    '#include "ctrng.h"',
    sources=[str((CSRC / name).relative_to(ROOT)) for name in SOURCES],
    include_dirs=[str(CSRC.relative_to(ROOT))],
    # No FMA contraction: every instruction set must round identically.
    extra_compile_args=["-O3", "-std=gnu11", "-ffp-contract=off", "-fno-math-errno", "-Wno-psabi"],
)

if __name__ == "__main__":
    ffibuilder.compile(tmpdir=str(ROOT / "build"), verbose=True)
