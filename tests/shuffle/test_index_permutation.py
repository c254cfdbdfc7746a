"""ctrng.IndexPermutation: the definition (pure-Python reference), bijection
for every n, inverse, indexing forms, golden values, threads, bad input."""

import pickle

import numpy as np
import pytest
import reference as ref

import ctrng

KEY = ctrng.Key(9, rank=3, stream=4)


@pytest.mark.parametrize("algorithm", ref.ALGORITHMS)
@pytest.mark.parametrize("n", [1, 2, 3, 5, 8, 1000, 2**20, 2**20 + 1, 2**21 + 3, 2**40 + 5, 2**62 + 1, 2**63 - 1])
def test_matches_reference(algorithm, n):
    key = ctrng.Key(9, rank=3, stream=4, algorithm=algorithm)
    params = ref.index_permutation_params(algorithm, 9, 3, 4, n)
    p = ctrng.IndexPermutation(key, n)
    positions = sorted({0, n - 1, n // 2, n // 3, (7 * n) // 11})
    values = [ref.index_permutation(params, n, i) for i in positions]
    assert p[np.array(positions)].tolist() == values
    assert [ref.index_permutation(params, n, v, inverse=True) for v in values] == positions
    assert p.inverse(np.array(values)).tolist() == positions


def test_bijection_for_every_n_up_to_4096():
    for n in range(1, 4097):
        p = ctrng.IndexPermutation(ctrng.Key(n), n)
        image = p[:]
        assert np.array_equal(np.sort(image), np.arange(n)), n
        assert np.array_equal(p.inverse(image), np.arange(n)), n


@pytest.mark.parametrize("k", range(1, 25))
def test_bijection_around_powers_of_two(k):
    for n in (2**k - 1, 2**k, 2**k + 1):
        image = ctrng.IndexPermutation(KEY, n)[:]
        assert np.array_equal(np.bincount(image, minlength=n), np.ones(n, np.int64)), n


@pytest.mark.parametrize("n", [2**32 + 15, 10**12 + 39, 2**62 + 1, 2**63 - 1])
def test_sampled_bijection_at_large_n(n):
    """Distinct positions give distinct in-range values, and inverse undoes
    the map, on 2 * 10^5 sampled positions (a run of 10^5 and 10^5 spread)."""
    p = ctrng.IndexPermutation(KEY, n)
    rng = np.random.default_rng(n % 2**32)
    spread = np.unique(rng.integers(0, n, 10**5, dtype=np.int64, endpoint=False))
    for positions in (np.arange(n - 10**5, n, dtype=np.int64), spread):
        values = p[positions]
        assert values.min() >= 0
        assert np.unique(values).size == positions.size
        assert np.array_equal(p.inverse(values), positions)


def test_indexing_forms():
    n = 1000
    p = ctrng.IndexPermutation(KEY, n)
    full = p[:]
    assert full.dtype == np.int64 and full.shape == (n,)
    assert p[5] == full[5] and isinstance(p[5], int)
    assert p[-1] == full[-1] and p[np.int32(-3)] == full[-3]
    assert np.array_equal(p[10:20], full[10:20])
    assert np.array_equal(p[::-7], full[::-7])
    assert np.array_equal(p[990:2000], full[990:])
    idx = np.array([[3, -1], [0, 999]])
    assert np.array_equal(p[idx], full[idx])
    assert np.array_equal(p[np.array([3, 4], np.uint64)], full[[3, 4]])
    assert p[[]].shape == (0,)
    assert list(p) == full.tolist()
    assert len(p) == n and p.n == n and p.key == KEY
    assert p.inverse(full[17]) == 17
    assert np.array_equal(p.inverse(slice(None)), np.argsort(full))


def test_value_semantics():
    p = ctrng.IndexPermutation(KEY, 77)
    assert p == ctrng.IndexPermutation(KEY, 77) and hash(p) == hash(ctrng.IndexPermutation(KEY, 77))
    assert p != ctrng.IndexPermutation(KEY, 78)
    q = pickle.loads(pickle.dumps(p))
    assert q == p and np.array_equal(q[:], p[:])
    assert "IndexPermutation" in repr(p)


def test_different_n_or_key_give_unrelated_orders():
    a = ctrng.IndexPermutation(KEY, 10**6)[:1000]
    b = ctrng.IndexPermutation(KEY, 10**6 + 1)[:1000]
    c = ctrng.IndexPermutation(ctrng.Key(9, rank=3, stream=5), 10**6)[:1000]
    assert (a == b).sum() < 5 and (a == c).sum() < 5


def test_same_values_for_any_thread_count():
    n = 3 * 10**6 + 7
    one = ctrng.IndexPermutation(KEY, n, threads=1)[:]
    assert np.array_equal(ctrng.IndexPermutation(KEY, n, threads=2)[:], one)
    assert np.array_equal(ctrng.IndexPermutation(KEY, n, threads=3)[n // 3:], one[n // 3:])


def test_golden_values():
    assert ctrng.IndexPermutation(ctrng.Key(2026), 10)[:].tolist() == [6, 4, 5, 7, 3, 1, 0, 9, 8, 2]
    big = ctrng.IndexPermutation(ctrng.Key(2026, algorithm="philox4x64"), 10**15)
    assert big[:4].tolist() == GOLDEN_BIG


GOLDEN_BIG = [364870999824909, 461123181426498, 258257634356309, 708755312997288]


def test_bad_input():
    for n in (0, -1, 2**63):
        with pytest.raises(ValueError, match="n must be"):
            ctrng.IndexPermutation(KEY, n)
    for n in (2.0, True, None):
        with pytest.raises(TypeError):
            ctrng.IndexPermutation(KEY, n)
    with pytest.raises(TypeError, match="Key"):
        ctrng.IndexPermutation(3, 10)
    p = ctrng.IndexPermutation(KEY, 10)
    for bad in (10, -11, 2**70):
        with pytest.raises(IndexError, match="out of range"):
            p[bad]
    with pytest.raises(IndexError, match="out of range"):
        p[np.array([1, 10])]
    with pytest.raises(IndexError, match="out of range"):
        p.inverse(np.array([-11]))
    with pytest.raises(TypeError, match="integers"):
        p[np.array([1.0])]
    with pytest.raises(TypeError, match="integers"):
        p[np.array([True])]
