"""The cffi build script: what Python may call (cdef) and what is compiled
(set_source), side by side.  The cdef mirrors csrc/ctrng.h."""

from pathlib import Path

from cffi import FFI

ROOT = Path(__file__).resolve().parents[2]
CSRC = ROOT / "csrc"

CDEF = """
typedef struct {
    int algorithm;
    int rounds;
    uint64_t key[4];
    uint64_t ctr[4];
} ctrng_stream;

typedef struct {
    uint64_t low;
    uint64_t range;
    uint64_t threshold;
    int certain;
    int out_bytes;
    int affine;
    double loc, scale;
} ctrng_params;

int ctrng_block(int algorithm, int rounds, const uint64_t ctr[4],
                const uint64_t key[4], uint64_t out[4]);
int ctrng_fill(const ctrng_stream *s, int kind, const ctrng_params *prm,
               uint64_t first_block, uint64_t skip, size_t n, void *out, int isa);
int ctrng_isa_available(int isa);
uint64_t ctrng_fisher_yates(const ctrng_stream *s, uint64_t first_word, int64_t *perm, size_t n);

#define CTRNG_BITGEN_WORDS 64
typedef struct {
    ctrng_stream stream;
    uint64_t block;
    uint32_t index;
    uint32_t buf[64];
} ctrng_bitgen_state;

typedef struct {
    void *state;
    uint64_t (*next_uint64)(void *st);
    uint32_t (*next_uint32)(void *st);
    double (*next_double)(void *st);
    uint64_t (*next_raw)(void *st);
} ctrng_bitgen;

int ctrng_bitgen_init(ctrng_bitgen *bg, ctrng_bitgen_state *st,
                      uint64_t block, uint32_t index);
"""

SOURCES = ["fill.c", "permute.c", "kernels_portable.c", "kernels_avx2.c"]

ffibuilder = FFI()
ffibuilder.cdef(CDEF)
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
