"""The bridge to the C core: the only module that touches the compiled
extension (its ffi and lib).  Everything else calls the functions here."""

from __future__ import annotations

from typing import NamedTuple

from ._ctrng import ffi, lib
from .threads import resolve_threads, run_pieces


class KindRow(NamedTuple):
    """One row of the C core's table of distribution kinds (csrc/kinds.h)."""
    code: int
    name: str
    unit_bytes: int  # stream bytes one element consumes
    value: str  # 'u' unsigned, 'f' float, 'i' integers of the caller's width
    out_bytes: int  # bytes of one output value (0: the caller's integer width)
    range_bits: int  # integer kinds: ranges below 2**range_bits; else 0


KIND_ROWS = tuple(KindRow(code, ffi.string(row.name).decode(), row.unit_bytes, row.value.decode(),
                          row.out_bytes, row.range_bits)
                  for code, row in enumerate(lib.ctrng_kinds[0:lib.ctrng_nkinds]))

# Integer elements stay below 2**57: the blocks from 2**63 on hold their
# retries (csrc/layout.c, ctrng_integer_retry).
INTEGER_ELEMENTS = 1 << 57

ISAS = {"auto": lib.CTRNG_ISA_AUTO, "portable": lib.CTRNG_ISA_PORTABLE, "avx2": lib.CTRNG_ISA_AVX2,
        "avx512": lib.CTRNG_ISA_AVX512}
_ERRORS = {lib.CTRNG_EALGORITHM: "unknown algorithm", lib.CTRNG_EKIND: "unknown distribution",
           lib.CTRNG_EISA: "instruction set not available", lib.CTRNG_EROUNDS: "bad round count",
           lib.CTRNG_EPARAMS: "bad parameters"}

# Read once: the code paths this CPU runs.
_RUNNABLE = {code for code in ISAS.values() if lib.ctrng_isa_available(code)}


def available_isas():
    """Names of the code paths this CPU runs, 'portable' (always) first,
    then 'avx2' and 'avx512' where the CPU has them; the default is the
    last.  All give the same bytes.

    >>> import ctrng
    >>> ctrng.available_isas()[0]
    'portable'
    """
    return [name for name, code in ISAS.items() if code and code in _RUNNABLE]


def stream_length(key, kind):
    """Elements of distribution `kind` in one stream: 2**64 blocks' worth,
    and at most 2**57 bounded integers."""
    row = KIND_ROWS[kind]
    length = (key.block_bytes // row.unit_bytes) << 64
    return min(length, INTEGER_ELEMENTS) if row.range_bits else length


def fill(key, kind, start, n, out, *, params=None, threads=None, isa="auto", stream=False):
    """Write elements [start, start + n) of distribution `kind` of `key`'s
    stream into `out`, a writable, aligned, C-contiguous array of n elements.
    stream: large pieces may bypass the caches (CTRNG_FILL_STREAM), for an
    `out` that was written before (not one just allocated)."""
    length = stream_length(key, kind)
    if start + n > length:
        raise ValueError(
            f"start + n = {start + n} is past the end of the stream ({length} elements of this kind)")
    workers = resolve_threads(threads, n)
    code = ISAS.get(isa) if isinstance(isa, str) else None
    if code is None:
        raise ValueError(f"isa must be one of {sorted(ISAS)}, got {isa!r}")
    if code not in _RUNNABLE:
        raise ValueError(f"instruction set {isa!r} is not available on this CPU")
    if n == 0:
        return out
    cstream = key.cstream()
    prm = params if params is not None else ffi.NULL
    per_block = key.block_bytes // KIND_ROWS[kind].unit_bytes
    buffer = ffi.from_buffer(out, require_writable=True)  # keeps `out` pinned
    flags = lib.CTRNG_FILL_STREAM if stream else 0
    if workers == 1:
        check(lib.ctrng_fill(cstream, kind, prm, *divmod(start, per_block), n, buffer, code, flags))
        return out

    base = ffi.cast("char *", buffer)

    def piece(lo, hi):
        block, skip = divmod(start + lo, per_block)
        check(lib.ctrng_fill(cstream, kind, prm, block, skip, hi - lo, base + lo * out.itemsize, code,
                             flags))

    run_pieces(n, workers, piece)
    return out


def check(err):
    """Raise for an error code of the C core."""
    if err:
        raise RuntimeError(f"ctrng C core failed: {_ERRORS.get(err, err)}")
