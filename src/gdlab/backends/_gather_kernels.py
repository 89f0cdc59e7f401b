# mypy: ignore-errors
# (Numba kernels: typed by Numba at compile time; its decorators take private options.)
"""Numba kernels: rows gathered in the epoch's order into a contiguous block.

Shuffled mini-batches read their rows in a random order; :func:`gather` copies them (with their
targets and weights) into a C-contiguous block that the epoch kernels of
:mod:`gdlab.backends._kernels` then read in order, and :func:`gather_scaled` standardizes them on
the way (the same ``(x - mean) / scale`` as a standardized copy of ``X``, so the numbers are the
same). :func:`_prefetch` asks for a row a few places ahead, so that several random rows are on
their way from memory at once; it has no effect on results.
"""

from __future__ import annotations

import numpy as np
from llvmlite import ir
from numba import njit, types
from numba.core import cgutils
from numba.extending import intrinsic

from gdlab.backends._update_kernels import FASTMATH

#: rows prefetched ahead when rows are gathered in a random order
PREFETCH_ROWS = 8


@intrinsic
def _prefetch(typingctx, array, row, column):
    """Ask the CPU to bring ``array[row, column]``'s cache line closer (``llvm.prefetch``: a
    read, high locality); no effect on results."""
    signature = types.void(array, row, column)

    def codegen(context, builder, sig, args):
        kind = sig.args[0]
        data = context.make_array(kind)(context, builder, args[0])
        pointer = cgutils.get_item_pointer(context, builder, kind, data, [args[1], args[2]])
        byte = ir.IntType(8).as_pointer()
        i32 = ir.IntType(32)
        function = cgutils.get_or_insert_function(
            builder.module,
            ir.FunctionType(ir.VoidType(), [byte, i32, i32, i32]),
            "llvm.prefetch.p0i8",
        )
        flags = [ir.Constant(i32, 0), ir.Constant(i32, 3), ir.Constant(i32, 1)]
        builder.call(function, [builder.bitcast(pointer, byte), *flags])
        return context.get_dummy_value()

    return signature, codegen


@njit(cache=True, error_model="numpy")
def _gather(X, Y, SW, order, lo, hi, bx, by, bw, out, mean, scale):
    """Copy rows ``order[lo:hi]`` into rows ``out + (0 : hi - lo)`` of the block buffers, each
    value standardized as ``(x - mean) / scale`` when ``mean`` is not empty.

    The row :data:`PREFETCH_ROWS` ahead is prefetched, so that several random rows are on their
    way from memory at once. No fastmath: the quotients are NumPy's, bit for bit.
    """
    d = X.shape[1]
    K = Y.shape[1]
    weighted = SW.shape[0] > 0
    scaled = mean.shape[0] > 0
    line = max(1, 64 // X.itemsize)
    for s in range(lo, hi):
        if s + PREFETCH_ROWS < hi:
            ahead = order[s + PREFETCH_ROWS]
            for k in range(0, d, line):
                _prefetch(X, ahead, k)
        i = order[s]
        r = out + s - lo
        if scaled:
            for k in range(d):
                bx[r, k] = (X[i, k] - mean[k]) / scale[k]
        else:
            for k in range(d):
                bx[r, k] = X[i, k]
        for c in range(K):
            by[r, c] = Y[i, c]
        if weighted:
            bw[r] = SW[i]


@njit(cache=True, error_model="numpy", nogil=True, fastmath=FASTMATH)
def gather(X, Y, SW, order, lo, hi, bx, by, bw, out):
    """Copy rows ``order[lo:hi]`` of ``X, Y, SW`` into the block buffers from row ``out`` on;
    releases the GIL."""
    none = np.zeros(0, dtype=X.dtype)
    _gather(X, Y, SW, order, lo, hi, bx, by, bw, out, none, none)


@njit(cache=True, error_model="numpy", nogil=True)
def gather_scaled(X, Y, SW, order, lo, hi, bx, by, bw, out, mean, scale):
    """:func:`gather` of the standardized rows ``(X[i] - mean) / scale``: training with
    ``standardize=True`` reads ``X`` itself, never a standardized copy of it. Each value is
    rounded as NumPy's ``(X - mean) / scale`` rounds it (:func:`_gather` has no fastmath), so the
    buffers hold the numbers a gather from the copy would. Releases the GIL."""
    _gather(X, Y, SW, order, lo, hi, bx, by, bw, out, mean, scale)
