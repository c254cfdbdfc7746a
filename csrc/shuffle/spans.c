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

void ctrng_gather_spans(const unsigned char *src, const uint64_t *ends, const int64_t *order, size_t n,
                        unsigned char *dst, uint64_t *dst_ends)
{
    uint64_t at = 0;
    for (size_t j = 0; j < n; j++) {
        int64_t i = order[j];
        uint64_t lo = i ? ends[i - 1] : 0, len = ends[i] - lo;
        memcpy(dst + at, src + lo, len);
        at += len;
        if (dst_ends) dst_ends[j] = at;
    }
}
