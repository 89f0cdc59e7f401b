"""gdlab.lr_find: the learning-rate range test."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.datasets import load_iris

from gdlab import GDClassifier, GDRegressor, lr_find, optim


def lesson_data(n: int = 100) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.RandomState(42)
    x = rng.uniform(0, 10, n)
    return x[:, None], 3 * x + 7 + rng.randn(n) * 2


def two_over_l(X: np.ndarray) -> float:
    """Textbook 2/L for mean squared error: L = 2 lambda_max(A'A / n) with A = [X, 1]."""
    A = np.hstack([X, np.ones((X.shape[0], 1))])
    return 1.0 / np.linalg.eigvalsh(A.T @ A / X.shape[0])[-1]


PLAIN_GD = {"optimizer": "sgd", "batch_size": None, "standardize": False}


@pytest.mark.parametrize(
    "params",
    [
        PLAIN_GD,
        {**PLAIN_GD, "standardize": True},
        {"optimizer": "sgd", "batch_size": 16, "random_state": 0},
        {"optimizer": "adam", "batch_size": 32, "random_state": 0},
        {"optimizer": "momentum", "batch_size": 8, "random_state": 1},
    ],
)
def test_suggestion_between_start_and_stop(params):
    X, y = lesson_data()
    result = lr_find(GDRegressor(**params), X, y, start=1e-6, stop=10.0, n_steps=100)
    assert 1e-6 <= result.suggested <= 10.0
    assert result.rates[0] == pytest.approx(1e-6)
    assert result.min_loss_rate in result.rates
    assert result.steepest_rate in result.rates
    assert result.suggested == pytest.approx(max(result.min_loss_rate / 10, 1e-6))


@pytest.mark.parametrize("standardize", [False, True])
def test_squared_error_bound_and_suggestion_below_it(standardize):
    X, y = lesson_data()
    result = lr_find(GDRegressor(**{**PLAIN_GD, "standardize": standardize}), X, y)
    Xs = (X - X.mean(axis=0)) / X.std(axis=0) if standardize else X
    assert result.bound_2_over_L == pytest.approx(two_over_l(Xs), rel=1e-10)
    assert result.suggested < result.bound_2_over_L


def test_stops_at_divergence_never_below_the_stability_limit():
    """Below 2/L every full-batch GD step shrinks the loss, so the test can only stop above it."""
    X, y = lesson_data()
    n_steps = 100
    result = lr_find(GDRegressor(**PLAIN_GD), X, y, start=1e-6, stop=10.0, n_steps=n_steps)
    assert result.diverged_at is not None
    assert result.diverged_at > result.bound_2_over_L
    assert len(result.rates) < n_steps  # stopped before reaching `stop`
    assert result.rates[-1] < result.diverged_at
    kept = len(result.rates)
    assert len(result.losses) == len(result.raw_losses) == kept
    assert np.all(np.isfinite(result.losses))
    # Smoothed loss never exceeded 4x its running minimum among the kept points.
    assert np.all(result.losses <= 4 * np.minimum.accumulate(result.losses))


def test_rates_are_geometric_and_full_length_without_divergence():
    X, y = lesson_data()
    result = lr_find(GDRegressor(**PLAIN_GD), X, y, start=1e-6, stop=1e-3, n_steps=40)
    assert result.diverged_at is None
    assert len(result.rates) == 40
    np.testing.assert_allclose(result.rates, np.geomspace(1e-6, 1e-3, 40), rtol=1e-12)


def test_first_loss_and_smoothing():
    """The first update starts from coef 0 and intercept mean(y): its loss is var(y)."""
    X, y = lesson_data()
    result = lr_find(GDRegressor(**PLAIN_GD), X, y, smoothing=0.9)
    assert result.raw_losses[0] == pytest.approx(np.var(y), rel=1e-12)
    assert result.losses[0] == pytest.approx(result.raw_losses[0])  # bias-corrected average
    expected = 0.9 * 0.1 * result.raw_losses[0] + 0.1 * result.raw_losses[1]
    assert result.losses[1] == pytest.approx(expected / (1 - 0.9**2))


def test_steepest_option_and_template_untouched():
    X, y = lesson_data()
    model = GDRegressor(**PLAIN_GD, learning_rate=0.05)
    result = lr_find(model, X, y, suggest="steepest")
    assert result.method == "steepest"
    assert result.suggested == result.steepest_rate
    assert model.learning_rate == 0.05
    assert model.schedule is None
    assert not hasattr(model, "coef_")


def test_classifier_has_no_bound():
    X, y = load_iris(return_X_y=True)
    result = lr_find(GDClassifier(standardize=True, random_state=0), X, y, n_steps=50)
    assert result.bound_2_over_L is None
    assert 1e-6 <= result.suggested <= 10.0


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"start": 0.0}, ValueError, "start must be a float > 0"),
        ({"start": 1.0, "stop": 0.5}, ValueError, "stop must be larger than start"),
        ({"stop": float("inf")}, ValueError, "stop must be finite"),
        ({"n_steps": 2}, ValueError, "n_steps must be an int >= 3"),
        ({"suggest": "valley"}, ValueError, "suggest must be one of"),
        ({"smoothing": 1.0}, ValueError, "smoothing must be a float in"),
        ({"divergence_factor": 1.0}, ValueError, "divergence_factor must be a float > 1"),
    ],
)
def test_bad_arguments(kwargs, error, match):
    X, y = lesson_data(20)
    with pytest.raises(error, match=match):
        lr_find(GDRegressor(**PLAIN_GD), X, y, **kwargs)


