"""Distributions against pure-Python oracles computed from the raw words,
frozen golden values, and statistical sanity checks.

The raw words themselves are checked against the pure-Python ciphers in
test_ciphers.py; here each distribution is recomputed from them by its
documented formula (tests/reference.py) and compared exactly, except the
normals, whose log/sin/cos are ctrng's own polynomials and are compared
with a stated tolerance.
"""

import math

import numpy as np
import pytest
import reference as ref
from scipy import stats

import ctrng

ALGS = ref.ALGORITHMS
KEYS = {a: ctrng.Key(0xC0FFEE + 17 * i, rank=5, stream=2, algorithm=a) for i, a in enumerate(ALGS)}
STARTS = [0, 1, 7, (1 << 34) + 3, (1 << 56) + 5]


# ---------------------------------------------------------------------------
# Uniform floats: exact
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("algorithm", ALGS)
@pytest.mark.parametrize("start", STARTS)
def test_uniform_float64_is_top_53_bits(algorithm, start):
    key = KEYS[algorithm]
    n = 1500
    got = ctrng.random(key, n, start=start)
    expected = ref.uniform_f64(ctrng.random_raw(key, n, start=start, dtype=np.uint64).tolist())
    assert got.dtype == np.float64 and got.tolist() == expected
    assert 0.0 <= got.min() and got.max() < 1.0


@pytest.mark.parametrize("algorithm", ALGS)
@pytest.mark.parametrize("start", STARTS)
def test_uniform_float32_is_top_24_bits(algorithm, start):
    key = KEYS[algorithm]
    n = 1500
    got = ctrng.random(key, n, start=start, dtype=np.float32)
    expected = ref.uniform_f32(ctrng.random_raw(key, n, start=start, dtype=np.uint32).tolist())
    assert got.dtype == np.float32 and got.tolist() == expected
    assert 0.0 <= got.min() and got.max() < 1.0


# ---------------------------------------------------------------------------
# Normals: Box-Muller on the documented inputs, within a stated tolerance
# ---------------------------------------------------------------------------

def _pairs(key, start, n, dtype):
    """Raw words covering the Box-Muller pairs of elements [start, start + n),
    and the offset of element `start` in the recomputed list."""
    first = start - start % 2
    count = (start + n + 1) // 2 * 2 - first
    return ctrng.random_raw(key, count, start=first, dtype=dtype).tolist(), start - first


