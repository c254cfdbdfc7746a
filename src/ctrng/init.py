"""Initializers for model weights, in the conventions of ``torch.nn.init``,
reproducible per parameter and shardable.

Each initializer fills an array in place from a :class:`ctrng.Key`:

* NumPy arrays are filled by the multi-threaded C core; the affine
  initializers (uniform, normal, xavier, kaiming) at the speed of its fills,
  since ``loc + scale * x`` is fused into the fill, while ``trunc_normal_``
  (a float64 draw and a normal quantile per value, vectorised in the C
  core) and ``orthogonal_`` (a QR) do more work;
* PyTorch tensors (parameters included) are filled through a view of their
  data: a NumPy view on the CPU, the device array on a GPU;
* CUDA arrays (anything with ``__cuda_array_interface__``: CuPy, PyTorch,
  Numba) are filled on the device by :mod:`ctrng.cuda` (uniform, normal,
  xavier, kaiming, trunc_normal: the CPU's values, bit for bit), or
  computed on the host and copied in (``orthogonal_``).

**One stream per parameter.** ``parameter_key(root, ident)`` names the
stream of one parameter: an int ident (the parameter's index) gives stream
``ident``; a str ident (its dotted name, ``"encoder.layers.3.weight"``) gives
stream ``BLAKE2b(name) mod 2**32``, and ``parameter_keys`` checks that the
names of a model do not collide.  Both use rank ``INIT_RANK = 2**32 - 1``,
set aside for weights that every worker must agree on, so a model
initialised twice, on one rank or a thousand, CPU or GPU, gets the same
weights.

**Sharding.** Element ``idx`` of a full tensor of shape ``full_shape`` is
element ``ravel_multi_index(idx, full_shape)`` of the stream.  A rank that
holds only a block of the tensor (rows ``[a, b)`` in tensor parallelism, or
any box of slices) passes ``full_shape`` and ``index`` and gets exactly that
block of the full tensor, without generating the rest; fans and gains come
from ``full_shape``.  (``orthogonal_`` needs the whole matrix: it computes it
and keeps the block.)

>>> import numpy as np, ctrng
>>> key = ctrng.init.parameter_key(2024, "fc1.weight")
>>> w = np.empty((256, 128), np.float32)
>>> _ = ctrng.init.kaiming_uniform_(w, key, a=5 ** 0.5)
>>> shard = np.empty((64, 128), np.float32)   # rows 64..127 on this rank
>>> _ = ctrng.init.kaiming_uniform_(shard, key, a=5 ** 0.5, full_shape=(256, 128),
...                                 index=(slice(64, 128),))
>>> bool((shard == w[64:128]).all())
True
"""

from __future__ import annotations

import hashlib
import math

import numpy as np

from ._core import bridge, kinds
from ._core.checks import check_interval, check_loc_scale, check_nonnegative, check_shape, real
from ._core.shards import block_spans, fill_runs
from .key import DEFAULT_ALGORITHM, Key, check_key
from .stateless import normal, uniform

__all__ = ["INIT_RANK", "parameter_key", "parameter_keys", "calculate_gain", "uniform_", "normal_",
           "trunc_normal_", "xavier_uniform_", "xavier_normal_", "kaiming_uniform_", "kaiming_normal_",
           "orthogonal_"]

INIT_RANK = (1 << 32) - 1
# A bound on |z| for trunc_normal_'s standardised values: the inversion
# never passes the quantile of the smallest positive float64, -38.5.
Z_BOUND = 39.0


def _name_stream(name):
    digest = hashlib.blake2b(b"ctrng parameter v1\x00" + name.encode("utf-8"), digest_size=8).digest()
    return int.from_bytes(digest, "little") & 0xFFFFFFFF


def parameter_key(root, ident, algorithm=DEFAULT_ALGORITHM):
    """The Key of one parameter: rank INIT_RANK, stream `ident` (an int index)
    or a 32-bit BLAKE2b hash of `ident` (a str name)."""
    if isinstance(ident, str):
        stream = _name_stream(ident)
    elif isinstance(ident, bool) or not isinstance(ident, (int, np.integer)):
        raise TypeError(f"ident must be an int index or a str name, not {type(ident).__name__}")
    else:
        stream = ident
    return Key(root, rank=INIT_RANK, stream=stream, algorithm=algorithm)


def parameter_keys(root, names, algorithm=DEFAULT_ALGORITHM):
    """{name: Key} for the parameter names of a model; raises ValueError if
    two names hash to the same stream (then pass indices instead)."""
    keys, seen = {}, {}
    for name in names:
        key = parameter_key(root, name, algorithm)
        if key.stream in seen and seen[key.stream] != name:
            raise ValueError(f"parameter names {seen[key.stream]!r} and {name!r} share stream {key.stream}; "
                             "use parameter indices for this model")
        seen[key.stream] = name
        keys[name] = key
    return keys


