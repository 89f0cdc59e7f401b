"""The estimator settings a scikit-learn user brings: ``class_weight`` and ``average``.

:func:`check_options` validates them with scikit-learn's wording (called by
:func:`gdlab.estimators._builders.check_params`); :func:`class_sample_weight` combines class
weights with
sample weights as scikit-learn's ``SGDClassifier`` does (their product); :func:`average_start`
turns ``average`` into the sample from which the iterates are averaged
(:mod:`gdlab._averaging`).
"""

from __future__ import annotations

import numbers
from collections.abc import Mapping
from typing import Any

import numpy as np
from numpy.typing import NDArray
from sklearn.utils.class_weight import compute_class_weight

from gdlab.data.class_weighted import row_weights

__all__ = ["average_start", "check_options", "class_sample_weight"]

Array = NDArray[np.floating[Any]]


def check_options(owner: str, params: Mapping[str, Any]) -> None:
    """Refuse a bad ``class_weight`` or ``average`` (when the estimator has them).

    Examples
    --------
    >>> check_options("GDClassifier", {"average": 0})  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: The 'average' parameter of GDClassifier must be a bool or an int >= 1. Got 0 ...
    """
    if "average" in params:
        value = params["average"]
        ok = isinstance(value, bool | np.bool_) or (
            isinstance(value, numbers.Integral) and int(value) >= 1
        )
        if not ok:
            raise ValueError(
                f"The 'average' parameter of {owner} must be a bool or an int >= 1. "
                f"Got {value!r} instead."
            )
    if "class_weight" in params:
        value = params["class_weight"]
        if not (value is None or value == "balanced" or isinstance(value, Mapping)):
            raise ValueError(
                f"The 'class_weight' parameter of {owner} must be a str among {{'balanced'}}, "
                f"an instance of 'dict' or None. Got {value!r} instead."
            )
        if isinstance(value, Mapping):
            for label, weight in value.items():
                if not (
                    isinstance(weight, numbers.Real)
                    and not isinstance(weight, bool)
                    and np.isfinite(float(weight))
                    and float(weight) >= 0
                ):
                    raise ValueError(
                        f"The 'class_weight' parameter of {owner} must map each class to a "
                        f"weight >= 0. Got {weight!r} for class {label!r}."
                    )


def average_start(average: Any) -> int:
    """The sample number (1-based) from which the iterates are averaged; 0 for no averaging.

    Examples
    --------
    >>> average_start(False), average_start(True), average_start(10)
    (0, 1, 10)
    """
    if isinstance(average, bool | np.bool_):
        return int(bool(average))
    return int(average)


def class_sample_weight(
    class_weight: Any, classes: Any, y: Any, sample_weight: Array | None, dtype: Any
) -> Array | None:
    """``sample_weight * class_weight[y]`` (scikit-learn's combination); ``None`` if neither.

    ``"balanced"`` gives class ``c`` the weight ``n_samples / (n_classes * count(c))`` over the
    ``y`` given (scikit-learn's ``compute_class_weight``); a dict gives the listed classes their
    weight and the others 1.

    Examples
    --------
    >>> import numpy as np
    >>> class_sample_weight("balanced", np.array([0, 1]), np.array([0, 0, 0, 1]), None, float)
    array([0.66666667, 0.66666667, 0.66666667, 2.        ])
    >>> class_sample_weight({1: 3.0}, np.array([0, 1]), np.array([0, 1]), np.array([2.0, 2.0]),
    ...                     float)
    array([2., 6.])
    """
    if class_weight is None:
        return sample_weight
    weights = compute_class_weight(class_weight, classes=classes, y=np.asarray(y))
    return row_weights(classes, weights.astype(dtype), y, sample_weight)
