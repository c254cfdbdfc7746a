"""ctrng.tf: TensorFlow ops equal to the C core (eager, tf.function, XLA, TF1
sessions), its tf.data index order and Keras initializers."""

import os
import subprocess
import sys

import numpy as np
import pytest

# CI installs TensorFlow (the "tf" extra); elsewhere these tests may skip.
tf = __import__("tensorflow") if os.environ.get("CI") else pytest.importorskip("tensorflow")
import ctrng  # noqa: E402
import ctrng.tf as ctf  # noqa: E402
from ctrng._core import kinds  # noqa: E402

ALGORITHMS = ["philox4x32", "philox4x64", "threefry4x32", "threefry4x64"]
STARTS = [0, 1, 2, 3, 5, 7, 13]


def _key(alg, rank=3, stream=7):
    root = {"philox4x32": 2**63 + 12345}.get(alg, 2**100 + 3)
    return ctrng.Key(root, rank=rank, stream=stream, algorithm=alg)


def ulps(a, b):
    """Largest distance in units in the last place between float arrays."""
    it = np.int64 if a.dtype == np.float64 else np.int32
    ai, bi = a.view(it).astype(np.int64), b.view(it).astype(np.int64)
    ai = np.where(ai < 0, np.iinfo(it).min - ai, ai)  # monotone order across the sign
    bi = np.where(bi < 0, np.iinfo(it).min - bi, bi)
    return int(np.abs(ai - bi).max())


def test_import_ctrng_does_not_import_tensorflow():
    code = "import sys, ctrng; ctrng.random(ctrng.Key(1), 3); print('tensorflow' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


# -- bits equal to the C core, eagerly ---------------------------------------------
@pytest.mark.parametrize("alg", ALGORITHMS)
def test_eager_equals_the_c_core(alg):
    k = _key(alg)
    n = 37
    for start in STARTS if alg == "philox4x32" else STARTS[:2] + STARTS[4:5]:
        for dt in (np.uint32, np.uint64):
            assert np.array_equal(ctf.random_raw(k, n, start, dt).numpy(), ctrng.random_raw(k, n, start, dt))
        for dt in (np.float32, np.float64):
            assert np.array_equal(ctf.random(k, n, start, dt).numpy(), ctrng.random(k, n, start, dt))
            assert np.array_equal(ctf.uniform(k, -2, 3.5, n, start, dt).numpy(),
                                  ctrng.uniform(k, -2, 3.5, n, start, dt))
            assert np.array_equal(ctf.standard_normal(k, n, start, dt).numpy(),
                                  ctrng.standard_normal(k, n, start, dt))
            assert np.array_equal(ctf.normal(k, 1.0, 2.5, n, start, dt).numpy(),
                                  ctrng.normal(k, 1.0, 2.5, n, start, dt))
        for low, high, dt in [(0, 6, np.int64), (-5, 2**20, np.int32), (0, 2**32, np.uint32),
                              (-2**63, 2**63, np.int64), (0, 2**64, np.uint64), (3, 2**40 + 7, np.int64),
                              (0, 3 * 2**14, np.uint64)]:
            assert np.array_equal(ctf.integers(k, low, high, n, start, dt).numpy(),
                                  ctrng.integers(k, low, high, n, start, dt)), (low, high, dt, start)
        for p in (0.0, 0.3, 1.0):
            assert np.array_equal(ctf.bernoulli(k, p, n, start).numpy(), ctrng.bernoulli(k, p, n, start))
        assert np.array_equal(ctf.bernoulli(k, 0.3, n, start, np.uint8).numpy(),
                              ctrng.bernoulli(k, 0.3, n, start, dtype=np.uint8))


def test_many_keys_and_shapes():
    rng = np.random.default_rng(0)
    for _ in range(20):
        k = ctrng.Key(int(rng.integers(2**63)), rank=int(rng.integers(2**32)), stream=int(rng.integers(2**32)))
        start = int(rng.integers(2**40))
        w = ctf.random_raw(k, (3, 5), start)
        assert w.shape == (3, 5)
        assert np.array_equal(w.numpy().ravel(), ctrng.random_raw(k, 15, start))
    assert ctf.random(ctrng.Key(1), tf.TensorShape([2, 0])).shape == (2, 0)
    assert ctf.integers(ctrng.Key(1), 0, 5, (0,)).dtype == tf.int64


def test_non_default_rounds_use_the_op_cipher():
    k = ctrng.Key(5, rank=1, rounds=7)
    assert np.array_equal(ctf.random_raw(k, 21, 3).numpy(), ctrng.random_raw(k, 21, 3))


