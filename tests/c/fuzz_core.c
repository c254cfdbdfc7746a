/* Fuzz driver for the C core, built with AddressSanitizer and
 * UndefinedBehaviorSanitizer by tests/test_sanitizers.py (or as a libFuzzer
 * target with -DCTRNG_LIBFUZZER and clang -fsanitize=fuzzer).
 *
 * Each case takes a 64-bit seed and draws random arguments from it: the
 * cipher, round count, key and counter words, the distribution and its
 * parameters, the first block and skip (up to the end of the counter
 * space), the element count and an output offset (so the SIMD kernels write
 * to buffers at every alignment).  It checks properties that need no
 * oracle besides the core itself:
 *   - nothing is written outside the output (guard bytes);
 *   - every code path this CPU runs gives the same bytes (portable, AVX2,
 *     AVX-512, or the AVX-512 kernels built for AVX2: CTRNG_AVX512_AS_AVX2);
 *   - a fill cut in two at a random element equals the fill in one piece;
 *   - permutations (any bucket bits, any cut into pieces, any item size)
 *     are bijections and do not depend on the cut;
 *   - the index permutation's map and inverse undo each other, and it is
 *     a bijection for small n;
 *   - the labelled scatter is a stable counting sort.
 *
 * Usage: fuzz_core SECONDS [FIRST_SEED]  (runs seeds FIRST_SEED, +1, ...
 * until SECONDS have passed; prints the number of cases).  A failing seed is
 * printed, and kept in tests/test_sanitizers.py as a regression case. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ctrng.h"

static uint64_t rng_state;

static uint64_t next64(void)
{ /* SplitMix64 */
    uint64_t z = (rng_state += UINT64_C(0x9e3779b97f4a7c15));
    z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
    return z ^ (z >> 31);
}

static uint64_t below(uint64_t m) { return m ? next64() % m : 0; }

static uint64_t current_seed;

#define CHECK(cond, what)                                                                  \
    do {                                                                                   \
        if (!(cond)) {                                                                     \
            fprintf(stderr, "seed %llu: %s (%s:%d)\n", (unsigned long long)current_seed, \
                    what, __FILE__, __LINE__);                                             \
            abort();                                                                       \
        }                                                                                  \
    } while (0)

/* Stream bytes per element and output bytes of each kind, restated here on
 * purpose instead of read from csrc/kinds.h: the driver's element counts
 * and guard checks then rest on what each kind should be, not on the table
 * under test (a wrong row could not vouch for itself).  Both are pinned to
 * the table by tests/core/test_kinds.py, which parses this initializer and
 * the out_size switch below: keep them in these shapes. */
static const int unit_bytes[CTRNG_NKINDS] = {4, 4, 8, 4, 8, 4, 8, 16, 8, 8, 8};

static size_t out_size(int kind, const ctrng_params *prm)
{
    switch (kind) {
    case CTRNG_UNIFORM_F64:
    case CTRNG_NORMAL_F64:
    case CTRNG_TRUNCNORM_F64: return 8;
    case CTRNG_INTEGERS_32:
    case CTRNG_INTEGERS_64:
    case CTRNG_INTEGERS_128: return (size_t)prm->out_bytes;
    case CTRNG_BERNOULLI: return 1;
    default: return 4;
    }
}

#define GUARD 64

/* Fill into a guarded buffer at element offset `shift`; returns the bytes. */
static unsigned char *guarded_fill(const ctrng_stream *s, int kind, const ctrng_params *prm,
                                   uint64_t block, uint64_t skip, size_t n, size_t shift, int isa)
{
    size_t size = out_size(kind, prm);
    unsigned char *buf = malloc(GUARD + shift * size + n * size + GUARD + 1);
    CHECK(buf != NULL, "out of memory");
    memset(buf, 0xA5, GUARD + shift * size + n * size + GUARD + 1);
    int err = ctrng_fill(s, kind, prm, block, skip, n, buf + GUARD + shift * size, isa, (int)below(2));
    CHECK(err == CTRNG_OK, "ctrng_fill failed");
    for (size_t i = 0; i < GUARD + shift * size; i++) CHECK(buf[i] == 0xA5, "write before the output");
    for (size_t i = 0; i < GUARD; i++) CHECK(buf[GUARD + (shift + n) * size + i] == 0xA5, "write after the output");
    unsigned char *out = malloc(n * size + 1);
    CHECK(out != NULL, "out of memory");
    memcpy(out, buf + GUARD + shift * size, n * size);
    free(buf);
    return out;
}

