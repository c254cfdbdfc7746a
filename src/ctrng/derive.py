"""Key derivations: the children and fold-ins of a :class:`ctrng.Key`.

Two kinds, with different guarantees (docs/guarantee.md, "Derived keys"):

* **Tree children (injective).** ``Key.child(j)`` of a key on stream s is
  the same root and rank on stream ``256 s + 1 + j``, while j < 256 and that
  stream is below 2**32: a numbering of the 256-ary tree, the rule of
  ``Generator.spawn``.  Two different nodes of the tree never get the same
  stream, so such children can never collide, with each other or with an
  ancestor: a consequence of the layout, like the rest of the guarantee.
* **Hashed keys (probabilistic).** A child outside the tree (j >= 256, or
  the stream would pass 2**32) and every ``Key.fold_in(data)`` get a *new
  root*, a keyed hash of (algorithm, rounds, root, rank, stream, kind, data),
  on stream 0 of the *same rank*.  The rank is kept exactly, so derived keys
  of different ranks never collide; within a rank, two different derivations
  give the same root only by a hash collision.

The hash, version 1 (frozen, like the layout): the message is the 32-bit
words ``[MAGIC, algorithm code, rounds, kind, len(root words), len(data)]``,
then the root's 32-bit words (low first; root_bits / 32 of them), rank,
stream and the data words, zero-padded to a multiple of 4 words.  The header
fixes every length, so distinct inputs give distinct messages.  It is
absorbed 4 words at a time in the Matyas-Meyer-Oseas mode (Skein's UBI
without a tweak) over Threefry4x32-20, the chaining value starting at IV:
``h <- threefry4x32_20(counter=m, key=h) xor m``.  Output block j (j = 0, 1)
is ``threefry4x32_20(counter=(j, OUT, 0, 0), key=h)``; the new root is the
output words read as a little-endian integer, cut to the algorithm's root
width (64, 128 or 256 bits).  Modelled as a random function, two given
different derivations share a root with probability 2**-min(root_bits, 128)
and m derivations in one rank hold a shared root with probability below
m**2 / 2**(min(root_bits, 128) + 1).

ctrng.jax computes the same hash inside ``jax.jit`` (its split and fold_in).
"""

from __future__ import annotations

from ._core import bridge

__all__ = ["FANOUT", "CHILD", "FOLD_IN", "tree_stream", "derived_root"]

# Child j < FANOUT of a key on stream s is stream FANOUT * s + 1 + j.
FANOUT = 256

MAGIC = 0x63747264  # "ctrd"
IV = (0x243F6A88, 0x85A308D3, 0x13198A2E, 0x03707344)  # the first fraction words of pi
OUT = 0x6F757470  # "outp"
CHILD, FOLD_IN = 1, 2
_M32 = 0xFFFFFFFF
_THREEFRY4X32 = bridge.ALGORITHM_CODES["threefry4x32"]


def tree_stream(stream, j):
    """Stream FANOUT * stream + 1 + j of child j, or None where the child
    falls outside the 256-ary tree (j >= FANOUT or the stream >= 2**32)."""
    if j >= FANOUT:
        return None
    s = FANOUT * stream + 1 + j
    return s if s <= _M32 else None


def threefry4x32_20(counter, key):
    """One Threefry4x32-20 block (four ints) of four 32-bit counter and key words."""
    return bridge.block(_THREEFRY4X32, 20, counter, key)


def message(algorithm_code, rounds, root_words, rank, stream, kind, data):
    """The derivation message: the header, root words, rank, stream, data,
    zero-padded to a multiple of 4 words."""
    words = [MAGIC, algorithm_code, rounds, kind, len(root_words), len(data), *root_words, rank, stream, *data]
    words += [0] * (-len(words) % 4)
    return words


def hash_words(words, out_blocks):
    """4 * out_blocks output words of the hash of `words` (a multiple of 4)."""
    h = IV
    for b in range(0, len(words), 4):
        m = words[b:b + 4]
        h = tuple(x ^ y for x, y in zip(threefry4x32_20(m, h), m))
    out = []
    for j in range(out_blocks):
        out += threefry4x32_20((j, OUT, 0, 0), h)
    return out


def derived_root(algorithm_code, rounds, root, root_bits, rank, stream, kind, data):
    """The hashed root of a derivation (see the module docstring)."""
    root_words = [(root >> (32 * i)) & _M32 for i in range(root_bits // 32)]
    words = hash_words(message(algorithm_code, rounds, root_words, rank, stream, kind, data),
                       -(-root_bits // 128))
    return sum(w << (32 * i) for i, w in enumerate(words[:root_bits // 32]))
