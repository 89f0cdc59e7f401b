"""Experiment 8: optimizers on two-dimensional test functions, paths drawn on the contours."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from gdlab import optim, testfunctions
from gdlab._minimizer import minimize
from gdlab.exceptions import DivergenceError
from gdlab.lab.experiment import Experiment, Table, fmt, new_figure
from gdlab.optim import GradientTransformation

__all__ = ["Run", "draw", "optimizers", "run", "run_optimizer"]

Array = NDArray[np.float64]
GLOBAL_TOLERANCE = 0.1  # a run "found" a minimum when it ends this close to it


@dataclass
class Run:
    """One optimizer run on a test function."""

    label: str
    path: Array
    x: Array
    value: float
    distance: float
    iterations: int
    diverged: bool
    message: str


def optimizers(rate: float, adaptive_rate: float) -> dict[str, GradientTransformation]:
    """The six update rules compared, with one rate for the plain rules, one for the adaptive."""
    return {
        "GD": optim.sgd(rate),
        "Momentum": optim.sgd(rate, momentum=0.9),
        "Nesterov": optim.sgd(rate, momentum=0.9, nesterov=True),
        "RMSprop": optim.rmsprop(adaptive_rate),
        "Adam": optim.adam(adaptive_rate),
        "PID": optim.pid(rate, kp=1.0, ki=0.01, kd=0.1),
    }


def run_optimizer(
    function: testfunctions.TestFunction,
    optimizer: GradientTransformation,
    label: str,
    iterations: int,
    start: Any = None,
) -> Run:
    """Minimise a test function with :func:`gdlab.minimize`; record a divergence, do not raise."""
    x0 = np.asarray(function.start if start is None else start, dtype=float)
    minima = np.asarray(function.minima, dtype=float)
    try:
        result = minimize(
            function.fun, x0, jac=function.grad, optimizer=optimizer, max_iter=iterations, tol=1e-8
        )
    except DivergenceError as error:
        history = error.history
        path = history.param_path() if history is not None and history.params else x0[None, :]
        path = path[np.all(np.isfinite(path), axis=1)]
        return Run(
            label,
            path,
            path[-1],
            float("nan"),
            float("inf"),
            error.epoch,
            True,
            f"DIVERGED at step {error.epoch}",
        )
    path = result.history.param_path()
    distance = float(np.min(np.linalg.norm(minima - result.x, axis=1)))
    message = "converged" if result.success else f"stopped after {iterations} steps"
    return Run(label, path, result.x, float(result.fun), distance, int(result.nit), False, message)


@dataclass(frozen=True)
class Problem:
    name: str
    heading: str
    rate: float
    adaptive_rate: float
    iterations: int
    fast_iterations: int


PROBLEMS = (
    Problem("saddle", "Saddle point", 0.01, 0.1, 300, 300),
    Problem("rosenbrock", "Narrow curved valley (Rosenbrock)", 0.001, 0.01, 3000, 600),
    Problem("wavy_bowl", "Several local minima", 0.05, 0.1, 300, 150),
)
CLIP_RATE = 0.15
CLIP_NORM = 1.0
RESTARTS = 16


def _table(heading: str, runs: list[Run], rates: str) -> Table:
    table = Table(
        heading,
        ["optimizer", "steps", "final point", "f(final)", "distance to nearest minimum", "outcome"],
        note=rates,
    )
    for r in runs:
        point = "-" if r.diverged else f"({r.x[0]:.3f}, {r.x[1]:.3f})"
        distance = "-" if r.diverged else fmt(r.distance)
        table.add(r.label, r.iterations, point, fmt(r.value), distance, r.message)
    return table


Section = tuple[list[Table], list[dict[str, Any]], dict[str, float]]

EXPLANATION = [
    "Six update rules on small two-dimensional functions whose shape is known, so that "
    "their paths can be drawn on the contour map. GD is the plain rule; momentum and "
    "Nesterov add velocity; RMSprop and Adam scale each coordinate by a running size of "
    "its gradient; PID adds an integral (sum of past gradients) and a derivative (change "
    "of gradient) term to the proportional one, which is plain gradient descent.",
    "Saddle point: started almost exactly on the ridge, plain GD slides to the saddle "
    "and lingers there, because the gradient that would push it off is tiny. Momentum "
    "builds up speed along that weak direction, and the adaptive methods enlarge the "
    "small gradient, so they escape to a minimum.",
    "Rosenbrock's valley: the floor is curved and nearly flat while the walls are steep. "
    "The stable step for the walls is far too small for the floor, so plain GD is still "
    "on its way after thousands of steps; momentum methods accumulate speed along the "
    "floor. PID's integral term never forgets old gradients, so in this curved valley it "
    "overshoots and oscillates: practical optimizers use a decaying average (momentum) "
    "instead of a pure integral.",
    "Local minima: every optimizer here settles in the dip nearest its start. Restarting "
    "from random points and keeping the best result is the simple remedy; the table "
    "counts how many restarts found the global minimum.",
    "Exploding gradients: on (x^4 + y^4)/4 the gradient grows with the cube of the "
    "distance, so a rate that is fine near the minimum throws the far-away start even "
    "further out, and the run diverges (it is reported, not crashed). Clipping the "
    "gradient norm to 1 caps each step, and at the same rate the runs head steadily to "
    "the minimum instead.",
]


def run(seed: int = 42, fast: bool = False) -> Experiment:
    """All comparisons: saddle, Rosenbrock, local minima with restarts, clipping on a quartic."""
    panels: list[dict[str, Any]] = []
    tables: list[Table] = []
    numbers: dict[str, float] = {}
    for section in (_landscapes(fast), _restarts(seed, fast), _clipping()):
        tables += section[0]
        panels += section[1]
        numbers.update(section[2])
    tables.append(_pid_table(fast))
    return Experiment(
        key="08_optimizers",
        title="Optimizers on hard landscapes",
        source="Lesson 003: convergence issues and advanced optimizers; lesson 000: the PID view",
        explanation=EXPLANATION,
        tables=tables,
        numbers=numbers,
        data={"panels": panels},
        draw=draw,
    )


def _landscapes(fast: bool) -> Section:
    """Every optimizer on the saddle, Rosenbrock's valley and the wavy bowl."""
    tables: list[Table] = []
    panels: list[dict[str, Any]] = []
    numbers: dict[str, float] = {}
    for problem in PROBLEMS:
        function = testfunctions.get(problem.name)
        steps = problem.fast_iterations if fast else problem.iterations
        runs = [
            run_optimizer(function, tx, label, steps)
            for label, tx in optimizers(problem.rate, problem.adaptive_rate).items()
        ]
        note = (
            f"{function.description} Start {function.start}. Learning rate {problem.rate} for "
            "GD, momentum (0.9), Nesterov and PID (kp=1, ki=0.01, kd=0.1); "
            f"{problem.adaptive_rate} for RMSprop and Adam."
        )
        tables.append(_table(problem.heading, runs, note))
        panels.append({"function": function, "runs": runs, "title": problem.heading})
        for r in runs:
            numbers[f"{problem.name}_{r.label.lower()}_distance"] = r.distance
    return tables, panels, numbers