def test_bad_estimators():
    X, y = lesson_data(20)
    with pytest.raises(TypeError, match="GDRegressor or GDClassifier"):
        lr_find(object(), X, y)
    with pytest.raises(ValueError, match="optimizer given by name"):
        lr_find(GDRegressor(optimizer=optim.sgd(0.1)), X, y)
    with pytest.raises(ValueError, match="batch_size"):
        lr_find(GDRegressor(batch_size=0), X, y)  # checked like fit checks it


def test_no_clear_descent_is_inconclusive_with_no_suggestion(tmp_path):
    """Targets unrelated to the features: the intercept starts at their mean, which is already
    the best there is, so the curve has no descent to read a rate from."""
    rng = np.random.default_rng(5)
    X = rng.normal(size=(200, 3))
    y = rng.normal(size=200)
    result = lr_find(GDRegressor(**PLAIN_GD), X, y)
    assert result.suggested is None and "never fell by 10%" in result.inconclusive
    # through the command line: says so, and prints no next command
    import pandas as pd
    from click.testing import CliRunner

    from gdlab.cli import cli

    data = tmp_path / "noise.csv"
    pd.DataFrame({"a": X[:, 0], "b": X[:, 1], "c": X[:, 2], "y": y}).to_csv(data, index=False)
    out = CliRunner().invoke(cli, ["lr-find", str(data), "-t", "y", "--plots", str(tmp_path)])
    assert out.exit_code == 0 and "inconclusive" in out.output and "Next:" not in out.output
    assert (tmp_path / "lr_find.png").stat().st_size > 0


def test_a_clear_descent_still_gives_a_suggestion_with_defaults():
    rng = np.random.default_rng(6)
    X = rng.normal(size=(200, 3)) * [1.0, 10.0, 100.0]
    y = X @ [1.0, 0.1, 0.01] + 0.1 * rng.normal(size=200)
    # the command line's defaults: full-batch sgd on standardized data
    result = lr_find(GDRegressor(optimizer="sgd", batch_size=None, random_state=0), X, y)
    assert result.inconclusive is None and result.suggested > result.rates[0]
    assert result.suggested < result.bound_2_over_L
