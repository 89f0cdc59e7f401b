"""Record PyTorch references for the networks of :mod:`gdlab.nn` (tests/test_nn_torch.py).

Run with a Python that has torch (the tests never import it)::

    .venv/bin/pip install torch==2.13.0   # CPU build
    .venv/bin/python scripts/make_mlp_reference.py

It writes ``tests/data/mlp_torch_reference.json``. Everything is float64. Each network is a
``torch.nn.Sequential`` of ``Linear -> [BatchNorm1d] -> activation -> [dropout]`` per hidden layer
and a final ``Linear``, with weights given in gdlab's flat layout (``W_l`` as ``fan_in x fan_out``,
so ``Linear.weight = W_l.T``; then ``b_l``, then batch norm's ``weight`` and ``bias``). Dropout is
a module that multiplies by an injected 0/1 mask and divides by ``1 - p`` (inverted dropout), the
mask drawn with NumPy from ``default_rng([11, draw, layer])`` so that the test draws the same one.

* ``passes``: one training-mode forward and backward pass per activation x loss x batch norm
  (L2 ``alpha / 2 * sum ||W||^2`` added to the loss): the loss, the gradient in gdlab's layout and
  the batch-norm running statistics after the pass.
* ``trajectories``: 20 updates (4 epochs of 5 mini-batches of 8 rows, in order) of each optimizer
  from ``torch.optim``: the loss of every update and the final parameters and running statistics.
"""

from __future__ import annotations

import itertools
import json
from pathlib import Path
from typing import Any

import numpy as np
import torch

torch.set_default_dtype(torch.float64)
OUT = Path(__file__).resolve().parents[1] / "tests" / "data" / "mlp_torch_reference.json"

ACTIVATIONS = {
    "relu": torch.nn.ReLU,
    "leaky_relu": lambda: torch.nn.LeakyReLU(0.01),
    "tanh": torch.nn.Tanh,
    "sigmoid": torch.nn.Sigmoid,
    "identity": torch.nn.Identity,
}
OUTPUTS = {"squared_error": 1, "log_loss": 1, "softmax": 3}
OPTIMIZERS: dict[str, tuple[str, dict[str, Any], str, dict[str, Any]]] = {
    "sgd": ("SGD", {"lr": 0.1}, "sgd", {"learning_rate": 0.1}),
    "momentum": ("SGD", {"lr": 0.05, "momentum": 0.9}, "momentum", {"learning_rate": 0.05}),
    "nesterov": (
        "SGD",
        {"lr": 0.05, "momentum": 0.9, "nesterov": True},
        "nesterov",
        {"learning_rate": 0.05},
    ),
    "adagrad": ("Adagrad", {"lr": 0.1}, "adagrad", {"learning_rate": 0.1}),
    "rmsprop": ("RMSprop", {"lr": 0.01}, "rmsprop", {"learning_rate": 0.01}),
    "adam": ("Adam", {"lr": 0.01}, "adam", {"learning_rate": 0.01}),
    "adamw": (
        "AdamW",
        {"lr": 0.01, "weight_decay": 0.01},
        "adamw",
        {"learning_rate": 0.01, "weight_decay": 0.01},
    ),
}


def mask(draw: int, layer: int, shape: tuple[int, int], p: float) -> np.ndarray:
    """The 0/1 keep mask of one dropout layer (the test has the same expression)."""
    return (np.random.default_rng([11, draw, layer]).random(shape) >= p).astype(float)


class InjectedDropout(torch.nn.Module):
    def __init__(self, layer: int, p: float, counter: list[int]) -> None:
        super().__init__()
        self.layer, self.p, self.counter = layer, p, counter

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        keep = mask(self.counter[0], self.layer, tuple(x.shape), self.p)
        return x * torch.from_numpy(keep) / (1.0 - self.p)


def build(sizes, activation, batch_norm, dropout, theta, counter):
    layers: list[torch.nn.Module] = []
    linears, norms = [], []
    offset = 0
    for index in range(len(sizes) - 1):
        fan_in, fan_out = sizes[index], sizes[index + 1]
        linear = torch.nn.Linear(fan_in, fan_out)
        w = theta[offset : offset + fan_in * fan_out].reshape(fan_in, fan_out)
        offset += fan_in * fan_out
        b = theta[offset : offset + fan_out]
        offset += fan_out
        with torch.no_grad():
            linear.weight.copy_(torch.from_numpy(w.T.copy()))
            linear.bias.copy_(torch.from_numpy(b.copy()))
        layers.append(linear)
        linears.append(linear)
        if index == len(sizes) - 2:
            break
        if batch_norm:
            bn = torch.nn.BatchNorm1d(fan_out)  # momentum 0.1, eps 1e-5
            with torch.no_grad():
                bn.weight.copy_(torch.from_numpy(theta[offset : offset + fan_out].copy()))
                bn.bias.copy_(
                    torch.from_numpy(theta[offset + fan_out : offset + 2 * fan_out].copy())
                )
            offset += 2 * fan_out
            layers.append(bn)
            norms.append(bn)
        layers.append(ACTIVATIONS[activation]())
        if dropout:
            layers.append(InjectedDropout(index, dropout, counter))
    assert offset == theta.size
    return torch.nn.Sequential(*layers), linears, norms


