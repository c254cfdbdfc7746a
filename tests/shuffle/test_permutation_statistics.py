"""Uniformity of both kinds of permutation: ctrng.permutation (exactly
uniform by construction) and ctrng.IndexPermutation (a keyed bijection).
Each test states its false-alarm rate; the known-bad controls show that
the same tests catch a biased shuffle."""

import itertools
import math

import numpy as np
import pytest
from scipy import stats

import ctrng

KINDS = {
    "permutation": lambda key, n: ctrng.permutation(key, n),
    "IndexPermutation": lambda key, n: ctrng.IndexPermutation(key, n)[:],
}


def _naive_shuffle(key, n):
    """Known bad: swap each position with a uniform position of the whole
    array (n^n equally likely paths onto n! orderings, so biased)."""
    perm = list(range(n))
    draws = ctrng.integers(key, 0, n, n)
    for i, j in enumerate(draws):
        perm[i], perm[j] = perm[j], perm[i]
    return np.array(perm)


def _orderings_pvalue(make, n, draws_per_ordering=100):
    index = {p: i for i, p in enumerate(itertools.permutations(range(n)))}
    counts = np.zeros(len(index), np.int64)
    for root in range(draws_per_ordering * len(index)):
        counts[index[tuple(make(ctrng.Key(root, stream=n), n).tolist())]] += 1
    return stats.chisquare(counts).pvalue


def _position_pvalues(make, n=1000, m=2000):
    """Two-sided chi-square p-value of the position-by-value table (m
    permutations of n items, expected m / n per cell, df = (n - 1)^2), and
    the z-score of the mean number of fixed points (1, sd 1 / sqrt(m))."""
    counts = np.zeros((n, n), np.int64)
    fixed = 0
    for root in range(m):
        p = make(ctrng.Key(root, rank=7), n)
        counts[np.arange(n), p] += 1
        fixed += int((p == np.arange(n)).sum())
    expected = m / n
    chi2 = ((counts - expected) ** 2 / expected).sum()
    df = (n - 1) ** 2
    return min(stats.chi2.sf(chi2, df), stats.chi2.cdf(chi2, df)), (fixed / m - 1) * math.sqrt(m)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("n", [5, 6])
def test_all_orderings_equally_likely(kind, n):
    """Chi-square over all n! orderings from 100 n! keys; false alarm 1e-6."""
    assert _orderings_pvalue(KINDS[kind], n) > 1e-6


@pytest.mark.parametrize("kind", KINDS)
def test_position_by_value_histogram(kind):
    """n = 1000, 2000 keys; false alarm about 1e-6 for each check."""
    pvalue, z = _position_pvalues(KINDS[kind])
    assert pvalue > 1e-6
    assert abs(z) < 5


def test_controls_catch_a_biased_shuffle():
    """The naive shuffle's bias at n = 6 is plain to the orderings test, and
    an identity-like map fails the position test."""
    assert _orderings_pvalue(_naive_shuffle, 6) < 1e-6
    pvalue, z = _position_pvalues(lambda key, n: np.roll(np.arange(n), int(ctrng.integers(key, 0, 2, 1)[0])))
    assert pvalue < 1e-6


@pytest.mark.parametrize("n", [2**10, 2**16 + 1, 10**6])
def test_index_permutation_positions_over_keys(n):
    """Where value 0 and value n - 1 land and what lands at positions 0 and
    n - 1, over 20000 keys, in 50 bins; chi-square false alarm 1e-6 each
    (rounds are 24 up to 2**20 and 12 above)."""
    m, bins = 20000, 50
    seen = np.zeros((4, m), np.int64)
    for root in range(m):
        p = ctrng.IndexPermutation(ctrng.Key(root, stream=5), n)
        seen[:, root] = [p.inverse(0), p.inverse(n - 1), p[0], p[n - 1]]
    for row in seen:
        assert stats.chisquare(np.bincount(row * bins // n, minlength=bins)).pvalue > 1e-6
