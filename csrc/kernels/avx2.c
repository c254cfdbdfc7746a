/* The AVX2 kernel table: Philox4x32 twelve blocks a pass (three vectors in
 * flight), fused with the cheap transforms; Threefry4x32 eight and
 * Threefry4x64 four blocks a vector; Philox4x64 keeps the portable kernel.
 * Bit-identical to the scalar block functions and the transforms. */
#include "kernels/kernels.h"

#ifdef CTRNG_HAVE_AVX2
#include <immintrin.h>

#include "cipher/philox.h"
#include "cipher/threefry.h"

#define CTRNG_TARGET __attribute__((target("avx2")))
#define CTRNG_SFX avx2

#include "kernels/x86_ops.h"

#include "dist/transforms.h"

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

/* One Philox4x32 round on four blocks held in the low halves of 64-bit
 * lanes (x_w lane j = word w of block j): the widening multiply leaves
 * lo(product) in place and hi(product) one shift away, and the high halves
 * (garbage) are never read, since vpmuludq ignores them.  Written in
 * assembly because GCC, given the same round in intrinsics, keeps the
 * multipliers in memory and spills state (a load or store for every two
 * instructions), which measured slower.  Eight instructions, no moves; the new
 * words come out renamed: (x0, x1, x2, x3) = (a2, a0, a1, t). */
#define PHILOX_ROUND(x0, x1, x2, x3, K0, K1)                                          \
    do {                                                                              \
        __m256i t_;                                                                   \
        __asm__("vpmuludq %[m0], %[a0], %[t]\n\t"   /* t  = p0 = M0 x0         */     \
                "vpmuludq %[m1], %[a2], %[a0]\n\t"  /* a0 = p1 = M1 x2 (= x1') */     \
                "vpxor %[k0], %[a1], %[a1]\n\t"                                       \
                "vpsrlq $32, %[a0], %[a2]\n\t"                                        \
                "vpxor %[k1], %[a3], %[a3]\n\t"                                       \
                "vpxor %[a1], %[a2], %[a2]\n\t"     /* a2 = hi p1 ^ x1 ^ K0 (= x0') */ \
                "vpsrlq $32, %[t], %[a1]\n\t"                                         \
                "vpxor %[a3], %[a1], %[a1]"         /* a1 = hi p0 ^ x3 ^ K1 (= x2') */ \
                : [a0] "+x"(x0), [a1] "+x"(x1), [a2] "+x"(x2), [a3] "+x"(x3), [t] "=&x"(t_) \
                : [m0] "x"(M0), [m1] "x"(M1), [k0] "m"(K0), [k1] "m"(K1));              \
        __m256i n0_ = x2, n1_ = x0, n2_ = x1;                                         \
        x0 = n0_;                                                                     \
        x1 = n1_;                                                                     \
        x2 = n2_;                                                                     \
        x3 = t_;                                                                      \
    } while (0)

/* The 16 words of four blocks held as PHILOX_ROUND leaves them, in stream
 * order: words 0-7 in *a, 8-15 in *b. */
CTRNG_TARGET static inline void words4x4(__m256i x0, __m256i x1, __m256i x2, __m256i x3, __m256i *a, __m256i *b)
{
    __m256i w01 = _mm256_blend_epi32(x0, _mm256_slli_epi64(x1, 32), 0xAA);
    __m256i w23 = _mm256_blend_epi32(x2, _mm256_slli_epi64(x3, 32), 0xAA);
    __m256i lo = _mm256_unpacklo_epi64(w01, w23), hi = _mm256_unpackhi_epi64(w01, w23);
    *a = _mm256_permute2x128_si256(lo, hi, 0x20);
    *b = _mm256_permute2x128_si256(lo, hi, 0x31);
}

/* Blocks block + i .. block + i + 4 sets - 1, in `sets` sets of four
 * consecutive blocks, into the sink (a statement of philox4x32_passes,
 * using its locals). */
