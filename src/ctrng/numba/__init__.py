"""Random numbers inside your own Numba kernels.

Every function here is a device function usable from code compiled with
``@numba.njit`` (CPU) and ``@numba.cuda.jit`` (GPU) alike: one Python
source, compiled for whichever target calls it.  A value computed in a kernel
equals the value ctrng's bulk functions return at the same position for the
same key, so a kernel can draw exactly the numbers a CPU run would.

A kernel receives its stream as ``words = ctrng.numba.stream_words(key)``, a
small uint64 array (for CUDA, copy it to the device, or pass
``tuple(words)``: by value, with no copy, and kept in registers), and asks
for element ``i`` of a distribution:

>>> import numba, numpy as np, ctrng
>>> from ctrng.numba import stream_words, uniform_f64
>>> @numba.njit
... def monte_carlo_pi(words, n):
...     inside = 0
...     for i in range(n):
...         x = uniform_f64(words, 2 * i)
...         y = uniform_f64(words, 2 * i + 1)
...         inside += x * x + y * y < 1.0
...     return 4.0 * inside / n
>>> key = ctrng.Key(2024, rank=3)
>>> u = ctrng.random(key, 20000)
>>> bool(monte_carlo_pi(stream_words(key), 10000) == 4.0 * np.mean(u[0::2] ** 2 + u[1::2] ** 2 < 1.0))
True

Positions are element indices of the distribution, as in ``start=`` of the
bulk functions (uint64 arithmetic: pass ``numba.uint64`` or plain ints).
"""

import numpy as np

from ..key import Key
from ..shuffle.index_permutation import IndexPermutation
from ..stateless import bernoulli_threshold as _exact_threshold
from ..stateless import integer_bounds
from ._device import (
    bernoulli,
    bounded_offset,
    index_permutation,
    index_permutation_inverse,
    philox4x32,
    philox4x64,
    random_raw32,
    random_raw64,
    standard_normal_f32,
    standard_normal_f64,
    stream_block,
    threefry4x32,
    threefry4x64,
    uniform_f32,
    uniform_f64,
)

__all__ = ["stream_words", "stream_block", "philox4x32", "philox4x64", "threefry4x32", "threefry4x64",
           "random_raw32", "random_raw64", "uniform_f32", "uniform_f64", "standard_normal_f32",
           "standard_normal_f64", "bounded_offset", "bernoulli", "bernoulli_threshold",
           "integer_span", "index_permutation", "index_permutation_inverse", "index_permutation_params"]


def stream_words(key):
    """The stream of `key` as the uint64 array the device functions take:
    [algorithm code, rounds, key words 0-3, counter words 1-3]."""
    if not isinstance(key, Key):
        raise TypeError(f"key must be a ctrng.Key, not {type(key).__name__}")
    s = key.cstream()  # the C core's description of the stream: one layout
    return np.array([s.algorithm, s.rounds, *s.key, *list(s.ctr)[1:]], np.uint64)


def integer_span(low, high):
    """``high - low - 1`` as the uint64 that :func:`bounded_offset` takes; the
    integer at position i in [low, high) is ``low + bounded_offset(words,
    span, i)``, the value ``ctrng.integers(key, low, high, ...)`` gives there."""
    low, high = integer_bounds(low, high)
    return np.uint64(high - low - 1)


def bernoulli_threshold(p):
    """The uint64 threshold :func:`bernoulli` compares with, for P(True) = p
    (p = 1 gives 2**64 - 1: true except with probability 2**-64; use a
    constant mask for an exact 1)."""
    t = _exact_threshold(p)
    return np.uint64((1 << 64) - 1 if t is None else t)


def index_permutation_params(perm):
    """A :class:`ctrng.IndexPermutation` as the uint64 array that
    :func:`index_permutation` and :func:`index_permutation_inverse` take:
    ``index_permutation(params, i) == perm[i]`` inside a kernel.

    >>> import numba, ctrng
    >>> from ctrng.numba import index_permutation, index_permutation_params
    >>> p = ctrng.IndexPermutation(ctrng.Key(5), 1000)
    >>> @numba.njit
    ... def first(params, k):
    ...     return [index_permutation(params, i) for i in range(k)]
    >>> first(index_permutation_params(p), 4) == p[:4].tolist()
    True
    """
    if not isinstance(perm, IndexPermutation):
        raise TypeError(f"perm must be a ctrng.IndexPermutation, not {type(perm).__name__}")
    c = perm._params  # the C core's parameters: one definition of the map
    return np.array([c.n, c.bits, c.rounds, c.add, *list(c.keys)[:c.rounds]], np.uint64)
