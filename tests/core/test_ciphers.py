"""The four block ciphers and the version-1 stream layout.

Oracles: Random123's known-answer file (tests/data/random123_kat_vectors.txt,
read at run time), the pure-Python ciphers of tests/reference.py (written from
the algorithm description and themselves checked against the same file), and
NumPy's own Philox (Philox4x64-10) for the philox4x64 layout.
"""

import numpy as np
import pytest
import reference as ref

import ctrng
from ctrng._core import bridge, kinds
from ctrng._core.bridge import ffi, lib

KAT = ref.kat_lines()
KAT_IDS = [f"{name}-R{rounds}-{'-'.join('%x' % c for c in ctr[:1])}-{i}"
           for i, (name, rounds, ctr, _, _) in enumerate(KAT)]
ISAS = ctrng.available_isas()


def c_block(algorithm, rounds, ctr, key):
    out = ffi.new("uint64_t[4]")
    key = list(key) + [0] * (4 - len(key))
    err = lib.ctrng_block(ref.CODES[algorithm], rounds, list(ctr), key, out)
    assert err == 0
    return tuple(out)


# ---------------------------------------------------------------------------
# Known answers
# ---------------------------------------------------------------------------

def test_kat_file_covers_every_algorithm_and_round_count():
    """The parser really found the lines the contract names (a parser that
    found nothing would make the KAT tests below vacuous)."""
    seen = {}
    for name, rounds, *_ in KAT:
        seen.setdefault(name, set()).add(rounds)
    assert seen == {"philox4x32": {7, 10}, "philox4x64": {7, 10},
                    "threefry4x32": {13, 20, 72}, "threefry4x64": {13, 20, 72}}
    assert len(KAT) == 30  # 3 lines (zeros, all ones, digits of pi) per (name, rounds)


@pytest.mark.parametrize("name, rounds, ctr, key, expected", KAT, ids=KAT_IDS)
def test_kat_c_block(name, rounds, ctr, key, expected):
    assert c_block(name, rounds, ctr, key) == expected


@pytest.mark.parametrize("name, rounds, ctr, key, expected", KAT, ids=KAT_IDS)
def test_kat_python_reference(name, rounds, ctr, key, expected):
    assert ref.CIPHERS[name](ctr, key, rounds) == expected


def _kat_as_stream(name, ctr, key):
    """(Key, block index) whose block is the KAT input, or None when the
    counter cannot be expressed in the version-1 layout."""
    root = sum(k << (ref.WORD_BITS[name] * i) for i, k in enumerate(key))
    if ref.WORD_BITS[name] == 32:
        return (root, ctr[3], ctr[2]), ctr[0] | ctr[1] << 32
    if ctr[3] != 0 or ctr[1] >> 32 or ctr[2] >> 32:
        return None
    return (root, ctr[2], ctr[1]), ctr[0]


STREAM_KAT = [(n, r, c, k, e) for (n, r, c, k, e) in KAT if _kat_as_stream(n, c, k) is not None]


def test_stream_kat_selection_is_not_empty():
    names = {row[0] for row in STREAM_KAT}
    assert names == set(ref.ALGORITHMS)
    # every 4x32 line; for 4x64 only the all-zero lines fit [p, stream, rank, 0]
    assert len(STREAM_KAT) == 6 + 9 + 2 + 3


