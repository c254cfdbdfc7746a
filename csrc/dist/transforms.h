/* Distribution transforms: raw stream bytes -> values.  A template, included
 * once per instruction set by kernels/<isa>.c, which defines:
 *   CTRNG_TARGET       function attribute selecting the instruction set
 *   CTRNG_SFX          suffix for the generated names
 *   CTRNG_SQRT8F(v)    lane-wise IEEE square root of a v8f
 *   CTRNG_SQRT4D(v)    lane-wise IEEE square root of a v4d
 *   CTRNG_MUL32(a, b)  lane-wise product of two v4u whose values are < 2^32
 *   CTRNG_WIDEN4(h)    a v4u32 zero-extended to a v4u
 *   CTRNG_ANY8(m), CTRNG_ANY4(m)  nonzero if any lane of a mask is set
 *
 * Every path runs the same sequence of IEEE-754 operations on 256-bit generic
 * vectors (the build disables FMA contraction), so every instruction set gives
 * the same bits.  The transforms never know which cipher made the bytes. */
#include <string.h>

#include "kernels/kernels.h"
#include "dist/lemire.h"

#define CTRNG_CAT2(a, b) a##_##b
#define CTRNG_CAT(a, b) CTRNG_CAT2(a, b)
#define FN(name) CTRNG_CAT(name, CTRNG_SFX)

typedef uint32_t v8u __attribute__((vector_size(32)));
typedef int32_t v8i __attribute__((vector_size(32)));
typedef float v8f __attribute__((vector_size(32)));
typedef uint64_t v4u __attribute__((vector_size(32)));
typedef int64_t v4i __attribute__((vector_size(32)));
typedef double v4d __attribute__((vector_size(32)));
typedef uint32_t v4u32 __attribute__((vector_size(16)));
typedef float v4f __attribute__((vector_size(16)));

/* Lanes of a and b (indices counting on into b); M is the signed integer
 * vector type of a's shape, which GCC before 12 needs for the mask. */
#if defined(__clang__) || (defined(__GNUC__) && __GNUC__ >= 12)
#define SHUFFLE(M, a, b, ...) __builtin_shufflevector(a, b, __VA_ARGS__)
#else
#define SHUFFLE(M, a, b, ...) __builtin_shuffle(a, b, (M){__VA_ARGS__})
#endif
#define SHUF8(a, b, ...) SHUFFLE(v8i, a, b, __VA_ARGS__)
#define SHUF4(a, b, ...) SHUFFLE(v4i, a, b, __VA_ARGS__)

#define LOAD(T, p) ({ T v_; memcpy(&v_, (p), sizeof v_); v_; })
#define STORE(p, v) do { __typeof__(v) v_ = (v); memcpy((p), &v_, sizeof v_); } while (0)

/* ---- raw words (used for the partial head and tail of a fill) ----------- */

CTRNG_TARGET static void FN(raw32)(const ctrng_params *prm, const uint32_t *raw, size_t n, void *out,
                                   ctrng_rejects *rej)
{
    (void)prm; (void)rej;
    memcpy(out, raw, n * 4);
}

/* ---- the cheap transforms, 8 stream words at a time ----------------------
 * Uniform floats and integers from 32- and 64-bit draws are written as
 * `put` steps: put(c, w, x) turns stream words w .. w + 7 of a run (x) into
 * their values and stores them where the sink says.  The transforms below
 * loop over a chunk of raw words with them; a cipher kernel holding its
 * words in registers calls them directly (kernels/avx2.c), so the values
 * leave with the cipher's own stores instead of another pass over a
 * buffer. */
typedef struct {
    unsigned char *out; /* where word 0's value goes */
    ctrng_rejects *rej; /* integers: rejected draws, by element from word 0's */
    int affine;         /* uniform: loc + scale * x, in the output's precision */
    float loc32, scale32;
    double loc64, scale64;
    uint64_t low, range, t; /* integers: offset + low; Lemire's threshold 2^w mod m */
    int bytes;              /* integers: 4 or 8 bytes each */
} FN(sink);

