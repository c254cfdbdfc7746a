/* The AVX-512 kernel table: Philox4x32 on 512-bit vectors, thirty-two blocks
 * a pass (four vectors of eight in flight); the Threefry ciphers keep their
 * AVX2 kernels and Philox4x64 the portable one.  Bit-identical to the scalar
 * block functions.
 *
 * The kernel is written in GCC's generic vectors, one intrinsic (the
 * multiply) aside, so the same source also builds for AVX2
 * (CTRNG_AVX512_AS_AVX2, where only the multiply differs):
 * tests/test_sanitizers.py checks that build against the scalar blocks on
 * machines without AVX-512. */
#include "kernels/kernels.h"

#ifdef CTRNG_HAVE_AVX512
#include "cipher/philox.h"

#ifdef CTRNG_AVX512_AS_AVX2 /* the test build: the same kernel on AVX2 */
#define CTRNG_TARGET __attribute__((target("avx2")))
#else
#define CTRNG_TARGET __attribute__((target("avx512f,avx512vl,avx512bw,avx512dq")))
#endif
#define CTRNG_SFX avx512

#include "kernels/x86_ops.h"

#include "dist/transforms.h"

typedef uint64_t w8u __attribute__((vector_size(64)));
typedef uint32_t w16u __attribute__((vector_size(64)));
typedef int32_t w16i __attribute__((vector_size(64)));
typedef int64_t w8i __attribute__((vector_size(64)));

/* The 64-bit products of the low halves of each lane (vpmuludq; GCC would
 * turn the generic (a & LO) * b into the slower vpmullq). */
#ifdef CTRNG_AVX512_AS_AVX2
CTRNG_TARGET static inline w8u mul_lo32(w8u a, w8u b)
{
    __m256i lo = _mm256_mul_epu32((__m256i)(v4u){a[0], a[1], a[2], a[3]}, (__m256i)(v4u){b[0], b[1], b[2], b[3]});
    __m256i hi = _mm256_mul_epu32((__m256i)(v4u){a[4], a[5], a[6], a[7]}, (__m256i)(v4u){b[4], b[5], b[6], b[7]});
    return (w8u){lo[0], lo[1], lo[2], lo[3], hi[0], hi[1], hi[2], hi[3]};
}
#else
#define mul_lo32(a, b) ((w8u)_mm512_mul_epu32((__m512i)(a), (__m512i)(b)))
#endif

/* One round on eight blocks held in the low halves of 64-bit lanes, as the
 * AVX2 kernel does: lo(product) stays in place and hi(product) is one shift
 * away; the high halves are garbage that the next multiply ignores. */
#define PHILOX_ROUND(x0, x1, x2, x3, K0, K1)                    \
    do {                                                        \
        w8u p0_ = mul_lo32(x0, M0), p1_ = mul_lo32(x2, M1);     \
        x0 = (p1_ >> 32) ^ x1 ^ ((w8u){0} + (K0));              \
        x2 = (p0_ >> 32) ^ x3 ^ ((w8u){0} + (K1));              \
        x1 = p1_;                                               \
        x3 = p0_;                                               \
    } while (0)

/* `rounds` Philox rounds (unrolled when `rounds` is a constant) on four sets
 * of lanes in flight, a0..a3, b0..b3, c0..c3 and d0..d3, through the
 * includer's PHILOX_ROUND(x0, x1, x2, x3, key0, key1), round keys K0[r], K1[r]. */
#define CTRNG_PHILOX_FOUR_SETS(rounds, K0, K1)                     \
    _Pragma("GCC unroll 64") for (int r_ = 0; r_ < (rounds); r_++) { \
        PHILOX_ROUND(a0, a1, a2, a3, K0[r_], K1[r_]);              \
        PHILOX_ROUND(b0, b1, b2, b3, K0[r_], K1[r_]);              \
        PHILOX_ROUND(c0, c1, c2, c3, K0[r_], K1[r_]);              \
        PHILOX_ROUND(d0, d1, d2, d3, K0[r_], K1[r_]);              \
    }

