"""Chapter 16: symmetry; zero initial weights keep every hidden unit identical forever."""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from gdlab.lab._nn_common import boundary_grid, draw_boundary, moons
from gdlab.lab.experiment import Experiment, Table, fmt, new_figure

__all__ = ["draw", "run", "unit_spread"]

UNITS = 8
EPOCHS = 40
FAST_EPOCHS = 25
LEARNING_RATE = 0.1
INITS = {"zeros": "all weights 0", "xavier_uniform": "random (Xavier)"}


def unit_spread(coefs: list[Any], intercepts: list[Any]) -> float:
    """How different the hidden units are: the largest distance between any unit's weights (in
    and out, with its bias) and the first unit's. 0 means every unit is the same function."""
    units = np.vstack([coefs[0], intercepts[0][None, :], coefs[1].T])  # one column per unit
    return float(np.max(np.abs(units - units[:, :1])))


def _train(X: Any, y: Any, init: str, epochs: int, seed: int) -> dict[str, Any]:
    from sklearn.exceptions import ConvergenceWarning

    from gdlab.estimators._mlp import MLPClassifier

    model = MLPClassifier(
        (UNITS,),
        "sigmoid",
        init=init,
        learning_rate=LEARNING_RATE,
        batch_size=32,
        max_iter=1,
        tol=None,
        warm_start=True,
        random_state=seed,
    )
    first_weights, spreads = [], []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        for _ in range(epochs):  # one epoch per call: warm starts continue exactly
            model.fit(X, y)
            first_weights.append(model.coefs_[0][0].copy())
            spreads.append(unit_spread(model.coefs_, model.intercepts_))
    return {
        "model": model,
        "first_weights": np.array(first_weights),
        "spreads": spreads,
        "accuracy": float(model.score(X, y)),
    }


def run(seed: int = 42, fast: bool = False) -> Experiment:
    """Train the same small sigmoid network from zero and from random initial weights."""
    X, y = moons(seed)
    epochs = FAST_EPOCHS if fast else EPOCHS
    grid = boundary_grid(X, steps=100)
    runs = {init: _train(X, y, init, epochs, seed) for init in INITS}
    table = Table(
        f"One hidden layer of {UNITS} sigmoid units on two moons, Adam at {LEARNING_RATE}, "
        f"{epochs} epochs",
        ["initial weights", "largest difference between units", "distinct units", "accuracy"],
        note="Difference between units: over incoming weights, bias and outgoing weight.",
    )
    for init, label in INITS.items():
        r = runs[init]
        coefs = r["model"].coefs_
        distinct = len({tuple(np.round(col, 12)) for col in coefs[0].T})
        r["distinct"] = distinct
        table.add(label, fmt(r["spreads"][-1], 3), distinct, fmt(r["accuracy"], 3))
    zero, rand = runs["zeros"], runs["xavier_uniform"]
    for r in runs.values():
        r["surface"] = r["model"].predict_proba(grid[2])[:, 1]
    return Experiment(
        key="16_symmetry",
        title="Symmetry: why the initial weights must be random",
        source="Lesson 2: weight initialization",
        explanation=[
            "If every weight starts at 0, every hidden unit computes the same function of the "
            "input; so backpropagation hands each of them the same gradient, and they take the "
            "same step. After any number of updates they are still identical: "
            f"the {UNITS} units behave as one ({zero['distinct']} distinct unit, largest "
            f"difference {zero['spreads'][-1]:.3g} after {epochs} epochs), and the network can "
            f"only draw a boundary one unit can ({100 * zero['accuracy']:.0f}% accuracy).",
            "Random initial weights break the symmetry: the units start different, receive "
            f"different gradients and specialise ({rand['distinct']} distinct units), and the "
            f"same network reaches {100 * rand['accuracy']:.0f}%.",
        ],
        tables=[table],
        numbers={
            "zero_spread": zero["spreads"][-1],
            "zero_distinct_units": float(zero["distinct"]),
            "zero_accuracy": zero["accuracy"],
            "random_spread": rand["spreads"][-1],
            "random_distinct_units": float(rand["distinct"]),
            "random_accuracy": rand["accuracy"],
        },
        data={"runs": runs, "X": X, "y": y, "grid": grid},
        draw=draw,
    )


def draw(experiment: Experiment) -> object:
    """Each hidden unit's first incoming weight over the epochs, and the two boundaries."""
    data = experiment.data
    figure, axes = new_figure(1, 4, (20, 4.6))
    for column, (init, label) in enumerate(INITS.items()):
        r = data["runs"][init]
        ax = axes[0, column]
        weights = r["first_weights"]
        ax.plot(np.arange(1, weights.shape[0] + 1), weights)
        ax.set_xlabel("Epoch")
        ax.set_ylabel("weight from feature 1 to each unit")
        ax.set_title(f"{label}: {r['distinct']} distinct unit(s)")
        draw_boundary(
            axes[0, column + 2],
            data["X"],
            data["y"],
            data["grid"],
            r["surface"],
            f"{label}: {100 * r['accuracy']:.0f}% accuracy",
        )
    figure.suptitle(f"Symmetry: {UNITS} hidden units, zero vs random initial weights", fontsize=14)
    return figure
