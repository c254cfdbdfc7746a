/* ctrng_fill: cut a request into aligned groups of blocks, generate them with
 * the chosen kernel table, transform, and copy the partial head and tail.
 * Also the scalar reference paths and the NumPy bit generator cursor. */
#include <string.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include "kernels.h"
#include "lemire.h"
#include "philox.h"
#include "threefry.h"

/* A group is 64 bytes of stream: 4 blocks of a 4x32 cipher, 2 of a 4x64. */
#define GROUP_BYTES 64
/* Groups generated per pass: 4 KiB of raw words stay in L1. */
#define CHUNK_GROUPS 64

static const int unit_bytes[CTRNG_NKINDS] = {4, 4, 8, 4, 8, 4, 8, 16, 8, 8, 8};

static int valid_stream(const ctrng_stream *s)
{
    if (s->algorithm < 0 || s->algorithm > 3) return CTRNG_EALGORITHM;
    if (s->rounds < 0 || s->rounds > 1024) return CTRNG_EROUNDS;
    return CTRNG_OK;
}

int ctrng_block(int algorithm, int rounds, const uint64_t ctr[4], const uint64_t key[4],
                uint64_t out[4])
{
    if (rounds < 0 || rounds > 1024) return CTRNG_EROUNDS;
    uint32_t c32[4], k32[4], o32[4];
    for (int i = 0; i < 4; i++) {
        c32[i] = (uint32_t)ctr[i];
        k32[i] = (uint32_t)key[i];
    }
    switch (algorithm) {
    case CTRNG_PHILOX4X32: ctrng_philox4x32(c32, k32, rounds, o32); break;
    case CTRNG_THREEFRY4X32: ctrng_threefry4x32(c32, k32, rounds, o32); break;
    case CTRNG_PHILOX4X64: ctrng_philox4x64(ctr, key, rounds, out); return CTRNG_OK;
    case CTRNG_THREEFRY4X64: ctrng_threefry4x64(ctr, key, rounds, out); return CTRNG_OK;
    default: return CTRNG_EALGORITHM;
    }
    for (int i = 0; i < 4; i++) out[i] = o32[i];
    return CTRNG_OK;
}

void ctrng_stream_block(const ctrng_stream *s, uint64_t p, uint32_t out[8])
{
    if (ctrng_is64(s->algorithm)) {
        uint64_t ctr[4] = {p, s->ctr[1], s->ctr[2], s->ctr[3]}, o[4];
        if (s->algorithm == CTRNG_PHILOX4X64)
            ctrng_philox4x64(ctr, s->key, s->rounds, o);
        else
            ctrng_threefry4x64(ctr, s->key, s->rounds, o);
        memcpy(out, o, 32);
    } else {
        uint32_t ctr[4] = {(uint32_t)p, (uint32_t)(p >> 32), (uint32_t)s->ctr[2], (uint32_t)s->ctr[3]};
        uint32_t key[4] = {(uint32_t)s->key[0], (uint32_t)s->key[1], (uint32_t)s->key[2], (uint32_t)s->key[3]};
        if (s->algorithm == CTRNG_PHILOX4X32)
            ctrng_philox4x32(ctr, key, s->rounds, out);
        else
            ctrng_threefry4x32(ctr, key, s->rounds, out);
    }
}

void ctrng_blocks_portable(const ctrng_stream *s, uint64_t block, size_t nblocks, uint32_t *out)
{
    size_t words = ctrng_is64(s->algorithm) ? 8 : 4;
    for (size_t i = 0; i < nblocks; i++) ctrng_stream_block(s, block + i, out + words * i);
}

/* Retry r (r < 64) of integer element i reads the first bytes of block
 * 2^63 | i << 6 | r of the same stream.  Elements i < 2^57 (the limit the
 * Python layer enforces) thus never read a block that their own draws use.
 * If all 64 draws are rejected (probability below 2^-1000 for every range)
 * the last offset is kept. */
