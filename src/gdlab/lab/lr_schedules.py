"""Experiment 9: learning-rate schedules, previewed and put to work on mini-batch SGD."""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
from sklearn.exceptions import ConvergenceWarning

from gdlab import schedules
from gdlab._closed_form import least_squares
from gdlab.estimators._linear import GDRegressor
from gdlab.lab.experiment import Experiment, Table, fmt, new_figure
from gdlab.lab.lesson_data import line_data

__all__ = ["draw", "preview", "run"]

RATE = 0.2
BATCH = 10
EPOCHS = 50
N_SAMPLES = 100


def preview(n_steps: int) -> dict[str, Callable[[int], float]]:
    """The schedules compared, each starting at ``RATE`` and spanning ``n_steps`` updates."""
    warmup = n_steps // 10
    return {
        "constant": schedules.constant(RATE),
        "step decay (halve every 20%)": schedules.step_decay(RATE, n_steps // 5, 0.5),
        "exponential (to 1%)": schedules.exponential_decay(RATE, 0.01, n_steps),
        "inverse scaling (t^-0.5)": schedules.inverse_scaling(RATE, 0.5),
        "cosine": schedules.cosine_decay(RATE, n_steps),
        "warmup + cosine": schedules.warmup_cosine_decay(RATE, warmup, n_steps - warmup),
    }


def _excess_curve(model: GDRegressor, x: Any, y: Any, best: float) -> list[float]:
    """Full-data MSE above the exact minimum at the start and after every epoch.

    The recorded path is ``(w, b)`` in the units of ``x`` (also with ``standardize=True``).
    """
    path = model.history_.param_path()
    residual = y[None, :] - path[:, :1] * x[None, :] - path[:, 1:]
    return list(np.maximum(np.mean(residual**2, axis=1) - best, 1e-16))


def run(seed: int = 42, fast: bool = False) -> Experiment:
    """Train the same model with every schedule (and the plateau rule) and compare the end."""
    data = line_data(seed, N_SAMPLES)
    epochs = 20 if fast else EPOCHS
    n_steps = epochs * -(-N_SAMPLES // BATCH)
    best = least_squares(data.X, data.y).loss
    common: dict[str, Any] = {
        "optimizer": "sgd",
        "batch_size": BATCH,
        "max_iter": epochs,
        "random_state": seed,
        "standardize": True,
        "record_params": True,
    }
    curves: dict[str, list[float]] = {}
    table = Table(
        f"Mini-batch SGD (batch {BATCH}, {epochs} epochs = {n_steps} updates) on standardized x",
        [
            "schedule",
            "rate at step 0",
            f"rate at step {n_steps // 2}",
            f"rate at step {n_steps - 1}",
            "final MSE - exact minimum",
        ],
        note=(
            f"Exact minimum MSE {best:.4f}. 'adaptive' divides the rate by 5 whenever the "
            "training loss stops improving for 5 epochs (scikit-learn's learning_rate='adaptive'); "
            "its rates are per epoch, so they cannot be previewed."
        ),
    )
    numbers: dict[str, float] = {}
    schedule_map = preview(n_steps)
    for name, schedule in schedule_map.items():
        model = GDRegressor(schedule=schedule, tol=None, **common).fit(data.X, data.y)
        curves[name] = _excess_curve(model, data.x, data.y, best)
        table.add(
            name,
            fmt(schedule(0)),
            fmt(schedule(n_steps // 2)),
            fmt(schedule(n_steps - 1)),
            fmt(curves[name][-1], 2),
        )
        numbers[f"excess_{name.split(' ')[0]}"] = curves[name][-1]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        adaptive = GDRegressor(schedule="adaptive", learning_rate=RATE, tol=1e-3, **common).fit(
            data.X, data.y
        )
    curves["adaptive (on plateau)"] = _excess_curve(adaptive, data.x, data.y, best)
    rates = [r for r in adaptive.history_.learning_rate if r is not None]
    table.add(
        "adaptive (on plateau)",
        fmt(rates[0]),
        fmt(rates[len(rates) // 2]),
        fmt(rates[-1]),
        fmt(curves["adaptive (on plateau)"][-1], 2),
    )
    numbers["excess_adaptive"] = curves["adaptive (on plateau)"][-1]
    return Experiment(
        key="09_schedules",
        title="Learning-rate schedules",
        source="Lesson 003: tips (learning-rate schedules) and scikit-learn's adaptive rate",
        explanation=[
            "A schedule changes the learning rate as training proceeds, usually starting large "
            "to make fast progress and ending small. The left panel shows the rate per update "
            "for each schedule.",
            "With mini-batches the gradient is noisy, so at a constant rate the parameters never "
            "settle: they keep jittering around the minimum, at a distance set by the rate. Every "
            "decaying schedule shrinks that jitter, and the right panel (how far the full-data "
            "MSE is above the exact minimum, log scale) shows the loss dropping well below the "
            "constant-rate floor once the rate gets small.",
            "The plateau rule (scikit-learn's 'adaptive') reacts to the loss instead of the step "
            "count: each time the loss stalls it divides the rate by five.",
        ],
        tables=[table],
        numbers=numbers,
        data={"schedules": schedule_map, "n_steps": n_steps, "curves": curves},
        draw=draw,
    )


def draw(experiment: Experiment) -> object:
    """Left: the rate per step; right: the excess loss per epoch for each schedule."""
    from gdlab import viz
    from gdlab.viz.style import series_color

    data = experiment.data
    figure, axes = new_figure(1, 2, (16, 6))
    viz.plot_schedules(
        data["schedules"],
        data["n_steps"],
        axes[0, 0],
        title="Schedules: the learning rate at every update",
    )
    for i, (name, curve) in enumerate(data["curves"].items()):
        viz.plot_loss_curve(
            curve,
            axes[0, 1],
            label=name,
            color=series_color(i),
            linewidth=1.8,
            ylabel="MSE above the exact minimum",
            title="Effect on the loss (log scale)",
        )
    figure.suptitle("Learning-rate schedules on mini-batch SGD", fontsize=14)
    return figure
