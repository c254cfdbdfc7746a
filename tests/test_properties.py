"""Property-based tests (hypothesis) over the public API: every call either
returns the documented result or raises TypeError / ValueError naming the
argument (MemoryError for sizes too large to allocate), never a crash, a
hang, a silent truncation or a result of the wrong length."""

import re

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import ctrng

SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
ALGS = ["philox4x32", "philox4x64", "threefry4x32", "threefry4x64"]
NAMES = r"\b(n|start|dtype|out|low|high|p|loc|scale|key|root|rank|stream|algorithm|rounds|size|axis|array|len\(x\)|x)\b"

keys = st.builds(lambda alg, root, rank, stream: ctrng.Key(root, rank=rank, stream=stream, algorithm=alg),
                 st.sampled_from(ALGS), st.integers(0, 2**64 - 1), st.integers(0, 2**32 - 1),
                 st.integers(0, 2**32 - 1))
# counts: mostly small, sometimes huge or invalid
counts = st.one_of(st.integers(0, 300), st.sampled_from([2**40, 2**62, 2**63 - 1, 2**63, -1, 2.0, True, None]))
starts = st.one_of(st.integers(0, 2**20), st.integers(2**62, 2**70), st.sampled_from([-1, 1.5, None, 2**80, 2**90]))
dtypes = st.sampled_from([np.uint32, np.uint64, np.float32, np.float64, np.int32, np.int64, np.uint8, np.bool_,
                          np.int8, np.complex64, ">f8", "<f8", ">u4", "float", "not a dtype", None])

CALLS = {
    "random_raw": (ctrng.random_raw, (), (np.uint32, np.uint64)),
    "random": (ctrng.random, (), (np.float32, np.float64)),
    "standard_normal": (ctrng.standard_normal, (), (np.float32, np.float64)),
    "uniform": (ctrng.uniform, (-2.0, 3.0), (np.float32, np.float64)),
    "normal": (ctrng.normal, (1.0, 0.5), (np.float32, np.float64)),
    "integers": (ctrng.integers, (3, 1000), (np.int32, np.int64, np.uint32, np.uint64)),
    "bernoulli": (ctrng.bernoulli, (0.3,), (np.bool_, np.uint8)),
}


def _outcome(fn, *args, **kwargs):
    """The result, or the exception class and message of a clean refusal."""
    try:
        return fn(*args, **kwargs)
    except (TypeError, ValueError) as exc:
        assert re.search(NAMES, str(exc)), f"{type(exc).__name__} does not name the argument: {exc}"
        return exc
    except MemoryError:
        return MemoryError


def _native(dtype):
    try:
        return np.dtype(dtype)
    except TypeError:
        return None


@SETTINGS
@given(name=st.sampled_from(sorted(CALLS)), key=keys, n=counts, start=starts, dtype=dtypes)
def test_stateless_calls_give_the_documented_result_or_refuse(name, key, n, start, dtype):
    fn, params, allowed = CALLS[name]
    kwargs = {} if dtype is None else {"dtype": dtype}
    got = _outcome(fn, key, *params, n, start, **kwargs)
    if isinstance(got, np.ndarray):
        dt = _native(dtype) if dtype is not None else got.dtype
        assert isinstance(n, int) and not isinstance(n, bool) and got.shape == (n,)
        assert got.dtype == dt.newbyteorder("=") and got.dtype.isnative
        assert dt.newbyteorder("=") in [np.dtype(a) for a in allowed]
        if n > 1:  # position-addressable: the tail is the same call from a later start
            tail = fn(key, *params, n - 1, start + 1, **kwargs)
            assert tail.tobytes() == got[1:].tobytes()
    elif dtype is not None and (_native(dtype) is None or _native(dtype).newbyteorder("=") not in
                                [np.dtype(a) for a in allowed]):
        assert isinstance(got, TypeError)  # an unsupported dtype is a TypeError


out_kinds = st.sampled_from(["fresh", "misaligned", "byteswapped", "readonly", "strided", "0-d", "2-d", "list"])


def _make_out(kind, dtype, n):
    dt = np.dtype(dtype)
    if kind == "misaligned":
        raw = np.zeros(n * dt.itemsize + 1, np.uint8)
        return raw[1:].view(dt)
    if kind == "byteswapped":
        return np.zeros(n, dt.newbyteorder(">"))
    if kind == "readonly":
        a = np.zeros(n, dt)
        a.flags.writeable = False
        return a
    if kind == "strided":
        return np.zeros(2 * n, dt)[::2]
    if kind == "0-d":
        return np.zeros((), dt)
    if kind == "2-d":
        return np.zeros((n, 2), dt)
    if kind == "list":
        return [0] * n
    return np.zeros(n, dt)


