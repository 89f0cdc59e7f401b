"""The lessons' synthetic data, drawn in exactly the lessons' order.

The lessons call ``np.random.seed(42)`` and then draw from NumPy's global generator. Here each data
set has its own ``np.random.RandomState(seed)``, which produces the same stream without touching
global state, so with ``seed=42`` every number matches the lessons. The generator is returned too,
because the lessons keep drawing from it (the initial parameters come after the data).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from gdlab import losses
from gdlab._objectives import LinearObjective

__all__ = [
    "BiasColumnData",
    "LineData",
    "MultiData",
    "bias_column_data",
    "line_data",
    "multivariate_data",
    "stability_bound",
]

Array = NDArray[np.float64]

TRUE_W = 3.0
TRUE_B = 7.0


@dataclass
class LineData:
    """``y = 3 x + 7 + 2 * noise`` with ``x ~ U(0, 10)``; ``rng`` continues the lesson's stream."""

    x: Array
    y: Array
    rng: np.random.RandomState

    @property
    def X(self) -> Array:
        """``x`` as a one-column matrix."""
        return self.x[:, None]


def line_data(seed: int, n: int) -> LineData:
    """The single-feature data of lesson 000 (``n`` = 100, 150 or 200 in its sections).

    Examples
    --------
    >>> data = line_data(42, 100)
    >>> round(float(data.x[0]), 6), round(float(data.y[0]), 6)
    (3.745401, 18.410298)
    """
    rng = np.random.RandomState(seed)
    x = rng.uniform(0, 10, n)
    y = TRUE_W * x + TRUE_B + rng.randn(n) * 2
    return LineData(x, y, rng)


@dataclass
class MultiData:
    """Lesson 000's three-feature data and its initial weights (in standardized units)."""

    X: Array
    y: Array
    w_true: Array
    b_true: float
    w_init: Array


def multivariate_data(seed: int) -> MultiData:
    """``y = 2 x1 - x2 + 0.5 x3 + 5 + 0.5 * noise`` with 200 standard-normal rows.

    Examples
    --------
    >>> data = multivariate_data(42)
    >>> data.X.shape, data.w_init.shape
    ((200, 3), (3,))
    """
    rng = np.random.RandomState(seed)
    n = 200
    X = rng.randn(n, 3)
    w_true = np.array([2.0, -1.0, 0.5])
    b_true = 5.0
    y = X @ w_true + b_true + rng.randn(n) * 0.5
    w_init = rng.randn(3)
    return MultiData(X, y, w_true, b_true, w_init)


@dataclass
class BiasColumnData:
    """Lesson 003's data: ``X ~ 2 U(0, 1)``, ``y = 4 + 3 X + 0.5 * noise``, a bias column added."""

    X: Array
    y: Array
    X_b: Array
    theta_init: Array


def bias_column_data(seed: int) -> BiasColumnData:
    """The 100 rows of lesson 003 with the column of ones in front and the random start theta.

    Examples
    --------
    >>> data = bias_column_data(42)
    >>> data.X_b[:2].round(4).tolist()
    [[1.0, 0.7491], [1.0, 1.9014]]
    """
    rng = np.random.RandomState(seed)
    X = 2 * rng.rand(100, 1)
    y = 4 + 3 * X + rng.randn(100, 1) * 0.5
    X_b = np.c_[np.ones((100, 1)), X]
    theta_init = rng.randn(2, 1)
    return BiasColumnData(X, y.ravel(), X_b, theta_init.ravel())


def stability_bound(X: Any, y: Any, fit_intercept: bool = True) -> float:
    """``2 / L`` for full-batch gradient descent on the mean squared error of ``(X, y)``.

    ``L = 2 * lambda_max(A.T A / n)`` with ``A = [X, 1]`` is the curvature of the loss; plain
    gradient descent converges for every start exactly when ``learning_rate < 2 / L``.

    Examples
    --------
    >>> round(stability_bound(np.array([[1.0], [-1.0]]), np.zeros(2)), 6)   # L = 2 * 1
    1.0
    """
    X = np.asarray(X, dtype=np.float64)
    objective = LinearObjective(
        X,
        np.asarray(y, dtype=np.float64),
        losses.get("squared_error"),
        losses.get_penalty(None, 0.0, 0.0),
        fit_intercept,
    )
    lipschitz = objective.lipschitz_constant()
    if not lipschitz:
        raise ValueError("The curvature of this loss is not known.")
    return 2.0 / lipschitz