/* A code path this CPU runs, at random. */
static const int isas[] = {CTRNG_ISA_PORTABLE, CTRNG_ISA_AVX2, CTRNG_ISA_AVX512};

static int any_isa(void)
{
    for (;;) {
        int isa = isas[below(3)];
        if (ctrng_isa_available(isa)) return isa;
    }
}

static void fuzz_fill(void)
{
    ctrng_stream s;
    s.algorithm = (int)below(4);
    static const int rounds[] = {1, 7, 10, 13, 20};
    s.rounds = rounds[below(5)];
    for (int i = 0; i < 4; i++) {
        s.key[i] = next64();
        s.ctr[i] = next64();
    }
    int kind = (int)below(CTRNG_NKINDS);
    ctrng_params prm;
    memset(&prm, 0, sizeof prm);
    prm.low = next64();
    prm.out_bytes = below(2) ? 4 : 8;
    if (kind == CTRNG_INTEGERS_32)
        prm.range = below(1 << 16);
    else if (kind == CTRNG_INTEGERS_64)
        prm.range = below(UINT64_C(1) << 32);
    else
        prm.range = below(2) ? next64() : below(1000);
    prm.threshold = next64();
    prm.certain = below(8) == 0;
    prm.affine = (kind >= CTRNG_UNIFORM_F32 && kind <= CTRNG_NORMAL_F64) ? (int)below(2) : 0;
    prm.loc = (double)(int64_t)below(200) - 100.0;
    prm.scale = (double)below(1000) / 7.0;
    /* truncated normals: [plo, plo + width] inside [0, 1], sometimes deep
       in the tail (subnormal probabilities) */
    prm.plo = below(4) == 0 ? 0.0 : (double)below(1u << 20) * 0x1p-21 * (below(4) == 0 ? 0x1p-1060 : 1.0);
    prm.width = (1.0 - prm.plo) * (double)(1 + below(1u << 20)) * 0x1p-20 * (below(4) == 0 ? 0x1p-1000 : 1.0);
    prm.flip = (int)below(2);
    prm.alpha = -(double)below(50);
    prm.beta = (double)below(50);

    uint64_t per_block = (s.algorithm == CTRNG_PHILOX4X64 || s.algorithm == CTRNG_THREEFRY4X64 ? 32 : 16) /
                         unit_bytes[kind];
    if (per_block == 0) per_block = 1; /* 16-byte integers on a 4x32 cipher: one per block */
    uint64_t block = below(4) == 0 ? UINT64_MAX - below(64) : below(4) == 0 ? below(1 << 20) : next64();
    uint64_t skip = below(per_block);
    size_t n = (size_t)below(4) == 0 ? (size_t)below(5) : (size_t)below(700);
    /* stay inside the 2^64 blocks of the counter space */
    unsigned __int128 first = (unsigned __int128)block * per_block + skip;
    unsigned __int128 end = ((unsigned __int128)1 << 64) * per_block;
    if (first + n > end) n = (size_t)(end - first);
    size_t shift = (size_t)below(9);

    unsigned char *one = guarded_fill(&s, kind, &prm, block, skip, n, shift, CTRNG_ISA_AUTO);
    size_t size = out_size(kind, &prm);
    {
        unsigned char *other = guarded_fill(&s, kind, &prm, block, skip, n, (size_t)below(9), any_isa());
        CHECK(memcmp(one, other, n * size) == 0, "code paths differ");
        free(other);
    }
    if (n > 1) {
        size_t k = 1 + (size_t)below(n - 1);
        unsigned __int128 mid = first + k;
        unsigned char *head = guarded_fill(&s, kind, &prm, block, skip, k, (size_t)below(9), CTRNG_ISA_AUTO);
        unsigned char *tail = guarded_fill(&s, kind, &prm, (uint64_t)(mid / per_block), (uint64_t)(mid % per_block),
                                           n - k, (size_t)below(9), CTRNG_ISA_AUTO);
        CHECK(memcmp(one, head, k * size) == 0, "split fill: head differs");
        CHECK(memcmp(one + k * size, tail, (n - k) * size) == 0, "split fill: tail differs");
        free(head);
        free(tail);
    }
    free(one);
}

