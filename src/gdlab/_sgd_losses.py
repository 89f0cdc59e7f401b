"""The losses of scikit-learn's SGD models that the first losses lacked, and the Poisson loss.

Re-exported by :mod:`gdlab.losses` (use them from there). Each is the per-sample loss of
scikit-learn's ``SGDClassifier``/``SGDRegressor`` of the same name (``sklearn.linear_model.
_sgd_fast``), on the raw output ``z``; classification labels are ``y`` in ``{-1, +1}``, ``m = y z``
the margin, and regression residuals ``r = y - z``:

===============================  ======================================  =========================
name                             per-sample loss                         gradient with respect to z
===============================  ======================================  =========================
``modified_huber``               ``max(0, 1 - m)^2`` for ``m >= -1``,    ``-2 y (1 - m)``, ``-4 y``
                                 else ``-4 m``                           (0 for ``m >= 1``)
``squared_hinge``                ``max(0, 1 - m)^2``                     ``-2 y max(0, 1 - m)``
``perceptron``                   ``max(0, -m)``                          ``-y`` where ``m <= 0``
``epsilon_insensitive``          ``max(0, |r| - epsilon)``               ``-sign(r)`` beyond eps
``squared_epsilon_insensitive``  ``max(0, |r| - epsilon)^2``             ``-2 sign(r) (|r| - eps)``
``poisson``                      ``exp(z) - y z`` (``z = log mu``)        ``exp(z) - y``
===============================  ======================================  =========================

``poisson`` is PyTorch's ``PoissonNLLLoss(log_input=True, full=False)``: the Poisson negative
log-likelihood of counts ``y`` with mean ``exp(z)`` (a log link), without the ``log(y!)`` term that
does not depend on the model; its minimiser is that of scikit-learn's ``PoissonRegressor``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from gdlab._loss_base import Loss

Array = NDArray[np.floating[Any]]

__all__ = [
    "EpsilonInsensitive",
    "ModifiedHuber",
    "Perceptron",
    "Poisson",
    "SquaredEpsilonInsensitive",
    "SquaredHinge",
]


class ModifiedHuber(Loss):
    """scikit-learn's ``modified_huber``: a smoothed hinge, linear for margins below -1.

    Examples
    --------
    >>> import numpy as np
    >>> ModifiedHuber().per_sample(np.ones(4), np.array([2.0, 0.5, -1.0, -3.0]))
    array([ 0.  ,  0.25,  4.  , 12.  ])
    """

    name = "modified_huber"
    curvature = 2.0

    def per_sample(self, y: Array, z: Array) -> Array:
        m = y * z
        return np.where(m >= 1.0, 0.0, np.where(m >= -1.0, (1.0 - m) ** 2, -4.0 * m))

    def per_sample_gradient(self, y: Array, z: Array) -> Array:
        m = y * z
        inner = -2.0 * (1.0 - m) * y
        return np.where(m >= 1.0, 0.0, np.where(m >= -1.0, inner, -4.0 * y)).astype(z.dtype)


class SquaredHinge(Loss):
    """scikit-learn's ``squared_hinge``: ``max(0, 1 - y z)^2``.

    Examples
    --------
    >>> import numpy as np
    >>> SquaredHinge().value(np.array([1.0, -1.0]), np.array([0.5, 2.0]))   # (0.25 + 9) / 2
    4.625
    """

    name = "squared_hinge"
    curvature = 2.0

    def per_sample(self, y: Array, z: Array) -> Array:
        gap = np.maximum(0.0, 1.0 - y * z)
        return gap * gap

    def per_sample_gradient(self, y: Array, z: Array) -> Array:
        return (-2.0 * y * np.maximum(0.0, 1.0 - y * z)).astype(z.dtype, copy=False)


class Perceptron(Loss):
    """The perceptron's loss ``max(0, -y z)``; its gradient is ``-y`` also at ``y z = 0``.

    The subgradient at the margin 0 is taken as ``-y`` (scikit-learn's ``Hinge(threshold=0)``), so
    that training from zero weights moves at all.

    Examples
    --------
    >>> import numpy as np
    >>> Perceptron().per_sample_gradient(np.array([1.0, -1.0, 1.0]), np.array([0.0, -2.0, -1.0]))
    array([-1.,  0., -1.])
    """

    name = "perceptron"
    curvature = 0.0

    def per_sample(self, y: Array, z: Array) -> Array:
        return np.maximum(0.0, -y * z)

    def per_sample_gradient(self, y: Array, z: Array) -> Array:
        return np.where(y * z <= 0.0, -y, 0.0).astype(z.dtype, copy=False)


def _check_epsilon(owner: str, epsilon: float) -> None:
    if not np.isfinite(epsilon) or epsilon < 0:
        raise ValueError(f"The 'epsilon' parameter of {owner} must be >= 0. Got {epsilon!r}.")


@dataclass(frozen=True, repr=True)
class EpsilonInsensitive(Loss):
    """scikit-learn's ``epsilon_insensitive`` (linear SVR): ``max(0, |y - z| - epsilon)``.

    Examples
    --------
    >>> import numpy as np
    >>> EpsilonInsensitive(epsilon=0.5).per_sample(np.zeros(3), np.array([0.2, -2.0, 1.0]))
    array([0. , 1.5, 0.5])
    """

    epsilon: float = 0.1
    name = "epsilon_insensitive"
    curvature = 0.0

    def __post_init__(self) -> None:
        _check_epsilon(self.name, self.epsilon)

    def per_sample(self, y: Array, z: Array) -> Array:
        return np.maximum(0.0, np.abs(y - z) - self.epsilon)

    def per_sample_gradient(self, y: Array, z: Array) -> Array:
        r = y - z
        grad = np.where(r > self.epsilon, -1.0, np.where(-r > self.epsilon, 1.0, 0.0))
        return grad.astype(z.dtype, copy=False)


@dataclass(frozen=True, repr=True)
class SquaredEpsilonInsensitive(Loss):
    """scikit-learn's ``squared_epsilon_insensitive``: ``max(0, |y - z| - epsilon)^2``.

    Examples
    --------
    >>> import numpy as np
    >>> SquaredEpsilonInsensitive(epsilon=0.5).gradient(np.zeros(2), np.array([2.0, 0.1]))
    array([1.5, 0. ])
    """

    epsilon: float = 0.1
    name = "squared_epsilon_insensitive"
    curvature = 2.0

    def __post_init__(self) -> None:
        _check_epsilon(self.name, self.epsilon)

    def per_sample(self, y: Array, z: Array) -> Array:
        gap = np.maximum(0.0, np.abs(y - z) - self.epsilon)
        return gap * gap

    def per_sample_gradient(self, y: Array, z: Array) -> Array:
        r = y - z
        gap = np.maximum(0.0, np.abs(r) - self.epsilon)
        return (-2.0 * np.sign(r) * gap).astype(z.dtype, copy=False)


class Poisson(Loss):
    """Poisson negative log-likelihood with a log link: ``exp(z) - y z`` for counts ``y >= 0``.

    PyTorch's ``PoissonNLLLoss(log_input=True)``; the model's prediction is ``exp(z)``.
    The curvature ``exp(z)`` has no bound, so no step-size bound is derived from it.

    Examples
    --------
    >>> import numpy as np
    >>> Poisson().value(np.array([2.0]), np.array([0.0]))   # e^0 - 2 * 0
    1.0
    >>> Poisson().gradient(np.array([2.0]), np.array([0.0]))
    array([-1.])
    """

    name = "poisson"
    curvature = 0.0

    def per_sample(self, y: Array, z: Array) -> Array:
        return np.exp(z) - y * z

    def per_sample_gradient(self, y: Array, z: Array) -> Array:
        return np.exp(z) - y


#: name -> the loss with its default parameters
MORE_LOSSES: dict[str, Loss] = {
    "modified_huber": ModifiedHuber(),
    "squared_hinge": SquaredHinge(),
    "perceptron": Perceptron(),
    "epsilon_insensitive": EpsilonInsensitive(),
    "squared_epsilon_insensitive": SquaredEpsilonInsensitive(),
    "poisson": Poisson(),
}

#: the losses that take ``epsilon``
EPSILON_LOSSES = ("epsilon_insensitive", "squared_epsilon_insensitive")