CTRNG_TARGET static inline FN(sink) FN(sink_for)(const ctrng_params *prm, int kind, void *out,
                                                 ctrng_rejects *rej)
{
    FN(sink) c = {.out = out, .rej = rej};
    if (prm && (kind == CTRNG_UNIFORM_F32 || kind == CTRNG_UNIFORM_F64) && prm->affine) {
        c.affine = 1;
        c.loc32 = (float)prm->loc, c.scale32 = (float)prm->scale;
        c.loc64 = prm->loc, c.scale64 = prm->scale;
    } else if (kind == CTRNG_INTEGERS_32 || kind == CTRNG_INTEGERS_64) {
        c.low = prm->low, c.range = prm->range, c.bytes = prm->out_bytes;
        c.t = kind == CTRNG_INTEGERS_32 ? ctrng_lemire32_threshold(prm->range)
                                        : ctrng_lemire64_threshold(prm->range);
    }
    return c;
}

CTRNG_TARGET static inline __attribute__((always_inline)) void FN(put_raw32)(const FN(sink) *c, size_t w, v8u x)
{
    STORE((uint32_t *)c->out + w, x);
}

CTRNG_TARGET static inline __attribute__((always_inline)) void FN(put_uniform_f32)(const FN(sink) *c, size_t w, v8u x)
{
    v8f v = __builtin_convertvector((v8i)(x >> 8), v8f) * 0x1p-24f;
    STORE((float *)c->out + w, c->affine ? v * c->scale32 + c->loc32 : v);
}

/* (w >> 11) * 2^-53, exactly: 52 bits through the exponent trick, plus the
 * 53rd bit as 2^-53 (the sum is representable, so it is not rounded). */
CTRNG_TARGET static inline v4d FN(u64_to_unit)(v4u w)
{
    v4d hi = (v4d)((w >> 12) | 0x3FF0000000000000ull) - 1.0;
    v4u bit = (w >> 11) & 1;
    return hi + (v4d)((-bit) & 0x3CA0000000000000ull);
}

CTRNG_TARGET static inline __attribute__((always_inline)) void FN(put_uniform_f64)(const FN(sink) *c, size_t w, v8u x)
{
    v4d v = FN(u64_to_unit)((v4u)x);
    STORE((double *)c->out + w / 2, c->affine ? v * c->scale64 + c->loc64 : v);
}

/* Store offsets + low as 4- or 8-byte integers (wrapping, as the dtype does);
 * 8-byte ones widen one 128-bit half at a time (a 512-bit vector type would
 * go through the stack on AVX2). */
CTRNG_TARGET static inline void FN(store_u32_offsets)(void *out, size_t i, int bytes, v8u off,
                                                     uint64_t low)
{
    if (bytes == 4) {
        STORE((uint32_t *)out + i, off + (uint32_t)low);
    } else {
        v4u32 h0 = LOAD(v4u32, (const uint32_t *)&off), h1 = LOAD(v4u32, (const uint32_t *)&off + 4);
        STORE((uint64_t *)out + i, CTRNG_WIDEN4(h0) + low);
        STORE((uint64_t *)out + i + 4, CTRNG_WIDEN4(h1) + low);
    }
}

/* Note the elements i .. i + lanes - 1 whose lanes are set in bad as
 * rejected, for fill.c to redraw (rare: out of line). */
static __attribute__((noinline)) void FN(reject)(const FN(sink) *c, size_t i, const uint64_t *bad, size_t lanes)
{
    for (size_t j = 0; j < lanes; j++)
        if (bad[j]) c->rej->bits[(i + j) / 64] |= UINT64_C(1) << ((i + j) % 64);
    c->rej->any = 1;
}

/* 32-bit draws, range < 2^16: x m = b 2^16 + a with a, b < 2^32. */
CTRNG_TARGET static inline __attribute__((always_inline)) void FN(put_integers_32)(const FN(sink) *c, size_t w, v8u x)
{
    uint32_t m = (uint32_t)c->range + 1;
    v8u a = (x & 0xffffu) * m, b = (x >> 16) * m;
    v8u mid = b + (a >> 16);
    v8u lo = (mid << 16) | (a & 0xffffu);
    v8u bad = (v8u)(lo < (uint32_t)c->t);
    FN(store_u32_offsets)(c->out, w, c->bytes, mid >> 16, c->low);
    if (__builtin_expect(CTRNG_ANY8(bad), 0)) {
        uint64_t b64[8];
        for (int j = 0; j < 8; j++) b64[j] = bad[j];
        FN(reject)(c, w, b64, 8);
    }
}

