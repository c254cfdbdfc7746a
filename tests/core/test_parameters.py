"""One rule for distribution parameters, on every face: one table of bad
inputs that each face must refuse with the same exception naming the
argument, and one table of edge inputs that each face must accept with the
same values (the rule: ctrng._core.checks).  The CUDA face (under Numba's
simulator, see kernels.py), the TensorFlow face and the JAX face each run
in a subprocess that imports this module's tables."""

import importlib.util
import math
import os
import reprlib
import textwrap

import numpy as np
import pytest
from kernels import run_kernel_script

import ctrng
from ctrng._core.checks import check_int

TESTS = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))  # the helper modules' folder

KEY = ctrng.Key(2024, rank=5, stream=3)
N = 7  # odd: normals use both halves of a Box-Muller pair, and one more
F32, F64 = np.float32, np.float64
MAX32, MAX64 = float(np.finfo(F32).max), float(np.finfo(F64).max)
INF, NAN = math.inf, math.nan

# (distribution, dtype, parameters, exception, which parameters the message names)
BAD = [
    # uniform(low, high)
    ("uniform", F64, (0.0, INF), ValueError, (1,)),
    ("uniform", F64, (-INF, 0.0), ValueError, (0,)),
    ("uniform", F64, (0.0, NAN), ValueError, (1,)),
    ("uniform", F64, (NAN, 1.0), ValueError, (0,)),
    ("uniform", F32, (0.0, INF), ValueError, (1,)),
    ("uniform", F64, (5.0, 1.0), ValueError, (0, 1)),
    ("uniform", F64, (-1e308, 1e308), ValueError, (0, 1)),
    ("uniform", F32, (-1e39, 0.0), ValueError, (0,)),
    ("uniform", F32, (0.0, 1e39), ValueError, (1,)),
    ("uniform", F32, (-2e38, 2e38), ValueError, (0, 1)),
    ("uniform", F64, (0, 10**400), ValueError, (1,)),
    ("uniform", F64, (np.float32(0), np.float64(INF)), ValueError, (1,)),
    ("uniform", F64, (True, 2.0), TypeError, (0,)),
    ("uniform", F64, (np.bool_(False), 2.0), TypeError, (0,)),
    ("uniform", F64, (0.0, "1"), TypeError, (1,)),
    ("uniform", F64, (0.0, None), TypeError, (1,)),
    ("uniform", F64, (0.0, 1 + 0j), TypeError, (1,)),
    # normal(loc, scale)
    ("normal", F64, (0.0, INF), ValueError, (1,)),
    ("normal", F64, (INF, 1.0), ValueError, (0,)),
    ("normal", F64, (NAN, 1.0), ValueError, (0,)),
    ("normal", F64, (0.0, NAN), ValueError, (1,)),
    ("normal", F64, (0.0, -1.0), ValueError, (1,)),
    ("normal", F32, (1e39, 1.0), ValueError, (0,)),
    ("normal", F32, (0.0, 1e39), ValueError, (1,)),
    ("normal", F32, (0.0, 1e38), ValueError, (0, 1)),   # 6.8 sigma passes float32's largest
    ("normal", F32, (MAX32, 1e37), ValueError, (0, 1)),
    ("normal", F64, (1e308, 1e308), ValueError, (0, 1)),
    ("normal", F64, (0, -(10**400)), ValueError, (1,)),
    ("normal", F64, (False, 1.0), TypeError, (0,)),
    ("normal", F64, ("0", 1.0), TypeError, (0,)),
    ("normal", F64, (0.0, b"1"), TypeError, (1,)),
    # integers(low, high)
    ("integers", np.int64, (5, 5), ValueError, (0, 1)),
    ("integers", np.int32, (0, 2**31 + 1), ValueError, (1,)),
    ("integers", np.uint32, (-1, 10), ValueError, (0,)),
    ("integers", np.uint64, (0, 2**64 + 1), ValueError, (1,)),
    ("integers", np.int64, (0.0, 10), TypeError, (0,)),
    ("integers", np.int64, (0, 10.0), TypeError, (1,)),
    ("integers", np.int64, (0, np.float64(10)), TypeError, (1,)),
    ("integers", np.int64, (True, 10), TypeError, (0,)),
    ("integers", np.int64, ("0", 10), TypeError, (0,)),
    # bernoulli(p)
    ("bernoulli", np.bool_, (1.5,), ValueError, (0,)),
    ("bernoulli", np.bool_, (-0.25,), ValueError, (0,)),
    ("bernoulli", np.bool_, (NAN,), ValueError, (0,)),
    ("bernoulli", np.uint8, (INF,), ValueError, (0,)),
    ("bernoulli", np.bool_, (True,), TypeError, (0,)),
    ("bernoulli", np.bool_, ("0.5",), TypeError, (0,)),
    ("bernoulli", np.bool_, (None,), TypeError, (0,)),
]

