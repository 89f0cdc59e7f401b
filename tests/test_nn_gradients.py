"""Backpropagation against central finite differences, in float64, for every activation x loss x
batch norm on/off (and dropout with a fixed mask)."""

from __future__ import annotations

import zlib

import numpy as np
import pytest

from gdlab import losses
from gdlab._objectives import central_difference_gradient
from gdlab.nn import ACTIVATIONS, Architecture, NetworkObjective

LOSSES = {
    "squared_error": (losses.squared_error, 1),
    "squared_error_2d": (losses.squared_error, 2),
    "log_loss": (losses.log_loss, 1),
    "softmax": (losses.softmax_cross_entropy, 3),
}


def _problem(loss_name: str, rng: np.random.Generator, n: int = 7) -> tuple:
    loss, k = LOSSES[loss_name]
    X = rng.normal(size=(n, 3))
    if loss_name == "log_loss":
        y = (rng.random(n) > 0.5).astype(float)
    elif loss_name == "softmax":
        y = np.eye(k)[rng.integers(0, k, n)]
    elif k == 1:
        y = rng.normal(size=n)
    else:
        y = rng.normal(size=(n, k))
    return X, y, loss, k


def _fixed_mask(draw: int, layer: int, shape: tuple[int, int]) -> np.ndarray:
    return (np.random.default_rng([7, layer]).random(shape) > 0.3).astype(float)


def _check(objective: NetworkObjective, theta: np.ndarray) -> None:
    _, grad = objective.loss_and_grad(theta)
    numeric = central_difference_gradient(lambda p: objective.loss_and_grad(p)[0], theta)
    scale = float(np.max(np.abs(grad)))
    assert scale > 1e-6
    np.testing.assert_allclose(grad, numeric, rtol=1e-6, atol=1e-6 * scale)


@pytest.mark.parametrize("batch_norm", [False, True])
@pytest.mark.parametrize("loss_name", list(LOSSES))
@pytest.mark.parametrize("activation", list(ACTIVATIONS))
def test_gradient_matches_finite_differences(activation, loss_name, batch_norm):
    rng = np.random.default_rng(zlib.crc32(f"{activation}{loss_name}{batch_norm}".encode()))
    X, y, loss, k = _problem(loss_name, rng)
    arch = Architecture(3, (4, 3), k, activation, batch_norm=batch_norm)
    theta = arch.initial_params("xavier_normal", rng)
    theta += 0.1 * rng.normal(size=theta.shape)  # biases and BN parameters away from 0 and 1
    _check(NetworkObjective(X, y, loss, arch, alpha=0.01), theta)


@pytest.mark.parametrize("batch_norm", [False, True])
def test_dropout_gradient_with_a_fixed_mask(batch_norm):
    rng = np.random.default_rng(3)
    X, y, loss, k = _problem("softmax", rng)
    arch = Architecture(3, (5, 4), k, "tanh", batch_norm=batch_norm, dropout=0.3)
    theta = arch.initial_params("auto", rng) + 0.1 * rng.normal(size=arch.n_params)
    _check(NetworkObjective(X, y, loss, arch, dropout_mask=_fixed_mask), theta)


def test_gradient_on_a_batch_of_rows():
    rng = np.random.default_rng(4)
    X, y, loss, k = _problem("squared_error", rng, n=12)
    arch = Architecture(3, (4,), k, "sigmoid", batch_norm=True)
    theta = arch.initial_params("auto", rng)
    objective = NetworkObjective(X, y, loss, arch)
    rows = np.array([1, 5, 7, 2])
    _, grad = objective.loss_and_grad(theta, rows)
    numeric = central_difference_gradient(lambda p: objective.loss_and_grad(p, rows)[0], theta)
    np.testing.assert_allclose(grad, numeric, rtol=1e-6, atol=1e-9)
