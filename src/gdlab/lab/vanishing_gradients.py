"""Chapter 14: vanishing gradients in a deep network, and the cures (initialization, batch norm)."""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from gdlab.lab._nn_common import moons
from gdlab.lab.experiment import Experiment, Table, fmt, new_figure

__all__ = ["CONFIGS", "draw", "run"]

DEPTH = 10
WIDTH = 32
EPOCHS = 40
FAST_EPOCHS = 20
LEARNING_RATE = 0.1
#: label -> (activation, init, batch_norm)
CONFIGS: dict[str, tuple[str, str, bool]] = {
    "sigmoid + Xavier": ("sigmoid", "xavier_uniform", False),
    "ReLU + He": ("relu", "he_uniform", False),
    "sigmoid + batch norm": ("sigmoid", "xavier_uniform", True),
}


def _start_gradients(
    X: Any, y: Any, activation: str, init: str, batch_norm: bool, seed: int
) -> list[float]:
    """The norm of each layer's weight gradient at the initial weights (all rows)."""
    from gdlab import losses
    from gdlab.nn import Architecture, NetworkObjective

    arch = Architecture(2, (WIDTH,) * DEPTH, 1, activation, batch_norm)
    theta = arch.initial_params(init, np.random.default_rng([seed, 1]))
    objective = NetworkObjective(X, y.astype(float), losses.log_loss, arch)
    _, grad = objective.loss_and_grad(theta)
    return [float(np.linalg.norm(g)) for g in arch.weights(grad)]


def run(seed: int = 42, fast: bool = False) -> Experiment:
    """Gradient norm per layer at the start, and training in the same budget, per config."""
    from sklearn.exceptions import ConvergenceWarning

    from gdlab.estimators._mlp import MLPClassifier

    X, y = moons(seed)
    epochs = FAST_EPOCHS if fast else EPOCHS
    results: dict[str, dict[str, Any]] = {}
    for label, (activation, init, batch_norm) in CONFIGS.items():
        norms = _start_gradients(X, y, activation, init, batch_norm, seed)
        model = MLPClassifier(
            (WIDTH,) * DEPTH,
            activation,
            init=init,
            batch_norm=batch_norm,
            optimizer="sgd",
            learning_rate=LEARNING_RATE,
            batch_size=32,
            max_iter=epochs,
            tol=None,
            random_state=seed,
        )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            model.fit(X, y)
        results[label] = {
            "norms": norms,
            "ratio": norms[0] / norms[-1],
            "accuracy": float(model.score(X, y)),
            "loss": list(model.loss_curve_),
        }
    table = Table(
        f"{DEPTH} hidden layers of {WIDTH} units on two moons: gradients at the start, "
        f"training after {epochs} epochs of plain SGD",
        [
            "network",
            "|grad W| first layer",
            "|grad W| last layer",
            "first / last",
            "start loss",
            "final loss",
            "accuracy",
        ],
        note=f"Same data, budget, mini-batches of 32 and learning rate {LEARNING_RATE} for all.",
    )
    for label, r in results.items():
        table.add(
            label,
            fmt(r["norms"][0], 3),
            fmt(r["norms"][-1], 3),
            fmt(r["ratio"], 3),
            fmt(r["loss"][0]),
            fmt(r["loss"][-1]),
            fmt(r["accuracy"], 3),
        )
    sig, relu, bn = (results[k] for k in CONFIGS)
    numbers = {
        f"{key}_{name}": float(results[label][name])
        for key, label in zip(("sigmoid", "relu", "batchnorm"), CONFIGS, strict=True)
        for name in ("ratio", "accuracy")
    }
    return Experiment(
        key="14_vanishing_gradients",
        title="Vanishing gradients, and two cures",
        source="Lesson 2: problems of deep networks: vanishing gradients; initialization, "
        "batch normalization",
        explanation=[
            "Backpropagation multiplies, layer after layer, by the derivative of the activation "
            "and by the weights. The sigmoid's derivative is at most 1/4, so through ten sigmoid "
            f"layers the gradient reaching the first layer is {sig['ratio']:.1g} times the last "
            "layer's: the first layers hardly move, and the network does not learn "
            f"({100 * sig['accuracy']:.0f}% accuracy, a coin toss).",
            "ReLU's derivative is 1 where it is active, and He initialization keeps the signal's "
            f"size from layer to layer: the ratio is {relu['ratio']:.2g} and the same budget "
            f"reaches {100 * relu['accuracy']:.0f}%.",
            "Batch normalization re-centres and re-scales each layer's inputs, so the sigmoids "
            "work in their steep middle part: the gradients no longer shrink with depth "
            f"(ratio {bn['ratio']:.2g}) and the sigmoid network trains "
            f"({100 * bn['accuracy']:.0f}%).",
        ],
        tables=[table],
        numbers=numbers,
        data={"results": results},
        draw=draw,
    )


def draw(experiment: Experiment) -> object:
    """Gradient norm per layer (log scale) and the loss curves of the three networks."""
    results = experiment.data["results"]
    figure, axes = new_figure(1, 2, (14, 5))
    for label, r in results.items():
        layers = np.arange(1, len(r["norms"]) + 1)
        axes[0, 0].semilogy(
            layers, r["norms"], marker="o", label=f"{label} (ratio {r['ratio']:.1g})"
        )
        axes[0, 1].plot(np.arange(1, len(r["loss"]) + 1), r["loss"], label=label)
    axes[0, 0].set_xlabel("Layer (1 = next to the input)")
    axes[0, 0].set_ylabel("|gradient of W| at the start")
    axes[0, 0].set_title("Gradient norm per layer, before training")
    axes[0, 0].legend()
    axes[0, 1].set_xlabel("Epoch")
    axes[0, 1].set_ylabel("log-loss")
    axes[0, 1].set_title("Training in the same budget (plain SGD)")
    axes[0, 1].legend()
    figure.suptitle("Vanishing gradients: 10 hidden layers", fontsize=14)
    return figure