# Legal at the edges: every face that has the distribution and dtype gives
# the stateless function's values, bit for bit.
GOOD = [
    ("uniform", F32, (0.0, MAX32)),
    ("uniform", F32, (-MAX32, 0.0)),
    ("uniform", F32, (-1.7e38, 1.7e38)),
    ("uniform", F32, (3.4028235e38, 3.4028235e38)),  # above float32's largest, which it rounds to
    ("uniform", F32, (0.0, 1e-45)),                  # the smallest subnormal
    ("uniform", F64, (0.0, MAX64)),
    ("uniform", F64, (-8.98e307, 8.98e307)),
    ("uniform", F64, (0.0, 5e-324)),
    ("uniform", F64, (5, 5)),
    ("uniform", F64, (-0.0, 0.0)),
    ("uniform", F64, (-(2**53), 2**53)),
    ("uniform", F64, (np.float32(0.5), np.int64(2))),
    ("uniform", F32, (np.array(0.25), np.array(1))),
    ("normal", F32, (MAX32, 0.0)),
    ("normal", F32, (-MAX32, 0.0)),
    ("normal", F64, (MAX64, 0.0)),
    ("normal", F32, (0.0, 1e-45)),
    ("normal", F64, (0.0, 5e-324)),
    ("normal", F32, (0.0, 4.9e37)),
    ("normal", F64, (0.0, 2e307)),
    ("normal", F64, (1.0, -0.0)),
    ("normal", F32, (np.float32(1), np.array(0.5))),
    ("integers", np.int32, (-2**31, 2**31)),
    ("integers", np.uint64, (0, 2**64)),
    ("integers", np.int64, (np.int64(-5), np.uint8(7))),
    ("bernoulli", np.bool_, (0,)),
    ("bernoulli", np.uint8, (1,)),
    ("bernoulli", np.bool_, (5e-324,)),
    ("bernoulli", np.bool_, (np.float32(0.25),)),
    ("bernoulli", np.uint8, (np.array(0.5),)),
]

UNSUPPORTED = "unsupported"  # a face without this distribution or dtype
NAMES = {"uniform": ("low", "high"), "normal": ("loc", "scale"), "integers": ("low", "high"), "bernoulli": ("p",)}


def stateless_face(dist, params, dtype):
    return getattr(ctrng, dist)(KEY, *params, N, dtype=dtype)


def generator_face(dist, params, dtype):
    g = ctrng.Generator(KEY)
    if dist in ("uniform", "normal"):
        return getattr(g, dist)(*params, size=N) if dtype == F64 else UNSUPPORTED  # float64 only
    return getattr(g, dist)(*params, size=N, dtype=dtype)


def cuda_face(dist, params, dtype):
    import ctrng.cuda
    return getattr(ctrng.cuda, dist)(KEY, *params, N, dtype=dtype).copy_to_host()


def _tensor(dtype):
    torch = pytest.importorskip("torch")
    torch_dtype = {F32: torch.float32, F64: torch.float64, np.int32: torch.int32, np.int64: torch.int64,
                   np.bool_: torch.bool, np.uint8: torch.uint8}.get(dtype)
    return None if torch_dtype is None else torch.zeros(N, dtype=torch_dtype)


def torch_face(dist, params, dtype):
    import ctrng.torch
    t = _tensor(dtype)
    if t is None:
        return UNSUPPORTED
    assert getattr(ctrng.torch, dist + "_")(t, KEY, *params) is t
    return t.numpy()