#define PHILOX_SETS(sets)                                                         \
    do {                                                                          \
        __m256i x0[sets], x1[sets], x2[sets], x3[sets];                           \
        _Pragma("GCC unroll 4") for (int j = 0; j < (sets); j++) {                \
            x0[j] = _mm256_add_epi64(_mm256_set1_epi64x((long long)(block + i + 4 * j)), lane); \
            x1[j] = _mm256_srli_epi64(x0[j], 32);                                 \
            x2[j] = C2;                                                           \
            x3[j] = C3;                                                           \
        }                                                                         \
        _Pragma("GCC unroll 64") for (int r = 0; r < rounds; r++)                 \
            _Pragma("GCC unroll 4") for (int j = 0; j < (sets); j++)              \
                PHILOX_ROUND(x0[j], x1[j], x2[j], x3[j], K0[r], K1[r]);           \
        _Pragma("GCC unroll 4") for (int j = 0; j < (sets); j++) {                \
            __m256i a_, b_;                                                       \
            words4x4(x0[j], x1[j], x2[j], x3[j], &a_, &b_);                       \
            put_avx2(c, kind, 4 * i + 16 * j, (v4i)a_);                                     \
            put_avx2(c, kind, 4 * i + 16 * j + 8, (v4i)b_);                                 \
        }                                                                         \
    } while (0)

/* Blocks block + i for i in [0, 4 * (nblocks / 4)), as values of `kind`
 * into the sink: twelve a pass (three sets in flight hide the multiply
 * latency, and their 12 state vectors, the two multipliers and one
 * temporary fit the 16 registers), then four at a time.  The round keys are
 * broadcast once per call. */
CTRNG_TARGET static inline __attribute__((always_inline)) size_t
philox4x32_passes(const ctrng_stream *s, uint64_t block, size_t nblocks, const sink_avx2 *c, int kind,
                  int rounds)
{
    const __m256i M0 = _mm256_set1_epi64x(CTRNG_PHILOX4X32_M0);
    const __m256i M1 = _mm256_set1_epi64x(CTRNG_PHILOX4X32_M1);
    const __m256i C2 = _mm256_set1_epi64x((uint32_t)s->ctr[2]);
    const __m256i C3 = _mm256_set1_epi64x((uint32_t)s->ctr[3]);
    const __m256i lane = _mm256_setr_epi64x(0, 1, 2, 3);
    __m256i K0[64], K1[64];
    uint32_t k0 = (uint32_t)s->key[0], k1 = (uint32_t)s->key[1];
    for (int r = 0; r < rounds; r++) {
        K0[r] = _mm256_set1_epi32((int)(k0 + (uint32_t)r * CTRNG_PHILOX_W32_0));
        K1[r] = _mm256_set1_epi32((int)(k1 + (uint32_t)r * CTRNG_PHILOX_W32_1));
    }
    size_t i = 0;
    for (; i + 12 <= nblocks; i += 12) PHILOX_SETS(3);
    for (; i + 4 <= nblocks; i += 4) PHILOX_SETS(1);
    return i;
}

/* Two instances, one for every kind: ten rounds as a compile-time constant
 * (the rounds unroll and the renaming costs no moves) and any count up to
 * 64.  (One instance per kind and round count as well measured no faster,
 * and made this file much slower to compile, with the sanitizers most of
 * all.) */
CTRNG_TARGET static __attribute__((noinline)) size_t
philox4x32_10(const ctrng_stream *s, uint64_t block, size_t nblocks, const sink_avx2 *c, int kind)
{
    return philox4x32_passes(s, block, nblocks, c, kind, 10);
}

CTRNG_TARGET static __attribute__((noinline)) size_t
philox4x32_any(const ctrng_stream *s, uint64_t block, size_t nblocks, const sink_avx2 *c, int kind)
{
    return philox4x32_passes(s, block, nblocks, c, kind, s->rounds);
}

CTRNG_TARGET static inline size_t philox4x32_run(const ctrng_stream *s, uint64_t block, size_t nblocks,
                                                 const sink_avx2 *c, int kind)
{
    return s->rounds == 10 ? philox4x32_10(s, block, nblocks, c, kind)
                           : philox4x32_any(s, block, nblocks, c, kind);
}

