"""gdlab.sweep: one fit per value, divergence recorded instead of raised."""

from __future__ import annotations

import math

import numpy as np
import pytest

from gdlab import GDRegressor, sweep
from gdlab._sweeps import SweepResult
from gdlab.history import History


def lesson_data(n: int = 100) -> tuple[np.ndarray, np.ndarray, np.random.RandomState]:
    """Lesson 000's data: np.random.seed(42); x ~ U(0, 10); y = 3x + 7 + 2 noise."""
    rng = np.random.RandomState(42)
    x = rng.uniform(0, 10, n)
    y = 3 * x + 7 + rng.randn(n) * 2
    return x[:, None], y, rng


def stability_limit(X: np.ndarray) -> float:
    """2 / L with L = 2 lambda_max(A'A / n), A = [X, 1]: the textbook bound for full-batch GD."""
    A = np.hstack([X, np.ones((X.shape[0], 1))])
    return 2.0 / (2.0 * np.linalg.eigvalsh(A.T @ A / X.shape[0])[-1])


def plain_gd(**params: object) -> GDRegressor:
    settings = {
        "optimizer": "sgd", "batch_size": None, "max_iter": 200, "tol": None, "standardize": False
    }  # fmt: skip
    return GDRegressor(shuffle=False, **{**settings, **params})


def lesson_loop(x, y, w, b, lr, epochs):
    """The lesson's loop, literally: returns the losses (before each update), or None."""
    losses = []
    for _ in range(epochs):
        y_pred = w * x + b
        loss = np.mean((y - y_pred) ** 2)
        if np.isnan(loss) or loss > 1e10:
            return None
        losses.append(loss)
        dw = -2 * np.mean(x * (y - y_pred))
        db = -2 * np.mean(y - y_pred)
        w = w - lr * dw
        b = b - lr * db
    return losses


def test_lesson_rates_diverge_exactly_above_two_over_l():
    X, y, _ = lesson_data()
    rates = [0.0001, 0.01, 0.05, 0.1]
    result = sweep(plain_gd(), X, y, values=rates)
    bound = stability_limit(X)
    assert 0.01 < bound < 0.05  # the oracle: 2/L = 0.0317 on this data
    assert result.diverged == [rate > bound for rate in rates]
    assert result.values == rates
    assert result.param == "learning_rate"
    for diverged, loss, error, model in zip(
        result.diverged, result.final_loss, result.errors, result.estimators, strict=True
    ):
        if diverged:
            assert math.isnan(loss)
            assert "diverged" in error
            assert model is None
        else:
            assert math.isfinite(loss)
            assert error is None
            assert isinstance(model, GDRegressor)


def test_lesson_numbers_with_the_lessons_own_starts():
    """fit_params per value: each rate starts where the lesson's loop starts it."""
    X, y, rng = lesson_data()
    rates = [0.0001, 0.01, 0.05, 0.1]
    starts = [(rng.randn(), rng.randn()) for _ in rates]
    result = sweep(
        plain_gd(),
        X,
        y,
        "learning_rate",
        rates,
        fit_params=[{"coef_init": [w], "intercept_init": b} for w, b in starts],
    )
    for rate, (w, b), history, diverged in zip(
        rates, starts, result.histories, result.diverged, strict=True
    ):
        expected = lesson_loop(X[:, 0], y, w, b, rate, 200)
        assert diverged == (expected is None)
        if expected is not None:
            np.testing.assert_allclose(history.loss, expected, rtol=1e-12)
    # The lesson's title for the 0.01 panel: "Final loss = 3.7542".
    assert f"{result.final_loss[1]:.4f}" == "3.7542"


def test_histories_match_independent_fits_and_keep_partial_history():
    X, y, _ = lesson_data()
    result = sweep(plain_gd(), X, y, values=[0.01, 0.1])
    direct = plain_gd(learning_rate=0.01).fit(X, y)
    assert isinstance(result.histories[0], History)
    assert len(result.histories[0]) == 200
    np.testing.assert_array_equal(result.histories[0].loss, direct.loss_curve_)
    assert result.final_loss[0] == direct.loss_curve_[-1]
    np.testing.assert_array_equal(result.estimators[0].coef_, direct.coef_)
    partial = result.histories[1]
    assert isinstance(partial, History)
    assert 0 < len(partial) < 200
    assert all(math.isfinite(v) for v in partial.loss)
    assert partial.loss[-1] > 100 * partial.loss[0]  # it was exploding when it stopped


def test_values_keep_their_order():
    X, y, _ = lesson_data()
    values = [0.01, 0.0001, 0.001]
    result = sweep(plain_gd(max_iter=20), X, y, values=values)
    assert result.values == values
    expected = [plain_gd(max_iter=20, learning_rate=v).fit(X, y).loss_curve_[-1] for v in values]
    assert result.final_loss == expected
    assert [row["learning_rate"] for row in result.rows()] == values
    assert result.best_value == 0.01
    assert result.best_index == 0
    assert len(result) == 3


def test_other_parameters_and_template_untouched():
    X, y, _ = lesson_data()
    template = GDRegressor(optimizer="sgd", learning_rate=0.001, max_iter=5, tol=None)
    result = sweep(template, X, y, "batch_size", values=[None, 10, 1])
    assert [h.n_updates[-1] for h in result.histories] == [5, 50, 500]
    assert template.batch_size == 32
    assert not hasattr(template, "coef_")
    assert isinstance(result, SweepResult)
    assert result.backend


def test_sample_weight_equals_repeated_rows():
    """Full-batch GD on integer weights is GD on the rows repeated that many times."""
    X, y, _ = lesson_data(30)
    weight = np.random.RandomState(0).randint(1, 4, size=30)
    weighted = sweep(plain_gd(max_iter=50), X, y, values=[0.01], sample_weight=weight)
    repeated = sweep(
        plain_gd(max_iter=50), np.repeat(X, weight, axis=0), np.repeat(y, weight), values=[0.01]
    )
    np.testing.assert_allclose(weighted.estimators[0].coef_, repeated.estimators[0].coef_)
    np.testing.assert_allclose(weighted.final_loss, repeated.final_loss)


def test_all_diverged_has_no_best():
    X, y, _ = lesson_data()
    result = sweep(plain_gd(), X, y, values=[0.2, 0.5])
    assert result.diverged == [True, True]
    assert result.best_value is None


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"param": "learning_rat", "values": [0.1]}, ValueError, "'learning_rat' is not a param"),
        ({"param": "lr", "values": [0.1]}, ValueError, "choose one of: .*learning_rate"),
        ({"values": []}, ValueError, "values is empty"),
        ({"values": None}, ValueError, "values must be a sequence"),
        ({"values": "0.1"}, ValueError, "values must be a sequence"),
        ({"values": 0.1}, ValueError, "values must be a sequence"),
        ({"values": [0.1, 0.2], "fit_params": [{}]}, ValueError, "fit_params has 1 dicts"),
        ({"values": [-1.0]}, ValueError, "learning_rate=-1.0 was rejected"),
        ({"param": 3, "values": [1]}, TypeError, "param must be the name"),
    ],
)
def test_bad_arguments(kwargs, error, match):
    X, y, _ = lesson_data(20)
    with pytest.raises(error, match=match):
        sweep(plain_gd(max_iter=2), X, y, **kwargs)


def test_not_an_estimator():
    X, y, _ = lesson_data(20)
    with pytest.raises(TypeError, match="scikit-learn estimator"):
        sweep(object(), X, y, values=[0.1])
