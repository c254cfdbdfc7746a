/* The AVX2 kernel table: Philox4x32 sixteen blocks a pass (four vectors in
 * flight), Threefry4x32 eight and Threefry4x64 four blocks a vector;
 * Philox4x64 keeps the portable kernel.  Bit-identical to the scalar block
 * functions. */
#include "kernels.h"

#ifdef CTRNG_HAVE_AVX2
#include <immintrin.h>

#include "philox.h"
#include "threefry.h"

#define CTRNG_TARGET __attribute__((target("avx2")))
#define CTRNG_SFX avx2

#include "x86_ops.h"

#include "transforms.h"

/* Store eight blocks held word-wise (x_w lane j = word w of block j). */
CTRNG_TARGET static inline void store8x4(uint32_t *out, __m256i x0, __m256i x1, __m256i x2, __m256i x3)
{
    __m256i t0 = _mm256_unpacklo_epi32(x0, x1), t1 = _mm256_unpackhi_epi32(x0, x1);
    __m256i t2 = _mm256_unpacklo_epi32(x2, x3), t3 = _mm256_unpackhi_epi32(x2, x3);
    __m256i u0 = _mm256_unpacklo_epi64(t0, t2), u1 = _mm256_unpackhi_epi64(t0, t2);
    __m256i u2 = _mm256_unpacklo_epi64(t1, t3), u3 = _mm256_unpackhi_epi64(t1, t3);
    _mm256_storeu_si256((__m256i *)out, _mm256_permute2x128_si256(u0, u1, 0x20));
    _mm256_storeu_si256((__m256i *)(out + 8), _mm256_permute2x128_si256(u2, u3, 0x20));
    _mm256_storeu_si256((__m256i *)(out + 16), _mm256_permute2x128_si256(u0, u1, 0x31));
    _mm256_storeu_si256((__m256i *)(out + 24), _mm256_permute2x128_si256(u2, u3, 0x31));
}

/* Counter words 0 and 1 for blocks p .. p+7: the 64-bit index, carried. */
CTRNG_TARGET static inline void counter8(uint64_t p, __m256i *lo, __m256i *hi)
{
    const __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    const __m256i sign = _mm256_set1_epi32((int)0x80000000u);
    __m256i base = _mm256_set1_epi32((int)(uint32_t)p);
    *lo = _mm256_add_epi32(base, lane);
    /* carry where lo wrapped below base (unsigned compare via the sign flip) */
    __m256i carry = _mm256_cmpgt_epi32(_mm256_xor_si256(base, sign), _mm256_xor_si256(*lo, sign));
    *hi = _mm256_sub_epi32(_mm256_set1_epi32((int)(uint32_t)(p >> 32)), carry);
}

/* Philox4x32 on blocks held in the low halves of 64-bit lanes: the widening
 * multiply then leaves lo(product) in place and hi(product) one shift away,
 * and the high halves (garbage) are never read, since _mm256_mul_epu32 ignores
 * them.  Two sets of four blocks, p + 0, 2, 4, 6 and p + 1, 3, 5, 7, are
 * merged into 32-bit lanes at the end. */
#define PHILOX_ROUND(c0, c1, c2, c3, K0, K1)                                 \
    do {                                                                     \
        __m256i p0_ = _mm256_mul_epu32(c0, M0), p1_ = _mm256_mul_epu32(c2, M1); \
        c0 = _mm256_xor_si256(_mm256_srli_epi64(p1_, 32), _mm256_xor_si256(c1, K0)); \
        c2 = _mm256_xor_si256(_mm256_srli_epi64(p0_, 32), _mm256_xor_si256(c3, K1)); \
        c1 = p1_;                                                            \
        c3 = p0_;                                                            \
    } while (0)

#define MERGE(a, b) _mm256_blend_epi32(a, _mm256_slli_epi64(b, 32), 0xAA)

/* Blocks block + i for i in [0, 16 * (nblocks / 16)); `rounds` is a
 * compile-time constant at the hot call site, so the rounds unroll fully and
 * the renaming of (c1, c3) costs no moves.  Four sets of four blocks hide
 * the multiply latency; the round keys are broadcast once per call. */