@pytest.mark.parametrize("alg", ALGORITHMS)
def test_cipher_blocks_at_any_index(alg):
    k = _key(alg)
    blocks = [0, 1, 2**32 - 1, 2**32, 2**63 + 5, 2**64 - 1]
    got = ctf.cipher_blocks(k, tf.constant(blocks, tf.uint64)).numpy()
    for row, b in zip(got, blocks):
        want = np.array(k.block(b), np.uint64)
        if k.block_bytes == 32:
            want = want.view(np.uint32)
        assert np.array_equal(row, want.astype(np.uint32)), b


def test_end_of_stream():
    k = ctrng.Key(3)
    end = 4 << 64  # uint32 words of a 4x32 stream
    assert np.array_equal(ctf.random_raw(k, 5, end - 5).numpy(), ctrng.random_raw(k, 5, end - 5))
    assert np.array_equal(ctf.random(k, 3, (2 << 64) - 3).numpy(), ctrng.random(k, 3, (2 << 64) - 3))
    with pytest.raises(ValueError, match="past the end"):
        ctrng.random_raw(k, 5, end - 4)
    with pytest.raises(ValueError, match="past the end"):
        ctf.random_raw(k, 5, end - 4)
    with pytest.raises(ValueError, match="past the end"):
        ctf.integers(k, 0, 10, 5, 2**57 - 4)
    k64 = ctrng.Key(3, algorithm="threefry4x64")
    assert np.array_equal(ctf.random_raw(k64, 9, (8 << 64) - 9).numpy(), ctrng.random_raw(k64, 9, (8 << 64) - 9))
    with pytest.raises(tf.errors.InvalidArgumentError, match="past the end"):
        ctf.integers(k, 0, 10, 5, tf.constant(2**57 - 4, tf.int64))
    with pytest.raises(tf.errors.InvalidArgumentError, match="non-negative"):
        ctf.random(k, 5, tf.constant(-1, tf.int64))
    assert np.array_equal(ctf.integers(k, 0, 10, 5, tf.constant(2**57 - 5)).numpy(),
                          ctrng.integers(k, 0, 10, 5, 2**57 - 5))


# -- bounded integers: rejections and retries ---------------------------------------
def _retry_reference(key, kind, rng, i):
    """csrc/layout.c's ctrng_integer_retry in Python, on Key.block."""
    m = rng + 1
    bits = {kinds.INTEGERS_32: 32, kinds.INTEGERS_64: 64, kinds.INTEGERS_128: 128}[kind]
    t = (-m) % (1 << bits) % m if not (bits == 128 and rng == 2**64 - 1) else 0
    off = 0
    for r in range(64):
        b = key.block((1 << 63) | (i << 6) | r)
        if key.block_bytes == 16:
            x = b[0] | b[1] << 32 | b[2] << 64 | b[3] << 96
        else:
            x = b[0] | b[1] << 64
        x &= (1 << bits) - 1
        p = x * m
        off = p >> bits
        if p & ((1 << bits) - 1) >= t:
            break
    return off


@pytest.mark.parametrize("alg", ALGORITHMS)
@pytest.mark.parametrize("kind, rng", [(kinds.INTEGERS_32, 3 * 2**14 - 1), (kinds.INTEGERS_32, 40000),
                                       (kinds.INTEGERS_64, 2**31), (kinds.INTEGERS_64, 3 * 2**30 - 1),
                                       (kinds.INTEGERS_128, 2**63), (kinds.INTEGERS_128, 3 * 2**62 - 1)])
def test_retries_equal_the_c_core(alg, kind, rng):
    """The retry path on its own (64- and 128-bit draws are rejected with
    probability below 2**-32: too rarely to meet in a test)."""
    k = _key(alg)
    index = [0, 1, 5, 2**20 + 3, 2**57 - 1]
    lemire = ctf._Lemire(kind, rng)
    got = ctf._retry(k, lemire, tf.constant(index, tf.uint64)).numpy()
    assert got.tolist() == [_retry_reference(k, kind, rng, i) for i in index]


@pytest.mark.parametrize("alg", ["philox4x32", "threefry4x64"])
def test_frequent_rejections(alg):
    """Spans whose 32-bit draws are rejected most often (2**-18 and 2**-17 a
    draw): a million values meet several rejections, all redrawn as the C
    core does."""
    k = _key(alg)
    n = 1 << 20
    for span in (3 * 2**14, 43691):
        want = ctrng.integers(k, 0, span, n, 11)
        m = span
        t = (2**32) % m
        assert t / 2**32 > 2**-19
        got = ctf.integers(k, 0, span, n, 11).numpy()
        assert np.array_equal(got, want)
    words = ctrng.random_raw(k, n, 11).astype(np.uint64)
    rejected = int(((words * np.uint64(3 * 2**14)) & np.uint64(0xFFFFFFFF) < np.uint64(2**32 % (3 * 2**14))).sum())
    assert rejected >= 1


