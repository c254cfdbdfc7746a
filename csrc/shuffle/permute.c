/* Uniform permutations, cut into phases that threads can share.
 *
 * The permutation of n items read from the stream at 32-bit word w0 is
 * defined as follows (docs/permutations.md gives the uniformity argument):
 *   1. item i goes to bucket  word[w0 + i] >> (32 - B),  B = ctrng_perm_bits(n);
 *   2. the items are stably sorted by bucket (a stable counting scatter);
 *   3. each bucket [o, o + s) is Fisher-Yates shuffled: for q = o + s - 1
 *      down to o + 1, swap items q and o + k, with k uniform on [0, q - o]
 *      drawn by Lemire's method from word[w0 + n + q]; a rejected draw (or a
 *      bucket of 2^31 items or more) takes ctrng_integer_retry's 64-bit draw
 *      for element w0 + n + q instead.
 * Because the scatter is stable and every draw has a fixed address, phases
 * 1-2 can run over any split of [0, n) and phase 3 over any split of the
 * buckets, giving the same bytes. */
#include <stdlib.h>
#include <string.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "kernels/kernels.h"
#include "dist/lemire.h"

#define WORDS 2048 /* random words handled per step (8 KiB) */

int ctrng_perm_bits(uint64_t n)
{
    int bits = 0;
    while (bits < 32 && (n - 1) >> (bits + 15)) bits++;
    return n ? bits : 0;
}

/* count words of the stream from 32-bit word w on. */
static void words_at(const ctrng_stream *s, uint64_t w, size_t count, uint32_t *out)
{
    uint64_t per_block = ctrng_is64(s->algorithm) ? 8 : 4;
    ctrng_fill(s, CTRNG_RAW32, NULL, w / per_block, w % per_block, count, out, CTRNG_ISA_AUTO, 0);
}

void ctrng_perm_count(const ctrng_stream *s, uint64_t w0, uint64_t lo, uint64_t hi, int bits,
                      uint64_t *counts)
{
    uint32_t w[WORDS];
    if (bits == 0) {
        counts[0] += hi - lo;
        return;
    }
    for (uint64_t i = lo; i < hi; i += WORDS) {
        size_t m = hi - i < WORDS ? (size_t)(hi - i) : WORDS;
        words_at(s, w0 + i, m, w);
        for (size_t j = 0; j < m; j++) counts[w[j] >> (32 - bits)]++;
    }
}

#define COPY_LOOP(COPY)                                  \
    for (size_t j = 0; j < n; j++) {                     \
        uint64_t at = next[label[j]]++;                  \
        COPY;                                            \
    }

void ctrng_scatter_labels(const uint32_t *label, size_t n, uint64_t *next, const void *src,
                          size_t itemsize, void *dst)
{
    const unsigned char *in = src;
    unsigned char *out = dst;
    if (itemsize == 8)
        COPY_LOOP(memcpy(out + 8 * at, in + 8 * j, 8))
    else if (itemsize == 4)
        COPY_LOOP(memcpy(out + 4 * at, in + 4 * j, 4))
    else if (itemsize == 2)
        COPY_LOOP(memcpy(out + 2 * at, in + 2 * j, 2))
    else if (itemsize == 1)
        COPY_LOOP(out[at] = in[j])
    else if (itemsize == 16)
        COPY_LOOP(memcpy(out + 16 * at, in + 16 * j, 16))
    else
        COPY_LOOP(memcpy(out + itemsize * at, in + itemsize * j, itemsize))
}

/* Write-combining scatter for items of `size` bytes (4 or 8, dst aligned to
 * it): each bucket collects one cache line in buf and writes it whole, with
 * a non-temporal store, so the destination line is never read first.  Lines
 * that another range shares (a bucket's first and last) get plain stores. */
#define LINE 64
static inline __attribute__((always_inline)) void
scatter_lines(const ctrng_stream *s, uint64_t w0, uint64_t lo, uint64_t hi, int bits, uint64_t *next,
              const unsigned char *in, size_t size, unsigned char *out, unsigned char *buf, uint64_t *first)
{
    uint32_t w[WORDS];
    const uint64_t per_line = LINE / size, phase = ((uintptr_t)out / size) % per_line;
    const uint64_t nb = UINT64_C(1) << bits;
    memcpy(first, next, nb * sizeof *first);
    for (uint64_t i = lo; i < hi; i += WORDS) {
        size_t m = hi - i < WORDS ? (size_t)(hi - i) : WORDS;
        words_at(s, w0 + i, m, w);
        for (size_t j = 0; j < m; j++) {
            uint64_t b = w[j] >> (32 - bits), at = next[b]++, slot = (at + phase) % per_line;
            unsigned char *line = buf + b * LINE;
            if (in)
                memcpy(line + slot * size, in + (i + j) * size, size);
            else {
                uint64_t v = i + j;
                memcpy(line + slot * size, &v, 8);
            }
            if (slot == per_line - 1) {
                if (at >= first[b] + slot) {
#if defined(__SSE2__)
                    __m128i *d = (__m128i *)(out + (at - slot) * size);
                    const __m128i *l = (const __m128i *)line;
                    _mm_stream_si128(d, l[0]);
                    _mm_stream_si128(d + 1, l[1]);
                    _mm_stream_si128(d + 2, l[2]);
                    _mm_stream_si128(d + 3, l[3]);
#else
                    memcpy(out + (at - slot) * size, line, LINE);
#endif
                } else {
                    memcpy(out + first[b] * size, line + (slot - (at - first[b])) * size,
                           (at - first[b] + 1) * size);
                }
            }
        }
    }
    for (uint64_t b = 0; b < nb; b++) { /* the unfinished last lines */
        if (next[b] == first[b]) continue;
        uint64_t last = next[b] - 1, slot = (last + phase) % per_line;
        if (slot == per_line - 1) continue;
        uint64_t from = last >= slot && last - slot > first[b] ? last - slot : first[b];
        memcpy(out + from * size, buf + b * LINE + (slot - (last - from)) * size, (last - from + 1) * size);
    }
#if defined(__SSE2__)
    _mm_sfence(); /* make the streamed lines visible before the caller's join */
#endif
}

