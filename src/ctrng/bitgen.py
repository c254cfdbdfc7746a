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
"""

from __future__ import annotations

import ctypes

import numpy as np

from ._ctrng import ffi, lib
from ._fill import RAW32, stream_length
from .key import Key, check_int
from .stateless import random_raw

__all__ = ["Philox4x32", "Philox4x64", "Threefry4x32", "Threefry4x64"]

_capsule_pointer = ctypes.pythonapi.PyCapsule_GetPointer
_capsule_pointer.restype = ctypes.c_void_p
_capsule_pointer.argtypes = [ctypes.py_object, ctypes.c_char_p]


class _StreamBitGenerator(np.random.BitGenerator):
    """Base class; subclasses fix the algorithm.

    A real ``numpy.random.BitGenerator``: NumPy's base class owns the
    ``bitgen_t`` behind ``capsule`` and the ``lock``; ctrng points that
    ``bitgen_t`` at its own C cursor over the stream."""

    algorithm = None

    def __init__(self, root=None, rank=0, stream=0):
        super().__init__(0)
        if isinstance(root, Key):
            if root.algorithm != self.algorithm:
                raise ValueError(f"key uses {root.algorithm}, but {type(self).__name__} is {self.algorithm}")
            key = root
        else:
            key = Key(root, rank=rank, stream=stream, algorithm=self.algorithm)
        self._key = key
        self._words_per_block = key.block_bytes // 4
        self._cstate = ffi.new("ctrng_bitgen_state *")
        self._cstate.stream = key.cstream()[0]
        self._bitgen = ffi.cast("ctrng_bitgen *", _capsule_pointer(self.capsule, b"BitGenerator"))
        self._seek(0)

    def _seek(self, position):
        block, index = divmod(position, self._words_per_block)
        err = lib.ctrng_bitgen_init(self._bitgen, self._cstate, block, index)
        if err:  # pragma: no cover - the key was validated
            raise RuntimeError(f"ctrng_bitgen_init failed ({err})")

    @property
    def key(self):
        """The :class:`ctrng.Key` of the stream."""
        return self._key

    @property
    def position(self):
        """Next 32-bit word of the stream to be used."""
        return self._cstate.block * self._words_per_block + self._cstate.index

    def _set_position(self, position):
        self._seek(check_int(position, "position", stream_length(self._key, RAW32)))

    def advance(self, delta):
        """Skip `delta` 32-bit words of the stream."""
        delta = check_int(delta, "delta", 1 << 70)
        with self.lock:
            self._set_position(self.position + delta)
        return self

    @property
    def state(self):
        """A JSON-serialisable dict: algorithm, key and position."""
        with self.lock:
            return {"bit_generator": type(self).__name__, "key": self._key.to_dict(),
                    "position": self.position}

    @state.setter
    def state(self, value):
        if not isinstance(value, dict) or value.get("bit_generator") != type(self).__name__:
            raise ValueError(f"state must be a dict from {type(self).__name__}.state")
        key = Key(**value["key"])
        if key.algorithm != self.algorithm:
            raise ValueError(f"state holds a {key.algorithm} key")
        with self.lock:
            self._key = key
            self._cstate.stream = key.cstream()[0]
            self._set_position(value["position"])

    def random_raw(self, size=None, output=True):
        """The next uint64 draws, as NumPy's ``BitGenerator.random_raw``."""
        n = 1 if size is None else int(np.prod(size))
        with self.lock:
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
    key = Key(**state["key"])
    bg = _CLASSES[name](key)
    bg.state = state
    return bg