def _restarts(seed: int, fast: bool) -> Section:
    """Plain GD from random starts on the wavy bowl: how many find the global minimum."""
    wavy = testfunctions.get("wavy_bowl")
    n_restarts = 4 if fast else RESTARTS
    starts = np.random.RandomState(seed).uniform(-4, 4, size=(n_restarts, 2))
    restarts = [
        run_optimizer(wavy, optim.sgd(0.05), f"restart {i + 1}", 300, start)
        for i, start in enumerate(starts)
    ]
    found = [r for r in restarts if r.distance < GLOBAL_TOLERANCE]
    best = min(restarts, key=lambda r: r.value)
    restart_table = Table(
        f"Random restarts: plain GD from {n_restarts} random starts in [-4, 4]^2",
        ["quantity", "value"],
    )
    restart_table.add(
        "restarts that reached the global minimum (0, 0)", f"{len(found)} of {n_restarts}"
    )
    restart_table.add("best restart", best.label)
    restart_table.add("best final value", fmt(best.value))
    restart_table.add("best distance to (0, 0)", fmt(best.distance))
    numbers = {
        "restarts_found_global": float(len(found)),
        "restarts_best_distance": best.distance,
    }
    panel = {
        "function": wavy,
        "runs": restarts,
        "title": "Random restarts (plain GD)",
        "best": best.label,
    }
    return [restart_table], [panel], numbers


