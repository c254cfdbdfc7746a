"""The bridge to the C core: the only module that touches the compiled
extension (its ffi and lib).  Everything else calls the functions here."""

from __future__ import annotations

import ctypes
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

# The ciphers' codes in the C core (ctrng_stream.algorithm).
ALGORITHM_CODES = {"philox4x32": lib.CTRNG_PHILOX4X32, "philox4x64": lib.CTRNG_PHILOX4X64,
                   "threefry4x32": lib.CTRNG_THREEFRY4X32, "threefry4x64": lib.CTRNG_THREEFRY4X64}

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


def check_range(key, kind, start, n, words=1):
    """Raise ValueError unless elements [start, start + n) of `kind` (raw
    words: `words` 32-bit words an element) lie within the stream."""
    length = stream_length(key, kind) // words
    if start + n > length:
        raise ValueError(
            f"start + n = {start + n} is past the end of the stream ({length} elements of this kind)")


def fill(key, kind, start, n, out, *, params=None, threads=None, isa="auto", stream=False):
    """Write elements [start, start + n) of distribution `kind` of `key`'s
    stream into `out`, a writable, aligned, C-contiguous array of n elements.
    stream: large pieces may bypass the caches (CTRNG_FILL_STREAM), for an
    `out` that was written before (not one just allocated)."""
    check_range(key, kind, start, n)
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


# -- streams and blocks -------------------------------------------------------------
def stream(algorithm_code, rounds, key_words, counter_words):
    """The C description of a stream (a ctrng_stream *): the cipher, its
    rounds, key words and the counter words above the block number
    (counter_words[1:]; word 0 is the block's)."""
    s = ffi.new("ctrng_stream *")
    s.algorithm = algorithm_code
    s.rounds = rounds
    for i, w in enumerate(key_words):
        s.key[i] = w
    for i in range(1, 4):
        s.ctr[i] = counter_words[i]
    return s


def block(algorithm_code, rounds, counter_words, key_words):
    """The four words of one cipher block (the scalar reference), as ints."""
    out = ffi.new("uint64_t[4]")
    lib.ctrng_block(algorithm_code, rounds, list(counter_words), list(key_words), out)
    return tuple(out)


# -- distribution parameters (ctrng_params) --------------------------------------------
def affine_params(loc, scale):
    """Parameters of loc + scale * x for the float kinds."""
    prm = ffi.new("ctrng_params *")
    prm.affine = 1
    prm.loc, prm.scale = loc, scale
    return prm


def integer_params(low, range_, out_bytes):
    """Parameters of the integer kinds: values low + [0, range_] (low taken
    modulo 2**64), written as integers of out_bytes bytes."""
    prm = ffi.new("ctrng_params *")
    prm.low = low % (1 << 64)
    prm.range = range_
    prm.out_bytes = out_bytes
    return prm


def bernoulli_params(threshold):
    """Parameters of Bernoulli draws: 1 below `threshold` (of 2**64), or
    always for threshold None."""
    prm = ffi.new("ctrng_params *")
    prm.threshold = threshold or 0
    prm.certain = threshold is None
    return prm


def truncnorm_params(plo, width, flip, alpha, beta, loc, scale):
    """Parameters of the truncated normal kinds (see ctrng.init.trunc_normal_)."""
    prm = ffi.new("ctrng_params *")
    prm.plo, prm.width, prm.flip, prm.alpha, prm.beta, prm.loc, prm.scale = \
        plo, width, flip, alpha, beta, loc, scale
    return prm


def ndtri(p, out, threads=None):
    """out[i] = the standard normal quantile of p[i] (float64 arrays, flat,
    C-contiguous), on `threads` threads."""

    def piece(lo, hi):
        check(lib.ctrng_ndtri(ffi.from_buffer("double[]", p[lo:hi]), hi - lo,
                              ffi.from_buffer("double[]", out[lo:hi], require_writable=True), lib.CTRNG_ISA_AUTO))

    run_pieces(p.size, resolve_threads(threads, p.size), piece)
    return out


# -- permutations (csrc/shuffle) ---------------------------------------------------------
def perm_bits(n):
    """log2 of the bucket count of a permutation of n items."""
    return lib.ctrng_perm_bits(n)


def perm_count(stream, start, lo, hi, bits, out):
    """Add the number of items of [lo, hi) in each bucket to `out` (uint64)."""
    lib.ctrng_perm_count(stream, start, lo, hi, bits, ffi.from_buffer("uint64_t[]", out))


def perm_scatter(stream, start, lo, hi, bits, nexts, src, dst):
    """Scatter the rows [lo, hi) of `src` (None: the indices themselves) to
    their buckets in `dst`, from the next free row of each bucket `nexts`
    (uint64, advanced)."""
    lib.ctrng_perm_scatter(stream, start, lo, hi, bits, ffi.from_buffer("uint64_t[]", nexts),
                           ffi.NULL if src is None else ffi.from_buffer(src), dst.nbytes // len(dst),
                           ffi.from_buffer(dst, require_writable=True))


