"""Multi-layer perceptrons for the one training loop: layers, activations, initializers, batch
norm, dropout, and the network as an objective of :func:`gdlab.engine.train`.

Examples
--------
>>> import numpy as np
>>> from gdlab import losses
>>> from gdlab.nn import Architecture, NetworkObjective
>>> arch = Architecture(2, (3,), 1, "tanh")
>>> theta = arch.initial_params("auto", np.random.default_rng(0))
>>> X = np.ones((4, 2)); y = np.zeros(4)
>>> loss, grad = NetworkObjective(X, y, losses.squared_error, arch).loss_and_grad(theta)
>>> grad.shape == theta.shape == (arch.n_params,)
True
"""

from gdlab.nn.activations import ACTIVATIONS, Activation
from gdlab.nn.init import INITS
from gdlab.nn.network import BN_EPS, BN_MOMENTUM, Architecture, BatchNormState
from gdlab.nn.objective import NetworkObjective

__all__ = [
    "ACTIVATIONS",
    "BN_EPS",
    "BN_MOMENTUM",
    "INITS",
    "Activation",
    "Architecture",
    "BatchNormState",
    "NetworkObjective",
]