def init_face(dist, params, dtype):
    if dist not in ("uniform", "normal"):
        return UNSUPPORTED
    array = np.zeros(N, dtype)
    assert getattr(ctrng.init, dist + "_")(array, KEY, *params) is array
    return array


def init_torch_face(dist, params, dtype):
    if dist not in ("uniform", "normal"):
        return UNSUPPORTED
    t = _tensor(dtype)
    assert getattr(ctrng.init, dist + "_")(t, KEY, *params) is t
    return t.numpy()


def dask_face(dist, params, dtype):
    if dist != "integers":
        return UNSUPPORTED
    import ctrng.dask
    x = ctrng.dask.integers(KEY, *params, (N,), chunks=3, dtype=dtype)  # refused here, not on a worker
    return x.compute(scheduler="synchronous")


def mpi_face(dist, params, dtype):
    if dist != "integers":  # ctrng.mpi's blocks: random, standard_normal (no parameters), integers
        return UNSUPPORTED
    pytest.importorskip("mpi4py")
    import ctrng.mpi
    return ctrng.mpi.integers(KEY, *params, N, dtype=dtype)  # COMM_WORLD of size 1: the whole array


def tf_face(dist, params, dtype):
    import ctrng.tf
    return getattr(ctrng.tf, dist)(KEY, *params, N, dtype=dtype).numpy()  # eager: no function traced


def jax_face(dist, params, dtype):
    import jax

    import ctrng.jax
    with jax.enable_x64(True):  # float64 and 64-bit integers
        key = ctrng.jax.key(KEY.root, rank=KEY.rank, stream=KEY.stream)
        return np.asarray(getattr(ctrng.jax, dist)(key, *params, (N,), dtype=dtype))


FACES = {  # face -> (function, its names for the parameters, where they differ)
    "stateless": (stateless_face, {}),
    "Generator": (generator_face, {}),
    "torch": (torch_face, {"normal": ("mean", "std")}),
    "init": (init_face, {"uniform": ("a", "b"), "normal": ("mean", "std")}),
    "init-torch": (init_torch_face, {"uniform": ("a", "b"), "normal": ("mean", "std")}),
    "dask": (dask_face, {}),
    "mpi": (mpi_face, {}),
}
# Faces run in a subprocess each (see test_the_tf_and_jax_faces_refuse_and_accept_alike):
# TensorFlow and JAX start threads, and later tests fork.
SUBPROCESS_FACES = {"tf": (tf_face, {}, "tensorflow"), "jax": (jax_face, {}, "jax")}


def outcome(face, row):
    """What `face` does with the row's input: ["ok", values as hex bytes],
    [exception class name, message] or ["unsupported", ""] (JSON-able, for
    the CUDA subprocess too)."""
    dist, dtype, params = row[:3]
    try:
        got = face(dist, params, dtype)
    except (TypeError, ValueError) as exc:
        return [type(exc).__name__, str(exc)]
    if isinstance(got, str):
        return [got, ""]
    return ["ok", np.ascontiguousarray(got).tobytes().hex()]


def _check_refusal(face_name, names, row, got):
    dist, dtype, params, exc, which = row
    if got[0] == UNSUPPORTED:
        return
    assert got[0] == exc.__name__, f"{face_name} {dist}{params} {np.dtype(dtype)}: {got}"
    for i in which:
        assert names.get(dist, NAMES[dist])[i] in got[1], f"{face_name} {dist}{params}: {got[1]}"


def _check_values(face_name, row, got):
    dist, dtype, params = row
    if got[0] == UNSUPPORTED:
        return
    assert got == outcome(stateless_face, row), f"{face_name} {dist}{params} {np.dtype(dtype)}"


def _ident(row):
    return f"{row[0]}{reprlib.repr(row[2])}-{np.dtype(row[1])}"


@pytest.mark.parametrize("face", FACES)
@pytest.mark.parametrize("row", BAD, ids=_ident)
def test_bad_parameters_are_refused_alike_by_every_face(face, row):
    fn, names = FACES[face]
    _check_refusal(face, names, row, outcome(fn, row))


