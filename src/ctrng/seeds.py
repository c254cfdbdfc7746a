"""`derive_seed`: a safe integer seed for frameworks that only take one.

Many libraries (``torch.manual_seed``, ``tf.random.set_seed``,
``np.random.default_rng``, ``random.seed``, ``jax.random.key``) take a single
integer.  ``seed + rank`` collides across runs; a plain hash of
(root, rank, stream) collides with small probability.  ``derive_seed`` is a
keyed bijection instead: for a fixed root, the 64-bit value
``rank << 32 | stream`` goes through an 8-round Feistel network whose round
function is Philox4x32-10 keyed by the root (round r of input x is word 0
of block x of ``Key(root, rank=SEED_RANK, stream=r)``).  A Feistel network
is a permutation whatever its round function, so distinct (rank, stream)
pairs of one root always get distinct 64-bit seeds.

With ``bits=32`` the seed is the 64-bit one folded to 32 bits (high half
XOR low half): no longer injective, two given pairs share a seed with
probability 2**-32, and among m pairs some two do with probability about
m**2 / 2**33 (1 % at m = 9300).  Prefer 64 bits where the API takes them.
"""

from __future__ import annotations

from ._core.checks import check_int
from .key import Key

__all__ = ["derive_seed", "SEED_RANK"]

# The rank whose streams key the rounds: next to ctrng.init's 2**32 - 1 and
# the sampler's 2**32 - 2, far from the worker ranks 0, 1, ...
SEED_RANK = 2**32 - 3
ROUNDS = 8
_M32 = 0xFFFFFFFF


def derive_seed(root, rank=0, stream=0, bits=64):
    """A seed in [0, 2**bits) for (root, rank, stream), distinct for
    distinct (rank, stream) of one root when bits = 64.

    `root` is any root ``ctrng.Key`` accepts for philox4x32 (an int below
    2**64, or a str / bytes) except ``None``: a seed must be reproducible,
    and one derived from a root drawn afresh on every call never is (draw
    ``ctrng.Key(None).root`` once, keep it, and pass that).  Rank and stream
    are below 2**32.

    Examples
    --------
    >>> import ctrng, numpy as np
    >>> s = ctrng.derive_seed(2024, rank=3)
    >>> 0 <= s < 2**64 and s != ctrng.derive_seed(2025, rank=2)
    True
    >>> rng = np.random.default_rng(ctrng.derive_seed(2024, rank=3, stream=1))
    >>> 0 <= ctrng.derive_seed(2024, rank=3, bits=32) < 2**32
    True
    """
    if root is None:
        raise TypeError("root must be an int, str or bytes, not None: a seed derived from a root drawn "
                        "afresh on every call is never reproducible (keep ctrng.Key(None).root and pass it)")
    rank = check_int(rank, "rank", 1 << 32)
    stream = check_int(stream, "stream", 1 << 32)
    if bits not in (32, 64) or isinstance(bits, bool):
        raise ValueError(f"bits must be 32 or 64, got {bits!r}")
    keys = [Key(root, rank=SEED_RANK, stream=r) for r in range(ROUNDS)]
    left, right = rank, stream
    for key in keys:
        left, right = right, left ^ (key.block(right)[0] & _M32)
    seed = left << 32 | right
    return seed if bits == 64 else (seed >> 32) ^ (seed & _M32)
