"""ctrng.init: torch.nn.init conventions, exact per-parameter streams,
shards equal to the slice of the full tensor, distributions checked with
stated false-alarm rates."""

import math
import textwrap

import numpy as np
import pytest
from kernels import run_kernel_script
from scipy import special, stats

import ctrng
from ctrng import init

ALPHA = 1e-6  # false-alarm rate of each statistical test
KEY = init.parameter_key(2024, "encoder.layers.3.weight")


def test_parameter_keys_are_stable_and_exact_for_indices():
    assert init.parameter_key(7, 12) == ctrng.Key(7, rank=init.INIT_RANK, stream=12)
    # pinned: the name -> stream map is part of the format
    assert init.parameter_key(7, "fc1.weight").stream == init.parameter_key(9, "fc1.weight").stream
    assert init.parameter_key(7, "fc1.weight").stream == 161025468
    keys = init.parameter_keys(7, ["a.weight", "a.bias", "b.weight"])
    assert len({k.stream for k in keys.values()}) == 3
    with pytest.raises(TypeError):
        init.parameter_key(7, 1.5)


def test_parameter_keys_refuse_colliding_names(monkeypatch):
    monkeypatch.setattr(init, "_name_stream", lambda name: 5)
    with pytest.raises(ValueError, match="share stream"):
        init.parameter_keys(7, ["x", "y"])


def test_gains_and_fans_follow_torch():
    assert init.calculate_gain("relu") == math.sqrt(2)
    assert init.calculate_gain("tanh") == 5 / 3
    assert init.calculate_gain("leaky_relu", 0.2) == math.sqrt(2 / 1.04)
    assert init.calculate_gain("conv2d") == 1.0
    with pytest.raises(ValueError):
        init.calculate_gain("swish")
    w = np.empty((64, 32, 3, 3), np.float32)  # fan_in 288, fan_out 576
    init.kaiming_uniform_(w, KEY, a=math.sqrt(5))
    bound = math.sqrt(3) * math.sqrt(2 / 6) / math.sqrt(288)
    assert np.array_equal(w.ravel(), ctrng.uniform(KEY, -bound, bound, w.size, dtype=np.float32))
    init.xavier_uniform_(w, KEY, gain=2.0)
    bound = 2.0 * math.sqrt(6 / (288 + 576))
    assert np.array_equal(w.ravel(), ctrng.uniform(KEY, -bound, bound, w.size, dtype=np.float32))
    init.kaiming_normal_(w, KEY, mode="fan_out", nonlinearity="relu")
    assert np.array_equal(w.ravel(), ctrng.normal(KEY, 0.0, math.sqrt(2) / math.sqrt(576), w.size,
                                                  dtype=np.float32))
    with pytest.raises(ValueError, match="2 dimensions"):
        init.xavier_normal_(np.empty(5), KEY)


@pytest.mark.parametrize("fn, cdf", [
    (lambda w: init.uniform_(w, KEY, -0.5, 1.5), stats.uniform(-0.5, 2.0).cdf),
    (lambda w: init.normal_(w, KEY, 0.3, 2.0), stats.norm(0.3, 2.0).cdf),
    (lambda w: init.xavier_normal_(w, KEY), stats.norm(0, math.sqrt(2 / (300 + 400))).cdf),
    (lambda w: init.kaiming_normal_(w, KEY), stats.norm(0, math.sqrt(2 / 1.0001) / math.sqrt(300)).cdf),
    (lambda w: init.trunc_normal_(w, KEY, 0.0, 1.0, -2.0, 2.0), stats.truncnorm(-2, 2).cdf),
    (lambda w: init.trunc_normal_(w, KEY, 1.0, 0.5, 2.5, 4.0), stats.truncnorm(3, 6, loc=1.0, scale=0.5).cdf),
    (lambda w: init.trunc_normal_(w, KEY, 0.0, 1.0, -9.0, -6.0), stats.truncnorm(-9, -6).cdf),
])
def test_initializers_have_their_distribution(fn, cdf):
    """Kolmogorov-Smirnov against the target over 120000 float64 values,
    false-alarm rate 1e-6 (the deep-tail truncated normals included: the
    inversion keeps its precision there)."""
    w = np.empty((400, 300))
    fn(w)
    assert stats.kstest(w.ravel(), cdf).pvalue > ALPHA


