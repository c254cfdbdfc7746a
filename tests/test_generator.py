"""ctrng.Generator: a cursor over a Key that agrees with the stateless API."""

import json
import pickle
import subprocess
import sys
import threading

import numpy as np
import pytest

import ctrng
from ctrng.generator import SPAWN_FANOUT

KEY = ctrng.Key(42, rank=1)


def test_consecutive_calls_equal_one_stateless_call():
    g = ctrng.Generator(KEY)
    parts = [g.random(n) for n in (1, 2, 3, 5, 8, 13)]
    assert np.array_equal(np.concatenate(parts), ctrng.random(KEY, 32))
    assert g.position == 64


@pytest.mark.parametrize("method, stateless, dtype", [
    ("random", ctrng.random, np.float32),
    ("random", ctrng.random, np.float64),
    ("standard_normal", ctrng.standard_normal, np.float32),
    ("standard_normal", ctrng.standard_normal, np.float64),
    ("random_raw", ctrng.random_raw, np.uint32),
    ("random_raw", ctrng.random_raw, np.uint64),
])
def test_methods_follow_the_stream(method, stateless, dtype):
    g = ctrng.Generator(KEY)
    a = getattr(g, method)(7, dtype=dtype)
    b = getattr(g, method)((2, 3), dtype=dtype)
    expected = stateless(KEY, 13, dtype=dtype)
    assert np.array_equal(a, expected[:7])
    assert np.array_equal(b.ravel(), expected[7:])
    assert b.shape == (2, 3)
    assert g.position == 13 * np.dtype(dtype).itemsize // 4


def test_wider_draws_start_at_their_own_alignment():
    g = ctrng.Generator(KEY)
    g.random(3, dtype=np.float32)           # words 0..2
    d = g.random(2)                          # float64 elements 2, 3 (words 4..7)
    assert np.array_equal(d, ctrng.random(KEY, 4)[2:])
    assert g.position == 8
    i = g.integers(0, 2**40, size=2)        # 16-byte draws: elements 2, 3
    assert np.array_equal(i, ctrng.integers(KEY, 0, 2**40, 4)[2:])
    assert g.position == 16


def test_scalar_and_out():
    g = ctrng.Generator(KEY)
    x = g.random()
    assert np.ndim(x) == 0 and x == ctrng.random(KEY, 1)[0]
    out = np.empty((3, 4), np.float32)
    assert g.standard_normal(out=out, dtype=np.float32) is out
    assert np.array_equal(out.ravel(), ctrng.standard_normal(KEY, 12, start=2, dtype=np.float32))
    with pytest.raises(ValueError, match="size"):
        g.random(size=(4, 3), out=np.empty((3, 4)))
    with pytest.raises(TypeError, match="dtype"):
        g.random(out=np.empty(4, np.float32))  # dtype defaults to float64


def test_integers_numpy_semantics():
    g = ctrng.Generator(KEY)
    assert np.array_equal(g.integers(10, size=50), ctrng.integers(KEY, 0, 10, 50))
    v = ctrng.Generator(KEY).integers(1, 3, size=2000, endpoint=True, dtype=np.uint32)
    assert v.dtype == np.uint32 and set(np.unique(v)) == {1, 2, 3}
    full = ctrng.Generator(KEY).integers(-2**63, 2**63 - 1, size=4, endpoint=True)
    assert np.array_equal(full, ctrng.integers(KEY, -2**63, 2**63, 4))
    with pytest.raises(ValueError, match="low"):
        g.integers(5, 5)
    with pytest.raises(ValueError, match="high"):
        g.integers(0, 2**31 + 1, dtype=np.int32)


def test_normal_and_uniform_are_affine_maps_of_the_stream():
    loc, scale = np.array([0.0, 10.0, -3.0]), 2.5
    got = ctrng.Generator(KEY).normal(loc, scale)
    assert np.array_equal(got, loc + scale * ctrng.standard_normal(KEY, 3))
    got = ctrng.Generator(KEY).uniform(-1.0, 3.0, size=5)
    assert np.array_equal(got, -1.0 + 4.0 * ctrng.random(KEY, 5))
    with pytest.raises(ValueError, match="scale"):
        ctrng.Generator(KEY).normal(0.0, -1.0)


