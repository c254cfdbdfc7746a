"""Stateless generation: element i of every distribution is a pure function of
(key, i, distribution, dtype, parameters).  Generating [a, b) directly gives
the same values as generating [0, b) and slicing, so any chunking, thread
count or restart gives the same numbers.

Every function takes ``out=`` (a C-contiguous array to fill, of the exact
dtype) and ``threads=`` (default: all cores; the result never depends on it).
"""

from __future__ import annotations

import math

import numpy as np

from . import _fill
from ._ctrng import ffi
from .key import Key, check_int

__all__ = ["random_raw", "random", "uniform", "standard_normal", "normal", "integers", "bernoulli"]

_MAX_N = 1 << 63


def check_key(key):
    if not isinstance(key, Key):
        raise TypeError(f"key must be a ctrng.Key, not {type(key).__name__}")
    return key


_CHECKED_DTYPES = {}  # (dtype, allowed) -> check_dtype's answer


def check_dtype(dtype, allowed, what):
    """The native-order dtype for `dtype`, which must be one of `allowed`
    (TypeError naming the function `what` otherwise): NumPy's own instance
    of it, which compares by identity, fast.  Answers are remembered: a
    small draw would otherwise spend a fifth of its time here."""
    try:
        return _CHECKED_DTYPES[dtype, allowed]
    except (KeyError, TypeError):  # TypeError: an unhashable dtype argument
        pass
    try:
        dt = np.dtype(dtype)
    except TypeError:
        raise TypeError(f"dtype {dtype!r} is not a NumPy dtype") from None
    if dt not in allowed:
        names = ", ".join(str(np.dtype(a)) for a in allowed)
        raise TypeError(f"{what} supports dtype {names}; got {dt}")
    dt = np.dtype(dt.type)
    try:
        _CHECKED_DTYPES[dtype, allowed] = dt
    except TypeError:
        pass
    return dt


def allocate(n, dtype, name="n"):
    """np.empty(n, dtype), with a ValueError naming `name` when n elements
    exceed the address space (MemoryError when they just do not fit)."""
    try:
        return np.empty(n, dtype)
    except ValueError:
        raise ValueError(f"{name} = {n} elements of {np.dtype(dtype)} exceed the address space") from None


def prepare_out(out, n, dtype):
    """Check `out` (or allocate it) for n elements of `dtype`; return
    (array to return, flat array to fill, n)."""
    if out is None:
        if n is None:
            raise TypeError("n is required when out is not given")
        n = check_int(n, "n", _MAX_N)
        arr = allocate(n, dtype)
        return arr, arr, n
    if not isinstance(out, np.ndarray):
        raise TypeError(f"out must be a numpy.ndarray, not {type(out).__name__}")
    if out.dtype != dtype or not out.dtype.isnative:
        raise TypeError(f"out has dtype {out.dtype.str}; expected native {dtype}")
    if not out.flags.writeable:
        raise ValueError("out is read-only")
    if not out.flags.c_contiguous:
        raise ValueError("out must be C-contiguous")
    if n is not None and check_int(n, "n", _MAX_N) != out.size:
        raise ValueError(f"out has {out.size} elements but n = {n}")
    return out, out.reshape(-1), out.size


def run_fill(key, kind, start, n, flat, *, params=None, threads=None, stream=False):
    """Fill `flat`, going through an aligned copy when `flat` is misaligned;
    stream: `flat` is the caller's out= (see _fill.fill)."""
    if flat.flags.aligned:
        return _fill.fill(key, kind, start, n, flat, params=params, threads=threads, stream=stream)
    tmp = _fill.fill(key, kind, start, n, np.empty_like(flat), params=params, threads=threads)
    flat[...] = tmp
    return flat


def _start(start):
    return check_int(start, "start", 1 << 80)


def check_shape(shape, name):
    """`shape` as a tuple of ints in [0, 2**63): an integer n gives (n,), a
    tuple, list or 1-d array its entries, each a Python int or NumPy integer
    (not a bool or a float: TypeError naming `name`)."""
    if isinstance(shape, (tuple, list)) or (isinstance(shape, np.ndarray) and shape.ndim == 1):
        return tuple(check_int(d, name, _MAX_N) for d in shape)
    return (check_int(shape, name, _MAX_N),)


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
    start = _start(start)
    res, flat, n = prepare_out(out, n, dt)
    words = dt.itemsize // 4
    run_fill(key, _fill.RAW32, start * words, n * words, flat.view(np.uint32), threads=threads,
             stream=out is not None)
    return res


def float_kind(uniform, dt):
    """The distribution code of uniform (or normal) floats of dtype dt."""
    if uniform:
        return _fill.UNIFORM_F32 if dt == np.float32 else _fill.UNIFORM_F64
    return _fill.NORMAL_F32 if dt == np.float32 else _fill.NORMAL_F64


