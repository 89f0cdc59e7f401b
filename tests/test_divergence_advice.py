"""The advice of a DivergenceError is computed from the data and the batch size."""

import numpy as np
import pytest

from gdlab import DivergenceError, GDRegressor
from gdlab._objectives import LinearObjective
from gdlab.losses import get_penalty, squared_error


def _data(seed=0, n=60):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 2)) * [1.0, 3.0]
    y = X @ [1.5, -0.5] + 2.0 + rng.normal(0, 0.1, n)
    return X, y


def _per_sample_sgd(learning_rate):
    return GDRegressor(
        optimizer="sgd",
        standardize=False,
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
        GDRegressor(
            optimizer="sgd", learning_rate=0.01, batch_size=None, tol=None, standardize=False
        ).fit(X, y)
    message = str(info.value)
    assert "2/L" in message and "standardize the features" in message
    assert "clip" in message


def _two_over_l(X, y):
    objective = LinearObjective(X, y, squared_error, get_penalty(None))
    return 2.0 / objective.lipschitz_constant()


def test_slow_divergence_just_above_two_over_l_is_not_silent():
    """At 1.05 x (2/L) the loss grows only ~10% per epoch; it is still caught, with its epoch."""
    X, y = _data(seed=3)
    rate = 1.05 * _two_over_l(X, y)
    with pytest.raises(DivergenceError) as info:
        GDRegressor(
            optimizer="sgd",
            standardize=False,
            learning_rate=rate,
            batch_size=None,
            max_iter=400,
            tol=None,
            shuffle=False,
        ).fit(X, y)
    losses = info.value.history.loss
    assert losses[-1] > losses[0]  # it had been rising when it was stopped
    assert "rose in each of the last 10 epochs" in str(info.value)
    assert 10 <= info.value.epoch < 400


@pytest.mark.parametrize("max_iter", [1, 60])
def test_batched_sweep_flags_the_same_runs_as_one_fit_per_rate(max_iter):
    """Slow divergence and a blow-up in the very last epoch are flagged the same way by the
    batched sweep (all rates as the columns of one matrix) and by one fit per rate."""
    import warnings

    from gdlab._batched_sweep import batched_sweep
    from gdlab._sweeps import _sequential_sweep

    X, y = _data(seed=5, n=80)
    bound = _two_over_l(X, y)
    rates = [0.5 * bound, 1.05 * bound, 1e6 * bound]  # the last blows up in a single update
    template = GDRegressor(optimizer="sgd", batch_size=None, max_iter=max_iter, tol=None)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        batched = batched_sweep(template, X, y, rates, None)
        reference = _sequential_sweep(
            template, X, y, "learning_rate", [(r, {}) for r in rates], None
        )
    assert batched is not None
    flags = [error is not None for _, _, error in batched]
    assert flags == reference.diverged
    assert flags[0] is False and flags[2] is True
    for (_, _, error), ref_error in zip(batched, reference.errors, strict=True):
        assert (error is None) == (ref_error is None)
