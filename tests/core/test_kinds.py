"""The C core's table of distribution kinds (csrc/kinds.h, read through the
bridge as KIND_ROWS) against facts stated independently of it:

* the fuzz driver's own restatement of bytes per element and output bytes
  (tests/c/fuzz_core.c keeps it on purpose, so that the sanitizer runs check
  the core against what a kind should be, not against itself);
* the dtypes the public functions return (output bytes and value type);
* the stream bytes each element reads: every kind's output recomputed from
  the raw words by tests/reference.py's formulas, which say which words
  element i reads (uint32 element i, uint64 element i, word pairs ...).

Adding a kind to kinds.h without stating it here fails the coverage tests.
"""

import re
from pathlib import Path
from statistics import NormalDist

import numpy as np
import pytest
import reference as ref

import ctrng
from ctrng._core.bridge import KIND_ROWS

FUZZ_DRIVER = Path(__file__).resolve().parents[1] / "c" / "fuzz_core.c"
NAMES = [row.name for row in KIND_ROWS]
ROWS = {row.name: row for row in KIND_ROWS}


# ---------------------------------------------------------------------------
# The fuzz driver's restatement
# ---------------------------------------------------------------------------

def fuzz_unit_bytes(source):
    """The driver's `unit_bytes[CTRNG_NKINDS]` initializer, in code order."""
    m = re.search(r"unit_bytes\s*\[\s*CTRNG_NKINDS\s*\]\s*=\s*\{([^}]*)\}", source)
    assert m, "fuzz_core.c: no unit_bytes[CTRNG_NKINDS] initializer found"
    return [int(v) for v in m.group(1).split(",") if v.strip()]


def fuzz_out_sizes(source):
    """The driver's out_size switch: ({kind NAME: bytes, 0 for the caller's
    integer width}, the default's bytes)."""
    m = re.search(r"static size_t out_size\([^)]*\)\s*\{(.*?)\n\}", source, re.S)
    assert m, "fuzz_core.c: no out_size function found"
    sizes, pending, default = {}, [], None
    for token in re.finditer(r"case\s+CTRNG_(\w+)\s*:|default\s*:|return\s+([^;]+);", m.group(1)):
        if token.group(0).startswith("case"):
            pending.append(token.group(1))
        elif token.group(0).startswith("default"):
            pending.append(None)
        else:
            value = token.group(2).strip()
            size = 0 if value == "(size_t)prm->out_bytes" else int(value)
            for name in pending:
                if name is None:
                    default = size
                else:
                    sizes[name] = size
            pending = []
    assert default is not None, "fuzz_core.c: out_size has no default"
    return sizes, default


def test_fuzz_driver_unit_bytes_match_the_table():
    assert fuzz_unit_bytes(FUZZ_DRIVER.read_text()) == [row.unit_bytes for row in KIND_ROWS]


def test_fuzz_driver_output_sizes_match_the_table():
    sizes, default = fuzz_out_sizes(FUZZ_DRIVER.read_text())
    upper = {name.upper() for name in NAMES}
    assert set(sizes) <= upper, f"out_size names kinds the table lacks: {set(sizes) - upper}"
    got = {row.name: sizes.get(row.name.upper(), default) for row in KIND_ROWS}
    assert got == {row.name: row.out_bytes for row in KIND_ROWS}


def test_the_parsers_read_the_driver_as_written():
    """The parsers themselves, on a restatement that disagrees with the
    table (so the two tests above can fail)."""
    source = """
static const int unit_bytes[CTRNG_NKINDS] = {4, 8, 16};
static size_t out_size(int kind, const ctrng_params *prm)
{
    switch (kind) {
    case CTRNG_A:
    case CTRNG_B: return 8;
    case CTRNG_C: return (size_t)prm->out_bytes;
    default: return 4;
    }
}
"""
    assert fuzz_unit_bytes(source) == [4, 8, 16]
    assert fuzz_out_sizes(source) == ({"A": 8, "B": 8, "C": 0}, 4)


# ---------------------------------------------------------------------------
# Independent facts: public dtypes and the words each element reads
# ---------------------------------------------------------------------------

N = 2000  # even (normals come in pairs) and several 64-byte groups of every kind
ALGORITHMS = ["philox4x32", "philox4x64"]
KEYS = {a: ctrng.Key(20240521, rank=3, stream=7, algorithm=a) for a in ALGORITHMS}
TRUNC = dict(mean=0.5, std=2.0, a=-1.0, b=3.0)


def raw(key, dtype, n=N):
    return ctrng.random_raw(key, n, dtype=dtype).tolist()


def trunc_normal(key, dtype):
    out = np.empty(N, dtype)
    ctrng.init.trunc_normal_(out, key, **TRUNC)
    return out


def trunc_normal_reference(u64):
    """mean + std Phi^-1(Phi(alpha) + u (Phi(beta) - Phi(alpha))), u the
    uniform float64 of uint64 element i (ctrng.init.trunc_normal_'s doc)."""
    nd = NormalDist()
    alpha = (TRUNC["a"] - TRUNC["mean"]) / TRUNC["std"]
    beta = (TRUNC["b"] - TRUNC["mean"]) / TRUNC["std"]
    plo, phi = nd.cdf(alpha), nd.cdf(beta)
    return [TRUNC["mean"] + TRUNC["std"] * nd.inv_cdf(plo + u * (phi - plo))
            for u in ref.uniform_f64(u64)]