uint64_t ctrng_integer_retry(const ctrng_stream *s, int kind, uint64_t range, uint64_t i)
{
    uint32_t w[8];
    uint64_t off = 0;
    uint32_t t32 = kind == CTRNG_INTEGERS_32 ? ctrng_lemire32_threshold(range) : 0;
    uint64_t t64 = kind == CTRNG_INTEGERS_64 ? ctrng_lemire64_threshold(range) : 0;
    ctrng_u128 t128 = kind == CTRNG_INTEGERS_128 ? ctrng_lemire128_threshold(range) : 0;
    for (uint64_t r = 0; r < 64; r++) {
        ctrng_stream_block(s, (UINT64_C(1) << 63) | (i << 6) | r, w);
        uint64_t x0 = w[0] | (uint64_t)w[1] << 32, x1 = w[2] | (uint64_t)w[3] << 32;
        int ok;
        if (kind == CTRNG_INTEGERS_32)
            ok = ctrng_lemire32(w[0], range, t32, &off);
        else if (kind == CTRNG_INTEGERS_64)
            ok = ctrng_lemire64(x0, range, t64, &off);
        else
            ok = ctrng_lemire128(x0, x1, range, t128, &off);
        if (ok) break;
    }
    return off;
}

static size_t out_bytes(int kind, const ctrng_params *prm)
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

int ctrng_isa_available(int isa)
{
    switch (isa) {
    case CTRNG_ISA_AUTO:
    case CTRNG_ISA_PORTABLE: return 1;
#ifdef CTRNG_HAVE_AVX2
    case CTRNG_ISA_AVX2:
        __builtin_cpu_init();
        return __builtin_cpu_supports("avx2") ? 1 : 0;
#endif
#ifdef CTRNG_HAVE_AVX512
    case CTRNG_ISA_AVX512:
        __builtin_cpu_init();
#ifdef CTRNG_AVX512_AS_AVX2 /* a test build: csrc/kernels_avx512.c compiled for AVX2 */
        return __builtin_cpu_supports("avx2") ? 1 : 0;
#else /* (libgcc also checks that the OS saves the AVX-512 registers) */
        return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl") &&
               __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512dq");
#endif
#endif
    default: return 0;
    }
}

static const ctrng_kernels *kernels_for(int isa)
{
#ifdef CTRNG_HAVE_AVX512
    if ((isa == CTRNG_ISA_AUTO || isa == CTRNG_ISA_AVX512) && ctrng_isa_available(CTRNG_ISA_AVX512))
        return &ctrng_kernels_avx512;
#endif
#ifdef CTRNG_HAVE_AVX2
    if ((isa == CTRNG_ISA_AUTO || isa == CTRNG_ISA_AVX2) && ctrng_isa_available(CTRNG_ISA_AVX2))
        return &ctrng_kernels_avx2;
#endif
    if (isa == CTRNG_ISA_AUTO || isa == CTRNG_ISA_PORTABLE) return &ctrng_kernels_portable;
    return NULL;
}

/* The table's fused kernel for this stream and kind, or NULL. */
static ctrng_fused_fn fused_for(const ctrng_kernels *k, const ctrng_stream *s, int kind)
{
    return s->algorithm == CTRNG_PHILOX4X32 && s->rounds <= 64 ? k->philox4x32_fused[kind] : NULL;
}

/* Elements of `groups` whole groups from group `group` on, into dst: raw
 * words straight from the cipher, cheap kinds through a fused kernel where
 * the table has one, other kinds through the transform and, when asked, the
 * affine map.  raw is scratch for CHUNK_GROUPS groups. */
static void make_groups(const ctrng_kernels *k, const ctrng_stream *s, int kind, const ctrng_params *prm,
                        uint64_t group, size_t groups, uint32_t *raw, void *dst)
{
    uint64_t group_blocks = GROUP_BYTES / (ctrng_is64(s->algorithm) ? 32 : 16);
    ctrng_fused_fn fused = fused_for(k, s, kind);
    if (fused) {
        fused(s, prm, group * group_blocks, groups * group_blocks, group * (GROUP_BYTES / unit_bytes[kind]), dst);
        return;
    }
    if (kind == CTRNG_RAW32) {
        k->blocks[s->algorithm](s, group * group_blocks, groups * group_blocks, dst);
        return;
    }
    size_t per_group = GROUP_BYTES / unit_bytes[kind];
    k->blocks[s->algorithm](s, group * group_blocks, groups * group_blocks, raw);
    k->transform[kind](s, prm, raw, groups * per_group, group * per_group, dst);
    if (prm && prm->affine) k->affine(kind, prm, dst, groups * per_group);
}