def _float_fill(key, uniform, name, n, start, dtype, out, threads, affine=None):
    """Uniform or normal floats, optionally loc + scale * x (affine)."""
    key = check_key(key)
    dt = check_dtype(dtype, (np.float32, np.float64), name)
    kind = float_kind(uniform, dt)
    start = _start(start)
    res, flat, n = prepare_out(out, n, dt)
    prm = None
    if affine is not None:
        prm = ffi.new("ctrng_params *")
        prm.affine = 1
        prm.loc, prm.scale = affine
    run_fill(key, kind, start, n, flat, params=prm, threads=threads, stream=out is not None)
    return res


# -- parameters -------------------------------------------------------------------
# The rule every face (the functions here, Generator, ctrng.cuda, ctrng.torch,
# ctrng.init, ctrng.dask) applies through the functions below, never a copy:
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

_F32, _F64 = np.dtype(np.float32), np.dtype(np.float64)
# Per float dtype, (t, z): float(x) rounds to a finite value of the dtype
# exactly when |float(x)| < t; z bounds |z| for standard_normal's values of
# the dtype (at most 6.77 in float32, 8.49 in float64: see there), rounded up.
_BOUNDS = {_F32: (2.0**128 - 2.0**103, 6.8), _F64: (math.inf, 8.5)}
_F64_BOUNDS = _BOUNDS[_F64]
_PLAIN = frozenset((int, float))  # the types the common cases below take as they are


def _holds(ok):
    """Whether `ok` (a bool, or a bool array for element-wise checks) holds everywhere."""
    return ok if ok.__class__ is bool else bool(np.all(ok))


def _first_failure(ok, *values):
    """`values` where `ok` first fails, as Python numbers (arrays broadcast together)."""
    if ok.__class__ is bool:
        return [v.item() if isinstance(v, np.generic) else v for v in values]
    ok, *values = np.broadcast_arrays(ok, *values)
    i = int(np.argmin(ok.reshape(-1)))
    return [v.reshape(-1)[i].item() for v in values]


def real(value, name, dt=_F64, elementwise=False, infinite=False):
    """`value` as a float, checked by the parameter rule: a real number (a
    Python int or float, a NumPy integer or floating scalar, or a 0-d array
    of one; not a bool: TypeError) that is finite in dtype `dt` (float(value)
    rounded to `dt` is finite: ValueError).  Errors name `name`.

    elementwise: also accept arrays and lists of integers or floats (as
    float64 arrays, each element checked); scalars still give floats.
    infinite: also accept -inf and inf (a bound that leaves a side open)."""
    shown = value
    if value.__class__ is not float:
        if isinstance(value, (int, np.integer, np.floating)) and not isinstance(value, bool):
            try:
                value = float(value)
            except OverflowError:  # an int beyond float64's range
                value = math.inf
        else:
            arr = np.asarray(value) if elementwise or isinstance(value, np.ndarray) else None
            if arr is None or arr.dtype.kind not in "iuf" or (arr.ndim and not elementwise):
                what = f"an array of {arr.dtype}" if arr is not None and arr.dtype.kind not in "iuf" else \
                    type(value).__name__
                raise TypeError(f"{name} must be a real number, not {what}")
            with np.errstate(over="ignore"):  # float128 beyond float64: infinite
                value = arr.astype(np.float64) if elementwise else float(arr)
            shown = value
    ok = abs(value) < _BOUNDS[dt][0]
    if infinite:
        ok = ok | (abs(value) == math.inf)
    if not _holds(ok):
        (bad,) = _first_failure(ok, shown)
        raise ValueError(f"{name} must be finite in {dt}{' or infinite' if infinite else ''}, got {bad!r}")
    return value


def check_interval(low, high, dt=_F64, names=("low", "high"), elementwise=False):
    """The bounds of a uniform distribution on [low, high) with values of
    dtype `dt`, as floats (elementwise: as real() says): low and high real
    and finite in `dt` (see real), low <= high, and high - low (in float64)
    finite in `dt`, so that every value low + (high - low) u is.  `names`
    name low and high in the errors."""
    if type(low) in _PLAIN and type(high) in _PLAIN:  # the common case: the checks below, at once
        t = (_F64_BOUNDS if dt is _F64 else _BOUNDS[dt])[0]
        try:
            lo, hi = float(low), float(high)
        except OverflowError:  # an int beyond float64: refused below
            pass
        else:
            if -t < lo <= hi < t and hi - lo < t:
                return lo, hi
    low, high = real(low, names[0], dt, elementwise), real(high, names[1], dt, elementwise)
    ok = low <= high
    if not _holds(ok):
        lo, hi = _first_failure(ok, low, high)
        raise ValueError(f"need {names[0]} <= {names[1]}, got {names[0]}={lo!r}, {names[1]}={hi!r}")
    with np.errstate(over="ignore"):
        ok = high - low < _BOUNDS[dt][0]
    if not _holds(ok):
        lo, hi = _first_failure(ok, low, high)
        raise ValueError(f"need a finite difference {names[1]} - {names[0]} in {dt}, got {names[0]}={lo!r}, "
                         f"{names[1]}={hi!r}")
    return low, high


