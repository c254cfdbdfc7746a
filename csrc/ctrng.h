/* ctrng C core: the whole interface that crosses into Python.
 *
 * A stream is a cipher, its key, and the counter words that stay fixed along
 * the stream (stream id and rank, laid out by src/ctrng/key.py).  The varying
 * part of the counter is the block index p (a 64-bit integer).  Every output
 * element is a pure function of (stream, kind, parameters, element index), so
 * a fill may be cut into any pieces, run on any number of threads, and give
 * the same bytes. */
#ifndef CTRNG_H
#define CTRNG_H

#include <stddef.h>
#include <stdint.h>

enum {
    CTRNG_PHILOX4X32 = 0,
    CTRNG_PHILOX4X64 = 1,
    CTRNG_THREEFRY4X32 = 2,
    CTRNG_THREEFRY4X64 = 3
};

/* Distributions ("kinds"): CTRNG_RAW32, CTRNG_UNIFORM_F32, ... and
 * CTRNG_NKINDS, from the table in kinds.h.  The same table, as data: */
#include "kinds.h"
typedef struct {
    const char *name;   /* lower-case name: "raw32", "uniform_f32", ...          */
    int unit_bytes;     /* stream bytes one element consumes                     */
    char value;         /* output values: 'u' unsigned, 'f' IEEE float, 'i' the
                           caller's integer type of ctrng_params.out_bytes       */
    int out_bytes;      /* bytes of one output value (0: ctrng_params.out_bytes) */
    int range_bits;     /* integer kinds: they take ranges below 2^range_bits and
                           redraw rejected draws from the retry blocks; else 0   */
} ctrng_kind;
extern const ctrng_kind ctrng_kinds[];
extern const int ctrng_nkinds;

enum {
    CTRNG_ISA_AUTO = 0,
    CTRNG_ISA_PORTABLE = 1,
    CTRNG_ISA_AVX2 = 2,
    CTRNG_ISA_AVX512 = 3  /* AVX-512 F, VL, BW and DQ */
};

enum {
    CTRNG_OK = 0,
    CTRNG_EALGORITHM = -1,
    CTRNG_EKIND = -2,
    CTRNG_EISA = -3,
    CTRNG_EROUNDS = -4,
    CTRNG_EPARAMS = -5
};

typedef struct {
    int algorithm;
    int rounds;
    uint64_t key[4]; /* key words (low 32 bits used by the 4x32 ciphers)   */
    uint64_t ctr[4]; /* counter words; the block index replaces ctr[0] (and
                        ctr[1] for the 4x32 ciphers, as its high half)      */
} ctrng_stream;

typedef struct {
    uint64_t low;       /* integers: added to each offset, modulo 2^(8 out_bytes) */
    uint64_t range;     /* integers: high - low - 1                               */
    uint64_t threshold; /* bernoulli: P(1) = threshold / 2^64 ...               */
    int certain;        /* ... or 1 when certain is set (p = 1)                  */
    int out_bytes;      /* integers: 4 or 8                                       */
    int affine;         /* uniform, normal: 1 to return loc + scale * x, computed
                           in the output's precision (x * scale, then + loc)    */
    double loc, scale;
    /* truncated normals: z = ndtri(plo + u width), negated when flip is set,
       clamped to [alpha, beta], then loc + scale z, in double precision     */
    double plo, width, alpha, beta;
    int flip;
} ctrng_params;

/* One block of the cipher, words in Random123 array order. */
int ctrng_block(int algorithm, int rounds, const uint64_t ctr[4],
                const uint64_t key[4], uint64_t out[4]);

/* Fill out[0:n] with elements first, first + 1, ... of a distribution, where
 * element index first = first_block * (elements per block) + skip.
 * isa selects a code path (CTRNG_ISA_AUTO: the best this CPU runs); every
 * path gives identical bytes.  With CTRNG_FILL_STREAM in flags, a call
 * writing 8 MiB or more of a kind whose row in kinds.h has `streams` set
 * (uniform floats, integers) and no fused kernel stores past the caches
 * (non-temporal stores): faster into memory written before, slower into
 * freshly mapped pages, which the kernel has just zeroed through the cache.
 * Returns CTRNG_OK or a negative error code. */
#define CTRNG_FILL_STREAM 1
int ctrng_fill(const ctrng_stream *s, int kind, const ctrng_params *prm,
               uint64_t first_block, uint64_t skip, size_t n, void *out, int isa, int flags);

/* The standard normal quantile of p[j] in [0, 1] (Wichura's AS 241, about
 * 1e-16 relative; ndtri(0) = -inf, ndtri(1) = inf), every code path and
 * ctrng.numba's scalar ndtri giving the same bits. */
int ctrng_ndtri(const double *p, size_t n, double *out, int isa);