/* Store eight blocks held word-wise (x_w lane j = word w of block j, in the
 * low halves) as 32 words, block after block. */
CTRNG_TARGET static inline void store8x4_wide(uint32_t *out, w8u x0, w8u x1, w8u x2, w8u x3)
{
    w16u t01 = SHUFFLE(w16i, (w16u)x0, (w16u)x1, 0, 16, 2, 18, 4, 20, 6, 22, 8, 24, 10, 26, 12, 28, 14, 30);
    w16u t23 = SHUFFLE(w16i, (w16u)x2, (w16u)x3, 0, 16, 2, 18, 4, 20, 6, 22, 8, 24, 10, 26, 12, 28, 14, 30);
    STORE(out, SHUFFLE(w8i, (w8u)t01, (w8u)t23, 0, 8, 1, 9, 2, 10, 3, 11));
    STORE(out + 16, SHUFFLE(w8i, (w8u)t01, (w8u)t23, 4, 12, 5, 13, 6, 14, 7, 15));
}

/* Blocks block + i for i in [0, 32 * (nblocks / 32)); `rounds` is a
 * compile-time constant at the hot call site, so the rounds unroll. */
CTRNG_TARGET static inline __attribute__((always_inline)) size_t
philox4x32_thirtytwos(const ctrng_stream *s, uint64_t block, size_t nblocks, uint32_t *out, int rounds)
{
    const w8u M0 = (w8u){0} + CTRNG_PHILOX4X32_M0, M1 = (w8u){0} + CTRNG_PHILOX4X32_M1;
    const w8u C2 = (w8u){0} + (uint32_t)s->ctr[2], C3 = (w8u){0} + (uint32_t)s->ctr[3];
    const w8u lane = {0, 1, 2, 3, 4, 5, 6, 7};
    /* round keys as 64-bit scalars: broadcast straight from memory */
    uint64_t K0[64], K1[64];
    uint32_t k0 = (uint32_t)s->key[0], k1 = (uint32_t)s->key[1];
    for (int r = 0; r < rounds; r++) {
        K0[r] = (uint32_t)(k0 + (uint32_t)r * CTRNG_PHILOX_W32_0);
        K1[r] = (uint32_t)(k1 + (uint32_t)r * CTRNG_PHILOX_W32_1);
    }
    size_t i = 0;
    for (; i + 32 <= nblocks; i += 32) {
        w8u a0 = (block + i) + lane, b0 = a0 + 8, c0 = a0 + 16, d0 = a0 + 24;
        w8u a1 = a0 >> 32, b1 = b0 >> 32, c1 = c0 >> 32, d1 = d0 >> 32;
        w8u a2 = C2, a3 = C3, b2 = C2, b3 = C3, c2 = C2, c3 = C3, d2 = C2, d3 = C3;
        CTRNG_PHILOX_FOUR_SETS(rounds, K0, K1);
        store8x4_wide(out + 4 * i, a0, a1, a2, a3);
        store8x4_wide(out + 4 * i + 32, b0, b1, b2, b3);
        store8x4_wide(out + 4 * i + 64, c0, c1, c2, c3);
        store8x4_wide(out + 4 * i + 96, d0, d1, d2, d3);
    }
    return i;
}

CTRNG_PHILOX4X32_BLOCKS(philox4x32_blocks, philox4x32_thirtytwos)

const ctrng_kernels ctrng_kernels_avx512 = {
    {philox4x32_blocks, ctrng_blocks_portable, ctrng_threefry4x32_blocks_avx2, ctrng_threefry4x64_blocks_avx2},
    CTRNG_TRANSFORMS,
    ctrng_stream_copy_avx2,
    {{{NULL}}}, /* no fused kernels (none measured on AVX-512 hardware) */
};
#endif