@pytest.mark.parametrize("face", FACES)
@pytest.mark.parametrize("row", GOOD, ids=_ident)
def test_edge_parameters_give_the_same_values_on_every_face(face, row):
    fn, _ = FACES[face]
    got = outcome(fn, row)
    assert got[0] in ("ok", UNSUPPORTED), f"{face}: {got}"
    _check_values(face, row, got)
    if got[0] == "ok":
        values = np.frombuffer(bytes.fromhex(got[1]), row[1])
        assert values.dtype == np.bool_ or np.all(np.isfinite(values))


def test_the_cuda_face_refuses_and_accepts_alike():
    script = textwrap.dedent(f"""
        import json, sys
        sys.path[:0] = [{os.path.dirname(os.path.abspath(__file__))!r}, {TESTS!r}]
        from test_parameters import BAD, GOOD, cuda_face, outcome
        print(json.dumps({{"bad": [outcome(cuda_face, row) for row in BAD],
                          "good": [outcome(cuda_face, row) for row in GOOD]}}))
    """)
    got = run_kernel_script(script)
    for row, result in zip(BAD, got["bad"]):
        _check_refusal("cuda", {}, row, result)
    for row, result in zip(GOOD, got["good"]):
        assert result[0] == "ok", (row, result)
        _check_values("cuda", row, result)


# A known difference: TensorFlow's and XLA's CPU kernels flush subnormal
# results to zero, so there a subnormal width or scale gives zeros where
# the C core gives subnormals.
SUBNORMAL_ROWS = [row for row in GOOD  # a subnormal high (low = 0) or scale
                  if row[0] in ("uniform", "normal") and 0 < abs(row[2][1]) < np.finfo(row[1]).tiny]


@pytest.mark.parametrize("face", SUBPROCESS_FACES)
def test_the_tf_and_jax_faces_refuse_and_accept_alike(face):
    fn, names, module = SUBPROCESS_FACES[face]
    if importlib.util.find_spec(module) is None:
        if os.environ.get("CI"):  # CI installs both (the tf and jax extras)
            raise AssertionError(f"{module} is not installed")
        pytest.skip(f"{module} is not installed")
    script = textwrap.dedent(f"""
        import json, sys
        sys.path[:0] = [{os.path.dirname(os.path.abspath(__file__))!r}, {TESTS!r}]
        from test_parameters import BAD, GOOD, {fn.__name__}, outcome
        print(json.dumps({{"bad": [outcome({fn.__name__}, row) for row in BAD],
                          "good": [outcome({fn.__name__}, row) for row in GOOD]}}))
    """)
    got = run_kernel_script(script)
    for row, result in zip(BAD, got["bad"]):
        _check_refusal(face, names, row, result)
    for row, result in zip(GOOD, got["good"]):
        assert result[0] == "ok", (face, row, result)
        if row in SUBNORMAL_ROWS:
            values = np.frombuffer(bytes.fromhex(result[1]), row[1])
            assert not values.any(), f"{face} {row}: no longer flushed to zero; compare it with the rest"
        else:
            _check_values(face, row, result)


def test_generator_checks_array_parameters_element_by_element():
    g = ctrng.Generator(KEY)
    for args, exc, name in [(([0.0, 1.0], [1.0, INF]), ValueError, "high"),
                            (([0.0, 2.0], [1.0, 1.0]), ValueError, "low <= high"),
                            (([-1e308, 0.0], 1e308), ValueError, "high - low"),
                            ((np.array([0.0]), np.array([True])), TypeError, "high"),
                            ((["0"], 1.0), TypeError, "low")]:
        with pytest.raises(exc, match=name):
            g.uniform(*args)
    for args, exc, name in [(([0.0, NAN], 1.0), ValueError, "loc"),
                            ((0.0, [1.0, -1.0]), ValueError, "scale"),
                            ((np.array([[1e308]]), 1e307), ValueError, "scale"),
                            ((0.0, [True]), TypeError, "scale")]:
        with pytest.raises(exc, match=name):
            g.normal(*args)
    assert g.position == 0  # refused calls claim nothing
    low, high = np.array([-1.0, 0.0, MAX64 / 2]), np.array([1.0, 5e-324, MAX64])
    got = g.uniform(low, high)
    assert np.array_equal(got, low + (high - low) * ctrng.random(KEY, 3))
    loc, scale = np.array([MAX64, 0.0, -1.0]), np.array([0.0, 5e-324, 2.0])
    assert np.array_equal(ctrng.Generator(KEY).normal(loc, scale), loc + scale * ctrng.standard_normal(KEY, 3))