_GAINS = {"linear": 1.0, "identity": 1.0, "sigmoid": 1.0, "tanh": 5.0 / 3, "relu": math.sqrt(2.0),
          "selu": 3.0 / 4}
_CONV = ("conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d", "conv_transpose3d")


def calculate_gain(nonlinearity, param=None):
    """The recommended gain for a nonlinearity, as torch.nn.init.calculate_gain."""
    if nonlinearity in _CONV:
        return 1.0
    if nonlinearity == "leaky_relu":
        slope = 0.01 if param is None else param
        real(slope, "param")
        return math.sqrt(2.0 / (1 + slope ** 2))
    if nonlinearity in _GAINS:
        return _GAINS[nonlinearity]
    raise ValueError(f"unsupported nonlinearity {nonlinearity!r}")


def _fans(shape):
    if len(shape) < 2:
        raise ValueError("fan in and fan out need an array of at least 2 dimensions")
    if math.prod(shape) == 0:  # nothing to fill (torch.nn.init: a no-op): any finite scale does
        return 1, 1
    receptive = math.prod(shape[2:])
    return shape[1] * receptive, shape[0] * receptive


def _full_shape(array, full_shape):
    """The full tensor's shape: full_shape (see ctrng._core.checks.check_shape)
    or, without it, the array's."""
    return tuple(array.shape) if full_shape is None else check_shape(full_shape, "full_shape")


def _derived(check, note):
    """check(dtype), for parameters derived from the caller's: its ValueError
    says where they came from (`note`)."""
    def run(dt):
        try:
            check(dt)
        except ValueError as exc:
            raise ValueError(f"{exc} ({note})") from None
    return run


# -- placing a block of the full tensor ---------------------------------------
def _check_float(dtype):
    if dtype not in kinds.FLOAT_DTYPES:
        raise TypeError(f"array must be float32 or float64, not {dtype}")
    return np.dtype(dtype)


def _init(array, key, fill, full_shape, index, device_fill=None, check=None):
    """Fill `array` (NumPy or CUDA) with the block `index` of the full
    tensor: fill(out, start) writes NumPy pieces; device_fill, if given,
    writes CUDA pieces on the device (else CUDA arrays are filled on the host
    and copied in).  check(dtype), if given, checks the parameters against
    the array's dtype before anything is written."""
    check_key(key)
    if type(array).__module__.split(".")[0] == "torch":  # a torch.Tensor: fill a view of its data
        view = array.detach()
        _init(view if view.is_cuda else view.numpy(), key, fill, full_shape, index, device_fill, check)
        return array
    if isinstance(array, np.ndarray):
        dt = _check_float(array.dtype)
        if check is not None:
            check(dt)
        if not array.flags.writeable:
            raise ValueError("array is read-only")
        full, spans = block_spans(array.shape, full_shape, index)
        flat = array.reshape(-1) if array.flags.c_contiguous else np.empty(array.size, array.dtype)
        fill_runs(fill, flat, full, spans)
        if not array.flags.c_contiguous:
            array[...] = flat.reshape(array.shape)
        return array
    if not (hasattr(array, "__cuda_array_interface__") or getattr(array, "__cuda_ndarray__", False)):
        raise TypeError(f"array must be a numpy array or a CUDA array, not {type(array).__name__}")
    from .cuda import as_device_array
    dev = as_device_array(array)
    dt = _check_float(dev.dtype)
    if check is not None:
        check(dt)
    full, spans = block_spans(dev.shape, full_shape, index)
    if device_fill is not None and dev.is_c_contiguous():
        fill_runs(device_fill, dev.reshape(dev.size), full, spans)
    else:
        host = np.empty(dev.size, dev.dtype)
        fill_runs(fill, host, full, spans)
        dev.copy_to_device(host.reshape(dev.shape))
    return array


# -- the initializers -----------------------------------------------------------
def uniform_(array, key, a=0.0, b=1.0, *, full_shape=None, index=None):
    """Fill with U(a, b): element i is ctrng.uniform(key, a, b)'s element i
    (on a GPU, ctrng.cuda.uniform's); a and b checked as ctrng.uniform
    checks low and high, for the array's dtype."""
    return _uniform(array, key, a, b, full_shape, index, lambda dt: check_interval(a, b, dt, ("a", "b")))


def _uniform(array, key, a, b, full_shape, index, check):
    def device(out, start):
        from . import cuda
        cuda.uniform(key, a, b, start=start, dtype=out.dtype, out=out)

    return _init(array, key, lambda out, start: uniform(key, a, b, start=start, dtype=out.dtype, out=out),
                 full_shape, index, device, check)