@pytest.mark.parametrize("isa", ISAS)
@pytest.mark.parametrize("name, rounds, ctr, key, expected", STREAM_KAT)
def test_kat_through_the_fill_path(name, rounds, ctr, key, expected, isa):
    """A KAT input written as (root, rank, stream, block) in the version-1
    layout comes out of the bulk fill unchanged, on every code path: both as
    a lone block (partial group) and inside a long run of blocks."""
    (root, rank, stream), p = _kat_as_stream(name, ctr, key)
    k = ctrng.Key(root, rank=rank, stream=stream, algorithm=name, rounds=rounds)
    per_block = 4 * ref.WORD_BITS[name] // 32        # uint32 elements per block

    def as_words(u32):                               # uint32 elements -> cipher words
        u32 = [int(v) for v in u32]
        if per_block == 4:
            return tuple(u32)
        return tuple(u32[2 * i] | u32[2 * i + 1] << 32 for i in range(len(u32) // 2))

    out = np.empty(per_block, np.uint32)
    bridge.fill(k, kinds.RAW32, p * per_block, per_block, out, isa=isa)
    assert as_words(out) == expected
    # the same block inside a long aligned run (whole SIMD groups and chunks)
    n_blocks = 300
    first = min(max(p - 150, 0), (1 << 64) - n_blocks)
    big = np.empty(n_blocks * per_block, np.uint32)
    bridge.fill(k, kinds.RAW32, first * per_block, big.size, big, isa=isa, threads=1)
    j = (p - first) * per_block
    assert as_words(big[j:j + per_block]) == expected
    dt = np.uint32 if per_block == 4 else np.uint64
    assert tuple(int(v) for v in ctrng.random_raw(k, 4, start=4 * p, dtype=dt)) == expected
    assert k.block(p) == expected


# ---------------------------------------------------------------------------
# C block function against the reference at other inputs and round counts
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("name", ref.ALGORITHMS)
def test_c_block_matches_reference_at_every_round_count(name):
    rng = np.random.default_rng(20240601)
    bits = ref.WORD_BITS[name]
    for rounds in list(range(0, 26)) + [31, 32, 33, 72, 100]:
        for _ in range(4):
            ctr = tuple(int(v) for v in rng.integers(0, 1 << bits, 4, dtype=np.uint64))
            key = tuple(int(v) for v in rng.integers(0, 1 << bits, ref.KEY_WORDS[name], dtype=np.uint64))
            assert c_block(name, rounds, ctr, key) == ref.CIPHERS[name](ctr, key, rounds), (rounds, ctr, key)


@pytest.mark.parametrize("name", ["philox4x32", "threefry4x32"])
def test_c_block_4x32_uses_low_words_only(name):
    """ctrng.h: the 4x32 ciphers read the low 32 bits of each 64-bit slot."""
    ctr = (0x243F6A88, 0x85A308D3, 0x13198A2E, 0x03707344)
    key = (0xA4093822, 0x299F31D0, 0x082EFA98, 0xEC4E6C89)[:ref.KEY_WORDS[name]]
    junk = 0xDEADBEEF00000000
    assert c_block(name, 10, [c | junk for c in ctr], [k | junk for k in key]) == \
        ref.CIPHERS[name](ctr, key, 10)


def test_c_block_rejects_bad_arguments():
    out = ffi.new("uint64_t[4]")
    assert lib.ctrng_block(4, 10, [0] * 4, [0] * 4, out) == -1        # CTRNG_EALGORITHM
    assert lib.ctrng_block(-1, 10, [0] * 4, [0] * 4, out) == -1
    assert lib.ctrng_block(0, -1, [0] * 4, [0] * 4, out) == -4        # CTRNG_EROUNDS
    assert lib.ctrng_block(0, 1025, [0] * 4, [0] * 4, out) == -4


# ---------------------------------------------------------------------------
# Stream layout, version 1: random_raw == cipher(documented key, counter)
# ---------------------------------------------------------------------------

TOP = {a: (1 << ref.ROOT_BITS[a]) - 1 for a in ref.ALGORITHMS}
LAYOUT_KEYS = [
    # (root, rank, stream)
    (0, 0, 0),
    (1, 0, 0),
    (123456789, 7, 3),
    ("top", (1 << 32) - 1, (1 << 32) - 1),      # every field at its largest value
    ("top", 0, (1 << 32) - 1),
    (0x0123456789ABCDEF, (1 << 32) - 1, 0),
    ("mixed", 1 << 31, 0x80000001),
]
# Element starts (uint32 view) and lengths; block indices cross 2**32 (the
# carry into counter word 1 of the 4x32 ciphers) and reach the end of the
# stream (block 2**64 - 1).
LAYOUT_RANGES = [
    (0, 1), (0, 67), (3, 5), (13, 130),
    (4 * (1 << 32) - 5, 11),          # 4x32: blocks 2**32 - 2 .. 2**32 + 1
    (4 * (1 << 32) - 37, 80),         # crosses 2**32 inside a whole-group run
    (8 * (1 << 32) - 9, 19),          # 4x64: crosses block 2**31 (uint32 elements count double)
    (8 * (1 << 32) - 3, 70),
    (4 * (1 << 33) - 1, 2),           # 4x32: 2**33, carry to ctr[1] = 2
    (4 * (1 << 64) - 41, 41),         # the last words of a 4x32 stream
]


def _root(algorithm, spec):
    if spec == "top":
        return TOP[algorithm]
    if spec == "mixed":
        bits = ref.ROOT_BITS[algorithm]
        return sum((0xF0E1D2C3B4A59687 ^ (i * 0x9E3779B97F4A7C15)) % (1 << 64) << (64 * i)
                   for i in range(bits // 64)) % (1 << bits)
    return spec


@pytest.mark.parametrize("algorithm", ref.ALGORITHMS)
@pytest.mark.parametrize("root, rank, stream", LAYOUT_KEYS)
def test_random_raw_follows_layout_v1(algorithm, root, rank, stream):
    root = _root(algorithm, root)
    key = ctrng.Key(root, rank=rank, stream=stream, algorithm=algorithm)
    for start, n in LAYOUT_RANGES:
        if ref.WORD_BITS[algorithm] == 64 and start + n > 8 * (1 << 64):
            continue
        expected = ref.raw_words(algorithm, root, rank, stream, start, n, np.uint32)
        got = ctrng.random_raw(key, n, start=start, dtype=np.uint32)
        assert got.tolist() == expected, (start, n)
        # the uint64 view of the same stretch (elements count 8 bytes)
        s64, n64 = start // 2, (n + 1) // 2
        expected64 = ref.raw_words(algorithm, root, rank, stream, s64, n64, np.uint64)
        assert ctrng.random_raw(key, n64, start=s64, dtype=np.uint64).tolist() == expected64, (s64, n64)


@pytest.mark.parametrize("algorithm", ref.ALGORITHMS)
def test_last_words_of_every_stream(algorithm):
    """The final block 2**64 - 1 is reachable, and nothing lies past it."""
    key = ctrng.Key(99, rank=5, stream=6, algorithm=algorithm)
    per_block = 4 * ref.WORD_BITS[algorithm] // 32            # uint32 words a block
    end = per_block << 64
    got = ctrng.random_raw(key, 3 * per_block, start=end - 3 * per_block)
    assert got.tolist() == ref.raw_words(algorithm, 99, 5, 6, end - 3 * per_block, 3 * per_block, np.uint32)
    assert key.block((1 << 64) - 1) == ref.stream_block(algorithm, 99, 5, 6, (1 << 64) - 1)
    with pytest.raises(ValueError, match="start"):
        ctrng.random_raw(key, 1, start=end)


@pytest.mark.parametrize("algorithm", ref.ALGORITHMS)
def test_uint64_view_is_pairs_of_uint32(algorithm):
    """SPEC: for 4x32, u64 element i = word 2j+1 << 32 | word 2j; for 4x64
    uint32 elements 2i, 2i+1 are the low, high halves of u64 element i."""
    key = ctrng.Key(2024, rank=3, stream=1, algorithm=algorithm)
    u32 = ctrng.random_raw(key, 202, start=6).tolist()
    u64 = ctrng.random_raw(key, 101, start=3, dtype=np.uint64).tolist()
    assert u64 == [u32[2 * i] | u32[2 * i + 1] << 32 for i in range(101)]


@pytest.mark.parametrize("algorithm", ref.ALGORITHMS)
@pytest.mark.parametrize("rounds", [1, 5, 7, 13, 16])
def test_non_default_rounds_follow_the_layout(algorithm, rounds):
    key = ctrng.Key(0xABCDEF, rank=2, stream=11, algorithm=algorithm, rounds=rounds)
    got = ctrng.random_raw(key, 150, start=7)
    assert got.tolist() == ref.raw_words(algorithm, 0xABCDEF, 2, 11, 7, 150, np.uint32, rounds)


@pytest.mark.parametrize("isa", ISAS)
@pytest.mark.parametrize("algorithm", ref.ALGORITHMS)
def test_every_code_path_follows_the_layout(algorithm, isa):
    """The raw kernels of each instruction set, against the reference, on a
    run long enough for whole SIMD groups and chunks, starting mid-block."""
    root = _root(algorithm, "mixed")
    key = ctrng.Key(root, rank=(1 << 32) - 2, stream=77, algorithm=algorithm)
    start, n = 4 * (1 << 32) - 1001, 2100
    out = np.empty(n, np.uint32)
    bridge.fill(key, kinds.RAW32, start, n, out, isa=isa, threads=1)
    assert out.tolist() == ref.raw_words(algorithm, root, (1 << 32) - 2, 77, start, n, np.uint32)


# ---------------------------------------------------------------------------
# NumPy's Philox is Philox4x64-10: an independent implementation of the layout
# ---------------------------------------------------------------------------

def numpy_philox(root, rank, stream, first_block):
    """NumPy increments its 256-bit counter before each block, so start it one
    below [first_block, stream, rank, 0] (as a little-endian 256-bit integer)."""
    counter = (first_block | stream << 64 | rank << 128) - 1
    return np.random.Philox(key=root, counter=counter % (1 << 256))


@pytest.mark.parametrize("root, rank, stream, first_block", [
    (7 + (5 << 64), 2, 9, 0),
    (0, 0, 0, 0),                                   # counter - 1 borrows through every word
    (1, 3, 0, 0),                                   # borrow from the rank word
    ((1 << 128) - 1, (1 << 32) - 1, (1 << 32) - 1, 12345),
    (0xFEEDFACECAFEBEEF, 1, 2, (1 << 32) - 3),
    (42, 0, 1, (1 << 64) - 50),
])
def test_philox4x64_matches_numpy_philox(root, rank, stream, first_block):
    key = ctrng.Key(root, rank=rank, stream=stream, algorithm="philox4x64")
    n = 4 * 50
    expected = numpy_philox(root, rank, stream, first_block).random_raw(n)
    got = ctrng.random_raw(key, n, start=4 * first_block, dtype=np.uint64)
    assert np.array_equal(got, expected)