# -- ctrng.init's own parameters -------------------------------------------------
W32 = (4, 6)


@pytest.mark.parametrize("call, exc, name", [
    (lambda w: ctrng.init.trunc_normal_(w, KEY, mean=INF), ValueError, "mean"),
    (lambda w: ctrng.init.trunc_normal_(w, KEY, mean=1e39), ValueError, "mean"),
    (lambda w: ctrng.init.trunc_normal_(w, KEY, std=NAN), ValueError, "std"),
    (lambda w: ctrng.init.trunc_normal_(w, KEY, std=0.0), ValueError, "std"),
    (lambda w: ctrng.init.trunc_normal_(w, KEY, std=1e39), ValueError, "std"),
    (lambda w: ctrng.init.trunc_normal_(w, KEY, a=NAN), ValueError, "a"),
    (lambda w: ctrng.init.trunc_normal_(w, KEY, b=NAN), ValueError, "b"),
    (lambda w: ctrng.init.trunc_normal_(w, KEY, a=-1e39), ValueError, "a"),
    (lambda w: ctrng.init.trunc_normal_(w, KEY, a=2.0, b=1.0), ValueError, "a < b"),
    (lambda w: ctrng.init.trunc_normal_(w, KEY, std=1e37, a=-INF), ValueError, "std"),
    (lambda w: ctrng.init.trunc_normal_(w, KEY, a=True), TypeError, "a"),
    (lambda w: ctrng.init.trunc_normal_(w, KEY, std="1"), TypeError, "std"),
    (lambda w: ctrng.init.xavier_uniform_(w, KEY, gain=NAN), ValueError, "gain"),
    (lambda w: ctrng.init.xavier_uniform_(w, KEY, gain=-1.0), ValueError, "gain"),
    (lambda w: ctrng.init.xavier_uniform_(w, KEY, gain=3e38), ValueError, "gain"),
    (lambda w: ctrng.init.xavier_uniform_(w, KEY, gain="2"), TypeError, "gain"),
    (lambda w: ctrng.init.xavier_normal_(w, KEY, gain=INF), ValueError, "gain"),
    (lambda w: ctrng.init.xavier_normal_(w, KEY, gain=3e38), ValueError, "gain"),
    (lambda w: ctrng.init.xavier_normal_(w, KEY, gain=True), TypeError, "gain"),
    (lambda w: ctrng.init.orthogonal_(w, KEY, gain=1e39), ValueError, "gain"),
    (lambda w: ctrng.init.orthogonal_(w, KEY, gain=-2.0), ValueError, "gain"),
    (lambda w: ctrng.init.orthogonal_(w, KEY, gain=None), TypeError, "gain"),
    (lambda w: ctrng.init.kaiming_uniform_(w, KEY, a=NAN), ValueError, "a"),
    (lambda w: ctrng.init.kaiming_normal_(w, KEY, a="0.1"), TypeError, "a"),
    (lambda w: ctrng.init.uniform_(w[:0], KEY, 0.0, INF), ValueError, "b"),  # checked if empty too
])
def test_initializer_parameters_follow_the_rule(call, exc, name):
    w = np.zeros(W32, np.float32)
    with pytest.raises(exc, match=name):
        call(w)
    assert not w.any()  # nothing written before the refusal
    with pytest.raises(TypeError, match="param"):
        ctrng.init.calculate_gain("leaky_relu", "0.1")


def test_initializer_edge_parameters_are_accepted():
    w = np.zeros(W32, np.float32)
    ctrng.init.trunc_normal_(w, KEY, a=-INF, b=INF)            # open on both sides
    assert np.isfinite(w).all()
    ctrng.init.trunc_normal_(w, KEY, mean=MAX32, std=1e30, a=-MAX32, b=MAX32)
    assert np.isfinite(w).all()
    ctrng.init.xavier_uniform_(w, KEY, gain=np.float32(2.0))
    assert np.isfinite(w).all() and w.any()
    ctrng.init.orthogonal_(w, KEY, gain=0)
    assert not w.any()


