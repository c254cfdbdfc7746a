/* Exactly unbiased bounded integers by Lemire's multiply-and-reject
 * (ACM TOMS 2019): offset = floor(x * m / 2^w) for a w-bit draw x, accepted
 * when the low w bits of x * m are at least 2^w mod m.  Shared by the bulk
 * transforms and by the retry path. */
#ifndef CTRNG_LEMIRE_H
#define CTRNG_LEMIRE_H

#include <stdint.h>

#if !defined(__SIZEOF_INT128__)
#error "ctrng needs a compiler with unsigned __int128 (GCC or Clang on a 64-bit target)"
#endif
typedef unsigned __int128 ctrng_u128;

/* Rejection thresholds 2^w mod m, for m = range + 1 (computed once a fill). */
static inline uint32_t ctrng_lemire32_threshold(uint64_t range)
{
    uint32_t m = (uint32_t)(range + 1);
    return (uint32_t)(0u - m) % m;
}
static inline uint64_t ctrng_lemire64_threshold(uint64_t range)
{
    uint64_t m = range + 1;
    return (0 - m) % m;
}
static inline ctrng_u128 ctrng_lemire128_threshold(uint64_t range)
{
    if (range == UINT64_MAX) return 0;
    ctrng_u128 m = (ctrng_u128)range + 1;
    return (0 - m) % m;
}

/* Each returns 1 and sets *off when the draw is accepted. */
static inline int ctrng_lemire32(uint32_t x, uint64_t range, uint32_t t, uint64_t *off)
{
    uint64_t p = (uint64_t)x * (range + 1);
    *off = p >> 32;
    return (uint32_t)p >= t;
}
static inline int ctrng_lemire64(uint64_t x, uint64_t range, uint64_t t, uint64_t *off)
{
    ctrng_u128 p = (ctrng_u128)x * (range + 1);
    *off = (uint64_t)(p >> 64);
    return (uint64_t)p >= t;
}
static inline int ctrng_lemire128(uint64_t x0, uint64_t x1, uint64_t range,
                                  ctrng_u128 t, uint64_t *off)
{
    if (range == UINT64_MAX) { /* m = 2^64: the high word is the offset */
        *off = x1;
        return 1;
    }
    uint64_t m = range + 1;
    ctrng_u128 p0 = (ctrng_u128)x0 * m, p1 = (ctrng_u128)x1 * m;
    ctrng_u128 mid = p1 + (p0 >> 64);
    *off = (uint64_t)(mid >> 64);
    ctrng_u128 left = (mid << 64) | (uint64_t)p0;
    return left >= t;
}

#endif
