"""Activation functions of hidden layers, each with its derivative.

=================  ==================================  =========================================
name               ``a = f(u)``                        ``f'(u)``, written with ``a`` where cheaper
=================  ==================================  =========================================
``"relu"``         ``max(u, 0)``                       ``1 if u > 0 else 0``
``"leaky_relu"``   ``u if u > 0 else 0.01 u``          ``1 if u > 0 else 0.01``
``"tanh"``         ``tanh(u)``                         ``1 - a^2``
``"sigmoid"``      ``1 / (1 + e^-u)``                  ``a (1 - a)``
``"identity"``     ``u``                               ``1``
=================  ==================================  =========================================

The derivative at the ReLU kink ``u = 0`` is taken as 0, as in PyTorch and scikit-learn.
``saturated(a)`` marks the values where the derivative has all but vanished: ``|a| > 0.99`` for
tanh, ``a < 0.01`` or ``a > 0.99`` for the sigmoid, exactly 0 for ReLU (a unit that is 0 for every
row is *dead*), and nothing for leaky ReLU and the identity.

Examples
--------
>>> import numpy as np
>>> u = np.array([-2.0, 0.5])
>>> a = get("relu").forward(u); a, get("relu").derivative(u, a)
(array([0. , 0.5]), array([0., 1.]))
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray
from scipy.special import expit

Array = NDArray[np.floating[Any]]

__all__ = ["ACTIVATIONS", "Activation", "get"]

LEAKY_SLOPE = 0.01


@dataclass(frozen=True)
class Activation:
    """One activation: its name and whether He initialization suits it (ReLU-like)."""

    name: str
    relu_like: bool

    def forward(self, u: Array) -> Array:
        """``a = f(u)`` (a new array)."""
        if self.name == "relu":
            return np.maximum(u, 0.0)
        if self.name == "leaky_relu":
            return np.where(u > 0, u, LEAKY_SLOPE * u)
        if self.name == "tanh":
            return np.tanh(u)
        if self.name == "sigmoid":
            return expit(u)
        return u.copy()

    def backward(self, grad: Array, u: Array, a: Array) -> Array:
        """``grad * f'(u)``, overwriting ``grad`` where possible."""
        if self.name == "relu":
            grad *= u > 0
            return grad
        if self.name == "leaky_relu":
            grad *= np.where(u > 0, 1.0, LEAKY_SLOPE)
            return grad
        if self.name == "tanh":
            grad *= 1.0 - a * a
            return grad
        if self.name == "sigmoid":
            grad *= a * (1.0 - a)
            return grad
        return grad

    def derivative(self, u: Array, a: Array) -> Array:
        """``f'(u)`` as an array."""
        return self.backward(np.ones_like(u), u, a)

    def saturated(self, a: Array) -> NDArray[np.bool_]:
        """Boolean mask of saturated (or, for ReLU, inactive) values."""
        if self.name == "relu":
            return a <= 0
        if self.name == "tanh":
            return np.abs(a) > 0.99
        if self.name == "sigmoid":
            return (a < 0.01) | (a > 0.99)
        return np.zeros(a.shape, dtype=bool)


ACTIVATIONS: dict[str, Activation] = {
    "relu": Activation("relu", True),
    "leaky_relu": Activation("leaky_relu", True),
    "tanh": Activation("tanh", False),
    "sigmoid": Activation("sigmoid", False),
    "identity": Activation("identity", False),
}


def get(name: str) -> Activation:
    """The activation called ``name`` (one of :data:`ACTIVATIONS`)."""
    try:
        return ACTIVATIONS[name]
    except KeyError:
        raise ValueError(
            f"Unknown activation {name!r}; choose one of: {', '.join(ACTIVATIONS)}."
        ) from None
