"""Statistical quality with stated false-alarm rates (the rate of failing
for a good generator over the choice of key; each test uses fixed keys, so
it is deterministic).  Known-bad controls run the same harnesses on weak
generators and must fail, so the harnesses can fail."""

import math

import numpy as np
import pytest
from scipy import stats

import ctrng

ALGS = ["philox4x32", "philox4x64", "threefry4x32", "threefry4x64"]
ALPHA = 1e-6
Z = stats.norm.isf(ALPHA / 2)  # two-sided z bound at ALPHA, about 4.89


def _byte_pvalue(words):
    return stats.chisquare(np.bincount(words.view(np.uint8), minlength=256)).pvalue


@pytest.mark.parametrize("algorithm", ALGS)
def test_uint32_bytes_are_uniform(algorithm):
    """Chi-square of the 256 byte values over 2**24 words; false alarm 1e-6."""
    words = ctrng.random_raw(ctrng.Key(31, rank=2, algorithm=algorithm), 1 << 24)
    assert _byte_pvalue(words) > ALPHA


def test_control_one_round_philox_fails_the_byte_test():
    """Known bad: Philox4x32 with 1 round on consecutive counters."""
    words = ctrng.random_raw(ctrng.Key(31, rank=2, rounds=1), 1 << 24)
    assert _byte_pvalue(words) < ALPHA


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("algorithm", ALGS)
def test_uniform_floats_fill_buckets_evenly(algorithm, dtype):
    """Chi-square over 1000 equal buckets of [0, 1), 2**23 values; false
    alarm 1e-6.  Also every value is in [0, 1)."""
    u = ctrng.random(ctrng.Key(8, stream=3, algorithm=algorithm), 1 << 23, dtype=dtype)
    assert u.min() >= 0 and u.max() < 1
    counts = np.bincount((u.astype(np.float64) * 1000).astype(np.int64), minlength=1000)
    assert stats.chisquare(counts).pvalue > ALPHA


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("algorithm", ALGS)
def test_normals_pass_ks_cramer_von_mises_and_anderson_darling(algorithm, dtype):
    """10**6 standard normals: Kolmogorov-Smirnov and Cramer-von Mises
    against N(0, 1) at false alarm 1e-6 each; Anderson-Darling (parameters
    estimated, p-value interpolated in SciPy's tables) at 1 %, the smallest
    level its tables reach."""
    z = ctrng.standard_normal(ctrng.Key(77, rank=1, algorithm=algorithm), 10**6, dtype=dtype).astype(np.float64)
    assert stats.kstest(z, "norm").pvalue > ALPHA
    assert stats.cramervonmises(z, "norm").pvalue > ALPHA
    assert stats.anderson(z, "norm", method="interpolate").pvalue > 0.01


@pytest.mark.parametrize("high", [3, 1000, 2**31 + 1, 2**32 - 1])
@pytest.mark.parametrize("dtype", [np.int64, np.uint32])
def test_bounded_integers_at_awkward_bounds(high, dtype):
    """integers(0, high): chi-square over min(high, 1024) buckets of equal
    width (bucket edges at multiples of high / buckets), 2**22 draws, and
    the range; false alarm 1e-6."""
    v = ctrng.integers(ctrng.Key(4, stream=int(high % 2**32)), 0, high, 1 << 22, dtype=dtype).astype(np.int64)
    assert v.min() >= 0 and v.max() < high
    buckets = min(high, 1024)
    edges = np.array([high * j // buckets for j in range(buckets + 1)], np.int64)
    counts = np.bincount(np.searchsorted(edges, v, side="right") - 1, minlength=buckets)
    expected = np.diff(edges) * (1 << 22) / high
    assert stats.chisquare(counts, expected).pvalue > ALPHA


def _pair_z(a, b):
    """(Pearson correlation z, XOR popcount z) of two uint32 word arrays:
    independent words give r ~ N(0, 1/n) and popcount(a ^ b) of mean 16 and
    variance 8 per word."""
    x, y = a.astype(np.float64), b.astype(np.float64)
    r = np.corrcoef(x, y)[0, 1]
    pop = int(np.unpackbits((a ^ b).view(np.uint8)).sum(dtype=np.int64))
    return r * math.sqrt(a.size), (pop - 16 * a.size) / math.sqrt(8 * a.size)


NEIGHBOURS = {
    "root": lambda r, alg: (ctrng.Key(r, algorithm=alg), ctrng.Key(r + 1, algorithm=alg)),
    "rank": lambda r, alg: (ctrng.Key(7, rank=r, algorithm=alg), ctrng.Key(7, rank=r + 1, algorithm=alg)),
    "stream": lambda r, alg: (ctrng.Key(7, stream=r, algorithm=alg), ctrng.Key(7, stream=r + 1, algorithm=alg)),
    "root+1 rank 0 / root rank 1": lambda r, alg: (ctrng.Key(r + 1, algorithm=alg),
                                                  ctrng.Key(r, rank=1, algorithm=alg)),
}


@pytest.mark.parametrize("algorithm", ALGS)
@pytest.mark.parametrize("kind", NEIGHBOURS)
def test_streams_one_apart_are_uncorrelated(kind, algorithm):
    """Streams differing by one in root, rank or stream (and the pair that
    `seed + rank` makes identical), 8 pairs of 2**18 words: correlation and
    XOR-popcount z-scores within the two-sided 1e-6 bound."""
    for r in range(100, 108):
        a, b = NEIGHBOURS[kind](r, algorithm)
        zr, zx = _pair_z(ctrng.random_raw(a, 1 << 18), ctrng.random_raw(b, 1 << 18))
        assert abs(zr) < Z and abs(zx) < Z, (r, zr, zx)


def test_control_seed_plus_rank_fails_the_pair_test():
    """Known bad: NumPy seeded with root + rank; root 101 rank 0 and root 100
    rank 1 draw the same words."""
    a = np.random.default_rng(101 + 0).integers(0, 2**32, 1 << 18, dtype=np.uint32)
    b = np.random.default_rng(100 + 1).integers(0, 2**32, 1 << 18, dtype=np.uint32)
    zr, zx = _pair_z(a, b)
    assert abs(zr) > Z and abs(zx) > Z
