# mypy: ignore-errors
# (Numba kernels: typed by Numba at compile time; its decorators take private options.)
"""Numba kernel: a streamed block's columns copied into its C-ordered float buffer, standardized
on the way (:func:`gdlab.data._arrow_blocks.fill_block` decides when to use it).

No ``fastmath``: each value is one subtraction and one true division, rounded as NumPy rounds
``(x - mean) / scale``. Whether a value is finite is collected as an integer flag, which needs no
reassociation of floating-point sums to vectorize.
"""

from __future__ import annotations

import numpy as np
from numba import njit

#: the largest finite float64: ``not |v| <= BIG`` is true for an infinity and for NaN
BIG = np.finfo(np.float64).max


@njit(cache=True, nogil=True, error_model="numpy")
def fill(out, pieces, starts, mean, scale, scaled, tile):  # pragma: no cover
    """``out[r, j] = (pieces[s * d + j][r - starts[s]] - mean[j]) / scale[j]`` (or the plain
    value without ``scaled``) for every slice ``s``, in tiles of ``tile`` rows; whether every
    value written is finite (``True`` without ``scaled``)."""
    d = out.shape[1]
    bad = 0
    for s in range(starts.shape[0] - 1):
        first, stop = starts[s], starts[s + 1]
        for t0 in range(first, stop, tile):
            t1 = min(stop, t0 + tile)
            for j in range(d):
                piece = pieces[s * d + j]
                if scaled:
                    m = mean[j]
                    c = scale[j]
                    for r in range(t0, t1):
                        value = (piece[r - first] - m) / c
                        out[r, j] = value
                        bad |= not (abs(value) <= BIG)
                else:
                    for r in range(t0, t1):
                        out[r, j] = piece[r - first]
    return bad == 0