/* 64-bit draws, range < 2^32: x m = b 2^32 + a with x = xh 2^32 + xl. */
CTRNG_TARGET static inline __attribute__((always_inline)) void FN(put_integers_64)(const FN(sink) *c, size_t w, v8u x8)
{
    v4u x = (v4u)x8, off, bad = {0, 0, 0, 0};
    size_t i = w / 2;
    if (c->range == 0xffffffffu) { /* m = 2^32: the high word is the offset */
        off = x >> 32;
    } else {
        v4u m = (v4u){0, 0, 0, 0} + (c->range + 1);
        v4u a = CTRNG_MUL32(x & 0xffffffffu, m), b = CTRNG_MUL32(x >> 32, m);
        v4u mid = b + (a >> 32);
        off = mid >> 32;
        bad = (v4u)(((mid << 32) | (a & 0xffffffffu)) < c->t);
    }
    if (c->bytes == 4)
        STORE((uint32_t *)c->out + i, __builtin_convertvector(off, v4u32) + (uint32_t)c->low);
    else
        STORE((uint64_t *)c->out + i, off + c->low);
    if (__builtin_expect(CTRNG_ANY4(bad), 0)) {
        uint64_t b64[4];
        for (int j = 0; j < 4; j++) b64[j] = bad[j];
        FN(reject)(c, i, b64, 4);
    }
}

/* Selects its arguments when the table's flag column is 1 (CTRNG_IF(put)). */
#define CTRNG_IF_1(...) __VA_ARGS__
#define CTRNG_IF_0(...)
#define CTRNG_IF(flag) CTRNG_IF_##flag

/* The transform of each kind with a put step (kinds.h's `put` column): n
 * values from n * unit_bytes / 4 raw words. */
