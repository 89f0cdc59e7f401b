"""Experiment 11: why scale features. The same data raw and standardized, seen by gradient descent.

The mean squared error of a linear model is a quadratic in the parameters ``theta = (w, b)``::

    L(theta) = L* + (theta - theta*)^T H (theta - theta*) / 2,     H = 2 A^T A / n,  A = [X, 1]

so full-batch gradient descent with rate ``eta`` moves the error ``e_t = theta_t - theta*`` by
``e_t = (I - eta H) e_{t-1}``: along the eigenvector of ``H`` with eigenvalue ``lambda_i`` the
error is multiplied by ``1 - eta lambda_i`` at every epoch. Everything this experiment reports
follows from the eigenvalues ``mu = lambda_min`` and ``L = lambda_max`` of ``H``:

- stable exactly when ``|1 - eta lambda_i| < 1`` for all ``i``, that is ``eta < 2 / L``;
- the worst factor ``max(|1 - eta mu|, |1 - eta L|)`` is smallest where the two are equal,
  ``1 - eta mu = eta L - 1``, which gives the best fixed rate ``eta* = 2 / (mu + L)`` (below
  ``2 / L``, so stable) and the factor ``q = (L - mu) / (L + mu) = (kappa - 1) / (kappa + 1)``
  with ``kappa = L / mu`` the condition number;
- hence ``||e_t|| <= q^t ||e_0||``, and ``ceil(ln(tol) / ln(q))`` epochs always suffice to shrink
  the distance to the exact minimum by ``tol``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from gdlab._closed_form import least_squares
from gdlab.lab.experiment import Experiment, Table, fmt, full_batch_gd, new_figure

__all__ = [
    "Problem",
    "best_rate",
    "bound_epochs",
    "contraction",
    "draw",
    "mse_hessian",
    "predicted_epochs",
    "run",
    "scaling_data",
]

Array = NDArray[np.float64]

N_ROWS = 200
TRUE_COEF = (0.1, 5.0)
TRUE_INTERCEPT = 20.0
TOLERANCE = 1e-6
ZOOM_STEPS = 12


def scaling_data(seed: int) -> tuple[Array, Array]:
    """A feature around 2000 (spread 25), one around 1 (spread 0.5), ``y = 0.1 x1 + 5 x2 + 20``.

    Examples
    --------
    >>> X, y = scaling_data(42)
    >>> X.shape, bool(1900 < X[:, 0].mean() < 2100), bool(0.5 < X[:, 1].mean() < 1.5)
    ((200, 2), True, True)
    """
    rng = np.random.RandomState(seed)
    X = np.column_stack([2000.0 + 25.0 * rng.randn(N_ROWS), 1.0 + 0.5 * rng.randn(N_ROWS)])
    y = X @ np.asarray(TRUE_COEF) + TRUE_INTERCEPT + rng.randn(N_ROWS)
    return X, y


def mse_hessian(X: Any) -> Array:
    """``H = 2 A^T A / n`` with ``A = [X, 1]``: the Hessian of the MSE over ``(w, b)``.

    Examples
    --------
    >>> mse_hessian(np.array([[1.0], [-1.0]])).tolist()
    [[2.0, 0.0], [0.0, 2.0]]
    """
    A = np.column_stack([np.asarray(X, dtype=float), np.ones(len(X))])
    return np.asarray(2.0 * (A.T @ A) / A.shape[0])


def best_rate(eigenvalues: Any) -> float:
    """``2 / (lambda_min + lambda_max)``: the fixed rate with the smallest worst factor.

    Examples
    --------
    >>> best_rate([1.0, 3.0])   # factors |1 - 0.5| = |1 - 1.5| = 0.5
    0.5
    """
    values = np.asarray(eigenvalues, dtype=float)
    return float(2.0 / (values.min() + values.max()))


def contraction(eigenvalues: Any) -> float:
    """``(kappa - 1) / (kappa + 1)``: the error factor per epoch at :func:`best_rate`.

    Examples
    --------
    >>> contraction([1.0, 3.0])
    0.5
    """
    values = np.asarray(eigenvalues, dtype=float)
    return float((values.max() - values.min()) / (values.max() + values.min()))


def bound_epochs(q: float, tol: float = TOLERANCE) -> float:
    """``ceil(ln(tol) / ln(q))``: epochs that certainly shrink the error by ``tol``.

    Examples
    --------
    >>> bound_epochs(0.1, 1e-6)
    6.0
    """
    if q <= 0.0:
        return 1.0
    return float(math.ceil(math.log(tol) / math.log(q) - 1e-9))


def predicted_epochs(hessian: Any, e0: Any, rate: float, tol: float = TOLERANCE) -> int:
    """The first epoch ``t`` with ``||(I - rate H)^t e0|| <= tol ||e0||``, from ``H``'s eigenpairs.

    Writes ``e0 = sum_i c_i v_i`` so that ``||e_t||^2 = sum_i c_i^2 (1 - rate lambda_i)^(2 t)``,
    then scans ``t`` up to the bound of :func:`bound_epochs`.

    Examples
    --------
    >>> predicted_epochs(np.diag([1.0, 3.0]), [1.0, 0.0], 0.5, tol=0.25)   # 0.5^2 = 0.25
    2
    """
    eigenvalues, vectors = np.linalg.eigh(np.asarray(hessian, dtype=float))
    coefficients = vectors.T @ np.asarray(e0, dtype=float)
    factors = np.abs(1.0 - rate * eigenvalues)
    horizon = int(bound_epochs(float(factors.max()), tol)) + 1
    t = np.arange(horizon + 1)[:, None]
    squared = np.sum(coefficients**2 * factors ** (2.0 * t), axis=1)
    return int(np.argmax(squared <= (tol**2) * float(coefficients @ coefficients)))


@dataclass
class Problem:
    """One form of the data and what its Hessian says and gradient descent did on it."""

    name: str
    X: Array
    hessian: Array
    eigenvalues: Array
    exact: Array
    path: Array = field(default_factory=lambda: np.empty((0, 0)))  # empty: not run
    distance: Array = field(default_factory=lambda: np.empty(0))
    predicted: int = 0
    measured: int = 0

    @property
    def kappa(self) -> float:
        return float(self.eigenvalues[-1] / self.eigenvalues[0])

    @property
    def bound_2_over_l(self) -> float:
        return float(2.0 / self.eigenvalues[-1])

    @property
    def rate(self) -> float:
        return best_rate(self.eigenvalues)

    @property
    def q(self) -> float:
        return contraction(self.eigenvalues)


def _problem(name: str, X: Array, y: Array) -> Problem:
    hessian = mse_hessian(X)
    exact = least_squares(X, y)
    eigenvalues = np.asarray(np.linalg.eigvalsh(hessian), dtype=np.float64)
    return Problem(name, X, hessian, eigenvalues, np.r_[exact.coef, exact.intercept])


def _descend(problem: Problem, y: Array) -> Problem:
    """Full-batch gradient descent from zero at the best rate, until 1e-6 of the start distance."""
    start = np.zeros(problem.X.shape[1] + 1)
    problem.predicted = predicted_epochs(problem.hessian, start - problem.exact, problem.rate)
    model = full_batch_gd(
        learning_rate=problem.rate, max_iter=problem.predicted + 3, record_params=True
    )
    model.fit(problem.X, y, coef_init=start[:-1], intercept_init=start[-1])
    problem.path = model.history_.param_path()
    distance = np.linalg.norm(problem.path - problem.exact, axis=1)
    problem.distance = distance / distance[0]
    outside = np.flatnonzero(problem.distance > TOLERANCE)
    problem.measured = int(outside[-1] + 1) if outside.size else 0
    return problem


def run(seed: int = 42, fast: bool = False) -> Experiment:
    """Eigenvalues, best rates and measured epochs of the raw, centred and standardized data."""
    X, y = scaling_data(seed)
    mean, spread = X.mean(axis=0), X.std(axis=0)
    raw = _problem("raw (as given)", X, y)
    centred = _descend(_problem("centred only", X - mean, y), y)
    scaled = _descend(_problem("standardized", (X - mean) / spread, y), y)
    curvature = Table(
        "The curvature of each form of the data (eigenvalues of H = 2 A^T A / n, A = [X, 1])",
        ["features", "lambda_min", "lambda_max", "kappa", "2/L", "best rate"],
        note=(
            "Stable below 2/L; the best fixed rate is 2 / (lambda_min + lambda_max). With a "
            "large kappa the two are almost equal: the steep direction sets the rate."
        ),
    )
    epochs = Table(
        f"Epochs to reach the exact minimum to {TOLERANCE:g}, each at its best rate",
        ["features", "factor per epoch", "bound", "predicted", "measured"],
        note=(
            "Every run starts from w = 0, b = 0 and counts the epochs until its distance to the "
            f"exact least-squares minimum stays below {TOLERANCE:g} of the start distance. "
            "Factor: (kappa - 1) / (kappa + 1). Bound: ceil(ln(1e-6) / ln(factor)). Predicted: "
            "the start error expanded on H's eigenvectors, each part shrinking by its own "
            "|1 - rate * lambda|. The raw data are not run: the bound is beyond any budget."
        ),
    )
    for p in (raw, centred, scaled):
        ran = p.path.size > 0
        curvature.add(
            p.name,
            f"{p.eigenvalues[0]:.4g}",
            f"{p.eigenvalues[-1]:.4g}",
            f"{p.kappa:.4g}",
            f"{p.bound_2_over_l:.4g}",
            f"{p.rate:.4g}",
        )
        epochs.add(
            p.name,
            f"{p.q:.10f}" if p.q > 0.9999 else f"{p.q:.4f}",
            fmt(bound_epochs(p.q), 0),
            p.predicted if ran else "-",
            p.measured if ran else "not run",
        )
    numbers = {
        "spread_ratio": float(spread[0] / spread[1]),
        "raw_kappa": raw.kappa,
        "raw_bound_epochs": bound_epochs(raw.q),
    }
    for key, p in (("centred", centred), ("standardized", scaled)):
        numbers |= {
            f"{key}_kappa": p.kappa,
            f"{key}_lambda_min": float(p.eigenvalues[0]),
            f"{key}_lambda_max": float(p.eigenvalues[-1]),
            f"{key}_bound_2_over_L": p.bound_2_over_l,
            f"{key}_rate": p.rate,
            f"{key}_q": p.q,
            f"{key}_bound_epochs": bound_epochs(p.q),
            f"{key}_predicted_epochs": float(p.predicted),
            f"{key}_epochs": float(p.measured),
        }
    numbers["epoch_ratio"] = centred.measured / max(scaled.measured, 1)
    return Experiment(
        key="11_feature_scaling",
        title="Why scale features: an elongated valley and a zig-zag",
        source="Lesson 000: feature scaling; lesson 003: normalize features",
        explanation=_explanation(numbers, spread),
        tables=[curvature, epochs],
        numbers=numbers,
        data={"y": y, "spread": spread, "centred": centred, "scaled": scaled},
        draw=draw,
    )


def _explanation(numbers: dict[str, float], spread: Array) -> list[str]:
    return [
        "Two hundred rows with one feature around 2000 and another around 1, and a target that "
        "depends on both. Nothing about the model changes when a feature is measured in other "
        "units; what changes is the shape of the loss as gradient descent sees it, because it "
        "takes one step of the same size in every parameter.",
        "For squared error that shape is exact: the loss is a bowl whose curvatures are the "
        "eigenvalues of the Hessian H = 2 A^T A / n. A step of rate eta multiplies the error "
        "along each eigenvector by 1 - eta * lambda. The steepest direction caps the rate "
        "(stable only below 2/L, L the largest eigenvalue), and the flattest direction then "
        "moves by a factor close to 1. The best a single fixed rate can do is to balance the two "
        "extremes, 1 - eta * lambda_min = eta * lambda_max - 1, which gives eta = 2 / "
        "(lambda_min + lambda_max) and an error that shrinks by (kappa - 1) / (kappa + 1) per "
        "epoch, where kappa = lambda_max / lambda_min is the condition number.",
        f"On the data as given the intercept and the weight of the feature near 2000 are tied "
        f"together (a tiny change of that weight moves every prediction by about 2000), and "
        f"kappa is about {numbers['raw_kappa']:.1e}: even at its best rate gradient descent would "
        f"need some {numbers['raw_bound_epochs']:.1e} epochs. Centring removes that tie. The "
        f"spreads still differ by a factor {numbers['spread_ratio']:.0f}, so the curvatures "
        f"differ by its square: kappa = {numbers['centred_kappa']:.0f}, a long narrow valley, "
        f"and {numbers['centred_epochs']:.0f} epochs. Dividing by the spreads makes the bowl "
        f"almost round (kappa = {numbers['standardized_kappa']:.2f}) and the same accuracy "
        f"takes {numbers['standardized_epochs']:.0f} epochs, {numbers['epoch_ratio']:.0f} times "
        "fewer.",
        "The figure shows why. At its best rate the unscaled run crosses the narrow valley from "
        "wall to wall at every step, because that rate is almost twice what the steep direction "
        "can take without bouncing, while it creeps along the floor. The standardized run walks "
        "straight down. In standardized units (bottom left) both runs are on the same bowl: "
        "scaling did not change the problem, it changed the steps gradient descent takes on it.",
    ]


def _slice(X: Array, y: Array, intercept: float) -> Any:
    """The MSE over the two weights (grids of shape (2, H, W)) with the intercept held fixed."""

    def loss(p: Array) -> Array:
        predictions = np.tensordot(X, np.asarray(p), axes=(1, 0)) + intercept
        return np.asarray(
            np.mean((y.reshape((-1,) + (1,) * (predictions.ndim - 1)) - predictions) ** 2, axis=0)
        )

    return loss


def _window(points: Array, exact: Array, pad: float = 0.15) -> tuple[Any, Any]:
    both = np.vstack([points[:, :2], exact[None, :2]])
    low, high = both.min(axis=0), both.max(axis=0)
    margin = pad * (high - low)
    return (low[0] - margin[0], high[0] + margin[0]), (low[1] - margin[1], high[1] + margin[1])


def _square(points: Array, exact: Array, pad: float = 0.1) -> tuple[Any, Any]:
    """A square window around ``points`` and the minimum (for equal axis scales)."""
    xlim, ylim = _window(points, exact, pad)
    half = max(xlim[1] - xlim[0], ylim[1] - ylim[0]) / 2
    centre = ((xlim[0] + xlim[1]) / 2, (ylim[0] + ylim[1]) / 2)
    return (centre[0] - half, centre[0] + half), (centre[1] - half, centre[1] + half)


def _thin(line: Any) -> None:
    """A path of thousands of valley crossings: thin, translucent lines that show its envelope."""
    line.set(linewidth=0.4, alpha=0.45, marker="")


def _zoom(ax: Any, loss: Any, path: Array, xlim: Any, steps: int = ZOOM_STEPS) -> None:
    """An inset with the first ``steps`` epochs, stretched along w2 so each crossing shows."""
    from gdlab import viz

    inset = ax.inset_axes((0.1, 0.5, 0.4, 0.3))
    first = path[: steps + 1]
    top = first[:, 1].max()
    viz.plot_landscape(
        loss,
        inset,
        xlim=xlim,
        ylim=(first[:, 1].min() - 0.1 * top, 1.1 * top),
        paths={"first epochs": first},
        minima=(),
        levels=15,
        log_scale=True,
        title=f"the first {steps} epochs, w2 stretched",
        xlabel="",
        ylabel="",
    )
    inset.get_legend().remove()
    inset.title.set_fontsize(9)
    inset.tick_params(labelsize=7)


def draw(experiment: Experiment) -> object:
    """Raw valley, standardized bowl, both paths in standardized units, distance per epoch."""
    from gdlab import viz

    data = experiment.data
    y, spread = data["y"], data["spread"]
    centred, scaled = data["centred"], data["scaled"]
    figure, axes = new_figure(2, 2, (15, 12.5))
    raw_path = centred.path[:, :2]
    raw_in_units = raw_path * spread  # w -> standardized units: u = w * spread
    raw_label = f"GD at its best rate {centred.rate:.4g}: {centred.measured} epochs"
    xlim, ylim = _window(raw_path, centred.exact)
    art = viz.plot_landscape(
        _slice(centred.X, y, centred.exact[-1]),
        axes[0, 0],
        xlim=xlim,
        ylim=ylim,
        paths={raw_label: raw_path},
        minima=[centred.exact[:2]],
        levels=25,
        log_scale=True,
        title=f"Centred, not scaled (kappa = {centred.kappa:.0f}), in its own units",
        xlabel="w1 (weight of the feature around 2000)",
        ylabel="w2 (weight of the feature around 1)",
    )
    _thin(art["paths"][raw_label])
    _zoom(axes[0, 0], _slice(centred.X, y, centred.exact[-1]), raw_path, xlim)
    panels = (
        (axes[0, 1], f"Standardized (kappa = {scaled.kappa:.2f})", {"standardized": scaled.path}),
        (
            axes[1, 0],
            "Both runs on the same axes, in standardized units",
            {"centred only": raw_in_units, "standardized": scaled.path[:, :2]},
        ),
    )
    for ax, title, paths in panels:
        points = np.vstack([path[:, :2] for path in paths.values()])
        xlim, ylim = _square(points, scaled.exact)
        art = viz.plot_landscape(
            _slice(scaled.X, y, scaled.exact[-1]),
            ax,
            xlim=xlim,
            ylim=ylim,
            paths={label: path[:, :2] for label, path in paths.items()},
            minima=[scaled.exact[:2]],
            levels=25,
            log_scale=True,
            title=title,
            xlabel="w1 x spread1 (standardized units)",
            ylabel="w2 x spread2 (standardized units)",
        )
        ax.set_aspect("equal")
        if "centred only" in art["paths"]:
            _thin(art["paths"]["centred only"])
    _draw_distances(axes[1, 1], centred, scaled)
    figure.suptitle(
        "Feature scaling: the same least-squares problem, before and after standardizing",
        fontsize=15,
    )
    return figure


def _draw_distances(ax: Any, centred: Problem, scaled: Problem) -> None:
    """The relative distance to the minimum per epoch, each run with its rate bound q^t."""
    from gdlab import viz

    for i, (p, name) in enumerate(((centred, "centred only"), (scaled, "standardized"))):
        epochs = np.arange(p.distance.size)
        color = viz.style.series_color(i)
        ax.semilogy(epochs, p.distance, color=color, linewidth=2, label=f"{name}: measured")
        ax.semilogy(
            epochs,
            p.q ** epochs.astype(float),
            color=color,
            linestyle="--",
            label=f"{name}: bound ((kappa-1)/(kappa+1))^t",
        )
    ax.axhline(TOLERANCE, color="black", linewidth=1, linestyle=":", label="1e-6 of the start")
    ax.set_xscale("symlog", linthresh=10)
    ax.set_xlim(0, centred.distance.size)
    ax.set_ylim(1e-8, 2.0)
    viz.style.finish_axes(
        ax,
        title="Distance to the exact minimum / start distance",
        xlabel="epoch (linear to 10, then log)",
        ylabel="relative distance",
        legend=True,
        legend_kw={"fontsize": 9},
    )
