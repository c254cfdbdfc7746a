"""The distribution kinds by name: the C core's table (csrc/kinds.h), read
through the bridge, as the codes and facts Python and Numba use."""

from __future__ import annotations

from .bridge import KIND_ROWS

CODES = {row.name: row.code for row in KIND_ROWS}
RAW32, UNIFORM_F32, UNIFORM_F64 = CODES["raw32"], CODES["uniform_f32"], CODES["uniform_f64"]
NORMAL_F32, NORMAL_F64 = CODES["normal_f32"], CODES["normal_f64"]
INTEGERS_32, INTEGERS_64, INTEGERS_128 = CODES["integers_32"], CODES["integers_64"], CODES["integers_128"]
BERNOULLI = CODES["bernoulli"]
TRUNCNORM_F32, TRUNCNORM_F64 = CODES["truncnorm_f32"], CODES["truncnorm_f64"]

# Stream bytes one element consumes.
UNIT_BYTES = {row.code: row.unit_bytes for row in KIND_ROWS}
# The integer kinds, narrowest first.
INTEGER_KINDS = tuple(sorted((row.code for row in KIND_ROWS if row.range_bits),
                             key=lambda code: KIND_ROWS[code].range_bits))