/* With CTRNG_FILL_STREAM, a call writing at least this many bytes of a kind
 * in stream_pays sends them past the caches with non-temporal stores: output
 * that large would leave the cache anyway, and these stores skip reading
 * each line before overwriting it.  The values are the same. */
#define STREAM_BYTES ((size_t)8 << 20)

/* The kinds that stream: those with cheap transforms, whose fills are bound
 * by memory traffic, unless a fused kernel makes them.  For raw words and
 * normal, truncated normal and Bernoulli draws, ordinary stores overlap the
 * cipher and the transform, and the stage and copy that streaming needs
 * cost more than they save.  Measured on Zen 3, 10^7 values into reused
 * memory: streaming saves 4-22 % for uniform floats and 64-bit integers
 * made by a transform, and costs 6-13 % for normals and 6-27 % for raw
 * words (truncated normals and Bernoulli draws: not measured, left out as
 * being as costly per output byte as normals).  A fused kernel's ordinary
 * stores overlap the cipher like raw words' do, and beat the staged stream:
 * uniform float32 0.64-0.68 against 0.77-0.78 ns a value, float64 1.48-1.54
 * against 1.66-1.70. */
static const unsigned char stream_pays[CTRNG_NKINDS] = {
    [CTRNG_UNIFORM_F32] = 1, [CTRNG_UNIFORM_F64] = 1,
    [CTRNG_INTEGERS_32] = 1, [CTRNG_INTEGERS_64] = 1, [CTRNG_INTEGERS_128] = 1,
};

int ctrng_fill(const ctrng_stream *s, int kind, const ctrng_params *prm, uint64_t first_block,
               uint64_t skip, size_t n, void *out, int isa, int flags)
{
    int err = valid_stream(s);
    if (err) return err;
    if (kind < 0 || kind >= CTRNG_NKINDS) return CTRNG_EKIND;
    if (kind >= CTRNG_INTEGERS_32 && kind <= CTRNG_INTEGERS_128 &&
        (prm == NULL || (prm->out_bytes != 4 && prm->out_bytes != 8)))
        return CTRNG_EPARAMS;
    const ctrng_kernels *k = kernels_for(isa);
    if (k == NULL) return CTRNG_EISA;

    uint64_t per_block = (ctrng_is64(s->algorithm) ? 32 : 16) / unit_bytes[kind];
    uint64_t group_blocks = GROUP_BYTES / (ctrng_is64(s->algorithm) ? 32 : 16);
    size_t per_group = GROUP_BYTES / unit_bytes[kind];
    size_t osize = out_bytes(kind, prm);
    if (skip >= per_block) return CTRNG_EPARAMS;

    uint64_t group = first_block / group_blocks;
    size_t head = (size_t)((first_block % group_blocks) * per_block + skip);
    _Alignas(64) uint32_t raw[CHUNK_GROUPS * GROUP_BYTES / 4];
    _Alignas(64) unsigned char tmp[GROUP_BYTES / 4 * 8];
    _Alignas(64) unsigned char stage[CHUNK_GROUPS * GROUP_BYTES / 4 * 8];
    unsigned char *o = out;

    if (head && n) { /* partial first group */
        size_t take = per_group - head < n ? per_group - head : n;
        make_groups(k, s, kind, prm, group, 1, raw, tmp);
        memcpy(o, tmp + head * osize, take * osize);
        o += take * osize;
        n -= take;
        group++;
    }
    int streaming = (flags & CTRNG_FILL_STREAM) && stream_pays[kind] && !fused_for(k, s, kind) &&
                    n * osize >= STREAM_BYTES;
    while (n >= per_group) {
        size_t groups = n / per_group < CHUNK_GROUPS ? n / per_group : CHUNK_GROUPS;
        if (streaming) {
            make_groups(k, s, kind, prm, group, groups, raw, stage);
            k->stream_copy(o, stage, groups * per_group * osize);
        } else {
            make_groups(k, s, kind, prm, group, groups, raw, o);
        }
        o += groups * per_group * osize;
        n -= groups * per_group;
        group += groups;
    }
    if (n) { /* partial last group */
        make_groups(k, s, kind, prm, group, 1, raw, tmp);
        memcpy(o, tmp, n * osize);
    }
#ifdef __SSE2__
    if (streaming) _mm_sfence(); /* order the streamed stores before returning */
#endif
    return CTRNG_OK;
}