@pytest.mark.parametrize("algorithm", ALGS)
@pytest.mark.parametrize("start", [0, 3, (1 << 40) + 1])
def test_normal_float64_matches_box_muller(algorithm, start):
    """Checks the pairing (radius from uint64 element 2k, angle from 2k + 1,
    cos for the even output, sin for the odd), the documented inputs
    u = 1 - (w >> 12) 2**-52, t = (w' >> 12) 2**-52, and the accuracy of
    ctrng's log/sqrt/sin/cos: every output within 8e-15 r of the reference
    computed with math.log/sqrt/cos/sin, r = sqrt(-2 ln u) the pair's radius
    (a few ulps; the reference itself rounds 2 pi t, ~1e-15 r)."""
    key = KEYS[algorithm]
    n = 6001
    got = ctrng.standard_normal(key, n, start=start)
    words, off = _pairs(key, start, n, np.uint64)
    expected = ref.box_muller_f64(words)[off:off + n]
    radii = [ref.box_muller_radius(words[2 * ((off + j) // 2)]) for j in range(n)]
    bad = [(j, got[j], e) for j, (e, r) in enumerate(zip(expected, radii))
           if not abs(got[j] - e) <= 8e-15 * r]
    assert not bad, bad[:5]


@pytest.mark.parametrize("algorithm", ALGS)
@pytest.mark.parametrize("start", [0, 5, (1 << 40) + 3])
def test_normal_float32_matches_box_muller(algorithm, start):
    """float32: u = float32(w) 2**-32 + 2**-33 (float32 arithmetic) from uint32
    element 2k, t = (w' >> 8) 2**-24 from 2k + 1; every output within
    1e-6 r of the float64 reference (float32 has 6e-8 relative precision, so
    this allows ~16 ulps of the radius)."""
    key = KEYS[algorithm]
    n = 6001
    got = ctrng.standard_normal(key, n, start=start, dtype=np.float32)
    words, off = _pairs(key, start, n, np.uint32)
    expected = ref.box_muller_f32(words)[off:off + n]
    radii = [ref.box_muller_radius(words[2 * ((off + j) // 2)], f32=True) for j in range(n)]
    bad = [(j, float(got[j]), e) for j, (e, r) in enumerate(zip(expected, radii))
           if not abs(float(got[j]) - e) <= 1e-6 * r]
    assert not bad, bad[:5]


def test_normal_tail_bounds():
    """|z| <= sqrt(-2 ln u_min): u >= 2**-52 for float64 (8.49), u >= 2**-33
    for float32 (6.76), so no value is infinite or NaN."""
    z = ctrng.standard_normal(KEYS["philox4x32"], 1 << 20)
    assert np.isfinite(z).all() and np.abs(z).max() <= math.sqrt(-2 * math.log(2.0 ** -52)) * (1 + 1e-15)
    z32 = ctrng.standard_normal(KEYS["philox4x32"], 1 << 20, dtype=np.float32)
    assert np.isfinite(z32).all() and np.abs(z32).max() <= math.sqrt(-2 * math.log(2.0 ** -33)) * (1 + 1e-6)


# ---------------------------------------------------------------------------
# Bounded integers: exact Lemire oracle, including the retry path
# ---------------------------------------------------------------------------

def _int_oracle(key, low, high, start, n, log=None):
    """Elements [start, start + n) of integers(key, low, high) recomputed from
    the raw words: 32-bit draws from uint32 element i, 64-bit draws from
    uint64 element i, 128-bit draws from uint64 elements 2i (low), 2i+1 (high);
    retries from the reserved blocks, by the pure-Python cipher."""
    w = ref.draw_width(high - low)
    if w == 32:
        words = ctrng.random_raw(key, n, start=start, dtype=np.uint32).tolist()
    elif w == 64:
        words = ctrng.random_raw(key, n, start=start, dtype=np.uint64).tolist()
    else:
        flat = ctrng.random_raw(key, 2 * n, start=2 * start, dtype=np.uint64).tolist()
        words = list(zip(flat[0::2], flat[1::2]))
    return ref.integers(key.algorithm, key.root, key.rank, key.stream, low, high, start, words,
                        rounds=key.rounds, log=log)


INT_RANGES = [
    (0, 1, np.int64), (0, 2, np.uint32), (1, 7, np.int64), (-1000, 1000, np.int32), (-7, 3, np.int64),
    (0, 40000, np.uint32), (-(1 << 15), 1 << 15, np.int32), (0, 1 << 16, np.uint64),
    (-5, (1 << 16) - 4, np.int64), (0, 100_003, np.int32), (7, 3_000_000_007, np.uint32),
    ((1 << 31) - 5, (1 << 32) - 5, np.uint32), (-(1 << 31), 1 << 31, np.int32), (0, 1 << 32, np.uint32),
    (-(1 << 31), (1 << 31) + 1, np.int64), (0, (1 << 32) + 1, np.uint64), (-(1 << 32), 1, np.int64),
    (12345, (1 << 63) + 999, np.uint64), (-(1 << 62), (1 << 62) + 3, np.int64),
    ((1 << 64) - 3, 1 << 64, np.uint64), (0, (1 << 64) - 1, np.uint64),
    (0, 1 << 64, np.uint64), (-(1 << 63), 1 << 63, np.int64), (-(1 << 63), -(1 << 63) + 2, np.int64),
]


@pytest.mark.parametrize("algorithm", ALGS)
@pytest.mark.parametrize("low, high, dtype", INT_RANGES, ids=lambda v: getattr(v, "__name__", str(v)))
def test_integers_match_lemire_oracle(algorithm, low, high, dtype):
    key = KEYS[algorithm]
    for start, n in [(0, 700), (3, 129), ((1 << 40) + 1, 67), ((1 << 57) - 70, 70)]:
        got = ctrng.integers(key, low, high, n, start=start, dtype=dtype)
        assert got.dtype == dtype
        assert got.tolist() == _int_oracle(key, low, high, start, n), (start, n)


@pytest.mark.parametrize("algorithm", ALGS)
@pytest.mark.parametrize("dtype", [np.uint32, np.int32, np.int64, np.uint64])
def test_integers_rejection_path_matches_oracle(algorithm, dtype):
    """Span 40000 with 32-bit draws: a draw is rejected when
    (x * 40000) mod 2**32 < 2**32 mod 40000 = 27296 (probability 6.4e-6), so
    2**21 elements have ~13 rejected draws.  The oracle must see at least one,
    which proves the retry path (block 2**63 | i << 6 | r) was compared."""
    key = KEYS[algorithm]
    low, high, n = -3 if dtype in (np.int32, np.int64) else 0, 40000, 1 << 21
    high += low
    got = ctrng.integers(key, low, high, n, dtype=dtype)
    # vectorised first draws (x * m < 2**48 is exact in uint64)
    x = ctrng.random_raw(key, n).astype(np.uint64)
    prod = x * np.uint64(high - low)
    expected = (prod >> np.uint64(32)).astype(np.int64) + low
    rejected = np.flatnonzero((prod & np.uint64(0xFFFFFFFF)) < np.uint64((1 << 32) % (high - low)))
    assert len(rejected) >= 1, "no rejected draw: the retry path was not exercised"
    seen = {}
    for i in rejected.tolist():
        expected[i] = _int_oracle(key, low, high, i, 1, log=seen)[0]
    assert seen["rejected"] == rejected.tolist()
    # the retried value is (almost surely) not the rejected first offset
    assert any(got[i] != (int(prod[i]) >> 32) + low for i in rejected.tolist())
    assert np.array_equal(got.astype(np.int64), expected)


def test_integers_retry_blocks_are_the_reserved_ones():
    """Cross-check of the oracle's retry location against Key.block(): block
    2**63 | i << 6 | r of the same stream, first 32 bits little-endian."""
    key = KEYS["philox4x32"]
    x = ctrng.random_raw(key, 1 << 21).astype(np.uint64)
    rejected = np.flatnonzero(((x * np.uint64(40000)) & np.uint64(0xFFFFFFFF)) < np.uint64(27296))
    i = int(rejected[0])
    r = 0
    ok, off = ref.lemire(key.block((1 << 63) | i << 6 | r)[0], 40000, 32)
    while not ok:
        r += 1
        ok, off = ref.lemire(key.block((1 << 63) | i << 6 | r)[0], 40000, 32)
    assert int(ctrng.integers(key, 0, 40000, 1, start=i)[0]) == off


def test_integers_full_ranges_are_the_raw_words():
    """m = 2**64 (full uint64/int64): the offset is the high uint64 of the
    128-bit draw; m = 2**32 (full uint32/int32): the high uint32 of the 64-bit
    draw; m = 2**16: the high 16 bits of the 32-bit draw.  Never rejected."""
    key = KEYS["threefry4x64"]
    u64 = ctrng.random_raw(key, 2000, dtype=np.uint64)
    assert np.array_equal(ctrng.integers(key, 0, 1 << 64, 1000, dtype=np.uint64), u64[1::2])
    assert np.array_equal(ctrng.integers(key, -(1 << 63), 1 << 63, 1000),
                          (u64[1::2] - np.uint64(1 << 63)).view(np.int64))
    assert np.array_equal(ctrng.integers(key, 0, 1 << 32, 2000, dtype=np.uint32),
                          (u64 >> np.uint64(32)).astype(np.uint32))
    u32 = ctrng.random_raw(key, 2000)
    assert np.array_equal(ctrng.integers(key, 0, 1 << 16, 2000, dtype=np.uint32), u32 >> np.uint32(16))


# ---------------------------------------------------------------------------
# Bernoulli: exact threshold
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("algorithm", ALGS)
@pytest.mark.parametrize("p", [0.3, 0.5, 1 / 3, 0.1, 2.0 ** -11, 1 - 2.0 ** -53, 0.999, 1e-300])
def test_bernoulli_is_an_exact_threshold(algorithm, p):
    key = KEYS[algorithm]
    for start, n in [(0, 3000), (5, 77), ((1 << 60) + 1, 100)]:
        u64 = ctrng.random_raw(key, n, start=start, dtype=np.uint64).tolist()
        expected = ref.bernoulli(u64, p)
        got = ctrng.bernoulli(key, p, n, start=start)
        assert got.dtype == np.bool_ and got.tolist() == expected
        got8 = ctrng.bernoulli(key, p, n, start=start, dtype=np.uint8)
        assert got8.dtype == np.uint8 and got8.tolist() == [int(e) for e in expected]


def test_bernoulli_threshold_is_floor_p_times_2_64():
    """The threshold itself (a draw equal to it has probability 2**-64, so the
    comparison above cannot pin it): floor(p 2**64) exactly; p == 1 means
    always 1 (None)."""
    from ctrng.stateless import bernoulli_threshold
    for p in [0.0, 0.3, 0.5, 1 / 3, 0.1, 2.0 ** -11, 2.0 ** -64, 2.0 ** -70, 1e-300, 5e-324,
              1 - 2.0 ** -53, 0.999, np.float32(0.1), 1]:
        expected = None if p == 1 else ref.bernoulli_threshold(float(p))
        assert bernoulli_threshold(p) == expected, p


@pytest.mark.parametrize("algorithm", ALGS)
def test_bernoulli_p0_and_p1(algorithm):
    key = KEYS[algorithm]
    for dt in (np.bool_, np.uint8):
        zeros = ctrng.bernoulli(key, 0.0, 10_000, start=3, dtype=dt)
        ones = ctrng.bernoulli(key, 1.0, 10_000, start=3, dtype=dt)
        assert zeros.dtype == dt and ones.dtype == dt
        assert zeros.tolist() == [0] * 10_000 and ones.tolist() == [1] * 10_000


def test_bernoulli_fraction():
    """n = 2**20 draws of Bernoulli(0.3): |mean - 0.3| < 5 sd (two-sided
    false-alarm rate 5.7e-7 per key)."""
    n, p = 1 << 20, 0.3
    for key in KEYS.values():
        m = ctrng.bernoulli(key, p, n).mean()
        assert abs(m - p) < 5 * math.sqrt(p * (1 - p) / n)


# ---------------------------------------------------------------------------
# Golden values: these pin the version-1 mapping of every distribution and
# dtype, so a faster kernel cannot silently change numbers users already
# saved.  They were computed once from the implementation; if one changes,
# the change is a new stream version, not a bug fix.
# ---------------------------------------------------------------------------

GOLDEN_KEYS = {a: ctrng.Key(20240601, rank=1, stream=2, algorithm=a) for a in ALGS}
GOLDEN_CASES = {
    "raw-u32": lambda k: ctrng.random_raw(k, 8),
    "raw-u64": lambda k: ctrng.random_raw(k, 8, dtype=np.uint64),
    "uniform-f32": lambda k: ctrng.random(k, 8, dtype=np.float32),
    "uniform-f64": lambda k: ctrng.random(k, 8),
    "normal-f32": lambda k: ctrng.standard_normal(k, 8, dtype=np.float32),
    "normal-f64": lambda k: ctrng.standard_normal(k, 8),
    "int-1-7-i64": lambda k: ctrng.integers(k, 1, 7, 8),
    "int-m1000-1000-i32": lambda k: ctrng.integers(k, -1000, 1000, 8, dtype=np.int32),
    "int-full-i32": lambda k: ctrng.integers(k, -(1 << 31), 1 << 31, 8, dtype=np.int32),
    "int-0-40000-u32": lambda k: ctrng.integers(k, 0, 40000, 8, dtype=np.uint32),
    "int-7-3e9-u32": lambda k: ctrng.integers(k, 7, 3_000_000_007, 8, dtype=np.uint32),
    "int-0-65537-u64": lambda k: ctrng.integers(k, 0, (1 << 16) + 1, 8, dtype=np.uint64),
    "int-m2^32-1-i64": lambda k: ctrng.integers(k, -(1 << 32), 1, 8),
    "int-big-u64": lambda k: ctrng.integers(k, 12345, (1 << 63) + 999, 8, dtype=np.uint64),
    "int-full-u64": lambda k: ctrng.integers(k, 0, 1 << 64, 8, dtype=np.uint64),
    "int-full-i64": lambda k: ctrng.integers(k, -(1 << 63), 1 << 63, 8),
    "bernoulli-0.3": lambda k: ctrng.bernoulli(k, 0.3, 8),
}


def _as_literals(arr):
    if arr.dtype.kind == "f":
        return [float(v).hex() for v in arr.tolist()]
    return [int(v) for v in arr.tolist()]


# Computed from the implementation on 2026-11-27 (float values as float.hex()).
GOLDEN = {
    "philox4x32": {
        "raw-u32": [
            3552246817, 3368450801, 3607243753, 852684382,
            59622942, 1620674636, 2394606950, 2287583463,
        ],
        "raw-u64": [
            14467386032032250913, 3662251538107214825, 6960744559136327198, 9825096162850032998,
            15208163240966926599, 3149359060149262861, 14663228744345484200, 3471344802210595353,
        ],
        "uniform-f32": [
            "0x1.a775f80000000p-1", "0x1.918cf40000000p-1", "0x1.ae04560000000p-1", "0x1.9697700000000p-3",
            "0x1.c6e3000000000p-7", "0x1.8266200000000p-2", "0x1.1d759a0000000p-1", "0x1.10b3800000000p-1",
        ],
        "uniform-f64": [
            "0x1.918cf5e3a775fp-1", "0x1.969772f6b8114p-3", "0x1.826621300e370p-2", "0x1.10b381cf1d759p-1",
            "0x1.a61c7fc85ff96p-1", "0x1.5da62b0892d6cp-3", "0x1.96fc81b52e04fp-1", "0x1.81658da5254a0p-3",
        ],
        "normal-f32": [
            "0x1.0db7000000000p-3", "-0x1.3437160000000p-1", "0x1.807a640000000p-3", "0x1.1eca940000000p-1",
            "-0x1.0c969c0000000p+1", "0x1.04cba20000000p+1", "-0x1.0eee5e0000000p+0", "-0x1.c28de20000000p-3",
        ],
        "normal-f64": [
            "0x1.1cf75f81e7fb1p-1", "0x1.a9205fd195da5p+0", "-0x1.e7f3d7756e2acp-1", "-0x1.95bab9cf3a4b3p-3",
            "0x1.c845fa94ec680p-1", "0x1.a381e98e89475p+0", "0x1.5927ae9d1c10bp-1", "0x1.a5bdc91cf75e5p+0",
        ],
        "int-1-7-i64": [5, 5, 6, 2, 1, 3, 4, 4],
        "int-m1000-1000-i32": [654, 568, 679, -603, -973, -246, 115, 65],
        "int-full-i32": [
            1220967153, -1294799266, -526809012, 140099815,
            1393442788, -1414216351, 1266565338, -1339248204,
        ],
        "int-0-40000-u32": [33082, 31371, 33595, 7941, 555, 15093, 22301, 21304],
        "int-7-3e9-u32": [
            2352835711, 595593168, 1132028162, 1597858597,
            2473308550, 512181297, 2384685676, 564545943,
        ],
        "int-0-65537-u64": [51399, 13011, 24729, 34906, 54031, 11188, 52095, 12332],
        "int-m2^32-1-i64": [
            -3442282913, -2007383832, -3561699999, -3486731852,
            -2573432495, -3582048841, -3329165602, -3418588538,
        ],
        "int-big-u64": [
            1831125769053617505, 4912548081425022801, 1574679530074641838, 1735672401105307886,
            3696967835327355677, 1530980726190146789, 2074043345584332650, 1882009053208329902,
        ],
        "int-full-u64": [
            3662251538107214825, 9825096162850032998, 3149359060149262861, 3471344802210595353,
            7393935670654695760, 3061961452380272655, 4148086691168645714, 3764018106416639744,
        ],
        "int-full-i64": [
            -5561120498747560983, 601724125995257190, -6074012976705512947, -5752027234644180455,
            -1829436366200080048, -6161410584474503153, -5075285345686130094, -5459353930438136064,
        ],
        "bernoulli-0.3": [0, 1, 0, 0, 0, 1, 0, 1],
    },
    "philox4x64": {
        "raw-u32": [
            2103361752, 1096605342, 3939337467, 2276235582,
            1372982351, 272354441, 1820448832, 3658321415,
        ],
        "raw-u64": [
            4709884082612256984, 9776357386620863739, 1169753418388343887, 15712370837501892672,
            15425283273168646133, 15692315914854146837, 6593067794270401150, 626514030696826840,
        ],
        "uniform-f32": [
            "0x1.f57b000000000p-2", "0x1.0573780000000p-2", "0x1.d59b080000000p-1", "0x1.0f59320000000p-1",
            "0x1.4758300000000p-2", "0x1.03bcc00000000p-4", "0x1.b207600000000p-2", "0x1.b41b1c0000000p-1",
        ],
        "uniform-f64": [
            "0x1.05737a79f57b0p-2", "0x1.0f59327dd59b0p-1", "0x1.03bcc8951d608p-4", "0x1.b41b1c0ed903bp-1",
            "0x1.ac233ad211fbdp-1", "0x1.b38c9c5dc02e4p-1", "0x1.6dfd20e8c638cp-2", "0x1.163a6620cf700p-5",
        ],
        "normal-f32": [
            "-0x1.4758280000000p-5", "0x1.31b9f00000000p+0", "-0x1.a237600000000p-2", "-0x1.3edea80000000p-4",
            "0x1.6458420000000p+0", "0x1.2c01040000000p-1", "0x1.9051d80000000p-1", "-0x1.0d27100000000p+0",
        ],
        "normal-f64": [
            "-0x1.82310922f574ap-1", "-0x1.2673d955ee24ep-3", "0x1.ba60bae27234ap-3", "-0x1.296e1cbeb4a95p-2",
            "0x1.1fe9b52813e32p+0", "-0x1.88ba2fd002c99p+0", "0x1.d69a3a5568982p-1", "0x1.97e9f56210441p-3",
        ],
        "int-1-7-i64": [3, 2, 6, 4, 2, 1, 3, 6],
        "int-m1000-1000-i32": [-21, -490, 834, 59, -361, -874, -153, 703],
        "int-full-i32": [
            -1050878306, 128751934, -1875129207, 1510837767,
            1443994985, 1506168366, -612415430, -2001611983,
        ],
        "int-0-40000-u32": [19589, 10212, 36687, 21199, 12786, 2536, 16954, 34070],
        "int-7-3e9-u32": [
            765969990, 1589932194, 190237386, 2555307996,
            2508618852, 2552046457, 1072232770, 101890187,
        ],
        "int-0-65537-u64": [16733, 34733, 4155, 55822, 54802, 55751, 23423, 2225],
        "int-m2^32-1-i64": [
            -2018731713, -636645880, -641315281, -4149095631,
            -3195518181, -3294812856, -4174608978, -4089931163,
        ],
        "int-big-u64": [
            4888178693310438201, 7856185418750949016, 7846157957427076112, 313257015348425379,
            2361048996844664740, 2147815305916206482, 258467521248006221, 440311743363572032,
        ],
        "int-full-u64": [
            9776357386620863739, 15712370837501892672, 15692315914854146837, 626514030696826840,
            4722097993689310600, 4295630611832393558, 516935042495988388, 880623486727120457,
        ],
        "int-full-i64": [
            552985349766087931, 6488998800647116864, 6468943877999371029, -8596858006157948968,
            -4501274043165465208, -4927741425022382250, -8706436994358787420, -8342748550127655351,
        ],
        "bernoulli-0.3": [1, 0, 1, 0, 0, 0, 0, 1],
    },
    "threefry4x32": {
        "raw-u32": [
            1486743315, 3562203708, 4047952391, 14254960,
            3511760468, 2237269551, 804246889, 1248188522,
        ],
        "raw-u64": [
            15299548429036676883, 61224591053740551, 9608999557393364564, 5360928882036823401,
            5371593644569900292, 2828997120728722577, 2590800454731042549, 13158627279048224682,
        ],
        "uniform-f32": [
            "0x1.62779c0000000p-2", "0x1.a8a5d40000000p-1", "0x1.e28db40000000p-1", "0x1.b306000000000p-9",
            "0x1.a2a26c0000000p-1", "0x1.0ab40c0000000p-1", "0x1.7f7ea80000000p-3", "0x1.2997600000000p-2",
        ],
        "uniform-f64": [
            "0x1.a8a5d478b13bcp-1", "0x1.b306e1e28db00p-9", "0x1.0ab40c5fa2a26p-1", "0x1.299761a8bfbf4p-2",
            "0x1.2a2eefd6d956cp-2", "0x1.3a14ef241d1b4p-3", "0x1.1fa2fa4ba1504p-3", "0x1.6d39ab95f6de5p-1",
        ],
        "normal-f32": [
            "0x1.64c70a0000000p-1", "-0x1.4774280000000p+0", "0x1.605f440000000p-2", "0x1.d65b420000000p-8",
            "-0x1.42173a0000000p-1", "-0x1.5469460000000p-4", "-0x1.d92bde0000000p-2", "0x1.c56bd40000000p+0",
        ],
        "normal-f64": [
            "0x1.e155df7fdcddap+0", "0x1.4140b292ca007p-5", "-0x1.399872411ea06p-2", "0x1.2c817e8e90ec7p+0",
            "0x1.e4bfb1d4df30ep-2", "0x1.5cdb5e03a0c7ap-1", "-0x1.015007c6230aep-3", "-0x1.123e5031bb77ap-1",
        ],
        "int-1-7-i64": [3, 5, 6, 1, 5, 4, 2, 2],
        "int-m1000-1000-i32": [-308, 658, 884, -994, 635, 41, -626, -419],
        "int-full-i32": [
            1414720060, -2133228688, 89785903, -899295126,
            -896812043, -1488806428, -1544265911, 916248010,
        ],
        "int-0-40000-u32": [13846, 33175, 37699, 132, 32705, 20836, 7490, 11624],
        "int-7-3e9-u32": [
            2488170553, 9956982, 1562714736, 871849618,
            873584031, 460080730, 421342729, 2139991849,
        ],
        "int-0-65537-u64": [54355, 217, 34138, 19046, 19084, 10050, 9204, 46749],
        "int-m2^32-1-i64": [
            -4280712336, -3046778774, -3636290076, -1231235637,
            -2676280669, -3064784565, -1093793128, -2511054075,
        ],
        "int-big-u64": [
            30612295526882583, 2680464441018420748, 1414498560364371893, 6579313639524116592,
            3476103062034890372, 2641797299213647705, 6874469178925002024, 3830924471501712708,
        ],
        "int-full-u64": [
            61224591053740551, 5360928882036823401, 2828997120728722577, 13158627279048224682,
            6952206124069764607, 5283594598427277220, 13748938357849996271, 7661848943003410153,
        ],
        "int-full-i64": [
            -9162147445801035257, -3862443154817952407, -6394374916126053231, 3935255242193448874,
            -2271165912785011201, -3939777438427498588, 4525566320995220463, -1561523093851365655,
        ],
        "bernoulli-0.3": [0, 1, 0, 1, 1, 1, 1, 0],
    },
    "threefry4x64": {
        "raw-u32": [
            3874790263, 1155918558, 1075993487, 679756646,
            1334925212, 1940933218, 636430476, 4230342813,
        ],
        "raw-u64": [
            4964632407324269431, 2919532564884642703, 8336244696364963740, 18169184033340074124,
            12811299517006194766, 16609269046529555829, 8164601167923536529, 16293963715252019013,
        ],
        "uniform-f32": [
            "0x1.cde9360000000p-1", "0x1.1397a80000000p-2", "0x1.00896c0000000p-2", "0x1.4422180000000p-3",
            "0x1.3e455c0000000p-2", "0x1.cec1280000000p-2", "0x1.2f79400000000p-3", "0x1.f84bd00000000p-1",
        ],
        "uniform-f64": [
            "0x1.1397ab7b9bd26p-2", "0x1.44221b320112cp-3", "0x1.cec129893e454p-2", "0x1.f84bd13a4bde5p-1",
            "0x1.6395c2112c935p-1", "0x1.ccfff4657291fp-1", "0x1.c539f6046b498p-2", "0x1.c43f9356fd66bp-1",
        ],
        "normal-f32": [
            "-0x1.bdcdf00000000p-5", "0x1.cd4de00000000p-2", "0x1.d044160000000p-1", "0x1.6522160000000p+0",
            "-0x1.75a2480000000p+0", "0x1.d1dd3e0000000p-2", "0x1.f2065e0000000p+0", "-0x1.79cb6e0000000p-3",
        ],
        "normal-f64": [
            "0x1.b9e8b5853eeeep-2", "0x1.53ef73963f802p-1", "0x1.177caf6551592p+0", "-0x1.a8075f950ce89p-4",
            "0x1.3f840787fcc4dp+0", "-0x1.cde4c2535395cp-1", "0x1.9b4be5c4f7b83p-1", "-0x1.72802213bcbebp-1",
        ],
        "int-1-7-i64": [6, 2, 2, 1, 2, 3, 1, 6],
        "int-m1000-1000-i32": [804, -462, -499, -684, -379, -97, -704, 969],
        "int-full-i32": [
            -991565090, -1467727002, -206550430, 2082859165,
            835379464, 1719663154, -246514303, 1646250411,
        ],
        "int-0-40000-u32": [36086, 10765, 10020, 6330, 12432, 18076, 5927, 39398],
        "int-7-3e9-u32": [
            807399793, 474804539, 1355726198, 2954860327,
            2083505822, 2701170844, 1327811755, 2649892635,
        ],
        "int-0-65537-u64": [17638, 10372, 29616, 64550, 45515, 59008, 29006, 57888],
        "int-m2^32-1-i64": [
            -3615210650, -64624482, -427820493, -501233236,
            -2191459474, -1740451367, -2220491735, -3931089929,
        ],
        "int-big-u64": [
            1459766282442331900, 9084592016670038231, 8304634523264780044, 8146981857626011829,
            4517248651164687366, 5485781185208589978, 4454902344888176213, 781420695594891899,
        ],
        "int-full-u64": [
            2919532564884642703, 18169184033340074124, 16609269046529555829, 16293963715252019013,
            9034497302329361156, 10971562370417168763, 8909804689776338697, 1562841391189761032,
        ],
        "int-full-i64": [
            -6303839471970133105, 8945811996485298316, 7385897009674780021, 7070591678397243205,
            -188874734525414652, 1748190333562392955, -313567347078437111, -7660530645665014776,
        ],
        "bernoulli-0.3": [1, 1, 0, 0, 0, 0, 0, 0],
    },
}


@pytest.mark.parametrize("algorithm", ALGS)
@pytest.mark.parametrize("case", list(GOLDEN_CASES))
def test_golden_values(algorithm, case):
    got = _as_literals(GOLDEN_CASES[case](GOLDEN_KEYS[algorithm]))
    assert got == GOLDEN[algorithm][case]


@pytest.mark.parametrize("algorithm", ALGS)
def test_golden_values_at_every_offset(algorithm):
    """The golden values hold when the first 8 elements come from a longer or
    later-starting request (head / whole-group / tail code paths)."""
    key = GOLDEN_KEYS[algorithm]
    for case, call in GOLDEN_CASES.items():
        gold = GOLDEN[algorithm][case]
        fn = {"raw": ctrng.random_raw, "uni": ctrng.random, "nor": ctrng.standard_normal}.get(case[:3])
        if fn is None:
            continue
        kw = {"dtype": {"u32": np.uint32, "u64": np.uint64, "f32": np.float32, "f64": np.float64}[case[-3:]]}
        longer = _as_literals(fn(key, 1000, **kw))[:8]
        assert longer == gold, case
        for a in range(1, 8):
            assert _as_literals(fn(key, 8 - a, start=a, **kw)) == gold[a:], (case, a)


# ---------------------------------------------------------------------------
# Statistical sanity.  Keys are fixed, so each test is deterministic; the
# stated false-alarm rate is the chance that a perfect generator would fail
# it for a key chosen at random.
# ---------------------------------------------------------------------------

ALPHA = 1e-6


def _chi2_ok(counts, expected):
    """Two-sided chi-square test at total false-alarm rate ALPHA."""
    counts = np.asarray(counts, dtype=np.float64)
    expected = np.broadcast_to(np.asarray(expected, dtype=np.float64), counts.shape)
    chi2 = float(((counts - expected) ** 2 / expected).sum())
    df = counts.size - 1
    lo, hi = stats.chi2.ppf(ALPHA / 2, df), stats.chi2.isf(ALPHA / 2, df)
    return lo < chi2 < hi, (chi2, lo, hi)


@pytest.mark.parametrize("algorithm", ALGS)
def test_byte_histogram_chi_square(algorithm):
    """4 MiB of the stream: byte counts over 256 bins, chi-square (255 df),
    two-sided, false-alarm rate 1e-6; also each byte position of a uint32
    separately (4 more tests, so 5e-6 in all)."""
    u32 = ctrng.random_raw(KEYS[algorithm], 1 << 20)
    b = u32.view(np.uint8)
    ok, info = _chi2_ok(np.bincount(b, minlength=256), b.size / 256)
    assert ok, info
    for j in range(4):
        lane = b[j::4]
        ok, info = _chi2_ok(np.bincount(lane, minlength=256), lane.size / 256)
        assert ok, (j, info)


@pytest.mark.parametrize("algorithm", ALGS)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_uniform_ks(algorithm, dtype):
    """Kolmogorov-Smirnov against U(0, 1), n = 2**17: p > 1e-6 (false-alarm
    rate 1e-6)."""
    u = ctrng.random(KEYS[algorithm], 1 << 17, start=12345, dtype=dtype)
    assert stats.kstest(u.astype(np.float64), "uniform").pvalue > ALPHA


@pytest.mark.parametrize("algorithm", ALGS)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_normal_ks(algorithm, dtype):
    """Kolmogorov-Smirnov against N(0, 1), n = 2**17, p > 1e-6 (false-alarm
    rate 1e-6); the even (cos) and odd (sin) outputs are also tested
    separately (2e-6 more)."""
    z = ctrng.standard_normal(KEYS[algorithm], 1 << 17, start=77, dtype=dtype).astype(np.float64)
    assert stats.kstest(z, "norm").pvalue > ALPHA
    assert stats.kstest(z[0::2], "norm").pvalue > ALPHA
    assert stats.kstest(z[1::2], "norm").pvalue > ALPHA


@pytest.mark.parametrize("algorithm", ALGS)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_normal_moments(algorithm, dtype):
    """n = 2**20 normals: |mean| < 5 / sqrt(n), |var - 1| < 5 sqrt(2 / n),
    and the correlation of the two outputs of a pair |r| < 5 / sqrt(n / 2);
    each two-sided at 5 sd, false-alarm rate 5.7e-7 each."""
    n = 1 << 20
    z = ctrng.standard_normal(KEYS[algorithm], n, dtype=dtype).astype(np.float64)
    assert abs(z.mean()) < 5 / math.sqrt(n)
    assert abs(z.var() - 1) < 5 * math.sqrt(2 / n)
    assert abs(np.corrcoef(z[0::2], z[1::2])[0, 1]) < 5 / math.sqrt(n / 2)


@pytest.mark.parametrize("algorithm", ALGS)
@pytest.mark.parametrize("low, span, dtype", [
    (0, 3, np.int64), (-1, 3, np.int32), (0, 1000, np.uint32), (-500, 1000, np.int64),
    (0, (1 << 31) + 1, np.int64), (3, (1 << 31) + 1, np.uint32), (0, 3 * (1 << 62), np.uint64),
])
def test_integer_buckets_are_uniform(algorithm, low, span, dtype):
    """n = 10**6 integers in [low, low + span): chi-square of the value counts
    (span <= 1000) or of range tenths and of value mod 7, two-sided, false-
    alarm rate 1e-6 per chi-square; every value lies in range."""
    n = 10 ** 6
    v = ctrng.integers(KEYS[algorithm], low, low + span, n, dtype=dtype)
    off = [int(x) - low for x in (v.min(), v.max())]
    assert 0 <= off[0] and off[1] < span
    if span <= 1000:
        counts = np.bincount((v.astype(np.int64) - low), minlength=span)
        assert counts.size == span
        ok, info = _chi2_ok(counts, n / span)
        assert ok, info
        return
    # offsets from low as uint64 (exact for every dtype)
    if dtype == np.uint64:
        off = v - np.uint64(low)
    else:
        off = (v.astype(np.int64) - low).astype(np.uint64)
    if span * 10 < 1 << 64:
        # tenths of the range: bucket floor(10 off / span), exact counts per bucket
        buckets = off * np.uint64(10) // np.uint64(span)
        sizes = [-(-(j + 1) * span // 10) - -(-j * span // 10) for j in range(10)]
    else:
        # top bits: buckets of 2**60 values
        buckets = off >> np.uint64(60)
        sizes = [min(span, (j + 1) << 60) - (j << 60) for j in range(-(-span >> 60))]
    counts = np.bincount(buckets.astype(np.int64), minlength=len(sizes))
    assert counts.size == len(sizes) and sum(sizes) == span
    ok, info = _chi2_ok(counts, np.array(sizes, dtype=np.float64) * (n / span))
    assert ok, ("buckets", info)
    mod7 = np.bincount((off % np.uint64(7)).astype(np.int64), minlength=7)
    exp7 = np.array([len(range(r, span, 7)) for r in range(7)], dtype=np.float64) * (n / span)
    ok, info = _chi2_ok(mod7, exp7)
    assert ok, ("mod 7", info)
