"""One compiled pass over ``X`` for everything a fit checks before training, and one to scale it.

Before its first epoch a fit needs to know that ``X`` is finite, that its values are small enough
for their squares to be finite (:func:`gdlab._guards.check_magnitudes`) and, with
``standardize=True``, each column's (weighted) mean and standard deviation. Done with NumPy that is
four or five reads of ``X`` and temporaries of its size; :func:`scan` does it in one read,
and :func:`standardized` writes the scaled copy in one more (read ``X``, write the copy), with the
arithmetic of the NumPy expression ``(X - mean) / scale``, so the copy is bitwise the same.

The statistics are accumulated in float64 around a per-column shift (the first row), which keeps
the one-pass variance ``E[(x - s)^2] - E[x - s]^2`` accurate to about ``1e-15`` relative for any
data whose spread is not billions of times smaller than its distance to the first row. When the
sums overflow (values near the float64 limit) the caller falls back to NumPy's overflow-safe path.

A fit with ``standardize=True`` no longer needs that copy on its compiled path
(:class:`gdlab.estimators._scaled_objective.ScaledObjective`): :func:`scaled_row_dot` is the final
loss
check's ``X @ w`` of the standardized rows, standardized as they are read.

All run in compiled code when Numba is installed and ``X`` is large (:data:`MIN_ELEMENTS`);
otherwise NumPy computes the same quantities. Rows are split into blocks scanned in parallel
(the kernels release the GIL).
"""

from __future__ import annotations

import itertools
import os
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

__all__ = [
    "MIN_ELEMENTS",
    "ColumnScan",
    "mean_squared_residual",
    "row_dot",
    "scaled_row_dot",
    "scan",
    "standardized",
]

#: Below this many elements NumPy is as fast as compiling (and bitwise as before).
MIN_ELEMENTS = 1_000_000

Array = NDArray[Any]


@dataclass(frozen=True)
class ColumnScan:
    """What one read of ``X`` found.

    ``finite`` is False when any value is NaN or infinite (the statistics are then undefined);
    ``max_abs`` is each column's largest magnitude; ``mean`` and ``std`` the weighted mean and
    standard deviation, or ``None`` when not asked for, when their sums overflowed, or on the
    NumPy path (then the caller computes them with its overflow-safe NumPy routine).
    """

    finite: bool
    max_abs: Array
    mean: Array | None = None
    std: Array | None = None


def _compiled(X: Array) -> bool:
    from gdlab.backends import numba_available

    return X.size >= MIN_ELEMENTS and X.flags.c_contiguous and numba_available()


def _blocks(n: int) -> list[tuple[int, int]]:
    workers = max(
        1, min(8, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else 1)
    )
    edges = np.linspace(0, n, workers + 1).astype(int)
    return [(int(a), int(b)) for a, b in itertools.pairwise(edges) if b > a]


def _in_parallel(kernel: Any, blocks: list[tuple[int, int]], *args: Any) -> list[Any]:
    """``kernel(*args, start, stop)`` per block: the first in this thread, the others each in a
    new thread (the kernels release the GIL); results in block order."""
    import threading

    results: list[Any] = [None] * len(blocks)

    def run(k: int) -> None:
        results[k] = kernel(*args, *blocks[k])

    threads = [threading.Thread(target=run, args=(k,)) for k in range(1, len(blocks))]
    for thread in threads:
        thread.start()
    run(0)
    for thread in threads:
        thread.join()
    if any(result is None for result in results):
        raise RuntimeError("a block of the scan of X failed")  # pragma: no cover
    return results


def scan(X: Array, weight: Array | None = None, *, statistics: bool = True) -> ColumnScan:
    """Finiteness, largest magnitude and (with ``statistics``) weighted mean and standard
    deviation of every column of ``X``, in one read.

    Examples
    --------
    >>> import numpy as np
    >>> result = scan(np.array([[1.0, -4.0], [3.0, 2.0]]))   # small: the NumPy path
    >>> result.finite, result.max_abs, result.mean
    (True, array([3., 4.]), None)
    >>> scan(np.array([[1.0, np.nan]])).finite
    False
    """
    if not X.size:
        return ColumnScan(True, np.zeros(X.shape[1]))
    if not _compiled(X):
        return _scan_numpy(X)
    from gdlab.backends._scan_kernels import check_block, scan_block

    if statistics:
        shift = np.array(X[0], dtype=np.float64)
        w = np.ones(0) if weight is None else np.asarray(weight, dtype=np.float64)
        parts = _in_parallel(scan_block, _blocks(X.shape[0]), X, w, shift)
    else:  # only finiteness and magnitudes: a lighter kernel
        parts = _in_parallel(check_block, _blocks(X.shape[0]), X)
    max_abs = np.max(np.stack([p[0] for p in parts]), axis=0).astype(X.dtype)
    sums = np.sum(np.stack([p[1] for p in parts]), axis=0)
    finite = bool(np.all(np.isfinite(sums)) and np.all(np.isfinite(max_abs)))
    if not finite:  # NaN or infinity, or only sums overflowing for huge finite values: look
        with np.errstate(over="ignore", invalid="ignore"):
            finite = bool(np.all(np.isfinite(X)))
    if not finite or not statistics:
        return ColumnScan(finite, max_abs)
    total = float(X.shape[0]) if weight is None else float(np.sum(w))
    with np.errstate(over="ignore", invalid="ignore"):
        first = sums / total
        second = np.sum(np.stack([p[2] for p in parts]), axis=0) / total
        variance = np.maximum(second - first * first, 0.0)
        mean, std = shift + first, np.sqrt(variance)
    if not (np.all(np.isfinite(mean)) and np.all(np.isfinite(std))):
        return ColumnScan(finite, max_abs)  # the sums overflowed: the caller uses NumPy's path
    return ColumnScan(finite, max_abs, mean, std)


