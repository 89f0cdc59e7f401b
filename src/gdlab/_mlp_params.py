"""The hyperparameter checks of :class:`~gdlab.MLPRegressor` and :class:`~gdlab.MLPClassifier`.

The training settings shared with the linear estimators go through
:func:`gdlab.params.check_params`; the network's own (layers, activation, initialization, batch
norm, dropout) are checked here, each failure a scikit-learn style message naming the parameter.
"""

from __future__ import annotations

import numbers
from typing import Any

import numpy as np

from gdlab.nn import INITS
from gdlab.nn.activations import ACTIVATIONS
from gdlab.params import check_params

__all__ = ["check_mlp_params"]

#: settings of the linear estimators that a network does not have, for :func:`check_params`
_LINEAR_ONLY = {
    "loss": "squared_error",
    "penalty": None,
    "l1_ratio": 0.15,
    "fit_intercept": True,
    "record_params": False,
    "backend": "numpy",
}


def _fail(owner: str, name: str, requirement: str, value: Any) -> None:
    raise ValueError(
        f"The {name!r} parameter of {owner} must be {requirement}. Got {value!r} instead."
    )


def check_mlp_params(estimator: Any) -> None:
    """Check every hyperparameter; raise ``ValueError`` naming the first bad one."""
    owner = type(estimator).__name__
    p = estimator.get_params(deep=False)
    proxy = type(owner, (), {"get_params": lambda self, deep=False: {**_LINEAR_ONLY, **p}})()
    check_params(proxy, ("squared_error",))
    sizes = p["hidden_layer_sizes"]
    if isinstance(sizes, numbers.Integral) and not isinstance(sizes, bool):
        sizes = (sizes,)
    if not (
        isinstance(sizes, tuple | list)
        and all(isinstance(h, numbers.Integral) and not isinstance(h, bool) for h in sizes)
        and all(h >= 1 for h in sizes)
    ):
        _fail(owner, "hidden_layer_sizes", "a tuple of ints >= 1", p["hidden_layer_sizes"])
    if p["activation"] not in ACTIVATIONS:
        _fail(
            owner,
            "activation",
            "a str among {" + ", ".join(map(repr, ACTIVATIONS)) + "}",
            p["activation"],
        )
    if p["init"] not in INITS:
        _fail(owner, "init", "a str among {" + ", ".join(map(repr, INITS)) + "}", p["init"])
    scale: Any = p["init_scale"]
    if not (isinstance(scale, numbers.Real) and not isinstance(scale, bool) and float(scale) > 0):
        _fail(owner, "init_scale", "a float > 0", scale)
    if not isinstance(p["batch_norm"], bool | np.bool_):
        _fail(owner, "batch_norm", "a bool", p["batch_norm"])
    rate: Any = p["dropout"]
    if not (isinstance(rate, numbers.Real) and not isinstance(rate, bool) and 0 <= float(rate) < 1):
        _fail(owner, "dropout", "a float in the range [0, 1)", rate)
