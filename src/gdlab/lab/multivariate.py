"""Experiment 4: three features, standardized for training, coefficients in original units."""

from __future__ import annotations

import numpy as np

from gdlab._closed_form import least_squares
from gdlab.lab import lesson_loops as reference
from gdlab.lab.experiment import Experiment, Table, fmt, fmt_vector, full_batch_gd, new_figure
from gdlab.lab.lesson_data import multivariate_data

__all__ = ["draw", "run"]

EPOCHS = 300
LEARNING_RATE = 0.05


def run(seed: int = 42, fast: bool = False) -> Experiment:
    """Multivariate full-batch gradient descent with ``standardize=True``."""
    data = multivariate_data(seed)
    mean, std = data.X.mean(axis=0), data.X.std(axis=0)
    # The lesson starts from random weights in standardized units and b = 0; gdlab takes the
    # start in original units and converts it back, so translate: w = w_s / s, b = b_s - m . w.
    coef_init = data.w_init / std
    intercept_init = 0.0 - float(mean @ coef_init)
    model = full_batch_gd(
        learning_rate=LEARNING_RATE, max_iter=EPOCHS, standardize=True, record_params=True
    ).fit(data.X, data.y, coef_init=coef_init, intercept_init=intercept_init)
    history = model.history_
    path = history.param_path()  # original units: (w1, w2, w3, b) at the start and per epoch
    # The lesson prints the weights in standardized units: w_s = w * std, b_s = b + mean . w.
    scaled = np.column_stack([path[:, :3] * std, path[:, 3] + path[:, :3] @ mean])
    progress = Table(
        f"Multivariate gradient descent on standardized features (learning rate {LEARNING_RATE})",
        ["epoch", "loss (MSE)", "w (standardized units)", "b"],
        note=f"Start: w = {fmt_vector(data.w_init)}, b = 0.000 (standardized units).",
    )
    for epoch in range(EPOCHS):
        if epoch % 50 == 0 or epoch == EPOCHS - 1:
            point = scaled[epoch + 1]
            progress.add(epoch, fmt(history.loss[epoch]), fmt_vector(point[:3]), fmt(point[3], 3))
    exact = least_squares(data.X, data.y)
    X_scaled = (data.X - mean) / std
    _, lesson_w, lesson_b = reference.batch_linear(
        X_scaled, data.y, data.w_init, 0.0, LEARNING_RATE, EPOCHS
    )
    lesson_w_orig = lesson_w / std
    lesson_b_orig = lesson_b - float(np.sum(lesson_w * mean / std))
    units = Table(
        "Coefficients back in the original units",
        ["", "w1", "w2", "w3", "b"],
        note=(
            "gdlab trains on (X - mean) / std and reports coef_ and intercept_ in the units of X, "
            "as the lesson does by hand: w = w_s / std, b = b_s - sum(w_s * mean / std)."
        ),
    )
    units.add("true", *(fmt(v, 3) for v in data.w_true), fmt(data.b_true, 3))
    units.add(
        "gdlab (standardize=True)", *(fmt(v, 3) for v in model.coef_), fmt(model.intercept_[0], 3)
    )
    units.add(
        "lesson loop, un-scaled by hand", *(fmt(v, 3) for v in lesson_w_orig), fmt(lesson_b_orig, 3)
    )
    units.add(
        "closed-form least squares", *(fmt(v, 3) for v in exact.coef), fmt(exact.intercept, 3)
    )
    difference = float(
        np.max(np.abs(np.r_[model.coef_ - lesson_w_orig, model.intercept_[0] - lesson_b_orig]))
    )
    return Experiment(
        key="04_multivariate",
        title="Several features, with feature scaling",
        source="Lesson 000: multivariate gradient descent",
        explanation=[
            "With three features the weight becomes a vector and the gradient has one component "
            "per weight, but the update rule is unchanged.",
            "The features are standardized before training (zero mean, unit spread), which makes "
            "the loss surface round instead of elongated, so one learning rate suits every "
            "direction. gdlab does this with standardize=True and converts the learned "
            "coefficients back to the units of the raw features, which is what a user wants "
            "to read.",
            "After 300 epochs the coefficients match both the true values used to generate the "
            "data (up to the noise) and the exact least-squares solution.",
        ],
        tables=[progress, units],
        numbers={
            "loss_final": float(history.loss[-1]),
            "intercept": float(model.intercept_[0]),
            "lesson_loop_max_difference": difference,
            **{f"w{i + 1}": float(v) for i, v in enumerate(model.coef_)},
        },
        data={
            "history": history,
            "path": path,
            "targets": [*exact.coef, exact.intercept],
        },
        draw=draw,
    )


def draw(experiment: Experiment) -> object:
    """Loss curve and the path of the coefficients (original units) towards the exact ones."""
    from gdlab import viz

    data = experiment.data
    figure, axes = new_figure(1, 2, (14, 5))
    viz.plot_loss_curve(
        data["history"],
        axes[0, 0],
        ylabel="MSE loss",
        title="Multivariate gradient descent: loss curve",
    )
    viz.plot_params(
        data["path"],
        axes[0, 1],
        names=("w1", "w2", "w3", "b"),
        targets=data["targets"],
        target_label="exact",
        title="Coefficients in original units",
    )
    axes[0, 1].legend(loc="center right", ncol=2, fontsize=9)
    figure.suptitle("Three features, standardized, learning rate 0.05", fontsize=14)
    return figure
