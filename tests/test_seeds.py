"""ctrng.derive_seed: a keyed bijection of rank << 32 | stream per root."""

import numpy as np
import pytest
import reference as ref

import ctrng
from ctrng.seeds import ROUNDS, SEED_RANK


def _reference(root, rank, stream):
    """The Feistel network with the pure-Python Philox4x32-10."""
    left, right = rank, stream
    for r in range(ROUNDS):
        left, right = right, left ^ ref.stream_block("philox4x32", root, SEED_RANK, r, right)[0]
    return left << 32 | right


@pytest.mark.parametrize("root, rank, stream", [(0, 0, 0), (2024, 3, 1), (2**64 - 1, 2**32 - 1, 2**32 - 1)])
def test_matches_the_reference(root, rank, stream):
    seed = ctrng.derive_seed(root, rank, stream)
    assert seed == _reference(root, rank, stream)
    assert ctrng.derive_seed(root, rank, stream, bits=32) == (seed >> 32) ^ (seed & 0xFFFFFFFF)


def test_golden_values():
    assert [ctrng.derive_seed(2024, rank=r) for r in range(3)] == GOLDEN


GOLDEN = [15189082774306076610, 13563095560412511323, 8473715943239623558]


def test_distinct_pairs_get_distinct_seeds():
    """A grid of 64 ranks x 64 streams for 20 roots, the seed + rank pairs,
    and the inverse network recovering (rank, stream) from a seed."""
    for root in range(20):
        seeds = {ctrng.derive_seed(root, rank, stream) for rank in range(64) for stream in range(64)}
        assert len(seeds) == 64 * 64
    for r in range(100):
        assert ctrng.derive_seed(r + 1, rank=0) != ctrng.derive_seed(r, rank=1)


def test_the_network_inverts():
    """Running the rounds backwards gives (rank, stream) back: a bijection."""
    root = 99
    for rank, stream in [(0, 0), (5, 7), (2**32 - 1, 12345)]:
        seed = ctrng.derive_seed(root, rank, stream)
        left, right = seed >> 32, seed & 0xFFFFFFFF
        for r in reversed(range(ROUNDS)):
            key = ctrng.Key(root, rank=SEED_RANK, stream=r)
            left, right = right ^ (key.block(left)[0] & 0xFFFFFFFF), left
        assert (left, right) == (rank, stream)


def test_seeds_work_as_framework_seeds():
    a = np.random.default_rng(ctrng.derive_seed(7, rank=1)).random(3)
    b = np.random.default_rng(ctrng.derive_seed(7, rank=1)).random(3)
    assert np.array_equal(a, b)
    assert 0 <= ctrng.derive_seed("experiment-12", rank=4, bits=32) < 2**32


def test_bad_input():
    with pytest.raises(ValueError, match="bits"):
        ctrng.derive_seed(1, bits=16)
    with pytest.raises(ValueError, match="rank"):
        ctrng.derive_seed(1, rank=2**32)
    with pytest.raises(TypeError, match="stream"):
        ctrng.derive_seed(1, stream=1.0)
    with pytest.raises(ValueError, match="root"):
        ctrng.derive_seed(2**64)


def test_a_root_drawn_from_the_os_is_refused():
    """derive_seed(None) would give a new, unrepeatable seed on every call."""
    with pytest.raises(TypeError, match="root .*not None"):
        ctrng.derive_seed(None)
    with pytest.raises(TypeError, match="root .*not None"):
        ctrng.derive_seed(None, rank=1, bits=32)
