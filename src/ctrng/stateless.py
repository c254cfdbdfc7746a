"""Stateless generation: element i of every distribution is a pure function of
(key, i, distribution, dtype, parameters).  Generating [a, b) directly gives
the same values as generating [0, b) and slicing, so any chunking, thread
count or restart gives the same numbers.

Every function takes ``out=`` (a C-contiguous array to fill, of the exact
dtype) and ``threads=`` (default: all cores; the result never depends on it).
"""

from __future__ import annotations

import numpy as np

from ._core import bridge, kinds
from ._core.checks import check_dtype, check_int, check_interval, check_loc_scale, check_start, prepare_out, real
from .key import check_key

__all__ = ["random_raw", "random", "uniform", "standard_normal", "normal", "integers", "bernoulli"]

def run_fill(key, kind, start, n, flat, *, params=None, threads=None, stream=False):
    """Fill `flat`, going through an aligned copy when `flat` is misaligned;
    stream: `flat` is the caller's out= (see bridge.fill)."""
    if flat.flags.aligned:
        return bridge.fill(key, kind, start, n, flat, params=params, threads=threads, stream=stream)
    tmp = bridge.fill(key, kind, start, n, np.empty_like(flat), params=params, threads=threads)
    flat[...] = tmp
    return flat


def random_raw(key, n=None, start=0, dtype=np.uint32, *, out=None, threads=None):
    """Raw words of the stream: the stream is one little-endian byte sequence
    (blocks in order, words of a block in array order) and `dtype` chooses
    the view, so uint64 element i is bytes [8i, 8i + 8).

    >>> import ctrng
    >>> w = ctrng.random_raw(ctrng.Key(1), 8)
    >>> bool((ctrng.random_raw(ctrng.Key(1), 4, start=4) == w[4:]).all())
    True
    """
    key = check_key(key)
    dt = check_dtype(dtype, (np.uint32, np.uint64), "random_raw")
    start = check_start(start)
    res, flat, n = prepare_out(out, n, dt)
    words = dt.itemsize // kinds.WORD_BYTES
    run_fill(key, kinds.RAW32, start * words, n * words, flat.view(np.uint32), threads=threads,
             stream=out is not None)
    return res


def _float_fill(key, uniform, name, n, start, dtype, out, threads, affine=None):
    """Uniform or normal floats, optionally loc + scale * x (affine)."""
    key = check_key(key)
    dt = check_dtype(dtype, kinds.FLOAT_DTYPES, name)
    kind = kinds.float_kind("uniform" if uniform else "normal", dt)
    start = check_start(start)
    res, flat, n = prepare_out(out, n, dt)
    prm = None if affine is None else bridge.affine_params(*affine)
    run_fill(key, kind, start, n, flat, params=prm, threads=threads, stream=out is not None)
    return res


# -- parameters -------------------------------------------------------------------
# The rule every face (the functions here, Generator, ctrng.cuda, ctrng.torch,
# ctrng.init, ctrng.dask, ctrng.mpi, ctrng.tf, ctrng.jax) applies through
# ctrng._core.checks (real, check_interval, check_loc_scale, check_int,
# check_shape), never a copy:
#
# * a real parameter is a Python int or float, a NumPy integer or floating
#   scalar or a 0-d array of one (not a bool: TypeError otherwise), and must
#   be finite in the output dtype: float(x), rounded to that dtype, is finite
#   (|x| < 2**128 - 2**103 for float32; Python ints beyond float64 are not);
# * what the parameters produce must be finite too: uniform's high - low,
#   normal's |loc| + Z scale with Z the bound on |z| below;
# * integer parameters (bounds, shapes) are Python ints or NumPy integers
#   (check_int, check_shape; not bool, not float).
#
# Errors name the argument: TypeError for a wrong type, ValueError otherwise.

def random(key, n=None, start=0, dtype=np.float64, *, out=None, threads=None):
    """Uniform floats in [0, 1): float64 (u64 >> 11) * 2**-53 from uint64
    element i; float32 (u32 >> 8) * 2**-24 from uint32 element i."""
    return _float_fill(key, True, "random", n, start, dtype, out, threads)


def uniform(key, low=0.0, high=1.0, n=None, start=0, dtype=np.float64, *, out=None, threads=None):
    """Uniform floats in [low, high): element i is u * (high - low) + low
    with u = ctrng.random's element i, computed in the output's precision
    (float32 rounds twice, so high itself can come out for float32).

    low and high: real numbers, finite in `dtype`, low <= high, with
    high - low finite in `dtype` (see check_interval)."""
    dt = check_dtype(dtype, kinds.FLOAT_DTYPES, "uniform")
    low, high = check_interval(low, high, dt)
    return _float_fill(key, True, "uniform", n, start, dt, out, threads, (low, high - low))


