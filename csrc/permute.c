/* Fisher-Yates shuffle of an index array, driven by consecutive uint64
 * elements of a stream: step j (n-1 down to 1) swaps perm[j] and perm[k]
 * with k uniform on [0, j] by Lemire's method, a rejected draw taking the
 * next word.  Exactly uniform given ideal random words. */
#include "kernels.h"
#include "lemire.h"

#define WORDS 512

uint64_t ctrng_fisher_yates(const ctrng_stream *s, uint64_t first_word, int64_t *perm, size_t n)
{
    uint64_t words[WORDS];
    uint64_t per_block = ctrng_is64(s->algorithm) ? 4 : 2; /* uint64 words per block */
    uint64_t next = first_word; /* uint64 element index of words[WORDS] */
    size_t have = 0, used = 0;
    for (size_t j = n ? n - 1 : 0; j > 0; j--) {
        uint64_t range = j, t = ctrng_lemire64_threshold(range), k;
        for (;;) {
            if (used == have) {
                ctrng_fill(s, CTRNG_RAW32, NULL, next / per_block, (next % per_block) * 2, 2 * WORDS,
                           words, CTRNG_ISA_AUTO);
                next += WORDS;
                have = WORDS;
                used = 0;
            }
            if (ctrng_lemire64(words[used++], range, t, &k)) break;
        }
        int64_t tmp = perm[j];
        perm[j] = perm[k];
        perm[k] = tmp;
    }
    return next - first_word - (have - used);
}