#define PUT_TRANSFORM(NAME, name, unit_bytes, value, out_bytes, range_bits, put, streams)        \
    CTRNG_IF(put)(                                                                               \
    CTRNG_TARGET static void FN(name)(const ctrng_params *prm, const uint32_t *raw, size_t n,    \
                                      void *out, ctrng_rejects *rej)                             \
    {                                                                                            \
        FN(sink) c = FN(sink_for)(prm, CTRNG_##NAME, out, rej);                                  \
        for (size_t w = 0; w < n * (unit_bytes / 4); w += 8)                                     \
            FN(put_##name)(&c, w, LOAD(v8u, raw + w));                                           \
    })
CTRNG_KINDS(PUT_TRANSFORM)
#undef PUT_TRANSFORM

/* Words w .. w + 7 of a run into the sink, by the put step of `kind` (raw
 * words for a kind without one).  For a cipher kernel holding its words in
 * registers: kind never changes within a call, so the switch's branch is
 * always predicted.  x comes as four 64-bit lanes, the type of the x86
 * register it is held in (__m256i): given it as v8u, GCC lays the switch out
 * with an extra instruction per step in the Philox kernels. */
#define PUT_CASE(NAME, name, unit_bytes, value, out_bytes, range_bits, put, streams) \
    CTRNG_IF(put)(case CTRNG_##NAME: FN(put_##name)(c, w, (v8u)x); break;)
CTRNG_TARGET static inline __attribute__((always_inline)) void FN(put)(const FN(sink) *c, int kind, size_t w, v4i x)
{
    switch (kind) {
    CTRNG_KINDS(PUT_CASE)
    default: FN(put_raw32)(c, w, (v8u)x);
    }
}
#undef PUT_CASE

/* ---- normal: Box-Muller with our own log, sin and cos ---------------------
 * z_2k = r cos(theta), z_2k+1 = r sin(theta), r = sqrt(-2 ln u), from the
 * radius draw u in (0, 1] and the angle draw t in [0, 1), theta = 2 pi t.
 * t is split exactly into quarter turns q and a remainder of at most 1/8 of
 * a turn, so the polynomials only see |x| <= pi/4.  The polynomials are the
 * classic minimax ones (fdlibm for double, Cephes for float), evaluated in
 * Estrin's scheme: short dependency chains let the out-of-order core
 * overlap more vectors. */

/* -2 ln(x 2^-e) for normal positive x (musl's logf reduction). */
CTRNG_TARGET static inline v8f FN(neg2log_f32)(v8f x, int e)
{
    v8u ix = (v8u)x + (0x3f800000u - 0x3f3504f3u);
    v8f dk = __builtin_convertvector((v8i)(ix >> 23) - (0x7f + e), v8f);
    v8f f = (v8f)((ix & 0x007fffffu) + 0x3f3504f3u) - 1.0f;
    v8f sq = f / (2.0f + f);
    v8f z = sq * sq, w = z * z;
    v8f R = z * (0x1.555554p-1f + w * 0x1.23d3dcp-2f) + w * (0x1.999c26p-2f + w * 0x1.f13c4cp-3f);
    v8f hfsq = 0.5f * f * f;
    return ((-2.0f * sq) * (hfsq + R) + (dk * (-2.0f * 9.0580006145e-06f) + f * f)) +
           (-2.0f * f + dk * (-2.0f * 6.9313812256e-01f));
}

/* -2 ln(x 2^-e) for normal positive x (fdlibm's log reduction). */
CTRNG_TARGET static inline v4d FN(neg2log_f64)(v4d x, v4i e)
{
    v4u ix = (v4u)x + ((0x3ff00000ull - 0x3fe6a09eull) << 32);
    v4i k = (v4i)(ix >> 52) - 0x3ff - e;
    v4d dk = (v4d)((v4u)k + 0x4338000000000000ull) - 0x1.8p52;
    v4d f = (v4d)((ix & 0x000fffffffffffffull) + (0x3fe6a09eull << 32)) - 1.0;
    v4d hfsq = 0.5 * f * f;
    v4d sq = f / (2.0 + f);
    v4d z = sq * sq, w = z * z, w2 = w * w;
    v4d t1 = w * ((3.999999999940941908e-01 + w * 2.222219843214978396e-01) + w2 * 1.531383769920937332e-01);
    v4d t2 = z * ((6.666666666666735130e-01 + w * 2.857142874366239149e-01) +
                  w2 * (1.818357216161805012e-01 + w * 1.479819860511658591e-01));
    return ((-2.0 * sq) * (hfsq + (t2 + t1)) + (dk * (-2.0 * 1.90821492927058770002e-10) + f * f)) +
           (-2.0 * f + dk * (-2.0 * 6.93147180369123816490e-01));
}

/* Swap and negate (sin x, cos x) into (cos, sin) of x + q pi / 2. */
#define QUADRANT(S, C, q, shift, CT, UT, cosv, sinv)                     \
    do {                                                                \
        UT odd_ = -((q) & 1);                                           \
        UT a_ = ((UT)(S) & odd_) | ((UT)(C) & ~odd_);                   \
        UT b_ = ((UT)(C) & odd_) | ((UT)(S) & ~odd_);                   \
        cosv = (CT)(a_ ^ ((((q) + 1) & 2) << (shift)));                 \
        sinv = (CT)(b_ ^ (((q) & 2) << (shift)));                       \
    } while (0)

CTRNG_TARGET static void FN(normal_f32)(const ctrng_params *prm, const uint32_t *raw, size_t n, void *out,
                                        ctrng_rejects *rej)
{
    (void)prm; (void)rej;
    float *o = out;
    for (size_t i = 0; i < n; i += 16) {
        /* Pairs are (de)interleaved within 128-bit halves only, pairs
         * 0, 1, 4, 5 | 2, 3, 6, 7: no lane-crossing shuffles. */
        v8u A = LOAD(v8u, raw + i), B = LOAD(v8u, raw + i + 8);
        v8u wr = SHUF8(A, B, 0, 2, 8, 10, 4, 6, 12, 14);
        v8u wa = SHUF8(A, B, 1, 3, 9, 11, 5, 7, 13, 15);
        /* u = (float(w >> 1) + 1/4) 2^-31 in (0, 1] */
        v8f r = CTRNG_SQRT8F(FN(neg2log_f32)(__builtin_convertvector((v8i)(wr >> 1), v8f) + 0.25f, 31));
        /* t = (w >> 8) 2^-24 as quarter turns q plus a remainder in [-1/2, 1/2) */
        v8u x = wa >> 8;
        v8u q = (x + (1u << 21)) >> 22;
        v8f th = __builtin_convertvector((v8i)(x - (q << 22)), v8f) * 0x1.921fb6p-22f;
        v8f z = th * th, z2 = z * z;
        v8f S = th + (th * z) * ((8.3321608736e-3f * z + -1.6666654611e-1f) + -1.9515295891e-4f * z2);
        v8f C = (1.0f - 0.5f * z) +
                z2 * ((-1.388731625493765e-3f * z + 4.166664568298827e-2f) + 2.443315711809948e-5f * z2);
        v8f cv, sv;
        QUADRANT(S, C, q, 30, v8f, v8u, cv, sv);
        v8f zc = r * cv, zs = r * sv;
        STORE(o + i, SHUF8(zc, zs, 0, 8, 1, 9, 4, 12, 5, 13));
        STORE(o + i + 8, SHUF8(zc, zs, 2, 10, 3, 11, 6, 14, 7, 15));
    }
}

CTRNG_TARGET static void FN(normal_f64)(const ctrng_params *prm, const uint32_t *raw, size_t n, void *out,
                                        ctrng_rejects *rej)
{
    (void)prm; (void)rej;
    double *o = out;
    for (size_t i = 0; i < n; i += 8) {
        v4u A = LOAD(v4u, raw + 2 * i), B = LOAD(v4u, raw + 2 * i + 8);
        v4u wr = SHUF4(A, B, 0, 4, 2, 6), wa = SHUF4(A, B, 1, 5, 3, 7);
        /* u = 1 - (w >> 12) 2^-52 in (0, 1], exact */
        v4d r = CTRNG_SQRT4D(FN(neg2log_f64)(2.0 - (v4d)((wr >> 12) | 0x3FF0000000000000ull), (v4i){0}));
        /* quarter turns y = 4 t in [0, 4), t = (w >> 12) 2^-52; adding 1.5 2^52
         * rounds y to the nearest integer q, left in the low bits of m */
        v4d y = ((v4d)((wa >> 12) | 0x3FF0000000000000ull) - 1.0) * 4.0;
        v4d m = y + 0x1.8p52;
        v4u q = (v4u)m;
        v4d th = (y - (m - 0x1.8p52)) * 0x1.921fb54442d18p+0;
        v4d z = th * th, z2 = z * z, z4 = z2 * z2;
        v4d S = th + (z * th) * ((-1.66666666666666324348e-01 + z * 8.33333333332248946124e-03) +
                                 z2 * (-1.98412698298579493134e-04 + z * 2.75573137070700676789e-06) +
                                 z4 * (-2.50507602534068634195e-08 + z * 1.58969099521155010221e-10));
        v4d rc = z * ((4.16666666666666019037e-02 + z * -1.38888888888741095749e-03) +
                      z2 * (2.48015872894767294178e-05 + z * -2.75573143513906633035e-07) +
                      z4 * (2.08757232129817482790e-09 + z * -1.13596475577881948265e-11));
        v4d hz = 0.5 * z, c1 = 1.0 - hz;
        v4d C = c1 + (((1.0 - c1) - hz) + z * rc);
        v4d cv, sv;
        QUADRANT(S, C, q, 62, v4d, v4u, cv, sv);
        v4d zc = r * cv, zs = r * sv;
        STORE(o + i, SHUF4(zc, zs, 0, 4, 2, 6));
        STORE(o + i + 4, SHUF4(zc, zs, 1, 5, 3, 7));
    }
}

/* ---- truncated normal: inversion through the normal quantile -------------
 * ndtri is Wichura's AS 241 (PPND16): q = p - 1/2; for |q| <= 0.425 the
 * central rational function of r = 0.180625 - q^2, else, with
 * r = sqrt(-ln min(p, 1 - p)), the tail ones of r - 1.6 (r <= 5) or r - 5;
 * ndtri(0) = -inf, ndtri(1) = inf.  Each value gets the scalar result
 * (ctrng.numba's ndtri), lane by lane.  ln is the fdlibm one above, so
 * -ln x = (-2 ln x) / 2 exactly; subnormal x is scaled by 2^64 first. */
static const double FN(as241)[6][8] = {
    {3.387132872796366608, 133.14166789178437745, 1971.5909503065514427, 13731.693765509461125,
     45921.953931549871457, 67265.770927008700853, 33430.575583588128105, 2509.0809287301226727},
    {1.0, 42.313330701600911252, 687.1870074920579083, 5394.1960214247511077,
     21213.794301586595867, 39307.89580009271061, 28729.085735721942674, 5226.495278852545925},
    {1.42343711074968357734, 4.6303378461565452959, 5.7694972214606914055, 3.64784832476320460504,
     1.27045825245236838258, .24178072517745061177, .0227238449892691845833, 7.7454501427834140764e-4},
    {1.0, 2.05319162663775882187, 1.6763848301838038494, .68976733498510000455,
     .14810397642748007459, .0151986665636164571966, 5.475938084995344946e-4, 1.05075007164441684324e-9},
    {6.6579046435011037772, 5.4637849111641143699, 1.7848265399172913358, .29656057182850489123,
     .026532189526576123093, .0012426609473880784386, 2.71155556874348757815e-5, 2.01033439929228813265e-7},
    {1.0, .59983220655588793769, .13692988092273580531, .0148753612908506148525,
     7.868691311456132591e-4, 1.8463183175100546818e-5, 1.4215117583164458887e-7, 2.04426310338993978564e-15},
};

/* Polynomial i of as241 at x, in Estrin's scheme (short dependency chains). */
CTRNG_TARGET static inline v4d FN(as241_poly)(int i, v4d x)
{
    const double *c = FN(as241)[i];
    v4d x2 = x * x, x4 = x2 * x2;
    return ((c[0] + c[1] * x) + x2 * (c[2] + c[3] * x)) + x4 * ((c[4] + c[5] * x) + x2 * (c[6] + c[7] * x));
}

/* a where the lanes of mask m are set, else b */
CTRNG_TARGET static inline v4d FN(select4)(v4i m, v4d a, v4d b)
{
    return (v4d)(((v4i)a & m) | ((v4i)b & ~m));
}

/* ndtri of the tail lanes (|p - 1/2| > 0.425) of p. */
CTRNG_TARGET static inline v4d FN(ndtri_tail4)(v4d p)
{
    v4i lower = (v4i)(p < 0.5);
    v4d pp = FN(select4)(lower, p, 1.0 - p);
    v4i sub = (v4i)(pp < 0x1p-1022);
    v4d x = FN(select4)(sub, pp * 0x1p64, pp);
    v4d t = CTRNG_SQRT4D(0.5 * FN(neg2log_f64)(x, sub & 64));
    v4i far = (v4i)(t > 5.0);
    v4d v = FN(as241_poly)(2, t - 1.6) / FN(as241_poly)(3, t - 1.6);
    if (CTRNG_ANY4((v4u)far)) v = FN(select4)(far, FN(as241_poly)(4, t - 5.0) / FN(as241_poly)(5, t - 5.0), v);
    v = FN(select4)((v4i)(pp == 0.0), (v4d){0} + __builtin_inf(), v);
    return FN(select4)(lower, -v, v);
}

/* z[j] = ndtri(p[j]) for j < n, n a multiple of 4 and at most NDTRI_CHUNK:
 * the central formula on every vector, then the tail one on the tail lanes
 * only, gathered four at a time (no branch on where the tails fall). */
#define NDTRI_CHUNK 512
CTRNG_TARGET static void FN(ndtri_chunk)(const double *p, size_t n, double *z)
{
    uint16_t tails[NDTRI_CHUNK + 4];
    size_t count = 0;
    for (size_t i = 0; i < n; i += 4) {
        v4d pv = LOAD(v4d, p + i), q = pv - 0.5;
        v4d r = 0.180625 - q * q;
        STORE(z + i, q * FN(as241_poly)(0, r) / FN(as241_poly)(1, r));
        v4i tail = (v4i)(q < -0.425) | (v4i)(q > 0.425);
        for (int j = 0; j < 4; j++) {
            tails[count] = (uint16_t)(i + j);
            count += (size_t)(tail[j] & 1);
        }
    }
    for (size_t k = count; k % 4; k++) tails[k] = tails[count - 1]; /* pad: recomputes one */
    for (size_t k = 0; k < count; k += 4) {
        const uint16_t *t = tails + k;
        v4d v = FN(ndtri_tail4)((v4d){p[t[0]], p[t[1]], p[t[2]], p[t[3]]});
        for (int j = 0; j < 4; j++) z[t[j]] = v[j];
    }
}

CTRNG_TARGET static void FN(ndtri)(const double *p, size_t n, double *out)
{
    for (size_t i = 0; i < n; i += NDTRI_CHUNK)
        FN(ndtri_chunk)(p + i, n - i < NDTRI_CHUNK ? n - i : NDTRI_CHUNK, out + i);
}

/* loc + scale clamp(+-ndtri(plo + u width), alpha, beta) for the n uniform
 * float64 draws in raw, stored as float32 (f32 set) or float64. */
CTRNG_TARGET static inline void FN(truncnorm)(const ctrng_params *prm, const uint32_t *raw, size_t n,
                                              void *out, int f32)
{
    _Alignas(32) double p[NDTRI_CHUNK], z[NDTRI_CHUNK];
    for (size_t c = 0; c < n; c += NDTRI_CHUNK) {
        size_t m = n - c < NDTRI_CHUNK ? n - c : NDTRI_CHUNK;
        for (size_t i = 0; i < m; i += 4)
            STORE(p + i, prm->plo + FN(u64_to_unit)(LOAD(v4u, raw + 2 * (c + i))) * prm->width);
        FN(ndtri_chunk)(p, m, z);
        for (size_t i = 0; i < m; i += 4) {
            v4d v = LOAD(v4d, z + i);
            if (prm->flip) v = -v;
            v = FN(select4)((v4i)(v < prm->alpha), (v4d){0} + prm->alpha, v);
            v = FN(select4)((v4i)(v > prm->beta), (v4d){0} + prm->beta, v);
            v = prm->loc + prm->scale * v;
            if (f32)
                STORE((float *)out + c + i, __builtin_convertvector(v, v4f));
            else
                STORE((double *)out + c + i, v);
        }
    }
}

CTRNG_TARGET static void FN(truncnorm_f32)(const ctrng_params *prm, const uint32_t *raw, size_t n, void *out,
                                           ctrng_rejects *rej)
{
    (void)rej;
    FN(truncnorm)(prm, raw, n, out, 1);
}

CTRNG_TARGET static void FN(truncnorm_f64)(const ctrng_params *prm, const uint32_t *raw, size_t n, void *out,
                                           ctrng_rejects *rej)
{
    (void)rej;
    FN(truncnorm)(prm, raw, n, out, 0);
}

/* ---- bounded integers from 128-bit draws ----------------------------------- */

/* 128-bit draws: rare (ranges of 2^32 or more), kept scalar; rejected ones
 * noted for fill.c to redraw. */
CTRNG_TARGET static void FN(integers_128)(const ctrng_params *prm, const uint32_t *raw, size_t n, void *out,
                                          ctrng_rejects *rej)
{
    ctrng_u128 t = ctrng_lemire128_threshold(prm->range);
    for (size_t i = 0; i < n; i++) {
        uint64_t x[2], off;
        memcpy(x, raw + 4 * i, 16);
        if (!ctrng_lemire128(x[0], x[1], prm->range, t, &off)) {
            rej->bits[i / 64] |= UINT64_C(1) << (i % 64);
            rej->any = 1;
        }
        uint64_t v = prm->low + off;
        if (prm->out_bytes == 4)
            ((uint32_t *)out)[i] = (uint32_t)v;
        else
            ((uint64_t *)out)[i] = v;
    }
}

CTRNG_TARGET static void FN(bernoulli)(const ctrng_params *prm, const uint32_t *raw, size_t n, void *out,
                                       ctrng_rejects *rej)
{
    (void)rej;
    uint8_t *o = out;
    for (size_t i = 0; i < n; i++) {
        uint64_t x;
        memcpy(&x, raw + 2 * i, 8);
        o[i] = (x < prm->threshold) | (prm->certain != 0);
    }
}

/* ---- affine map of normals (uniform floats take theirs in their put) ----- */

CTRNG_TARGET static void FN(affine)(int kind, const ctrng_params *prm, void *out, size_t n)
{
    if (kind == CTRNG_NORMAL_F32) {
        float *o = out, loc = (float)prm->loc, scale = (float)prm->scale;
        size_t i = 0;
        for (; i + 8 <= n; i += 8) STORE(o + i, LOAD(v8f, o + i) * scale + loc);
        for (; i < n; i++) o[i] = o[i] * scale + loc;
    } else if (kind == CTRNG_NORMAL_F64) {
        double *o = out, loc = prm->loc, scale = prm->scale;
        size_t i = 0;
        for (; i + 4 <= n; i += 4) STORE(o + i, LOAD(v4d, o + i) * scale + loc);
        for (; i < n; i++) o[i] = o[i] * scale + loc;
    }
}

/* The transform table (kinds.h's order) and the other entries every table
 * takes from this file. */
#define CTRNG_TRANSFORM_ENTRY(NAME, name, ...) FN(name),
#define CTRNG_TRANSFORMS {CTRNG_KINDS(CTRNG_TRANSFORM_ENTRY)}, FN(affine), FN(ndtri)