int ctrng_ndtri(const double *p, size_t n, double *out, int isa)
{
    const ctrng_kernels *k = kernels_for(isa);
    if (k == NULL) return CTRNG_EISA;
    size_t body = n & ~(size_t)3;
    k->ndtri(p, body, out);
    if (body < n) { /* the last 1 to 3 values, through a padded vector */
        double pin[4] = {0.5, 0.5, 0.5, 0.5}, pout[4];
        memcpy(pin, p + body, (n - body) * sizeof(double));
        k->ndtri(pin, 4, pout);
        memcpy(out + body, pout, (n - body) * sizeof(double));
    }
    return CTRNG_OK;
}

/* ---- NumPy bit generator ------------------------------------------------ */

static uint32_t bitgen_block_words(const ctrng_bitgen_state *st)
{
    return ctrng_is64(st->stream.algorithm) ? 8 : 4;
}

/* Fill buf from st->block; a buffer that would pass the stream's end is
 * moved back (index with it) to end there, as its last. */
static void bitgen_refill(ctrng_bitgen_state *st)
{
    uint32_t per_block = bitgen_block_words(st);
    uint64_t last = -(uint64_t)(CTRNG_BITGEN_WORDS / per_block); /* first block of the last buffer */
    if (st->block > last) {
        st->index += (uint32_t)(st->block - last) * per_block;
        st->block = last;
    }
    ctrng_fill(&st->stream, CTRNG_RAW32, NULL, st->block, 0, CTRNG_BITGEN_WORDS, st->buf, CTRNG_ISA_AUTO, 0);
}

static uint32_t bitgen_next_uint32(void *p)
{
    ctrng_bitgen_state *st = p;
    if (st->index == CTRNG_BITGEN_WORDS) {
        st->block += CTRNG_BITGEN_WORDS / bitgen_block_words(st);
        st->exhausted |= st->block == 0; /* the last buffer is used up: wrap */
        st->index = 0;
        bitgen_refill(st);
    }
    return st->buf[st->index++];
}

/* uint64 draws start at an even word, as uint64 elements of the stream do. */
static uint64_t bitgen_next_uint64(void *p)
{
    ctrng_bitgen_state *st = p;
    st->index += st->index & 1;
    uint64_t lo = bitgen_next_uint32(st);
    return lo | (uint64_t)bitgen_next_uint32(st) << 32;
}

static double bitgen_next_double(void *p)
{
    return (double)(bitgen_next_uint64(p) >> 11) * 0x1p-53;
}

int ctrng_bitgen_init(ctrng_bitgen *bg, ctrng_bitgen_state *st, uint64_t block, uint32_t index)
{
    int err = valid_stream(&st->stream);
    if (err) return err;
    if (index > bitgen_block_words(st)) return CTRNG_EPARAMS;
    st->block = block;
    st->index = index;
    st->exhausted = 0;
    bitgen_refill(st);
    bg->state = st;
    bg->next_uint64 = bitgen_next_uint64;
    bg->next_uint32 = bitgen_next_uint32;
    bg->next_double = bitgen_next_double;
    bg->next_raw = bitgen_next_uint64;
    return CTRNG_OK;
}
