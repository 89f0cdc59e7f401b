"""What the losses of :mod:`gdlab._sgd_losses` need from the estimators besides the loss itself.

Probabilities from a modified-Huber classifier, the starting intercept and the target check of a
Poisson regressor.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

Array = NDArray[np.floating[Any]]

__all__ = ["check_counts", "modified_huber_proba", "poisson_intercept"]


def modified_huber_proba(scores: Array) -> Array:
    """scikit-learn's class probabilities of a modified-Huber classifier.

    ``p = (clip(d, -1, 1) + 1) / 2`` of each decision value ``d``; with two classes the columns are
    ``1 - p`` and ``p``, with more ``p`` is normalised over the classes (uniform where every ``p``
    is 0), as ``SGDClassifier(loss="modified_huber").predict_proba``.

    Examples
    --------
    >>> import numpy as np
    >>> modified_huber_proba(np.array([0.5, -3.0]))
    array([[0.25, 0.75],
           [1.  , 0.  ]])
    >>> modified_huber_proba(np.array([[1.0, 0.0, -1.0], [-2.0, -1.0, -5.0]])).round(3)
    array([[0.667, 0.333, 0.   ],
           [0.333, 0.333, 0.333]])
    """
    prob = (np.clip(scores, -1.0, 1.0) + 1.0) / 2.0
    if prob.ndim == 1:
        return np.column_stack([1.0 - prob, prob])
    total = prob.sum(axis=1)
    zero = total == 0
    prob[zero, :] = 1.0
    total[zero] = prob.shape[1]
    return prob / total[:, None]


def poisson_intercept(targets: Array, sample_weight: Array | None) -> Any:
    """``log`` of the weighted mean count (per output): the Poisson loss's best intercept at w = 0.

    Examples
    --------
    >>> import numpy as np
    >>> float(poisson_intercept(np.array([1.0, 2.0, 3.0, 2.0]), None))  # log 2
    0.6931471805599453
    """
    mean = np.average(targets, axis=0, weights=sample_weight)
    return np.log(np.maximum(mean, np.finfo(np.float64).tiny))


def check_counts(y: Array, owner: str) -> None:
    """Poisson targets must be non-negative with a positive mean (scikit-learn's wording).

    Examples
    --------
    >>> import numpy as np
    >>> check_counts(np.array([0.0, -1.0]), "GDRegressor")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: Some value(s) of y are out of the valid range of the loss 'poisson' of ...
    """
    if np.any(y < 0) or not np.all(np.sum(y, axis=0) > 0):
        raise ValueError(
            "Some value(s) of y are out of the valid range of the loss 'poisson' of "
            f"{owner}: the targets must be counts >= 0 (rates) with a positive sum per output; "
            f"the smallest is {float(np.min(y))!r}."
        )
