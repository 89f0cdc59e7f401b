"""The two-dimensional test functions: analytic gradients against finite differences, the listed
minima (zero gradient, stated value, positive curvature), and evaluation on plotting grids."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from gdlab.testfunctions import TEST_FUNCTIONS, TestFunction, get

NAMES = sorted(TEST_FUNCTIONS)


def fd_gradient(fun, x, h=1e-6):
    return np.array([(fun(x + h * e) - fun(x - h * e)) / (2 * h) for e in np.eye(2)])


def fd_hessian(grad, x, h=1e-5):
    columns = [(grad(x + h * e) - grad(x - h * e)) / (2 * h) for e in np.eye(2)]
    hessian = np.column_stack(columns)
    return (hessian + hessian.T) / 2


def test_the_lab_has_the_functions_the_issue_asks_for():
    assert set(NAMES) >= {"quadratic", "rosenbrock", "himmelblau", "saddle", "wavy_bowl"}
    for name in NAMES:
        assert get(name) is TEST_FUNCTIONS[name]
        assert get(name).name == name


@pytest.mark.parametrize("name", NAMES)
def test_analytic_gradient_matches_finite_differences(name):
    function = get(name)

    @given(
        st.floats(*function.xlim, allow_nan=False),
        st.floats(*function.ylim, allow_nan=False),
    )
    def check(x0, x1):
        x = np.array([x0, x1])
        numeric = fd_gradient(function, x)
        analytic = function.grad(x)
        assert analytic.shape == (2,)
        np.testing.assert_allclose(analytic, numeric, rtol=1e-6, atol=1e-5)

    check()


@pytest.mark.parametrize("name", NAMES)
def test_listed_minima_have_zero_gradient_the_stated_value_and_positive_curvature(name):
    function = get(name)
    for point in function.minima:
        x = np.array(point)
        assert float(function(x)) == pytest.approx(function.min_value, abs=1e-12)
        np.testing.assert_allclose(function.grad(x), 0.0, atol=1e-12)
        assert np.linalg.eigvalsh(fd_hessian(function.grad, x)).min() > 0


@pytest.mark.parametrize("name", NAMES)
def test_no_point_of_the_window_is_below_the_listed_minimum(name):
    function = get(name)
    xs = np.linspace(*function.xlim, 301)
    ys = np.linspace(*function.ylim, 301)
    grid = np.stack(np.meshgrid(xs, ys))
    assert function(grid).min() >= function.min_value - 1e-12


def test_known_values_from_the_textbook_definitions():
    # Rosenbrock (1960): f(0, 0) = 1, f(-1, 1) = 4; Himmelblau (1972): f(0, 0) = 121 + 49
    assert float(get("rosenbrock")([0.0, 0.0])) == 1.0
    assert float(get("rosenbrock")([-1.0, 1.0])) == 4.0
    assert float(get("himmelblau")([0.0, 0.0])) == 170.0
    assert float(get("quadratic")([2.0, 1.0])) == 0.5 * (4.0 + 10.0)
    assert float(get("quartic")([2.0, -1.0])) == 0.25 * (16.0 + 1.0)
    # the saddle: zero gradient at the origin, curvature +2 along x and -2 along y
    saddle = get("saddle")
    np.testing.assert_array_equal(saddle.grad(np.zeros(2)), [0.0, 0.0])
    np.testing.assert_allclose(
        fd_hessian(saddle.grad, np.zeros(2)), np.diag([2.0, -2.0]), atol=1e-8
    )
    assert saddle.min_value == -1.0


def test_wavy_bowl_has_several_local_minima_and_one_global_minimum():
    function = get("wavy_bowl")
    xs = np.linspace(*function.xlim, 401)
    grid = np.stack(np.meshgrid(xs, xs))
    values = function(grid)
    inner = values[1:-1, 1:-1]
    neighbours = [
        values[1 + dy : values.shape[0] - 1 + dy, 1 + dx : values.shape[1] - 1 + dx]
        for dy in (-1, 0, 1)
        for dx in (-1, 0, 1)
        if (dy, dx) != (0, 0)
    ]
    local = np.all([inner < n for n in neighbours], axis=0)
    assert local.sum() >= 4
    lowest = np.unravel_index(np.argmin(values), values.shape)
    assert abs(xs[lowest[0]]) < 0.02 and abs(xs[lowest[1]]) < 0.02


@pytest.mark.parametrize("name", NAMES)
def test_functions_and_gradients_work_on_plotting_grids(name):
    function = get(name)
    xs = np.linspace(*function.xlim, 7)
    ys = np.linspace(*function.ylim, 5)
    grid = np.stack(np.meshgrid(xs, ys))  # shape (2, 5, 7)
    values = function(grid)
    gradients = function.gradient(grid)
    assert values.shape == (5, 7)
    assert gradients.shape == (2, 5, 7)
    for i in range(5):
        for j in range(7):
            point = grid[:, i, j]
            assert values[i, j] == pytest.approx(float(function(point)), rel=1e-14, abs=1e-14)
            np.testing.assert_allclose(gradients[:, i, j], function.grad(point), rtol=1e-14)


@pytest.mark.parametrize("name", NAMES)
def test_start_and_minima_lie_in_the_plotting_window(name):
    function = get(name)
    for x0, x1 in (function.start, *function.minima):
        assert function.xlim[0] <= x0 <= function.xlim[1]
        assert function.ylim[0] <= x1 <= function.ylim[1]
    assert function.description
    # the start is not already a minimum
    assert np.linalg.norm(function.grad(np.array(function.start))) > 1e-3


def test_lists_and_tuples_are_accepted_and_unknown_names_rejected():
    rosenbrock = get("rosenbrock")
    assert float(rosenbrock([1.0, 1.0])) == 0.0
    np.testing.assert_array_equal(rosenbrock.gradient((1.0, 1.0)), [0.0, 0.0])
    assert isinstance(rosenbrock, TestFunction)
    with pytest.raises(ValueError, match=r"Unknown test function 'booth'.*rosenbrock"):
        get("booth")
