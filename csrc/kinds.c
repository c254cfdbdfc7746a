/* ctrng_kinds: the rows of kinds.h as data. */
#include "ctrng.h"

const ctrng_kind ctrng_kinds[] = {
#define CTRNG_KIND_ROW(NAME, name, unit_bytes, value, out_bytes, range_bits, put, streams) \
    {#name, unit_bytes, value, out_bytes, range_bits},
    CTRNG_KINDS(CTRNG_KIND_ROW)
#undef CTRNG_KIND_ROW
};
const int ctrng_nkinds = CTRNG_NKINDS;
