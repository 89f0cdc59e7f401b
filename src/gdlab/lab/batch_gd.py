"""Experiment 1: full-batch gradient descent on one feature, epoch by epoch."""

from __future__ import annotations

import numpy as np

from gdlab.lab import lesson_loops as reference
from gdlab.lab.experiment import Experiment, Table, draw_line_fit, fmt, full_batch_gd, new_figure
from gdlab.lab.lesson_data import TRUE_B, TRUE_W, line_data

__all__ = ["draw", "run"]

EPOCHS = 200
LEARNING_RATE = 0.01
SNAPSHOTS = (0, 5, 20, 50, 199)


def run(seed: int = 42, fast: bool = False) -> Experiment:
    """Fit ``y = w x + b`` by full-batch gradient descent from the lesson's random start."""
    data = line_data(seed, 100)
    w0, b0 = float(data.rng.randn()), float(data.rng.randn())
    model = full_batch_gd(learning_rate=LEARNING_RATE, max_iter=EPOCHS, record_params=True)
    model.fit(data.X, data.y, coef_init=[w0], intercept_init=b0)
    history = model.history_
    path = history.param_path()  # the start, then (w, b) after every epoch
    progress = Table(
        f"Full-batch gradient descent, learning rate {LEARNING_RATE}, {EPOCHS} epochs",
        ["epoch", "loss (MSE)", "w", "b"],
        note=(
            f"Start: w = {w0:.3f}, b = {b0:.3f}. True values: w = {TRUE_W:.3f}, b = {TRUE_B:.3f}. "
            "The loss is measured before the epoch's update, w and b after it."
        ),
    )
    for epoch in range(EPOCHS):
        if epoch % 20 == 0 or epoch == EPOCHS - 1:
            w, b = path[epoch + 1]
            progress.add(epoch, fmt(history.loss[epoch]), fmt(w), fmt(b))
    lesson_losses, lesson_w, lesson_b = reference.batch_line(
        data.x, data.y, w0, b0, LEARNING_RATE, EPOCHS
    )
    loss_gap = float(np.max(np.abs(np.asarray(lesson_losses) - np.asarray(history.loss))))
    agreement = Table(
        "The lesson's own loop vs gdlab (same data, same start)",
        ["quantity", "lesson loop", "gdlab GDRegressor", "|difference|"],
    )
    agreement.add(
        "final w", fmt(lesson_w, 6), fmt(model.coef_[0], 6), fmt(abs(lesson_w - model.coef_[0]), 2)
    )
    agreement.add(
        "final b",
        fmt(lesson_b, 6),
        fmt(model.intercept_[0], 6),
        fmt(abs(lesson_b - model.intercept_[0]), 2),
    )
    agreement.add(
        "final loss",
        fmt(lesson_losses[-1], 6),
        fmt(history.loss[-1], 6),
        fmt(abs(lesson_losses[-1] - history.loss[-1]), 2),
    )
    agreement.add("largest loss difference over all epochs", "", "", fmt(loss_gap, 2))
    return Experiment(
        key="01_batch_gd",
        title="Batch gradient descent on y = 3x + 7 + noise",
        source="Lesson 000: gradient descent in a few lines, and watching it learn",
        explanation=[
            "One hundred points scattered around the line y = 3x + 7. The model starts from a "
            "random slope and intercept and, in every epoch, computes the mean squared error on "
            "all points, its gradient, and takes one step of size 0.01 against it.",
            "The loss drops by two orders of magnitude in the first few epochs, while the line "
            "swings into the cloud of points; after that progress is slow. The slope shoots past "
            "3 almost at once, then slope and intercept drift together, slowly, towards the true "
            "values: the loss surface is a long, shallow valley, because a change of slope can be "
            "partly compensated by a change of intercept when x is never negative.",
            "The second table re-runs the lesson's literal loop: gdlab's estimator produces the "
            "same numbers to rounding error.",
        ],
        tables=[progress, agreement],
        numbers={
            "w_init": w0,
            "b_init": b0,
            "w_final": float(model.coef_[0]),
            "b_final": float(model.intercept_[0]),
            "loss_final": float(history.loss[-1]),
            "lesson_loop_max_loss_difference": loss_gap,
        },
        data={"x": data.x, "y": data.y, "history": history, "path": path},
        draw=draw,
    )


def draw(experiment: Experiment) -> object:
    """Loss curve, parameter convergence and line-fit snapshots side by side."""
    figure, axes = new_figure(1, 3, (16, 5))
    draw_line_fit(
        experiment.data,
        axes[0],
        targets=(TRUE_W, TRUE_B),
        target_label="true",
        titles=("Loss falls over training (log)", "Parameters approach the true values"),
        epochs=SNAPSHOTS,
    )
    figure.suptitle("Batch gradient descent, learning rate 0.01, 200 epochs", fontsize=14)
    return figure