CTRNG_TARGET static inline __attribute__((always_inline)) size_t
philox4x32_sixteens(const ctrng_stream *s, uint64_t block, size_t nblocks, uint32_t *out, int rounds)
{
    const __m256i M0 = _mm256_set1_epi64x(CTRNG_PHILOX4X32_M0);
    const __m256i M1 = _mm256_set1_epi64x(CTRNG_PHILOX4X32_M1);
    const __m256i C2 = _mm256_set1_epi64x((uint32_t)s->ctr[2]);
    const __m256i C3 = _mm256_set1_epi64x((uint32_t)s->ctr[3]);
    const __m256i even = _mm256_setr_epi64x(0, 2, 4, 6), odd = _mm256_setr_epi64x(1, 3, 5, 7);
    const __m256i eight = _mm256_set1_epi64x(8);
    __m256i K0[64], K1[64];
    uint32_t k0 = (uint32_t)s->key[0], k1 = (uint32_t)s->key[1];
    for (int r = 0; r < rounds; r++) {
        K0[r] = _mm256_set1_epi32((int)(k0 + (uint32_t)r * CTRNG_PHILOX_W32_0));
        K1[r] = _mm256_set1_epi32((int)(k1 + (uint32_t)r * CTRNG_PHILOX_W32_1));
    }
    size_t i = 0;
    for (; i + 16 <= nblocks; i += 16) {
        __m256i P = _mm256_set1_epi64x((long long)(block + i));
        __m256i a0 = _mm256_add_epi64(P, even), b0 = _mm256_add_epi64(P, odd);
        __m256i c0 = _mm256_add_epi64(a0, eight), d0 = _mm256_add_epi64(b0, eight);
        __m256i a1 = _mm256_srli_epi64(a0, 32), b1 = _mm256_srli_epi64(b0, 32);
        __m256i c1 = _mm256_srli_epi64(c0, 32), d1 = _mm256_srli_epi64(d0, 32);
        __m256i a2 = C2, a3 = C3, b2 = C2, b3 = C3, c2 = C2, c3 = C3, d2 = C2, d3 = C3;
        CTRNG_PHILOX_FOUR_SETS(rounds, K0, K1);
        store8x4(out + 4 * i, MERGE(a0, b0), MERGE(a1, b1), MERGE(a2, b2), MERGE(a3, b3));
        store8x4(out + 4 * i + 32, MERGE(c0, d0), MERGE(c1, d1), MERGE(c2, d2), MERGE(c3, d3));
    }
    return i;
}

CTRNG_PHILOX4X32_BLOCKS(philox4x32_blocks, philox4x32_sixteens)

#define ROTL32(x, r) _mm256_or_si256(_mm256_slli_epi32(x, r), _mm256_srli_epi32(x, 32 - (r)))
#define ROTL64(x, r) _mm256_or_si256(_mm256_slli_epi64(x, r), _mm256_srli_epi64(x, 64 - (r)))

