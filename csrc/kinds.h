/* The distribution kinds: one row each, the single statement of what a kind
 * is.  Everything else is read from it: the CTRNG_<NAME> codes (the row
 * number), ctrng_kinds (the same rows as data, which Python and Numba read
 * through the extension), fill.c's element and output sizes and its choice
 * of non-temporal stores, the transform table of every kernel table (the
 * transform of row `name` is FN(name) in dist/transforms.h), the put-step
 * dispatch (FN(put), dist/transforms.h) and the fused kernels of the SIMD
 * tables (kernels/avx2.c).
 * Adding a distribution is one row here plus its transform (named after the
 * row's lower-case name) and, if `put` is 1, its put step FN(put_<name>).
 *
 * X(NAME, name, unit_bytes, value, out_bytes, range_bits, put, streams)
 *   unit_bytes  stream bytes one element consumes: 4, 8 or 16, whole words
 *               that tile a 16-byte block (fill.c asserts it)
 *   value       'u' unsigned, 'f' IEEE float, 'i' integers of
 *               ctrng_params.out_bytes (out_bytes 0)
 *   range_bits  integer kinds: ranges high - low - 1 below 2^range_bits, drawn
 *               by Lemire's method; rejected draws are redrawn from the retry
 *               blocks (layout.c); 0 for other kinds
 *   put         1 if dist/transforms.h has a put step FN(put_<name>) (8
 *               words at a time straight from cipher registers): the
 *               kind's transform is made from it, and SIMD tables fuse it
 *               with their cipher kernels
 *   streams     1 if non-temporal stores pay for large fills of it (cheap
 *               transforms bound by memory traffic: fill.c)
 * The comment after each row says what an element is, from its words w. */
#ifndef CTRNG_KINDS_H
#define CTRNG_KINDS_H

#define CTRNG_KINDS(X)                                                                           \
    X(RAW32,         raw32,          4, 'u', 4, 0,  0, 0) /* the uint32 word itself          */ \
    X(UNIFORM_F32,   uniform_f32,    4, 'f', 4, 0,  1, 1) /* (w >> 8) 2^-24                  */ \
    X(UNIFORM_F64,   uniform_f64,    8, 'f', 8, 0,  1, 1) /* (w >> 11) 2^-53, w a uint64      */ \
    X(NORMAL_F32,    normal_f32,     4, 'f', 4, 0,  0, 0) /* Box-Muller on word pairs (2k,
                                                             2k+1)                            */ \
    X(NORMAL_F64,    normal_f64,     8, 'f', 8, 0,  0, 0) /* Box-Muller on uint64 pairs (2k,
                                                             2k+1)                            */ \
    X(INTEGERS_32,   integers_32,    4, 'i', 0, 16, 1, 1) /* low + [0, range], range < 2^16,
                                                             Lemire on a uint32               */ \
    X(INTEGERS_64,   integers_64,    8, 'i', 0, 32, 1, 1) /* low + [0, range], range < 2^32,
                                                             Lemire on a uint64               */ \
    X(INTEGERS_128,  integers_128,  16, 'i', 0, 64, 0, 1) /* low + [0, range], any 64-bit
                                                             range, Lemire on 128 bits        */ \
    X(BERNOULLI,     bernoulli,      8, 'u', 1, 0,  0, 0) /* uint8 1 if the uint64 is below
                                                             threshold (or certain), else 0   */ \
    X(TRUNCNORM_F32, truncnorm_f32,  8, 'f', 4, 0,  0, 0) /* truncated normal: inversion of
                                                             the uniform float64 (ctrng_params) */ \
    X(TRUNCNORM_F64, truncnorm_f64,  8, 'f', 8, 0,  0, 0) /* as truncnorm_f32, in float64   */

enum {
#define CTRNG_KIND_CODE(NAME, ...) CTRNG_##NAME,
    CTRNG_KINDS(CTRNG_KIND_CODE)
#undef CTRNG_KIND_CODE
    CTRNG_NKINDS
};

#endif
