"""The divergence guard everywhere: estimators, minimize, sweeps and the command line stop with a
clear DivergenceError (epoch, last losses, advice computed from the data), never with a NumPy
overflow warning.

Oracle: plain gradient descent on the mean squared error is stable exactly when the learning rate
is below 2/L, with L = 2 * lambda_max(A.T A / n) and A = [X, 1] (the curvature of the loss).
"""

from __future__ import annotations

import math
import warnings
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pytest

import gdlab
from gdlab import optim
from gdlab.exceptions import DivergenceError, GDLabError

RNG = np.random.default_rng(5)
X = RNG.normal(size=(100, 2)) * [1.0, 3.0]
Y = X @ [2.0, 0.5] + 3.0 + 0.1 * RNG.normal(size=100)
A = np.column_stack([X, np.ones(len(X))])
L = 2.0 * np.linalg.eigvalsh(A.T @ A / len(X))[-1]


@contextmanager
def no_warnings():
    """Every warning is an error: nothing may leak while training diverges."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        yield


def _plain_gd(rate: float, **kwargs):
    kwargs.setdefault("standardize", False)  # plain gradient descent on the data as given
    return gdlab.GDRegressor(
        optimizer="sgd", learning_rate=rate, batch_size=None, tol=None, shuffle=False, **kwargs
    )


def test_stability_limit_two_over_l_and_advice_from_the_data() -> None:
    with no_warnings():
        stable = _plain_gd(0.9 * 2 / L, max_iter=3000).fit(X, Y)
    assert np.all(np.isfinite(stable.coef_))
    exact = np.linalg.lstsq(A, Y, rcond=None)[0]
    np.testing.assert_allclose(stable.coef_, exact[:2], rtol=1e-6)
    with no_warnings(), pytest.raises(DivergenceError) as info:
        _plain_gd(1.1 * 2 / L, max_iter=3000).fit(X, Y)
    error = info.value
    assert isinstance(error, GDLabError) and isinstance(error, ArithmeticError)
    message = str(error)
    assert f"Training diverged in epoch {error.epoch + 1}:" in message
    assert error.epoch > 10  # 1.1 * 2/L grows slowly: it takes a while
    # caught by the steady-rise rule: ten rising epochs, now over 100 x the first loss
    assert len(error.losses) == 5 and error.losses[-1] > 100 * error.history.loss[0]
    assert error.losses == sorted(error.losses)  # the last values, growing
    assert f"2/L = {2 / L:.4g}" in message  # the stability limit, from the data
    assert error.suggested_learning_rate == pytest.approx(1 / L, rel=1e-9)
    assert "standardize" not in message  # scales within 100x of each other
    assert "clip the gradient" in message
    assert len(error.history.loss) == error.epoch  # what was recorded before it blew up


def test_standardize_advice_only_when_scales_differ() -> None:
    even = RNG.normal(size=(100, 2))
    y = even @ [1.0, 1.0]
    with pytest.raises(DivergenceError) as info:
        _plain_gd(50.0, max_iter=200).fit(even, y)
    assert "standardize" not in str(info.value)
    wide = even * [1.0, 1000.0]
    with pytest.raises(DivergenceError) as info:
        _plain_gd(50.0, max_iter=200).fit(wide, y)
    assert "standardize the features (standardize=True)" in str(info.value)
    assert "differ by a factor of 1" in str(info.value)


def test_divergence_leaves_the_estimator_as_it_was() -> None:
    model = _plain_gd(100.0, max_iter=50)
    with pytest.raises(DivergenceError):
        model.fit(X, Y)
    assert not hasattr(model, "coef_")  # never half-fitted with NaN parameters
    model = _plain_gd(0.5 / L, max_iter=5, warm_start=True).fit(X, Y)
    before = model.coef_.copy(), model._train_state.epoch
    model.set_params(learning_rate=100.0)
    with pytest.raises(DivergenceError):
        model.fit(X, Y)
    np.testing.assert_array_equal(model.coef_, before[0])
    assert model._train_state.epoch == before[1]


def test_momentum_and_minibatch_divergence_suggest_a_smaller_rate() -> None:
    model = gdlab.GDRegressor(optimizer="momentum", learning_rate=1.0, batch_size=10, tol=None)
    with no_warnings(), pytest.raises(DivergenceError) as info:
        model.fit(X, Y)
    assert info.value.suggested_learning_rate == pytest.approx(0.1)
    assert "learning_rate=0.1" in str(info.value)


def test_minimize_diverges_with_a_clear_error_and_no_warning() -> None:
    with no_warnings(), pytest.raises(DivergenceError) as info:
        gdlab.minimize(
            lambda x: float(x @ x), np.ones(2), jac=lambda x: 2 * x,
            optimizer=optim.sgd(learning_rate=1.5), max_iter=500,
        )  # fmt: skip
    assert "diverged in" in str(info.value) and info.value.epoch > 0
    # unbounded below: np.exp overflows in the function as the iterates run away, no warning
    with no_warnings(), pytest.raises(DivergenceError, match="became non-finite"):
        gdlab.minimize(
            lambda x: float(-np.sum(np.exp(x))), np.ones(2), jac=lambda x: -np.exp(x),
            optimizer=optim.sgd(learning_rate=0.5), max_iter=500,
        )  # fmt: skip
    with no_warnings(), pytest.raises(DivergenceError, match="became non-finite"):
        gdlab.minimize(lambda x: float(x @ x), np.ones(2), jac=lambda x: x * np.nan)


def test_sweep_marks_diverged_runs_and_goes_on() -> None:
    with no_warnings():
        result = gdlab.sweep(_plain_gd(0.01, max_iter=200), X, Y, values=[0.5 / L, 5.0 / L, 1e-4])
    assert result.diverged == [False, True, False]
    assert math.isnan(result.final_loss[1]) and math.isfinite(result.final_loss[0])
    assert "diverged in epoch" in result.errors[1] and result.errors[0] is None
    assert result.estimators[1] is None and result.estimators[2] is not None


def test_data_too_large_for_float_arithmetic_is_refused_up_front() -> None:
    with no_warnings():
        with pytest.raises(
            ValueError, match=r"y has values up to 8.7\d*e\+200.*rescale the targets"
        ):
            gdlab.GDRegressor(standardize=False).fit(X, Y * 1e200)
        with pytest.raises(ValueError, match=r"X has values up to .*feature 1.*standardize=True"):
            gdlab.GDClassifier(standardize=False).fit(X * [1.0, 1e300], Y > 3)
        with pytest.raises(ValueError, match="overflow float32"):
            gdlab.GDRegressor(standardize=False).fit(
                (X * 1e20).astype(np.float32), Y.astype(np.float32)
            )
        model = gdlab.GDRegressor(standardize=True, max_iter=300, random_state=0)
        model.fit(X * [1.0, 1e300], Y)  # standardized first: works, in the original units
    assert np.isfinite(model.intercept_[0]) and model.score(X * [1.0, 1e300], Y) > 0.99
    np.testing.assert_allclose(model._x_scale[1] / 1e300, np.std(X[:, 1]), rtol=1e-12)


def test_command_line_reports_divergence_with_exit_code_1(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from gdlab.cli import cli

    path = tmp_path / "data.csv"
    wide = X * [1.0, 1000.0]  # scales 1000x apart: the advice says to standardize
    rows = "\n".join(f"{a:.17g},{b:.17g},{t:.17g}" for (a, b), t in zip(wide, Y, strict=True))
    path.write_text("size,age,price\n" + rows + "\n")
    args = ["fit", str(path), "--target", "price", "--optimizer", "sgd", "--batch-size", "full"]
    result = CliRunner().invoke(cli, [*args, "--learning-rate", "0.01", "--no-standardize"])
    assert result.exit_code == 1
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert lines[-1].startswith("gdlab: error: Training diverged in epoch")
    assert "--learning-rate " in lines[-1] and "2/L = " in lines[-1]
    assert "(--standardize)" in lines[-1] and "Traceback" not in result.output