def test_trunc_normal_stays_in_its_bounds_and_has_its_moments():
    w = np.empty(200_000, np.float32)
    w = w.reshape(400, 500)
    init.trunc_normal_(w, KEY, mean=0.0, std=0.02, a=-0.04, b=0.04)
    assert w.min() >= -0.04 and w.max() <= 0.04
    d = stats.truncnorm(-2, 2, scale=0.02)
    z = (w.mean() - d.mean()) / (d.std() / math.sqrt(w.size))
    assert abs(z) < stats.norm.isf(ALPHA / 2)


NDTRI_P = np.concatenate([np.logspace(-323, -1, 3000), np.linspace(0.0, 1.0, 3001),
                          1 - np.logspace(-16, -1, 1000), [5e-324, 0.075, 0.925, 0.5 + 1e-17]])


def test_ndtri_matches_scipy():
    want = special.ndtri(NDTRI_P)
    got = init.ndtri(NDTRI_P)
    assert got[NDTRI_P == 0].tolist() == [-math.inf] and got[NDTRI_P == 1].tolist() == [math.inf]
    finite = np.isfinite(want)
    assert np.array_equal(np.isfinite(got), finite)
    err = np.abs(got[finite] - want[finite]) / np.maximum(1, np.abs(want[finite]))
    assert err.max() < 4e-15


@pytest.mark.parametrize("isa", ctrng.available_isas())
def test_ndtri_is_the_scalar_device_function_on_every_code_path(isa):
    """The C core's vector ndtri (central lanes, then the gathered tail
    lanes) against ctrng.numba's scalar one, bit for bit; odd lengths for
    the padded last vector."""
    import numba

    from ctrng._core.bridge import ffi, lib
    from ctrng.numba._device import ndtri as scalar

    want = numba.njit(lambda p: np.array([scalar(x) for x in p]))(NDTRI_P)
    for n in (NDTRI_P.size, 1, 3, 517):
        got = np.empty(n)
        assert lib.ctrng_ndtri(ffi.from_buffer("double[]", NDTRI_P), n, ffi.from_buffer("double[]", got),
                               ctrng._core.bridge.ISAS[isa]) == 0
        assert got.tobytes() == want[:n].tobytes(), n


TRUNC_CASES = [(0.0, 0.02, -0.04, 0.04), (1.0, 0.5, 2.5, 4.0), (0.0, 1.0, -9.0, -6.0),
               (0.0, 1.0, -math.inf, math.inf), (0.0, 1.0, 37.0, 38.0), (-3.0, 2.0, -81.0, -78.0)]


@pytest.mark.parametrize("mean, std, a, b", TRUNC_CASES)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_trunc_normal_is_the_scalar_device_function(mean, std, a, b, dtype):
    """The C fill against ctrng.numba's truncated_normal applied to
    ctrng.random's float64 draws, bit for bit (the mirrored upper tail, the
    infinite bounds and the subnormal probabilities past 37.5 sd included)."""
    import numba

    from ctrng.numba._device import truncated_normal

    @numba.njit
    def reference(u, plo, width, flip, alpha, beta, out):
        for j in range(u.size):
            out[j] = truncated_normal(u[j], plo, width, flip, alpha, beta, mean, std)

    prm = init.truncnorm_params(mean, std, a, b)
    w = np.empty((301, 333), dtype)
    init.trunc_normal_(w, KEY, mean, std, a, b)
    want = np.empty(w.size, dtype)
    reference(ctrng.random(KEY, w.size), prm.plo, prm.width, bool(prm.flip), prm.alpha, prm.beta, want)
    assert w.ravel().tobytes() == want.tobytes()
    assert w.min() >= a and w.max() <= b