def _scan_numpy(X: Array) -> ColumnScan:
    with np.errstate(over="ignore", invalid="ignore"):
        finite = bool(np.isfinite(np.sum(X))) or bool(np.all(np.isfinite(X)))
    # max |x| as max(max x, -min x): two reads of X and no temporary copy of it
    max_abs = np.maximum(np.max(X, axis=0), -np.min(X, axis=0)) if finite else np.zeros(0)
    return ColumnScan(finite, max_abs)


def standardized(X: Array, mean: Array, scale: Array) -> tuple[Array, bool]:
    """``(X - mean) / scale`` in a new array (bitwise NumPy's), and whether it is all finite.

    Examples
    --------
    >>> import numpy as np
    >>> standardized(np.array([[1.0, 4.0], [3.0, 8.0]]), np.array([2.0, 6.0]), np.array([1.0, 2.0]))
    (array([[-1., -1.],
           [ 1.,  1.]]), True)
    """
    mean = np.asarray(mean, dtype=X.dtype)
    scale = np.asarray(scale, dtype=X.dtype)
    if not _compiled(X):
        with np.errstate(over="ignore", invalid="ignore"):
            out = ((X - mean) / scale).astype(X.dtype, copy=False)
            return out, bool(np.all(np.isfinite(out)))
    from gdlab.backends._scan_kernels import standardize_block

    out = np.empty_like(X)
    parts = _in_parallel(standardize_block, _blocks(X.shape[0]), X, mean, scale, out)
    return out, all(bool(p) for p in parts)


def row_dot(X: Array, weights: Array) -> Array:
    """``X @ weights`` for a 1-D ``weights`` without BLAS: compiled in row blocks on several
    threads for a large ``X``, else ``np.einsum`` (equal to rounding either way).

    Examples
    --------
    >>> import numpy as np
    >>> row_dot(np.array([[1.0, 2.0], [3.0, 4.0]]), np.array([1.0, -1.0]))
    array([-1., -1.])
    """
    if not _compiled(X) or np.ndim(weights) != 1:
        return np.einsum("ij,j->i" if np.ndim(weights) == 1 else "ij,jk->ik", X, weights)
    from gdlab.backends._scan_kernels import dot_block

    out = np.empty(X.shape[0], dtype=np.result_type(X.dtype, weights.dtype))
    _in_parallel(dot_block, _blocks(X.shape[0]), X, np.asarray(weights, dtype=np.float64), out)
    return out


def mean_squared_residual(
    X: Array, weights: Array, offset: float, targets: Array, sample_weight: Array | None = None
) -> float:
    """The (weighted) mean of ``r_i^2``, ``r_i = (X[i] @ weights + offset) - targets[i]``, in one
    read of ``X`` and without storing ``r``: compiled in row blocks on several threads for a large
    ``X``, else with NumPy.

    Rounding: each row's dot product is summed in float64 in any order (as :func:`row_dot`); the
    residual and its square are rounded as written in float64; the sums of ``w r^2`` and of ``w``
    run over the rows in any order (``n`` terms, not NumPy's pairwise sum), then one division.

    Examples
    --------
    >>> import numpy as np
    >>> X, y = np.array([[1.0, 2.0], [3.0, 4.0]]), np.array([0.0, 1.0])
    >>> float(mean_squared_residual(X, np.array([1.0, -1.0]), 0.5, y))  # r = (-0.5, -1.5)
    1.25
    """
    n = X.shape[0]
    weights = np.asarray(weights, dtype=np.float64)
    if not _compiled(X):
        with np.errstate(over="ignore", invalid="ignore"):
            residual = (np.einsum("ij,j->i", X, weights) + offset) - targets
            squares = residual * residual
            if sample_weight is None:
                return float(np.mean(squares))
            return float(np.dot(sample_weight, squares) / np.sum(sample_weight))
    from gdlab.backends._scan_kernels import residual_square_block

    w = np.ones(0) if sample_weight is None else np.asarray(sample_weight, dtype=np.float64)
    parts = _in_parallel(residual_square_block, _blocks(n), X, weights, float(offset), targets, w)
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        return float(sum(p[0] for p in parts) / sum(p[1] for p in parts))


def scaled_row_dot(X: Array, mean: Array, scale: Array, weights: Array) -> Array | None:
    """``standardized(X, mean, scale)[0] @ weights`` without making the standardized copy, or
    ``None`` where only the copy can do it (a small or non-contiguous ``X``, 2-D ``weights``).

    Each row is standardized as it is read, with the arithmetic of :func:`standardized`, and
    summed as :func:`row_dot` sums: the result is bitwise :func:`row_dot` of the copy.

    Examples
    --------
    >>> import numpy as np
    >>> X = np.arange(1_000_000.0).reshape(-1, 2)
    >>> mean, scale, weights = np.array([1.0, 2.0]), np.array([2.0, 4.0]), np.array([1.0, -1.0])
    >>> bool(np.array_equal(scaled_row_dot(X, mean, scale, weights),
    ...                     row_dot(standardized(X, mean, scale)[0], weights)))
    True
    """
    if not _compiled(X) or np.ndim(weights) != 1:
        return None
    from gdlab.backends._scan_kernels import scaled_dot_block

    mean = np.asarray(mean, dtype=X.dtype)
    scale = np.asarray(scale, dtype=X.dtype)
    out = np.empty(X.shape[0], dtype=np.result_type(X.dtype, weights.dtype))
    weights = np.asarray(weights, dtype=np.float64)
    _in_parallel(scaled_dot_block, _blocks(X.shape[0]), X, mean, scale, weights, out)
    return out