def test_uniform_and_normal_with_number_parameters():
    """Numbers take a path without NumPy's per-call costs: the same values,
    a Python float for a single draw, and the same errors."""
    u, z = ctrng.random(KEY, 8), ctrng.standard_normal(KEY, 12)
    g = ctrng.Generator(KEY)
    x = g.uniform(0.5, 2)                               # element 0
    assert type(x) is float and x == 0.5 + 1.5 * u[0]
    assert np.array_equal(g.uniform(-1, 3.0, size=(2, 2)).ravel(), -1.0 + 4.0 * u[1:5])
    w = g.uniform(size=())                              # element 5
    assert type(w) is float and w == u[5]
    y = g.normal(1.0, 0.5)                              # normal element 6 (the cursor is at word 12)
    assert type(y) is float and y == 1.0 + 0.5 * z[6]
    assert np.array_equal(g.normal(-2, 3, size=4), -2.0 + 3.0 * z[7:11])
    for bad in (-1.0, float("nan")):
        with pytest.raises(ValueError, match="scale"):
            g.normal(0.0, bad)
    assert g.position == 22                             # the refused calls consumed nothing
    arrays = ctrng.Generator(KEY).normal(np.array(0.25), np.array(1.5), size=9)
    assert np.array_equal(ctrng.Generator(KEY).normal(0.25, 1.5, size=9), arrays)
    arrays = ctrng.Generator(KEY).uniform(np.array(-7), np.array(0.5), size=9)
    assert np.array_equal(ctrng.Generator(KEY).uniform(-7, 0.5, size=9), arrays)


def test_bernoulli():
    b = ctrng.Generator(KEY).bernoulli(0.25, size=1000)
    assert b.dtype == np.bool_
    assert np.array_equal(b, ctrng.bernoulli(KEY, 0.25, 1000))


def test_state_roundtrips_through_json_and_pickle():
    g = ctrng.Generator(ctrng.Key(9, rank=3, stream=4, algorithm="threefry4x64"))
    g.standard_normal(3)
    g.integers(0, 7, size=5)
    state = json.loads(json.dumps(g.state))
    h = ctrng.Generator(0)
    h.state = state
    p = pickle.loads(pickle.dumps(g))
    expected = g.standard_normal(9)
    assert np.array_equal(h.standard_normal(9), expected)
    assert np.array_equal(p.standard_normal(9), expected)
    with pytest.raises(ValueError):
        h.state = {"bit_generator": "something else"}


def test_state_replays_in_a_new_process():
    g = ctrng.Generator(77, rank=5)
    g.random(11)
    state = json.dumps(g.state)
    code = ("import json, sys, ctrng; g = ctrng.Generator(0); g.state = json.loads(sys.argv[1]); "
            "print(repr(g.random(4).tolist()))")
    out = subprocess.run([sys.executable, "-c", code, state], check=True, capture_output=True, text=True)
    assert out.stdout.strip() == repr(g.random(4).tolist())


@pytest.mark.parametrize("before", [
    "g.standard_normal(3)",                     # mid-way through a Box-Muller pair
    "g.standard_normal(5, dtype=np.float32)",
    "g.integers(0, 40000, size=7)",             # 32-bit draws with rejections behind them
    "g.integers(0, 2**40, size=3); g.random(1, dtype=np.float32)",
    "g.permutation(9); g.bernoulli(0.5, size=3)",
])
def test_replay_from_any_point_in_a_new_process(before):
    """A state saved after any mix of draws, restored from JSON in another
    process, continues with identical values of every kind."""
    g = ctrng.Generator(ctrng.Key(2024, rank=7, stream=3, algorithm="threefry4x32"))
    exec(before, {"g": g, "np": np})
    after = ("[g.standard_normal(3).tolist(), g.integers(0, 40000, size=4).tolist(), "
             "g.random(2, dtype=np.float32).tolist(), g.permutation(5).tolist()]")
    code = ("import json, sys, numpy as np, ctrng; g = ctrng.Generator(0); g.state = json.loads(sys.argv[1]); "
            f"print(repr({after}))")
    out = subprocess.run([sys.executable, "-c", code, json.dumps(g.state)], check=True, capture_output=True,
                         text=True)
    assert out.stdout.strip() == repr(eval(after, {"g": g, "np": np}))