# -- shapes: one function for Generator sizes, dask shapes, init's full_shape ------
@pytest.mark.parametrize("bad, exc", [((2.7, 3), TypeError), ((True, 3), TypeError), (2.0, TypeError),
                                      ((np.float64(4), 6), TypeError), ((4, -6), ValueError)])
def test_shapes_are_integers_everywhere(bad, exc):
    import ctrng.dask
    with pytest.raises(exc, match="size"):
        ctrng.Generator(KEY).random(bad)
    with pytest.raises(exc, match="shape"):
        ctrng.dask.random(KEY, bad)
    w = np.zeros(W32, np.float32)
    with pytest.raises(exc, match="full_shape"):
        ctrng.init.uniform_(w, KEY, full_shape=bad)
    with pytest.raises(exc, match="full_shape"):
        ctrng.init.kaiming_uniform_(w, KEY, full_shape=bad)
    assert not w.any()


def test_shapes_accept_numpy_integers_alike():
    import ctrng.dask
    shape = (np.int64(4), np.uint8(6))
    want = ctrng.random(KEY, 24).reshape(W32)
    assert np.array_equal(ctrng.Generator(KEY).random(shape), want)
    assert np.array_equal(ctrng.Generator(KEY).random(np.array(shape)), want)
    assert np.array_equal(ctrng.dask.random(KEY, shape).compute(scheduler="synchronous"), want)
    w = np.zeros((2, 6))
    ctrng.init.uniform_(w, KEY, full_shape=shape, index=(slice(np.int64(1), np.int32(3)),))
    assert np.array_equal(w, ctrng.uniform(KEY, 0.0, 1.0, 24).reshape(W32)[1:3])


@pytest.mark.parametrize("index", [(slice(0.5, 2),), (slice(0, 2.0),), (slice(True, 3),), (slice(0, 2, 1.0),),
                                   (1,)])
def test_index_bounds_are_integers(index):
    w = np.zeros((2, 6))
    with pytest.raises(TypeError, match="index"):
        ctrng.init.uniform_(w, KEY, full_shape=W32, index=index)
    assert not w.any()


# -- check_int's message ---------------------------------------------------------------
def test_check_int_prints_a_power_of_two_only_for_one():
    with pytest.raises(ValueError) as info:
        check_int(2000, "rounds", 1025, low=1)
    assert str(info.value) == "rounds must be in [1, 1025), got 2000"
    with pytest.raises(ValueError) as info:
        check_int(300, "n", 257)
    assert str(info.value) == "n must be in [0, 257), got 300"
    with pytest.raises(ValueError) as info:
        check_int(2**32, "rank", 1 << 32)
    assert str(info.value) == "rank must be in [0, 4294967296) (= [0, 2**32)), got 4294967296"
    with pytest.raises(ValueError) as info:
        check_int(-1, "n", 1 << 63)
    assert str(info.value) == "n must be in [0, 9223372036854775808) (= [0, 2**63)), got -1"


# -- states: one parser for Generator and the bit generators, also when unpickling ----
@pytest.mark.parametrize("change, exc, name", [
    ({"key": {"root": 1}}, ValueError, "missing 'rank'"),
    ({"key": dict(KEY.to_dict(), rank=-1)}, ValueError, "rank"),
    ({"key": dict(KEY.to_dict(), seed=1)}, ValueError, "unknown field 'seed'"),
    ({"key": None}, TypeError, "state\\['key'\\]"),
    ({"position": 1.5}, TypeError, "position"),
    ({"position": -1}, ValueError, "position"),
    ({"spawned": 257}, ValueError, "spawned"),
    ({"extra": 0}, ValueError, "unknown field 'extra'"),
])
def test_states_are_checked_before_anything_is_built(change, exc, name):
    from ctrng import bitgen, generator
    for obj, restore in [(ctrng.Generator(KEY), lambda s: generator._from_state(s, None)),
                         (ctrng.Philox4x32(KEY), lambda s: bitgen._from_state("Philox4x32", s))]:
        state = dict(obj.state, **change)
        with pytest.raises(exc, match=name):
            obj.state = state
        with pytest.raises(exc, match=name):  # the path pickle takes
            restore(state)
        assert obj.key == KEY and obj.position == 0