def _clipping() -> Section:
    """A quartic whose gradient explodes far from the minimum, without and with clipping."""
    quartic = testfunctions.get("quartic")
    plain = [
        run_optimizer(quartic, tx, label, 300)
        for label, tx in optimizers(CLIP_RATE, CLIP_RATE).items()
    ]
    clipped = [
        run_optimizer(
            quartic,
            optim.chain(optim.clip_by_global_norm(CLIP_NORM), tx),
            f"{label} + clipping",
            300,
        )
        for label, tx in optimizers(CLIP_RATE, CLIP_RATE).items()
        if label in ("GD", "Momentum", "PID")
    ]
    table = _table(
        "Exploding gradients",
        plain + clipped,
        f"{quartic.description} Start {quartic.start}, learning rate {CLIP_RATE} for every "
        f"optimizer; clipping rescales the gradient to norm at most {CLIP_NORM} before the "
        "update (optim.chain(optim.clip_by_global_norm(1.0), ...)).",
    )
    panels = [
        {"function": quartic, "runs": plain, "title": "Exploding gradients, no clipping"},
        {"function": quartic, "runs": clipped, "title": "The same rate with clipping"},
    ]
    numbers: dict[str, float] = {}
    for r in plain + clipped:
        key = r.label.lower().replace(" + clipping", "_clipped")
        numbers[f"quartic_{key}_diverged"] = float(r.diverged)
        numbers[f"quartic_{key}_distance"] = r.distance
    return [table], panels, numbers


def _pid_table(fast: bool) -> Table:
    """The lesson's analogy, checked: a P-only controller is plain gradient descent."""
    function = testfunctions.get("rosenbrock")
    steps = 300 if fast else 1000
    p_only = run_optimizer(function, optim.pid(0.001, kp=1.0, ki=0.0, kd=0.0), "P only", steps)
    gd = run_optimizer(function, optim.sgd(0.001), "GD", steps)
    table = Table(
        "Gradient descent is a proportional controller",
        ["quantity", "value"],
        note="PID with kp = 1, ki = kd = 0 against plain GD, both at rate 0.001 on Rosenbrock.",
    )
    table.add("steps", steps)
    table.add(
        "largest |difference| between the two paths",
        fmt(float(np.max(np.abs(p_only.path - gd.path))), 2),
    )
    return table


def draw(experiment: Experiment) -> object:
    """A 2 x 3 grid of landscapes with the optimizer paths."""
    from gdlab import viz

    figure, axes = new_figure(2, 3, (19, 12.5))
    for ax, panel in zip(axes.ravel(), experiment.data["panels"], strict=False):
        function = panel["function"]
        paths = {r.label + (" (diverged)" if r.diverged else ""): r.path for r in panel["runs"]}
        drawn = viz.plot_landscape(
            function,
            ax,
            paths=paths,
            log_scale=function.name in ("rosenbrock", "quartic"),
            title=panel["title"],
            resolution=150,
        )
        if "best" in panel:  # restarts: one legend entry for the best path, not sixteen
            best = drawn["paths"][panel["best"]]
            ax.legend(
                handles=[best, drawn["starts"][0], drawn["minima"]],
                labels=[f"best of {len(panel['runs'])} restarts", "starts", "global minimum"],
                fontsize=8,
            )
        if function.name == "rosenbrock" and "PID" in drawn["paths"]:
            drawn["paths"]["PID"].set_alpha(0.45)  # its oscillations would hide the other paths
    figure.suptitle("Optimizer paths on test functions (start: green dot, end: star)", fontsize=15)
    return figure
