# mypy: ignore-errors
# (Numba kernels: typed by Numba at compile time.)
"""Numba kernels of scikit-learn's other SGD losses and the Poisson loss (:mod:`gdlab._sgd_losses`).

Called by :mod:`gdlab.backends._kernels` for the loss codes from :data:`MODIFIED_HUBER` on, with
the same arithmetic as the NumPy losses.
"""

from __future__ import annotations

import math

from numba import njit

FASTMATH = {"reassoc", "contract"}
MODIFIED_HUBER, SQUARED_HINGE, PERCEPTRON, EPS_INSENSITIVE, SQUARED_EPS, POISSON = 5, 6, 7, 8, 9, 10


@njit(cache=True, error_model="numpy", fastmath=FASTMATH, inline="always")
def _loss_sgd(kind, param, z, y):
    """``(loss, d loss / d z)`` of scikit-learn's other SGD losses and the Poisson loss
    (:mod:`gdlab._sgd_losses`); ``param`` is ``epsilon`` for the epsilon-insensitive ones."""
    if kind == POISSON:
        e = math.exp(z)
        return e - y * z, e - y
    if kind == EPS_INSENSITIVE or kind == SQUARED_EPS:
        r = y - z
        gap = abs(r) - param
        if gap <= 0.0:
            return 0.0, 0.0
        sign = 1.0 if r > 0.0 else -1.0
        if kind == EPS_INSENSITIVE:
            return gap, -sign
        return gap * gap, -2.0 * sign * gap
    m = y * z
    if kind == PERCEPTRON:
        return (-m, -y) if m <= 0.0 else (0.0, 0.0)
    if kind == SQUARED_HINGE:
        gap = max(0.0, 1.0 - m)
        return gap * gap, -2.0 * y * gap
    if m >= 1.0:  # modified Huber
        return 0.0, 0.0
    if m >= -1.0:
        return (1.0 - m) * (1.0 - m), -2.0 * (1.0 - m) * y
    return -4.0 * m, -4.0 * y
