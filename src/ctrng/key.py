"""`Key`: one stream of one worker, and the version-1 stream layout.

This module is the single place that checks roots, ranks and streams and maps
them onto the cipher's (key, counter) words.  See docs/guarantee.md for why
distinct (algorithm, root, rank, stream, position) tuples never share a cipher
input.
"""

from __future__ import annotations

import hashlib
import secrets

from . import derive
from ._core import bridge
from ._core.checks import check_fields, check_int

__all__ = ["Key", "ALGORITHMS", "DEFAULT_ALGORITHM"]

DEFAULT_ALGORITHM = "philox4x32"


class _Algorithm:
    """What the layout needs to know about one cipher."""

    def __init__(self, name, code, default_rounds, word_bits, key_words):
        self.name = name
        self.code = code
        self.default_rounds = default_rounds
        self.word_bits = word_bits
        self.key_words = key_words
        self.root_bits = word_bits * key_words
        self.block_bytes = 4 * word_bits // 8


ALGORITHMS = {
    a.name: a
    for a in (
        _Algorithm("philox4x32", bridge.ALGORITHM_CODES["philox4x32"], 10, 32, 2),
        _Algorithm("philox4x64", bridge.ALGORITHM_CODES["philox4x64"], 10, 64, 2),
        _Algorithm("threefry4x32", bridge.ALGORITHM_CODES["threefry4x32"], 20, 32, 4),
        _Algorithm("threefry4x64", bridge.ALGORITHM_CODES["threefry4x64"], 20, 64, 4),
    )
}

_WORD32 = 1 << 32
_ROOT_DOMAIN = b"ctrng root v1\x00"


