"""NumPy bit generators over ctrng streams.

``numpy.random.Generator(ctrng.Philox4x32(7, rank=2))`` runs every NumPy
distribution (gamma, choice, dirichlet...) on the ctrng stream of
``Key(7, rank=2)``.  The bit generator is a cursor over the stream in 32-bit
words, shared with :class:`ctrng.Generator`: a 64-bit draw starts at an even
word, so ``random_raw`` returns exactly ``ctrng.random_raw(key, n,
dtype=np.uint64)`` and ``next_double`` is ``ctrng.random`` at the same place.

>>> import numpy as np, ctrng
>>> g = np.random.Generator(ctrng.Philox4x32(7, rank=2))
>>> bool((g.random(4) == ctrng.random(ctrng.Key(7, rank=2), 4)).all())
True
>>> float(g.gamma(2.0)) > 0
True

A NumPy draw that would pass the end of the stream raises ValueError and
leaves the bit generator at the end, and ``spawn`` (NumPy's
``Generator.spawn`` too) gives the children ``ctrng.Generator.spawn`` gives.
"""

from __future__ import annotations

import functools
import operator
import threading

import numpy as np

from ._core import bridge
from ._core.bridge import stream_length
from ._core.checks import check_int
from ._core.kinds import RAW32, WORD_BYTES
from .generator import SPAWN_FANOUT, parse_state, spawn_keys
from .key import Key
from .stateless import random_raw

__all__ = ["Philox4x32", "Philox4x64", "Threefry4x32", "Threefry4x64"]

# NumPy's draws through a bit generator positioned within this many words of
# the end of its stream check, when they finish, that they did not pass it.
# Further back a check could never fire: reaching the end takes 2**64 words
# drawn through NumPy with no position set in between, centuries of drawing.
CHECKED_WORDS = 1 << 64


class _StreamLock:
    """A bit generator's ``lock``: NumPy's Generator and RandomState hold it
    around every draw (``with lock:``), so its exit, `exit`, is where a draw
    that ran past the end of the stream can raise.

    `exit` is a fixed object, looked up as a ``with`` statement starts,
    that calls the lock's own exit or the bit generator's check, as
    `check_with` sets it: a draw that started waiting for the lock before
    the position moved near the end is checked too.  Without the check a
    draw runs no Python code and costs what it costs under a
    ``threading.Lock``; the check is a Python call on every draw, which is
    why it runs only near the end."""

    __slots__ = ("acquire", "release", "locked", "_release_exit", "exit")

    def __init__(self):
        lock = threading.Lock()
        self.acquire, self.release, self.locked = lock.acquire, lock.release, lock.locked
        self._release_exit = lock.__exit__
        self.exit = functools.partial(lock.__exit__)

    __enter__ = property(operator.attrgetter("acquire"))
    __exit__ = property(operator.attrgetter("exit"))

    def check_with(self, check):
        """Exit through `check(*exc_info)`, which must release the lock, or
        through the lock's own exit when `check` is None."""
        self.exit.__setstate__((check or self._release_exit, (), None, None))


