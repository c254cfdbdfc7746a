"""Fills larger than the caches take another store path (non-temporal
stores): the bytes must not change."""

import numpy as np
import pytest

import ctrng

KEY = ctrng.Key(31337, rank=7, stream=2)
N = (9 << 20) // 4 + 13  # 9 MiB of float32: past the 8 MiB streaming threshold


def _pieces(func, n, step=100_003, **kw):
    return np.concatenate([func(KEY, min(step, n - a), start=a, threads=1, **kw) for a in range(0, n, step)])


@pytest.mark.parametrize("func, kw", [
    (ctrng.random_raw, {}),
    (ctrng.random, {"dtype": np.float32}),
    (ctrng.random, {"dtype": np.float64}),
    (ctrng.standard_normal, {"dtype": np.float64}),
])
def test_streaming_fill_equals_small_fills(func, kw):
    whole = func(KEY, N, start=5, threads=1, **kw)
    assert np.array_equal(whole, _pieces(func, N + 5, **kw)[5:])


def test_streaming_fill_into_offset_out():
    buf = np.zeros(N + 3, np.uint32)
    ctrng.random_raw(KEY, out=buf[3:], threads=1)
    assert np.array_equal(buf[3:], _pieces(ctrng.random_raw, N))
    assert not buf[:3].any()
