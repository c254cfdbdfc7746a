/* Philox4x32 and Philox4x64 block functions (Salmon et al., SC'11; Random123).
 *
 * A block function is a pure map (counter, key, rounds) -> block: no state, no
 * allocation.  Round i uses the key bumped i times by the Weyl constants.
 * Bit-exact with Random123, pinned by tests/data/random123_kat_vectors.txt. */
#ifndef CTRNG_PHILOX_H
#define CTRNG_PHILOX_H

#include <stdint.h>

#define CTRNG_PHILOX4X32_M0 UINT32_C(0xD2511F53)
#define CTRNG_PHILOX4X32_M1 UINT32_C(0xCD9E8D57)
#define CTRNG_PHILOX_W32_0 UINT32_C(0x9E3779B9)
#define CTRNG_PHILOX_W32_1 UINT32_C(0xBB67AE85)
#define CTRNG_PHILOX4X64_M0 UINT64_C(0xD2E7470EE14C6C93)
#define CTRNG_PHILOX4X64_M1 UINT64_C(0xCA5A826395121157)
#define CTRNG_PHILOX_W64_0 UINT64_C(0x9E3779B97F4A7C15)
#define CTRNG_PHILOX_W64_1 UINT64_C(0xBB67AE8584CAA73B)

static inline void ctrng_philox4x32(const uint32_t ctr[4], const uint32_t key[2],
                                    int rounds, uint32_t out[4])
{
    uint32_t c0 = ctr[0], c1 = ctr[1], c2 = ctr[2], c3 = ctr[3];
    uint32_t k0 = key[0], k1 = key[1];
    for (int r = 0; r < rounds; r++) {
        uint64_t p0 = (uint64_t)CTRNG_PHILOX4X32_M0 * c0;
        uint64_t p1 = (uint64_t)CTRNG_PHILOX4X32_M1 * c2;
        uint32_t n0 = (uint32_t)(p1 >> 32) ^ c1 ^ k0;
        uint32_t n2 = (uint32_t)(p0 >> 32) ^ c3 ^ k1;
        c1 = (uint32_t)p1;
        c3 = (uint32_t)p0;
        c0 = n0;
        c2 = n2;
        k0 += CTRNG_PHILOX_W32_0;
        k1 += CTRNG_PHILOX_W32_1;
    }
    out[0] = c0; out[1] = c1; out[2] = c2; out[3] = c3;
}

/* High and low halves of the 128-bit product a * b (GCC and Clang on 64-bit
 * targets, which ctrng requires: see lemire.h). */
static inline uint64_t ctrng_mulhilo64(uint64_t a, uint64_t b, uint64_t *hi)
{
    unsigned __int128 p = (unsigned __int128)a * b;
    *hi = (uint64_t)(p >> 64);
    return (uint64_t)p;
}

static inline void ctrng_philox4x64(const uint64_t ctr[4], const uint64_t key[2],
                                    int rounds, uint64_t out[4])
{
    uint64_t c0 = ctr[0], c1 = ctr[1], c2 = ctr[2], c3 = ctr[3];
    uint64_t k0 = key[0], k1 = key[1];
    for (int r = 0; r < rounds; r++) {
        uint64_t h0, h1;
        uint64_t l0 = ctrng_mulhilo64(CTRNG_PHILOX4X64_M0, c0, &h0);
        uint64_t l1 = ctrng_mulhilo64(CTRNG_PHILOX4X64_M1, c2, &h1);
        c0 = h1 ^ c1 ^ k0;
        c2 = h0 ^ c3 ^ k1;
        c1 = l1;
        c3 = l0;
        k0 += CTRNG_PHILOX_W64_0;
        k1 += CTRNG_PHILOX_W64_1;
    }
    out[0] = c0; out[1] = c1; out[2] = c2; out[3] = c3;
}

#endif
