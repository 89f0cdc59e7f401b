"""gdlab.minimize: convergence on functions with known minima, exact agreement with the explicit
gradient-descent iteration, the result fields, the stopping rules, divergence and bad input."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from gdlab import DivergenceError, EpochRecord, minimize, optim
from gdlab.testfunctions import get


def quadratic(A, b=None):
    """f(x) = x'Ax/2 - b'x with gradient Ax - b; the minimum is A^-1 b."""
    b = np.zeros(len(A)) if b is None else b
    return (lambda x: float(0.5 * x @ A @ x - b @ x)), (lambda x: A @ x - b)


def random_spd(seed, d=3):
    rng = np.random.default_rng(seed)
    Q = np.linalg.qr(rng.normal(size=(d, d)))[0]
    return Q @ np.diag(np.linspace(1.0, 5.0, d)) @ Q.T, rng.normal(size=d)


# ---- convergence -------------------------------------------------------------------------------


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_gradient_descent_reaches_the_closed_form_minimum_of_a_quadratic_bowl(seed):
    A, b = random_spd(seed)
    fun, jac = quadratic(A, b)
    result = minimize(fun, np.zeros(3), jac=jac, optimizer=optim.sgd(learning_rate=0.3), tol=1e-9)
    exact = np.linalg.solve(A, b)
    assert result.success and result.status == 0
    np.testing.assert_allclose(result.x, exact, atol=1e-8)
    assert result.fun == pytest.approx(-0.5 * b @ exact, abs=1e-14)
    assert np.linalg.norm(result.jac) <= 1e-9


def test_plain_gradient_descent_is_exactly_the_explicit_iteration():
    A = np.array([[3.0, 1.0], [1.0, 2.0]])
    fun, jac = quadratic(A)
    lr = 0.1
    x0 = np.array([1.5, -2.0])
    result = minimize(
        fun, x0, jac=jac, optimizer=optim.sgd(learning_rate=lr), max_iter=40, tol=None
    )
    x = x0.copy()
    path = [x.copy()]
    for _ in range(40):
        x = x - lr * A @ x
        path.append(x.copy())
    np.testing.assert_allclose(result.x, x, rtol=0, atol=1e-12)
    np.testing.assert_allclose(result.history.param_path(), np.array(path), rtol=0, atol=1e-12)
    # the recorded loss of each iteration is f at the point it started from
    np.testing.assert_allclose(result.history.loss, [fun(p) for p in path[:-1]], rtol=1e-12)


@pytest.mark.parametrize(
    "optimizer",
    [optim.adam(learning_rate=0.02), optim.sgd(learning_rate=1e-3, momentum=0.9)],
    ids=["adam", "momentum"],
)
def test_rosenbrock_is_solved_by_adam_and_momentum(optimizer):
    rosenbrock = get("rosenbrock")
    result = minimize(
        rosenbrock, rosenbrock.start, jac=rosenbrock.grad, optimizer=optimizer, max_iter=6000
    )
    assert result.success
    np.testing.assert_allclose(result.x, [1.0, 1.0], atol=1e-4)
    assert result.fun < 1e-9


@pytest.mark.parametrize("start", [(0.0, 0.0), (-1.0, 1.0), (-1.0, -1.0), (1.0, -1.0), (4.0, 4.0)])
def test_himmelblau_ends_in_one_of_its_four_minima(start):
    himmelblau = get("himmelblau")
    result = minimize(
        himmelblau, start, jac=himmelblau.grad, optimizer=optim.sgd(learning_rate=0.01), tol=1e-8
    )
    assert result.success
    distances = [np.linalg.norm(result.x - np.array(m)) for m in himmelblau.minima]
    assert min(distances) < 1e-8
    assert result.fun == pytest.approx(0.0, abs=1e-15)


def test_finite_difference_gradient_gives_almost_the_same_run():
    rosenbrock = get("rosenbrock")
    kwargs = {"optimizer": optim.adam(learning_rate=0.02), "max_iter": 300, "tol": None}
    analytic = minimize(rosenbrock, rosenbrock.start, jac=rosenbrock.grad, **kwargs)
    numeric = minimize(rosenbrock, rosenbrock.start, jac=None, **kwargs)
    np.testing.assert_allclose(numeric.x, analytic.x, atol=1e-6)
    np.testing.assert_allclose(numeric.jac, rosenbrock.grad(numeric.x), rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(numeric.history.loss, analytic.history.loss, rtol=1e-6)


# ---- the result --------------------------------------------------------------------------------


def test_result_fields_describe_the_run():
    bowl = get("quadratic")
    x0 = np.array(bowl.start)
    result = minimize(bowl, x0, jac=bowl.grad, optimizer=optim.sgd(learning_rate=0.15), tol=1e-6)
    assert result.success is True and result.status == 0
    assert "gradient norm" in result.message
    assert result.fun == bowl(result.x)
    np.testing.assert_array_equal(result.jac, bowl.grad(result.x))
    assert np.linalg.norm(result.jac) <= 1e-6
    path = result.history.param_path()
    assert path.shape == (result.nit + 1, 2)
    np.testing.assert_array_equal(path[0], x0)
    np.testing.assert_array_equal(path[-1], result.x)
    assert len(result.history.loss) == result.nit
    assert result.history.n_updates == list(range(1, result.nit + 1))
    assert result.history.learning_rate == [0.15] * result.nit
    np.testing.assert_array_equal(x0, bowl.start)  # x0 not modified
    # the bowl's curvature along y is 10: sgd with lr 0.15 contracts that axis by |1 - 1.5| = 0.5
    # and the x axis by 0.85, so it needs about log(1e-6 / 4) / log(0.85) ~ 93 steps
    assert 85 <= result.nit <= 100


def test_tol_none_runs_exactly_max_iter_even_at_the_minimum():
    bowl = get("quadratic")
    result = minimize(
        bowl,
        [0.0, 0.0],
        jac=bowl.grad,
        optimizer=optim.sgd(learning_rate=0.1),
        max_iter=17,
        tol=None,
    )
    assert result.nit == 17 and len(result.history.loss) == 17
    assert result.status == 1 and not result.success
    assert "max_iter=17" in result.message


def test_reaching_tol_on_the_last_allowed_update_counts_as_success():
    bowl = get("quadratic")
    kwargs = {"jac": bowl.grad, "optimizer": optim.sgd(learning_rate=0.15), "tol": 1e-4}
    free = minimize(bowl, bowl.start, **kwargs)
    exact = minimize(bowl, bowl.start, max_iter=free.nit, **kwargs)
    short = minimize(bowl, bowl.start, max_iter=free.nit - 1, **kwargs)
    assert free.success and exact.success and exact.nit == free.nit
    assert short.status == 1 and not short.success


def test_callback_receives_each_iteration_and_can_stop():
    bowl = get("quadratic")
    seen: list[EpochRecord] = []

    def callback(record):
        seen.append(record)
        return record.epoch == 4

    result = minimize(
        bowl, bowl.start, jac=bowl.grad, optimizer=optim.sgd(learning_rate=0.05), callback=callback
    )
    assert [r.epoch for r in seen] == [0, 1, 2, 3, 4]
    assert result.nit == 5 and result.status == 2 and not result.success
    assert "callback" in result.message
    np.testing.assert_array_equal(seen[-1].params, result.x)
    assert seen[0].loss == pytest.approx(bowl(bowl.start))


def test_record_path_false_keeps_no_path_and_args_are_passed():
    def fun(x, c, scale):
        return float(scale * np.sum((x - c) ** 2))

    def jac(x, c, scale):
        return 2 * scale * (x - c)

    result = minimize(
        fun,
        np.zeros(2),
        jac=jac,
        args=(np.array([1.0, -1.0]), 2.0),
        optimizer=optim.sgd(learning_rate=0.1),
        record_path=False,
    )
    assert result.history.params == []
    np.testing.assert_allclose(result.x, [1.0, -1.0], atol=1e-6)
    single = minimize(
        lambda x, c: float((x[0] - c) ** 2),
        [0.0],
        args=3.0,
        optimizer=optim.sgd(learning_rate=0.25),
    )
    assert single.x == pytest.approx([3.0], abs=1e-6)


def test_scalar_start_and_scalar_valued_arrays_work():
    result = minimize(
        lambda x: (x - 2.0) ** 2,
        5.0,
        jac=lambda x: 2 * (x - 2.0),
        optimizer=optim.sgd(learning_rate=0.25),
    )
    assert result.x.shape == (1,)
    assert result.x[0] == pytest.approx(2.0)
    assert isinstance(result.fun, float)


def test_default_optimizer_is_adam_with_learning_rate_point_zero_one():
    fun, jac = quadratic(np.eye(2))
    result = minimize(fun, [1.0, 1.0], jac=jac, max_iter=3, tol=None)
    explicit = minimize(fun, [1.0, 1.0], jac=jac, max_iter=3, tol=None,
                        optimizer=optim.adam(learning_rate=0.01))  # fmt: skip
    np.testing.assert_array_equal(result.x, explicit.x)
    # Adam's first step is the learning rate times the sign of the gradient
    np.testing.assert_allclose(result.history.param_path()[1], [0.99, 0.99], rtol=1e-9)


def test_default_optimizer_does_not_diverge_on_the_readme_rosenbrock_example():
    """The README's Rosenbrock call without its optimizer: the default must not blow up (plain
    sgd(0.01) did: the curvature at the start is about 1900, so 2/L is about 0.001)."""
    rosen = lambda p: (1 - p[0]) ** 2 + 100 * (p[1] - p[0] ** 2) ** 2  # noqa: E731
    with pytest.raises(DivergenceError):
        minimize(rosen, x0=[-1.5, 2.0], optimizer=optim.sgd(learning_rate=0.01), max_iter=5000)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        result = minimize(rosen, x0=[-1.5, 2.0], max_iter=5000)
    assert np.all(np.isfinite(result.x)) and result.fun < rosen([-1.5, 2.0]) / 100
    assert "iteration" in result.message or result.success


def test_fun_and_jac_are_called_once_per_iteration():
    calls = {"fun": 0, "jac": 0}
    fun0, jac0 = quadratic(np.diag([1.0, 3.0]))

    def fun(x):
        calls["fun"] += 1
        return fun0(x)

    def jac(x):
        calls["jac"] += 1
        return jac0(x)

    limited = minimize(fun, [1.0, 1.0], jac=jac, optimizer=optim.sgd(learning_rate=0.1),
                       max_iter=20, tol=None)  # fmt: skip
    # 20 updates, then one value and one gradient at the returned point (final check, result)
    assert limited.nit == 20 and calls == {"fun": 21, "jac": 21}
    assert limited.message == "Reached max_iter=20 iterations."
    calls.update(fun=0, jac=0)
    converged = minimize(fun, [1.0, 1.0], jac=jac, optimizer=optim.sgd(learning_rate=0.1),
                         max_iter=1000, tol=1e-3)  # fmt: skip
    # the iteration whose gradient passes the test makes no update and costs nothing more
    assert converged.success and calls == {"fun": converged.nit + 1, "jac": converged.nit + 1}
    assert np.linalg.norm(jac0(converged.x)) <= 1e-3
    np.testing.assert_array_equal(converged.jac, jac0(converged.x))


# ---- divergence --------------------------------------------------------------------------------


def test_too_large_a_learning_rate_raises_an_informative_divergence_error():
    fun, jac = quadratic(np.diag([1.0, 10.0]))
    # the stable limit is 2 / 10 = 0.2; 0.25 makes the y coordinate grow by |1 - 2.5| = 1.5
    with pytest.raises(DivergenceError) as info:
        minimize(fun, [1.0, 1.0], jac=jac, optimizer=optim.sgd(learning_rate=0.25), max_iter=500)
    error = info.value
    message = str(error)
    assert f"iteration {error.epoch + 1}" in message
    assert "rose in each of the last 10 iterations" in message and "learning_rate=0.025" in message
    assert error.suggested_learning_rate == pytest.approx(0.025)
    # the loss ~ 5 * 1.5^(2k) rises every iteration: after 10 rises in a row it is > 100 x its
    # start, so gdlab.divergence.is_exploding stops it at k = 9 (1e10 x would take until k ~ 30)
    assert error.epoch == 9
    assert all(b > a for a, b in zip(error.losses, error.losses[1:], strict=False))
    assert len(error.history.loss) == error.epoch
    assert isinstance(error, ArithmeticError)
    # the suggestion works
    fixed = minimize(
        fun,
        [1.0, 1.0],
        jac=jac,
        optimizer=optim.sgd(learning_rate=error.suggested_learning_rate),
        max_iter=2000,
    )
    assert fixed.success


def test_a_gradient_that_becomes_nan_is_reported_as_non_finite():
    def fun(x):
        return float(np.sum(x**2)) if np.all(np.abs(x) < 3) else float("nan")

    with pytest.raises(DivergenceError, match="non-finite"):
        minimize(
            fun, [1.0], jac=lambda x: 2 * x, optimizer=optim.sgd(learning_rate=2.5), max_iter=50
        )


# ---- bad input ---------------------------------------------------------------------------------

BOWL = get("quadratic")


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"x0": [np.nan, 1.0]}, ValueError, "x0 contains NaN or infinite"),
        ({"x0": [np.inf, 1.0]}, ValueError, "x0 contains NaN or infinite"),
        ({"x0": []}, ValueError, "x0 is empty"),
        ({"x0": ["a", "b"]}, ValueError, "x0 must be an array of real numbers"),
        ({"max_iter": 0}, ValueError, "max_iter must be an int >= 1. Got 0"),
        ({"max_iter": -3}, ValueError, "max_iter must be an int >= 1"),
        ({"max_iter": 2.5}, ValueError, "max_iter must be an int >= 1"),
        ({"max_iter": True}, ValueError, "max_iter must be an int >= 1"),
        ({"tol": -1.0}, ValueError, "tol must be a float >= 0 or None"),
        ({"tol": float("nan")}, ValueError, "tol must be a float >= 0 or None"),
        ({"tol": "small"}, ValueError, "tol must be a float >= 0 or None"),
        ({"jac": lambda x: np.ones(3)}, ValueError, r"jac returned an array of shape \(3,\)"),
        ({"jac": True}, TypeError, "jac must be a callable"),
        ({"fun": "rosenbrock"}, TypeError, "fun must be callable"),
        ({"optimizer": "adam"}, TypeError, "optimizer must be a gdlab.optim transformation"),
        ({"fun": lambda x: x * 2}, ValueError, r"fun must return a scalar.*\(2,\)"),
        ({"fun": lambda x: float("nan")}, ValueError, r"fun\(x0\) is not finite"),
    ],
)
def test_bad_input_raises_clear_errors(kwargs, error, match):
    arguments = {"fun": BOWL, "x0": [1.0, 1.0], "jac": BOWL.grad, **kwargs}
    with pytest.raises(error, match=match):
        minimize(arguments.pop("fun"), arguments.pop("x0"), **arguments)


def test_a_run_that_ends_above_its_start_says_so_in_its_message():
    """sgd at 0.205 on f = 5 x^2 (2/L = 0.2): each step multiplies x by -1.05, so after 20
    iterations f is 7 times f(x0), below the divergence rule's tenfold: not diverged, not a
    success, and the message says the last steps went uphill (the same rule as the estimators')."""
    bowl = dict(fun=lambda x: 5.0 * float(x @ x), x0=[1.0], jac=lambda x: 10.0 * x, max_iter=20)
    uphill = minimize(**bowl, optimizer=optim.sgd(0.205))
    assert not uphill.success and uphill.status == 1
    assert uphill.fun == pytest.approx(5.0 * 1.05**40)
    assert "above its value at x0, 5: the last steps went uphill" in uphill.message
    downhill = minimize(**bowl, optimizer=optim.sgd(0.05))
    assert "uphill" not in downhill.message