def test_stateless_calls_from_many_threads():
    """16 threads each drawing slices of the same streams at once get what one
    thread gets: the stateless functions share nothing mutable."""
    key = ctrng.Key(8)
    expected = {kind: fn(key, 5000) for kind, fn in (("u", ctrng.random), ("z", ctrng.standard_normal))}
    errors = []

    def work(slot):
        for i in range(40):
            start = (slot * 40 + i) % 4000
            if not np.array_equal(ctrng.random(key, 1000, start), expected["u"][start:start + 1000]):
                errors.append(("u", slot, i))
            if not np.array_equal(ctrng.standard_normal(key, 1000, start), expected["z"][start:start + 1000]):
                errors.append(("z", slot, i))

    threads = [threading.Thread(target=work, args=(t,)) for t in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []


def test_advance_and_stream_end():
    g = ctrng.Generator(KEY)
    g.advance(10)
    assert np.array_equal(g.random_raw(3), ctrng.random_raw(KEY, 13)[10:])
    end = ctrng.Generator(KEY)
    end.advance(4 * 2**64 - 2)
    assert end.random_raw(2).shape == (2,)
    with pytest.raises(ValueError, match="end of the stream"):
        end.random_raw(1)
    assert end.position == 4 * 2**64  # the failed call consumed nothing
    with pytest.raises(ValueError):
        ctrng.Generator(KEY).advance(-1)


def test_spawn_rule_and_exhaustion():
    g = ctrng.Generator(ctrng.Key(5, rank=2, stream=3))
    kids = g.spawn(3) + g.spawn(2)
    assert [k.key.stream for k in kids] == [SPAWN_FANOUT * 3 + 1 + j for j in range(5)]
    assert all(k.key.replace(stream=0) == ctrng.Key(5, rank=2) for k in kids)
    g.spawn(SPAWN_FANOUT - 5)
    with pytest.raises(ValueError, match="at most"):
        g.spawn(1)
    deep = ctrng.Generator(ctrng.Key(5, stream=2**32 // SPAWN_FANOUT))
    with pytest.raises(ValueError, match="2\\*\\*32"):
        deep.spawn(1)


def test_spawn_tree_never_repeats_a_stream():
    seen = {0}
    level = [ctrng.Generator(ctrng.Key(11))]
    for _ in range(3):
        nxt = []
        for g in level:
            for child in g.spawn(4) + g.spawn(3):
                assert child.key.stream not in seen
                seen.add(child.key.stream)
                nxt.append(child)
        level = nxt
    assert len(seen) == 1 + 7 + 49 + 343
    firsts = {tuple(g.random_raw(4).tolist()) for g in level}
    assert len(firsts) == len(level)


def test_shared_generator_across_threads_hands_out_disjoint_positions():
    g = ctrng.Generator(ctrng.Key(3))
    results = [[] for _ in range(8)]

    def work(slot):
        for _ in range(300):
            results[slot].append(g.random_raw(7))

    threads = [threading.Thread(target=work, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    drawn = np.sort(np.concatenate([np.concatenate(r) for r in results]))
    assert np.array_equal(drawn, np.sort(ctrng.random_raw(ctrng.Key(3), 8 * 300 * 7)))
    assert g.position == 8 * 300 * 7


def test_bad_arguments():
    with pytest.raises(ValueError, match="root"):
        ctrng.Generator(-1)
    with pytest.raises(TypeError, match="rank"):
        ctrng.Generator(1, rank=1.5)
    with pytest.raises(TypeError, match="either a Key"):
        ctrng.Generator(KEY, rank=2)
    with pytest.raises(ValueError, match="size"):
        ctrng.Generator(KEY).random(size=-1)
    with pytest.raises(TypeError, match="dtype"):
        ctrng.Generator(KEY).random(3, dtype=np.int32)
    with pytest.raises(ValueError, match="threads"):
        ctrng.Generator(KEY, threads=0)


def test_integer_draws_stop_at_element_2_57():
    g = ctrng.Generator(KEY)
    g.advance(2**57 - 1)                         # 32-bit draws: one word each
    assert g.integers(0, 10, size=1)[0] == ctrng.integers(KEY, 0, 10, 1, start=2**57 - 1)[0]
    with pytest.raises(ValueError, match="end of the stream"):
        g.integers(0, 10, size=1)
    assert g.position == 2**57                   # the refused draw consumed nothing
    assert np.array_equal(ctrng.Generator(KEY).bernoulli(1.0, size=3), [True, True, True])


# Small draws come from batches made ahead (generator.AHEAD_MAX): the
# stateless functions at the cursor are the oracle.
_SMALL_DRAWS = [
    ("random", lambda key, n, s: ctrng.random(key, n, s), lambda g, size: g.random(size), 2),
    ("random f32", lambda key, n, s: ctrng.random(key, n, s, np.float32),
     lambda g, size: g.random(size, dtype=np.float32), 1),
    ("standard_normal", lambda key, n, s: ctrng.standard_normal(key, n, s), lambda g, size: g.standard_normal(size), 2),
    ("raw u64", lambda key, n, s: ctrng.random_raw(key, n, s, np.uint64),
     lambda g, size: g.random_raw(size, dtype=np.uint64), 2),
    ("integers(0, 10)", lambda key, n, s: ctrng.integers(key, 0, 10, n, s), lambda g, size: g.integers(0, 10, size), 1),
    ("integers(-5, 2**40)", lambda key, n, s: ctrng.integers(key, -5, 2**40, n, s),
     lambda g, size: g.integers(-5, 2**40, size), 4),
    ("bernoulli(0.3)", lambda key, n, s: ctrng.bernoulli(key, 0.3, n, s), lambda g, size: g.bernoulli(0.3, size), 2),
]


@pytest.mark.parametrize("seed", range(4))
def test_small_mixed_draws_follow_the_stream(seed):
    """Hundreds of small calls of every kind, size and parameter, interleaved
    at random, each equal to the stateless call at the cursor."""
    rng = np.random.default_rng(seed)
    key = ctrng.Key(seed, algorithm=["philox4x32", "threefry4x64"][seed % 2])
    g = ctrng.Generator(key)
    for _ in range(600):
        name, stateless, draw, words = _SMALL_DRAWS[rng.integers(len(_SMALL_DRAWS))]
        size = [None, (), 1, 3, 16, (2, 5), 128, 129, 300][rng.integers(9)]
        start = -(-g.position // words)
        got = draw(g, size)
        n = 1 if size is None or size == () else int(np.prod(size))
        want = stateless(key, n, start)
        if size is None:
            assert np.ndim(got) == 0 and type(got) is type(want[0]) and got == want[0], name
        else:
            assert got.shape == (size if isinstance(size, tuple) else (size,)), name
            assert got.dtype == want.dtype and np.array_equal(got.ravel(), want), name
            assert got.flags.owndata, name  # a fresh array, not a view of values made ahead
        assert g.position == (start + n) * words


def test_small_draws_follow_state_changes():
    g = ctrng.Generator(KEY)
    start = g.state
    g.random(4)
    g.state = start                              # the same elements again
    assert np.array_equal(g.random(8), ctrng.random(KEY, 8))
    other = ctrng.Key(43)
    g.state = dict(g.state, key=other.to_dict())  # same position, another key
    assert np.array_equal(g.random(2), ctrng.random(other, 10)[8:])


def test_small_draws_stop_at_the_stream_end():
    g = ctrng.Generator(KEY)
    g.advance(4 * 2**64 - 6)                     # 3 float64 elements left
    assert np.array_equal(g.random(2), ctrng.random(KEY, 2, 2**65 - 3))
    assert g.random() == ctrng.random(KEY, 1, 2**65 - 1)[0]
    with pytest.raises(ValueError, match="end of the stream"):
        g.random()


def test_small_draws_from_many_threads_hand_out_disjoint_positions():
    g = ctrng.Generator(ctrng.Key(8))
    results = [[] for _ in range(6)]

    def work(slot):
        for j in range(2000):
            results[slot].append(g.random() if j % 3 else g.random(2)[1])

    threads = [threading.Thread(target=work, args=(i,)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    drawn = np.concatenate([np.asarray(r) for r in results])
    assert len(set(drawn.tolist())) == len(drawn) and g.position == 2 * 6 * (2000 + 667)
    assert np.isin(drawn, ctrng.random(ctrng.Key(8), 6 * (2000 + 667))).all()


def test_a_refused_state_changes_nothing():
    g = ctrng.Generator(KEY)
    g.random(3)
    g.spawn(2)
    before = g.state
    other = ctrng.Generator(ctrng.Key(6, rank=2, stream=3, algorithm="philox4x64")).advance(10)
    other.spawn(1)
    good, key = other.state, other.state["key"]
    end = 8 << 64  # philox4x64: 2**64 blocks of 8 words
    bad = [None, 7, list(good.items()), dict(good, extra=1), dict(good, bit_generator="Philox4x32"),
           dict(good, key=7), dict(good, key=dict(key, root=-1)), dict(good, key=dict(key, colour=1)),
           dict(good, key={k: v for k, v in key.items() if k != "stream"}),
           dict(good, position=-1), dict(good, position=end + 1), dict(good, position="5"),
           dict(good, spawned=-1), dict(good, spawned=SPAWN_FANOUT + 1)]
    bad += [{k: v for k, v in good.items() if k != name} for name in ("bit_generator", "key", "position")]
    for state in bad:
        with pytest.raises((TypeError, ValueError)):
            g.state = state
        assert g.state == before, state
    twin = ctrng.Generator(0)
    twin.state = before
    assert np.array_equal(g.random(10), twin.random(10))
    assert [c.key for c in g.spawn(2)] == [c.key for c in twin.spawn(2)]
    g.state = good  # the good one is taken
    assert g.state == good
    with pytest.raises(ValueError, match=r"state is missing 'key': expected a dict from Generator\.state"):
        g.state = bad[-2]
