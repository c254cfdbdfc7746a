/* Items of variable length held back to back in one buffer (the lines of a
 * text file, the records of a file shuffled out of core): item i is
 * buf[ends[i - 1], ends[i]), with ends[-1] taken as 0. */
#include <string.h>

#include "ctrng.h"

size_t ctrng_line_ends(const unsigned char *buf, size_t len, uint64_t *ends, size_t max)
{
    size_t count = 0, at = 0;
    while (count < max && at < len) {
        const unsigned char *nl = memchr(buf + at, '\n', len - at);
        if (!nl) break;
        at = (size_t)(nl - buf) + 1;
        if (ends) ends[count] = at;
        count++;
    }
    return count;
}

/* The part holding item i: the last p with first[p] <= i (first[0] = 0). */
static size_t part_of(const uint64_t *first, size_t nparts, uint64_t i)
{
    size_t lo = 0, hi = nparts;
    while (hi - lo > 1) {
        size_t mid = lo + (hi - lo) / 2;
        if (first[mid] <= i) lo = mid; else hi = mid;
    }
    return lo;
}

void ctrng_gather_spans(const unsigned char *const *parts, const uint64_t *first, size_t nparts,
                        const uint64_t *ends, uint64_t width, const int64_t *order, size_t n,
                        unsigned char *dst, uint64_t *dst_ends)
{
    uint64_t at = 0;
    for (size_t j = 0; j < n; j++) {
        uint64_t i = (uint64_t)order[j];
        uint64_t lo = ends ? (i ? ends[i - 1] : 0) : i * width, hi = ends ? ends[i] : lo + width;
        size_t p = nparts > 1 ? part_of(first, nparts, i) : 0;
        uint64_t base = ends ? (first[p] ? ends[first[p] - 1] : 0) : first[p] * width;
        memcpy(dst + at, parts[p] + (lo - base), hi - lo);
        at += hi - lo;
        if (dst_ends) dst_ends[j] = at;
    }
}