/* Uniform permutation of n items, from the stream's 32-bit words
 * [w0, w0 + 2n), in three phases (csrc/shuffle/permute.c defines the permutation):
 * count each range of items per bucket, scatter each range of items to its
 * buckets (next[b]: where the range's first item of bucket b goes; advanced),
 * then shuffle each range of buckets in place (data holds the output from
 * position base on).  bucket_start has 2^bits + 1 entries.  src == NULL in
 * the scatter writes the indices as int64; src and dst always hold all n
 * items, whatever range a call handles. */
int ctrng_perm_bits(uint64_t n);
/* Stable counting scatter: item j of src goes to dst[next[label[j]]++]. */
void ctrng_scatter_labels(const uint32_t *label, size_t n, uint64_t *next, const void *src,
                          size_t itemsize, void *dst);
void ctrng_perm_count(const ctrng_stream *s, uint64_t w0, uint64_t lo, uint64_t hi, int bits,
                      uint64_t *counts);
void ctrng_perm_scatter(const ctrng_stream *s, uint64_t w0, uint64_t lo, uint64_t hi, int bits,
                        uint64_t *next, const void *src, size_t itemsize, void *dst);
void ctrng_perm_shuffle_buckets(const ctrng_stream *s, uint64_t w0, uint64_t n,
                                const uint64_t *bucket_start, uint64_t b_lo, uint64_t b_hi,
                                void *data, uint64_t base, size_t itemsize);

/* Items of variable length back to back in a buffer, item i ending at
 * ends[i] (csrc/shuffle/spans.c).  ctrng_line_ends writes the offset past
 * each '\n' of buf[0, len) to ends (NULL: only counts them), at most
 * max of them, and returns how many.  ctrng_gather_spans copies items
 * order[0], order[1], ... back to back into dst, writing their ends there
 * to dst_ends (if not NULL); item i is bytes [ends[i - 1], ends[i]) of the
 * items laid end to end (ends NULL: items of `width` bytes), and those
 * bytes lie in nparts buffers, part p holding the items from first[p] on
 * (first[0] = 0, ascending). */
size_t ctrng_line_ends(const unsigned char *buf, size_t len, uint64_t *ends, size_t max);
void ctrng_gather_spans(const unsigned char *const *parts, const uint64_t *first, size_t nparts,
                        const uint64_t *ends, uint64_t width, const int64_t *order, size_t n,
                        unsigned char *dst, uint64_t *dst_ends);

/* Stateless index permutation of [0, n), 1 <= n < 2^63 (csrc/shuffle/iperm.c):
 * init reads block n of the stream for its keys; map writes out[j] = the
 * image (or, with inverse set, the preimage) of in[j], or of first + j when
 * in is NULL.  Inputs must be below n. */
#define CTRNG_IPERM_MAX_ROUNDS 24
typedef struct {
    uint64_t n;
    int bits;
    int rounds;
    uint32_t keys[CTRNG_IPERM_MAX_ROUNDS];
    uint64_t add;
} ctrng_iperm;
int ctrng_iperm_init(ctrng_iperm *p, const ctrng_stream *s, uint64_t n);
void ctrng_iperm_map(const ctrng_iperm *p, const uint64_t *in, uint64_t first, size_t count,
                     uint64_t *out, int inverse);

/* 1 if this CPU and build can run the given code path. */
int ctrng_isa_available(int isa);

/* NumPy bit generator: a buffered cursor over the stream, in 32-bit words.
 * NumPy's draws cannot fail, so a draw that runs past the stream's end
 * sets `exhausted` and goes on from block 0 (words that must not be used:
 * the caller raises and puts the cursor back at the end). */
#define CTRNG_BITGEN_WORDS 64
typedef struct {
    ctrng_stream stream;
    uint64_t block;                     /* block index of buf[0]          */
    uint32_t index;                     /* next word of buf to hand out   */
    uint32_t exhausted;                 /* 1 once a word past the end was
                                           handed out                     */
    uint32_t buf[CTRNG_BITGEN_WORDS];
} ctrng_bitgen_state;

/* Same layout as NumPy's bitgen_t (numpy/random/bitgen.h). */
typedef struct {
    void *state;
    uint64_t (*next_uint64)(void *st);
    uint32_t (*next_uint32)(void *st);
    double (*next_double)(void *st);
    uint64_t (*next_raw)(void *st);
} ctrng_bitgen;

/* Position the cursor at 32-bit word (block * words per block + index,
 * index at most the words per block, so that the end of the stream is
 * block 2^64 - 1, index = words per block), clear `exhausted` and wire the
 * bitgen_t callbacks to it. */
int ctrng_bitgen_init(ctrng_bitgen *bg, ctrng_bitgen_state *st,
                      uint64_t block, uint32_t index);

#endif
