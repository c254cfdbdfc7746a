/* The vector helpers that csrc/dist/transforms.h asks of its includer, from x86
 * intrinsics: for the AVX2 and AVX-512 kernel tables (whose CTRNG_TARGET
 * enables AVX2 at least). */
#ifndef CTRNG_X86_OPS_H
#define CTRNG_X86_OPS_H

#include <immintrin.h>

#define CTRNG_SQRT8F(v) ((v8f)_mm256_sqrt_ps((__m256)(v)))
#define CTRNG_SQRT4D(v) ((v4d)_mm256_sqrt_pd((__m256d)(v)))
#define CTRNG_MUL32(a, b) ((v4u)_mm256_mul_epu32((__m256i)(a), (__m256i)(b)))
/* one vpmovzxdq (GCC 12 widens a generic vector in two 128-bit halves) */
#define CTRNG_WIDEN4(h) ((v4u)_mm256_cvtepu32_epi64((__m128i)(h)))
#define CTRNG_ANY8(m) (!_mm256_testz_si256((__m256i)(m), (__m256i)(m)))
#define CTRNG_ANY4(m) (!_mm256_testz_si256((__m256i)(m), (__m256i)(m)))

#endif