# -- tf.function, XLA and TF1 sessions --------------------------------------------
def _trunc_reference(k, args, n, start, dt):
    w = np.empty(n, dt)
    ctrng.init.trunc_normal_(w, k, *args, full_shape=(start + n,), index=(slice(start, start + n),))
    return w


CASES = {
    "raw32": (lambda k, n, s: ctf.random_raw(k, n, s), lambda k, n, s: ctrng.random_raw(k, n, s)),
    "raw64": (lambda k, n, s: ctf.random_raw(k, n, s, "uint64"), lambda k, n, s: ctrng.random_raw(k, n, s, np.uint64)),
    "random32": (lambda k, n, s: ctf.random(k, n, s, "float32"), lambda k, n, s: ctrng.random(k, n, s, np.float32)),
    "uniform64": (lambda k, n, s: ctf.uniform(k, -1, 3, n, s), lambda k, n, s: ctrng.uniform(k, -1, 3, n, s)),
    "integers": (lambda k, n, s: ctf.integers(k, 0, 3 * 2**14, n, s), lambda k, n, s: ctrng.integers(k, 0, 3 * 2**14, n, s)),
    "bernoulli": (lambda k, n, s: ctf.bernoulli(k, 0.4, n, s), lambda k, n, s: ctrng.bernoulli(k, 0.4, n, s)),
    "normal32": (lambda k, n, s: ctf.standard_normal(k, n, s, "float32"),
                 lambda k, n, s: ctrng.standard_normal(k, n, s, np.float32)),
    "normal64": (lambda k, n, s: ctf.standard_normal(k, n, s), lambda k, n, s: ctrng.standard_normal(k, n, s)),
    "trunc32": (lambda k, n, s: ctf.truncated_normal(k, 0, 0.02, -0.04, 0.04, n, s, "float32"),
                lambda k, n, s: _trunc_reference(k, (0, 0.02, -0.04, 0.04), n, s, np.float32)),
    "trunc64": (lambda k, n, s: ctf.truncated_normal(k, 1, 2, 3, 50, n, s),
                lambda k, n, s: _trunc_reference(k, (1, 2, 3, 50), n, s, np.float64)),
}
FLOATS = {"normal32", "normal64", "trunc32", "trunc64"}
# Under XLA (jit_compile=True) the CPU compiler rewrites floating-point
# expressions: these are the bounds measured on normals and truncated normals
# (docs/tensorflow.md); everything else is bit-identical there too.
XLA_ULPS = {"normal32": 3, "normal64": 3, "trunc32": 0, "trunc64": 8}


@pytest.mark.parametrize("jit", [False, True], ids=["graph", "xla"])
def test_tf_function_with_a_tensor_start(jit):
    """One trace per case serves every start (a training step's number)."""
    k = ctrng.Key(5, rank=2)
    n = 1 << 16
    for name, (op, ref) in CASES.items():
        if jit and name not in ("integers", "normal64", "trunc64"):
            continue  # compiling is slow; these cover every path
        f = tf.function(lambda s, op=op: op(k, n, s), jit_compile=jit)
        for start in (0, 3, 1000001):
            for sdt in (tf.int64,) if jit else (tf.int64, tf.int32):
                got, want = f(tf.constant(start, sdt)).numpy(), ref(k, n, start)
                if jit and name in FLOATS:
                    assert ulps(got, want) <= XLA_ULPS[name], (name, start)
                else:
                    assert np.array_equal(got, want), (name, start, jit)
        assert f.experimental_get_tracing_count() == (1 if jit else 2)  # one trace per start dtype


def test_tf1_session():
    k = ctrng.Key(11, rank=1, algorithm="threefry4x32")
    graph = tf.Graph()
    with graph.as_default():
        step = tf.compat.v1.placeholder(tf.int64, [])
        ops = [op(k, 1000, step) for op, _ in CASES.values()]
        with tf.compat.v1.Session(graph=graph) as sess:
            for start in (0, 7):
                for got, (_, ref) in zip(sess.run(ops, {step: start}), CASES.values()):
                    assert np.array_equal(got, ref(k, 1000, start))
            with pytest.raises(tf.errors.InvalidArgumentError, match="non-negative"):
                sess.run(ops[0], {step: -3})