/* Buckets up to this many bits get write-combining buffers (4 MiB). */
#define LINE_BITS 16

/* Items [lo, hi) to their buckets: item i is written at dst[next[b]++] for
 * its bucket b.  src == NULL means the items are the indices themselves
 * (written as int64). */
void ctrng_perm_scatter(const ctrng_stream *s, uint64_t w0, uint64_t lo, uint64_t hi, int bits,
                        uint64_t *next, const void *src, size_t itemsize, void *dst)
{
    const unsigned char *in = src;
    unsigned char *out = dst;
    if (bits >= 3 && bits <= LINE_BITS && (itemsize == 8 || (itemsize == 4 && src)) &&
        (uintptr_t)dst % itemsize == 0) {
        size_t nb = (size_t)1 << bits;
        unsigned char *buf = aligned_alloc(LINE, nb * LINE);
        uint64_t *first = malloc(nb * sizeof *first);
        if (buf && first) {
            if (itemsize == 8)
                scatter_lines(s, w0, lo, hi, bits, next, in, 8, out, buf, first);
            else
                scatter_lines(s, w0, lo, hi, bits, next, in, 4, out, buf, first);
        }
        free(buf);
        free(first);
        if (buf && first) return;
    }
    uint32_t w[WORDS];
    for (uint64_t i = lo; i < hi; i += WORDS) {
        size_t m = hi - i < WORDS ? (size_t)(hi - i) : WORDS;
        words_at(s, w0 + i, m, w);
        for (size_t j = 0; j < m; j++) w[j] = bits ? w[j] >> (32 - bits) : 0;
        if (src == NULL) {
            int64_t *o = dst;
            for (size_t j = 0; j < m; j++) o[next[w[j]]++] = (int64_t)(i + j);
        } else {
            ctrng_scatter_labels(w, m, next, in + i * itemsize, itemsize, out);
        }
    }
}

static void swap_items(unsigned char *a, unsigned char *b, size_t size)
{
    unsigned char tmp[64];
    while (size) {
        size_t m = size < sizeof tmp ? size : sizeof tmp;
        memcpy(tmp, a, m);
        memcpy(a, b, m);
        memcpy(b, tmp, m);
        a += m;
        b += m;
        size -= m;
    }
}

/* Offset k in [0, t] for the draw at output position q (see the top). */
static inline uint64_t draw(const ctrng_stream *s, uint64_t w0, uint64_t n, uint64_t q, uint64_t t,
                            uint32_t x)
{
    if (t < (UINT64_C(1) << 31)) {
        uint64_t p = (uint64_t)x * (t + 1);
        if ((uint32_t)p >= t + 1 || (uint32_t)p >= ctrng_lemire32_threshold(t)) return p >> 32;
    }
    return ctrng_integer_retry(s, CTRNG_INTEGERS_64, t, w0 + n + q);
}

/* Read a bucket in order before shuffling it: its lines then come in at
 * streaming speed instead of one random miss at a time. */
static void touch(const unsigned char *p, size_t bytes)
{
    unsigned char acc = 0;
    for (size_t i = 0; i < bytes; i += LINE) acc ^= p[i];
    __asm__ volatile("" : : "r"(acc));
}

#define SHUFFLE_LOOP(SWAP)                                                        \
    for (uint64_t top = o + size; top > o + 1;) {                                 \
        uint64_t low = top - o - 1 > WORDS ? top - WORDS : o + 1;                 \
        words_at(s, w0 + n + low, (size_t)(top - low), w);                        \
        for (uint64_t q = top; q-- > low;) {                                      \
            uint64_t k = o + draw(s, w0, n, q, q - o, w[q - low]);               \
            uint64_t a = q - base, b = k - base; /* places in data */            \
            SWAP;                                                                 \
        }                                                                         \
        top = low;                                                                \
    }

void ctrng_perm_shuffle_buckets(const ctrng_stream *s, uint64_t w0, uint64_t n,
                                const uint64_t *bucket_start, uint64_t b_lo, uint64_t b_hi,
                                void *data, uint64_t base, size_t itemsize)
{
    uint32_t w[WORDS];
    unsigned char *d = data;
    for (uint64_t bucket = b_lo; bucket < b_hi; bucket++) {
        uint64_t o = bucket_start[bucket], size = bucket_start[bucket + 1] - o;
        touch(d + (o - base) * itemsize, size * itemsize);
        if (itemsize == 8) {
            uint64_t *v = data;
            SHUFFLE_LOOP(uint64_t tmp = v[a]; v[a] = v[b]; v[b] = tmp)
        } else if (itemsize == 4) {
            uint32_t *v = data;
            SHUFFLE_LOOP(uint32_t tmp = v[a]; v[a] = v[b]; v[b] = tmp)
        } else {
            SHUFFLE_LOOP(swap_items(d + a * itemsize, d + b * itemsize, itemsize))
        }
    }
}
