"""Chapter 15: exploding gradients in a deep ReLU network, and gradient clipping."""

from __future__ import annotations

import itertools
import warnings
from typing import Any

import numpy as np

from gdlab.lab.experiment import Experiment, Table, fmt, new_figure

__all__ = ["draw", "run"]

DEPTH = 8
WIDTH = 32
INIT_SCALE = 0.32  # He would be sqrt(2 / 32) = 0.25
LEARNING_RATE = 0.1
CLIP = 1.0
EPOCHS = 30
FAST_EPOCHS = 15


def _data(seed: int) -> tuple[Any, Any, list[Any]]:
    """Features, targets and the too-large initial weights ``N(0, INIT_SCALE^2)``."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(256, 8))
    sizes = (8, *(WIDTH,) * DEPTH, 1)
    coefs = [rng.normal(scale=INIT_SCALE, size=shape) for shape in itertools.pairwise(sizes)]
    return X, np.sin(X[:, 0]) + 0.5 * X[:, 1], coefs


def _start(X: Any, y: Any, coefs: list[Any]) -> tuple[float, float]:
    """The loss at the initial weights and the norm of the first mini-batch's gradient."""
    from gdlab import losses
    from gdlab.nn import Architecture, NetworkObjective

    arch = Architecture(X.shape[1], (WIDTH,) * DEPTH, 1, "relu")
    theta = arch.pack(coefs, [np.zeros(w.shape[1]) for w in coefs], np.zeros(arch.n_params))
    objective = NetworkObjective(X, y, losses.squared_error, arch)
    _, grad = objective.loss_and_grad(theta, slice(0, 32))
    return objective.loss(theta), float(np.linalg.norm(grad))


def run(seed: int = 42, fast: bool = False) -> Experiment:
    """The same network and rate without clipping (diverges) and with ``clip_norm`` (trains)."""
    from sklearn.exceptions import ConvergenceWarning

    from gdlab.estimators._mlp import MLPRegressor
    from gdlab.exceptions import DivergenceError

    X, y, coefs = _data(seed)
    start_loss, start_norm = _start(X, y, coefs)
    start = {"coefs_init": coefs, "intercepts_init": [np.zeros(w.shape[1]) for w in coefs]}
    epochs = FAST_EPOCHS if fast else EPOCHS
    settings = dict(
        hidden_layer_sizes=(WIDTH,) * DEPTH,
        optimizer="sgd",
        learning_rate=LEARNING_RATE,
        batch_size=32,
        max_iter=epochs,
        tol=None,
        random_state=seed,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        try:
            MLPRegressor(**settings).fit(X, y, **start)  # type: ignore[arg-type]
            raise RuntimeError("the unclipped network was expected to diverge")
        except DivergenceError as error:
            diverged = error
        clipped = MLPRegressor(**settings, clip_norm=CLIP)  # type: ignore[arg-type]
        clipped.fit(X, y, **start)
    losses = [float(v) for v in diverged.losses]
    score = float(clipped.score(X, y))
    message = str(diverged)
    layer_norms = np.asarray(clipped.history_.layers["grad_norm"])
    final_norm = float(np.sqrt(np.sum(layer_norms[-1] ** 2)))
    last = losses[-1]
    outcome = "becomes non-finite" if not np.isfinite(last) else f"explodes to {last:.3g}"
    table = Table(
        f"{DEPTH} ReLU layers of {WIDTH}, weights N(0, {INIT_SCALE}^2), plain SGD at "
        f"learning rate {LEARNING_RATE}, mini-batches of 32",
        ["run", "loss at the start", "outcome", "last loss", "R^2"],
        note=f"Clipping rescales any mini-batch gradient longer than {CLIP} to length {CLIP}.",
    )
    table.add(
        "no clipping", fmt(start_loss), f"DIVERGED in epoch {diverged.epoch}", fmt(losses[-1]), "-"
    )
    table.add(
        f"clip_norm={CLIP:g}",
        fmt(start_loss),
        f"trained {epochs} epochs",
        fmt(clipped.loss_curve_[-1]),
        fmt(score, 3),
    )
    return Experiment(
        key="15_exploding_gradients",
        title="Exploding gradients, and gradient clipping",
        source="Lesson 2: problems of deep networks: exploding gradients; gradient clipping",
        explanation=[
            f"With weights drawn a little too large ({INIT_SCALE} instead of He's 0.25), every "
            "ReLU layer multiplies the signal, and backpropagation multiplies the gradient the "
            f"same way: the loss starts at {start_loss:.3g} and the first mini-batch gradient has "
            f"norm {start_norm:.3g}. Steps of size {LEARNING_RATE} along such gradients throw the "
            f"weights so far that the loss {outcome} by epoch {diverged.epoch}; gdlab stops "
            "there and says what to try, clipping included.",
            f"Clipping the gradient to norm {CLIP:g} keeps its direction and caps every step at "
            f"{LEARNING_RATE} x {CLIP:g}: the same network at the same learning rate trains to "
            f"R^2 = {score:.2f}, and its gradients fall from about {start_norm:.3g} to "
            f"{final_norm:.2g} as the weights settle.",
            f"The message gdlab gave: {message}",
        ],
        tables=[table],
        numbers={
            "diverged_epoch": float(diverged.epoch),
            "clipped_r2": score,
            "clipped_final_loss": float(clipped.loss_curve_[-1]),
            "start_loss": start_loss,
            "first_gradient_norm": start_norm,
            "message_names_clipping": float("clip" in message),
            "final_gradient_norm": final_norm,
        },
        data={
            "diverged": losses,
            "clipped": list(clipped.loss_curve_),
            "grad_norm": clipped.history_.layers["grad_norm"],
        },
        draw=draw,
    )


def draw(experiment: Experiment) -> object:
    """Loss curves with and without clipping, and the per-layer gradient norms with clipping."""
    data = experiment.data
    figure, axes = new_figure(1, 2, (14, 5))
    ax = axes[0, 0]
    diverged = np.asarray(data["diverged"], dtype=float)
    finite = np.isfinite(diverged)
    ax.semilogy(
        np.arange(1, diverged.size + 1)[finite],
        diverged[finite],
        "o-",
        color="red",
        label="no clipping: mean loss of the epoch",
    )
    ax.semilogy(np.arange(1, len(data["clipped"]) + 1), data["clipped"], label="clip_norm=1")
    if not np.all(finite):
        ax.annotate(
            "next epoch: non-finite, training stopped",
            xy=(0.03, 0.9),
            xycoords="axes fraction",
            color="red",
        )
    ax.set_xlabel("Epoch")
    ax.set_ylabel("MSE loss (log)")
    ax.set_title("Same network, same learning rate")
    ax.legend()
    norms = np.asarray(data["grad_norm"])
    ax = axes[0, 1]
    for layer in range(norms.shape[1]):
        name = "output" if layer == norms.shape[1] - 1 else f"layer {layer + 1}"
        ax.semilogy(np.arange(1, norms.shape[0] + 1), norms[:, layer], label=name)
    ax.axhline(CLIP, color="black", linestyle=":", label="clip threshold (all layers together)")
    ax.set_xlabel("Epoch")
    ax.set_ylabel("mean |gradient| per layer (before clipping)")
    ax.set_title("With clipping: the gradients shrink as the loss falls")
    ax.legend(fontsize=7, ncol=2)
    figure.suptitle(
        "Exploding gradients: 8 ReLU layers with too-large initial weights", fontsize=14
    )
    return figure
