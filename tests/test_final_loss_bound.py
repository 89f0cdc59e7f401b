"""The final check of a fit with squared error clears the run with an upper bound of its loss from
one plain read of X that stores nothing (issue 8 point 5, the fixed cost of a fit), standardized
or not: the bound is never below the exact final loss, is close to it on ordinary data, and no
outcome or number of a fit changes."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import gdlab.engine as engine
from gdlab import GDRegressor, losses
from gdlab._final_loss_bound import squared_error_upper_bound
from gdlab._objectives import LinearObjective
from gdlab.divergence import verdict
from gdlab.estimators._scaled_objective import ScaledObjective, reads_safely
from gdlab.exceptions import DivergenceError


def _objective(X, y, weight=None, penalty=None, fit_intercept=True, standardize=True):
    if not standardize:  # the estimators' unstandardized objective, with the check's max |x|
        return LinearObjective(
            X, y, losses.squared_error, losses.get_penalty(penalty, 1e-3), fit_intercept, weight,
            max_abs=np.abs(X).max(axis=0),
        )  # fmt: skip
    mean = X.mean(axis=0, dtype=np.float64).astype(X.dtype)
    scale = X.std(axis=0, dtype=np.float64).astype(X.dtype)
    scale[scale == 0] = 1
    if not fit_intercept:
        mean = np.zeros_like(mean)
    max_abs = np.abs(X).max(axis=0)
    return ScaledObjective(
        X, mean, scale, y, losses.squared_error, losses.get_penalty(penalty, 1e-3), fit_intercept,
        weight, on_read=reads_safely(max_abs, mean, scale, X.dtype), max_abs=max_abs,
    )  # fmt: skip


def _both(objective, theta):
    """(bound, exact loss); on small X the exact pass makes the standardized copy: dropped again,
    so that the next bound reads X itself."""
    upper = objective.loss_upper_bound(theta)
    exact = objective.loss_without_blas(theta)
    objective._copy = None
    return upper, exact


def _data(n, d, dtype, loc=3.0, spread=2.0, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(loc, spread, (n, d)).astype(dtype)
    y = ((X - loc) / spread @ rng.normal(size=d) + 0.1 * rng.normal(size=n)).astype(dtype)
    return X, y, rng


CASES = [
    # n, d, dtype, weighted, penalty, intercept: compiled (n * d >= 1e6) and NumPy paths
    (20_000, 50, np.float64, False, None, True),
    (20_000, 50, np.float32, False, None, True),
    (20_000, 50, np.float64, True, "l2", True),
    (20_000, 50, np.float32, True, "elasticnet", False),
    (300, 7, np.float64, False, None, True),
    (300, 7, np.float32, True, "l1", True),
]


@pytest.mark.parametrize("standardize", [True, False])
@pytest.mark.parametrize(("n", "d", "dtype", "weighted", "penalty", "intercept"), CASES)
def test_the_bound_is_above_the_exact_final_loss_and_close_to_it(
    n, d, dtype, weighted, penalty, intercept, standardize
):
    X, y, rng = _data(n, d, dtype)
    weight = rng.uniform(0, 2, n).astype(dtype) if weighted else None
    objective = _objective(X, y, weight, penalty, intercept, standardize)
    for scale in (1e-3, 1.0, 1e3):  # near the optimum, and far from it
        theta = (scale * rng.normal(size=objective.n_params)).astype(dtype)
        upper, exact = _both(objective, theta)
        assert upper is not None
        assert exact <= upper
        # float64: e is ~1e-13 of the loss's root; float32: the roundings of the exact pass
        assert upper <= exact * (1 + (1e-9 if dtype == np.float64 else 1e-2))


def test_the_bound_against_an_oracle_in_extended_precision():
    X, y, rng = _data(20_000, 50, np.float64)
    objective = _objective(X, y)
    theta = rng.normal(size=objective.n_params)
    mean, scale = objective.x_mean.astype(np.longdouble), objective.x_scale.astype(np.longdouble)
    weights, intercept = objective.split(theta)
    z = ((X.astype(np.longdouble) - mean) / scale) @ weights.astype(np.longdouble) + intercept
    oracle = float(np.mean((z - y) ** 2))
    upper = objective.loss_upper_bound(theta)
    assert upper is not None
    assert oracle * (1 - 1e-12) <= upper <= oracle * (1 + 1e-9)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize(("loc", "spread"), [(1e6, 1e-2), (-3e4, 1.0), (0.0, 1e-30), (1e20, 1e15)])
def test_the_bound_holds_where_means_dwarf_the_spread(dtype, loc, spread):
    if dtype == np.float32 and spread < 1e-20:
        spread = 1e-10  # a float32 spread of 1e-30 is subnormal: no such column is standardized
    X, y, rng = _data(20_000, 50, dtype, loc, spread)
    objective = _objective(X, y)
    for fitted in (False, True):
        theta = rng.normal(size=objective.n_params).astype(dtype)
        if fitted:  # the targets fitted exactly: the loss is all rounding, the bound all e
            objective.targets = objective.raw_output(theta).astype(dtype)
            objective._copy = None  # raw_output made the copy: read X itself again
        upper, exact = _both(objective, theta)
        assert upper is None or exact <= upper


@given(
    n=st.integers(1, 40),
    d=st.integers(1, 6),
    loc=st.sampled_from([0.0, 1.0, -1e3, 1e6, 1e12]),
    spread=st.sampled_from([1e-6, 1.0, 1e4]),
    size=st.sampled_from([1e-8, 1.0, 1e6]),
    dtype=st.sampled_from([np.float64, np.float32]),
    weighted=st.booleans(),
    standardize=st.booleans(),
    seed=st.integers(0, 2**16),
)
def test_the_bound_is_never_below_the_exact_loss(
    n, d, loc, spread, size, dtype, weighted, standardize, seed
):
    rng = np.random.default_rng(seed)
    X = (loc + spread * rng.standard_cauchy((n, d))).astype(dtype)
    y = (loc * rng.normal(size=n)).astype(dtype)
    weight = rng.uniform(0, 1, n).astype(dtype) if weighted else None
    if weight is not None:
        weight[0] = 1.0
    with np.errstate(all="ignore"):
        objective = _objective(X, y, weight, standardize=standardize)
        theta = (size * rng.normal(size=objective.n_params)).astype(dtype)
        upper, exact = _both(objective, theta)
    if upper is not None and np.isfinite(exact):
        assert exact <= upper


@given(
    history=st.lists(st.floats(0, 1e12, allow_nan=False), min_size=0, max_size=14),
    low=st.floats(0, 1e14, allow_nan=False),
    high=st.floats(0, 1e14, allow_nan=False),
)
def test_the_verdict_is_monotone_in_the_final_loss(history, low, high):
    """The engine's use of a bound rests on this: a larger final value never clears a run that a
    smaller one does not."""
    low, high = min(low, high), max(low, high)
    if verdict([*history, high], finished=True) is None:
        assert verdict([*history, low], finished=True) is None


def test_no_bound_for_other_losses_outputs_or_a_copy():
    X, y, rng = _data(300, 4, np.float64)
    objective = _objective(X, y)
    theta = rng.normal(size=objective.n_params)
    assert objective.loss_upper_bound(theta) is not None
    objective.loss_fn = losses.huber
    assert objective.loss_upper_bound(theta) is None
    objective = _objective(X, y)
    objective.X  # noqa: B018  (the copy, made on first use: the exact pass reads it anyway)
    assert objective.loss_upper_bound(theta) is None
    assert squared_error_upper_bound(X, X[0], X[0], X[0], np.c_[y, y], None, theta[:4], 0) is None
    # float32 with sample weights on many rows: the rounding of the weighted sum is too loose
    X32, y32 = X.astype(np.float32), y.astype(np.float32)
    big = np.repeat(X32, 400, axis=0), np.repeat(y32, 400)
    bound = squared_error_upper_bound(
        big[0], X32[0], X32[0] + 1, np.abs(X32).max(0), big[1], np.ones(120_000, np.float32),
        theta[:4].astype(np.float32), np.float32(0),
    )  # fmt: skip
    assert bound is None


def _fit_twice(monkeypatch, make, X, y):
    """The fit with the bound, and the same fit with only the exact final loss."""
    outcomes = []
    for use_bound in (True, False):
        if not use_bound:
            monkeypatch.setattr(LinearObjective, "loss_upper_bound", lambda self, theta: None)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                model = make().fit(X, y)
                outcome = (
                    model.coef_.tobytes(), np.asarray(model.intercept_).tobytes(),
                    list(model.loss_curve_), model.n_iter_,
                )  # fmt: skip
            except DivergenceError as error:
                outcome = (str(error), error.history.loss)
        outcomes.append((outcome, [str(w.message) for w in caught]))
    return outcomes


@pytest.mark.parametrize(
    "make",
    [
        lambda: GDRegressor(random_state=0),
        lambda: GDRegressor(max_iter=1, tol=None, random_state=0),
        lambda: GDRegressor(
            optimizer="sgd", learning_rate=0.01, batch_size=1, max_iter=3, random_state=0
        ),
        lambda: GDRegressor(
            optimizer="sgd", learning_rate=5.0, batch_size=64, max_iter=4, random_state=0
        ),
        lambda: GDRegressor(learning_rate=50.0, max_iter=5, tol=None, random_state=0),
        lambda: GDRegressor(standardize=False, random_state=0),
        lambda: GDRegressor(
            standardize=False,
            optimizer="sgd",
            learning_rate=1e-3,
            batch_size=1,
            max_iter=2,
            random_state=0,
        ),
        lambda: GDRegressor(
            standardize=False,
            optimizer="sgd",
            learning_rate=0.5,
            batch_size=64,
            max_iter=4,
            random_state=0,
        ),
    ],
)
@pytest.mark.parametrize("n", [500, 20_000])
def test_fits_end_the_same_with_and_without_the_bound(monkeypatch, make, n):
    X, y, _ = _data(n, 50, np.float64)
    with_bound, exact_only = _fit_twice(monkeypatch, make, X, y)
    assert with_bound == exact_only


@pytest.mark.parametrize(("learning_rate", "max_iter"), [(1.1, 1), (1.0, 3)])
def test_a_divergence_only_the_final_check_finds_shows_the_exact_loss(
    monkeypatch, learning_rate, max_iter
):
    X, y, _ = _data(20_000, 50, np.float64)
    make = lambda: GDRegressor(  # noqa: E731
        optimizer="sgd", learning_rate=learning_rate, batch_size=1000, max_iter=max_iter,
        tol=None, random_state=0,
    )  # fmt: skip
    with_bound, exact_only = _fit_twice(monkeypatch, make, X, y)
    assert with_bound == exact_only
    message = with_bound[0][0]
    assert f"diverged in epoch {max_iter}: the loss ended at" in message  # rule 4, final loss


def _recording(monkeypatch, owner, name):
    """Patch ``owner.name`` to record what each call returns; the list of results."""
    results, real = [], getattr(owner, name)

    def recorded(*args):
        results.append(real(*args))
        return results[-1]

    monkeypatch.setattr(owner, name, recorded)
    return results


@pytest.mark.filterwarnings("ignore:GDRegressor stopped after")
def test_a_default_fit_clears_its_final_check_without_the_division_pass(monkeypatch):
    X, y, _ = _data(20_000, 50, np.float64)
    divisions = _recording(monkeypatch, ScaledObjective, "loss_without_blas")
    finals = _recording(monkeypatch, engine, "_final_loss")
    GDRegressor().fit(X, y)
    assert len(finals) == 1 and not divisions


@pytest.mark.filterwarnings("ignore:GDRegressor stopped after")
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_an_unstandardized_fit_clears_its_final_check_without_storing_predictions(
    monkeypatch, dtype
):
    X, y, _ = _data(20_000, 50, dtype)
    exact = _recording(monkeypatch, LinearObjective, "loss_without_blas")
    bounds = _recording(monkeypatch, LinearObjective, "loss_upper_bound")
    GDRegressor(standardize=False).fit(X, y)
    assert len(bounds) == 1 and bounds[0] is not None and not exact


def test_a_bound_that_does_not_clear_the_run_falls_back_to_the_exact_loss(monkeypatch):
    X, y, _ = _data(20_000, 50, np.float64)
    monkeypatch.setattr(LinearObjective, "loss_upper_bound", lambda self, theta: 1e300)
    exact = _recording(monkeypatch, ScaledObjective, "loss_without_blas")
    model = GDRegressor(max_iter=3, tol=None).fit(X, y)  # no divergence: the exact loss decided
    assert len(exact) == 1 and exact[0] < model.loss_curve_[0]


@pytest.mark.parametrize("standardize", [True, False])
def test_a_mini_batch_fit_that_ends_above_its_first_epoch_mean_is_cleared_by_the_bound(
    monkeypatch, standardize
):
    """A mini-batch epoch's loss is a mean over its steps, not the loss at the start: one default
    epoch of Adam on 20,000 rows reaches its noise floor within the epoch and may end above that
    mean. That is no reason for the exact pass (nor for a warning): only full-batch runs, whose
    first epoch's loss is the loss at the start, compare the final loss with it."""
    rng = np.random.default_rng(0)
    X = rng.standard_normal((20_000, 50))
    y = X @ rng.standard_normal(50) + 0.5 + 0.1 * rng.standard_normal(20_000)
    finals = _recording(monkeypatch, engine, "_final_loss")
    exact = _recording(monkeypatch, LinearObjective, "loss_without_blas")
    exact_scaled = _recording(monkeypatch, ScaledObjective, "loss_without_blas")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        model = GDRegressor(max_iter=1, tol=None, random_state=0, standardize=standardize)
        model.fit(X, y)
    scale = model._target_scaling() ** 2
    assert len(finals) == 1 and not exact and not exact_scaled
    if standardize:  # above the epoch's mean: the case in point (unstandardized, the first
        # epoch starts far from the minimum, and its mean is far above the end)
        assert finals[0] * scale > model.loss_curve_[0]
