"""Chapter 13: a network learns what a line cannot (two moons)."""

from __future__ import annotations

import warnings

import numpy as np

from gdlab.lab._nn_common import boundary_grid, draw_boundary, moons
from gdlab.lab.experiment import Experiment, Table, fmt, new_figure

__all__ = ["draw", "run"]

HIDDEN = (16, 16)
SNAPSHOTS = (1, 5, 20, 100)
FAST_SNAPSHOTS = (1, 5, 20, 60)


def run(seed: int = 42, fast: bool = False) -> Experiment:
    """Train a linear classifier and a small network on two moons; keep boundary snapshots."""
    from sklearn.exceptions import ConvergenceWarning

    from gdlab.estimators._linear import GDClassifier
    from gdlab.estimators._mlp import MLPClassifier

    X, y = moons(seed)
    grid = boundary_grid(X)
    linear = GDClassifier(learning_rate=0.05, max_iter=100, tol=None, random_state=seed).fit(X, y)
    network = MLPClassifier(
        HIDDEN,
        "tanh",
        learning_rate=0.01,
        batch_size=32,
        tol=None,
        warm_start=True,
        random_state=seed,
    )
    snapshots = FAST_SNAPSHOTS if fast else SNAPSHOTS
    surfaces, scores, done = [], [], 0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        for epoch in snapshots:  # warm starts continue exactly: the same run, paused to look
            network.set_params(max_iter=epoch - done)
            network.fit(X, y)
            done = epoch
            surfaces.append(network.predict_proba(grid[2])[:, 1])
            scores.append(float(network.score(X, y)))
    linear_score = float(linear.score(X, y))
    table = Table(
        "Training accuracy on two moons (400 points, 15% noise)",
        ["model", "epochs", "accuracy", "final training loss"],
        note="The network: 2 -> 16 -> 16 -> 1 with tanh, Adam at 0.01, mini-batches of 32.",
    )
    table.add(
        "linear classifier (GDClassifier)", 100, fmt(linear_score, 3), fmt(linear.loss_curve_[-1])
    )
    for epoch, score in zip(snapshots, scores, strict=True):
        table.add(f"network {HIDDEN}", epoch, fmt(score, 3), fmt(network.loss_curve_[epoch - 1]))
    return Experiment(
        key="13_nonlinear",
        title="A network learns what a line cannot",
        source="Both lessons: neural networks are trained by the same gradient descent",
        explanation=[
            "Two interleaved half moons cannot be split by a straight line: the best linear "
            f"classifier stops at {100 * linear_score:.0f}% accuracy however long it trains.",
            "A network with two hidden layers is trained by exactly the same loop, optimizer and "
            "mini-batches. Its boundary starts almost straight (after one epoch it is little "
            "more than the linear model), then bends around the moons as the epochs go by, "
            f"reaching {100 * scores[-1]:.1f}% accuracy after {snapshots[-1]} epochs.",
            "The snapshots are one run paused and continued (warm_start=True resumes exactly), "
            "so each panel is the same network later in its training.",
        ],
        tables=[table],
        numbers={
            "linear_accuracy": linear_score,
            "network_accuracy": scores[-1],
            "network_accuracy_first_epoch": scores[0],
            "network_final_loss": float(network.loss_curve_[-1]),
            "network_first_loss": float(network.loss_curve_[0]),
        },
        data={
            "X": X,
            "y": y,
            "grid": grid,
            "surfaces": surfaces,
            "snapshots": snapshots,
            "linear": linear.predict_proba(grid[2])[:, 1],
            "linear_score": linear_score,
            "scores": scores,
            "loss": list(network.loss_curve_),
            "linear_loss": list(linear.loss_curve_),
        },
        draw=draw,
    )


def draw(experiment: Experiment) -> object:
    """The linear boundary, the network's at each snapshot, and both loss curves."""
    data = experiment.data
    n = len(data["snapshots"])
    figure, axes = new_figure(1, n + 2, (3.8 * (n + 2), 4.6))
    X, y, grid = data["X"], data["y"], data["grid"]
    draw_boundary(
        axes[0, 0],
        X,
        y,
        grid,
        data["linear"],
        f"Linear classifier: {100 * data['linear_score']:.0f}%",
    )
    for index, (epoch, surface, score) in enumerate(
        zip(data["snapshots"], data["surfaces"], data["scores"], strict=True)
    ):
        draw_boundary(
            axes[0, index + 1], X, y, grid, surface, f"Network, epoch {epoch}: {100 * score:.0f}%"
        )
    ax = axes[0, n + 1]
    ax.plot(np.arange(1, len(data["loss"]) + 1), data["loss"], label="network")
    ax.plot(np.arange(1, len(data["linear_loss"]) + 1), data["linear_loss"], label="linear")
    for epoch in data["snapshots"]:
        ax.axvline(epoch, color="grey", linestyle=":", linewidth=0.8)
    ax.set_yscale("log")
    ax.set_xlabel("Epoch")
    ax.set_ylabel("log-loss")
    ax.set_title("Loss curves")
    ax.legend()
    figure.suptitle(
        "Two moons: a straight line cannot separate them, a small network can", fontsize=14
    )
    return figure
