/* The stream layout: which cipher block is block p of a stream, the scalar
 * reference blocks every kernel table falls back on, and where an integer
 * element's retries live in the stream. */
#include <string.h>

#include "cipher/philox.h"
#include "cipher/threefry.h"
#include "dist/lemire.h"
#include "kernels/kernels.h"

int ctrng_valid_stream(const ctrng_stream *s)
{
    if (s->algorithm < 0 || s->algorithm >= CTRNG_NALGORITHMS) return CTRNG_EALGORITHM;
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
