"""The one checking layer: the rules every public face (the stateless
functions, Generator, ctrng.cuda, ctrng.torch, ctrng.init, ctrng.dask,
ctrng.mpi, ctrng.tf, ctrng.jax) applies to its arguments, so that a value
one face refuses, every face refuses with the same message."""

from __future__ import annotations

import math
import operator

import numpy as np

MAX_N = 1 << 63


def check_int(value, name, limit, *, low=0):
    """Return `value` as an int in [low, limit), or raise naming `name`."""
    if isinstance(value, bool) or value is None:
        raise TypeError(f"{name} must be an integer, not {value!r}")
    try:
        value = operator.index(value)
    except TypeError:
        raise TypeError(f"{name} must be an integer, not {type(value).__name__}") from None
    if not low <= value < limit:
        k = limit.bit_length() - 1
        power = f" (= [{low}, 2**{k}))" if k >= 0 and limit == 1 << k else ""  # only where it is one
        raise ValueError(f"{name} must be in [{low}, {limit}){power}, got {value}")
    return value


def check_fields(value, name, source, required, optional=(), tag=None):
    """`value` if it is a dict with the `required` fields, perhaps some
    `optional` ones and no others, and tag = (field, value) matches; else
    raise naming `name` and `source`, what makes such dicts."""
    expected = f"expected a dict from {source}"
    if not isinstance(value, dict):
        raise TypeError(f"{name} must be a dict from {source}, not {type(value).__name__}")
    if tag is not None and tag[0] in value and value[tag[0]] != tag[1]:
        raise ValueError(f"{name}[{tag[0]!r}] is {value[tag[0]]!r}, not {tag[1]!r}: {expected}")
    missing = [f for f in required if f not in value]
    if missing:
        raise ValueError(f"{name} is missing {missing[0]!r}: {expected}")
    unknown = [f for f in value if f not in required and f not in optional]
    if unknown:
        raise ValueError(f"{name} has an unknown field {unknown[0]!r}: {expected}")
    return value


_CHECKED_DTYPES = {}  # (dtype, allowed) -> check_dtype's answer


def check_dtype(dtype, allowed, what):
    """The native-order dtype for `dtype`, which must be one of `allowed`
    (TypeError naming the function `what` otherwise): NumPy's own instance
    of it, which compares by identity, fast.  Answers are remembered: the
    lookup is a large part of a small draw's cost."""
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


def prepare_out(out, n, dtype, *, wrap=None, empty=allocate):
    """Check `out` (or allocate it) for n elements of `dtype`; return
    (array to return, flat array to fill, n).

    For device arrays pass wrap, a function giving the device array that
    views `out` (raising TypeError for anything else), and empty(n, dtype),
    one that allocates such an array: `out` then need only be C-contiguous
    (``is_c_contiguous()``) and the arrays returned are device arrays."""
    if out is None:
        if n is None:
            raise TypeError("n is required when out is not given")
        n = check_int(n, "n", MAX_N)
        arr = empty(n, dtype)
        return arr, arr, n
    if wrap is None:
        if not isinstance(out, np.ndarray):
            raise TypeError(f"out must be a numpy.ndarray, not {type(out).__name__}")
        writeable, contiguous = out.flags.writeable, out.flags.c_contiguous
    else:
        out = wrap(out)
        writeable, contiguous = True, out.is_c_contiguous()
    if out.dtype != dtype or not out.dtype.isnative:
        raise TypeError(f"out has dtype {out.dtype.str}; expected native {dtype}")
    if not writeable:
        raise ValueError("out is read-only")
    if not contiguous:
        raise ValueError("out must be C-contiguous")
    if n is not None and check_int(n, "n", MAX_N) != out.size:
        raise ValueError(f"out has {out.size} elements but n = {n}")
    if wrap is None:
        return out, out.reshape(-1), out.size
    return out, out if out.ndim == 1 else out.reshape(out.size), out.size  # a device reshape makes a new object


def check_start(start):
    """A stream position: an int in [0, 2**80)."""
    return check_int(start, "start", 1 << 80)


def check_shape(shape, name):
    """`shape` as a tuple of ints in [0, 2**63): an integer n gives (n,), a
    tuple, list or 1-d array its entries, each a Python int or NumPy integer
    (not a bool or a float: TypeError naming `name`)."""
    if isinstance(shape, (tuple, list)) or (isinstance(shape, np.ndarray) and shape.ndim == 1):
        return tuple(check_int(d, name, MAX_N) for d in shape)
    return (check_int(shape, name, MAX_N),)


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


def check_nonnegative(value, name, dt=_F64):
    """`value`, as given, if it is a real number (see real) finite in `dt`
    and >= 0 (a gain, a scale); errors name `name`."""
    if real(value, name, dt) < 0:
        raise ValueError(f"{name} must be non-negative, got {value!r}")
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