def standard_normal(key, n=None, start=0, dtype=np.float64, *, out=None, threads=None):
    """Standard normal variates by the Box-Muller transform.

    Elements 2k and 2k + 1 are r cos(2 pi t) and r sin(2 pi t) with
    r = sqrt(-2 ln u), both drawn from elements 2k (radius) and 2k + 1
    (angle) of the uint64 view (float64) or uint32 view (float32):

    * float64: u = 1 - (w >> 12) 2**-52, t = (w' >> 12) 2**-52;
      the tails reach 8.49 sigma.
    * float32: u = (float32(w >> 1) + 1/4) 2**-31, t = (w' >> 8) 2**-24;
      the tails reach 6.7 sigma.

    log, sin and cos are ctrng's own polynomials (a few ulps from the
    correctly rounded functions), evaluated identically on every code path.
    """
    return _float_fill(key, False, "standard_normal", n, start, dtype, out, threads)


def normal(key, loc=0.0, scale=1.0, n=None, start=0, dtype=np.float64, *, out=None, threads=None):
    """Normal variates: element i is z * scale + loc with z =
    ctrng.standard_normal's element i, in the output's precision.

    loc and scale: real numbers, finite in `dtype`, scale >= 0, with
    |loc| + Z scale finite in `dtype` (Z = 6.8 for float32, 8.5 for float64,
    above every |z|: see check_loc_scale)."""
    dt = check_dtype(dtype, kinds.FLOAT_DTYPES, "normal")
    loc, scale = check_loc_scale(loc, scale, dt)
    return _float_fill(key, False, "normal", n, start, dt, out, threads, (loc, scale))


INT_DTYPES = (np.int32, np.int64, np.uint32, np.uint64)
_INT_LIMITS = {np.dtype(t): (int(np.iinfo(t).min), int(np.iinfo(t).max)) for t in INT_DTYPES}


def integer_bounds(low, high, endpoint=False):
    """low and high as ints with low < high, both within 64-bit integers:
    Python ints or NumPy integers, not bools or floats (see check_int).
    endpoint: the range is [low, high], returned as [low, high + 1)."""
    low = check_int(low, "low", 1 << 64, low=-(1 << 63))
    if endpoint:
        high = check_int(high, "high", 1 << 64, low=-(1 << 63)) + 1
        if low >= high:
            raise ValueError(f"need low <= high, got low={low}, high={high - 1}")
        return low, high
    high = check_int(high, "high", (1 << 64) + 1, low=-(1 << 63) + 1)
    if low >= high:
        raise ValueError(f"need low < high, got low={low}, high={high}")
    return low, high


def integer_params(low, high, dt, endpoint=False):
    """Check [low, high) ([low, high] with endpoint) against dtype `dt`;
    return (kind, C parameters)."""
    low, high = integer_bounds(low, high, endpoint)
    smallest, largest = _INT_LIMITS[dt]
    if low < smallest:
        raise ValueError(f"low={low} is below the smallest {dt} ({smallest})")
    if high - 1 > largest:
        raise ValueError(f"high={high} is above {dt}'s largest value + 1 ({largest + 1})")
    range_ = high - low - 1
    return kinds.INTEGER_KIND_BY_BITS[range_.bit_length()], bridge.integer_params(low, range_, dt.itemsize)


def integers(key, low, high, n=None, start=0, dtype=np.int64, *, out=None, threads=None):
    """Exactly unbiased integers in [low, high) (Lemire's multiply-and-reject).

    Element i uses one draw of 32 bits (high - low <= 2**16), 64 bits
    (<= 2**32) or 128 bits (larger spans) at its own position; a rejected draw
    (probability below 2**-16, 2**-32, 2**-64) is redrawn from a reserved part
    of the stream, so later elements never shift.  Elements are limited to
    start + n <= 2**57.

    >>> import ctrng
    >>> v = ctrng.integers(ctrng.Key(5), 0, 6, 1000)
    >>> int(v.min()), int(v.max())
    (0, 5)
    """
    key = check_key(key)
    dt = check_dtype(dtype, INT_DTYPES, "integers")
    kind, prm = integer_params(low, high, dt)
    start = check_start(start)
    res, flat, n = prepare_out(out, n, dt)
    run_fill(key, kind, start, n, flat, params=prm, threads=threads, stream=out is not None)
    return res


def bernoulli_threshold(p):
    """The exact 64-bit threshold for P(1) = p, or None when p == 1: p a
    real number (see real) in [0, 1]."""
    p = real(p, "p")
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"p must be in [0, 1], got {p}")
    return None if p == 1.0 else int(p * 2.0**64)


def bernoulli_params(p):
    """The C parameters of Bernoulli(p): threshold floor(p 2**64), or certain."""
    return bridge.bernoulli_params(bernoulli_threshold(p))


def bernoulli(key, p, n=None, start=0, *, dtype=np.bool_, out=None, threads=None):
    """Bernoulli(p) draws as bool or uint8: element i is 1 when uint64
    element i is below floor(p 2**64) (always, for p = 1), exact for
    p >= 2**-11."""
    key = check_key(key)
    dt = check_dtype(dtype, (np.bool_, np.uint8), "bernoulli")
    prm = bernoulli_params(p)
    res, flat, n = prepare_out(out, n, dt)
    run_fill(key, kinds.BERNOULLI, check_start(start), n, flat, params=prm, threads=threads, stream=out is not None)
    return res
