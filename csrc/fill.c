/* ctrng_fill: cut a request into aligned groups of blocks, generate them with
 * the chosen kernel table, transform, and copy the partial head and tail;
 * and ctrng_ndtri, the quantile on the same tables. */
#include <string.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include "kernels/kernels.h"

#define GROUP_BYTES CTRNG_GROUP_BYTES
#define CHUNK_GROUPS CTRNG_CHUNK_GROUPS

/* What fill.c needs of each kind, from the rows of kinds.h: stream bytes an
 * element consumes, bytes of an output value (0: ctrng_params.out_bytes),
 * and whether non-temporal stores pay for it (see STREAM_BYTES). */
static const struct {
    unsigned char unit_bytes, out_bytes, streams;
} kind_facts[CTRNG_NKINDS] = {
#define CTRNG_KIND_FACTS(NAME, name, unit_bytes, value, out_bytes, range_bits, put, streams) \
    [CTRNG_##NAME] = {unit_bytes, out_bytes, streams},
    CTRNG_KINDS(CTRNG_KIND_FACTS)
#undef CTRNG_KIND_FACTS
};

/* Elements are whole words (CTRNG_CHUNK_ELEMENTS counts on it) and tile a
 * 16-byte block, and so a group, exactly. */
#define CTRNG_KIND_UNIT_CHECK(NAME, name, unit_bytes, ...) \
    _Static_assert(unit_bytes % 4 == 0 && 16 % unit_bytes == 0, #name ": unit_bytes must divide a block");
CTRNG_KINDS(CTRNG_KIND_UNIT_CHECK)
#undef CTRNG_KIND_UNIT_CHECK

static size_t out_bytes(int kind, const ctrng_params *prm)
{
    int bytes = kind_facts[kind].out_bytes;
    return (size_t)(bytes ? bytes : prm->out_bytes);
}

/* The table's fused kernel for this stream and kind, or NULL: none for
 * this cipher and kind, or more rounds than it runs. */
static ctrng_fused_fn fused_for(const ctrng_kernels *k, const ctrng_stream *s, int kind)
{
    const ctrng_fused *f = &k->fused[s->algorithm][kind];
    return s->rounds <= f->max_rounds ? f->fn : NULL;
}

/* Redraw the elements of a call whose integer draws were rejected (rej,
 * from element `first` on, written at dst) from their retry blocks, and
 * clear the set.  Rare: out of line. */
static __attribute__((noinline)) void redraw_rejected(const ctrng_stream *s, int kind, const ctrng_params *prm,
                                                      uint64_t first, ctrng_rejects *rej, void *dst)
{
    for (size_t b = 0; b < CTRNG_CHUNK_ELEMENTS / 64; b++) {
        for (uint64_t m = rej->bits[b]; m; m &= m - 1) {
            size_t i = b * 64 + (size_t)__builtin_ctzll(m);
            uint64_t v = prm->low + ctrng_integer_retry(s, kind, prm->range, first + i);
            if (prm->out_bytes == 4)
                ((uint32_t *)dst)[i] = (uint32_t)v;
            else
                ((uint64_t *)dst)[i] = v;
        }
        rej->bits[b] = 0;
    }
    rej->any = 0;
}

/* Elements of `groups` whole groups from group `group` on, into dst: raw
 * words straight from the cipher, cheap kinds through a fused kernel where
 * the table has one, other kinds through the transform and, when asked, the
 * affine map; then the rare rejected integer draws redrawn.  raw is scratch
 * for CHUNK_GROUPS groups, rej an empty set. */
static void make_groups(const ctrng_kernels *k, const ctrng_stream *s, int kind, const ctrng_params *prm,
                        uint64_t group, size_t groups, uint32_t *raw, void *dst, ctrng_rejects *rej)
{
    uint64_t group_blocks = GROUP_BYTES / (ctrng_is64(s->algorithm) ? 32 : 16);
    size_t per_group = GROUP_BYTES / kind_facts[kind].unit_bytes;
    ctrng_fused_fn fused = fused_for(k, s, kind);
    if (fused) {
        fused(s, prm, group * group_blocks, groups * group_blocks, dst, rej);
    } else if (kind == CTRNG_RAW32) {
        k->blocks[s->algorithm](s, group * group_blocks, groups * group_blocks, dst);
        return;
    } else {
        k->blocks[s->algorithm](s, group * group_blocks, groups * group_blocks, raw);
        k->transform[kind](prm, raw, groups * per_group, dst, rej);
        if (prm && prm->affine) k->affine(kind, prm, dst, groups * per_group);
    }
    if (__builtin_expect(rej->any, 0)) redraw_rejected(s, kind, prm, group * per_group, rej, dst);
}

/* With CTRNG_FILL_STREAM, a call writing at least this many bytes of a kind
 * whose row has `streams` set sends them past the caches with non-temporal
 * stores: output that large would leave the cache anyway, and these stores
 * skip reading each line before overwriting it.  The values are the same.
 *
 * The kinds that stream are those with cheap transforms, whose fills are
 * bound by memory traffic, unless a fused kernel makes them.  For raw words
 * and normal, truncated normal and Bernoulli draws, ordinary stores overlap
 * the cipher and the transform, and the stage and copy that streaming needs
 * cost more than they save (measured for raw words and normals; truncated
 * normals and Bernoulli draws are left out as being as costly per output
 * byte as normals).  A fused kernel's ordinary stores overlap the cipher
 * like raw words' do, and were measured faster than the staged stream. */
#define STREAM_BYTES ((size_t)8 << 20)

int ctrng_fill(const ctrng_stream *s, int kind, const ctrng_params *prm, uint64_t first_block,
               uint64_t skip, size_t n, void *out, int isa, int flags)
{
    int err = ctrng_valid_stream(s);
    if (err) return err;
    if (kind < 0 || kind >= CTRNG_NKINDS) return CTRNG_EKIND;
    if (kind_facts[kind].out_bytes == 0 && /* integers of the caller's width */
        (prm == NULL || (prm->out_bytes != 4 && prm->out_bytes != 8)))
        return CTRNG_EPARAMS;
    const ctrng_kernels *k = ctrng_kernels_for(isa);
    if (k == NULL) return CTRNG_EISA;

    uint64_t per_block = (ctrng_is64(s->algorithm) ? 32 : 16) / kind_facts[kind].unit_bytes;
    uint64_t group_blocks = GROUP_BYTES / (ctrng_is64(s->algorithm) ? 32 : 16);
    size_t per_group = GROUP_BYTES / kind_facts[kind].unit_bytes;
    size_t osize = out_bytes(kind, prm);
    if (skip >= per_block) return CTRNG_EPARAMS;

    uint64_t group = first_block / group_blocks;
    size_t head = (size_t)((first_block % group_blocks) * per_block + skip);
    _Alignas(64) uint32_t raw[CHUNK_GROUPS * GROUP_BYTES / 4];
    _Alignas(64) unsigned char tmp[GROUP_BYTES / 4 * 8];
    _Alignas(64) unsigned char stage[CHUNK_GROUPS * GROUP_BYTES / 4 * 8];
    ctrng_rejects rej = {0};
    unsigned char *o = out;

    if (head && n) { /* partial first group */
        size_t take = per_group - head < n ? per_group - head : n;
        make_groups(k, s, kind, prm, group, 1, raw, tmp, &rej);
        memcpy(o, tmp + head * osize, take * osize);
        o += take * osize;
        n -= take;
        group++;
    }
    int streaming = (flags & CTRNG_FILL_STREAM) && kind_facts[kind].streams && !fused_for(k, s, kind) &&
                    n * osize >= STREAM_BYTES;
    while (n >= per_group) {
        size_t groups = n / per_group < CHUNK_GROUPS ? n / per_group : CHUNK_GROUPS;
        if (streaming) {
            make_groups(k, s, kind, prm, group, groups, raw, stage, &rej);
            k->stream_copy(o, stage, groups * per_group * osize);
        } else {
            make_groups(k, s, kind, prm, group, groups, raw, o, &rej);
        }
        o += groups * per_group * osize;
        n -= groups * per_group;
        group += groups;
    }
    if (n) { /* partial last group */
        make_groups(k, s, kind, prm, group, 1, raw, tmp, &rej);
        memcpy(o, tmp, n * osize);
    }
#ifdef __SSE2__
    if (streaming) _mm_sfence(); /* order the streamed stores before returning */
#endif
    return CTRNG_OK;
}

int ctrng_ndtri(const double *p, size_t n, double *out, int isa)
{
    const ctrng_kernels *k = ctrng_kernels_for(isa);
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