# Computed from the implementation on 2026-11-27 (float.hex()): a change is a
# new stream version, not a bug fix.
TRUNC_GOLDEN = {
    (0.0, 0.02, -0.04, 0.04): ["-0x1.784ac99b45b1ap-6", "-0x1.989e223ea71c9p-7", "-0x1.8a8e55a77b198p-9",
                               "0x1.085749f061001p-7", "0x1.2d289d5cfb68ap-6", "-0x1.67ef025e3d7e1p-8"],
    (1.0, 0.5, 2.5, 4.0): ["0x1.67eb472a890dep+1", "0x1.59337ac34dd15p+1", "0x1.4f9588a63839ap+1",
                           "0x1.47d7a413cf8b4p+1", "0x1.4375878832514p+1", "0x1.51d1b6a872e38p+1"],
    (0.0, 1.0, -9.0, -6.0): ["-0x1.968ad2a02a6cbp+2", "-0x1.8df2208544973p+2", "-0x1.888164e11e135p+2",
                             "-0x1.843b3113d2eb4p+2", "-0x1.81da9a24744a6p+2", "-0x1.89c1ce50b0d0bp+2"],
}


@pytest.mark.parametrize("args", list(TRUNC_GOLDEN))
def test_trunc_normal_golden_values(args):
    w = np.empty(6)
    init.trunc_normal_(w, KEY, *args)
    assert [float(v).hex() for v in w] == TRUNC_GOLDEN[args]


def test_trunc_normal_refuses_an_interval_whose_probability_underflows():
    w = np.empty(10)
    with pytest.raises(ValueError, match="too far in the tail"):
        init.trunc_normal_(w, KEY, 0.0, 1.0, 40.0, 41.0)
    with pytest.raises(ValueError, match="too far in the tail"):
        init.trunc_normal_(w, KEY, 0.0, 1.0, -math.inf, -39.0)


@pytest.mark.parametrize("shape", [(50, 30), (30, 50), (8, 4, 3, 3)])
def test_orthogonal(shape):
    w = np.empty(shape)
    init.orthogonal_(w, KEY, gain=1.5)
    m = w.reshape(shape[0], -1) / 1.5
    gram = m @ m.T if m.shape[0] <= m.shape[1] else m.T @ m
    assert np.allclose(gram, np.eye(gram.shape[0]), atol=1e-12)


SHARDS = [
    (slice(16, 48),),                        # rows (tensor parallel, row split)
    (slice(None), slice(8, 20)),             # columns
    (slice(5, 9), slice(3, 30)),             # a box
]


@pytest.mark.parametrize("index", SHARDS)
@pytest.mark.parametrize("name, fn", [
    ("uniform", lambda w, **kw: init.uniform_(w, KEY, -1.0, 1.0, **kw)),
    ("kaiming_normal", lambda w, **kw: init.kaiming_normal_(w, KEY, **kw)),
    ("xavier_uniform", lambda w, **kw: init.xavier_uniform_(w, KEY, **kw)),
    ("trunc_normal", lambda w, **kw: init.trunc_normal_(w, KEY, 0.1, 0.3, **kw)),
    ("orthogonal", lambda w, **kw: init.orthogonal_(w, KEY, **kw)),
])
def test_a_shard_is_the_slice_of_the_full_tensor(name, fn, index):
    full = np.empty((64, 32), np.float32)
    fn(full)
    shard = np.empty(full[index].shape, np.float32)
    fn(shard, full_shape=full.shape, index=index)
    assert np.array_equal(shard, full[index]), name


def test_shards_of_a_4d_tensor_and_non_contiguous_targets():
    full = np.empty((6, 5, 4, 3))
    init.normal_(full, KEY)
    index = (slice(1, 4), slice(None), slice(2, 4))
    shard = np.empty((3, 5, 2, 3))
    init.normal_(shard, KEY, full_shape=full.shape, index=index)
    assert np.array_equal(shard, full[index])
    target = np.zeros((6, 10))[:, ::2]  # a strided view
    init.uniform_(target, KEY)
    assert np.array_equal(target.ravel(), ctrng.random(KEY, 30))


