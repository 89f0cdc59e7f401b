"""The playground's surfaces: a loss over two parameters, the objective the engine minimises on
it, its plotting window, starting points, learning-rate grid and stability limit ``2 / L``.

A :class:`Surface` is data plus two functions: ``objective()`` builds what
:func:`gdlab.engine.train` minimises (a :class:`~gdlab._objectives.FunctionObjective` for the
test functions of :mod:`gdlab.testfunctions`, a :class:`~gdlab._objectives.LinearObjective` for
regression), and ``value(points)`` evaluates the same loss on a grid of shape ``(2, ...)`` for
the contours and the loss chart. ``2 / L`` comes from the largest eigenvalue ``L`` of the
Hessian: exact for the quadratics (the Gram matrix of the data for regression), at the global
minimum for the others.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from gdlab import losses, testfunctions
from gdlab._objectives import FunctionObjective, LinearObjective

Array = NDArray[np.float64]
Point = tuple[float, float]

__all__ = [
    "CONDITION_NUMBERS",
    "SURFACE_NAMES",
    "Surface",
    "from_data",
    "get_surface",
    "hessian",
    "learning_rate_grid",
]

#: The surfaces of the playground, in the order of its menu.
SURFACE_NAMES = ("regression", "quadratic", "rosenbrock", "saddle", "local_minima")
#: The condition numbers the page's file holds for the ill-conditioned quadratic.
CONDITION_NUMBERS = (10.0, 100.0)
#: Random restarts shown on the surface with several local minima.
N_RESTARTS = 4


@dataclass(frozen=True)
class Surface:
    """A loss over two parameters and everything the playground needs to draw and run it.

    Attributes
    ----------
    name, title, description : str
    axes : pair of str
        The names of the two parameters (``("w", "b")`` for the line).
    xlim, ylim : pairs of float
        The plotting window.
    starts : tuple of points
        Starting points held in the page's file; the first is the default.
    minima : tuple of points
        The known minimisers (drawn as stars).
    learning_rates : tuple of float
        The log-spaced learning rates held in the page's file (the slider's stops).
    default_learning_rate, adaptive_learning_rate : float
        The starting learning rate for plain and momentum methods, and for the adaptive ones
        (Adagrad, RMSprop, Adam), whose steps are about ``learning_rate`` long whatever the slope.
    two_over_l : float or None
        ``2 / L`` with ``L`` the largest Hessian eigenvalue (see ``two_over_l_where``).
    two_over_l_where : str
        Where ``L`` is taken: ``"everywhere"`` for a quadratic, else ``"at the minimum ..."``.
    n_samples : int
        Rows of data (1 for a function: every step is then full batch).
    restarts : tuple of points
        Random starting points (seeded) for the restarts view; empty where not offered.
    settings : dict
        The surface's own settings (``condition`` for the quadratic).
    """

    name: str
    title: str
    description: str
    axes: tuple[str, str]
    xlim: Point
    ylim: Point
    starts: tuple[Point, ...]
    minima: tuple[Point, ...]
    learning_rates: tuple[float, ...]
    default_learning_rate: float
    adaptive_learning_rate: float
    two_over_l: float | None
    two_over_l_where: str
    objective: Callable[[], Any] = field(repr=False, compare=False)
    value: Callable[[Array], Any] = field(repr=False, compare=False)
    n_samples: int = 1
    restarts: tuple[Point, ...] = ()
    settings: dict[str, Any] = field(default_factory=dict)


def learning_rate_grid(low: float, high: float, per_decade: int = 3) -> tuple[float, ...]:
    """Log-spaced learning rates from ``low`` to ``high``, about ``per_decade`` per decade.

    Examples
    --------
    >>> [round(r, 4) for r in learning_rate_grid(0.01, 1.0, 2)]
    [0.01, 0.0316, 0.1, 0.3162, 1.0]
    """
    lo, hi = np.log10(low), np.log10(high)
    count = round((hi - lo) * per_decade) + 1
    return tuple(float(v) for v in np.logspace(lo, hi, count))


def _snap(rate: float, per_decade: int = 3) -> float:
    """The nearest rate of the form ``10 ** (k / per_decade)`` (a stop of the page's slider)."""
    return float(10 ** (np.round(np.log10(rate) * per_decade) / per_decade))


def hessian(grad: Callable[[Array], Array], point: Sequence[float]) -> Array:
    """The Hessian at ``point`` by central differences of the analytic gradient (symmetrised).

    ``H[:, i] ~ (grad(x + h e_i) - grad(x - h e_i)) / (2 h)``, ``h = 1e-5 * max(1, |x_i|)``.

    Examples
    --------
    >>> hessian(lambda x: np.array([2 * x[0], 8 * x[1]]), [1.0, 2.0]).round(6)
    array([[2., 0.],
           [0., 8.]])
    """
    x = np.asarray(point, dtype=float)
    columns = []
    for i in range(x.size):
        h = 1e-5 * max(1.0, abs(x[i]))
        step = np.zeros_like(x)
        step[i] = h
        columns.append((np.asarray(grad(x + step)) - np.asarray(grad(x - step))) / (2 * h))
    matrix = np.stack(columns, axis=1)
    return np.asarray(0.5 * (matrix + matrix.T))


def _two_over_l(matrix: Array) -> float:
    return float(2.0 / np.linalg.eigvalsh(matrix)[-1])


def _function_surface(
    name: str,
    title: str,
    rates: tuple[float, float, float, float],
    starts: tuple[Point, ...],
    restarts: tuple[Point, ...] = (),
    function_name: str | None = None,
) -> Surface:
    function = testfunctions.get(function_name or name)
    low, high, default, adaptive = rates
    minimum = function.minima[0]
    return Surface(
        name=name,
        title=title,
        description=function.description,
        axes=("x", "y"),
        xlim=(float(function.xlim[0]), float(function.xlim[1])),
        ylim=(float(function.ylim[0]), float(function.ylim[1])),
        starts=starts,
        minima=function.minima,
        learning_rates=learning_rate_grid(low, high),
        default_learning_rate=default,
        adaptive_learning_rate=adaptive,
        two_over_l=_two_over_l(hessian(function.gradient, minimum)),
        two_over_l_where=f"at the minimum ({minimum[0]:.3g}, {minimum[1]:.3g})",
        objective=lambda: FunctionObjective(function, function.gradient),
        value=function,
        restarts=restarts,
    )


def _quadratic(condition: float) -> Surface:
    """``0.5 (x^2 + condition * y^2)``: Hessian ``diag(1, condition)``."""
    kappa = float(condition)
    if not np.isfinite(kappa) or kappa < 1:
        raise ValueError(
            f"The 'condition' parameter of the quadratic surface must be a float >= 1. "
            f"Got {condition!r} instead."
        )

    def value(x: Array) -> Any:
        x = np.asarray(x, dtype=float)
        return 0.5 * (x[0] ** 2 + kappa * x[1] ** 2)

    def grad(x: Array) -> Array:
        x = np.asarray(x, dtype=float)
        return np.array([x[0], kappa * x[1]])

    return Surface(
        name="quadratic",
        title=f"Ill-conditioned quadratic (condition number {kappa:g})",
        description=(
            f"0.5 (x^2 + {kappa:g} y^2): curvature {kappa:g} times larger along y than along x. "
            f"Plain descent must keep its step below 2/L = 2/{kappa:g} for the steep direction "
            "and then crawls along the shallow one."
        ),
        axes=("x", "y"),
        xlim=(-5.0, 5.0),
        ylim=(-2.5, 2.5),
        starts=((-4.0, 1.5), (4.0, -2.0), (-2.0, -2.2)),
        minima=((0.0, 0.0),),
        learning_rates=learning_rate_grid(1e-3, 1.0),
        default_learning_rate=0.1 if kappa <= 10 else 0.01,
        adaptive_learning_rate=0.1,
        two_over_l=_two_over_l(np.diag([1.0, kappa])),
        two_over_l_where="everywhere: a quadratic has one curvature",
        objective=lambda: FunctionObjective(value, grad),
        value=value,
        settings={"condition": kappa},
    )


def _linear_surface(
    X: Array,
    y: Array,
    *,
    name: str,
    title: str,
    description: str,
    axes: tuple[str, str],
    window: tuple[Point, Point],
    starts: tuple[Point, ...],
    rates: tuple[float, float, float, float],
) -> Surface:
    """Mean squared error of ``y ~ X @ theta`` over the two coefficients ``theta`` (no intercept
    fitted: a column of ones in ``X`` plays the intercept)."""
    objective = LinearObjective(
        X, y, losses.get("squared_error"), losses.get_penalty(None, 0.0, 0.0), fit_intercept=False
    )
    gram = X.T @ X / X.shape[0]
    cross = X.T @ y / X.shape[0]
    mean_square = float(np.mean(y * y))
    optimum = np.linalg.lstsq(X, y, rcond=None)[0]

    def value(points: Array) -> Any:
        # mean((y - X theta)^2) = theta' G theta - 2 theta' c + mean(y^2), for every grid point
        p = np.asarray(points, dtype=float)
        quadratic = np.einsum("i...,ij,j...->...", p, gram, p)
        return quadratic - 2.0 * np.einsum("i...,i->...", p, cross) + mean_square

    low, high, default, adaptive = rates
    return Surface(
        name=name,
        title=title,
        description=description,
        axes=axes,
        xlim=window[0],
        ylim=window[1],
        starts=starts,
        minima=((float(optimum[0]), float(optimum[1])),),
        learning_rates=learning_rate_grid(low, high),
        default_learning_rate=default,
        adaptive_learning_rate=adaptive,
        two_over_l=_two_over_l(2.0 * gram),
        two_over_l_where="everywhere, for full-batch steps: the mean squared error is quadratic",
        objective=lambda: objective,
        value=value,
        n_samples=int(X.shape[0]),
    )


def _regression(seed: int = 42) -> Surface:
    from gdlab.lab.lesson_data import line_data

    data = line_data(seed, 100)
    design = np.column_stack([data.x, np.ones_like(data.x)])
    return _linear_surface(
        design,
        data.y,
        name="regression",
        title="The lessons' straight line: mean squared error over (w, b)",
        description=(
            "The lesson's 100 points around y = 3x + 7, x in [0, 10]. The loss is a long narrow "
            "valley: w multiplies x (up to 10), b multiplies 1, so the curvature along w is about "
            "100 times that along b."
        ),
        axes=("w", "b"),
        window=((-1.0, 7.0), (-4.0, 14.0)),
        starts=((0.0, 0.0), (6.0, -3.0), (-0.5, 12.0)),
        rates=(1e-3, 1.0, 0.01, 0.1),
    )


def get_surface(name: str, *, condition: float = 10.0) -> Surface:
    """A playground surface by name.

    Parameters
    ----------
    name : {"regression", "quadratic", "rosenbrock", "saddle", "local_minima"}
    condition : float, default 10
        The condition number of the quadratic (ignored by the others).

    Examples
    --------
    >>> s = get_surface("quadratic", condition=100)
    >>> s.two_over_l   # 2 / L with L = 100, the largest curvature
    0.02
    """
    if name == "regression":
        return _regression()
    if name == "quadratic":
        return _quadratic(condition)
    if name == "rosenbrock":
        return _function_surface(
            "rosenbrock",
            "Rosenbrock's valley",
            (1e-4, 1e-1, 1e-3, _snap(0.05)),
            ((-1.5, 2.0), (1.5, -0.5), (-0.5, -0.5)),
        )
    if name == "saddle":
        return _function_surface(
            "saddle", "A saddle", (1e-3, 1.0, 0.1, 0.1), ((-1.5, 1e-3), (-1.5, 0.3), (1.8, -0.05))
        )
    if name == "local_minima":
        restarts = np.random.RandomState(0).uniform(-4.5, 4.5, size=(N_RESTARTS, 2))
        return _function_surface(
            "local_minima",
            "Several local minima",
            (1e-3, 1.0, 0.1, 0.1),
            ((2.6, -2.9), (-4.0, 4.0), (0.9, 3.8)),
            tuple((float(a), float(b)) for a, b in restarts),
            function_name="wavy_bowl",
        )
    known = ", ".join(SURFACE_NAMES)
    raise ValueError(f"Unknown surface {name!r}; choose one of: {known}.")


def from_data(
    X: Array,
    y: Array,
    names: Sequence[str],
    coefficients: Sequence[str] | None = None,
) -> Surface:
    """The mean squared error of a linear model on ``(X, y)`` over two of its coefficients.

    The model is ``y ~ X @ w + b``; the two chosen coefficients (feature names or
    ``"intercept"``) vary, and all others are held at their least-squares optimum. The loss over
    the two is then the mean squared error of ``y - (held part)`` on the two chosen columns, so
    the optimizers run on the real data, mini-batches included.

    Parameters
    ----------
    X : array of shape (n_samples, n_features)
    y : array of shape (n_samples,)
    names : sequence of str
        The feature names, one per column of ``X``.
    coefficients : pair of str, optional
        Which two coefficients vary (default: the first feature and the intercept).

    Examples
    --------
    >>> rng = np.random.RandomState(0)
    >>> X = rng.randn(50, 2); y = X @ [2.0, -1.0] + 3.0
    >>> s = from_data(X, y, ["a", "b"], ["a", "intercept"])
    >>> np.round(s.minima[0], 6).tolist(), s.axes
    ([2.0, 3.0], ('a', 'intercept'))
    """
    X = np.asarray(X, dtype=float)
    y = np.asarray(y, dtype=float)
    names = [str(n) for n in names]
    columns = [*names, "intercept"]
    chosen = list(coefficients) if coefficients is not None else [names[0], "intercept"]
    if len(chosen) != 2 or chosen[0] == chosen[1]:
        raise ValueError(
            f"The 'coefficients' parameter of from_data must name two different coefficients. "
            f"Got {chosen!r} instead."
        )
    for coefficient in chosen:
        if coefficient not in columns:
            raise ValueError(
                f"Unknown coefficient {coefficient!r}; choose two of: {', '.join(columns)}."
            )
    design = np.column_stack([X, np.ones(X.shape[0])])
    optimum = np.linalg.lstsq(design, y, rcond=None)[0]
    picked = [columns.index(c) for c in chosen]
    held = [j for j in range(design.shape[1]) if j not in picked]
    target = y - design[:, held] @ optimum[held]
    centre = optimum[picked]
    half = np.maximum(1.0, 2.0 * np.abs(centre))
    window = tuple((float(c - h), float(c + h)) for c, h in zip(centre, half, strict=True))
    start = (float(centre[0] - 0.8 * half[0]), float(centre[1] - 0.8 * half[1]))
    two_over_l = _two_over_l(2.0 * design[:, picked].T @ design[:, picked] / X.shape[0])
    # adaptive steps are about learning_rate long in each coordinate: 1% of the window
    adaptive = _snap(0.01 * float(np.max(half)))
    return _linear_surface(
        design[:, picked],
        target,
        name="data",
        title=f"Your data: mean squared error over ({chosen[0]}, {chosen[1]})",
        description=(
            f"{X.shape[0]} rows, {len(names)} features; the other coefficients are held at "
            "their least-squares optimum."
        ),
        axes=(chosen[0], chosen[1]),
        window=(window[0], window[1]),
        starts=(start,),
        rates=(
            10 ** np.floor(np.log10(two_over_l) - 2),
            10 ** np.ceil(max(np.log10(two_over_l) + 1, np.log10(adaptive) + 1)),
            _snap(0.5 * two_over_l),
            adaptive,
        ),
    )
