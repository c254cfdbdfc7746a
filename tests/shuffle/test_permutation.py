"""Permutations: the definition (pure-Python reference), thread and chunk
independence, golden values, uniformity, and the array/Generator surface."""

import hashlib

import numpy as np
import pytest
import reference as ref
from scipy import stats

import ctrng
from ctrng._core.bridge import lib

KEY = ctrng.Key(42, rank=1)


def _reference(key, n, start, log=None):
    words = ctrng.random_raw(key, 2 * n, start=start)

    def retry(q, r):
        return ref.retry_draw(key.algorithm, key.root, key.rank, key.stream, start + n + q, r, 64)

    return ref.permutation(words, retry, n, log)


@pytest.mark.parametrize("algorithm", ref.ALGORITHMS)
@pytest.mark.parametrize("n, start", [(0, 0), (1, 3), (2, 0), (7, 5), (1000, 13), (32768, 0),
                                      (32769, 1), (70000, 2), (300000, 11)])
def test_matches_reference(algorithm, n, start):
    key = ctrng.Key(5, rank=2, stream=1, algorithm=algorithm)
    assert lib.ctrng_perm_bits(n) == ref.permutation_bits(n)
    assert ctrng.permutation(key, n, start=start).tolist() == _reference(key, n, start)


def test_rejected_draw_takes_the_retry_blocks():
    """Root 3 at n = 200000 has a rejected first draw (found by search)."""
    key = ctrng.Key(3)
    log = []
    expected = _reference(key, 200000, 0, log)
    assert log == [116017]
    assert ctrng.permutation(key, 200000).tolist() == expected


@pytest.mark.parametrize("n", [65536 * 2 + 17, 1 << 20, 3_000_001])
def test_same_bits_for_any_thread_count(n):
    first = ctrng.permutation(KEY, n, start=9, threads=1)
    for threads in (2, 3, 5):
        assert np.array_equal(ctrng.permutation(KEY, n, start=9, threads=threads), first)


def test_golden_values():
    p = ctrng.permutation(ctrng.Key(2026), 10**6)
    assert p[:8].tolist() == GOLDEN_HEAD
    assert hashlib.sha256(p.tobytes()).hexdigest() == GOLDEN_SHA256
    small = ctrng.permutation(ctrng.Key(2026, algorithm="threefry4x32"), 12, start=4)
    assert small.tolist() == GOLDEN_SMALL


GOLDEN_HEAD = [553373, 643008, 737784, 162706, 757229, 230779, 129603, 928458]
GOLDEN_SHA256 = "9aac2eb281a54c2a8129797b6c950a838c6e3b4728eb7263f5628c6564fdd2c6"
GOLDEN_SMALL = [7, 2, 0, 1, 10, 9, 8, 11, 3, 5, 6, 4]


def test_bijection_at_large_n():
    n = 10**7 + 3
    p = ctrng.permutation(ctrng.Key(11), n)
    assert p.dtype == np.int64 and p.shape == (n,)
    assert np.array_equal(np.bincount(p, minlength=n), np.ones(n, np.int64))


