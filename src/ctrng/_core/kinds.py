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
# (2**range_bits, code) of the integer kinds, narrowest first.
_INTEGER_LIMITS = tuple((1 << KIND_ROWS[code].range_bits, code) for code in INTEGER_KINDS)

# The float kinds by (family, output bytes): ("uniform", 4) -> UNIFORM_F32.
FLOAT_KINDS = {(row.name.rpartition("_")[0], row.out_bytes): row.code for row in KIND_ROWS if row.value == "f"}
# The float output dtypes of the uniform family (those of every family),
# narrowest first: the dtypes the float functions accept.
FLOAT_DTYPES = tuple(np.dtype(f"f{size}") for family, size in sorted(FLOAT_KINDS) if family == "uniform")


def integer_kind(range_):
    """The integer kind that draws values low + [0, range_]: the narrowest
    whose range_bits exceed range_'s bit length (range_ < 2**range_bits)."""
    for limit, code in _INTEGER_LIMITS:
        if range_ < limit:
            return code
    raise ValueError(f"range {range_} is beyond every integer kind")


def float_kind(family, dt):
    """The code of the float kind of `family` ('uniform', 'normal',
    'truncnorm') with values of dtype dt."""
    return FLOAT_KINDS[family, dt.itemsize]

