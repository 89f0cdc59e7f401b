"""scipy.sparse CSR/CSC features: what differs from dense arrays.

Training reads rows, so CSC input is converted to CSR once. ``standardize=True`` on sparse
features scales each column by its standard deviation without centring it (as scikit-learn's
``StandardScaler(with_mean=False)``): subtracting the mean would fill every zero. The model is
still reported in the original units, ``coef_ = w_s / s``, and the intercept absorbs nothing.
The NumPy path runs the epochs with scipy's sparse products (``X[rows] @ W``, ``X[rows].T @ dz``);
the compiled path (:mod:`gdlab.backends.sparse_epochs`) reads the CSR arrays row by row.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.sparse as sp
from numpy.typing import NDArray

Array = NDArray[np.floating[Any]]

__all__ = [
    "column_std",
    "is_sparse",
    "largest_row_norm",
    "largest_stored",
    "scale_columns",
    "to_csr",
]


def is_sparse(X: Any) -> bool:
    """Whether ``X`` is a scipy.sparse matrix or array."""
    return bool(sp.issparse(X))


def to_csr(X: Any) -> Any:
    """CSR with sorted indices (a copy only when needed)."""
    X = X.tocsr()
    if not X.has_sorted_indices:
        X = X.sorted_indices()
    return X


def column_std(X: Any, weight: Array | None = None) -> Array:
    """The (weighted) standard deviation of each column, zeros included.

    Examples
    --------
    >>> import numpy as np, scipy.sparse as sp
    >>> dense = np.array([[0.0, 1.0], [2.0, 0.0], [4.0, 0.0]])
    >>> bool(np.allclose(column_std(sp.csr_matrix(dense)), dense.std(axis=0)))
    True
    """
    X = to_csr(X)
    n, d = X.shape
    w = np.ones(n) if weight is None else np.asarray(weight, dtype=np.float64)
    total = w.sum()
    mean = np.asarray(X.T @ w).ravel() / total
    # two passes, as np.std: sum of w (x - mean)^2 over the stored values, plus mean^2 for the
    # weight of the rows whose value is an implicit zero
    row_weight = np.repeat(w, np.diff(X.indptr))
    deviation = X.data - mean[X.indices]
    squares = np.bincount(X.indices, weights=row_weight * deviation**2, minlength=d)
    stored = np.bincount(X.indices, weights=row_weight, minlength=d)
    squares += (total - stored) * mean**2
    return np.sqrt(squares / total).astype(X.dtype)


def largest_stored(X: Any) -> tuple[float, int]:
    """``(max |x|, its column)`` over the stored values, in one read (``(0.0, 0)`` if none).

    Examples
    --------
    >>> import numpy as np, scipy.sparse as sp
    >>> largest_stored(sp.csr_matrix(np.array([[0.0, -3.0], [2.0, 1.0]])))
    (3.0, 1)
    """
    if X.nnz == 0:
        return 0.0, 0
    values = X.data[: X.nnz]
    top, bottom = int(np.argmax(values)), int(np.argmin(values))  # no temporary |x| copy
    at = top if values[top] >= -values[bottom] else bottom
    return float(abs(values[at])), int(X.indices[at])


def scale_columns(X: Any, scale: Array) -> Any:
    """``X / scale`` column by column, as CSR."""
    return to_csr(X @ sp.diags((1.0 / scale).astype(X.dtype)))


def largest_row_norm(X: Any, fit_intercept: bool, relative: Array | None) -> float:
    """``max_i w_i ||[x_i, 1]||^2`` (the per-sample curvature bound of mini-batches)."""
    norms = np.asarray(X.multiply(X).sum(axis=1)).ravel() + (1.0 if fit_intercept else 0.0)
    if relative is not None:
        norms = norms * relative
    return float(np.max(norms)) if norms.size else 0.0
