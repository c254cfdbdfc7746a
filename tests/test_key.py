"""ctrng.Key: validation, value semantics and the version-1 layout words."""

import copy
import hashlib
import os
import pickle
import subprocess
import sys

import numpy as np
import pytest
import reference as ref

import ctrng

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


def test_unpickling_a_bad_dict_names_the_problem():
    rebuild, (fields,) = ctrng.Key(5, rank=2).__reduce__()
    assert rebuild(dict(fields)) == ctrng.Key(5, rank=2)
    with pytest.raises(ValueError, match=r"missing 'rounds': expected a dict from Key\.to_dict\(\)"):
        rebuild({k: v for k, v in fields.items() if k != "rounds"})
    with pytest.raises(ValueError, match="unknown field 'colour'"):
        rebuild(dict(fields, colour=1))
    with pytest.raises(TypeError, match="must be a dict from Key.to_dict"):
        rebuild([("root", 5)])


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


# ---------------------------------------------------------------------------
# Derived keys: Key.child and Key.fold_in (docs/guarantee.md, "Derived keys")
# ---------------------------------------------------------------------------

def _ref_derived_root(key, kind, data):
    """The version-1 derivation hash, from the pure-Python Threefry4x32-20 of
    tests/reference.py (not the C core the library calls)."""
    bits = 8 * {"philox4x32": 8, "philox4x64": 16, "threefry4x32": 16, "threefry4x64": 32}[key.algorithm]
    root_words = [(key.root >> (32 * i)) & 0xFFFFFFFF for i in range(bits // 32)]
    words = [0x63747264, ref.CODES[key.algorithm], key.rounds, kind, len(root_words), 1, *root_words,
             key.rank, key.stream, data]
    words += [0] * (-len(words) % 4)
    h = (0x243F6A88, 0x85A308D3, 0x13198A2E, 0x03707344)
    for b in range(0, len(words), 4):
        m = words[b:b + 4]
        h = tuple(x ^ y for x, y in zip(ref.threefry4x32(m, list(h)), m))
    out = []
    for j in range(-(-bits // 128)):
        out += ref.threefry4x32([j, 0x6F757470, 0, 0], list(h))
    return sum(w << (32 * i) for i, w in enumerate(out[:bits // 32]))


def test_tree_children_follow_the_spawn_rule():
    k = ctrng.Key(5, rank=2, stream=3)
    for j in (0, 1, 100, 255):
        assert k.child(j) == k.replace(stream=256 * 3 + 1 + j) == k.child(j, exact=True)
        assert k.child_in_tree(j)
    last = ctrng.Key(5, stream=2**24 - 1)  # the last parent: children 0..254 fit
    assert last.child(254).stream == 2**32 - 1 and last.child_in_tree(254)
    assert not last.child_in_tree(255) and last.child(255).stream == 0
    over = ctrng.Key(5, stream=2**24)  # 256 * 2**24 + 1 = 2**32 + 1: outside
    assert not over.child_in_tree(0)
    with pytest.raises(ValueError, match="outside the 256-ary tree"):
        over.child(0, exact=True)
    with pytest.raises(ValueError, match="outside"):
        k.child(256, exact=True)


def test_tree_child_streams_are_injective_by_brute_force():
    """Every (parent stream s < 2**12, j < 256) gives its own child stream,
    above its parent (so never an ancestor's), and the parent and j are read
    back from it: the tree numbering is a bijection onto streams >= 1."""
    s = np.repeat(np.arange(2**12, dtype=np.uint64), 256)
    j = np.tile(np.arange(256, dtype=np.uint64), 2**12)
    child = 256 * s + 1 + j
    assert np.unique(child).size == child.size
    assert (child > s).all()
    assert ((child - 1) // 256 == s).all() and ((child - 1) % 256 == j).all()
    for parent in (0, 7, 2**16 - 1, 2**24 - 2):
        k = ctrng.Key(1, stream=parent)
        for jj in (0, 77, 255):
            assert (k.child(jj).stream - 1) // 256 == parent and (k.child(jj).stream - 1) % 256 == jj


def test_small_tree_exhaustively():
    """All nodes of a 3-level tree with fanout 16 are distinct keys."""
    level, seen = [ctrng.Key(9, rank=4)], {ctrng.Key(9, rank=4)}
    for _ in range(3):
        level = [k.child(j) for k in level for j in range(16)]
        assert all(k.root == 9 and k.rank == 4 for k in level)
        seen.update(level)
    assert len(seen) == 1 + 16 + 16**2 + 16**3


@pytest.mark.parametrize("algorithm", ALGS)
def test_hashed_keys_match_the_reference_and_are_pinned(algorithm):
    k = ctrng.Key(2024, rank=3, stream=5, algorithm=algorithm)
    child, folded = k.child(300), k.fold_in(7)
    assert child.root == _ref_derived_root(k, 1, 300)
    assert folded.root == _ref_derived_root(k, 2, 7)
    for d in (child, folded):
        assert (d.rank, d.stream, d.algorithm, d.rounds) == (3, 0, algorithm, k.rounds)
    golden = {
        "philox4x32": (12788827231411621659, 1338249277911260665),
        "philox4x64": (191113598733173859680154023346217605805, 216234823967495161948513252402759917634),
        "threefry4x32": (22777533919222549977801184049734816816, 261329663275147858162737732388759421420),
        "threefry4x64": (67299153455514672842231562427702694864768837099115912284276740153618788248779,
                         80943784737448363732543899118342719947276914015050369229275769418478520805063),
    }
    assert (child.root, folded.root) == golden[algorithm]


def test_hashed_keys_depend_on_every_field():
    k = ctrng.Key(2024, rank=3, stream=5)
    variants = [k, k.replace(root=2025), k.replace(rank=4), k.replace(stream=6), k.replace(rounds=11)]
    roots = {v.fold_in(1).root for v in variants} | {v.child(256).root for v in variants}
    assert len(roots) == 2 * len(variants)
    assert k.fold_in(256) != k.child(256)  # kinds are separated


def test_hashed_roots_are_distinct_over_many_derivations():
    """The probabilistic claim: m hashed 64-bit roots of one rank collide with
    probability below m**2 / 2**65 (about 2**-30 here), so all must differ;
    a chain of fold-ins and out-of-tree children never meets itself either."""
    k = ctrng.Key(1, rank=7)
    roots = {k.fold_in(d).root for d in range(20000)}
    roots |= {k.child(j).root for j in range(256, 20256)}
    chain = k
    for i in range(5000):
        chain = chain.fold_in(i % 3) if i % 2 else chain.child(10**6)
        roots.add(chain.root)
    assert len(roots) == 45000
    assert 1 not in roots


def test_derivation_argument_checks():
    k = ctrng.Key(1)
    for bad in (-1, 2**32):
        with pytest.raises(ValueError):
            k.fold_in(bad)
        with pytest.raises(ValueError):
            k.child(bad)
    for bad in (1.0, None, True, "1"):
        with pytest.raises(TypeError):
            k.fold_in(bad)
        with pytest.raises(TypeError):
            k.child(bad)
    assert k.fold_in(np.uint32(5)) == k.fold_in(5)