# -- parameter rules: the stateless functions' exceptions -----------------------
@pytest.mark.parametrize("call", [
    lambda m: m.uniform(ctrng.Key(1), 2.0, 1.0, 3),
    lambda m: m.uniform(ctrng.Key(1), 0.0, float("inf"), 3),
    lambda m: m.uniform(ctrng.Key(1), True, 2.0, 3),
    lambda m: m.uniform(ctrng.Key(1), 0.0, 1e39, 3, dtype=np.float32),
    lambda m: m.uniform(ctrng.Key(1), -3e38, 3e38, 3, dtype=np.float32),
    lambda m: m.uniform(ctrng.Key(1), np.float32(0.5), np.array(2.0), 3),
    lambda m: m.normal(ctrng.Key(1), 0.0, -1.0, 3),
    lambda m: m.normal(ctrng.Key(1), "0", 1.0, 3),
    lambda m: m.normal(ctrng.Key(1), 3e38, 1e38, 3, dtype=np.float32),
    lambda m: m.normal(ctrng.Key(1), 1e300, 1e300, 3),
    lambda m: m.integers(ctrng.Key(1), 5, 5, 3),
    lambda m: m.integers(ctrng.Key(1), 0, 2**40, 3, dtype=np.int32),
    lambda m: m.integers(ctrng.Key(1), -1, 3, 3, dtype=np.uint32),
    lambda m: m.integers(ctrng.Key(1), 0.5, 3, 3),
    lambda m: m.integers(ctrng.Key(1), 0, 3, 3, dtype=np.float64),
    lambda m: m.bernoulli(ctrng.Key(1), 1.5, 3),
    lambda m: m.bernoulli(ctrng.Key(1), "x", 3),
    lambda m: m.bernoulli(ctrng.Key(1), float("nan"), 3),
    lambda m: m.random(ctrng.Key(1), 3, dtype=np.int32),
    lambda m: m.random(ctrng.Key(1), 3, start=-1),
    lambda m: m.random(ctrng.Key(1), 3, start=1.5),
    lambda m: m.random(ctrng.Key(1), -3),
    lambda m: m.random(ctrng.Key(1), 2.0),
    lambda m: m.random("key", 3),
])
def test_bad_parameters_raise_as_the_stateless_functions(call):
    """One rule for every face: where ctrng's stateless function raises,
    ctrng.tf raises the same exception type; where it accepts, so does
    ctrng.tf."""
    try:
        call(ctrng)
    except Exception as e:  # noqa: BLE001 - the type is what is compared
        with pytest.raises(type(e)):
            call(ctf)
    else:
        call(ctf)


@pytest.mark.parametrize("args, dt", [((0.0, 0.0, -1, 1), np.float64), ((0.0, 1.0, 1, -1), np.float64),
                                      ((0.0, 1.0, -float("inf"), 1.0), np.float64),
                                      ((0.0, 1.0, 1.0, float("inf")), np.float32),
                                      ((0.0, 1e38, -float("inf"), 0.0), np.float32),
                                      ((0.0, 1.0, -60.0, -50.0), np.float64), ((0.0, "1", -1, 1), np.float64)])
def test_truncated_normal_parameters(args, dt):
    """ctrng.init.trunc_normal_'s rule, and its values where it accepts."""
    k = ctrng.Key(1)
    w = np.empty(50, dt)
    try:
        ctrng.init.trunc_normal_(w, k, *args)
    except Exception as e:  # noqa: BLE001 - the type is what is compared
        with pytest.raises(type(e)):
            ctf.truncated_normal(k, *args, shape=50, dtype=dt)
    else:
        assert np.array_equal(ctf.truncated_normal(k, *args, shape=50, dtype=dt).numpy(), w)


# -- tf.data ---------------------------------------------------------------------
def _indices(ds):
    return [int(i) for b in ds.batch(1 << 20) for i in b.numpy()]


@pytest.mark.parametrize("n, world, drop_last, shuffle", [(103, 3, False, True),
                                                          (103, 3, True, True), (5000, 4, False, True),
                                                          (10**12 + 5, 2, True, True), (17, 4, False, False)])
def test_index_dataset_equals_the_sampler(n, world, drop_last, shuffle):
    for rank, epoch in [(0, 0), (world - 1, 3)] if not drop_last and n == 103 else [(world - 1, 1)]:
        s = ctrng.DistributedSampler(n, num_replicas=world, rank=rank, seed=11, drop_last=drop_last,
                                     shuffle=shuffle)
        s.set_epoch(epoch)
        if n > 10**6:  # 10**12 positions, never stored: the first 1000 indices
            ds = ctf.index_dataset(s, batch=1000)
            got = np.fromiter((int(i) for i in ds.take(1000)), np.int64)
            want = s.order()[np.arange(rank, rank + 1000 * world, world)]
            assert np.array_equal(got, want)
            continue
        got = _indices(ctf.index_dataset(s, batch=64))
        assert got == list(s)


