"""Experiments 2 and 3: the learning-rate comparison (a sweep) and the learning-rate finder."""

from __future__ import annotations

from gdlab._lr_finder import lr_find
from gdlab._sweeps import sweep
from gdlab.lab.experiment import Experiment, Table, fmt, full_batch_gd, new_figure
from gdlab.lab.lesson_data import line_data, stability_bound

__all__ = ["draw_finder", "draw_sweep", "run_finder", "run_sweep"]

RATES = (0.0001, 0.01, 0.05, 0.1)
EPOCHS = 200


def run_sweep(seed: int = 42, fast: bool = False) -> Experiment:
    """Train with each of the lesson's four learning rates; mark the ones that diverge."""
    data = line_data(seed, 100)
    # The lesson draws a fresh random start for each rate, in this order.
    starts = [(float(data.rng.randn()), float(data.rng.randn())) for _ in RATES]
    fit_params = [{"coef_init": [w], "intercept_init": b} for w, b in starts]
    result = sweep(
        full_batch_gd(max_iter=EPOCHS),
        data.X,
        data.y,
        "learning_rate",
        list(RATES),
        fit_params=fit_params,
    )
    bound = stability_bound(data.X, data.y)
    table = Table(
        "Learning-rate comparison (200 epochs of full-batch gradient descent)",
        ["learning rate", "rate / (2/L)", "outcome", "epochs run", "final loss"],
        note=(
            f"2/L = {bound:.4f}: on this data plain gradient descent is stable only below this "
            "rate (L is the largest curvature of the loss, computed from the data)."
        ),
    )
    numbers: dict[str, float] = {"bound_2_over_L": bound}
    for row in result.rows():
        value, final, diverged = row["learning_rate"], row["final_loss"], row["diverged"]
        epochs = row["epochs"]
        if diverged:
            outcome = f"DIVERGED (in epoch {row['diverged_in']}, counted from 1)"
        elif final > 10:
            outcome = "too slow: still far from the minimum"
        else:
            outcome = "converged"
        table.add(value, fmt(value / bound, 3), outcome, epochs, fmt(final))
        numbers[f"final_loss_{value:g}"] = final
        numbers[f"diverged_{value:g}"] = float(diverged)
    return Experiment(
        key="02_learning_rates",
        title="Learning rate: too small, right, too large",
        source="Lesson 000: the learning rate as the most important hyperparameter",
        explanation=[
            "The same model is trained four times with different step sizes, each from its own "
            "random start as in the lesson, using gdlab.sweep. A run whose loss explodes is "
            "recorded as diverged and the sweep carries on.",
            "With 0.0001 the parameters hardly move in 200 epochs. With 0.01 training converges "
            "smoothly. Both 0.05 and 0.1 diverge: every step overshoots the bottom of the valley "
            "by more than it corrects, so the error grows geometrically.",
            "The dividing line is not a matter of taste. For squared error the loss is a quadratic "
            "whose steepest curvature L can be computed from the data; gradient descent is stable "
            "exactly when the learning rate is below 2/L. Here that bound lies between 0.01 and "
            "0.05, which is why the lesson's 'may oscillate' case in fact blows up.",
        ],
        tables=[table],
        numbers=numbers,
        data={"result": result, "bound": bound},
        draw=draw_sweep,
    )


def draw_sweep(experiment: Experiment) -> object:
    """One panel per learning rate, diverged runs in red."""
    from gdlab import viz

    figure, axes = new_figure(2, 2, (12, 9))
    viz.plot_lr_sweep(
        experiment.data["result"],
        axes,
        ylabel="MSE loss",
        title=(
            "Effect of the learning rate on training "
            f"(stable below 2/L = {experiment.data['bound']:.4f})"
        ),
    )
    return figure


def run_finder(seed: int = 42, fast: bool = False) -> Experiment:
    """The learning-rate range test on the lesson's data, with the 2/L bound."""
    data = line_data(seed, 100)
    result = lr_find(
        full_batch_gd(max_iter=EPOCHS), data.X, data.y, start=1e-6, stop=10.0, n_steps=100
    )
    if result.suggested is None:  # not on the lesson's data (tested); say so if it ever is
        raise RuntimeError(f"The range test was inconclusive: {result.inconclusive}.")
    check = full_batch_gd(learning_rate=result.suggested, max_iter=EPOCHS).fit(data.X, data.y)
    baseline = full_batch_gd(learning_rate=0.01, max_iter=EPOCHS).fit(data.X, data.y)
    table = Table(
        "Learning-rate range test (one full-batch update per step, rate x1.18 each step)",
        ["quantity", "learning rate"],
        note=(
            "The suggestion is a tenth of the rate where the smoothed loss was lowest. "
            f"Training 200 epochs at the suggested rate ends at loss {check.loss_curve_[-1]:.4f}, "
            f"against {baseline.loss_curve_[-1]:.4f} at the lesson's 0.01 (both from the "
            "estimator's default start)."
        ),
    )
    table.add("suggested (lowest smoothed loss / 10)", fmt(result.suggested, 5))
    table.add("lowest smoothed loss at", fmt(result.min_loss_rate, 5))
    table.add("steepest descent of the smoothed loss at", fmt(result.steepest_rate, 5))
    table.add("stability bound 2/L from the data", fmt(result.bound_2_over_L, 5))
    table.add("loss exploded (test stopped) at", fmt(result.diverged_at, 5))
    return Experiment(
        key="03_lr_finder",
        title="Finding a learning rate with a range test",
        source="Lessons 000 and 003: choosing the learning rate",
        explanation=[
            "Instead of trying rates one by one, the range test makes a single run in which the "
            "learning rate grows geometrically at every update, from 1e-6 to 10, and records the "
            "smoothed loss. At first nothing happens, then the loss falls, and finally it "
            "explodes; the test stops there.",
            "gdlab.lr_find returns a suggested rate: a tenth of the rate at which the smoothed "
            "loss was lowest. For squared error it also returns 2/L computed from the data. The "
            "suggestion lands below 2/L, while the lowest point itself lies beyond it: during a "
            "short ramp the loss can keep falling for a few steps past the stability limit "
            "before the instability becomes visible, which is why the suggestion backs off by "
            "a factor of ten.",
        ],
        tables=[table],
        numbers={
            "suggested": result.suggested,
            "min_loss_rate": result.min_loss_rate,
            "steepest_rate": result.steepest_rate,
            "bound_2_over_L": float(result.bound_2_over_L or float("nan")),
            "diverged_at": float("nan") if result.diverged_at is None else result.diverged_at,
            "final_loss_at_suggested": float(check.loss_curve_[-1]),
        },
        data={"result": result},
        draw=draw_finder,
    )


def draw_finder(experiment: Experiment) -> object:
    """Smoothed loss against the rate (log x) with the suggestion and 2/L marked."""
    from gdlab import viz

    figure, axes = new_figure(1, 1, (9, 5.5))
    viz.plot_lr_find(experiment.data["result"], axes[0, 0])
    return figure
