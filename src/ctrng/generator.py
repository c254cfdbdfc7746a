"""`Generator`: a NumPy-style cursor over one ctrng stream.

The cursor counts 32-bit words of the stream.  A call that draws elements of
b bytes starts at the first multiple of b at or after the cursor and leaves
the cursor after its last element, so ``g.random(5); g.random(5)`` gives
exactly ``ctrng.random(key, 10)``, and every value stays addressable through
the stateless functions.  Nothing is hidden in the Generator that is not in
``g.state``: key and position.  (Small draws take their values from batches
made ahead, which spares them most of a fill's fixed cost; those values are
functions of key and position too, so they change nothing.)
"""

from __future__ import annotations

import math
import threading
from collections.abc import MutableSequence

import numpy as np

from . import derive, stateless
from ._core import bridge, checks, kinds
from ._core.checks import check_fields, check_int
from ._core.threads import resolve_threads
from .key import DEFAULT_ALGORITHM, Key, _key_from_dict
from .shuffle import permutation

__all__ = ["Generator", "SPAWN_FANOUT"]

# Child j of a generator on stream s gets stream SPAWN_FANOUT * s + 1 + j.
SPAWN_FANOUT = derive.FANOUT

# Draws of at most AHEAD_MAX elements without out= take their values from a
# batch made ahead for their distribution and parameters: a lookup instead
# of a fill, whose fixed cost dwarfs a small draw's.  A batch holds 4 draws'
# worth, and twice its predecessor's size when that one ran out, up to
# AHEAD values, so that draws whose parameters change every time (a random
# crop of images of many sizes) never pay for values they skip; at most
# AHEAD_SLOTS batches are kept.
AHEAD, AHEAD_MAX, AHEAD_SLOTS = 1024, 128, 8

_F64 = np.dtype(np.float64)
_WORD_BYTES = kinds.WORD_BYTES  # the cursor's unit, read once: _claim runs on every draw


def _shape(size):
    """The shape `size` asks for (see checks.check_shape), None for a scalar."""
    return None if size is None else checks.check_shape(size, "size")


