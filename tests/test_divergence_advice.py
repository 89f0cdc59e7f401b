"""The advice of a DivergenceError is computed from the data and the batch size."""

import numpy as np
import pytest

from gdlab import DivergenceError, GDRegressor
from gdlab.losses import get_penalty, squared_error
from gdlab.objectives import LinearObjective


def _data(seed=0, n=60):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 2)) * [1.0, 3.0]
    y = X @ [1.5, -0.5] + 2.0 + rng.normal(0, 0.1, n)
    return X, y


def _per_sample_sgd(learning_rate):
    return GDRegressor(
        optimizer="sgd",
        learning_rate=learning_rate,
        batch_size=1,
        max_iter=300,
        tol=None,
        random_state=0,
    )


def test_per_sample_bound_is_the_largest_row_curvature():
    X, y = _data()
    objective = LinearObjective(X, y, squared_error, get_penalty(None))
    design = np.column_stack([X, np.ones(len(X))])
    expected = 2.0 * np.max(np.sum(design**2, axis=1))
    assert objective.lipschitz_constant(batch_size=1) == pytest.approx(expected, rel=1e-12)
    full = objective.lipschitz_constant()
    assert full == pytest.approx(2 * np.linalg.eigvalsh(design.T @ design / len(X)).max())
    assert full <= objective.lipschitz_constant(batch_size=8)


def test_per_sample_sgd_below_the_bound_converges_and_above_it_can_diverge():
    X, y = _data()
    objective = LinearObjective(X, y, squared_error, get_penalty(None))
    bound = 2.0 / objective.lipschitz_constant(batch_size=1)
    stable = _per_sample_sgd(0.9 * bound).fit(X, y)
    assert np.all(np.isfinite(stable.coef_))
    assert stable.loss_curve_[-1] < 0.05
    with pytest.raises(DivergenceError) as info:
        _per_sample_sgd(20 * bound).fit(X, y)
    message = str(info.value)
    assert "batches of 1 rows" in message
    assert f"{bound:.4g}" in message
    assert info.value.suggested_learning_rate == pytest.approx(bound / 2)


def test_full_batch_advice_names_two_over_l_and_standardize():
    rng = np.random.default_rng(1)
    X = np.column_stack([rng.normal(size=50), 1000 * rng.normal(size=50)])
    y = X @ [1.0, 0.001] + rng.normal(size=50)
    with pytest.raises(DivergenceError) as info:
        GDRegressor(optimizer="sgd", learning_rate=0.01, batch_size=None, tol=None).fit(X, y)
    message = str(info.value)
    assert "2/L" in message and "standardize the features" in message
    assert "clip" in message
