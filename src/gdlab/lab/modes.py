"""Experiment 5: batch vs stochastic vs mini-batch gradient descent."""

from __future__ import annotations

from typing import Any

import numpy as np

from gdlab import losses
from gdlab.estimators._linear import GDRegressor
from gdlab.history import History
from gdlab.lab.experiment import Experiment, Table, fmt, full_batch_gd, new_figure
from gdlab.lab.lesson_data import line_data

__all__ = ["draw", "run"]

LEARNING_RATE = 0.01
LESSON_STEPS = 200
BATCH = 32
MODES: dict[str, int | None] = {"Batch": None, "SGD": 1, "Mini-batch (32)": BATCH}


def _lesson_protocol(
    X: Any, y: Any, seed: int, batch_size: int | None
) -> tuple[list[float], float, float]:
    """The lesson's protocol, trained by gdlab: one update per step on rows drawn as it draws them.

    The lesson re-seeds, draws the start, then per step picks all rows, one random row, or 32 rows
    without replacement. Each step here is one warm-started ``fit`` of a one-epoch full-batch
    GDRegressor on exactly those rows; the loss on all rows is recorded before each update.
    """
    rng = np.random.RandomState(seed)
    w0, b0 = float(rng.randn()), float(rng.randn())
    n = X.shape[0]
    model = full_batch_gd(learning_rate=LEARNING_RATE, max_iter=1, warm_start=True)
    curve = [losses.squared_error.value(y, w0 * X[:, 0] + b0)]
    for step in range(LESSON_STEPS):
        if step:
            curve.append(losses.squared_error.value(y, model.predict(X)))
        if batch_size is None:
            rows: Any = slice(None)
        elif batch_size == 1:
            index = int(rng.randint(0, n))
            rows = slice(index, index + 1)
        else:
            rows = rng.choice(n, batch_size, replace=False)
        if step == 0:
            model.fit(X[rows], y[rows], coef_init=[w0], intercept_init=b0)
        else:
            model.fit(X[rows], y[rows])
    return curve, float(model.coef_[0]), float(model.intercept_[0])


def run(seed: int = 42, fast: bool = False) -> Experiment:
    """Compare the three ways of batching, the lesson's way and by true epochs."""
    data = line_data(seed, 200)
    lesson = Table(
        "The lesson's protocol: 200 steps, each one update (all rows / 1 random row / 32 rows)",
        ["mode", "final loss", "w", "b"],
        note="Loss on all 200 rows before the last update; true values w = 3, b = 7.",
    )
    lesson_curves: dict[str, list[float]] = {}
    numbers: dict[str, float] = {}
    for name, batch_size in MODES.items():
        curve, w, b = _lesson_protocol(data.X, data.y, seed, batch_size)
        lesson_curves[name] = curve
        lesson.add(name, fmt(curve[-1]), fmt(w), fmt(b))
        numbers[f"lesson_{_slug(name)}_final_loss"] = curve[-1]
    rng = np.random.RandomState(seed)
    w0, b0 = float(rng.randn()), float(rng.randn())
    epochs = 15 if fast else 100
    histories: dict[str, History] = {}
    table = Table(
        f"gdlab by epochs: {epochs} passes over the data, shuffled each epoch, learning rate 0.01",
        ["mode", "batch_size", "updates", "examples seen", "final loss", "w", "b"],
        note="Loss: mean of the mini-batch losses during the last epoch.",
    )
    for name, batch_size in MODES.items():
        model = GDRegressor(
            optimizer="sgd",
            learning_rate=LEARNING_RATE,
            batch_size=batch_size,
            max_iter=epochs,
            tol=None,
            shuffle=True,
            random_state=seed,
            standardize=False,
        ).fit(data.X, data.y, coef_init=[w0], intercept_init=b0)
        history = model.history_
        histories[name] = history
        table.add(
            name,
            "None" if batch_size is None else batch_size,
            history.n_updates[-1],
            history.n_samples_seen[-1],
            fmt(history.loss[-1]),
            fmt(model.coef_[0]),
            fmt(model.intercept_[0]),
        )
        numbers[f"{_slug(name)}_final_loss"] = float(history.loss[-1])
        numbers[f"{_slug(name)}_updates"] = float(history.n_updates[-1])
    return Experiment(
        key="05_modes",
        title="Batch, stochastic and mini-batch gradient descent",
        source="Lesson 000 (batch vs SGD) and lesson 003 (types of gradient descent)",
        explanation=[
            "The three modes differ only in how many rows feed each gradient: all of them, one, "
            "or a small batch. The update rule stays plain gradient descent.",
            "Top row: the lesson's protocol, where every step is a single update (one random row "
            "for SGD, 32 random rows for mini-batch). One row gives a noisy gradient, so the loss "
            "zig-zags; 32 rows average most of that noise away.",
            "Bottom row: the usual definition, where an epoch is a full pass over the shuffled "
            "data. Per epoch, SGD makes 200 updates and mini-batch 7, against a single one for "
            "batch gradient descent, so they get much further per epoch. Plotted against the "
            "number of updates the picture reverses: each batch update is worth more. Against "
            "examples seen (the work of computing gradients) the modes are compared at equal "
            "cost.",
            "At this constant learning rate, SGD stops improving at a noise floor: single-row "
            "gradients keep kicking the parameters around the minimum. Mini-batches lower that "
            "floor, and a decaying learning rate removes it (see the schedules experiment).",
        ],
        tables=[lesson, table],
        numbers=numbers,
        data={"lesson_curves": lesson_curves, "histories": histories},
        draw=draw,
    )


def _slug(name: str) -> str:
    return name.split(" ")[0].lower().replace("-", "")


def draw(experiment: Experiment) -> object:
    """Top: the lesson's three panels; bottom: gdlab runs against epochs, updates, examples."""
    from gdlab import viz

    figure, axes = new_figure(2, 3, (17, 10))
    for i, (name, curve) in enumerate(experiment.data["lesson_curves"].items()):
        viz.plot_loss_curve(
            curve,
            axes[0, i],
            ylabel="MSE loss (all rows)",
            title=f"Lesson protocol, {name}: final loss {curve[-1]:.4f}",
            color=viz.style.series_color(i),
            linewidth=1.5,
        )
        axes[0, i].set_xlabel("Step (one update each)")
    histories = experiment.data["histories"]
    titles = {
        "epoch": "gdlab: loss per epoch",
        "updates": "Same runs against updates (log x)",
        "samples": "Same runs against examples seen",
    }
    for j, x in enumerate(("epoch", "updates", "samples")):
        viz.plot_modes(
            histories, axes[1, j], x=x, logx=x == "updates", title=titles[x], ylabel="MSE loss"
        )
    figure.suptitle("Batch vs SGD vs mini-batch gradient descent", fontsize=14)
    return figure
