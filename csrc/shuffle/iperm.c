/* Stateless index permutation: a keyed bijection of [0, n) evaluated one
 * index at a time, in O(1) time and memory (docs/permutations.md).
 *
 * On m-bit values (m = max(2, bit length of n - 1)) it runs R rounds of an
 * alternating Feistel network (R = 24 for m <= 20, where the whole
 * permutation is small enough to be looked at, else 12), then adds a
 * constant c mod 2^m.
 * Round r splits x into hi (its top a = m / 2 bits) and lo (its low b = m - a
 * bits) and gives (lo << a) | (hi ^ F_r(lo)), F_r(lo) = the top a bits of
 * mix32(lo ^ k_r); every round, and so the whole map, is a bijection of
 * [0, 2^m).  The constant makes odd permutations reachable (Feistel rounds
 * alone give only even ones).  Values >= n are mapped again (cycle walking),
 * which restricts the bijection of [0, 2^m) to one of [0, n).
 *
 * Key material: block n of the stream, expanded by SplitMix64 into the
 * round keys k_r and c. */
#include <string.h>

#include "kernels/kernels.h"

static inline uint64_t splitmix64(uint64_t *state)
{
    uint64_t z = (*state += UINT64_C(0x9e3779b97f4a7c15));
    z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
    return z ^ (z >> 31);
}

int ctrng_iperm_init(ctrng_iperm *p, const ctrng_stream *s, uint64_t n)
{
    if (n == 0 || n >> 63) return CTRNG_EPARAMS;
    uint32_t w[8] = {0};
    ctrng_stream_block(s, n, w);
    uint64_t state = w[0] | (uint64_t)w[1] << 32, salt = w[2] | (uint64_t)w[3] << 32;
    state ^= w[4] | (uint64_t)w[5] << 32; /* zero for the 4x32 ciphers */
    salt ^= w[6] | (uint64_t)w[7] << 32;
    int m = 2;
    while (m < 63 && (n - 1) >> m) m++;
    p->n = n;
    p->bits = m;
    p->rounds = m <= 20 ? 24 : 12;
    for (int r = 0; r < p->rounds; r++) p->keys[r] = (uint32_t)(splitmix64(&state) ^ salt);
    p->add = (splitmix64(&state) ^ salt) & ((UINT64_C(1) << m) - 1);
    return CTRNG_OK;
}

/* Lanes evaluated together.  The rounds run on 32-bit halves: with
 * d = b - a (0 or 1), round r maps (hi, lo) to
 *   (lo >> d, (lo mod 2^d) << a | (hi ^ F_r(lo))),
 * which is (lo << a) | (hi ^ F_r(lo)) split again at bit b.  Vectors of 8
 * halves, 4 at a time, keep every round in registers. */
#define LANES 256
#define VEC 8
#define GROUP 4
typedef uint32_t v8u32 __attribute__((vector_size(VEC * 4)));

/* Macros, not functions: vectors passed by value would change the calling
 * convention between the clones (Clang refuses that). */
#define MIX32(x) /* a 32-bit finaliser with low bias (Wellons' "lowbias32") */ \
    do {                                                                        \
        x ^= x >> 16;                                                           \
        x *= 0x7feb352du;                                                       \
        x ^= x >> 15;                                                           \
        x *= 0x846ca68bu;                                                       \
        x ^= x >> 16;                                                           \
    } while (0)

#define CLONES __attribute__((target_clones("avx2", "default")))

#define FORWARD(h, l)                                        \
    do {                                                     \
        v8u32 f_ = l ^ k, top_ = l >> d;                     \
        MIX32(f_);                                           \
        l = (l & d) << a | (h ^ (f_ >> (32 - a)));           \
        h = top_;                                            \
    } while (0)

#define BACKWARD(h, l)                                       \
    do {                                                     \
        v8u32 prev_ = h << d | l >> a, f_ = prev_ ^ k;       \
        MIX32(f_);                                           \
        h = (l & mask_a) ^ (f_ >> (32 - a));                 \
        l = prev_;                                           \
    } while (0)