/* Raw words: the cipher's words themselves; round counts over 64 and the
 * last blocks short of a set of four through the portable blocks. */
CTRNG_TARGET static void philox4x32_blocks(const ctrng_stream *s, uint64_t block, size_t nblocks, uint32_t *out)
{
    size_t i = 0;
    if (s->rounds <= 64) {
        sink_avx2 c = {.out = (unsigned char *)out};
        i = philox4x32_run(s, block, nblocks, &c, CTRNG_RAW32);
    }
    ctrng_blocks_portable(s, block + i, nblocks - i, out + 4 * i);
}

/* The fused kernels (ctrng_fused_fn): one for each kind with a put step
 * (kinds.h's `put` column). */
#define PHILOX4X32_FUSED(NAME, name, unit_bytes, value, out_bytes, range_bits, put, streams)    \
    CTRNG_IF(put)(                                                                               \
    CTRNG_TARGET static void philox4x32_fused_##name(const ctrng_stream *s, const ctrng_params *prm, \
                                                     uint64_t block, size_t nblocks, void *out,  \
                                                     ctrng_rejects *rej)                         \
    {                                                                                            \
        sink_avx2 c = sink_for_avx2(prm, CTRNG_##NAME, out, rej);                                \
        philox4x32_run(s, block, nblocks, &c, CTRNG_##NAME);                                     \
    })
CTRNG_KINDS(PHILOX4X32_FUSED)
#undef PHILOX4X32_FUSED

#define ROTL32(x, r) _mm256_or_si256(_mm256_slli_epi32(x, r), _mm256_srli_epi32(x, 32 - (r)))
#define ROTL64(x, r) _mm256_or_si256(_mm256_slli_epi64(x, r), _mm256_srli_epi64(x, 64 - (r)))

/* One Threefry round on two sets of lanes; ADD, ROTL pick the word width. */
#define TF_MIX(ADD, ROTL, x, i, j, r) \
    do { x##i = ADD(x##i, x##j); x##j = ROTL(x##j, r); x##j = _mm256_xor_si256(x##j, x##i); } while (0)
#define TF_ROUND_EVEN(ADD, ROTL, x, ra, rb) \
    do { TF_MIX(ADD, ROTL, x, 0, 1, ra); TF_MIX(ADD, ROTL, x, 2, 3, rb); } while (0)
#define TF_ROUND_ODD(ADD, ROTL, x, ra, rb) \
    do { TF_MIX(ADD, ROTL, x, 0, 3, ra); TF_MIX(ADD, ROTL, x, 2, 1, rb); } while (0)
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

/* 32-byte non-temporal stores: large uniform float fills measured faster
 * with them than with 16-byte ones. */
CTRNG_TARGET void ctrng_stream_copy_avx2(void *dst, const void *src, size_t bytes)
{
    unsigned char *d = dst;
    const unsigned char *s = src;
    size_t i = (32 - ((uintptr_t)d & 31)) & 31;
    if (i > bytes) i = bytes;
    memcpy(d, s, i);
    for (; i + 32 <= bytes; i += 32)
        _mm256_stream_si256((__m256i *)(d + i), _mm256_loadu_si256((const __m256i *)(s + i)));
    memcpy(d + i, s + i, bytes - i);
}

#define PHILOX4X32_ENTRY(NAME, name, unit_bytes, value, out_bytes, range_bits, put, streams) \
    CTRNG_IF(put)([CTRNG_##NAME] = {philox4x32_fused_##name, 64},)
const ctrng_kernels ctrng_kernels_avx2 = {
    {philox4x32_blocks, ctrng_blocks_portable, ctrng_threefry4x32_blocks_avx2, ctrng_threefry4x64_blocks_avx2},
    CTRNG_TRANSFORMS,
    ctrng_stream_copy_avx2,
    /* Philox4x32's kernel holds at most 64 rounds of keys */
    {[CTRNG_PHILOX4X32] = {CTRNG_KINDS(PHILOX4X32_ENTRY)}},
};
#endif