class _StreamBitGenerator(np.random.BitGenerator):
    """Base class; subclasses fix the algorithm.

    A real ``numpy.random.BitGenerator``: NumPy's base class owns the
    ``bitgen_t`` behind ``capsule``; ctrng points that ``bitgen_t`` at its
    own C cursor over the stream, and gives its own ``lock``."""

    algorithm = None
    lock = property(operator.attrgetter("_lock"), doc="The lock NumPy holds around each draw.")

    def __init__(self, root=None, rank=0, stream=0):
        super().__init__(0)
        if isinstance(root, Key):
            if root.algorithm != self.algorithm:
                raise ValueError(f"key uses {root.algorithm}, but {type(self).__name__} is {self.algorithm}")
            key = root
        else:
            key = Key(root, rank=rank, stream=stream, algorithm=self.algorithm)
        self._key = key
        self._spawned = 0
        self._words_per_block = key.block_bytes // WORD_BYTES
        self._length = stream_length(key, RAW32)
        self._lock = _StreamLock()
        self._bitgen, self._cstate = bridge.bitgen_attach(self.capsule, key.cstream())
        self._seek(0)

    def _seek(self, position):
        """Put the cursor at word `position` (the end of the stream at most)."""
        block = min(position // self._words_per_block, (1 << 64) - 1)  # the end: after block 2**64 - 1
        bridge.bitgen_seek(self._bitgen, self._cstate, block, position - block * self._words_per_block)
        self._lock.check_with(self._check_end if self._length - position <= CHECKED_WORDS else None)

    def _check_end(self, *exc_info):
        """The lock's exit near the end of the stream: a draw that went past
        the end (the C cursor then went on from the stream's start) raises,
        and the cursor goes back to the end."""
        exhausted = self._cstate.exhausted
        if exhausted:
            self._seek(self._length)
        self._lock.release()
        if exhausted:
            raise ValueError(f"the stream of {self._key!r} is exhausted (all its {self._length} 32-bit "
                             f"words are drawn): draw from another stream or key, such as a spawned child")

    @property
    def key(self):
        """The :class:`ctrng.Key` of the stream."""
        return self._key

    @property
    def position(self):
        """Next 32-bit word of the stream to be used."""
        return self._cstate.block * self._words_per_block + self._cstate.index

    def _set_position(self, position):
        self._seek(check_int(position, "position", self._length + 1))

    def advance(self, delta):
        """Skip `delta` 32-bit words of the stream."""
        delta = check_int(delta, "delta", 1 << 70)
        with self._lock:
            self._set_position(self.position + delta)
        return self

    @property
    def state(self):
        """A JSON-serialisable dict: algorithm, key, position and children spawned."""
        with self._lock:
            return {"bit_generator": type(self).__name__, "key": self._key.to_dict(),
                    "position": self.position, "spawned": self._spawned}

    @state.setter
    def state(self, value):
        name = type(self).__name__
        key, position, spawned = parse_state(value, f"{name}.state", name, self.algorithm)
        with self._lock:
            self._key, self._spawned = key, spawned
            bridge.bitgen_set_stream(self._cstate, key.cstream())
            self._seek(position)

    def spawn(self, n_children):
        """`n_children` bit generators on the streams ``ctrng.Generator.spawn``
        gives: NumPy's ``Generator.spawn`` wraps them."""
        n = check_int(n_children, "n_children", SPAWN_FANOUT + 1)
        with self._lock:
            keys = spawn_keys(self._key, self._spawned, n)
            self._spawned += n
        return [type(self)(k) for k in keys]

    def random_raw(self, size=None, output=True):
        """The next uint64 draws, as NumPy's ``BitGenerator.random_raw``."""
        n = 1 if size is None else int(np.prod(size))
        with self._lock:
            start = (self.position + 1) // 2
            raw = random_raw(self._key, n, start, np.uint64) if output else None
            self._set_position(2 * (start + n))
        if not output:
            return None
        return int(raw[0]) if size is None else raw.reshape(size)

    def __reduce__(self):
        return (_from_state, (type(self).__name__, self.state))

    def __repr__(self):
        k = self._key
        return f"{type(self).__name__}({k.root}, rank={k.rank}, stream={k.stream})"


class Philox4x32(_StreamBitGenerator):
    """NumPy bit generator on a Philox4x32-10 ctrng stream."""
    algorithm = "philox4x32"


class Philox4x64(_StreamBitGenerator):
    """NumPy bit generator on a Philox4x64-10 ctrng stream."""
    algorithm = "philox4x64"


class Threefry4x32(_StreamBitGenerator):
    """NumPy bit generator on a Threefry4x32-20 ctrng stream."""
    algorithm = "threefry4x32"


class Threefry4x64(_StreamBitGenerator):
    """NumPy bit generator on a Threefry4x64-20 ctrng stream."""
    algorithm = "threefry4x64"


_CLASSES = {c.__name__: c for c in (Philox4x32, Philox4x64, Threefry4x32, Threefry4x64)}


def _from_state(name, state):
    cls = _CLASSES[name]
    key, position, spawned = parse_state(state, f"{name}.state", name, cls.algorithm)
    bg = cls(key)
    bg._spawned = spawned
    bg._seek(position)
    return bg