def normal_(array, key, mean=0.0, std=1.0, *, full_shape=None, index=None):
    """Fill with N(mean, std^2): element i is ctrng.normal(key, mean, std)'s
    element i (on a GPU, ctrng.cuda.normal's); mean and std checked as
    ctrng.normal checks loc and scale, for the array's dtype."""
    return _normal(array, key, mean, std, full_shape, index,
                   lambda dt: check_loc_scale(mean, std, dt, ("mean", "std")))


def _normal(array, key, mean, std, full_shape, index, check):
    def device(out, start):
        from . import cuda
        cuda.normal(key, mean, std, start=start, dtype=out.dtype, out=out)

    return _init(array, key, lambda out, start: normal(key, mean, std, start=start, dtype=out.dtype, out=out),
                 full_shape, index, device, check)


def _symmetric(array, key, bound, full_shape, index, note):
    """U(-bound, bound), bound derived as `note` says."""
    check = _derived(lambda dt: check_interval(-bound, bound, dt, ("-bound", "bound")), note)
    return _uniform(array, key, -bound, bound, full_shape, index, check)


def _centred(array, key, std, full_shape, index, note):
    """N(0, std^2), std derived as `note` says."""
    check = _derived(lambda dt: check_loc_scale(0.0, std, dt, ("mean", "std")), note)
    return _normal(array, key, 0.0, std, full_shape, index, check)


def xavier_uniform_(array, key, gain=1.0, *, full_shape=None, index=None):
    """U(-b, b), b = gain sqrt(6 / (fan_in + fan_out)) (Glorot & Bengio);
    gain a real number >= 0, and U(-b, b) legal for the array's dtype (see
    ctrng.uniform)."""
    fan_in, fan_out = _fans(_full_shape(array, full_shape))
    gain = check_nonnegative(gain, "gain")
    return _symmetric(array, key, gain * math.sqrt(6.0 / (fan_in + fan_out)), full_shape, index,
                      f"bound = gain * sqrt(6 / (fan_in + fan_out)), gain={gain!r}")


def xavier_normal_(array, key, gain=1.0, *, full_shape=None, index=None):
    """N(0, s^2), s = gain sqrt(2 / (fan_in + fan_out)); gain a real number
    >= 0, and N(0, s^2) legal for the array's dtype (see ctrng.normal)."""
    fan_in, fan_out = _fans(_full_shape(array, full_shape))
    gain = check_nonnegative(gain, "gain")
    return _centred(array, key, gain * math.sqrt(2.0 / (fan_in + fan_out)), full_shape, index,
                    f"std = gain * sqrt(2 / (fan_in + fan_out)), gain={gain!r}")


def _kaiming_std(shape, a, mode, nonlinearity):
    fan_in, fan_out = _fans(shape)
    if mode not in ("fan_in", "fan_out"):
        raise ValueError(f"mode must be 'fan_in' or 'fan_out', got {mode!r}")
    if a is not None:
        real(a, "a")
    return calculate_gain(nonlinearity, a) / math.sqrt(fan_in if mode == "fan_in" else fan_out)


def kaiming_uniform_(array, key, a=0.0, mode="fan_in", nonlinearity="leaky_relu", *, full_shape=None,
                     index=None):
    """U(-b, b), b = gain sqrt(3 / fan) (He et al.), as torch.nn.init; `a`
    (leaky_relu's negative slope) a finite real number."""
    bound = math.sqrt(3.0) * _kaiming_std(_full_shape(array, full_shape), a, mode, nonlinearity)
    return _symmetric(array, key, bound, full_shape, index, "bound = sqrt(3) * calculate_gain / sqrt(fan)")


def kaiming_normal_(array, key, a=0.0, mode="fan_in", nonlinearity="leaky_relu", *, full_shape=None,
                    index=None):
    """N(0, s^2), s = gain / sqrt(fan) (He et al.), as torch.nn.init; `a`
    as for kaiming_uniform_."""
    std = _kaiming_std(_full_shape(array, full_shape), a, mode, nonlinearity)
    return _centred(array, key, std, full_shape, index, "std = calculate_gain / sqrt(fan)")


def ndtri(p):
    """The standard normal quantile of p in [0, 1], element-wise (Wichura's
    AS 241, about 1e-16 relative; the C core's, as trunc_normal_ uses it)."""
    p = np.ascontiguousarray(p, np.float64)
    out = np.empty_like(p)
    bridge.ndtri(p.reshape(-1), out.reshape(-1))
    return out


def _phi(x):
    return 0.5 * math.erfc(-x / math.sqrt(2.0))