def integers_reference(key, low, high, words):
    return ref.integers(key.algorithm, key.root, key.rank, key.stream, low, high, 0, words)


def pairs(u64):
    return list(zip(u64[0::2], u64[1::2]))


# Per kind: (public output, (its reference from the raw words, bytes of
# stream each element reads), tolerance relative to max(1, |value|)).  The
# bytes come from the words the reference reads, not from the table.
FACTS = {
    "raw32": (lambda k: ctrng.random_raw(k, N, dtype=np.uint32),
              lambda k: (raw(k, np.uint32), 4), 0),
    "uniform_f32": (lambda k: ctrng.random(k, N, dtype=np.float32),
                    lambda k: (ref.uniform_f32(raw(k, np.uint32)), 4), 0),
    "uniform_f64": (lambda k: ctrng.random(k, N, dtype=np.float64),
                    lambda k: (ref.uniform_f64(raw(k, np.uint64)), 8), 0),
    "normal_f32": (lambda k: ctrng.standard_normal(k, N, dtype=np.float32),
                   lambda k: (ref.box_muller_f32(raw(k, np.uint32)), 4), 1e-5),
    "normal_f64": (lambda k: ctrng.standard_normal(k, N, dtype=np.float64),
                   lambda k: (ref.box_muller_f64(raw(k, np.uint64)), 8), 1e-13),
    "integers_32": (lambda k: ctrng.integers(k, -5, 1000, N, dtype=np.int64),
                    lambda k: (integers_reference(k, -5, 1000, raw(k, np.uint32)), 4), 0),
    "integers_64": (lambda k: ctrng.integers(k, 0, 2**32, N, dtype=np.int64),
                    lambda k: (integers_reference(k, 0, 2**32, raw(k, np.uint64)), 8), 0),
    "integers_128": (lambda k: ctrng.integers(k, 3, 2**62 + 12345, N, dtype=np.int64),
                     lambda k: (integers_reference(k, 3, 2**62 + 12345, pairs(raw(k, np.uint64, 2 * N))), 16),
                     0),
    "bernoulli": (lambda k: ctrng.bernoulli(k, 0.3, N),
                  lambda k: (ref.bernoulli(raw(k, np.uint64), 0.3), 8), 0),
    "truncnorm_f32": (lambda k: trunc_normal(k, np.float32),
                      lambda k: (trunc_normal_reference(raw(k, np.uint64)), 8), 1e-6),
    "truncnorm_f64": (lambda k: trunc_normal(k, np.float64),
                      lambda k: (trunc_normal_reference(raw(k, np.uint64)), 8), 1e-12),
}


def test_every_kind_has_independent_facts():
    assert sorted(FACTS) == sorted(NAMES)


def check_output_type(row, out):
    """Output bytes and value type of the table's row against an array a
    public function returned."""
    if row.value == "f":
        assert out.dtype.kind == "f"
    elif row.value == "u":
        assert out.dtype.kind in "ub"  # unsigned words, or 0/1 bytes as bool
    else:
        assert row.value == "i" and out.dtype.kind == "i"
    assert row.out_bytes in (0, out.dtype.itemsize)
    return out


@pytest.mark.parametrize("name", NAMES)
def test_output_bytes_and_value_type(name):
    row = ROWS[name]
    out = check_output_type(row, np.asarray(FACTS[name][0](KEYS["philox4x32"])))
    if row.out_bytes == 0:  # integers of the caller's width: both widths work
        assert row.value == "i" and row.range_bits
        assert ctrng.integers(KEYS["philox4x32"], 0, 7, 4, dtype=np.int32).dtype.itemsize == 4
        assert out.dtype.itemsize == 8
    else:
        assert out.dtype.itemsize == row.out_bytes


@pytest.mark.parametrize("algorithm", ALGORITHMS)
@pytest.mark.parametrize("name", NAMES)
def test_stream_bytes_per_element(name, algorithm):
    """Each kind's values are the reference's, computed from the words that
    element i reads; those words' size is the row's unit_bytes."""
    key = KEYS[algorithm]
    public, reference, tol = FACTS[name]
    got = np.asarray(public(key)).astype(np.float64 if tol else object)
    expected, unit_bytes = reference(key)
    assert ROWS[name].unit_bytes == unit_bytes
    expected = expected[:N]
    if tol:
        bad = [(j, g, e) for j, (g, e) in enumerate(zip(got, expected))
               if not abs(g - e) <= tol * max(1.0, abs(e))]
    else:
        bad = [(j, g, e) for j, (g, e) in enumerate(zip(got.tolist(), expected)) if g != e]
    assert not bad, bad[:5]


def test_integer_kinds_take_their_documented_ranges():
    """range_bits against the draw widths ctrng.integers documents
    (tests/reference.py draw_width): a kind drawing unit_bytes * 8 bits takes
    spans high - low up to 2^range_bits (ranges below it), and the next span
    needs a wider draw."""
    integer_rows = [row for row in KIND_ROWS if row.range_bits]
    assert len(integer_rows) == 3
    for row in integer_rows:
        widest = 1 << row.range_bits
        assert ref.draw_width(widest) == 8 * row.unit_bytes
        if row.range_bits < 64:
            assert ref.draw_width(widest + 1) > 8 * row.unit_bytes