class Generator:
    """NumPy-compatible generator on the stream of a :class:`ctrng.Key`.

    ``Generator(key)`` or ``Generator(root, rank=..., stream=..., algorithm=...)``.
    `threads` sets the threads used by large fills (default: all cores); it
    never changes the numbers.

    Examples
    --------
    >>> import ctrng
    >>> g = ctrng.Generator(42, rank=1)
    >>> a = g.random(3)
    >>> bool((a == ctrng.random(ctrng.Key(42, rank=1), 3)).all())
    True
    >>> g.position            # three float64 = six 32-bit words
    6
    """

    def __init__(self, key=None, rank=0, stream=0, algorithm=DEFAULT_ALGORITHM, *, threads=None):
        if not isinstance(key, Key):
            key = Key(key, rank=rank, stream=stream, algorithm=algorithm)
        elif (rank, stream, algorithm) != (0, 0, DEFAULT_ALGORITHM):
            raise TypeError("give either a Key or root/rank/stream/algorithm, not both")
        if threads is not None:
            resolve_threads(threads, 1)
        self._key = key
        self._position = 0
        self._spawned = 0
        self.threads = threads
        self._lock = threading.Lock()
        self._made = {}  # (kind, dtype, raw words, parameters) -> (key, first element, values)

    # -- cursor ---------------------------------------------------------------
    @property
    def key(self):
        """The stream's :class:`ctrng.Key`."""
        return self._key

    @property
    def position(self):
        """The next 32-bit word of the stream."""
        return self._position

    def advance(self, k):
        """Move the cursor k 32-bit words forward; returns self."""
        words = bridge.stream_length(self._key, kinds.RAW32)
        k = check_int(k, "k", words + 1)
        with self._lock:
            if self._position + k > words:
                raise ValueError(f"advance({k}) goes past the end of the stream")
            self._position += k
        return self

    def _claim(self, n, unit_bytes, length):
        """Reserve n elements of unit_bytes each, of a stream of `length`
        such elements; return the first element index."""
        words = unit_bytes // _WORD_BYTES
        with self._lock:
            start = -(-self._position // words)
            if start + n > length:
                raise ValueError("this draw goes past the end of the stream")
            self._position = (start + n) * words
        return start

    @property
    def state(self):
        """JSON-serialisable state: key, position and children spawned."""
        with self._lock:
            return {"bit_generator": "ctrng.Generator", "key": self._key.to_dict(),
                    "position": self._position, "spawned": self._spawned}

    @state.setter
    def state(self, value):
        key, position, spawned = parse_state(value, "Generator.state", "ctrng.Generator")
        with self._lock:
            self._key, self._position, self._spawned = key, position, spawned

    def __reduce__(self):
        return (_from_state, (self.state, self.threads))

    def __repr__(self):
        return f"Generator({self._key!r}, position={self._position})"

    def spawn(self, n):
        """`n` child generators on new streams of the same (root, rank).

        Child j (counted over all spawn calls of this generator, j < 256) of a
        generator on stream s gets stream 256 s + 1 + j (``key.child(j)``,
        always a tree child, never a hashed key), a numbering of the
        256-ary tree: no two nodes share a stream, and no child shares its
        parent's.  Raises ValueError once a generator has spawned 256
        children or the child's stream would not fit in 32 bits.
        Streams you pick by hand share this space: within one (root, rank),
        either pick streams yourself or spawn them.
        """
        n = check_int(n, "n", SPAWN_FANOUT + 1)
        with self._lock:
            keys = spawn_keys(self._key, self._spawned, n)
            self._spawned += n
        return [Generator(k, threads=self.threads) for k in keys]

    # -- drawing --------------------------------------------------------------
    def _draw(self, kind, dt, size, out, params=None, raw_words=0, tag=()):
        """Claim the elements and fill them: the stateless fill at the
        cursor, without re-checking what the caller checked.  raw_words > 0
        marks raw draws of that many 32-bit words per element; `tag` (hashable)
        tells apart the values made ahead for different `params`."""
        shape = _shape(size)
        key = self._key
        if raw_words:
            unit, length = kinds.WORD_BYTES * raw_words, bridge.stream_length(key, kinds.RAW32) // raw_words
        else:
            unit, length = kinds.UNIT_BYTES[kind], bridge.stream_length(key, kind)
        if out is None:
            n = 1 if shape is None else math.prod(shape)
            if n <= AHEAD_MAX:
                start = self._claim(n, unit, length)
                values, i = self._made_ahead(key, (kind, dt, raw_words, tag), start, n, length, params)
                return values[i] if shape is None else values[i:i + n].reshape(shape).copy()
            res = np.empty(shape, dt)
            flat = res.reshape(-1)
        else:
            res, flat, n = checks.prepare_out(out, None, dt)
            if shape is not None and shape != out.shape:
                raise ValueError(f"size {shape} does not match out.shape {out.shape}")
        self._elements_into(flat, key, kind, self._claim(n, unit, length), n, params, raw_words,
                            stream=out is not None)
        return res

    def _made_ahead(self, key, slot, start, n, length, params):
        """(values, i): elements [start, start + n) of the draws `slot` names
        are values[i:i + n], made ahead from `start` when not at hand."""
        kind, dt, raw_words, _ = slot
        made = self._made.get(slot)
        if made is None or made[0] is not key or not made[1] <= start <= start + n <= made[1] + len(made[2]):
            size = max(4 * n, 2 * len(made[2]) if made is not None and made[0] is key else 0)
            values = np.empty(min(size, AHEAD, length - start), dt)
            self._elements_into(values, key, kind, start, len(values), params, raw_words)
            if len(self._made) >= AHEAD_SLOTS:
                self._made.clear()
            made = self._made[slot] = (key, start, values)
        return made[2], start - made[1]

    def _elements_into(self, flat, key, kind, start, n, params, raw_words, stream=False):
        """Write elements [start, start + n) of `kind` (raw_words > 0: raw
        words, that many per element) into `flat`, through the stateless
        fill on this generator's threads."""
        if raw_words:
            stateless.run_fill(key, kind, start * raw_words, n * raw_words, flat.view(np.uint32),
                               threads=self.threads, stream=stream)
        else:
            stateless.run_fill(key, kind, start, n, flat, params=params, threads=self.threads, stream=stream)

    def random_raw(self, size=None, dtype=np.uint32, out=None):
        """Raw words of the stream (uint32 or uint64)."""
        dt = checks.check_dtype(dtype, (np.uint32, np.uint64), "random_raw")
        return self._draw(kinds.RAW32, dt, size, out, raw_words=dt.itemsize // kinds.WORD_BYTES)

    def random(self, size=None, dtype=np.float64, out=None):
        """Uniform floats in [0, 1), as ``numpy.random.Generator.random``."""
        dt = checks.check_dtype(dtype, kinds.FLOAT_DTYPES, "random")
        return self._draw(kinds.float_kind("uniform", dt), dt, size, out)

    def standard_normal(self, size=None, dtype=np.float64, out=None):
        """Standard normal variates (Box-Muller; see ctrng.standard_normal)."""
        dt = checks.check_dtype(dtype, kinds.FLOAT_DTYPES, "standard_normal")
        return self._draw(kinds.float_kind("normal", dt), dt, size, out)

    def integers(self, low, high=None, size=None, dtype=np.int64, endpoint=False):
        """Exactly unbiased integers in [low, high) ([low, high] with
        endpoint=True); ``integers(high)`` draws from [0, high)."""
        if high is None:
            low, high = 0, low
        dt = checks.check_dtype(dtype, stateless.INT_DTYPES, "integers")
        kind, prm = stateless.integer_params(low, high, dt, endpoint)
        return self._draw(kind, dt, size, None, params=prm, tag=(prm.low, prm.range))

    def bernoulli(self, p, size=None, dtype=np.bool_):
        """Bernoulli(p) draws (see ctrng.bernoulli)."""
        dt = checks.check_dtype(dtype, (np.bool_, np.uint8), "bernoulli")
        prm = stateless.bernoulli_params(p)
        return self._draw(kinds.BERNOULLI, dt, size, None, params=prm, tag=(prm.threshold, prm.certain))

    def uniform(self, low=0.0, high=1.0, size=None):
        """Uniform float64 on [low, high): low + (high - low) * random().
        low and high are numbers or arrays (broadcast together), each
        element checked as ctrng.uniform checks them (real, finite, low <=
        high, high - low finite)."""
        low, high = checks.check_interval(low, high, elementwise=True)
        if low.__class__ is float and high.__class__ is float:  # numbers: without NumPy's per-call costs
            shape = _shape(size) or None
            u = self._draw(kinds.UNIFORM_F64, _F64, shape, None)
            return low + (high - low) * (float(u) if shape is None else u)
        shape = _shape(size) or np.broadcast(low, high).shape
        u = self.random(shape)
        res = low + (high - low) * u
        return res if shape else float(res)

    def normal(self, loc=0.0, scale=1.0, size=None):
        """Normal float64 variates: loc + scale * standard_normal().  loc
        and scale are numbers or arrays (broadcast together), each element
        checked as ctrng.normal checks them (real, finite, scale >= 0,
        |loc| + 8.5 scale finite)."""
        loc, scale = checks.check_loc_scale(loc, scale, elementwise=True)
        if loc.__class__ is float and scale.__class__ is float:  # as in uniform
            shape = _shape(size) or None
            z = self._draw(kinds.NORMAL_F64, _F64, shape, None)
            return loc + scale * (float(z) if shape is None else z)
        shape = _shape(size) or np.broadcast(loc, scale).shape
        z = self.standard_normal(shape)
        res = loc + scale * z
        return res if shape else float(res)

    # -- permutations ---------------------------------------------------------
    def _claim_permutation(self, n):
        """The first word for a permutation of n items (ctrng.permutation)."""
        return self._claim(permutation.permutation_words(n), kinds.WORD_BYTES, 2 * permutation.MAX_ITEMS)

    def permutation(self, x, axis=0):
        """A permuted range (int x) or a permuted copy of array x along `axis`:
        ``ctrng.permutation(key, x, start=position)``, which reads 2 n words."""
        n, arr, axis = permutation.items(x, axis)
        return permutation.permuted(self._key, self._claim_permutation(n), n, arr, axis, self.threads)

    def shuffle(self, x, axis=0):
        """Shuffle array (np.memmap included) or mutable sequence x in place
        along `axis`, in the order ``permutation`` would give.  The shuffled
        copy is built in memory: for files larger than memory use
        :func:`ctrng.shuffle_file`, which gives the same order."""
        if isinstance(x, np.ndarray):
            if not x.flags.writeable:
                raise ValueError("x is read-only")
            n, arr, axis = permutation.items(x, axis)
            x[...] = permutation.permuted(self._key, self._claim_permutation(n), n, arr, axis, self.threads)
        elif isinstance(x, MutableSequence):
            if axis != 0:
                raise ValueError("axis must be 0 for a sequence")
            items = list(x)
            perm = self.permutation(len(items))
            x[:] = [items[i] for i in perm]
        else:
            raise TypeError(f"shuffle needs a numpy array or a mutable sequence, not {type(x).__name__}")


def spawn_keys(key, spawned, n):
    """The keys of the next `n` children of a generator on `key` that has
    spawned `spawned` (see Generator.spawn), or ValueError."""
    if spawned + n > SPAWN_FANOUT:
        raise ValueError(f"a generator spawns at most {SPAWN_FANOUT} children; {spawned} already spawned")
    if n and derive.tree_stream(key.stream, spawned + n - 1) is None:  # the last child: the deepest
        raise ValueError("spawn tree too deep: child streams would pass 2**32")
    return [key.child(j, exact=True) for j in range(spawned, spawned + n)]


def parse_state(value, source, tag, algorithm=None):
    """(key, position, spawned) of a generator's state dict, every field
    checked before anything is built: `value` made by `source` (e.g.
    "Generator.state"), its bit_generator field `tag`, its key of
    `algorithm` when given.  Generator and the bit generators share it."""
    check_fields(value, "state", source, ("bit_generator", "key", "position"), ("spawned",),
                 tag=("bit_generator", tag))
    key = _key_from_dict(value["key"], "state['key']")
    if algorithm is not None and key.algorithm != algorithm:
        raise ValueError(f"state holds a {key.algorithm} key")
    position = check_int(value["position"], "position", bridge.stream_length(key, kinds.RAW32) + 1)
    spawned = check_int(value.get("spawned", 0), "spawned", SPAWN_FANOUT + 1)
    return key, position, spawned


def _from_state(state, threads):
    key, position, spawned = parse_state(state, "Generator.state", "ctrng.Generator")
    g = Generator(key, threads=threads)
    g._position, g._spawned = position, spawned
    return g