def test_bad_arguments():
    w = np.empty((4, 4), np.float32)
    with pytest.raises(TypeError, match="key"):
        init.uniform_(w, 3)
    with pytest.raises(TypeError, match="float32 or float64"):
        init.uniform_(np.empty((4, 4), np.int32), KEY)
    with pytest.raises(TypeError, match="numpy array"):
        init.uniform_([1.0, 2.0], KEY)
    with pytest.raises(ValueError, match="selects"):
        init.uniform_(w, KEY, full_shape=(8, 4), index=(slice(0, 5),))
    with pytest.raises(ValueError, match="step 1"):
        init.uniform_(w, KEY, full_shape=(8, 4), index=(slice(0, 8, 2),))
    with pytest.raises(ValueError, match="dimensions"):
        init.uniform_(w, KEY, full_shape=(16,))
    with pytest.raises(ValueError, match="std"):
        init.trunc_normal_(w, KEY, std=0.0)
    with pytest.raises(ValueError, match="a < b"):
        init.trunc_normal_(w, KEY, a=1.0, b=1.0)
    ro = np.empty((4, 4))
    ro.flags.writeable = False
    with pytest.raises(ValueError, match="read-only"):
        init.normal_(ro, KEY)


def test_gpu_arrays_get_the_cpu_values_under_the_simulator():
    script = textwrap.dedent("""
        import json
        import numpy as np
        from numba import cuda
        import ctrng
        from ctrng import init
        key = init.parameter_key(1, 3)
        results = []
        for fn in (lambda w, **kw: init.kaiming_uniform_(w, key, **kw),
                   lambda w, **kw: init.xavier_normal_(w, key, **kw),
                   lambda w, **kw: init.trunc_normal_(w, key, **kw),
                   lambda w, **kw: init.orthogonal_(w, key, **kw)):
            host = np.empty((12, 8), np.float32)
            fn(host)
            dev = cuda.device_array((12, 8), np.float32)
            fn(dev)
            rows = cuda.device_array((5, 8), np.float32)     # a shard: rows 4..8
            fn(rows, full_shape=(12, 8), index=(slice(4, 9),))
            cols = cuda.device_array((12, 3), np.float32)    # a shard: columns 2..4
            fn(cols, full_shape=(12, 8), index=(slice(None), slice(2, 5)))
            results.append(bool(np.array_equal(dev.copy_to_host(), host)
                                and np.array_equal(rows.copy_to_host(), host[4:9])
                                and np.array_equal(cols.copy_to_host(), host[:, 2:5])))
        print(json.dumps(results))
    """)
    assert run_kernel_script(script, timeout=300) == [True, True, True, True]


def test_initializers_from_several_threads_at_once():
    """Initializers may run concurrently (one thread per layer, say): same
    values as one at a time, no crash."""
    import threading
    keys = [init.parameter_key(3, i) for i in range(6)]
    expected = []
    for k in keys:
        w = np.empty((300, 300), np.float32)
        init.trunc_normal_(w, k, std=0.02)
        expected.append(w)
    got = [np.empty((300, 300), np.float32) for _ in keys]
    threads = [threading.Thread(target=init.trunc_normal_, args=(w, k), kwargs={"std": 0.02})
               for w, k in zip(got, keys)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert all(np.array_equal(g, e) for g, e in zip(got, expected))


def test_zero_d_and_empty_arrays():
    """Found by the property tests: a 0-d array is one element (element 0 of
    the stream), and empty arrays are a no-op for the fan-based initializers."""
    key = ctrng.Key(3)
    scalar = np.zeros((), np.float32)
    assert ctrng.init.uniform_(scalar, key) is scalar
    assert scalar == ctrng.random(key, 1, dtype=np.float32)[0]
    for fn in (ctrng.init.xavier_uniform_, ctrng.init.xavier_normal_, ctrng.init.kaiming_uniform_,
               ctrng.init.kaiming_normal_, ctrng.init.orthogonal_):
        empty = np.zeros((0, 4), np.float64)
        assert fn(empty, key) is empty
