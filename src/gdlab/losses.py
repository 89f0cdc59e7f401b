"""Loss functions and penalties, each with its value and its gradient.

A loss compares targets ``y`` with the model's raw output ``z`` (the prediction for regression, the
logit or decision value for classification). ``value`` is the (weighted) mean over samples of the
per-sample loss, summed over output columns; ``gradient`` is the gradient of that mean with respect
to ``z``, so the chain rule through a linear model is ``X.T @ gradient``.

=====================  ==========================================  =================================
name                   per-sample loss                              gradient with respect to z
=====================  ==========================================  =================================
``squared_error``      ``(y - z)^2``  (no one-half)                 ``2 (z - y)``
``huber``              ``r^2/2`` if ``|r| <= delta`` else           ``clip(r, -delta, delta)``,
                       ``delta (|r| - delta/2)``, ``r = z - y``
``log_loss``           ``log(1 + e^z) - y z``, ``y in {0, 1}``     ``sigmoid(z) - y``
``softmax``            ``logsumexp(z) - sum_k y_k z_k`` (one-hot)  ``softmax(z) - y``
``hinge``              ``max(0, 1 - y z)``, ``y in {-1, +1}``      ``-y`` where ``y z < 1``, else 0
=====================  ==========================================  =================================

scikit-learn's other SGD losses (``modified_huber``, ``squared_hinge``, ``perceptron``,
``epsilon_insensitive``, ``squared_epsilon_insensitive``) and PyTorch's Poisson loss (``poisson``,
a log link) are in :mod:`gdlab._sgd_losses`, re-exported here and in :data:`LOSSES`.

``squared_error`` is the mean squared error of the lessons, PyTorch's ``MSELoss`` and Keras.
scikit-learn's ``SGDRegressor`` minimises *half* of it, so its gradients are half as large.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray
from scipy.special import expit, log_softmax, logsumexp, softmax

from gdlab._loss_base import Loss, _scale_gradient, _weighted_mean

Array = NDArray[np.floating[Any]]

__all__ = [
    "LOSSES",
    "PENALTIES",
    "EpsilonInsensitive",
    "Huber",
    "Loss",
    "ModifiedHuber",
    "Penalty",
    "Perceptron",
    "Poisson",
    "SquaredEpsilonInsensitive",
    "SquaredHinge",
    "get",
    "get_penalty",
    "hinge",
    "huber",
    "log_loss",
    "softmax_cross_entropy",
    "squared_error",
]


class SquaredError(Loss):
    """Mean squared error ``mean((y - z)^2)``.

    Examples
    --------
    >>> import numpy as np
    >>> squared_error.value(np.array([1.0, 3.0]), np.array([2.0, 1.0]))
    2.5
    >>> squared_error.gradient(np.array([1.0, 3.0]), np.array([2.0, 1.0]))
    array([ 1., -2.])
    """

    name = "squared_error"
    curvature = 2.0

    def per_sample(self, y: Array, z: Array) -> Array:
        residual = z - y
        return residual * residual

    def per_sample_gradient(self, y: Array, z: Array) -> Array:
        return 2.0 * (z - y)


@dataclass(frozen=True, repr=True)
class Huber(Loss):
    """Huber loss: quadratic for small residuals, linear beyond ``delta`` (PyTorch's ``HuberLoss``).

    Examples
    --------
    >>> import numpy as np
    >>> Huber(delta=1.0).value(np.zeros(2), np.array([0.5, 3.0]))   # (0.125 + 2.5) / 2
    1.3125
    """

    delta: float = 1.0
    name = "huber"
    curvature = 1.0

    def __post_init__(self) -> None:
        if not np.isfinite(self.delta) or self.delta <= 0:
            raise ValueError(f"The 'delta' parameter of huber must be > 0. Got {self.delta!r}.")

    def per_sample(self, y: Array, z: Array) -> Array:
        residual = np.abs(z - y)
        quadratic = 0.5 * residual * residual
        linear = self.delta * (residual - 0.5 * self.delta)
        return np.where(residual <= self.delta, quadratic, linear)

    def per_sample_gradient(self, y: Array, z: Array) -> Array:
        return np.clip(z - y, -self.delta, self.delta)


class LogLoss(Loss):
    """Binary cross-entropy on logits, ``log(1 + e^z) - y z``, stable for any margin.

    It is evaluated as ``max(z, 0) - y z + log1p(e^{-|z|})``: nothing overflows, and for labels
    ``y`` in ``{0, 1}`` the first two terms cancel exactly, so a confident correct prediction
    (``z = 30, y = 1``) keeps full relative accuracy (``e^{-30}``) instead of being lost in
    ``30 + e^{-30} - 30``.

    Examples
    --------
    >>> import numpy as np
    >>> round(log_loss.value(np.array([1.0]), np.array([0.0])), 6)   # log 2
    0.693147
    >>> log_loss.value(np.array([0.0]), np.array([800.0]))           # no overflow
    800.0
    >>> float(log_loss.per_sample(np.array([1.0]), np.array([30.0]))[0])   # e^-30
    9.357622968839737e-14
    """

    name = "log_loss"
    curvature = 0.25

    def per_sample(self, y: Array, z: Array) -> Array:
        return np.maximum(z, 0.0) - y * z + np.log1p(np.exp(-np.abs(z)))

    def per_sample_gradient(self, y: Array, z: Array) -> Array:
        return expit(z) - y


class SoftmaxCrossEntropy(Loss):
    """Multinomial cross-entropy: ``logsumexp(z) - sum_k y_k z_k`` with one-hot (or soft) ``y``.

    Examples
    --------
    >>> import numpy as np
    >>> y = np.array([[0.0, 1.0]]); z = np.array([[0.0, 0.0]])
    >>> round(softmax_cross_entropy.value(y, z), 6)
    0.693147
    >>> softmax_cross_entropy.gradient(y, z)
    array([[ 0.5, -0.5]])
    """

    name = "softmax"
    curvature = 0.5

    def per_sample(self, y: Array, z: Array) -> Array:
        return logsumexp(z, axis=1) - np.sum(y * z, axis=1)

    def per_sample_gradient(self, y: Array, z: Array) -> Array:
        return softmax(z, axis=1) - y

    def value_and_gradient(
        self, y: Array, z: Array, sample_weight: Array | None = None
    ) -> tuple[float, Array]:
        """Both from one pass of exponentials: with ``m = max_k z_k`` and ``e = exp(z - m)``,
        ``logsumexp(z) = m + log(sum e)`` and ``softmax(z) = e / sum e``."""
        top = z.max(axis=1, keepdims=True)
        e = np.exp(z - top)
        total = e.sum(axis=1, keepdims=True)
        per_sample = (top + np.log(total))[:, 0] - np.einsum("ij,ij->i", y, z)
        if sample_weight is not None:
            e /= total
            e -= y
            return _weighted_mean(per_sample, sample_weight), _scale_gradient(e, sample_weight)
        n = z.shape[0]  # the mean's 1/n folded into the normalisation
        e *= 1.0 / (n * total)
        e -= y * (1.0 / n)
        return float(np.mean(per_sample)), e

    def log_probabilities(self, z: Array) -> Array:
        """``log softmax(z)`` row by row."""
        return log_softmax(z, axis=1)


class Hinge(Loss):
    """Hinge loss of a linear SVM: ``max(0, 1 - y z)`` with ``y`` in ``{-1, +1}``.

    Examples
    --------
    >>> import numpy as np
    >>> hinge.value(np.array([1.0, -1.0]), np.array([0.5, -2.0]))
    0.25
    """

    name = "hinge"
    curvature = 0.0

    def per_sample(self, y: Array, z: Array) -> Array:
        return np.maximum(0.0, 1.0 - y * z)

    def per_sample_gradient(self, y: Array, z: Array) -> Array:
        return np.where(y * z < 1.0, -y, 0.0).astype(z.dtype, copy=False)


squared_error = SquaredError()
huber = Huber()
log_loss = LogLoss()
softmax_cross_entropy = SoftmaxCrossEntropy()
hinge = Hinge()

LOSSES: dict[str, Loss] = {
    "squared_error": squared_error,
    "huber": huber,
    "log_loss": log_loss,
    "softmax": softmax_cross_entropy,
    "hinge": hinge,
}


def get(name: str | Loss, **parameters: Any) -> Loss:
    """A loss by name (``"huber"`` takes ``delta``), or the loss itself.

    Examples
    --------
    >>> get("huber", delta=2.0)
    Huber(delta=2.0)
    """
    if isinstance(name, Loss):
        return name
    try:
        loss = LOSSES[name]
    except (KeyError, TypeError):
        known = ", ".join(sorted(LOSSES))
        raise ValueError(f"Unknown loss {name!r}; choose one of: {known}.") from None
    if not parameters:
        return loss
    if name == "huber" and set(parameters) <= {"delta"}:
        return Huber(**parameters)
    if name in EPSILON_LOSSES and set(parameters) <= {"epsilon"}:
        return type(loss)(**parameters)
    raise TypeError(f"The loss {name!r} takes no parameter {', '.join(sorted(parameters))}.")


# scikit-learn's other SGD losses and the Poisson loss live in their own module (they extend Loss).
from gdlab._sgd_losses import (  # noqa: E402
    EPSILON_LOSSES,
    MORE_LOSSES,
    EpsilonInsensitive,
    ModifiedHuber,
    Perceptron,
    Poisson,
    SquaredEpsilonInsensitive,
    SquaredHinge,
)

LOSSES.update(MORE_LOSSES)


@dataclass(frozen=True)
class Penalty:
    """A penalty on the weights, ``alpha * R(w)``, with scikit-learn's definitions of ``R``.

    ``l2``: ``R = ||w||^2 / 2``; ``l1``: ``R = ||w||_1`` (subgradient ``sign(w)``, 0 at 0);
    ``elasticnet``: ``R = (1 - l1_ratio) ||w||^2 / 2 + l1_ratio ||w||_1``. The intercept is never
    penalised.

    Examples
    --------
    >>> import numpy as np
    >>> penalty = Penalty("elasticnet", alpha=0.1, l1_ratio=0.5)
    >>> round(penalty.value(np.array([2.0, -1.0])), 6)   # 0.1 * (0.5 * 5 / 2 + 0.5 * 3)
    0.275
    """

    kind: str | None
    alpha: float = 0.0001
    l1_ratio: float = 0.15

    def __post_init__(self) -> None:
        if self.kind not in PENALTIES:
            known = ", ".join(repr(k) for k in PENALTIES)
            raise ValueError(f"Unknown penalty {self.kind!r}; choose one of: {known}.")
        if not np.isfinite(self.alpha) or self.alpha < 0:
            raise ValueError(
                f"The 'alpha' parameter of the penalty must be a float >= 0. Got {self.alpha!r}."
            )
        if not 0.0 <= self.l1_ratio <= 1.0:
            raise ValueError(
                f"The 'l1_ratio' parameter of the penalty must be in [0, 1]. Got {self.l1_ratio!r}."
            )

    @property
    def l1_weight(self) -> float:
        if self.kind == "l1":
            return self.alpha
        if self.kind == "elasticnet":
            return self.alpha * self.l1_ratio
        return 0.0

    @property
    def l2_weight(self) -> float:
        if self.kind == "l2":
            return self.alpha
        if self.kind == "elasticnet":
            return self.alpha * (1.0 - self.l1_ratio)
        return 0.0

    @property
    def active(self) -> bool:
        return self.kind is not None and self.alpha > 0

    def value(self, weights: Array) -> float:
        """``alpha * R(w)``."""
        if not self.active:
            return 0.0
        return float(self.column_values(np.ravel(weights)[:, None])[0])

    def column_values(self, weights: Array) -> Array:
        """``alpha * R(w)`` of each column of ``weights`` (one run per column, as in sweeps).

        Examples
        --------
        >>> Penalty("l2", alpha=2.0).column_values(np.array([[1.0, 0.0], [1.0, 3.0]]))
        array([2., 9.])
        """
        l2 = 0.5 * self.l2_weight * np.sum(weights * weights, axis=0)
        return l2 + self.l1_weight * np.sum(np.abs(weights), axis=0)

    def gradient(self, weights: Array) -> Array:
        """The (sub)gradient of :meth:`value`."""
        grad = self.l2_weight * weights
        if self.l1_weight:
            grad = grad + self.l1_weight * np.sign(weights)
        return grad


PENALTIES = (None, "l2", "l1", "elasticnet")


def get_penalty(kind: str | None, alpha: float = 0.0001, l1_ratio: float = 0.15) -> Penalty:
    """A :class:`Penalty` (``kind=None`` for none)."""
    return Penalty(kind, float(alpha), float(l1_ratio))