def root_from_text(text, bits):
    """The integer root for a `str` or `bytes` root: the 64-byte BLAKE2b digest
    of ``b"ctrng root v1\\x00"`` followed by the bytes (UTF-8 for a str), its
    first bits/8 bytes read as a little-endian integer.  Distinct texts give
    distinct roots only with overwhelming probability (a 2**-bits/2 birthday
    bound), unlike integers."""
    if isinstance(text, str):
        text = text.encode("utf-8")
    digest = hashlib.blake2b(_ROOT_DOMAIN + bytes(text), digest_size=64).digest()
    return int.from_bytes(digest[: bits // 8], "little")


class Key:
    """An immutable, hashable name for one random stream.

    Every value ctrng produces is a pure function of
    ``(algorithm, root, rank, stream, position)``; a `Key` holds the first four.
    Two keys with different tuples never share a cipher input, so their
    streams cannot overlap, at any position.

    Parameters
    ----------
    root : int, str, bytes or None
        The run's seed.  An int must lie in ``[0, 2**k)`` with k = 64 for
        philox4x32, 128 for philox4x64 and threefry4x32, 256 for threefry4x64.
        A str/bytes root is hashed (BLAKE2b) to k bits: distinct texts are only
        *probably* distinct roots.  ``None`` draws k bits from the OS; read
        ``key.root`` to replay the run.
    rank : int in [0, 2**32)
        The worker (process, GPU, data-loader worker...).
    stream : int in [0, 2**32)
        An independent stream of that worker (weights, dropout, shuffling...).
    algorithm : {"philox4x32", "philox4x64", "threefry4x32", "threefry4x64"}
    rounds : int, optional
        Cipher rounds; the default (10 for Philox, 20 for Threefry) is the
        supported setting.  Other values define other generators.

    ctrng is not a cryptographic generator: use :mod:`secrets` for tokens
    and keys.

    Examples
    --------
    >>> k = Key(2024, rank=3)
    >>> k
    Key(2024, rank=3, stream=0, algorithm='philox4x32')
    >>> k == Key(2024, rank=3), k == Key(2025, rank=2)
    (True, False)
    """

    __slots__ = ("_algorithm", "_root", "_rank", "_stream", "_rounds", "_cstream")

    def __init__(self, root, rank=0, stream=0, algorithm=DEFAULT_ALGORITHM, *, rounds=None):
        if not isinstance(algorithm, str) or algorithm not in ALGORITHMS:
            raise ValueError(f"algorithm must be one of {sorted(ALGORITHMS)}, got {algorithm!r}")
        alg = ALGORITHMS[algorithm]
        if root is None:
            root = secrets.randbits(alg.root_bits)
        elif isinstance(root, (str, bytes, bytearray)):
            root = root_from_text(root, alg.root_bits)
        root = check_int(root, "root", 1 << alg.root_bits)
        rank = check_int(rank, "rank", _WORD32)
        stream = check_int(stream, "stream", _WORD32)
        rounds = alg.default_rounds if rounds is None else check_int(rounds, "rounds", 1025, low=1)
        setter = object.__setattr__
        setter(self, "_algorithm", alg)
        setter(self, "_root", root)
        setter(self, "_rank", rank)
        setter(self, "_stream", stream)
        setter(self, "_rounds", rounds)
        setter(self, "_cstream", None)

    # -- value semantics ---------------------------------------------------
    algorithm = property(lambda self: self._algorithm.name, doc="Cipher name.")
    root = property(lambda self: self._root, doc="The integer root (after hashing or drawing).")
    rank = property(lambda self: self._rank, doc="Worker index.")
    stream = property(lambda self: self._stream, doc="Stream index within the worker.")
    rounds = property(lambda self: self._rounds, doc="Cipher rounds.")

    def _tuple(self):
        return (self._algorithm.name, self._root, self._rank, self._stream, self._rounds)

    def __eq__(self, other):
        if not isinstance(other, Key):
            return NotImplemented
        return self._tuple() == other._tuple()

    def __hash__(self):
        return hash(self._tuple())

    def __setattr__(self, name, value):
        raise AttributeError("Key is immutable; use Key.replace(...)")

    def __delattr__(self, name):
        raise AttributeError("Key is immutable")

    def __reduce__(self):
        return (_key_from_dict, (self.to_dict(),))

    def __repr__(self):
        extra = "" if self._rounds == self._algorithm.default_rounds else f", rounds={self._rounds}"
        return (f"Key({self._root}, rank={self._rank}, stream={self._stream}, "
                f"algorithm={self._algorithm.name!r}{extra})")

    def replace(self, **changes):
        """A copy with some of root, rank, stream, algorithm, rounds changed."""
        fields = self.to_dict()
        unknown = set(changes) - set(fields)
        if unknown:
            raise TypeError(f"unknown Key field(s): {sorted(unknown)}")
        fields.update(changes)
        return _key_from_dict(fields)

    def to_dict(self):
        """A JSON-serialisable description; ``Key(**d)`` rebuilds the key."""
        return {"root": self._root, "rank": self._rank, "stream": self._stream,
                "algorithm": self._algorithm.name, "rounds": self._rounds}

    # -- derived keys (ctrng.derive; docs/guarantee.md, "Derived keys") -----
    def child(self, j, *, exact=False):
        """Child `j` (0 <= j < 2**32) of this key.

        While it fits the 256-ary stream tree (j < 256 and 256 s + 1 + j <
        2**32 for this key's stream s) the child is the same root and rank on
        stream ``256 s + 1 + j``, the rule of ``Generator.spawn``: tree
        children never collide with each other or an ancestor, by the
        layout.  Otherwise (``exact=False``) it is a *hashed* key: a new root
        derived from this key and j, on stream 0 of the same rank, distinct
        from other keys of the rank only with probability 1 - 2**-64 per pair
        (philox4x32; 2**-128 for the others).  ``exact=True`` raises
        ValueError instead.

        >>> k = Key(7, rank=2, stream=1)
        >>> k.child(0), k.child(255).stream
        (Key(7, rank=2, stream=257, algorithm='philox4x32'), 512)
        >>> k.child(256).stream, k.child(256).rank, k.child(256).root != 7
        (0, 2, True)
        """
        j = check_int(j, "j", _WORD32)
        stream = derive.tree_stream(self._stream, j)
        if stream is not None:
            return self.replace(stream=stream)
        if exact:
            raise ValueError(f"child {j} of stream {self._stream} is outside the 256-ary tree "
                             f"(j < 256 and 256 * stream + 1 + j < 2**32)")
        return self._derived(derive.CHILD, j)

    def child_in_tree(self, j):
        """Whether ``child(j)`` is a tree child (injective), not a hashed key."""
        return derive.tree_stream(self._stream, check_int(j, "j", _WORD32)) is not None

    def fold_in(self, data):
        """A hashed key for the integer `data` (0 <= data < 2**32): a new root
        derived from this key and data, on stream 0 of the same rank; what
        ``jax.random.fold_in`` gives for a ctrng.jax key.  Distinct from
        every other key of the rank only with probability 1 - 2**-64 per pair
        (philox4x32; 2**-128 for the others): see docs/guarantee.md.

        >>> k = Key(7, rank=2)
        >>> k.fold_in(1) == k.fold_in(1), k.fold_in(1) == k.fold_in(2), k.fold_in(1).rank
        (True, False, 2)
        """
        return self._derived(derive.FOLD_IN, check_int(data, "data", _WORD32))

    def _derived(self, kind, data):
        alg = self._algorithm
        root = derive.derived_root(alg.code, self._rounds, self._root, alg.root_bits, self._rank,
                                   self._stream, kind, (data,))
        return Key(root, rank=self._rank, stream=0, algorithm=alg.name, rounds=self._rounds)

    # -- the version-1 layout ---------------------------------------------
    @property
    def key_words(self):
        """The cipher key, Random123 word order."""
        bits = self._algorithm.word_bits
        mask = (1 << bits) - 1
        return tuple((self._root >> (bits * i)) & mask for i in range(self._algorithm.key_words))

    def counter_words(self, block):
        """The cipher counter of block `block`, Random123 word order."""
        block = check_int(block, "block", 1 << 64)
        if self._algorithm.word_bits == 32:
            return (block & 0xFFFFFFFF, block >> 32, self._stream, self._rank)
        return (block, self._stream, self._rank, 0)

    def block(self, block):
        """The four words of block `block` of this stream (scalar reference)."""
        return bridge.block(self._algorithm.code, self._rounds, self.counter_words(block), self.cstream().key)

    @property
    def block_bytes(self):
        """Bytes per cipher block: 16 (4x32) or 32 (4x64)."""
        return self._algorithm.block_bytes

    def cstream(self):
        """The C description of this stream (built once, then shared)."""
        if self._cstream is None:
            object.__setattr__(self, "_cstream", bridge.stream(self._algorithm.code, self._rounds, self.key_words,
                                                               self.counter_words(0)))
        return self._cstream


def check_key(key):
    """`key` if it is a ctrng.Key (TypeError otherwise)."""
    if not isinstance(key, Key):
        raise TypeError(f"key must be a ctrng.Key, not {type(key).__name__}")
    return key


def _key_from_dict(d, name="the key's dict"):
    d = check_fields(d, name, "Key.to_dict()", ("root", "rank", "stream", "algorithm", "rounds"))
    return Key(d["root"], rank=d["rank"], stream=d["stream"], algorithm=d["algorithm"], rounds=d["rounds"])
