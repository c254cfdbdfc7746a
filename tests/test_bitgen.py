"""NumPy bit generators on ctrng streams."""

import pickle
import threading

import numpy as np
import pytest

import ctrng

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
