"""NumPy bit generators on ctrng streams."""

import pickle
import sys
import threading

import numpy as np
import pytest

import ctrng
from ctrng.bitgen import CHECKED_WORDS

CLASSES = [ctrng.Philox4x32, ctrng.Philox4x64, ctrng.Threefry4x32, ctrng.Threefry4x64]


@pytest.mark.parametrize("cls", CLASSES)
def test_numpy_draws_come_from_the_ctrng_stream(cls):
    key = ctrng.Key(7, rank=2, stream=1, algorithm=cls.algorithm)
    assert np.array_equal(cls(7, rank=2, stream=1).random_raw(100), ctrng.random_raw(key, 100, dtype=np.uint64))
    assert np.array_equal(np.random.Generator(cls(key)).random(101), ctrng.random(key, 101))
    full = np.random.Generator(cls(key)).integers(0, 2**32, size=99, dtype=np.uint32)
    assert np.array_equal(full, ctrng.random_raw(key, 99))


@pytest.mark.parametrize("cls", CLASSES)
def test_numpy_distributions_run(cls):
    g = np.random.Generator(cls(123))
    assert g.gamma(2.0, size=1000).min() > 0
    c = g.choice(10, size=1000)
    assert c.min() >= 0 and c.max() <= 9
    d = g.dirichlet([1.0, 2.0, 3.0], size=5)
    assert np.allclose(d.sum(axis=1), 1.0)
    assert sorted(g.permutation(20).tolist()) == list(range(20))


def test_state_roundtrip_and_pickle():
    bg = ctrng.Philox4x32(5, rank=9)
    g = np.random.Generator(bg)
    g.standard_normal(13)
    g.integers(0, 5, size=3, dtype=np.int8)
    state = bg.state
    a = g.standard_normal(50)
    bg.state = state
    assert np.array_equal(np.random.Generator(bg).standard_normal(50), a)
    bg.state = state
    copy = pickle.loads(pickle.dumps(bg))
    assert copy.state == state
    assert np.array_equal(np.random.Generator(copy).standard_normal(50), a)
    with pytest.raises(ValueError):
        bg.state = {"bit_generator": "PCG64"}
    with pytest.raises(ValueError, match="uses"):
        ctrng.Philox4x64(ctrng.Key(1))


def test_random_raw_position_and_advance():
    bg = ctrng.Threefry4x32(3)
    assert isinstance(bg.random_raw(), int)
    bg.advance(5)                          # word 7: next uint64 starts at word 8
    assert bg.random_raw(2).tolist() == ctrng.random_raw(bg.key, 6, dtype=np.uint64)[4:].tolist()
    assert bg.position == 12
    assert bg.random_raw(3, output=False) is None and bg.position == 18


def test_lock_is_honoured():
    bg = ctrng.Philox4x32(1)
    g = np.random.Generator(bg)
    done = threading.Event()

    def draw():
        g.random(10)
        done.set()

    with bg.lock:
        t = threading.Thread(target=draw)
        t.start()
        assert not done.wait(0.3)  # blocked on the bit generator's lock
    t.join()
    assert done.is_set()


def test_is_a_numpy_bit_generator():
    bg = ctrng.Philox4x64(11, rank=1)
    assert isinstance(bg, np.random.BitGenerator)
    g = np.random.default_rng(bg)  # accepted as a bit generator, not as a seed
    assert g.bit_generator is bg
    g.random(5)
    copy = pickle.loads(pickle.dumps(g))  # NumPy's own Generator pickling
    assert np.array_equal(copy.normal(size=20), g.normal(size=20))


def _at(bg, position):
    """bg moved to `position` through its state."""
    bg.state = dict(bg.state, position=position)
    return bg


def _length(bg):
    return bg.key.block_bytes // 4 << 64  # 32-bit words in 2**64 blocks


# NumPy draws of every kind the C cursor feeds (scalar and array, float and
# integer, rejection loops, shuffles), with the fewest words each one uses.
NUMPY_DRAWS = {
    "random": (lambda g: g.random(), 2),
    "random array": (lambda g: g.random(100), 4),
    "integers": (lambda g: g.integers(0, 1000), 1),
    "integers array": (lambda g: g.integers(0, 1000, 100), 4),
    "integers uint32": (lambda g: g.integers(0, 2**32, 8, dtype=np.uint32), 4),
    "choice": (lambda g: g.choice(10, 100), 4),
    "choice without replacement": (lambda g: g.choice(1000, 100, replace=False), 4),
    "shuffle": (lambda g: g.shuffle(np.arange(100)), 4),
    "permutation": (lambda g: g.permutation(100), 4),
    "standard_gamma": (lambda g: g.standard_gamma(0.5, 100), 4),
    "standard_normal": (lambda g: g.standard_normal(), 2),
    "binomial": (lambda g: g.binomial(100, 0.3, 100), 4),
    "dirichlet": (lambda g: g.dirichlet([1.0, 2.0], 10), 4),
}