@SETTINGS
@given(name=st.sampled_from(sorted(CALLS)), key=keys, n=st.integers(0, 200), start=st.integers(0, 2**30),
       kind=out_kinds, pick=st.integers(0, 3))
def test_out_arrays_are_filled_exactly_or_refused(name, key, n, start, kind, pick):
    fn, params, allowed = CALLS[name]
    dtype = allowed[pick % len(allowed)]
    out = _make_out(kind, dtype, n)
    got = _outcome(fn, key, *params, None, start, dtype=dtype, out=out)
    size = out.size if isinstance(out, np.ndarray) else None
    fillable = (isinstance(out, np.ndarray) and out.flags.writeable and out.flags.c_contiguous
                and out.dtype == np.dtype(dtype) and out.dtype.isnative)
    if fillable:  # misaligned, 0-d and 2-d arrays included
        assert got is out  # filled in place, at any alignment and shape
        expected = fn(key, *params, size, start, dtype=dtype)
        assert out.reshape(-1).tobytes() == expected.tobytes()
    else:
        assert isinstance(got, (TypeError, ValueError))
        if isinstance(out, np.ndarray) and out.flags.writeable:
            assert not out.any()  # nothing was written before the refusal


@SETTINGS
@given(key=keys, low=st.integers(-2**64, 2**65), high=st.integers(-2**64, 2**65),
       dtype=st.sampled_from([np.int32, np.int64, np.uint32, np.uint64]), n=st.integers(0, 50))
def test_integer_bounds_are_honoured_or_refused(key, low, high, dtype, n):
    got = _outcome(ctrng.integers, key, low, high, n, dtype=dtype)
    info = np.iinfo(dtype)
    if isinstance(got, np.ndarray):
        assert low < high and info.min <= low and high - 1 <= info.max
        assert got.shape == (n,) and (n == 0 or (int(got.min()) >= low and int(got.max()) < high))
    else:
        assert isinstance(got, ValueError) and not (low < high and info.min <= low and high - 1 <= info.max)


@SETTINGS
@given(key=keys, p=st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.integers(-2, 2)),
       n=st.integers(0, 100))
def test_bernoulli_probability_is_checked(key, p, n):
    got = _outcome(ctrng.bernoulli, key, p, n)
    if isinstance(got, np.ndarray):
        assert 0 <= p <= 1 and got.shape == (n,) and got.dtype == np.bool_
        if p == 0:
            assert not got.any()
        if p == 1:
            assert got.all()
    else:
        assert isinstance(got, ValueError) and not 0 <= p <= 1


@SETTINGS
@given(key=keys, x=st.one_of(st.integers(-3, 400), st.sampled_from([2**57, 1.0, None, "abc", True])),
       start=st.integers(0, 2**20))
def test_permutations_are_bijections_or_refused(key, x, start):
    got = _outcome(ctrng.permutation, key, x, start)
    if isinstance(got, np.ndarray):
        assert np.array_equal(np.sort(got), np.arange(x))
        assert np.array_equal(ctrng.IndexPermutation(key, max(x, 1))[:x], ctrng.IndexPermutation(key, max(x, 1))[:][:x])
    else:
        assert isinstance(got, (TypeError, ValueError))


def test_huge_requests_fail_cleanly():
    key = ctrng.Key(1)
    with pytest.raises(MemoryError):
        ctrng.random(key, 2**44)  # 128 TiB
    with pytest.raises(ValueError, match="n = 1152921504606846976 elements of float64 exceed the address space"):
        ctrng.random(key, 2**60)
    with pytest.raises(ValueError, match="the slice"):
        ctrng.IndexPermutation(key, 2**62)[:]
    with pytest.raises(ValueError, match="n must be"):
        ctrng.random(key, 2**63)
    with pytest.raises(ValueError, match="past the end"):
        ctrng.random_raw(key, 10, start=(1 << 66) - 5)
    with pytest.raises(MemoryError):
        ctrng.permutation(key, 2**55)


anything = st.one_of(st.integers(-2**70, 2**300), st.floats(), st.booleans(), st.none(), st.text(max_size=5),
                     st.binary(max_size=5))


@SETTINGS
@given(root=anything, rank=anything, stream=anything, algorithm=st.one_of(st.sampled_from(ALGS), st.text(max_size=8)),
       rounds=st.one_of(st.none(), st.integers(-3, 2000)))
def test_keys_are_built_or_refused(root, rank, stream, algorithm, rounds):
    got = _outcome(ctrng.Key, root, rank=rank, stream=stream, algorithm=algorithm, rounds=rounds)
    if isinstance(got, ctrng.Key):
        assert (got.rank, got.stream, got.algorithm) == (rank, stream, algorithm)
        assert isinstance(rank, int) and not isinstance(rank, bool) and 0 <= rank < 2**32
        assert got == ctrng.Key(got.root, rank=rank, stream=stream, algorithm=algorithm, rounds=rounds)
    else:
        assert isinstance(got, (TypeError, ValueError))


