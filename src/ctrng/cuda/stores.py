"""The 16-byte grouped store of the CUDA fill kernels: an LLVM intrinsic
that writes a tuple of values as whole 16-byte vector stores where the
output allows, element stores otherwise."""

from __future__ import annotations

from llvmlite import ir
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic, overload

__all__ = ["store_group"]


def store_group(out, i, values, aligned):
    """out[i + k] = values[k] for each k (a tuple, converted to out's dtype).
    With `aligned` (out[i] on a 16-byte boundary) and a group a whole number
    of 16-byte chunks, each chunk is one vector store.  Where each thread of
    a warp stores one chunk, the warp's store covers whole 32-byte sectors;
    scalar stores 16 bytes apart, or two chunks a thread 32 bytes apart,
    cover each sector in pieces (see kernels._fill_kernel).  (This Python body is
    what the CUDA simulator runs.)"""
    for k, v in enumerate(values):
        out[i + k] = v


@intrinsic
def _store_group(typingctx, out, i, values, aligned):
    def codegen(context, builder, sig, args):
        aryty, _, valty, _ = sig.args
        ary = context.make_array(aryty)(context, builder, args[0])
        first = cgutils.get_item_pointer(context, builder, aryty, ary, [args[1]])
        elems = [context.cast(builder, builder.extract_value(args[2], k), valty[k], aryty.dtype)
                 for k in range(len(valty))]

        def scalar():
            for k, e in enumerate(elems):
                builder.store(e, builder.gep(first, [ir.Constant(ir.IntType(64), k)]))

        chunk = 128 // aryty.dtype.bitwidth  # elements a 16-byte store takes
        if 128 % aryty.dtype.bitwidth or len(elems) % chunk:
            scalar()
            return context.get_dummy_value()
        with builder.if_else(args[3]) as (vector, otherwise):
            with vector:
                vty = ir.VectorType(elems[0].type, chunk)
                for c in range(0, len(elems), chunk):
                    v = ir.Constant(vty, ir.Undefined)
                    for k in range(chunk):
                        v = builder.insert_element(v, elems[c + k], ir.Constant(ir.IntType(32), k))
                    at = builder.gep(first, [ir.Constant(ir.IntType(64), c)])
                    builder.store(v, builder.bitcast(at, vty.as_pointer()), align=16)
            with otherwise:
                scalar()
        return context.get_dummy_value()
    return types.void(out, i, values, types.boolean), codegen


@overload(store_group)
def _store_group_jit(out, i, values, aligned):
    return lambda out, i, values, aligned: _store_group(out, i, values, aligned)
