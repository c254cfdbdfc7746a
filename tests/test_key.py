"""ctrng.Key: validation, value semantics and the version-1 layout words."""

import copy
import hashlib
import os
import pickle
import subprocess
import sys

import numpy as np
import pytest

import ctrng
import reference as ref

ALGS = ref.ALGORITHMS


# ---------------------------------------------------------------------------
# Layout words
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("algorithm", ALGS)
@pytest.mark.parametrize("root_kind", ["zero", "small", "top", "pattern"])
def test_key_and_counter_words_follow_layout_v1(algorithm, root_kind):
    bits = ref.ROOT_BITS[algorithm]
    root = {"zero": 0, "small": 0xDEADBEEF, "top": (1 << bits) - 1,
            "pattern": int.from_bytes(bytes(range(1, bits // 8 + 1)), "little")}[root_kind]
    for rank, stream in [(0, 0), (1, 2), ((1 << 32) - 1, (1 << 32) - 1), (5, (1 << 32) - 1)]:
        key = ctrng.Key(root, rank=rank, stream=stream, algorithm=algorithm)
        assert key.key_words == ref.layout_key(algorithm, root)
        for p in [0, 1, (1 << 32) - 1, 1 << 32, (1 << 32) + 1, (1 << 63) + 5, (1 << 64) - 1]:
            assert key.counter_words(p) == ref.layout_counter(algorithm, rank, stream, p)
            if p in (0, (1 << 32) + 1, (1 << 64) - 1):
                assert key.block(p) == ref.stream_block(algorithm, root, rank, stream, p)


def test_counter_words_rejects_out_of_range_blocks():
    key = ctrng.Key(1)
    with pytest.raises(ValueError, match="block"):
        key.counter_words(1 << 64)
    with pytest.raises(ValueError, match="block"):
        key.block(-1)
    with pytest.raises(TypeError, match="block"):
        key.block(1.0)


def test_known_collision_of_seed_plus_rank_does_not_happen():
    """SPEC: run A (root 100, rank 1) and run B (root 101, rank 0) collide
    under seed + rank; under ctrng their cipher inputs and outputs differ."""
    a, b = ctrng.Key(100, rank=1), ctrng.Key(101, rank=0)
    assert (a.key_words, a.counter_words(0)) != (b.key_words, b.counter_words(0))
    wa, wb = ctrng.random_raw(a, 1000), ctrng.random_raw(b, 1000)
    assert len(set(wa.tolist()) & set(wb.tolist())) < 5  # ~1000**2 / 2**32 = 0.0002 expected


@pytest.mark.parametrize("algorithm", ALGS)
def test_distinct_tuples_give_distinct_cipher_inputs(algorithm):
    """The map (root, rank, stream, block) -> (key words, counter words) is
    injective on a grid including the boundary values."""
    bits = ref.ROOT_BITS[algorithm]
    roots = [0, 1, 2, 1 << 32, (1 << 32) - 1, (1 << bits) - 1, 1 << (bits - 1)]
    small = [0, 1, (1 << 31), (1 << 32) - 1]
    blocks = [0, 1, (1 << 32) - 1, 1 << 32, (1 << 64) - 1]
    seen = set()
    count = 0
    for root in roots:
        for rank in small:
            for stream in small:
                key = ctrng.Key(root, rank=rank, stream=stream, algorithm=algorithm)
                for p in blocks:
                    seen.add((key.key_words, key.counter_words(p)))
                    count += 1
    assert len(seen) == count


# ---------------------------------------------------------------------------
# Validation
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("algorithm", ALGS)
def test_root_limits(algorithm):
    bits = ref.ROOT_BITS[algorithm]
    assert ctrng.Key((1 << bits) - 1, algorithm=algorithm).root == (1 << bits) - 1
    assert ctrng.Key(np.uint64(2**64 - 1), algorithm=algorithm).root == 2**64 - 1
    with pytest.raises(ValueError, match="root"):
        ctrng.Key(1 << bits, algorithm=algorithm)
    with pytest.raises(ValueError, match="root"):
        ctrng.Key(-1, algorithm=algorithm)
    with pytest.raises(ValueError, match="root"):
        ctrng.Key(-(1 << bits), algorithm=algorithm)  # no silent wrapping


@pytest.mark.parametrize("bad, exc", [
    (1.0, TypeError), (2.5, TypeError), (np.float64(3.0), TypeError), (True, TypeError),
    (False, TypeError), (np.bool_(True), TypeError), (1 + 0j, TypeError), ([1], TypeError),
    (object(), TypeError),
])
def test_root_wrong_type(bad, exc):
    with pytest.raises(exc, match="root"):
        ctrng.Key(bad)


@pytest.mark.parametrize("field", ["rank", "stream"])
@pytest.mark.parametrize("bad, exc", [
    (-1, ValueError), (1 << 32, ValueError), (1 << 64, ValueError), (-(1 << 32), ValueError),
    (1.0, TypeError), (0.5, TypeError), (True, TypeError), (False, TypeError),
    (None, TypeError), ("3", TypeError), (np.float32(1), TypeError),
])
@pytest.mark.parametrize("algorithm", ALGS)
def test_rank_and_stream_validation(field, bad, exc, algorithm):
    with pytest.raises(exc, match=field):
        ctrng.Key(1, algorithm=algorithm, **{field: bad})


@pytest.mark.parametrize("field", ["rank", "stream"])
def test_rank_and_stream_accept_their_largest_value_and_numpy_ints(field):
    key = ctrng.Key(1, **{field: np.uint32(2**32 - 1)})
    assert getattr(key, field) == 2**32 - 1 and type(getattr(key, field)) is int


@pytest.mark.parametrize("bad", ["philox2x32", "PHILOX4X32", "aesni4x32", "", None, 0, b"philox4x32"])
def test_unknown_algorithm(bad):
    with pytest.raises(ValueError, match="algorithm"):
        ctrng.Key(1, algorithm=bad)


@pytest.mark.parametrize("bad, exc", [(0, ValueError), (-1, ValueError), (1025, ValueError),
                                      (10.0, TypeError), (True, TypeError)])
def test_rounds_validation(bad, exc):
    with pytest.raises(exc, match="rounds"):
        ctrng.Key(1, rounds=bad)


def test_default_rounds():
    assert [ctrng.Key(1, algorithm=a).rounds for a in ALGS] == [10, 10, 20, 20]
    assert ctrng.Key(1).algorithm == "philox4x32"
    assert ctrng.Key(1, rounds=10) == ctrng.Key(1)
    assert ctrng.Key(1, rounds=7) != ctrng.Key(1)


# ---------------------------------------------------------------------------
# Text and entropy roots
# ---------------------------------------------------------------------------

# Pinned: the version-1 mapping of text roots.  Changing it would silently
# change every stream users seeded with a name.
TEXT_ROOTS = {
    "philox4x32": 12391979711261415836,
    "philox4x64": 322504292713621948190059983577543973276,
    "threefry4x32": 322504292713621948190059983577543973276,
    "threefry4x64": 71147637265810182264028853483273195816227832493699371241363738662238103640476,
}


@pytest.mark.parametrize("algorithm", ALGS)
def test_text_roots_are_pinned(algorithm):
    assert ctrng.Key("experiment-1", algorithm=algorithm).root == TEXT_ROOTS[algorithm]
    assert ctrng.Key(b"experiment-1", algorithm=algorithm).root == TEXT_ROOTS[algorithm]


def test_text_root_is_a_hash_truncated_to_the_key_width():
    """Narrower keys take the low bits of the same digest, and the root is a
    keyed BLAKE2b digest (not Python's randomised hash)."""
    wide = ctrng.Key("run-7", algorithm="threefry4x64").root
    for a in ALGS:
        bits = ref.ROOT_BITS[a]
        assert ctrng.Key("run-7", algorithm=a).root == wide % (1 << bits)
    digest = hashlib.blake2b(b"ctrng root v1\x00" + b"run-7", digest_size=64).digest()
    assert wide == int.from_bytes(digest[:32], "little")


def test_text_roots_str_bytes_bytearray_agree_and_differ_by_text():
    s = "naïve – résumé"
    k = ctrng.Key(s, rank=3)
    assert k == ctrng.Key(s.encode("utf-8"), rank=3) == ctrng.Key(bytearray(s.encode("utf-8")), rank=3)
    assert k.root < 1 << 64
    roots = {ctrng.Key(t).root for t in ["", "a", "b", "ab", "ba", "a ", "A", b"\x00", b"\x00\x00"]}
    assert len(roots) == 9
    assert ctrng.Key("", algorithm="threefry4x64").root.bit_length() > 200  # uses the whole width


def test_text_roots_are_the_same_in_another_process():
    code = "import ctrng; print(ctrng.Key('experiment-1', algorithm='threefry4x64').root)"
    env = dict(os.environ, PYTHONHASHSEED="12345")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
    assert int(out.stdout) == TEXT_ROOTS["threefry4x64"]


@pytest.mark.parametrize("algorithm", ALGS)
def test_none_root_draws_entropy_and_replays(algorithm):
    """False-alarm rate: two draws of k >= 64 bits collide with probability
    2**-64; 8 draws all below 2**(k-8) with probability 2**-64."""
    bits = ref.ROOT_BITS[algorithm]
    keys = [ctrng.Key(None, rank=2, stream=1, algorithm=algorithm) for _ in range(8)]
    roots = [k.root for k in keys]
    assert all(isinstance(r, int) and 0 <= r < 1 << bits for r in roots)
    assert len(set(roots)) == 8
    assert max(r.bit_length() for r in roots) > bits - 8
    k = keys[0]
    replay = ctrng.Key(k.root, rank=2, stream=1, algorithm=algorithm)
    assert replay == k
    assert np.array_equal(ctrng.random_raw(replay, 100), ctrng.random_raw(k, 100))
    assert np.array_equal(ctrng.random_raw(pickle.loads(pickle.dumps(k)), 100), ctrng.random_raw(k, 100))


# ---------------------------------------------------------------------------
# Value semantics
# ---------------------------------------------------------------------------

def test_equality_and_hash_by_value():
    a = ctrng.Key(5, rank=1, stream=2)
    b = ctrng.Key(np.int64(5), rank=np.uint8(1), stream=2)
    assert a == b and hash(a) == hash(b) and a is not b
    assert len({a, b}) == 1
    assert {a: "x"}[b] == "x"
    others = [ctrng.Key(6, rank=1, stream=2), ctrng.Key(5, rank=0, stream=2), ctrng.Key(5, rank=1, stream=3),
              ctrng.Key(5, rank=1, stream=2, algorithm="threefry4x32"), ctrng.Key(5, rank=1, stream=2, rounds=9)]
    for o in others:
        assert a != o and not (a == o)
    assert len({a, *others}) == 6
    assert a != (5, 1, 2) and a != 5 and a is not None


def test_key_is_immutable():
    key = ctrng.Key(5, rank=1)
    for name, value in [("root", 6), ("rank", 2), ("stream", 3), ("algorithm", "philox4x64"),
                        ("rounds", 3), ("_root", 6), ("new_attr", 1)]:
        with pytest.raises(AttributeError):
            setattr(key, name, value)
    with pytest.raises(AttributeError):
        del key.root
    with pytest.raises(AttributeError):
        del key._rank
    assert (key.root, key.rank, key.stream) == (5, 1, 0)
    assert np.array_equal(ctrng.random_raw(key, 8), ctrng.random_raw(ctrng.Key(5, rank=1), 8))


@pytest.mark.parametrize("algorithm", ALGS)
def test_pickle_and_copy_round_trip(algorithm):
    key = ctrng.Key((1 << ref.ROOT_BITS[algorithm]) - 3, rank=(1 << 32) - 1, stream=9,
                    algorithm=algorithm, rounds=13)
    ctrng.random_raw(key, 4)  # the cached C stream must not leak into the pickle
    for proto in range(pickle.HIGHEST_PROTOCOL + 1):
        back = pickle.loads(pickle.dumps(key, protocol=proto))
        assert back == key and hash(back) == hash(key)
        assert (back.root, back.rank, back.stream, back.algorithm, back.rounds) == \
            (key.root, key.rank, key.stream, key.algorithm, key.rounds)
        assert np.array_equal(ctrng.random_raw(back, 64, start=5), ctrng.random_raw(key, 64, start=5))
    assert copy.copy(key) == key and copy.deepcopy(key) == key


def test_repr_to_dict_and_replace():
    key = ctrng.Key(2024, rank=3, stream=4, algorithm="threefry4x64")
    assert eval(repr(key), {"Key": ctrng.Key}) == key
    k7 = key.replace(rounds=7)
    assert eval(repr(k7), {"Key": ctrng.Key}) == k7 and k7.rounds == 7
    d = key.to_dict()
    assert d == {"root": 2024, "rank": 3, "stream": 4, "algorithm": "threefry4x64", "rounds": 20}
    assert ctrng.Key(**d) == key
    moved = key.replace(rank=9)
    assert moved == ctrng.Key(2024, rank=9, stream=4, algorithm="threefry4x64") and key.rank == 3
    with pytest.raises(ValueError, match="rank"):
        key.replace(rank=-1)
    with pytest.raises(TypeError):
        key.replace(colour="red")


def test_key_docstring_warns_it_is_not_cryptographic():
    assert "secrets" in ctrng.Key.__doc__ and "not a cryptographic" in ctrng.Key.__doc__
