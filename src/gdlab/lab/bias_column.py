"""Experiment 7: lesson 003's linear regression with the bias as a column of ones."""

from __future__ import annotations

import numpy as np

from gdlab._closed_form import least_squares
from gdlab.lab import lesson_loops as reference
from gdlab.lab.experiment import Experiment, Table, fmt, full_batch_gd, new_figure
from gdlab.lab.lesson_data import bias_column_data

__all__ = ["draw", "run"]

ITERATIONS = 1000
LEARNING_RATE = 0.1


def run(seed: int = 42, fast: bool = False) -> Experiment:
    """Fit ``theta`` on ``[1, X]`` with ``fit_intercept=False``: the intercept is a weight."""
    data = bias_column_data(seed)
    model = full_batch_gd(
        learning_rate=LEARNING_RATE, max_iter=ITERATIONS, fit_intercept=False, record_params=True
    ).fit(data.X_b, data.y, coef_init=data.theta_init)
    theta = model.coef_
    lesson_theta = reference.bias_column(
        data.X_b, data.y, data.theta_init, LEARNING_RATE, ITERATIONS
    )
    exact = least_squares(data.X_b, data.y, fit_intercept=False)
    table = Table(
        f"theta after {ITERATIONS} full-batch iterations at learning rate {LEARNING_RATE}",
        ["method", "theta_0 (bias)", "theta_1 (slope)"],
        note=(
            f"Random start theta = [{data.theta_init[0]:.4f}, {data.theta_init[1]:.4f}]. "
            "The data were made with 4 + 3x, so theta should be close to [4, 3]."
        ),
    )
    table.add("values used to make the data", "4.0000", "3.0000")
    table.add("gdlab GDRegressor(fit_intercept=False)", fmt(theta[0]), fmt(theta[1]))
    table.add("the lesson's loop", fmt(lesson_theta[0]), fmt(lesson_theta[1]))
    table.add("closed-form least squares", fmt(exact.coef[0]), fmt(exact.coef[1]))
    difference = float(np.max(np.abs(theta - lesson_theta)))
    table.add("|gdlab - lesson loop| (largest)", fmt(difference, 2), "")
    return Experiment(
        key="07_bias_column",
        title="Linear regression with a bias column",
        source="Lesson 003: code example, linear regression with gradient descent",
        explanation=[
            "A common trick: put a column of ones in front of the features, so that the "
            "intercept becomes just another weight and the model is X_b @ theta. In gdlab this is "
            "fit_intercept=False on the augmented matrix.",
            "With x in [0, 2] the problem is well conditioned, so a learning rate of 0.1 is safe "
            "and 1000 iterations land on the least-squares solution to every printed digit; "
            "it differs from [4, 3] only because of the noise in the data.",
        ],
        tables=[table],
        numbers={
            "theta0": float(theta[0]),
            "theta1": float(theta[1]),
            "exact_theta0": float(exact.coef[0]),
            "exact_theta1": float(exact.coef[1]),
            "lesson_loop_max_difference": difference,
        },
        data={"history": model.history_, "targets": (exact.coef[0], exact.coef[1])},
        draw=draw,
    )


def draw(experiment: Experiment) -> object:
    """Loss curve and the path of theta towards the exact solution."""
    from gdlab import viz

    data = experiment.data
    figure, axes = new_figure(1, 2, (14, 5))
    viz.plot_loss_curve(data["history"], axes[0, 0], ylabel="MSE loss", title="Loss curve (log)")
    viz.plot_params(
        data["history"],
        axes[0, 1],
        names=("theta_0 (bias)", "theta_1 (slope)"),
        targets=data["targets"],
        target_label="exact",
        title="theta approaches the least-squares solution",
    )
    axes[0, 1].set_xscale("symlog", linthresh=10)
    axes[0, 1].set_xlim(0, ITERATIONS)
    axes[0, 1].set_xlabel("Epoch (linear up to 10, then log scale)")
    figure.suptitle("Bias column: y = 4 + 3x + noise, learning rate 0.1", fontsize=14)
    return figure