sizes = st.one_of(st.none(), st.integers(-1, 50), st.tuples(st.integers(0, 6), st.integers(0, 6)),
                  st.sampled_from([2.5, "3", (2, -1)]))


@SETTINGS
@given(key=keys, size=sizes, method=st.sampled_from(["random", "standard_normal", "random_raw", "integers",
                                                     "bernoulli", "uniform", "normal"]))
def test_generator_draws_follow_the_stream_or_refuse(key, size, method):
    g = ctrng.Generator(key)
    args = {"integers": (0, 10), "bernoulli": (0.25,)}.get(method, ())
    got = _outcome(getattr(g, method), *args, size=size)
    if isinstance(got, (TypeError, ValueError)):
        assert g.position == 0  # a refused call claims nothing
        return
    shape = () if size is None else (size,) if isinstance(size, int) else size
    assert np.shape(got) == shape
    again = ctrng.Generator(key)
    assert np.array_equal(getattr(again, method)(*args, size=size), got)  # replayable


@SETTINGS
@given(key=keys, n=st.integers(1, 2**63 - 1), index=st.one_of(st.integers(-2**64, 2**64),
                                                               st.lists(st.integers(-2**63, 2**63), max_size=5)))
def test_index_permutation_lookups_are_exact_or_refused(key, n, index):
    p = ctrng.IndexPermutation(key, n)
    try:
        got = p[np.array(index, dtype=object).astype(np.int64) if isinstance(index, list) and index else index]
    except IndexError:
        values = index if isinstance(index, list) else [index]
        assert any(not -n <= v < n for v in values)
        return
    except (OverflowError, TypeError):
        assert isinstance(index, list)  # values beyond int64 cannot make an index array
        return
    values = np.atleast_1d(got)
    assert values.min(initial=0) >= 0 and values.max(initial=0) < n
    assert np.array_equal(np.atleast_1d(p.inverse(got)) % n, np.atleast_1d(np.array(index, dtype=object)) % n)


INITS = ["uniform_", "normal_", "trunc_normal_", "xavier_uniform_", "xavier_normal_", "kaiming_uniform_",
         "kaiming_normal_", "orthogonal_"]


@SETTINGS
@given(name=st.sampled_from(INITS), shape=st.lists(st.integers(0, 9), min_size=0, max_size=3),
       dtype=st.sampled_from([np.float32, np.float64, np.int32, np.float16]), root=st.integers(0, 2**64 - 1),
       ident=st.one_of(st.integers(0, 2**32 - 1), st.text(min_size=1, max_size=12)))
def test_initializers_fill_or_refuse(name, shape, dtype, root, ident):
    array = np.zeros(shape, dtype)
    key = ctrng.init.parameter_key(root, ident)
    got = _outcome(getattr(ctrng.init, name), array, key)
    if got is array:
        assert np.dtype(dtype) in (np.float32, np.float64)
        again = np.zeros(shape, dtype)
        getattr(ctrng.init, name)(again, key)
        assert np.array_equal(array, again) and np.all(np.isfinite(array))
    else:
        assert isinstance(got, (TypeError, ValueError))
        assert not array.any()  # a refusal writes nothing


@SETTINGS
@given(n=st.integers(0, 500), replicas=st.integers(1, 9), drop_last=st.booleans(), shuffle=st.booleans(),
       seed=st.integers(0, 2**64 - 1), epoch=st.integers(0, 2**32 - 1))
def test_sampler_ranks_cover_the_epoch(n, replicas, drop_last, shuffle, seed, epoch):
    ranks = [ctrng.DistributedSampler(n, num_replicas=replicas, rank=r, shuffle=shuffle, seed=seed,
                                      drop_last=drop_last) for r in range(replicas)]
    for s in ranks:
        s.set_epoch(epoch)
    lists = [list(s) for s in ranks]
    assert len({len(x) for x in lists}) == 1 and len(lists[0]) == len(ranks[0])
    flat = [x for step in zip(*lists) for x in step]
    if drop_last:
        assert len(set(flat)) == len(flat) == n // replicas * replicas
    else:
        assert set(flat) == set(range(n)) and len(flat) == -(-n // replicas) * replicas


@SETTINGS
@given(cls=st.sampled_from([ctrng.Philox4x32, ctrng.Philox4x64, ctrng.Threefry4x32, ctrng.Threefry4x64]),
       root=anything, rank=anything, stream=anything)
def test_bit_generators_are_built_or_refused(cls, root, rank, stream):
    got = _outcome(cls, root, rank=rank, stream=stream)
    if isinstance(got, (TypeError, ValueError)):
        return
    assert np.random.Generator(got).integers(0, 10, 5).shape == (5,)
