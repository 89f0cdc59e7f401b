"""Optimizers as composable gradient transformations (``init``/``update`` pairs), Optax-style.

Examples
--------
>>> import numpy as np
>>> from gdlab import optim
>>> tx = optim.chain(optim.clip_by_global_norm(1.0), optim.adam(learning_rate=1e-3))
>>> params = np.zeros(3)
>>> state = tx.init(params)
>>> updates, state = tx.update(np.array([1.0, -1.0, 0.5]), state, params)
>>> params = optim.apply_updates(params, updates)
"""

from gdlab.optim.base import (
    EmptyState,
    GradientTransformation,
    apply_updates,
    chain,
    identity,
)
from gdlab.optim.named import (
    OPTIMIZERS,
    adagrad,
    adam,
    adamw,
    get,
    momentum,
    nesterov,
    pid,
    rmsprop,
    sgd,
)
from gdlab.optim.plateau import scale_by_plateau
from gdlab.optim.transforms import (
    accumulate,
    add_decayed_weights,
    clip,
    clip_by_global_norm,
    global_norm,
    scale_by_adagrad,
    scale_by_adam,
    scale_by_learning_rate,
    scale_by_pid,
    scale_by_rms,
    trace,
)

__all__ = [
    "OPTIMIZERS",
    "EmptyState",
    "GradientTransformation",
    "accumulate",
    "adagrad",
    "adam",
    "adamw",
    "add_decayed_weights",
    "apply_updates",
    "chain",
    "clip",
    "clip_by_global_norm",
    "get",
    "global_norm",
    "identity",
    "momentum",
    "nesterov",
    "pid",
    "rmsprop",
    "scale_by_adagrad",
    "scale_by_adam",
    "scale_by_learning_rate",
    "scale_by_pid",
    "scale_by_plateau",
    "scale_by_rms",
    "sgd",
    "trace",
]
