/* Threefry4x32 and Threefry4x64 block functions (Salmon et al., SC'11;
 * Random123), the Threefish-256 mix with Random123's rotation schedule.
 *
 * Pure (counter, key, rounds) -> block maps; the key is injected after every
 * fourth round.  Bit-exact with Random123, pinned by the known-answer file. */
#ifndef CTRNG_THREEFRY_H
#define CTRNG_THREEFRY_H

#include <stdint.h>

#define CTRNG_SKEIN_PARITY32 UINT32_C(0x1BD11BDA)
#define CTRNG_SKEIN_PARITY64 UINT64_C(0x1BD11BDAA9FC1A22)

/* Rotation amounts, indexed by round mod 8, for the two mixes of a round. */
static const int ctrng_threefry4x32_rot[8][2] = {
    {10, 26}, {11, 21}, {13, 27}, {23, 5}, {6, 20}, {17, 11}, {25, 10}, {18, 20}};
static const int ctrng_threefry4x64_rot[8][2] = {
    {14, 16}, {52, 57}, {23, 40}, {5, 37}, {25, 33}, {46, 12}, {58, 22}, {32, 32}};

static inline uint32_t ctrng_rotl32(uint32_t x, int r) { return (x << r) | (x >> (32 - r)); }
static inline uint64_t ctrng_rotl64(uint64_t x, int r) { return (x << r) | (x >> (64 - r)); }

#define CTRNG_THREEFRY_BODY(W, ROTL, ROT, PARITY)                                  \
    uint##W##_t ks[5], x[4];                                                       \
    ks[4] = PARITY;                                                                \
    for (int i = 0; i < 4; i++) {                                                  \
        ks[i] = key[i];                                                            \
        ks[4] ^= key[i];                                                           \
        x[i] = ctr[i] + key[i];                                                    \
    }                                                                              \
    for (int r = 0; r < rounds; r++) {                                             \
        const int *rot = ROT[r % 8];                                               \
        if ((r & 1) == 0) {                                                        \
            x[0] += x[1]; x[1] = ROTL(x[1], rot[0]); x[1] ^= x[0];                 \
            x[2] += x[3]; x[3] = ROTL(x[3], rot[1]); x[3] ^= x[2];                 \
        } else {                                                                   \
            x[0] += x[3]; x[3] = ROTL(x[3], rot[0]); x[3] ^= x[0];                 \
            x[2] += x[1]; x[1] = ROTL(x[1], rot[1]); x[1] ^= x[2];                 \
        }                                                                          \
        if ((r & 3) == 3) {                                                        \
            int s = (r + 1) / 4;                                                   \
            for (int i = 0; i < 4; i++) x[i] += ks[(s + i) % 5];                   \
            x[3] += (uint##W##_t)s;                                                \
        }                                                                          \
    }                                                                              \
    for (int i = 0; i < 4; i++) out[i] = x[i];

static inline void ctrng_threefry4x32(const uint32_t ctr[4], const uint32_t key[4],
                                      int rounds, uint32_t out[4])
{
    CTRNG_THREEFRY_BODY(32, ctrng_rotl32, ctrng_threefry4x32_rot, CTRNG_SKEIN_PARITY32)
}

static inline void ctrng_threefry4x64(const uint64_t ctr[4], const uint64_t key[4],
                                      int rounds, uint64_t out[4])
{
    CTRNG_THREEFRY_BODY(64, ctrng_rotl64, ctrng_threefry4x64_rot, CTRNG_SKEIN_PARITY64)
}

#undef CTRNG_THREEFRY_BODY
#endif