/* Items [0, n) through the three permutation phases, cut into `pieces`. */
static unsigned char *permute(const ctrng_stream *s, uint64_t w0, uint64_t n, int bits, int pieces,
                              const unsigned char *src, size_t itemsize, size_t shift)
{
    uint64_t nb = UINT64_C(1) << bits;
    uint64_t *counts = calloc((size_t)(pieces * nb), sizeof *counts);
    uint64_t *starts = calloc((size_t)nb + 1, sizeof *starts);
    uint64_t *next = malloc((size_t)(pieces * nb) * sizeof *next);
    unsigned char *buf = malloc(GUARD + (shift + n) * itemsize + GUARD);
    CHECK(counts && starts && next && buf, "out of memory");
    memset(buf, 0x5A, GUARD + (shift + n) * itemsize + GUARD);
    unsigned char *dst = buf + GUARD + shift * itemsize;
    for (int p = 0; p < pieces; p++) ctrng_perm_count(s, w0, n * p / pieces, n * (p + 1) / pieces, bits, counts + p * nb);
    for (uint64_t b = 0; b < nb; b++) {
        uint64_t at = starts[b];
        for (int p = 0; p < pieces; p++) {
            next[p * nb + b] = at;
            at += counts[p * nb + b];
        }
        starts[b + 1] = at;
    }
    CHECK(starts[nb] == n, "bucket counts do not add up");
    for (int p = 0; p < pieces; p++) {
        uint64_t lo = n * p / pieces, hi = n * (p + 1) / pieces;
        ctrng_perm_scatter(s, w0, lo, hi, bits, next + p * nb, src, itemsize, dst);
    }
    uint64_t cut = below(nb + 1);
    ctrng_perm_shuffle_buckets(s, w0, n, starts, 0, cut, dst, 0, itemsize);
    /* the second half through a view that starts at its first position */
    ctrng_perm_shuffle_buckets(s, w0, n, starts, cut, nb, dst + starts[cut] * itemsize, starts[cut], itemsize);
    for (size_t i = 0; i < GUARD + shift * itemsize; i++) CHECK(buf[i] == 0x5A, "permutation wrote before its output");
    for (size_t i = 0; i < GUARD; i++) CHECK(dst[n * itemsize + i] == 0x5A, "permutation wrote after its output");
    unsigned char *out = malloc(n * itemsize + 1);
    CHECK(out != NULL, "out of memory");
    memcpy(out, dst, n * itemsize);
    free(counts);
    free(starts);
    free(next);
    free(buf);
    return out;
}

static void fuzz_permutation(void)
{
    ctrng_stream s = {(int)below(4), 10, {next64(), next64(), next64(), next64()}, {0, next64(), next64(), next64()}};
    uint64_t n = below(4) == 0 ? below(8) : below(6000);
    int bits = (int)below(17);
    uint64_t w0 = below(2) ? below(1000) : next64() >> 8;
    /* the index permutation (src NULL) in one piece and in several */
    unsigned char *a = permute(&s, w0, n, bits, 1, NULL, 8, (size_t)below(9));
    unsigned char *b = permute(&s, w0, n, bits, 1 + (int)below(5), NULL, 8, (size_t)below(9));
    CHECK(memcmp(a, b, n * 8) == 0, "permutation depends on the cut");
    char *seen = calloc((size_t)n + 1, 1);
    CHECK(seen != NULL, "out of memory");
    for (uint64_t i = 0; i < n; i++) {
        int64_t v;
        memcpy(&v, a + 8 * i, 8);
        CHECK(v >= 0 && (uint64_t)v < n && !seen[v], "not a permutation");
        seen[v] = 1;
    }
    /* items of another size move the same way */
    static const size_t sizes[] = {1, 2, 3, 4, 8, 12, 16, 40, 100};
    size_t itemsize = sizes[below(9)];
    unsigned char *src = malloc(n * itemsize + 1);
    CHECK(src != NULL, "out of memory");
    for (size_t i = 0; i < n * itemsize; i++) src[i] = (unsigned char)next64();
    unsigned char *c = permute(&s, w0, n, bits, 1 + (int)below(4), src, itemsize, (size_t)below(9));
    for (uint64_t i = 0; i < n; i++) {
        int64_t v;
        memcpy(&v, a + 8 * i, 8);
        CHECK(memcmp(c + i * itemsize, src + (uint64_t)v * itemsize, itemsize) == 0, "items moved differently");
    }
    free(a);
    free(b);
    free(c);
    free(src);
    free(seen);
}