@pytest.mark.parametrize("cls", CLASSES)
@pytest.mark.parametrize("draw", NUMPY_DRAWS)
def test_numpy_draws_refuse_to_pass_the_end_of_the_stream(cls, draw):
    bg = cls(1)
    g = np.random.Generator(bg)  # built before the position moves near the end
    end = _length(bg)
    fn, words = NUMPY_DRAWS[draw]
    for left in range(words):
        _at(bg, end - left)
        with pytest.raises(ValueError, match="exhausted.*another stream or key"):
            fn(g)
        assert bg.position == end  # a valid state: at the end, which the setter takes
        bg.state = bg.state
    legacy = np.random.RandomState(_at(bg, end - 2))
    with pytest.raises(ValueError, match="exhausted"):
        legacy.random_sample(2)
    assert bg.position == end


@pytest.mark.parametrize("cls", CLASSES)
def test_numpy_draws_reach_the_end_exactly(cls):
    bg = cls(1)
    end = _length(bg)
    g = np.random.Generator(_at(bg, end - 203))
    last = np.concatenate([g.integers(0, 2**32, n, dtype=np.uint32) for n in (3, 100, 1, 99)])
    assert np.array_equal(last, ctrng.random_raw(bg.key, 203, start=end - 203))  # no wrap
    assert bg.position == end
    with pytest.raises(ValueError, match="exhausted"):
        g.integers(0, 2**32, dtype=np.uint32)
    _at(bg, end - 4)
    assert np.array_equal(g.random(2), ctrng.random(bg.key, 2, start=end // 2 - 2))


def test_only_draws_near_the_end_run_python_code():
    """The end check is a Python call per draw: draws from further back than
    CHECKED_WORDS, which cannot reach the end, run none."""
    bg = ctrng.Philox4x32(1)
    g = np.random.Generator(bg)

    def python_calls(draw):
        calls = []
        sys.setprofile(lambda frame, event, arg: calls.append(frame.f_code.co_name) if event == "call" else None)
        try:
            draw()
        finally:
            sys.setprofile(None)
        return calls

    assert python_calls(g.random) == python_calls(g.standard_normal) == []
    _at(bg, _length(bg) - CHECKED_WORDS - 1)
    assert python_calls(g.random) == []
    _at(bg, _length(bg) - CHECKED_WORDS)
    assert python_calls(g.random) == ["_check_end"]
    _at(bg, 0)
    assert python_calls(g.random) == []


def test_a_draw_waiting_for_the_lock_is_checked_at_the_new_position():
    """A draw looks the lock's exit up before it waits for the lock: one that
    waited while the position moved near the end must still be checked."""
    bg = ctrng.Philox4x32(1)
    g = np.random.Generator(bg)
    errors = []

    def draw():
        try:
            g.random(10)
        except ValueError as e:
            errors.append(e)

    with bg.lock:
        t = threading.Thread(target=draw)
        t.start()
        t.join(0.3)  # now waiting for the lock
        bg._seek(_length(bg) - 4)  # what the state setter does, under the lock
    t.join()
    assert len(errors) == 1 and bg.position == _length(bg)


@pytest.mark.parametrize("cls", CLASSES)
def test_advance_and_random_raw_stop_at_the_end(cls):
    bg = cls(1)
    end = _length(bg)
    bg.advance(end - 2)
    with pytest.raises(ValueError):
        bg.advance(3)
    with pytest.raises(ValueError):
        bg.random_raw(2)
    assert bg.position == end - 2
    assert bg.random_raw() == int(ctrng.random_raw(bg.key, 1, start=end // 2 - 1, dtype=np.uint64)[0])
    assert bg.position == end
    bg.advance(0)
    with pytest.raises(ValueError):
        bg.random_raw()
    assert bg.position == end


def _bad_states(good, algorithm, end):
    """`good` with each field wrong in turn, and things that are not states."""
    key = good["key"]
    other = "threefry4x64" if algorithm != "threefry4x64" else "philox4x32"
    bad = [dict(good, position=-1), dict(good, position=end + 1), dict(good, position="5"),
           dict(good, position=None), dict(good, spawned=-1), dict(good, spawned=257), dict(good, spawned=1.5),
           dict(good, bit_generator="PCG64"), dict(good, key=7), dict(good, key=dict(key, algorithm=other)),
           dict(good, key=dict(key, root=-1)), dict(good, key=dict(key, rank=2**32)),
           dict(good, key={k: v for k, v in key.items() if k != "rounds"}), dict(good, key=dict(key, colour=1)),
           None, 7, "state", list(good.items()), dict(good, extra=1)]
    return bad + [{k: v for k, v in good.items() if k != name} for name in ("bit_generator", "key", "position")]


@pytest.mark.parametrize("cls", CLASSES)
def test_a_refused_state_changes_nothing(cls):
    bg = cls(5, rank=1)
    np.random.Generator(bg).random(3)
    before = bg.state
    good = dict(cls(6, rank=2, stream=3).advance(10).state, spawned=1)
    for bad in _bad_states(good, cls.algorithm, _length(bg)):
        with pytest.raises((TypeError, ValueError)):
            bg.state = bad
        assert bg.state == before, bad
    twin = cls(0)
    twin.state = before
    assert np.array_equal(np.random.Generator(bg).random(10), np.random.Generator(twin).random(10))
    assert [c.key for c in bg.spawn(2)] == [c.key for c in twin.spawn(2)]


def test_state_errors_name_the_field_and_the_source():
    bg = ctrng.Philox4x32(1)
    state = bg.state
    del state["position"]
    with pytest.raises(ValueError, match=r"state is missing 'position': expected a dict from Philox4x32\.state"):
        bg.state = state
    with pytest.raises(ValueError, match="state has an unknown field 'seed'"):
        bg.state = dict(bg.state, seed=1)
    with pytest.raises(TypeError, match="state must be a dict from Philox4x32.state, not list"):
        bg.state = []
    with pytest.raises(ValueError, match=r"state\['bit_generator'\] is 'PCG64', not 'Philox4x32'"):
        bg.state = np.random.PCG64(1).state
    with pytest.raises(ValueError, match=r"state\['key'\] is missing 'rounds': expected a dict from Key\.to_dict"):
        bg.state = dict(bg.state, key={"root": 1, "rank": 0, "stream": 0, "algorithm": "philox4x32"})


@pytest.mark.parametrize("cls", CLASSES)
def test_numpy_spawn_gives_the_children_of_ctrng_generator_spawn(cls):
    key = ctrng.Key(3, rank=4, stream=5, algorithm=cls.algorithm)
    g, ref = np.random.Generator(cls(key)), ctrng.Generator(key)
    for n in (2, 3):  # each call gives new children, as ctrng.Generator.spawn does
        kids, ref_kids = g.spawn(n), ref.spawn(n)
        assert all(isinstance(k, np.random.Generator) for k in kids)
        assert [k.bit_generator.key for k in kids] == [k.key for k in ref_kids]
        for kid, ref_kid in zip(kids, ref_kids):
            assert np.array_equal(kid.random(5), ref_kid.random(5))
    grandkids, ref_grandkids = kids[1].spawn(2), ref_kids[1].spawn(2)
    assert [k.bit_generator.key for k in grandkids] == [k.key for k in ref_grandkids]
    assert np.array_equal(grandkids[0].integers(0, 2**32, 9, dtype=np.uint32), ref_grandkids[0].random_raw(9))
    bg = cls(key)
    assert [type(c) for c in bg.spawn(2)] == [cls, cls]
    assert [c.key for c in bg.spawn(1)] == [ctrng.Generator(key).spawn(3)[2].key]
    copy = pickle.loads(pickle.dumps(bg))  # the count of children travels with the state
    assert copy.state["spawned"] == 3 and copy.spawn(1)[0].key == key.child(3)


def test_spawn_limits_follow_ctrng_generator():
    bg = ctrng.Philox4x32(1)
    bg.spawn(250)
    with pytest.raises(ValueError, match="at most 256 children"):
        bg.spawn(7)
    assert bg.state["spawned"] == 250 and len(bg.spawn(6)) == 6
    with pytest.raises(ValueError, match="too deep"):
        ctrng.Philox4x32(1, stream=2**24).spawn(1)
    with pytest.raises(TypeError):
        bg.spawn(1.5)