def test_index_dataset_resumes_with_another_world_size():
    s = ctrng.DistributedSampler(1000, num_replicas=2, rank=0, seed=3)
    s.set_epoch(2)
    state = s.state_dict(consumed=137)
    for world, rank in [(1, 0), (3, 2)]:
        r = ctrng.DistributedSampler(1000, num_replicas=world, rank=rank, seed=3)
        r.load_state_dict(state)
        assert _indices(ctf.index_dataset(r, batch=100)) == list(r)


# -- Keras -------------------------------------------------------------------------
def test_keras_initializers_equal_ctrng_init():
    keras = pytest.importorskip("keras")
    root = 2024
    inits = {"dense/kernel": ("kaiming_uniform", {"a": 5 ** 0.5, "mode": "fan_out"}),
             "dense/bias": ("uniform", {"a": -0.1, "b": 0.1}),
             "conv/kernel": ("trunc_normal", {"std": 0.02, "a": -0.04, "b": 0.04}),
             "out/kernel": ("xavier_normal", {})}

    def init(name):
        method, kwargs = inits[name]
        return ctf.Initializer(root, name, method, **kwargs)

    model = keras.Sequential([
        keras.Input((8, 8, 2)),
        keras.layers.Conv2D(4, 3, kernel_initializer=init("conv/kernel"), bias_initializer="zeros"),
        keras.layers.Flatten(),
        keras.layers.Dense(16, kernel_initializer=init("dense/kernel"), bias_initializer=init("dense/bias")),
        keras.layers.Dense(1, kernel_initializer=init("out/kernel")),
    ])
    weights = {"conv/kernel": model.layers[0].kernel, "dense/kernel": model.layers[2].kernel,
               "dense/bias": model.layers[2].bias, "out/kernel": model.layers[3].kernel}
    for name, var in weights.items():
        method, kwargs = inits[name]
        want = np.empty(tuple(var.shape), np.float32)
        getattr(ctrng.init, method + "_")(want, ctrng.init.parameter_key(root, name), **kwargs)
        assert np.array_equal(var.numpy(), want), name
    shard = ctf.Initializer(root, "dense/kernel", "kaiming_uniform", full_shape=(144, 16),
                            index=(slice(40, 80),), a=5 ** 0.5)((40, 16), "float32")
    want = np.empty((144, 16), np.float32)
    ctrng.init.kaiming_uniform_(want, ctrng.init.parameter_key(root, "dense/kernel"), a=5 ** 0.5)
    assert np.array_equal(shard.numpy(), want[40:80])
    config = init("conv/kernel").get_config()
    again = ctf.Initializer(**config)((3, 3, 2, 4), "float64")
    want = np.empty((3, 3, 2, 4))
    ctrng.init.trunc_normal_(want, ctrng.init.parameter_key(root, "conv/kernel"), std=0.02, a=-0.04, b=0.04)
    assert np.array_equal(again.numpy(), want)


def test_large_eager_calls_run_a_cached_graph():
    """From 2**18 elements an eager call runs a tf.function of its start,
    cached per arguments: the same values, one trace for every start."""
    k = ctrng.Key(21, rank=5)
    n = 1 << 18
    ctf._GRAPHS.clear()
    for start in (0, 5, 2**57 - n):
        assert np.array_equal(ctf.standard_normal(k, n, start, "float32").numpy(),
                              ctrng.standard_normal(k, n, start, np.float32))
        assert np.array_equal(ctf.integers(k, 0, 3 * 2**14, n, start).numpy(),
                              ctrng.integers(k, 0, 3 * 2**14, n, start))
        for dt in (np.float32, np.float64):  # the unit floats of a fused XLA loop
            assert np.array_equal(ctf.random(k, n, start, dt).numpy(), ctrng.random(k, n, start, dt))
        assert np.array_equal(ctf.uniform(k, -1.0, 2.0, n, start, "float32").numpy(),
                              ctrng.uniform(k, -1.0, 2.0, n, start, np.float32))
    assert len(ctf._GRAPHS) == 5
    assert all(g.experimental_get_tracing_count() == 1 for g in ctf._GRAPHS.values())
    with pytest.raises(ValueError, match="past the end"):
        ctf.integers(k, 0, 10, n, 2**57 - n + 1)
    with pytest.raises(TypeError):
        ctf.uniform(k, True, 2.0, n)
    with pytest.raises(ValueError):
        ctf.uniform(k, 2.0, 1.0, n)