static void fuzz_index_permutation(void)
{
    ctrng_stream s = {(int)below(4), 10, {next64(), next64(), next64(), next64()}, {0, next64(), next64(), next64()}};
    uint64_t n = below(3) == 0 ? 1 + below(300) : below(2) ? 1 + (next64() >> (1 + below(63))) : (UINT64_C(1) << 63) - 1 - below(5);
    ctrng_iperm p;
    CHECK(ctrng_iperm_init(&p, &s, n) == CTRNG_OK, "ctrng_iperm_init failed");
    size_t m = (size_t)(n < 700 ? n : 1 + below(700));
    uint64_t *in = malloc(m * 8 + 8), *img = malloc(m * 8 + 8), *back = malloc(m * 8 + 8);
    CHECK(in && img && back, "out of memory");
    for (size_t i = 0; i < m; i++) in[i] = n < 700 ? i : below(n);
    ctrng_iperm_map(&p, in, 0, m, img, 0);
    ctrng_iperm_map(&p, img, 0, m, back, 1);
    for (size_t i = 0; i < m; i++) {
        CHECK(img[i] < n, "image out of range");
        CHECK(back[i] == in[i], "inverse does not undo the map");
    }
    if (n < 700) {
        char seen[700] = {0};
        for (size_t i = 0; i < m; i++) {
            CHECK(!seen[img[i]], "index permutation is not a bijection");
            seen[img[i]] = 1;
        }
    }
    uint64_t first = below(n - m + 1);
    ctrng_iperm_map(&p, NULL, first, m, img, 0);
    for (size_t i = 0; i < m; i++) in[i] = first + i;
    ctrng_iperm_map(&p, in, 0, m, back, 0);
    CHECK(memcmp(img, back, m * 8) == 0, "a range and its explicit indices differ");
    free(in);
    free(img);
    free(back);
}

static void fuzz_scatter_labels(void)
{
    size_t n = (size_t)below(3000), labels = 1 + (size_t)below(300), itemsize = 1 + (size_t)below(24);
    uint32_t *label = malloc(n * 4 + 4);
    uint64_t *next = calloc(labels, 8), *count = calloc(labels, 8);
    unsigned char *src = malloc(n * itemsize + 1), *dst = malloc(n * itemsize + 1);
    CHECK(label && next && count && src && dst, "out of memory");
    for (size_t i = 0; i < n; i++) {
        label[i] = (uint32_t)below(labels);
        count[label[i]]++;
    }
    for (size_t i = 0; i < n * itemsize; i++) src[i] = (unsigned char)next64();
    for (size_t l = 1; l < labels; l++) next[l] = next[l - 1] + count[l - 1];
    ctrng_scatter_labels(label, n, next, src, itemsize, dst);
    size_t at = 0;
    for (size_t l = 0; l < labels; l++)
        for (size_t i = 0; i < n; i++)
            if (label[i] == l) {
                CHECK(memcmp(dst + at * itemsize, src + i * itemsize, itemsize) == 0, "scatter is not a stable sort");
                at++;
            }
    free(label);
    free(next);
    free(count);
    free(src);
    free(dst);
}

static void one_case(uint64_t seed)
{
    current_seed = seed;
    rng_state = seed;
    switch (below(4)) {
    case 0: fuzz_fill(); break;
    case 1: fuzz_permutation(); break;
    case 2: fuzz_index_permutation(); break;
    default: fuzz_scatter_labels(); break;
    }
}

#ifdef CTRNG_LIBFUZZER
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint64_t seed = 0;
    memcpy(&seed, data, size < 8 ? size : 8);
    one_case(seed);
    return 0;
}
#else
int main(int argc, char **argv)
{
    double seconds = argc > 1 ? atof(argv[1]) : 10.0;
    uint64_t seed = argc > 2 ? strtoull(argv[2], NULL, 0) : 1;
    unsigned long long cases = 0;
    clock_t t0 = clock();
    do {
        one_case(seed++);
        cases++;
    } while ((double)(clock() - t0) / CLOCKS_PER_SEC < seconds);
    int paths = 0;
    for (int i = 0; i < 3; i++) paths += ctrng_isa_available(isas[i]);
    printf("code paths: %d\ncases: %llu\n", paths, cases);
    return 0;
}
#endif
