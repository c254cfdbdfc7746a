/* The NumPy bit generator: a buffered cursor over a stream's 32-bit words. */
#include "kernels/kernels.h"

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
    int err = ctrng_valid_stream(&st->stream);
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
