"""The base of gdlab's losses (see :mod:`gdlab.losses`): per-sample value and derivative,
averaged with sample weights.

Kept apart so that the modules of losses (:mod:`gdlab.losses`, :mod:`gdlab._sgd_losses`) build on it
without importing each other.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

Array = NDArray[np.floating[Any]]

__all__ = ["Loss"]


def _weighted_mean(per_sample: Array, sample_weight: Array | None) -> float:
    if per_sample.ndim > 1:
        per_sample = per_sample.sum(axis=1)
    if sample_weight is None:
        return float(np.mean(per_sample))
    return float(np.dot(sample_weight, per_sample) / np.sum(sample_weight))


def _scale_gradient(per_sample_grad: Array, sample_weight: Array | None) -> Array:
    n = per_sample_grad.shape[0]
    if sample_weight is None:
        return per_sample_grad / n
    weights = sample_weight / np.sum(sample_weight)
    if per_sample_grad.ndim > 1:
        weights = weights[:, None]
    return (per_sample_grad * weights).astype(per_sample_grad.dtype, copy=False)


class Loss:
    """A loss: per-sample value and derivative, averaged by :meth:`value` and :meth:`gradient`."""

    name: str = ""
    #: bound on the second derivative of the per-sample loss, for the 2/L step-size advice
    curvature: float = 0.0

    def per_sample(self, y: Array, z: Array) -> Array:  # pragma: no cover - overridden
        raise NotImplementedError

    def per_sample_gradient(self, y: Array, z: Array) -> Array:  # pragma: no cover - overridden
        raise NotImplementedError

    def value(self, y: Array, z: Array, sample_weight: Array | None = None) -> float:
        """The weighted mean loss."""
        return _weighted_mean(self.per_sample(y, z), sample_weight)

    def gradient(self, y: Array, z: Array, sample_weight: Array | None = None) -> Array:
        """The gradient of :meth:`value` with respect to ``z``."""
        return _scale_gradient(self.per_sample_gradient(y, z), sample_weight)

    def value_and_gradient(
        self, y: Array, z: Array, sample_weight: Array | None = None
    ) -> tuple[float, Array]:
        """Both at once."""
        return self.value(y, z, sample_weight), self.gradient(y, z, sample_weight)

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"
