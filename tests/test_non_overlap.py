"""Non-overlap by construction (docs/guarantee.md): distinct (algorithm,
root, rank, stream, position) tuples never share a cipher input.  These
tests check it on the grids users actually hit."""

import numpy as np
import pytest

import ctrng

ALGS = ["philox4x32", "philox4x64", "threefry4x32", "threefry4x64"]


@pytest.mark.parametrize("algorithm, roots", [("philox4x32", 1000), ("philox4x64", 100), ("threefry4x32", 100),
                                              ("threefry4x64", 100)])
def test_first_blocks_of_a_whole_grid_are_distinct(algorithm, roots):
    """Block 0 of every (root < roots, rank < 64, stream < 4): all distinct
    (a collision among 256 000 random 128-bit blocks has probability about
    2**-94, so a repeat would mean shared cipher inputs)."""
    seen = set()
    for root in range(roots):
        for rank in range(64):
            for stream in range(4):
                seen.add(ctrng.Key(root, rank=rank, stream=stream, algorithm=algorithm).block(0))
    assert len(seen) == roots * 64 * 4


@pytest.mark.parametrize("algorithm", ALGS)
def test_seed_plus_rank_pairs_draw_different_numbers(algorithm):
    """Run A (root r + 1, rank 0) and run B (root r, rank 1), for 1000 r: the
    pairs that `seed + rank` makes identical share not one of their first 64
    uint64 words."""
    for r in range(1000):
        a = ctrng.random_raw(ctrng.Key(r + 1, rank=0, algorithm=algorithm), 64, dtype=np.uint64)
        b = ctrng.random_raw(ctrng.Key(r, rank=1, algorithm=algorithm), 64, dtype=np.uint64)
        assert not np.intersect1d(a, b).size  # 64 * 64 / 2**64: never by chance


def test_spawn_trees_stay_inside_their_parent_rank():
    """Spawned generators keep the parent's root and rank, so they can never
    meet another rank's streams; inside the rank their streams are those of
    the documented rule and never repeat (see also test_generator)."""
    root = ctrng.Generator(ctrng.Key(5, rank=9))
    level, seen = [root], {(9, 0)}
    for _ in range(3):
        nxt = []
        for g in level:
            for child in g.spawn(5):
                k = child.key
                assert (k.root, k.rank) == (5, 9)
                assert (k.rank, k.stream) not in seen
                seen.add((k.rank, k.stream))
                nxt.append(child)
        level = nxt
    assert len(seen) == 1 + 5 + 25 + 125
