/* Internal: the per-instruction-set kernel tables behind ctrng_fill. */
#ifndef CTRNG_KERNELS_H
#define CTRNG_KERNELS_H

#include "ctrng.h"

#if !defined(__BYTE_ORDER__) || __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "ctrng defines streams as little-endian byte sequences; big-endian hosts are not supported"
#endif

static inline int ctrng_is64(int algorithm)
{
    return algorithm == CTRNG_PHILOX4X64 || algorithm == CTRNG_THREEFRY4X64;
}

/* Write nblocks blocks starting at block index `block` as little-endian
 * words: 16 bytes a block for the 4x32 ciphers, 32 for the 4x64 ones. */
typedef void (*ctrng_blocks_fn)(const ctrng_stream *s, uint64_t block,
                                size_t nblocks, uint32_t *out);

/* fill.c cuts a request into groups of 64 stream bytes (4 blocks of a 4x32
 * cipher, 2 of a 4x64) and generates at most CTRNG_CHUNK_GROUPS of them a
 * call (4 KiB of raw words stay in L1). */
#define CTRNG_GROUP_BYTES 64
#define CTRNG_CHUNK_GROUPS 64
/* The most elements one call makes (no kind consumes less than a word). */
#define CTRNG_CHUNK_ELEMENTS (CTRNG_CHUNK_GROUPS * CTRNG_GROUP_BYTES / 4)

/* The elements of one call whose integer draw was rejected, one bit each by
 * element index from the call's first: the transforms and fused kernels set
 * them, and fill.c, which knows the stream, redraws those elements from
 * their retry blocks (ctrng_integer_retry) and clears the set.  Rejections
 * are rare, so `any` spares the common path a scan. */
typedef struct {
    int any;
    uint64_t bits[CTRNG_CHUNK_ELEMENTS / 64];
} ctrng_rejects;

/* Turn raw stream bytes into n elements (n * bytes-per-element is a multiple
 * of 64), noting rejected integer draws in rej.  Transforms see only bytes,
 * never the stream or the cipher. */
typedef void (*ctrng_transform_fn)(const ctrng_params *prm, const uint32_t *raw, size_t n, void *out,
                                   ctrng_rejects *rej);

/* loc + scale * x over n finished normal values (still in L1), in their
 * precision: x * scale, then + loc (uniform values get it as they are made). */
typedef void (*ctrng_affine_fn)(int kind, const ctrng_params *prm, void *out, size_t n);

/* out[j] = the standard normal quantile of p[j], j < n (n a multiple of 4). */
typedef void (*ctrng_ndtri_fn)(const double *p, size_t n, double *out);

/* memcpy with non-temporal stores where the CPU has them (the caller fences
 * before it returns). */
typedef void (*ctrng_copy_fn)(void *dst, const void *src, size_t bytes);

/* A cipher's blocks [block, block + nblocks), nblocks whole groups, made
 * into the values of one cheap kind as the cipher stores them (the put steps
 * of transforms.h), rejected integer draws noted in rej as a transform
 * notes them. */
typedef void (*ctrng_fused_fn)(const ctrng_stream *s, const ctrng_params *prm, uint64_t block,
                               size_t nblocks, void *out, ctrng_rejects *rej);

/* A table's fused kernel for one cipher and kind: fn (NULL where there is
 * none) runs streams of at most max_rounds rounds. */
typedef struct {
    ctrng_fused_fn fn;
    int max_rounds;
} ctrng_fused;

#define CTRNG_NALGORITHMS 4

typedef struct {
    ctrng_blocks_fn blocks[CTRNG_NALGORITHMS];
    ctrng_transform_fn transform[CTRNG_NKINDS];
    ctrng_affine_fn affine;
    ctrng_ndtri_fn ndtri;
    ctrng_copy_fn stream_copy;
    ctrng_fused fused[CTRNG_NALGORITHMS][CTRNG_NKINDS]; /* by algorithm and kind */
} ctrng_kernels;

extern const ctrng_kernels ctrng_kernels_portable;
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define CTRNG_HAVE_AVX2 1
#define CTRNG_HAVE_AVX512 1
extern const ctrng_kernels ctrng_kernels_avx2;
extern const ctrng_kernels ctrng_kernels_avx512;
/* The AVX2 Threefry kernels and streaming copy, shared by the AVX-512 table. */
void ctrng_threefry4x32_blocks_avx2(const ctrng_stream *s, uint64_t block, size_t nblocks, uint32_t *out);
void ctrng_threefry4x64_blocks_avx2(const ctrng_stream *s, uint64_t block, size_t nblocks, uint32_t *out);
void ctrng_stream_copy_avx2(void *dst, const void *src, size_t bytes);
#endif

/* CTRNG_OK, or the error code of a stream no kernel runs. */
int ctrng_valid_stream(const ctrng_stream *s);

/* The kernel table of a code path (CTRNG_ISA_AUTO: the best this CPU
 * runs), or NULL when this CPU or build cannot run it. */
const ctrng_kernels *ctrng_kernels_for(int isa);

/* Scalar reference: one block of stream s at index p, as 4 or 8 words. */
void ctrng_stream_block(const ctrng_stream *s, uint64_t p, uint32_t out[8]);

/* The portable block generators, shared by every table for the ciphers and
 * round counts that have no SIMD kernel. */
void ctrng_blocks_portable(const ctrng_stream *s, uint64_t block, size_t nblocks,
                           uint32_t *out);

/* Define `name`, a Philox4x32 blocks function from a SIMD kernel
 * kernel(s, block, nblocks, out, rounds) that makes whole passes of blocks
 * and returns how many it made: the usual 10 rounds as a compile-time
 * constant (so they unroll), other counts up to 64 through the same code,
 * the remaining blocks and longer round counts with the portable blocks. */
#define CTRNG_PHILOX4X32_BLOCKS(name, kernel)                                                 \
    CTRNG_TARGET static void name(const ctrng_stream *s, uint64_t block, size_t nblocks,      \
                                  uint32_t *out)                                              \
    {                                                                                         \
        size_t i = 0;                                                                         \
        if (s->rounds == 10)                                                                  \
            i = kernel(s, block, nblocks, out, 10);                                           \
        else if (s->rounds <= 64)                                                             \
            i = kernel(s, block, nblocks, out, s->rounds);                                    \
        ctrng_blocks_portable(s, block + i, nblocks - i, out + 4 * i);                        \
    }

/* Integer retries: offset in [0, range] for element i whose first draw was
 * rejected, drawn from the reserved blocks 2^63 | i << 6 | r. */
uint64_t ctrng_integer_retry(const ctrng_stream *s, int kind, uint64_t range,
                             uint64_t i);

#endif