/* GROUP vectors at a time (named, so they stay in registers). */
#define ROUNDS(FIRST, LAST, STEP, ROUND)                                              \
    for (size_t j = 0; j < count; j += VEC * GROUP) {                                 \
        v8u32 h0, h1, h2, h3, l0, l1, l2, l3;                                         \
        memcpy(&h0, hi + j, 32), memcpy(&h1, hi + j + VEC, 32);                       \
        memcpy(&h2, hi + j + 2 * VEC, 32), memcpy(&h3, hi + j + 3 * VEC, 32);         \
        memcpy(&l0, lo + j, 32), memcpy(&l1, lo + j + VEC, 32);                       \
        memcpy(&l2, lo + j + 2 * VEC, 32), memcpy(&l3, lo + j + 3 * VEC, 32);         \
        for (int r = FIRST; r != LAST; r += STEP) {                                   \
            const uint32_t k = p->keys[r];                                            \
            ROUND(h0, l0);                                                            \
            ROUND(h1, l1);                                                            \
            ROUND(h2, l2);                                                            \
            ROUND(h3, l3);                                                            \
        }                                                                             \
        memcpy(hi + j, &h0, 32), memcpy(hi + j + VEC, &h1, 32);                       \
        memcpy(hi + j + 2 * VEC, &h2, 32), memcpy(hi + j + 3 * VEC, &h3, 32);         \
        memcpy(lo + j, &l0, 32), memcpy(lo + j + VEC, &l1, 32);                       \
        memcpy(lo + j + 2 * VEC, &l2, 32), memcpy(lo + j + 3 * VEC, &l3, 32);         \
    }

CLONES static void rounds_forward(const ctrng_iperm *p, uint32_t *hi, uint32_t *lo, size_t count)
{
    const unsigned a = (unsigned)p->bits / 2, d = (unsigned)p->bits % 2;
    ROUNDS(0, p->rounds, 1, FORWARD)
}

CLONES static void rounds_backward(const ctrng_iperm *p, uint32_t *hi, uint32_t *lo, size_t count)
{
    const unsigned a = (unsigned)p->bits / 2, d = (unsigned)p->bits % 2;
    const uint32_t mask_a = (UINT32_C(1) << a) - 1;
    ROUNDS(p->rounds - 1, -1, -1, BACKWARD)
}

/* x[0:count] through the whole map (count a multiple of VEC * GROUP). */
static void apply(const ctrng_iperm *p, uint64_t *x, size_t count, int inverse)
{
    uint32_t hi[LANES], lo[LANES];
    const unsigned b = (unsigned)(p->bits - p->bits / 2);
    const uint64_t mask_m = (UINT64_C(1) << p->bits) - 1;
    if (inverse)
        for (size_t j = 0; j < count; j++) x[j] = (x[j] - p->add) & mask_m;
    for (size_t j = 0; j < count; j++) {
        hi[j] = (uint32_t)(x[j] >> b);
        lo[j] = (uint32_t)(x[j] & ((UINT64_C(1) << b) - 1));
    }
    if (inverse)
        rounds_backward(p, hi, lo, count);
    else
        rounds_forward(p, hi, lo, count);
    for (size_t j = 0; j < count; j++) x[j] = (uint64_t)hi[j] << b | lo[j];
    if (!inverse)
        for (size_t j = 0; j < count; j++) x[j] = (x[j] + p->add) & mask_m;
}

void ctrng_iperm_map(const ctrng_iperm *p, const uint64_t *in, uint64_t first, size_t count,
                     uint64_t *out, int inverse)
{
    /* A batch of lanes: lanes that land on a value >= n stay for another
     * pass (cycle walking) and the batch is topped up with new inputs, so
     * every pass but the last ones is full. */
    uint64_t x[LANES], slot[LANES];
    size_t m = 0, taken = 0;
    while (m || taken < count) {
        for (; m < LANES && taken < count; m++, taken++) {
            x[m] = in ? in[taken] : first + taken;
            slot[m] = taken;
        }
        size_t padded = (m + VEC * GROUP - 1) / (VEC * GROUP) * (VEC * GROUP);
        for (size_t j = m; j < padded; j++) x[j] = 0;
        apply(p, x, padded, inverse);
        /* Branch-free: a lane >= n is written too, and overwritten by a
         * later pass. */
        size_t again = 0;
        for (size_t j = 0; j < m; j++) {
            uint64_t v = x[j], at = slot[j];
            out[at] = v;
            x[again] = v;
            slot[again] = at;
            again += v >= p->n;
        }
        m = again;
    }
}