def truncnorm_params(mean, std, a, b, dt=np.float64):
    """The C parameters of trunc_normal_(mean, std, a, b) (see there) for an
    array of dtype `dt`, after checking the arguments: real numbers (see
    ctrng._core.checks.real), mean and std finite in `dt`, std > 0, a < b each
    finite in `dt` or infinite (an open side: then mean - 39 std, or mean +
    39 std, must be finite in `dt`, 39 a bound on |z|), and [a, b] not too
    far in the tail."""
    dt = np.dtype(dt)
    real(mean, "mean", dt)
    real(std, "std", dt)
    real(a, "a", dt, infinite=True)
    real(b, "b", dt, infinite=True)
    if not std > 0:
        raise ValueError(f"std must be positive, got {std}")
    if not a < b:
        raise ValueError(f"need a < b, got a={a}, b={b}")
    if a == -math.inf:
        real(float(mean) - Z_BOUND * float(std), "mean - 39 std (with a = -inf)", dt)
    if b == math.inf:
        real(float(mean) + Z_BOUND * float(std), "mean + 39 std (with b = inf)", dt)
    alpha, beta = (a - mean) / std, (b - mean) / std
    flip = alpha > 0  # work in the lower tail, where Phi keeps its precision
    lo, hi = (-beta, -alpha) if flip else (alpha, beta)
    plo, phi = _phi(lo), _phi(hi)
    if not phi - plo > 0:
        raise ValueError(f"[a, b] = [{a}, {b}] lies too far in the tail of N({mean}, {std}^2): "
                         "its probability underflows in float64 (beyond about 38 standard deviations)")
    return bridge.truncnorm_params(plo, phi - plo, flip, alpha, beta, mean, std)


def trunc_normal_(array, key, mean=0.0, std=1.0, a=-2.0, b=2.0, *, full_shape=None, index=None):
    """N(mean, std^2) truncated to [a, b], exactly: by inversion, element i is
    mean + std Phi^-1(Phi(alpha) + u_i (Phi(beta) - Phi(alpha))), alpha, beta
    the standardised bounds and u_i ctrng.random's float64 element i, computed
    in float64 and clamped to [alpha, beta] against rounding; no rejection,
    so no bias and fixed positions.  When the interval lies in the upper
    tail the mirrored form is used, which keeps Phi away from 1.  Phi^-1 is
    Wichura's AS 241 (about 1e-16 relative), vectorised in the C core.
    mean and std must be finite in the array's dtype, std > 0, and a < b
    each finite in it or infinite (an open side); see truncnorm_params.

    >>> import numpy as np, ctrng
    >>> w = np.empty((3, 4), np.float32)
    >>> _ = ctrng.init.trunc_normal_(w, ctrng.init.parameter_key(1, "w"), std=0.02, a=-0.04, b=0.04)
    >>> bool((abs(w) <= 0.04).all())
    True
    """
    prm = None

    def check(dt):  # for the array's dtype, before anything is written
        nonlocal prm
        prm = truncnorm_params(mean, std, a, b, dt)

    def fill(out, start):
        bridge.fill(key, kinds.float_kind("truncnorm", out.dtype), start, out.size, out, params=prm)

    def device(out, start):
        from . import cuda
        args = (prm.plo, prm.width, bool(prm.flip), prm.alpha, prm.beta, prm.loc, prm.scale)
        cuda.truncated_normal_fill(key, start, args, out)

    return _init(array, key, fill, full_shape, index, device, check)


def orthogonal_(array, key, gain=1.0, *, full_shape=None, index=None):
    """A (semi-)orthogonal matrix (Saxe et al.), as torch.nn.init.orthogonal_:
    the Q of the QR decomposition of a standard normal matrix (float64, from
    the key) with the signs of R's diagonal, times `gain` (a real number
    >= 0, finite in the array's dtype).  The QR is LAPACK's: on other BLAS
    builds the last bits may differ."""
    full = _full_shape(array, full_shape)
    gain = check_nonnegative(gain, "gain")

    def check(dt):  # |Q| <= 1: gain Q is then finite in dt
        real(gain, "gain", dt)

    if len(full) < 2:
        raise ValueError("orthogonal_ needs an array of at least 2 dimensions")
    rows, cols = full[0], math.prod(full[1:])
    if rows * cols == 0:
        return _init(array, key, lambda out, start: None, full_shape, index, check=check)
    z = normal(key, 0.0, 1.0, rows * cols).reshape(rows, cols)
    if rows < cols:
        z = z.T
    q, r = np.linalg.qr(z)
    q *= np.sign(np.diag(r))
    if rows < cols:
        q = q.T
    whole = (gain * q).reshape(full)

    def fill(out, start):
        out[...] = whole.reshape(-1)[start:start + out.size]

    return _init(array, key, fill, full_shape, index, check=check)
