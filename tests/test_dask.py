"""ctrng.dask on a real dask.distributed LocalCluster with two worker
processes: values independent of the chunking and equal to the in-memory
calls, and a 10**9-element array reduced without being materialised."""

import os

import numpy as np
import pytest

# CI installs dask (the test extra); elsewhere these tests may skip.
if not os.environ.get("CI"):
    pytest.importorskip("dask.array")
    pytest.importorskip("distributed")
import dask  # noqa: E402
from distributed import Client, LocalCluster  # noqa: E402

import ctrng  # noqa: E402
import ctrng.dask as cd  # noqa: E402

KEY = ctrng.Key(2024, rank=1, stream=6)


@pytest.fixture(scope="module")
def client():
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, memory_limit="1GiB",
                      dashboard_address=None) as cluster, Client(cluster) as c:
        yield c


CHUNKINGS = [(1000, 30), (333, 7), (17, 30), "auto"]


@pytest.mark.parametrize("chunks", CHUNKINGS)
def test_values_do_not_depend_on_the_chunking(client, chunks):
    shape = (1000, 30)
    cases = [
        (cd.random(KEY, shape, chunks), ctrng.random(KEY, 30000).reshape(shape)),
        (cd.random(KEY, shape, chunks, dtype=np.float32, start=11), ctrng.random(KEY, 30000, 11, np.float32)),
        (cd.standard_normal(KEY, shape, chunks), ctrng.standard_normal(KEY, 30000)),
        (cd.integers(KEY, -3, 1000, shape, chunks, dtype=np.int32), ctrng.integers(KEY, -3, 1000, 30000,
                                                                                   dtype=np.int32)),
    ]
    for lazy, expected in cases:
        got = client.compute(lazy).result()
        assert got.shape == shape and got.dtype == expected.dtype
        assert np.array_equal(got.reshape(-1), expected.reshape(-1))
    perm = client.compute(cd.index_permutation(KEY, 30000, chunks=chunks[1] * 97 if isinstance(chunks, tuple) else chunks))
    assert np.array_equal(perm.result(), ctrng.IndexPermutation(KEY, 30000)[:])


def test_a_billion_values_reduced_on_the_cluster(client):
    """10**9 float32 uniforms (4 GB) in 100 chunks, on workers limited to
    1 GiB each: mean and variance within 6 standard errors of 1/2 and 1/12."""
    n = 10**9
    x = cd.random(KEY, n, chunks=10**7, dtype=np.float32)
    mean, var = dask.compute(x.mean(dtype=np.float64), x.var(dtype=np.float64))
    assert abs(mean - 0.5) < 6 * np.sqrt(1 / 12 / n)
    assert abs(var - 1 / 12) < 6 * np.sqrt(1 / 180 / n)  # var of (u - 1/2)^2 is 1/180


def test_bad_input():
    with pytest.raises(TypeError, match="dtype"):
        cd.random(KEY, 10, dtype=np.int32)
    with pytest.raises(ValueError, match="low"):
        cd.integers(KEY, -1, 5, 10, dtype=np.uint32)
    with pytest.raises(ValueError, match="shape"):
        cd.random(KEY, (-1, 3))
    with pytest.raises(TypeError, match="Key"):
        cd.standard_normal(5, 10)


def test_permutation_is_a_deprecated_name_of_index_permutation():
    with pytest.warns(DeprecationWarning, match="ctrng.dask.index_permutation"):
        old = cd.permutation(KEY, 100, chunks=30)
    new = cd.index_permutation(KEY, 100, chunks=30)
    assert np.array_equal(old.compute(scheduler="sync"), new.compute(scheduler="sync"))