def check_loc_scale(loc, scale, dt=_F64, names=("loc", "scale"), elementwise=False):
    """The location and scale of a normal distribution with values of dtype
    `dt`, as floats (elementwise: as real() says): loc and scale real and
    finite in `dt` (see real), scale >= 0, and |loc| + Z scale (in float64)
    finite in `dt`, Z (6.8 for float32, 8.5 for float64) a bound on |z|, so
    that every value loc + scale z is.  `names` name loc and scale in the
    errors."""
    t, z = _F64_BOUNDS if dt is _F64 else _BOUNDS[dt]
    if type(loc) in _PLAIN and type(scale) in _PLAIN:  # as in check_interval
        try:
            lo, sc = float(loc), float(scale)
        except OverflowError:
            pass
        else:
            if -t < lo < t and 0 <= sc < t and abs(lo) + z * sc < t:
                return lo, sc
    loc, scale = real(loc, names[0], dt, elementwise), real(scale, names[1], dt, elementwise)
    ok = scale >= 0
    if not _holds(ok):
        (bad,) = _first_failure(ok, scale)
        raise ValueError(f"{names[1]} must be non-negative, got {bad!r}")
    with np.errstate(over="ignore"):
        ok = abs(loc) + z * scale < t
    if not _holds(ok):
        lo, sc = _first_failure(ok, loc, scale)
        raise ValueError(f"|{names[0]}| + {z} * {names[1]} must be finite in {dt} (values "
                         f"{names[0]} + {names[1]} * z, |z| <= {z}), got {names[0]}={lo!r}, "
                         f"{names[1]}={sc!r}")
    return loc, scale


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
    dt = check_dtype(dtype, (np.float32, np.float64), "uniform")
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
    dt = check_dtype(dtype, (np.float32, np.float64), "normal")
    loc, scale = check_loc_scale(loc, scale, dt)
    return _float_fill(key, False, "normal", n, start, dt, out, threads, (loc, scale))


INT_DTYPES = (np.int32, np.int64, np.uint32, np.uint64)
_INT_LIMITS = {np.dtype(t): (int(np.iinfo(t).min), int(np.iinfo(t).max)) for t in INT_DTYPES}


def integer_bounds(low, high):
    """low and high as ints with low < high, both within 64-bit integers:
    Python ints or NumPy integers, not bools or floats (see check_int)."""
    low = check_int(low, "low", 1 << 64, low=-(1 << 63))
    high = check_int(high, "high", (1 << 64) + 1, low=-(1 << 63) + 1)
    if low >= high:
        raise ValueError(f"need low < high, got low={low}, high={high}")
    return low, high


def integer_params(low, high, dt):
    """Check [low, high) against dtype `dt`; return (kind, C parameters)."""
    low, high = integer_bounds(low, high)
    smallest, largest = _INT_LIMITS[dt]
    if low < smallest:
        raise ValueError(f"low={low} is below the smallest {dt} ({smallest})")
    if high - 1 > largest:
        raise ValueError(f"high={high} is above {dt}'s largest value + 1 ({largest + 1})")
    span = high - low
    kind = _fill.INTEGERS_32 if span <= 1 << 16 else _fill.INTEGERS_64 if span <= 1 << 32 else _fill.INTEGERS_128
    prm = ffi.new("ctrng_params *")
    prm.low = low % (1 << 64)
    prm.range = span - 1
    prm.out_bytes = dt.itemsize
    return kind, prm


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
    start = _start(start)
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
    threshold = bernoulli_threshold(p)
    prm = ffi.new("ctrng_params *")
    prm.threshold = threshold or 0
    prm.certain = threshold is None
    return prm


def bernoulli(key, p, n=None, start=0, *, dtype=np.bool_, out=None, threads=None):
    """Bernoulli(p) draws as bool or uint8: element i is 1 when uint64
    element i is below floor(p 2**64) (always, for p = 1), exact for
    p >= 2**-11."""
    key = check_key(key)
    dt = check_dtype(dtype, (np.bool_, np.uint8), "bernoulli")
    prm = bernoulli_params(p)
    res, flat, n = prepare_out(out, n, dt)
    run_fill(key, _fill.BERNOULLI, _start(start), n, flat, params=prm, threads=threads, stream=out is not None)
    return res