def perm_shuffle_buckets(stream, start, n, bucket_start, first, last, data, base):
    """Fisher-Yates shuffle buckets [first, last) of a permutation of n items
    in `data`, which holds output rows base, base + 1, ..."""
    itemsize = data.nbytes // len(data) if len(data) else 1
    lib.ctrng_perm_shuffle_buckets(stream, start, n, ffi.from_buffer("uint64_t[]", bucket_start), first, last,
                                   ffi.from_buffer(data, require_writable=True), base, itemsize)


def scatter_labels(labels, nexts, src, dst):
    """Stable counting sort of the rows of `src` into `dst` by `labels`
    (uint32), from each label's first row `nexts` (uint64)."""
    lib.ctrng_scatter_labels(ffi.from_buffer("uint32_t[]", labels), len(labels), ffi.from_buffer("uint64_t[]", nexts),
                             ffi.from_buffer(src), src.nbytes // max(len(src), 1),
                             ffi.from_buffer(dst, require_writable=True))


def line_ends(buf, ends):
    """Write the offset past each newline of `buf` (uint8) to `ends`
    (uint64), as many as fit, and return how many were written; with ends
    None, return how many newlines there are."""
    if ends is None:
        return lib.ctrng_line_ends(ffi.from_buffer(buf), len(buf), ffi.NULL, len(buf))
    return lib.ctrng_line_ends(ffi.from_buffer(buf), len(buf), ffi.from_buffer("uint64_t[]", ends, require_writable=True),
                               len(ends))


def gather_spans(parts, first, ends, width, order, dst, dst_ends):
    """Copy the items order[0], order[1], ... back to back into `dst`
    (uint8), their ends into `dst_ends` (uint64, or None).  Item i is bytes
    ends[i - 1]..ends[i] (ends uint64; None: items of `width` bytes) of the
    items laid end to end, which lie in the uint8 buffers `parts`, part p
    holding the items from first[p] on (uint64, first[0] = 0)."""
    bufs = [ffi.from_buffer(p) for p in parts]  # alive through the call
    lib.ctrng_gather_spans(ffi.new("unsigned char *[]", [ffi.cast("unsigned char *", b) for b in bufs]), ffi.from_buffer("uint64_t[]", first), len(parts),
                           ffi.NULL if ends is None else ffi.from_buffer("uint64_t[]", ends), width or 0,
                           ffi.from_buffer("int64_t[]", order), len(order), ffi.from_buffer(dst, require_writable=True),
                           ffi.NULL if dst_ends is None else ffi.from_buffer("uint64_t[]", dst_ends,
                                                                              require_writable=True))


def iperm(stream, n):
    """The round keys of the index permutation of range(n) of a stream."""
    params = ffi.new("ctrng_iperm *")
    check(lib.ctrng_iperm_init(params, stream, n))
    return params


def iperm_map(params, items, first, out, inverse, threads=None):
    """out[j] = the permutation (inverse: its inverse) at items[j], or at
    first + j for items None; int64 arrays, on `threads` threads."""
    count = len(out)
    target = ffi.cast("uint64_t *", ffi.from_buffer(out))
    source = ffi.NULL if items is None else ffi.cast("uint64_t *", ffi.from_buffer(items))
    flag = int(inverse)
    if count == 1:  # a single position: no pool
        lib.ctrng_iperm_map(params, source, first, 1, target, flag)
        return out

    def piece(lo, hi):
        lib.ctrng_iperm_map(params, source if items is None else source + lo, first + lo, hi - lo, target + lo, flag)

    run_pieces(count, resolve_threads(threads, count), piece)
    return out


# -- NumPy bit generators (csrc/bitgen.c) --------------------------------------------------
_capsule_pointer = ctypes.pythonapi.PyCapsule_GetPointer
_capsule_pointer.restype = ctypes.c_void_p
_capsule_pointer.argtypes = [ctypes.py_object, ctypes.c_char_p]


def bitgen_attach(capsule, stream):
    """(bitgen, cursor): NumPy's bitgen_t behind `capsule` (a BitGenerator's)
    and a new C cursor over `stream` for it; place it with bitgen_seek.  The
    cursor's block, index and exhausted fields are readable."""
    cursor = ffi.new("ctrng_bitgen_state *")
    cursor.stream = stream[0]
    return ffi.cast("ctrng_bitgen *", _capsule_pointer(capsule, b"BitGenerator")), cursor


def bitgen_set_stream(cursor, stream):
    """Point the cursor at another stream (then place it with bitgen_seek)."""
    cursor.stream = stream[0]


def bitgen_seek(bitgen, cursor, block, index):
    """Put the cursor at word `index` of block `block`, draws through `bitgen`."""
    check(lib.ctrng_bitgen_init(bitgen, cursor, block, index))
