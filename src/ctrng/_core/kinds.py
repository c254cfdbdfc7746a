"""The distribution kinds by name: the C core's table (csrc/kinds.h), read
through the bridge, as the codes and facts Python and Numba use.  Nothing
here restates the table: element sizes, output sizes and integer ranges
are read from its rows."""

from __future__ import annotations

import numpy as np

from .bridge import KIND_ROWS

CODES = {row.name: row.code for row in KIND_ROWS}
RAW32, UNIFORM_F32, UNIFORM_F64 = CODES["raw32"], CODES["uniform_f32"], CODES["uniform_f64"]
NORMAL_F32, NORMAL_F64 = CODES["normal_f32"], CODES["normal_f64"]
INTEGERS_32, INTEGERS_64, INTEGERS_128 = CODES["integers_32"], CODES["integers_64"], CODES["integers_128"]
BERNOULLI = CODES["bernoulli"]
TRUNCNORM_F32, TRUNCNORM_F64 = CODES["truncnorm_f32"], CODES["truncnorm_f64"]

# Stream bytes one element consumes.
UNIT_BYTES = {row.code: row.unit_bytes for row in KIND_ROWS}
# Bytes of one output value (0: the caller's integer width).
OUT_BYTES = {row.code: row.out_bytes for row in KIND_ROWS}
# The stream's word: what a raw32 element consumes; positions of Generator,
# the bit generators and permutations count these.
WORD_BYTES = UNIT_BYTES[RAW32]
# The integer kinds, narrowest first.
INTEGER_KINDS = tuple(sorted((row.code for row in KIND_ROWS if row.range_bits),
                             key=lambda code: KIND_ROWS[code].range_bits))
# The integer kind for each bit length b of a range (high - low - 1): the
# narrowest whose range_bits are at least b, so the range is below
# 2**range_bits.
INTEGER_KIND_BY_BITS = tuple(next(code for code in INTEGER_KINDS if b <= KIND_ROWS[code].range_bits)
                             for b in range(max(KIND_ROWS[code].range_bits for code in INTEGER_KINDS) + 1))

# The float kinds by (family, output bytes): ("uniform", 4) -> UNIFORM_F32.
FLOAT_KINDS = {(row.name.rpartition("_")[0], row.out_bytes): row.code for row in KIND_ROWS if row.value == "f"}
# The float output types of the uniform family (those of every family),
# narrowest first: the dtypes the float functions accept.  Scalar types, not
# dtype instances: checks.check_dtype keys its cache on them, and a type
# hashes at once where a dtype instance computes its hash on every call.
FLOAT_DTYPES = tuple(np.dtype(f"f{size}").type for family, size in sorted(FLOAT_KINDS) if family == "uniform")


def integer_kind(range_):
    """The integer kind that draws values low + [0, range_]: the narrowest
    whose range_bits exceed range_'s bit length (range_ < 2**range_bits)."""
    bits = range_.bit_length()
    if bits >= len(INTEGER_KIND_BY_BITS):
        raise ValueError(f"range {range_} is beyond every integer kind")
    return INTEGER_KIND_BY_BITS[bits]


def float_kind(family, dt):
    """The code of the float kind of `family` ('uniform', 'normal',
    'truncnorm') with values of dtype dt."""
    return FLOAT_KINDS[family, dt.itemsize]

