/* The portable kernel table: scalar ciphers, transforms on generic vectors
 * compiled for the baseline instruction set.  Runs on every CPU. */
#include <math.h>

#define CTRNG_TARGET
#define CTRNG_SFX portable

#define CTRNG_SQRT8F(v) ({ v8f r_ = (v); for (int j_ = 0; j_ < 8; j_++) r_[j_] = sqrtf(r_[j_]); r_; })
#define CTRNG_SQRT4D(v) ({ v4d r_ = (v); for (int j_ = 0; j_ < 4; j_++) r_[j_] = sqrt(r_[j_]); r_; })
#define CTRNG_MUL32(a, b) ((a) * (b))
#define CTRNG_WIDEN4(h) __builtin_convertvector((h), v4u)
#define CTRNG_ANY8(m) ({ v8u m_ = (m); (m_[0] | m_[1] | m_[2] | m_[3] | m_[4] | m_[5] | m_[6] | m_[7]) != 0; })
#define CTRNG_ANY4(m) ({ v4u m_ = (m); (m_[0] | m_[1] | m_[2] | m_[3]) != 0; })

#include "dist/transforms.h"

#ifdef __SSE2__
#include <emmintrin.h>
#endif

/* memcpy, with 16-byte non-temporal stores where the CPU has SSE2. */
static void stream_copy(void *dst, const void *src, size_t bytes)
{
    unsigned char *d = dst;
    const unsigned char *s = src;
    size_t i = 0;
#ifdef __SSE2__
    i = (16 - ((uintptr_t)d & 15)) & 15;
    if (i > bytes) i = bytes;
    memcpy(d, s, i);
    for (; i + 16 <= bytes; i += 16)
        _mm_stream_si128((__m128i *)(d + i), _mm_loadu_si128((const __m128i *)(s + i)));
#endif
    memcpy(d + i, s + i, bytes - i);
}

const ctrng_kernels ctrng_kernels_portable = {
    {ctrng_blocks_portable, ctrng_blocks_portable, ctrng_blocks_portable, ctrng_blocks_portable},
    CTRNG_TRANSFORMS,
    stream_copy,
    {{{NULL}}}, /* no fused kernels */
};
