"""Numba kernels of :mod:`gdlab.backends.scan` (imported only when they run).

Each kernel handles the rows ``[start, stop)`` and releases the GIL, so that blocks of rows run
on several cores. Compiled with ``cache=True``: once per machine and signature.

The two kernels that compute the most per value (:func:`scan_block`, :func:`scaled_dot_block`)
ask for the row :data:`PREFETCH_AHEAD` places ahead (``_prefetch``, no effect on results): 10-25%
less CPU per pass on the loaded 2-core machine of 2026-12-01 (``bench/README.md``); the lighter
:func:`check_block` and :func:`dot_block` were slower with it and do without.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numba import njit

from gdlab.backends._gather_kernels import _prefetch

__all__ = [
    "check_block",
    "dot_block",
    "residual_square_block",
    "scaled_dot_block",
    "scan_block",
    "standardize_block",
]


#: no "nnan"/"ninf": NaN and infinity must propagate into the sums, which is how they are found
FASTMATH = {"nsz", "arcp", "contract", "reassoc"}

#: rows ahead whose cache lines :func:`scan_block` and :func:`scaled_dot_block` prefetch
PREFETCH_AHEAD = 4


@njit(cache=True, nogil=True, error_model="numpy")
def _prefetch_row(X: Any, i: int, stop: int) -> None:  # pragma: no cover
    """Ask for every cache line of row ``i + PREFETCH_AHEAD`` of ``X``, if before ``stop``."""
    ahead = i + PREFETCH_AHEAD
    if ahead < stop:
        for k in range(0, X.shape[1], max(1, 64 // X.itemsize)):
            _prefetch(X, ahead, k)  # type: ignore[call-arg]  # (a Numba intrinsic)


@njit(cache=True, nogil=True, error_model="numpy", fastmath=FASTMATH)
def scan_block(X: Any, weight: Any, shift: Any, start: int, stop: int) -> Any:  # pragma: no cover
    """(max |x|, sum w (x - s), sum w (x - s)^2) per column over rows [start, stop).

    Branch-free, so that the inner loop over columns vectorizes: a NaN or an infinity in ``X``
    shows as a non-finite first sum (an infinity also as an infinite ``max |x|``).
    """
    d = X.shape[1]
    max_abs = np.zeros(d)
    first = np.zeros(d)
    second = np.zeros(d)
    weighted = weight.shape[0] > 0
    for i in range(start, stop):
        _prefetch_row(X, i, stop)
        w = weight[i] if weighted else 1.0
        for j in range(d):
            value = np.float64(X[i, j])
            max_abs[j] = max(max_abs[j], abs(value))
            centred = value - shift[j]
            first[j] += w * centred
            second[j] += w * centred * centred
    return max_abs, first, second


@njit(cache=True, nogil=True, error_model="numpy", fastmath=FASTMATH)
def check_block(X: Any, start: int, stop: int) -> Any:  # pragma: no cover
    """(max |x|, sum x) per column over rows [start, stop): :func:`scan_block` without the
    statistics, for fits that only check ``X``.

    Branch-free like :func:`scan_block`: a NaN or an infinity shows as a non-finite sum.
    """
    d = X.shape[1]
    max_abs = np.zeros(d)
    total = np.zeros(d)
    for i in range(start, stop):
        for j in range(d):
            value = np.float64(X[i, j])
            max_abs[j] = max(max_abs[j], abs(value))
            total[j] += value
    return max_abs, total


@njit(cache=True, nogil=True, error_model="numpy")
def standardize_block(
    X: Any, mean: Any, scale: Any, out: Any, start: int, stop: int
) -> bool:  # pragma: no cover
    """``out[i] = (X[i] - mean) / scale`` for rows [start, stop); whether all of it is finite."""
    d = X.shape[1]
    finite = True
    for i in range(start, stop):
        for j in range(d):
            value = (X[i, j] - mean[j]) / scale[j]
            out[i, j] = value
            if not np.isfinite(value):
                finite = False
    return finite


@njit(cache=True, nogil=True, error_model="numpy", fastmath=FASTMATH)
def dot_block(X: Any, weights: Any, out: Any, start: int, stop: int) -> bool:  # pragma: no cover
    """``out[i] = X[i] @ weights`` (in float64) for rows [start, stop)."""
    d = X.shape[1]
    for i in range(start, stop):
        total = 0.0
        for j in range(d):
            total += np.float64(X[i, j]) * weights[j]
        out[i] = total
    return True


#: rows whose dot products :func:`residual_square_block` computes before it sums their squares
RESIDUAL_CHUNK = 256


@njit(cache=True, nogil=True, error_model="numpy", fastmath=FASTMATH)
def _dot_rows(X: Any, weights: Any, out: Any, start: int, stop: int) -> None:  # pragma: no cover
    """``out[i - start] = X[i] @ weights`` in float64 for rows [start, stop), each summed in any
    order (the loop of :func:`dot_block`)."""
    d = X.shape[1]
    for i in range(start, stop):
        total = 0.0
        for j in range(d):
            total += np.float64(X[i, j]) * weights[j]
        out[i - start] = total


@njit(cache=True, nogil=True, error_model="numpy")
def residual_square_block(
    X: Any, weights: Any, offset: float, targets: Any, weight: Any, start: int, stop: int
) -> Any:  # pragma: no cover
    """``(sum w r^2, sum w)`` over rows [start, stop) of ``r = (X[i] @ weights + offset) -
    targets[i]`` (``w`` = 1 where ``weight`` is empty), without an array of ``n`` values.

    The dot products of :data:`RESIDUAL_CHUNK` rows at a time go to a small buffer
    (:func:`_dot_rows`, the only part summed in any order); the residual, its square and the two
    running sums are then rounded as written, one row after the other (no fastmath here).
    """
    weighted = weight.shape[0] > 0
    products = np.empty(RESIDUAL_CHUNK)
    squares = 0.0
    total = 0.0
    for chunk in range(start, stop, RESIDUAL_CHUNK):
        end = min(stop, chunk + RESIDUAL_CHUNK)
        _dot_rows(X, weights, products, chunk, end)
        for i in range(chunk, end):
            residual = (products[i - chunk] + offset) - np.float64(targets[i])
            w = np.float64(weight[i]) if weighted else 1.0
            squares += w * (residual * residual)
            total += w
    return squares, total


@njit(cache=True, nogil=True, error_model="numpy")
def _standardize_row(X: Any, i: int, mean: Any, scale: Any, row: Any) -> None:  # pragma: no cover
    """``row = (X[i] - mean) / scale``, the arithmetic of :func:`standardize_block` (no fastmath:
    the quotient is rounded as NumPy rounds it)."""
    for j in range(X.shape[1]):
        row[j] = (X[i, j] - mean[j]) / scale[j]


@njit(cache=True, nogil=True, error_model="numpy", fastmath=FASTMATH)
def scaled_dot_block(
    X: Any, mean: Any, scale: Any, weights: Any, out: Any, start: int, stop: int
) -> bool:  # pragma: no cover
    """``out[i] = ((X[i] - mean) / scale) @ weights`` for rows [start, stop), without a copy of
    ``X``: each row is standardized into a small buffer (bitwise :func:`standardize_block`'s
    values) and summed by the loop of :func:`dot_block`, so the result is bitwise what
    :func:`dot_block` gives on the standardized copy."""
    d = X.shape[1]
    row = np.empty(d, dtype=X.dtype)
    for i in range(start, stop):
        _prefetch_row(X, i, stop)
        _standardize_row(X, i, mean, scale, row)
        total = 0.0
        for j in range(d):
            total += np.float64(row[j]) * weights[j]
        out[i] = total
    return True