def flat(linears, norms, grads: bool) -> list[float]:
    parts = []
    for index, linear in enumerate(linears):
        get = (lambda t: t.grad) if grads else (lambda t: t.data)
        parts += [get(linear.weight).T.reshape(-1), get(linear.bias)]
        if index < len(norms):
            parts += [get(norms[index].weight), get(norms[index].bias)]
    return torch.cat(parts).tolist()


def n_params(sizes, batch_norm) -> int:
    total = sum(a * b + b for a, b in itertools.pairwise(sizes))
    return total + (2 * sum(sizes[1:-1]) if batch_norm else 0)


def loss_of(name, out, y, linears, alpha):
    if name == "squared_error":
        value = torch.nn.functional.mse_loss(out[:, 0], y)
    elif name == "log_loss":
        value = torch.nn.functional.binary_cross_entropy_with_logits(out[:, 0], y)
    else:
        value = torch.nn.functional.cross_entropy(out, y.long())
    if alpha:
        value = value + 0.5 * alpha * sum((lin.weight**2).sum() for lin in linears)
    return value


def data(rng, n, n_features, loss):
    X = rng.normal(size=(n, n_features))
    if loss == "squared_error":
        y = X @ rng.normal(size=n_features) + 0.3 * rng.normal(size=n)
    elif loss == "log_loss":
        y = (X[:, 0] + 0.5 * rng.normal(size=n) > 0).astype(float)
    else:
        y = rng.integers(0, 3, n).astype(float)
    return X, y


def one_pass(activation, loss, batch_norm, seed) -> dict[str, Any]:
    rng = np.random.default_rng(seed)
    sizes = (4, 5, 3, OUTPUTS[loss])
    X, y = data(rng, 8, 4, loss)
    theta = 0.6 * rng.normal(size=n_params(sizes, batch_norm))
    model, linears, norms = build(sizes, activation, batch_norm, 0.0, theta, [0])
    model.train()
    value = loss_of(loss, model(torch.from_numpy(X)), torch.from_numpy(y), linears, 0.01)
    value.backward()
    return {
        "activation": activation,
        "loss": loss,
        "batch_norm": batch_norm,
        "alpha": 0.01,
        "sizes": list(sizes),
        "X": X.tolist(),
        "y": y.tolist(),
        "theta": theta.tolist(),
        "value": float(value.detach()),
        "grad": flat(linears, norms, grads=True),
        "running_mean": [bn.running_mean.tolist() for bn in norms],
        "running_var": [bn.running_var.tolist() for bn in norms],
    }


def trajectory(
    name: str, dropout: float, batch_norm: bool, setup: dict[str, Any]
) -> dict[str, Any]:
    torch_name, torch_kwargs, gd_name, gd_kwargs = OPTIMIZERS[name]
    sizes, X, y = setup["sizes"], np.array(setup["X"]), np.array(setup["y"])
    counter = [0]
    theta = np.array(setup["theta_bn" if batch_norm else "theta"])
    model, linears, norms = build(sizes, "relu", batch_norm, dropout, theta, counter)
    optimizer = getattr(torch.optim, torch_name)(model.parameters(), **torch_kwargs)
    model.train()
    losses = []
    for _epoch in range(4):
        for start in range(0, X.shape[0], 8):
            optimizer.zero_grad()
            xb = torch.from_numpy(X[start : start + 8])
            yb = torch.from_numpy(y[start : start + 8])
            value = loss_of("softmax", model(xb), yb, linears, 0.0)
            value.backward()
            optimizer.step()
            counter[0] += 1
            losses.append(float(value.detach()))
    return {
        "optimizer": name,
        "gdlab": [gd_name, gd_kwargs],
        "dropout": dropout,
        "batch_norm": batch_norm,
        "losses": losses,
        "theta": flat(linears, norms, grads=False),
        "running_mean": [bn.running_mean.tolist() for bn in norms],
        "running_var": [bn.running_var.tolist() for bn in norms],
    }


def main() -> None:
    passes = []
    seed = 0
    for activation in ACTIVATIONS:
        for loss in OUTPUTS:
            for batch_norm in (False, True):
                passes.append(one_pass(activation, loss, batch_norm, seed))
                seed += 1
    rng = np.random.default_rng(100)
    sizes = (4, 6, 5, 3)
    X, y = data(rng, 40, 4, "softmax")
    setup = {
        "sizes": list(sizes),
        "X": X.tolist(),
        "y": y.tolist(),
        "theta": (rng.normal(size=n_params(sizes, False)) * 0.5).tolist(),
        "theta_bn": (rng.normal(size=n_params(sizes, True)) * 0.5).tolist(),
    }
    # Every optimizer without batch norm; with batch norm only the plain and momentum steps: the
    # gradient of a bias just before batch norm is zero up to rounding (~1e-17), and the adaptive
    # rules (Adagrad, RMSprop, Adam) divide it by its own root mean square, turning that rounding
    # noise into steps of order learning_rate that no two libraries can reproduce.
    trajectories = [trajectory(name, 0.0, False, setup) for name in OPTIMIZERS]
    trajectories += [trajectory(name, 0.0, True, setup) for name in ("sgd", "momentum")]
    trajectories.append(trajectory("adam", 0.25, False, setup))
    result = {
        "torch_version": torch.__version__,
        "passes": passes,
        "setup": setup,
        "batch_size": 8,
        "trajectories": trajectories,
    }
    OUT.write_text(json.dumps(result, indent=None, separators=(",", ":")) + "\n")
    print(f"wrote {OUT} ({OUT.stat().st_size} bytes)")


if __name__ == "__main__":
    main()
