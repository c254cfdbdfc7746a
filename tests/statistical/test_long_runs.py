"""Long statistical checks (``python -m pytest -m slow``), each with its
false-alarm rate stated.  Sizes are chosen so a defect in a fill path (a
stuck lane, a wrong shuffle of words, a truncated tail) shows up clearly."""

import math

import numpy as np
import pytest
from scipy import stats

import ctrng

pytestmark = pytest.mark.slow
ALGS = ["philox4x32", "philox4x64", "threefry4x32", "threefry4x64"]
ALPHA = 1e-6  # per test


@pytest.mark.parametrize("algorithm", ALGS)
def test_top16_bits_of_2_28_words_are_uniform(algorithm):
    """Chi-square over 65536 buckets of the top 16 bits of 2**28 uint32 words
    (1 GiB of stream); false-alarm rate 1e-6."""
    key = ctrng.Key(99, rank=3, stream=1, algorithm=algorithm)
    counts = np.zeros(1 << 16, np.int64)
    step = 1 << 24
    buf = np.empty(step, np.uint32)
    for start in range(0, 1 << 28, step):
        ctrng.random_raw(key, out=buf, start=start)
        counts += np.bincount(buf >> 16, minlength=1 << 16)
    assert stats.chisquare(counts).pvalue > ALPHA


@pytest.mark.parametrize("dtype, threshold", [(np.float64, 4.5), (np.float32, 4.5), (np.float64, 5.5)])
def test_normal_tails_have_the_right_mass(dtype, threshold):
    """P(|z| > t) over 2**27 variates against the exact normal tail, by a
    two-sided binomial z-test at false-alarm rate 1e-6 (normal approximation,
    expected counts of 900 and more)."""
    key = ctrng.Key(5, stream=7)
    n = 1 << 27
    hits = 0
    step = 1 << 23
    buf = np.empty(step, dtype)
    for start in range(0, n, step):
        ctrng.standard_normal(key, out=buf, start=start, dtype=dtype)
        hits += int(np.count_nonzero(np.abs(buf) > threshold))
    p = math.erfc(threshold / math.sqrt(2))
    z = (hits - n * p) / math.sqrt(n * p * (1 - p))
    assert abs(z) < stats.norm.isf(ALPHA / 2)


def test_integers_at_awkward_bound_are_uniform():
    """integers(0, 2**31 + 1): chi-square over 1024 equal-width buckets of
    2**26 draws (bucket edges at multiples of the span / 1024); false-alarm
    rate 1e-6."""
    key = ctrng.Key(17)
    span = 2**31 + 1
    edges = np.array([span * j // 1024 for j in range(1025)], np.int64)
    counts = np.zeros(1024, np.int64)
    step = 1 << 23
    for start in range(0, 1 << 26, step):
        v = ctrng.integers(key, 0, span, step, start=start)
        counts += np.bincount(np.searchsorted(edges, v, side="right") - 1, minlength=1024)
    expected = np.diff(edges) * (1 << 26) / span
    assert stats.chisquare(counts, expected).pvalue > ALPHA