def test_positions_across_buckets():
    """n = 40000 sorts into 2 buckets: where value 0 and value n - 1 land,
    and which values reach positions 0 and n - 1, over 5000 keys, in 50 bins;
    chi-square false-alarm rate 1e-6 each."""
    n, m, bins = 40000, 5000, 50
    assert ref.permutation_bits(n) == 1
    seen = {name: [] for name in ("pos_of_0", "pos_of_last", "at_0", "at_last")}
    for root in range(m):
        p = ctrng.permutation(ctrng.Key(root, stream=2), n, threads=1)
        inv = np.empty(n, np.int64)
        inv[p] = np.arange(n)
        seen["pos_of_0"].append(inv[0])
        seen["pos_of_last"].append(inv[-1])
        seen["at_0"].append(p[0])
        seen["at_last"].append(p[-1])
    for name, values in seen.items():
        hist = np.bincount(np.array(values) * bins // n, minlength=bins)
        assert stats.chisquare(hist).pvalue > 1e-6, name


# -- arrays and the Generator ---------------------------------------------

@pytest.mark.parametrize("dtype", [np.int8, np.int16, np.float32, np.int64, np.complex128, "S3", "V24"])
def test_permuting_arrays_equals_indexing(dtype):
    n = 70001
    x = np.frombuffer(np.arange(n * np.dtype(dtype).itemsize, dtype=np.uint8).tobytes(), dtype=dtype)
    perm = ctrng.permutation(KEY, n, start=3)
    assert ctrng.permutation(KEY, x, start=3).tobytes() == x[perm].tobytes()  # NaN bit patterns too
    rows = np.arange(n * 3, dtype=np.int32).reshape(n, 3)
    assert np.array_equal(ctrng.permutation(KEY, rows, start=3), rows[perm])


def test_axis_noncontiguous_and_objects():
    x = np.arange(60).reshape(3, 4, 5)
    perm = ctrng.permutation(KEY, 4)
    assert np.array_equal(ctrng.permutation(KEY, x, axis=1), x[:, perm])
    assert np.array_equal(ctrng.permutation(KEY, x, axis=-2), x[:, perm])
    perm5 = ctrng.permutation(KEY, 5)
    assert np.array_equal(ctrng.permutation(KEY, x[:, :, ::-1].T), x[:, :, ::-1].T[perm5])
    objs = np.array([object() for _ in range(10)], dtype=object)
    assert ctrng.permutation(KEY, objs).tolist() == objs[ctrng.permutation(KEY, 10)].tolist()


def test_generator_draws_from_its_cursor():
    g = ctrng.Generator(KEY)
    g.random(3)  # cursor at word 6
    assert np.array_equal(g.permutation(100), ctrng.permutation(KEY, 100, start=6))
    assert g.position == 206
    rows = np.arange(30.0).reshape(10, 3)
    assert np.array_equal(g.permutation(rows), rows[ctrng.permutation(KEY, 10, start=206)])
    assert g.position == 226


def test_shuffle_in_place(tmp_path):
    perm = ctrng.permutation(KEY, 6)
    x = np.arange(24).reshape(4, 6)
    ctrng.Generator(KEY).shuffle(x, axis=1)
    assert np.array_equal(x, np.arange(24).reshape(4, 6)[:, perm])
    lst = list("abcdef")
    ctrng.Generator(KEY).shuffle(lst)
    assert lst == [list("abcdef")[i] for i in perm]
    mm = np.lib.format.open_memmap(tmp_path / "rows.npy", mode="w+", dtype=np.float32, shape=(6, 4))
    mm[...] = np.arange(24, dtype=np.float32).reshape(6, 4)
    ctrng.Generator(KEY).shuffle(mm)
    mm.flush()
    assert np.array_equal(np.load(tmp_path / "rows.npy"), np.arange(24, dtype=np.float32).reshape(6, 4)[perm])


def test_bad_input():
    g = ctrng.Generator(KEY)
    with pytest.raises(TypeError):
        g.shuffle((1, 2, 3))
    ro = np.arange(4)
    ro.flags.writeable = False
    with pytest.raises(ValueError, match="read-only"):
        g.shuffle(ro)
    with pytest.raises(ValueError, match="at least one dimension"):
        g.shuffle(np.array(3))
    with pytest.raises(ValueError, match="axis"):
        g.permutation(np.zeros((2, 2)), axis=2)
    for bad in (-1, 1 << 57):
        with pytest.raises(ValueError, match="n must be"):
            ctrng.permutation(KEY, bad)
    for bad in (2.0, True, None):
        with pytest.raises(TypeError):
            ctrng.permutation(KEY, bad)
    with pytest.raises(ValueError, match="2\\*\\*57"):
        ctrng.permutation(KEY, 10, start=(1 << 57) - 10)
    with pytest.raises(TypeError, match="Key"):
        ctrng.permutation(42, 10)
    assert g.position == 0  # nothing was claimed by the failed calls