/* One Threefry round on two sets of lanes; ADD, ROTL pick the word width. */
#define TF_MIX(ADD, ROTL, x, i, j, r) \
    do { x##i = ADD(x##i, x##j); x##j = ROTL(x##j, r); x##j = _mm256_xor_si256(x##j, x##i); } while (0)
#define TF_ROUND_EVEN(ADD, ROTL, x, ra, rb) do { TF_MIX(ADD, ROTL, x, 0, 1, ra); TF_MIX(ADD, ROTL, x, 2, 3, rb); } while (0)
#define TF_ROUND_ODD(ADD, ROTL, x, ra, rb) do { TF_MIX(ADD, ROTL, x, 0, 3, ra); TF_MIX(ADD, ROTL, x, 2, 1, rb); } while (0)
#define TF_FOUR(ADD, ROTL, x, R, base)                          \
    do {                                                        \
        TF_ROUND_EVEN(ADD, ROTL, x, R[base][0], R[base][1]);    \
        TF_ROUND_ODD(ADD, ROTL, x, R[base + 1][0], R[base + 1][1]); \
        TF_ROUND_EVEN(ADD, ROTL, x, R[base + 2][0], R[base + 2][1]); \
        TF_ROUND_ODD(ADD, ROTL, x, R[base + 3][0], R[base + 3][1]); \
    } while (0)
#define TF_INJECT(ADD, SET1, x, ks, s)                       \
    do {                                                     \
        x##0 = ADD(x##0, SET1(ks[(s) % 5]));                 \
        x##1 = ADD(x##1, SET1(ks[((s) + 1) % 5]));           \
        x##2 = ADD(x##2, SET1(ks[((s) + 2) % 5]));           \
        x##3 = ADD(x##3, SET1(ks[((s) + 3) % 5] + (s)));     \
    } while (0)

/* threefry.h's rotation schedules: constant indices fold to immediates. */
#define R32 ctrng_threefry4x32_rot
#define R64 ctrng_threefry4x64_rot

#define SET1_32(v) _mm256_set1_epi32((int)(uint32_t)(v))
#define SET1_64(v) _mm256_set1_epi64x((long long)(v))

CTRNG_TARGET void ctrng_threefry4x32_blocks_avx2(const ctrng_stream *s, uint64_t block, size_t nblocks,
                                                uint32_t *out)
{
    size_t i = 0;
    if (s->rounds % 4 == 0) {
        uint32_t ks[5] = {0, 0, 0, 0, CTRNG_SKEIN_PARITY32};
        for (int w = 0; w < 4; w++) {
            ks[w] = (uint32_t)s->key[w];
            ks[4] ^= ks[w];
        }
        for (; i + 8 <= nblocks; i += 8) {
            __m256i x0, x1;
            counter8(block + i, &x0, &x1);
            __m256i x2 = SET1_32(s->ctr[2]), x3 = SET1_32(s->ctr[3]);
            TF_INJECT(_mm256_add_epi32, SET1_32, x, ks, 0);
            for (int g = 0; g < s->rounds / 4; g++) {
                if (g % 2 == 0)
                    TF_FOUR(_mm256_add_epi32, ROTL32, x, R32, 0);
                else
                    TF_FOUR(_mm256_add_epi32, ROTL32, x, R32, 4);
                TF_INJECT(_mm256_add_epi32, SET1_32, x, ks, g + 1);
            }
            store8x4(out + 4 * i, x0, x1, x2, x3);
        }
    }
    ctrng_blocks_portable(s, block + i, nblocks - i, out + 4 * i);
}

CTRNG_TARGET void ctrng_threefry4x64_blocks_avx2(const ctrng_stream *s, uint64_t block, size_t nblocks,
                                                uint32_t *out)
{
    size_t i = 0;
    if (s->rounds % 4 == 0) {
        uint64_t ks[5] = {0, 0, 0, 0, CTRNG_SKEIN_PARITY64};
        for (int w = 0; w < 4; w++) {
            ks[w] = s->key[w];
            ks[4] ^= ks[w];
        }
        const __m256i lane = _mm256_setr_epi64x(0, 1, 2, 3);
        for (; i + 4 <= nblocks; i += 4) {
            __m256i x0 = _mm256_add_epi64(SET1_64(block + i), lane);
            __m256i x1 = SET1_64(s->ctr[1]), x2 = SET1_64(s->ctr[2]), x3 = SET1_64(s->ctr[3]);
            TF_INJECT(_mm256_add_epi64, SET1_64, x, ks, 0);
            for (int g = 0; g < s->rounds / 4; g++) {
                if (g % 2 == 0)
                    TF_FOUR(_mm256_add_epi64, ROTL64, x, R64, 0);
                else
                    TF_FOUR(_mm256_add_epi64, ROTL64, x, R64, 4);
                TF_INJECT(_mm256_add_epi64, SET1_64, x, ks, g + 1);
            }
            __m256i t0 = _mm256_unpacklo_epi64(x0, x1), t1 = _mm256_unpackhi_epi64(x0, x1);
            __m256i t2 = _mm256_unpacklo_epi64(x2, x3), t3 = _mm256_unpackhi_epi64(x2, x3);
            uint32_t *o = out + 8 * i;
            _mm256_storeu_si256((__m256i *)o, _mm256_permute2x128_si256(t0, t2, 0x20));
            _mm256_storeu_si256((__m256i *)(o + 8), _mm256_permute2x128_si256(t1, t3, 0x20));
            _mm256_storeu_si256((__m256i *)(o + 16), _mm256_permute2x128_si256(t0, t2, 0x31));
            _mm256_storeu_si256((__m256i *)(o + 24), _mm256_permute2x128_si256(t1, t3, 0x31));
        }
    }
    ctrng_blocks_portable(s, block + i, nblocks - i, out + 8 * i);
}

const ctrng_kernels ctrng_kernels_avx2 = {
    {philox4x32_blocks, ctrng_blocks_portable, ctrng_threefry4x32_blocks_avx2, ctrng_threefry4x64_blocks_avx2},
    CTRNG_TRANSFORMS,
};
#endif
