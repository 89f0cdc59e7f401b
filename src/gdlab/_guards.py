"""Guards against data at scales where floating-point training cannot work, and overflow-safe
feature statistics, so that such data gets a clear error instead of NumPy warnings or NaNs.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np
from numpy.typing import NDArray

from gdlab.data.sparse import is_sparse, largest_stored

__all__ = ["check_magnitudes", "locate_text", "mean_and_std", "naming_text_cells"]

Array = NDArray[np.floating[Any]]


def _limit(dtype: Any) -> float:
    """The largest magnitude whose square is still finite in ``dtype``."""
    return float(np.sqrt(np.finfo(dtype).max))


def check_magnitudes(
    X: Array, targets: Array, *, standardize: bool, owner: str, max_abs: Array | None = None
) -> None:
    """Refuse features or targets so large that their squares overflow the dtype.

    Squared errors, variances and curvature bounds all square the data; past ``sqrt(max)``
    (about 1.3e154 for float64, 1.8e19 for float32) gradient descent can only produce infinities.
    With ``standardize=True`` the features are rescaled first, so only the targets are checked.
    ``max_abs`` (each column's largest magnitude, from :func:`gdlab.backends.scan.scan`) saves
    the two reads of ``X`` that finding it takes.

    Examples
    --------
    >>> import numpy as np
    >>> try:
    ...     check_magnitudes(np.ones((2, 1)), np.array([1e200, 1.0]), standardize=False, owner="M")
    ... except ValueError as error:
    ...     print(str(error).split(",")[0])
    y has values up to 1e+200
    """
    limit = _limit(X.dtype)
    if targets.size and targets.dtype.kind == "f":
        largest = float(np.max(np.abs(targets)))
        if largest > limit:
            raise ValueError(
                f"y has values up to {largest:.3g}, so large that their squares overflow "
                f"{X.dtype} and {owner} cannot compute its loss; rescale the targets (for example "
                f"divide them by {largest:.1g})."
            )
    if standardize or not X.size:
        return
    if is_sparse(X):  # the largest stored value: one read, no per-column pass
        largest, worst = largest_stored(X)
    else:
        if max_abs is not None:  # from the one compiled read of the estimators' scan
            largest_per_feature = max_abs
        else:  # max |x| as max(max x, -min x): two reads of X and no temporary copy of it
            largest_per_feature = np.maximum(np.max(X, axis=0), -np.min(X, axis=0))
        worst = int(np.argmax(largest_per_feature))
        largest = largest_per_feature[worst]
    if largest > limit:
        raise ValueError(
            f"X has values up to {largest:.3g} (feature {worst}), so large that "
            f"their squares overflow {X.dtype} and gradient descent cannot work on them; set "
            "standardize=True or rescale the features."
        )


def mean_and_std(X: Array, weight: Array | None) -> tuple[Array, Array]:
    """Weighted mean and standard deviation of each column, without overflow.

    The direct formula is used when it is finite (so results are bitwise those of
    ``np.average``); otherwise each column is divided by its largest magnitude first.

    Examples
    --------
    >>> import numpy as np
    >>> mean, std = mean_and_std(np.array([[1e300], [-1e300]]), None)
    >>> mean, std
    (array([0.]), array([1.e+300]))
    """
    with np.errstate(over="ignore", invalid="ignore"):
        mean = np.average(X, axis=0, weights=weight)
        std = np.sqrt(np.average((X - mean) ** 2, axis=0, weights=weight))
    if np.all(np.isfinite(mean)) and np.all(np.isfinite(std)):
        return mean, std
    peak = np.max(np.abs(X), axis=0)
    peak[~(peak > 0)] = 1.0
    scaled = X / peak
    mean_scaled = np.average(scaled, axis=0, weights=weight)
    std_scaled = np.sqrt(np.average((scaled - mean_scaled) ** 2, axis=0, weights=weight))
    return mean_scaled * peak, std_scaled * peak


def _first_text(values: Any) -> tuple[int, Any] | None:
    """``(row, value)`` of the first entry that is not a number (missing values are skipped)."""
    for row, value in enumerate(np.asarray(values, dtype=object).ravel()):
        if value is None or isinstance(value, bool | np.bool_):
            continue
        try:
            float(value)
        except (TypeError, ValueError):
            return row, value
    return None


def locate_text(X: Any, y: Any = None) -> str | None:
    """Where the first non-numeric cell of a table (or of ``y``) is, in words, or ``None``.

    Examples
    --------
    >>> locate_text([[1.0, "2"], [3.0, "n/a"]])
    "X has text in column 1 at row 1: 'n/a' is not a number"
    """
    columns = getattr(X, "columns", None)
    if columns is not None:  # pandas or Polars: name the column
        for name in list(columns):
            found = _first_text(X[name])
            if found is not None:
                return (
                    f"X has text in column {name!r} at row {found[0]}: {found[1]!r} is not a number"
                )
    else:
        try:
            table = np.asarray(X, dtype=object)
        except (TypeError, ValueError):
            table = None
        if table is not None and table.ndim == 2:
            for index in range(table.shape[1]):
                found = _first_text(table[:, index])
                if found is not None:
                    return (
                        f"X has text in column {index} at row {found[0]}: {found[1]!r} is not a "
                        "number"
                    )
    if y is not None:
        found = _first_text(y)
        if found is not None:
            return f"y has text at row {found[0]}: {found[1]!r} is not a number"
    return None


@contextmanager
def naming_text_cells(X: Any, y: Any = None) -> Iterator[None]:
    """Turn NumPy's "could not convert string to float" into a message naming column and row.

    Also keeps NumPy quiet while scikit-learn checks for infinities (it sums the data, and
    ``inf + -inf`` warns): the check itself reports them.
    """
    try:
        with np.errstate(over="ignore", invalid="ignore"):
            yield
    except ValueError as error:
        if "could not convert" not in str(error):
            raise
        where = locate_text(X, y)
        if where is None:
            raise
        raise ValueError(f"{where}; gdlab needs numeric data (encode categories first).") from None
