"""Two-dimensional test functions with analytic gradients, for the optimizer experiments.

Each :class:`TestFunction` carries its value, gradient, known minima, a default start and a plotting
window, so that the lab and the tests can draw and check optimizer paths.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

Array = NDArray[np.float64]

__all__ = ["TEST_FUNCTIONS", "TestFunction", "get"]


@dataclass(frozen=True)
class TestFunction:
    """A function of ``x = (x0, x1)`` (also evaluated on grids: ``x`` of shape ``(2, ...)``).

    Attributes
    ----------
    name, description : str
    fun, grad : callable
        The value (shape ``x.shape[1:]``) and the analytic gradient (shape ``x.shape``).
    minima : tuple of points
        The known (global or listed local) minimisers, to full double precision.
    start : point
        A default starting point for the optimizer experiments.
    xlim, ylim : pairs
        A plotting window that shows the minima and the start.
    min_value : float
        The value of ``fun`` at the listed minima.

    Examples
    --------
    >>> import numpy as np
    >>> bowl = get("quadratic")
    >>> grid = np.stack(np.meshgrid(np.linspace(-1, 1, 3), np.linspace(-1, 1, 4)))
    >>> bowl(grid).shape, bowl.gradient(grid).shape
    ((4, 3), (2, 4, 3))
    """

    __test__ = False  # not a pytest test class

    name: str
    fun: Callable[[Array], Any]
    grad: Callable[[Array], Array]
    minima: tuple[tuple[float, float], ...]
    start: tuple[float, float]
    xlim: tuple[float, float]
    ylim: tuple[float, float]
    description: str
    min_value: float = 0.0

    def __call__(self, x: Array) -> Any:
        return self.fun(np.asarray(x, dtype=float))

    def gradient(self, x: Array) -> Array:
        """The analytic gradient at ``x`` (a point or a grid of shape ``(2, ...)``)."""
        return self.grad(np.asarray(x, dtype=float))


def _bowl(x: Array) -> Any:
    return 0.5 * (x[0] ** 2 + 10.0 * x[1] ** 2)


def _bowl_grad(x: Array) -> Array:
    return np.array([x[0], 10.0 * x[1]])


def _rosenbrock(x: Array) -> Any:
    return (1.0 - x[0]) ** 2 + 100.0 * (x[1] - x[0] ** 2) ** 2


def _rosenbrock_grad(x: Array) -> Array:
    return np.array(
        [-2.0 * (1.0 - x[0]) - 400.0 * x[0] * (x[1] - x[0] ** 2), 200.0 * (x[1] - x[0] ** 2)]
    )


def _himmelblau(x: Array) -> Any:
    return (x[0] ** 2 + x[1] - 11.0) ** 2 + (x[0] + x[1] ** 2 - 7.0) ** 2


def _himmelblau_grad(x: Array) -> Array:
    a = x[0] ** 2 + x[1] - 11.0
    b = x[0] + x[1] ** 2 - 7.0
    return np.array([4.0 * x[0] * a + 2.0 * b, 2.0 * a + 4.0 * x[1] * b])


def _saddle(x: Array) -> Any:
    return x[0] ** 2 - x[1] ** 2 + 0.25 * x[1] ** 4


def _saddle_grad(x: Array) -> Array:
    return np.array([2.0 * x[0], -2.0 * x[1] + x[1] ** 3])


def _wavy_bowl(x: Array) -> Any:
    return 0.1 * (x[0] ** 2 + x[1] ** 2) - np.cos(2.0 * x[0]) - np.cos(2.0 * x[1]) + 2.0


def _wavy_bowl_grad(x: Array) -> Array:
    return np.array([0.2 * x[0] + 2.0 * np.sin(2.0 * x[0]), 0.2 * x[1] + 2.0 * np.sin(2.0 * x[1])])


def _quartic(x: Array) -> Any:
    return 0.25 * (x[0] ** 4 + x[1] ** 4)


def _quartic_grad(x: Array) -> Array:
    return np.array([x[0] ** 3, x[1] ** 3])


TEST_FUNCTIONS: dict[str, TestFunction] = {
    f.name: f
    for f in [
        TestFunction(
            "quadratic",
            _bowl,
            _bowl_grad,
            ((0.0, 0.0),),
            (-4.0, 1.5),
            (-5, 5),
            (-2, 2),
            "An elongated quadratic bowl 0.5 (x^2 + 10 y^2): curvature 10 times larger along y.",
        ),
        TestFunction(
            "rosenbrock",
            _rosenbrock,
            _rosenbrock_grad,
            ((1.0, 1.0),),
            (-1.5, 2.0),
            (-2, 2),
            (-1, 3),
            "Rosenbrock's narrow curved valley (1 - x)^2 + 100 (y - x^2)^2; minimum at (1, 1).",
        ),
        TestFunction(
            "himmelblau",
            _himmelblau,
            _himmelblau_grad,
            (
                (3.0, 2.0),
                (-2.805118086952745, 3.131312518250573),
                (-3.779310253377747, -3.2831859912861696),
                (3.5844283403304917, -1.8481265269644034),
            ),
            (0.0, 0.0),
            (-5, 5),
            (-5, 5),
            "Himmelblau's function: four minima of equal value 0.",
        ),
        TestFunction(
            "saddle",
            _saddle,
            _saddle_grad,
            ((0.0, 1.4142135623730951), (0.0, -1.4142135623730951)),
            (-1.5, 1e-3),
            (-2, 2),
            (-2, 2),
            "x^2 - y^2 + y^4/4: a saddle point at the origin, minima at (0, +-sqrt(2)) of "
            "value -1.",
            -1.0,
        ),
        TestFunction(
            "wavy_bowl",
            _wavy_bowl,
            _wavy_bowl_grad,
            ((0.0, 0.0),),
            (2.6, -2.9),
            (-5, 5),
            (-5, 5),
            "A bowl with ripples, (x^2 + y^2)/10 - cos 2x - cos 2y + 2: many local minima, the "
            "global one at the origin.",
        ),
        TestFunction(
            "quartic",
            _quartic,
            _quartic_grad,
            ((0.0, 0.0),),
            (4.0, -3.0),
            (-5, 5),
            (-5, 5),
            "(x^4 + y^4)/4: the gradient grows with the cube of the distance, so large steps "
            "explode unless clipped.",
        ),
    ]
}


def get(name: str) -> TestFunction:
    """A test function by name.

    Examples
    --------
    >>> float(get("rosenbrock")(np.array([1.0, 1.0])))
    0.0
    """
    try:
        return TEST_FUNCTIONS[name]
    except KeyError:
        known = ", ".join(sorted(TEST_FUNCTIONS))
        raise ValueError(f"Unknown test function {name!r}; choose one of: {known}.") from None
