"""The lessons' own gradient-descent loops, kept only to show that gdlab reproduces them.

The lab computes everything with gdlab's estimators; these few lines restate the lessons' update
rules literally so that the report can print "lesson loop vs gdlab" differences (which are at the
level of floating-point rounding).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

__all__ = ["batch_line", "batch_linear", "bias_column"]

Array = NDArray[np.float64]


def batch_line(
    x: Array, y: Array, w: float, b: float, learning_rate: float, epochs: int
) -> tuple[list[float], float, float]:
    """Lesson 000's loop for ``y ~ w x + b``: returns the loss before each update and ``(w, b)``.

    Examples
    --------
    >>> losses, w, b = batch_line(np.array([0.0, 1.0]), np.array([1.0, 3.0]), 0.0, 0.0, 0.1, 1)
    >>> losses, round(w, 6), round(b, 6)
    ([5.0], 0.3, 0.4)
    """
    losses: list[float] = []
    for _ in range(epochs):
        error = y - (w * x + b)
        losses.append(float(np.mean(error**2)))
        w = w + learning_rate * 2 * float(np.mean(x * error))
        b = b + learning_rate * 2 * float(np.mean(error))
    return losses, w, b


def batch_linear(
    X: Array, y: Array, w: Array, b: float, learning_rate: float, epochs: int
) -> tuple[list[float], Array, float]:
    """Lesson 000's vectorised multivariate loop (on already scaled ``X``)."""
    n = X.shape[0]
    w = np.array(w, dtype=float, copy=True)
    losses: list[float] = []
    for _ in range(epochs):
        error = y - (X @ w + b)
        losses.append(float(np.mean(error**2)))
        w = w + learning_rate * 2 / n * (X.T @ error)
        b = b + learning_rate * 2 / n * float(np.sum(error))
    return losses, w, b


def bias_column(X_b: Array, y: Any, theta: Array, learning_rate: float, iterations: int) -> Array:
    """Lesson 003's loop with the bias as the first column of ``X_b``; returns ``theta``."""
    m = X_b.shape[0]
    theta = np.array(theta, dtype=float, copy=True).reshape(-1, 1)
    target = np.asarray(y, dtype=float).reshape(-1, 1)
    for _ in range(iterations):
        gradient = (2 / m) * X_b.T @ (X_b @ theta - target)
        theta = theta - learning_rate * gradient
    return theta.ravel()
