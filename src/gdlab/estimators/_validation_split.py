"""The rows an in-memory fit holds out for ``early_stopping``, for linear models and networks.

``ceil(validation_fraction * n)`` rows are held out, drawn by scikit-learn's
``train_test_split`` with the fit's seed, stratified by the labels where the estimator
stratifies and they allow it (else a plain seeded split). Streamed sources split rows by a
seeded hash instead (:class:`gdlab.data.objective.RowSplit`).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray
from sklearn.model_selection import train_test_split

__all__ = ["held_out", "validation_split"]


def held_out(n: int, fraction: float) -> int:
    """How many of ``n`` rows :func:`validation_split` holds out: ``ceil(fraction * n)``.

    >>> held_out(10, 0.15)
    2
    """
    return int(np.ceil(fraction * n))


def validation_split(
    n: int, fraction: float, seed: Any, stratify: Any = None
) -> tuple[NDArray[np.intp], NDArray[np.intp]]:
    """The indices ``(train, validation)`` of ``n`` rows with ``ceil(fraction * n)`` held out.

    Raises
    ------
    ValueError
        When either part would be empty.

    Examples
    --------
    >>> train, val = validation_split(10, 0.2, seed=0)
    >>> len(train), len(val), sorted([*train, *val]) == list(range(10))
    (8, 2, True)
    """
    n_val = held_out(n, fraction)
    if n_val < 1 or n - n_val < 1:
        raise ValueError(
            f"early_stopping needs at least one training and one validation sample; with "
            f"{n} samples and validation_fraction={fraction} there are none."
        )
    indices = np.arange(n)
    try:
        train, val = train_test_split(
            indices, test_size=n_val, random_state=seed, stratify=stratify
        )
    except ValueError:  # too few of a class to stratify: a plain seeded split
        train, val = train_test_split(indices, test_size=n_val, random_state=seed)
    return train, val
