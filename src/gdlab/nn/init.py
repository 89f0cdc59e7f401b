"""Weight initializers: the scale of the first weights decides whether signals survive depth.

- ``"he_normal"``: ``N(0, 2 / fan_in)``; ``"he_uniform"``: ``U(-b, b)``, ``b = sqrt(6 / fan_in)``.
  They keep the variance of ReLU outputs from layer to layer (He et al., 2015).
- ``"xavier_normal"``: ``N(0, 2 / (fan_in + fan_out))``; ``"xavier_uniform"``: ``U(-b, b)``,
  ``b = sqrt(6 / (fan_in + fan_out))``. For tanh, sigmoid and linear layers (Glorot and Bengio).
- ``"normal"``: ``N(0, init_scale^2)``, a fixed scale.
- ``"zeros"``: every weight 0, so every hidden unit stays equal to its neighbours.
- ``"auto"``: He uniform for the hidden layers of ReLU-like activations, Xavier uniform otherwise
  and for the output layer.

Biases start at 0; batch-norm scales at 1 and shifts at 0.

Examples
--------
>>> import numpy as np
>>> w = draw("he_normal", 400, 300, np.random.default_rng(0))
>>> round(float(w.std() ** 2 * 400), 1)   # variance 2 / fan_in
2.0
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

Array = NDArray[np.floating[Any]]

__all__ = ["INITS", "draw", "layer_init"]

INITS = (
    "auto",
    "he_normal",
    "he_uniform",
    "xavier_normal",
    "xavier_uniform",
    "normal",
    "zeros",
)


def layer_init(init: str, relu_like: bool, output_layer: bool) -> str:
    """The concrete initializer of one layer (resolves ``"auto"``)."""
    if init != "auto":
        return init
    return "he_uniform" if relu_like and not output_layer else "xavier_uniform"


def draw(
    init: str,
    fan_in: int,
    fan_out: int,
    rng: np.random.Generator,
    init_scale: float = 0.01,
    dtype: Any = np.float64,
) -> Array:
    """A ``(fan_in, fan_out)`` weight matrix drawn from the initializer ``init``."""
    shape = (fan_in, fan_out)
    if init == "zeros":
        return np.zeros(shape, dtype=dtype)
    if init == "normal":
        return (init_scale * rng.standard_normal(shape)).astype(dtype)
    if init in ("he_normal", "he_uniform"):
        variance = 2.0 / fan_in
    elif init in ("xavier_normal", "xavier_uniform"):
        variance = 2.0 / (fan_in + fan_out)
    else:
        raise ValueError(f"Unknown init {init!r}; choose one of: {', '.join(INITS)}.")
    if init.endswith("_normal"):
        return (np.sqrt(variance) * rng.standard_normal(shape)).astype(dtype)
    bound = np.sqrt(3.0 * variance)
    return rng.uniform(-bound, bound, shape).astype(dtype)
