"""Blocks of a tensor whose element idx is element ravel_multi_index(idx,
full_shape) of a stream: used by the initializers (sharded weights) and by
ctrng.dask (chunks)."""

from __future__ import annotations

import math

import numpy as np

from .checks import check_int, check_shape


def block_spans(shape, full_shape, index):
    """Check the block and return (full_shape, index as a tuple of
    (start, stop) per dimension).  full_shape: integers (see
    checks.check_shape); index: slices of step 1 whose bounds are
    integers or None (not bools or floats: TypeError)."""
    full = tuple(shape) if full_shape is None else check_shape(full_shape, "full_shape")
    if len(full) != len(shape):
        raise ValueError(f"full_shape {full} has {len(full)} dimensions, the array {len(shape)}")
    index = () if index is None else tuple(index)
    if len(index) > len(full):
        raise ValueError("index has more entries than full_shape has dimensions")
    spans = []
    for d, size in enumerate(full):
        s = index[d] if d < len(index) else slice(None)
        if not isinstance(s, slice):
            raise TypeError(f"index must hold slices, not {type(s).__name__}")
        for bound in (s.start, s.stop, s.step):
            if bound is not None:
                check_int(bound, "index", 1 << 63, low=-(1 << 63))
        if s.step not in (None, 1):
            raise ValueError("index must be slices with step 1")
        start, stop, _ = s.indices(size)
        if stop - start != shape[d]:
            raise ValueError(f"index selects {max(stop - start, 0)} entries of dimension {d}, "
                             f"the array has {shape[d]}")
        spans.append((start, stop))
    return full, spans


def fill_runs(fill, flat, full, spans):
    """Call fill(piece of flat, start) for every run of the block that is
    contiguous in the full tensor's C order; flat is the block, C order."""
    if flat.size == 0:
        return
    if not full:  # a 0-d tensor: one element, element 0 of the stream
        fill(flat, 0)
        return
    strides = [math.prod(full[d + 1:]) for d in range(len(full))]
    # Trailing dimensions taken whole merge into one run.
    inner = len(full)
    while inner > 1 and spans[inner - 1] == (0, full[inner - 1]):
        inner -= 1
    run = (spans[inner - 1][1] - spans[inner - 1][0]) * strides[inner - 1]
    for n, outer in enumerate(np.ndindex(*[b - a for a, b in spans[:inner - 1]])):
        start = sum((spans[d][0] + i) * strides[d] for d, i in enumerate(outer))
        start += spans[inner - 1][0] * strides[inner - 1]
        fill(flat[n * run:(n + 1) * run], start)
