"""GDRegressor against exact answers: the closed form, textbook one-step formulas, its own rules.

Oracles: :func:`gdlab.least_squares` (checked against scikit-learn's LinearRegression and Ridge),
SciPy's L-BFGS on an independently written Huber objective, the update rule written out in the
test, and the stopping rules recomputed from the recorded loss curve.
"""

from __future__ import annotations

import math
import re
import warnings

import numpy as np
import pytest
import scipy.optimize
from sklearn.datasets import load_diabetes
from sklearn.exceptions import ConvergenceWarning, NotFittedError
from sklearn.linear_model import Lasso, LinearRegression, Ridge
from sklearn.preprocessing import StandardScaler

from gdlab import DivergenceError, GDClassifier, GDRegressor, compare_closed_form, least_squares
from gdlab import schedules as gd_schedules

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


@pytest.fixture(scope="module")
def noisy():
    """A small well-conditioned problem with noise: the exact solution is not the truth."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(120, 3))
    y = X @ np.array([1.5, -2.0, 0.5]) + 3.0 + 0.3 * rng.normal(size=120)
    return X, y


@pytest.fixture(scope="module")
def realizable():
    """Noise-free data: every per-sample gradient vanishes at the exact solution, so stochastic
    and mini-batch training converge to it with a constant rate."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(64, 2))
    return X, X @ np.array([1.5, -2.0]) + 3.0


def lipschitz(X, alpha=0.0):
    """L of the mean squared error in (w, b): 2 lambda_max([X, 1]' [X, 1] / n) (+ alpha)."""
    design = np.column_stack([X, np.ones(len(X))])
    return 2.0 * np.linalg.eigvalsh(design.T @ design / len(X))[-1] + alpha


def full_gd(**kwargs):
    settings = dict(optimizer="sgd", batch_size=None, tol=None, shuffle=False, standardize=False)
    settings.update(kwargs)
    return GDRegressor(**settings)


def params_of(model):
    return np.r_[model.coef_, model.intercept_]


# ---- the closed form ---------------------------------------------------------------------------


def test_full_batch_gradient_descent_reaches_the_closed_form(noisy):
    X, y = noisy
    model = full_gd(learning_rate=1.0 / lipschitz(X), max_iter=400).fit(X, y)
    exact = least_squares(X, y)
    reference = LinearRegression().fit(X, y)
    np.testing.assert_allclose(exact.coef, reference.coef_, rtol=1e-12)
    np.testing.assert_allclose(model.coef_, exact.coef, atol=1e-6)
    assert model.intercept_[0] == pytest.approx(exact.intercept, abs=1e-6)
    report = compare_closed_form(model.coef_, model.intercept_[0], X, y)
    assert report.param_distance < 1e-6
    assert abs(report.loss_gap) < 1e-12
    assert model.loss_curve_[-1] == pytest.approx(exact.loss, rel=1e-9)


def test_ridge_penalty_reaches_the_ridge_closed_form(noisy):
    X, y = noisy
    alpha = 0.5
    model = full_gd(
        learning_rate=1.0 / lipschitz(X, alpha), max_iter=400, penalty="l2", alpha=alpha
    ).fit(X, y)
    exact = least_squares(X, y, alpha=alpha)
    # gdlab's objective mean((y - Xw - b)^2) + alpha/2 ||w||^2 is scikit-learn's Ridge with
    # ||y - Xw - b||^2 + a ||w||^2 for a = n alpha / 2.
    ridge = Ridge(alpha=len(y) * alpha / 2).fit(X, y)
    np.testing.assert_allclose(exact.coef, ridge.coef_, rtol=1e-10)
    np.testing.assert_allclose(model.coef_, exact.coef, atol=1e-6)
    assert model.intercept_[0] == pytest.approx(exact.intercept, abs=1e-6)
    assert model.loss_curve_[-1] == pytest.approx(exact.loss, rel=1e-9)


def test_l1_penalty_approaches_lasso(noisy):
    X, y = noisy
    X = np.column_stack([X, np.random.default_rng(1).normal(size=len(y))])  # a useless feature
    alpha = 0.2
    # scikit-learn's Lasso minimises ||y - Xw - b||^2 / (2n) + a ||w||_1, half of gdlab's
    # mean squared error + alpha ||w||_1 with a = alpha / 2.
    lasso = Lasso(alpha=alpha / 2, tol=1e-12, max_iter=100_000).fit(X, y)
    model = full_gd(learning_rate=0.01, max_iter=3000, penalty="l1", alpha=alpha).fit(X, y)
    # Subgradient steps keep zero coefficients jittering within about learning_rate * alpha.
    np.testing.assert_allclose(model.coef_, lasso.coef_, atol=5e-3)
    assert lasso.coef_[3] == 0.0 and abs(model.coef_[3]) < 5e-3


def test_huber_loss_matches_an_independent_minimiser():
    rng = np.random.default_rng(3)
    X = rng.normal(size=(100, 2))
    y = X @ np.array([2.0, -1.0]) + 1.0 + 0.1 * rng.normal(size=100)
    y[:5] += 30.0  # outliers
    delta = 1.0

    def objective(theta):
        r = X @ theta[:2] + theta[2] - y
        quadratic = np.abs(r) <= delta
        return np.mean(np.where(quadratic, 0.5 * r**2, delta * (np.abs(r) - 0.5 * delta)))

    best = scipy.optimize.minimize(objective, np.zeros(3), method="BFGS", tol=1e-12).x
    model = full_gd(loss="huber", epsilon=delta, learning_rate=0.5, max_iter=3000).fit(X, y)
    np.testing.assert_allclose(params_of(model), best, atol=1e-5)
    ols = least_squares(X, y)
    assert abs(ols.intercept - 1.0) > 1.0 > abs(model.intercept_[0] - 1.0)  # robust to outliers


OPTIMIZER_SETTINGS = {
    "sgd": dict(learning_rate=0.1),
    "momentum": dict(learning_rate=0.03),
    "nesterov": dict(learning_rate=0.03),
    "adagrad": dict(learning_rate=0.5),
    "rmsprop": dict(learning_rate=0.03, schedule="cosine"),
    "adam": dict(learning_rate=0.03),
    "adamw": dict(learning_rate=0.03, optimizer_params={"weight_decay": 0.0}),
    "pid": dict(learning_rate=0.2, optimizer_params={"kp": 0.5, "ki": 0.02, "kd": 0.2}),
}
EPOCHS = {None: 500, 16: 150, 1: 40}


@pytest.mark.parametrize("batch_size", [None, 1, 16], ids=["full", "stochastic", "mini16"])
@pytest.mark.parametrize("optimizer", sorted(OPTIMIZER_SETTINGS))
def test_every_optimizer_and_batch_mode_reaches_the_closed_form(realizable, optimizer, batch_size):
    X, y = realizable
    model = GDRegressor(
        optimizer=optimizer,
        batch_size=batch_size,
        max_iter=EPOCHS[batch_size],
        tol=None,
        random_state=0,
        **OPTIMIZER_SETTINGS[optimizer],
    ).fit(X, y)
    exact = least_squares(X, y)
    np.testing.assert_allclose(params_of(model), np.r_[exact.coef, exact.intercept], atol=1e-6)
    updates_per_epoch = math.ceil(len(y) / (batch_size or len(y)))
    assert model.t_ == EPOCHS[batch_size] * updates_per_epoch


def test_adamw_weight_decay_shrinks_towards_zero(realizable):
    X, y = realizable
    plain = GDRegressor(
        optimizer="adam", learning_rate=0.03, max_iter=150, tol=None, batch_size=16, random_state=0
    ).fit(X, y)
    decayed = GDRegressor(
        optimizer="adamw",
        learning_rate=0.03,
        max_iter=150,
        tol=None,
        batch_size=16,
        random_state=0,
        optimizer_params={"weight_decay": 0.5},
    ).fit(X, y)
    assert np.linalg.norm(decayed.coef_) < np.linalg.norm(plain.coef_) - 0.1


def test_stochastic_training_on_noisy_data_anneals_to_the_closed_form(noisy):
    X, y = noisy
    model = GDRegressor(
        optimizer="sgd",
        learning_rate=0.02,
        batch_size=8,
        max_iter=200,
        schedule="cosine",
        tol=None,
        random_state=0,
    ).fit(X, y)
    exact = least_squares(X, y)
    np.testing.assert_allclose(params_of(model), np.r_[exact.coef, exact.intercept], atol=2e-3)


# ---- schedules ---------------------------------------------------------------------------------


def expected_rates(name, lr, epochs, per_epoch, params):
    """The rate at the start of each epoch, written out from the documented formulas."""
    t = np.arange(epochs) * per_epoch  # updates made before each epoch
    total = epochs * per_epoch
    if name == "constant":
        return np.full(epochs, lr)
    if name == "invscaling":
        return lr / (t + 1.0) ** params.get("power_t", 0.25)
    if name == "step":
        step = params.get("step_epochs", max(1, epochs // 3)) * per_epoch
        return lr * params.get("gamma", 0.1) ** (t // step)
    if name == "exponential":
        return lr * params.get("decay_rate", 0.95) ** (t / per_epoch)
    if name == "cosine":
        alpha = params.get("alpha", 0.0)
        return lr * ((1 - alpha) * 0.5 * (1 + np.cos(np.pi * np.minimum(t, total) / total)) + alpha)
    if name == "warmup_cosine":
        warmup = params.get("warmup_epochs", 5) * per_epoch
        decay = total - warmup
        cosine = lr * 0.5 * (1 + np.cos(np.pi * np.minimum(t - warmup, decay) / decay))
        return np.where(t < warmup, lr * t / warmup, cosine)
    raise AssertionError(name)


@pytest.mark.parametrize(
    ("name", "params"),
    [
        ("constant", {}),
        ("invscaling", {}),
        ("invscaling", {"power_t": 0.3}),
        ("step", {}),
        ("step", {"step_epochs": 20, "gamma": 0.5}),
        ("exponential", {"decay_rate": 0.97}),
        ("cosine", {}),
        ("cosine", {"alpha": 0.1}),
        ("warmup_cosine", {"warmup_epochs": 3}),
    ],
)
def test_named_schedules_follow_their_formulas_and_still_converge(realizable, name, params):
    X, y = realizable
    epochs, batch_size = 60, 16
    model = GDRegressor(
        optimizer="sgd",
        learning_rate=0.1,
        batch_size=batch_size,
        max_iter=epochs,
        tol=None,
        schedule=name,
        schedule_params=params or None,
        random_state=0,
    ).fit(X, y)
    per_epoch = math.ceil(len(y) / batch_size)
    np.testing.assert_allclose(
        model.history_.learning_rate,
        expected_rates(name, 0.1, epochs, per_epoch, params),
        rtol=1e-12,
        atol=1e-15,
    )
    exact = least_squares(X, y)
    np.testing.assert_allclose(params_of(model), np.r_[exact.coef, exact.intercept], atol=1e-3)


def test_a_callable_schedule_is_used_per_update_exactly(noisy):
    X, y = noisy
    X1 = X[:, :1]

    def rate(step):
        return 0.2 / (1 + step) ** 0.5

    model = full_gd(schedule=rate, max_iter=30, learning_rate=1.0).fit(
        X1, y, coef_init=[0.0], intercept_init=0.0
    )
    w, b = 0.0, 0.0
    x = X1[:, 0]
    for step in range(30):
        r = w * x + b - y
        w, b = w - rate(step) * 2 * np.mean(r * x), b - rate(step) * 2 * np.mean(r)
    assert model.coef_[0] == pytest.approx(w, rel=1e-12)
    assert model.intercept_[0] == pytest.approx(b, rel=1e-12)
    assert model.history_.learning_rate == [rate(s) for s in range(30)]
    # A gdlab schedule object is a callable too.
    decay = gd_schedules.exponential_decay(0.2, 0.9)
    model = full_gd(schedule=decay, max_iter=5).fit(X1, y)
    np.testing.assert_allclose(model.history_.learning_rate, 0.2 * 0.9 ** np.arange(5))


def test_adaptive_schedule_divides_the_rate_by_five_on_plateaus(noisy):
    X, y = noisy
    model = GDRegressor(
        optimizer="sgd",
        standardize=False,
        learning_rate=0.05,
        batch_size=4,
        max_iter=300,
        schedule="adaptive",
        tol=1e-3,
        n_iter_no_change=3,
        random_state=0,
    ).fit(X, y)
    rates = np.array(model.history_.learning_rate)
    ratios = rates[1:] / rates[:-1]
    changes = ratios[~np.isclose(ratios, 1.0)]
    assert np.all(np.diff(rates) <= 0)
    # divided by 5 on every plateau until the floor of 1e-6 times the initial rate...
    np.testing.assert_allclose(changes[:-1], 0.2)
    assert rates[-1] == pytest.approx(0.05 * 1e-6)
    # ...where training stops, converged
    assert model.n_iter_ < 300 and "already at its minimum" in model.history_.stop_reason
    exact = least_squares(X, y)
    np.testing.assert_allclose(params_of(model), np.r_[exact.coef, exact.intercept], atol=1e-2)


def test_bad_schedule_params_are_refused(noisy):
    X, y = noisy
    with pytest.raises(ValueError, match=r"'gama'.*Keys it reads: step_epochs, gamma"):
        GDRegressor(schedule="step", schedule_params={"gama": 0.5}).fit(X, y)
    with pytest.raises(ValueError, match=r"schedule=None does not use: 'power_t'"):
        GDRegressor(schedule_params={"power_t": 0.5}).fit(X, y)


# ---- standardization, initial values ------------------------------------------------------------


def test_standardize_reports_coefficients_in_original_units():
    rng = np.random.default_rng(5)
    scales = np.array([1.0, 100.0, 0.01])
    X = rng.normal(size=(150, 3)) * scales + np.array([5.0, -300.0, 0.02])
    y = X @ np.array([2.0, 0.03, 150.0]) + 4.0 + 0.1 * rng.normal(size=150)
    exact = least_squares(X, y)
    model = full_gd(learning_rate=0.2, max_iter=300, standardize=True).fit(X, y)
    np.testing.assert_allclose(model.coef_, exact.coef, rtol=1e-6)
    assert model.intercept_[0] == pytest.approx(exact.intercept, rel=1e-6)
    np.testing.assert_allclose(model.predict(X), X @ exact.coef + exact.intercept, atol=1e-6)
    # Without standardizing, the same rate diverges on these scales...
    with pytest.raises(DivergenceError, match="standardize the features"):
        full_gd(learning_rate=0.2, max_iter=300).fit(X, y)
    # ...and with a stable rate it crawls: after 300 epochs it is still far from the solution.
    slow = full_gd(learning_rate=1.0 / lipschitz(X), max_iter=300).fit(X, y)
    assert np.abs(slow.coef_ - exact.coef).max() > 1.0


def test_initial_values_and_the_first_step():
    rng = np.random.default_rng(2)
    X = rng.normal(size=(40, 2))
    y = X @ np.array([1.0, -1.0]) + 2.0 + rng.normal(size=40)
    lr = 0.1
    w0, b0 = np.array([0.5, 0.25]), -1.0
    model = full_gd(learning_rate=lr, max_iter=1, record_params=True)
    model.fit(X, y, coef_init=w0, intercept_init=b0)
    r = X @ w0 + b0 - y
    np.testing.assert_allclose(model.coef_, w0 - lr * 2 * X.T @ r / len(y), rtol=1e-13)
    assert model.intercept_[0] == pytest.approx(b0 - lr * 2 * r.mean(), rel=1e-13)
    np.testing.assert_array_equal(model.history_.params[0], np.r_[w0, b0])
    assert model.loss_curve_ == [pytest.approx(np.mean(r**2), rel=1e-13)]

    # Defaults: zero coefficients and the intercept at mean(y) (the best one for them)...
    start = full_gd(max_iter=1, record_params=True).fit(X, y).history_.params[0]
    np.testing.assert_allclose(start, [0.0, 0.0, y.mean()], rtol=1e-14)
    # ...or at the mean residual of the given coefficients.
    start = full_gd(max_iter=1, record_params=True).fit(X, y, coef_init=w0).history_.params[0]
    np.testing.assert_allclose(start, np.r_[w0, np.mean(y - X @ w0)], rtol=1e-14)
    start = (
        full_gd(max_iter=1, record_params=True, standardize=True)
        .fit(X * 10, y, coef_init=w0)
        .history_.params[0]
    )
    np.testing.assert_allclose(start, np.r_[w0, np.mean(y - X * 10 @ w0)], rtol=1e-12)


def test_bad_initial_values_are_refused(noisy):
    X, y = noisy
    with pytest.raises(ValueError, match=r"coef_init has 2 values; expected shape \(3,\)"):
        GDRegressor().fit(X, y, coef_init=[1.0, 2.0])
    with pytest.raises(ValueError, match="intercept_init has 2 values; expected 1"):
        GDRegressor().fit(X, y, intercept_init=[1.0, 2.0])
    with pytest.raises(ValueError, match="must be finite"):
        GDRegressor().fit(X, y, coef_init=[1.0, np.nan, 0.0])


# ---- continuing: warm start and partial_fit ----------------------------------------------------


@pytest.mark.parametrize(
    "schedule", [None, "invscaling", "exponential", "adaptive", gd_schedules.inverse_scaling(0.05)]
)
def test_warm_start_continues_exactly(noisy, schedule):
    X, y = noisy
    settings = dict(
        optimizer="adam",
        batch_size=16,
        shuffle=True,
        random_state=3,
        tol=None,
        learning_rate=0.05,
        schedule=schedule,
    )
    straight = GDRegressor(max_iter=20, **settings).fit(X, y)
    resumed = GDRegressor(max_iter=10, warm_start=True, **settings).fit(X, y)
    first_half = resumed.coef_.copy()
    resumed.fit(X, y)
    assert not np.array_equal(first_half, resumed.coef_)
    np.testing.assert_array_equal(resumed.coef_, straight.coef_)
    np.testing.assert_array_equal(resumed.intercept_, straight.intercept_)
    assert resumed.loss_curve_ == straight.loss_curve_
    assert resumed.history_.learning_rate == straight.history_.learning_rate
    assert resumed.t_ == straight.t_ and resumed.n_iter_ == 10


def test_warm_start_keeps_the_cosine_horizon_of_the_first_fit(noisy):
    X, y = noisy
    settings = dict(
        optimizer="sgd",
        learning_rate=0.05,
        batch_size=16,
        random_state=0,
        tol=None,
        schedule="cosine",
    )
    resumed = GDRegressor(max_iter=10, warm_start=True, **settings).fit(X, y)
    first = list(resumed.history_.learning_rate)
    # annealed over the first call's 10 epochs: the last epoch starts at 0.05 cos^2(0.45 pi)
    assert first[-1] == pytest.approx(0.05 * 0.5 * (1 + np.cos(0.9 * np.pi)), rel=1e-12)
    assert resumed.schedule_horizon_ == 10
    resumed.fit(X, y)
    # the horizon was decided by the first fit: the schedule has ended, its rate stays at 0
    assert resumed.history_.learning_rate[10:] == [0.0] * 10
    # planned with horizon_epochs, 10 + 10 epochs follow the cosine of a 20-epoch run
    planned = dict(settings, schedule_params={"horizon_epochs": 20})
    straight = GDRegressor(max_iter=20, **planned).fit(X, y)
    twice = GDRegressor(max_iter=10, warm_start=True, **planned).fit(X, y).fit(X, y)
    assert twice.history_.learning_rate == straight.history_.learning_rate
    np.testing.assert_array_equal(twice.coef_, straight.coef_)


def test_warm_start_cannot_be_combined_with_initial_values(noisy):
    X, y = noisy
    model = GDRegressor(max_iter=2, warm_start=True).fit(X, y)
    with pytest.raises(ValueError, match="warm start"):
        model.fit(X, y, coef_init=np.zeros(3))
    with pytest.raises(ValueError, match="X has 2 features, but GDRegressor is expecting 3"):
        model.fit(X[:, :2], y)


def test_without_warm_start_a_second_fit_starts_again(noisy):
    X, y = noisy
    model = GDRegressor(max_iter=5, random_state=0, tol=None).fit(X, y)
    first = model.coef_.copy()
    model.fit(X, y)
    np.testing.assert_array_equal(model.coef_, first)
    assert len(model.loss_curve_) == 5


def test_partial_fit_is_one_epoch_per_call(noisy):
    X, y = noisy
    straight = GDRegressor(max_iter=5, tol=None, random_state=1).fit(X, y)
    model = GDRegressor(random_state=1)
    for _ in range(5):
        model.partial_fit(X, y)
        assert model.n_iter_ == 1
    np.testing.assert_array_equal(model.coef_, straight.coef_)
    assert model.loss_curve_ == straight.loss_curve_
    assert model.t_ == straight.t_ == 5 * math.ceil(len(y) / 32)
    with pytest.raises(ValueError, match="X has 2 features"):
        model.partial_fit(X[:, :2], y)


def test_partial_fit_on_chunks_keeps_the_first_scaling(noisy):
    X, y = noisy
    model = GDRegressor(standardize=True, random_state=0, learning_rate=0.05)
    for _ in range(40):
        for chunk in np.array_split(np.arange(len(y)), 4):
            model.partial_fit(X[chunk] * 3 + 1, y[chunk])
    exact = least_squares(X * 3 + 1, y)
    np.testing.assert_allclose(params_of(model), np.r_[exact.coef, exact.intercept], atol=0.05)


# ---- stopping rules ----------------------------------------------------------------------------


def first_stop(losses, tol, patience):
    """The tol / n_iter_no_change rule replayed on a loss curve: the number of epochs run."""
    best, bad = math.inf, 0
    for epoch, loss in enumerate(losses):
        bad = bad + 1 if loss > best - tol else 0
        best = min(best, loss)
        if bad >= patience:
            return epoch + 1
    return None


def test_tol_and_n_iter_no_change_stop_where_the_rule_says(noisy):
    X, y = noisy
    model = full_gd(learning_rate=0.05, max_iter=1000, tol=1e-3, n_iter_no_change=4).fit(X, y)
    assert model.n_iter_ < 1000
    assert first_stop(model.loss_curve_, 1e-3, 4) == model.n_iter_
    assert "improved by less than tol=0.001 for 4 consecutive epochs" in model.history_.stop_reason
    longer = full_gd(learning_rate=0.05, max_iter=1000, tol=1e-6, n_iter_no_change=4).fit(X, y)
    assert longer.n_iter_ > model.n_iter_
    assert longer.loss_curve_[: model.n_iter_] == model.loss_curve_


def test_max_iter_without_settling_warns(noisy):
    X, y = noisy
    with pytest.warns(ConvergenceWarning, match="max_iter=3"):
        full_gd(learning_rate=0.001, max_iter=3, tol=1e-4).fit(X, y)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        full_gd(learning_rate=0.001, max_iter=3, tol=None).fit(X, y)  # tol=None: no warning


def test_early_stopping_keeps_the_best_validation_parameters():
    rng = np.random.default_rng(4)
    X = rng.normal(size=(60, 30))  # many features, few rows: training long overfits
    y = X[:, 0] + 0.5 * rng.normal(size=60)
    model = GDRegressor(
        optimizer="sgd",
        batch_size=None,
        learning_rate=0.05,
        max_iter=400,
        early_stopping=True,
        validation_fraction=0.25,
        n_iter_no_change=20,
        tol=1e-4,
        random_state=0,
        record_params=True,
    ).fit(X, y)
    val = np.array(model.history_.val_loss, dtype=float)
    assert len(val) == model.n_iter_ < 400 and np.all(np.isfinite(val))
    best = int(np.argmin(val))
    assert best < model.n_iter_ - 1  # it kept training past the best epoch, then went back
    np.testing.assert_array_equal(params_of(model), model.history_.params[best + 1])
    assert "validation loss" in model.history_.stop_reason
    assert first_stop(val, 1e-4, 20) == model.n_iter_
    with pytest.raises(ValueError, match=r"with 1 samples and validation_fraction=0\.1 there"):
        GDRegressor(early_stopping=True).fit(X[:1], y[:1])


# ---- what is recorded ----------------------------------------------------------------------


@pytest.mark.parametrize("batch_size", [None, 7])
def test_history_fields(noisy, batch_size):
    X, y = noisy
    n = len(y)
    model = GDRegressor(
        optimizer="sgd",
        standardize=False,  # the gradient norms below are in the units of X
        learning_rate=0.05,
        batch_size=batch_size,
        max_iter=6,
        tol=None,
        record_params=True,
        random_state=0,
        backend="numpy",
    ).fit(X, y)
    history = model.history_
    per_epoch = math.ceil(n / (batch_size or n))
    assert history.epoch == list(range(6))
    assert history.n_updates == [per_epoch * (e + 1) for e in range(6)]
    assert history.n_samples_seen == [n * (e + 1) for e in range(6)]
    assert history.learning_rate == [0.05] * 6
    assert history.val_loss == [None] * 6
    assert history.loss == model.loss_curve_
    assert history.backend == "numpy"
    assert len(history.params) == 7
    np.testing.assert_array_equal(history.params[-1], params_of(model))
    if batch_size is None:
        # full batch: the loss and the gradient norm at the parameters each epoch starts from
        for epoch in range(6):
            w, b = history.params[epoch][:3], history.params[epoch][3]
            r = X @ w + b - y
            assert history.loss[epoch] == pytest.approx(np.mean(r**2), rel=1e-12)
            grad = np.r_[2 * X.T @ r / n, 2 * r.mean()]
            assert history.grad_norm[epoch] == pytest.approx(np.linalg.norm(grad), rel=1e-12)


def test_record_params_path_is_in_original_units_with_standardize(noisy):
    X, y = noisy
    X = X * [1.0, 10.0, 0.1] + 3.0
    model = full_gd(learning_rate=0.1, max_iter=5, standardize=True, record_params=True)
    model.fit(X, y, coef_init=[0.1, 0.2, 0.3], intercept_init=1.0)
    path = model.history_.param_path()
    assert path.shape == (6, 4)
    np.testing.assert_allclose(path[0], [0.1, 0.2, 0.3, 1.0], rtol=1e-12)
    np.testing.assert_array_equal(path[-1], params_of(model))
    for epoch in range(5):  # the loss recorded is the loss of the recorded parameters
        r = X @ path[epoch, :3] + path[epoch, 3] - y
        assert model.loss_curve_[epoch] == pytest.approx(np.mean(r**2), rel=1e-10)
    with pytest.raises(ValueError, match="record_params=True"):
        full_gd(max_iter=2).fit(*noisy).history_.param_path()


def test_clip_norm_bounds_every_step(noisy):
    X, y = noisy
    lr, clip = 0.1, 0.5
    model = full_gd(learning_rate=lr, max_iter=150, clip_norm=clip, record_params=True)
    model.fit(X, y, coef_init=np.zeros(3), intercept_init=0.0)
    steps = np.linalg.norm(np.diff(model.history_.param_path(), axis=0), axis=1)
    expected = lr * np.minimum(model.history_.grad_norm, clip)
    np.testing.assert_allclose(steps, expected, rtol=1e-12, atol=1e-15)
    assert steps[0] == pytest.approx(lr * clip)  # the first gradients are large and clipped
    assert model.history_.grad_norm[-1] < clip  # ...the last ones pass unchanged


def test_verbose_prints_one_line_per_epoch(noisy, capsys):
    X, y = noisy
    full_gd(max_iter=3, verbose=1).fit(X, y)
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 3 and lines[0].startswith("Epoch    1, loss=")


# ---- sample weights and dtypes -------------------------------------------------------------------


def test_integer_sample_weights_equal_repeated_rows(noisy):
    X, y = noisy
    weights = np.random.default_rng(0).integers(0, 4, size=len(y))
    weighted = full_gd(learning_rate=0.1, max_iter=50).fit(X, y, sample_weight=weights)
    repeated = full_gd(learning_rate=0.1, max_iter=50).fit(
        np.repeat(X, weights, axis=0), np.repeat(y, weights)
    )
    np.testing.assert_allclose(params_of(weighted), params_of(repeated), rtol=1e-12)
    np.testing.assert_allclose(weighted.loss_curve_, repeated.loss_curve_, rtol=1e-12)
    converged = full_gd(learning_rate=0.1, max_iter=500).fit(X, y, sample_weight=weights)
    exact = least_squares(X, y, sample_weight=weights)
    np.testing.assert_allclose(params_of(converged), np.r_[exact.coef, exact.intercept], atol=1e-8)


@pytest.mark.parametrize(
    ("weight", "message"),
    [
        (-np.ones(120), "non-negative"),
        (np.zeros(120), "sums to zero"),
        (np.ones(5), r"sample_weight.shape == \(5,\), expected \(120,\)"),
        (np.full(120, np.nan), "NaN or infinite"),
    ],
)
def test_bad_sample_weights_are_refused(noisy, weight, message):
    X, y = noisy
    with pytest.raises(ValueError, match=message):
        GDRegressor().fit(X, y, sample_weight=weight)


def test_float32_input_keeps_float32(noisy):
    X, y = noisy
    model = GDRegressor(random_state=0, max_iter=20).fit(X.astype(np.float32), y)
    assert model.coef_.dtype == np.float32 and model.intercept_.dtype == np.float32
    assert model.predict(X.astype(np.float32)).dtype == np.float32
    reference = GDRegressor(random_state=0, max_iter=20).fit(X, y)
    np.testing.assert_allclose(model.coef_, reference.coef_, atol=1e-4)
    assert model._train_state.params.dtype == np.float32


def test_integer_and_list_inputs(noisy):
    X, y = noisy
    Xi = np.round(X * 10).astype(int)
    model = full_gd(learning_rate=0.002, max_iter=5).fit(Xi.tolist(), np.round(y).astype(int))
    assert model.coef_.dtype == np.float64
    assert model.predict(Xi[:2]).shape == (2,)


def test_bad_inputs_get_scikit_learn_messages(noisy):
    X, y = noisy
    bad = X.copy()
    bad[3, 1] = np.nan
    with pytest.raises(ValueError, match="Input X contains NaN"):
        GDRegressor().fit(bad, y)
    with pytest.raises(ValueError, match="inconsistent numbers of samples"):
        GDRegressor().fit(X, y[:-1])
    model = GDRegressor(max_iter=2).fit(X, y)
    with pytest.raises(ValueError, match="X has 2 features, but GDRegressor is expecting 3"):
        model.predict(X[:, :2])


# ---- divergence ---------------------------------------------------------------------------------


def test_divergence_error_names_the_epoch_the_bound_and_a_rate(noisy):
    X, y = noisy
    bound = 2.0 / lipschitz(X)
    with pytest.raises(DivergenceError) as caught:
        full_gd(learning_rate=1.5 * bound, max_iter=500).fit(X, y)
    error = caught.value
    text = str(error)
    assert f"Training diverged in epoch {error.epoch + 1}" in text
    assert f"2/L = {bound:.4g}" in text
    assert error.suggested_learning_rate == pytest.approx(bound / 2, rel=1e-9)
    assert f"learning_rate={bound / 2:.3g}" in text
    assert "standardize" not in text  # the features have similar scales
    assert len(error.history.loss) == error.epoch
    model = full_gd(learning_rate=1.5 * bound, max_iter=500)
    with pytest.raises(DivergenceError):
        model.fit(X, y)
    with pytest.raises(NotFittedError):  # a diverged fit leaves no half-fitted model
        model.predict(X)
    # a rate just below 2/L does not diverge
    full_gd(learning_rate=0.95 * bound, max_iter=200).fit(X, y)


def test_divergence_advises_standardizing_when_scales_differ(noisy):
    X, y = noisy
    X = X * [1.0, 1000.0, 1.0]
    with pytest.raises(DivergenceError) as caught:
        full_gd(learning_rate=0.01, max_iter=500).fit(X, y)
    assert re.search(
        r"standardize=True\): their scales differ by a factor of 1\.\d+e\+03", str(caught.value)
    )
    full_gd(learning_rate=0.01, max_iter=500, standardize=True).fit(X, y)  # and that cures it


def test_a_diverging_warm_start_leaves_the_model_as_it_was(noisy):
    X, y = noisy
    model = full_gd(learning_rate=0.05, max_iter=5, warm_start=True).fit(X, y)
    coef, curve = model.coef_.copy(), list(model.loss_curve_)
    model.set_params(learning_rate=50.0, max_iter=50)
    with pytest.raises(DivergenceError) as caught:
        model.fit(X, y)
    np.testing.assert_array_equal(model.coef_, coef)
    assert model.history_.loss == curve
    assert len(caught.value.history.loss) > len(curve)
    model.set_params(learning_rate=0.05, max_iter=5)
    straight = full_gd(learning_rate=0.05, max_iter=10).fit(X, y)
    model.fit(X, y)
    np.testing.assert_array_equal(model.coef_, straight.coef_)


# ---- defaults ----------------------------------------------------------------------------------


def test_defaults_work_on_standardized_real_data():
    X, y = load_diabetes(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    reference = LinearRegression().fit(X, y).score(X, y)
    model = GDRegressor(random_state=0).fit(X, y)
    assert model.score(X, y) == pytest.approx(reference, abs=0.01)
    # the same through standardize=True on the raw features
    raw, _ = load_diabetes(return_X_y=True, scaled=False)
    assert GDRegressor(random_state=0, standardize=True).fit(raw, y).score(raw, y) == (
        pytest.approx(reference, abs=0.01)
    )


def test_docstring_settings_of_the_issue_reproduce_plain_gradient_descent():
    """The issue's GDRegressor(optimizer="sgd", batch_size=None, learning_rate=0.01, max_iter=500,
    tol=None, shuffle=False) is plain full-batch gradient descent: check one step by hand."""
    x = np.array([[0.0], [1.0], [2.0], [3.0]])
    y = np.array([1.0, 3.0, 2.0, 5.0])
    model = GDRegressor(
        optimizer="sgd", batch_size=None, learning_rate=0.01, max_iter=1, tol=None, shuffle=False,
        standardize=False,
    ).fit(x, y, coef_init=[0.0], intercept_init=0.0)  # fmt: skip
    assert model.coef_[0] == pytest.approx(0.01 * 2 * np.mean(x.ravel() * y), rel=1e-14)
    assert model.intercept_[0] == pytest.approx(0.01 * 2 * np.mean(y), rel=1e-14)


# ---- parameter validation ------------------------------------------------------------------

BAD_PARAMETERS = [
    (
        "loss",
        "absolute",
        "a str among {'squared_error', 'huber', 'epsilon_insensitive', "
        "'squared_epsilon_insensitive', 'poisson'}",
        "'absolute'",
    ),
    ("penalty", "l3", "a str among {'l2', 'l1', 'elasticnet'} or None", "'l3'"),
    ("alpha", -1, "a float >= 0", "-1"),
    ("alpha", np.nan, "a float >= 0", "nan"),
    ("alpha", "0.1", "a float >= 0", "'0.1'"),
    ("l1_ratio", 1.5, "a float in the range [0, 1]", "1.5"),
    ("fit_intercept", "yes", "a bool", "'yes'"),
    ("fit_intercept", 1, "a bool", "1"),
    (
        "optimizer",
        "adamx",
        "a str among {'sgd', 'momentum', 'nesterov', 'adagrad', 'rmsprop', "
        "'adam', 'adamw', 'pid'} or a GradientTransformation",
        "'adamx'",
    ),
    ("learning_rate", -1, "a float > 0", "-1"),
    ("learning_rate", 0, "a float > 0", "0"),
    ("learning_rate", None, "a float > 0", "None"),
    ("learning_rate", True, "a float > 0", "True"),
    ("momentum", 1.0, "a float in the range [0, 1) or None", "1.0"),
    ("momentum", -0.5, "a float in the range [0, 1) or None", "-0.5"),
    ("optimizer_params", [1], "a dict or None", "[1]"),
    (
        "schedule",
        "cos",
        "a str among {'constant', 'inverse_scaling', 'step_decay', 'exponential_decay', "
        "'cosine_decay', 'warmup_cosine_decay', 'reduce_on_plateau', 'one_cycle', 'cyclic', "
        "'multistep_decay', 'polynomial_decay', 'cosine_restarts'} (or an alias: 'invscaling', "
        "'step', 'exponential', 'cosine', 'warmup_cosine', 'adaptive'), a callable or None",
        "'cos'",
    ),
    ("schedule_params", "fast", "a dict or None", "'fast'"),
    ("batch_size", 0, "an int >= 1 or None", "0"),
    ("batch_size", 2.5, "an int >= 1 or None", "2.5"),
    ("max_iter", 0, "an int >= 1", "0"),
    ("max_iter", 10.0, "an int >= 1", "10.0"),
    ("tol", -1e-3, "a float >= 0 or None", "-0.001"),
    ("n_iter_no_change", 0, "an int >= 1", "0"),
    ("early_stopping", "no", "a bool", "'no'"),
    ("validation_fraction", 1.0, "a float in the range (0, 1)", "1.0"),
    ("validation_fraction", 0, "a float in the range (0, 1)", "0"),
    ("shuffle", None, "a bool", "None"),
    (
        "random_state",
        "seed",
        "an int in the range [0, 4294967295], an instance of 'numpy.random.RandomState' or None",
        "'seed'",
    ),
    (
        "random_state",
        -1,
        "an int in the range [0, 4294967295], an instance of 'numpy.random.RandomState' or None",
        "-1",
    ),
    ("warm_start", "yes", "a bool", "'yes'"),
    ("clip_norm", 0, "a float > 0 or None", "0"),
    ("standardize", "z", "a bool", "'z'"),
    ("verbose", -1, "an int >= 0 or a bool", "-1"),
    ("record_params", None, "a bool", "None"),
    ("backend", "gpu", "a str among {'auto', 'numpy', 'numba'}", "'gpu'"),
]


@pytest.mark.parametrize("estimator", [GDRegressor, GDClassifier])
@pytest.mark.parametrize(("name", "value", "requirement", "shown"), BAD_PARAMETERS)
def test_bad_parameters_get_scikit_learn_wording(estimator, name, value, requirement, shown):
    X = np.random.default_rng(0).normal(size=(20, 2))
    y = (X[:, 0] > 0).astype(int)
    if name == "loss":
        requirement = (
            requirement
            if estimator is GDRegressor
            else "a str among {'log_loss', 'hinge', 'modified_huber', 'squared_hinge', "
            "'perceptron'}"
        )
    expected = (
        f"The '{name}' parameter of {estimator.__name__} must be {requirement}. "
        f"Got {shown} instead."
    )
    model = estimator(**{name: value})  # __init__ stores, fit validates
    assert model.get_params()[name] is value
    with pytest.raises(ValueError) as caught:
        model.fit(X, y)
    assert str(caught.value) == expected


def test_the_issue_example_message_word_for_word():
    with pytest.raises(ValueError) as caught:
        GDRegressor(learning_rate=-1).fit([[0.0], [1.0]], [0.0, 1.0])
    assert str(caught.value) == (
        "The 'learning_rate' parameter of GDRegressor must be a float > 0. Got -1 instead."
    )


@pytest.mark.parametrize(("value", "shown"), [(0, "0"), (-1.0, "-1.0")])
def test_huber_epsilon_is_validated(value, shown):
    with pytest.raises(
        ValueError,
        match=re.escape(
            f"The 'epsilon' parameter of GDRegressor must be a float > 0. Got {shown} instead."
        ),
    ):
        GDRegressor(loss="huber", epsilon=value).fit([[0.0], [1.0]], [0.0, 1.0])


def test_bad_optimizer_params_name_the_optimizer(noisy):
    X, y = noisy
    with pytest.raises(ValueError, match="Bad optimizer_params for 'adam'"):
        GDRegressor(optimizer_params={"beta1": 0.5}).fit(X, y)


def test_accepted_parameter_types(noisy):
    X, y = noisy
    GDRegressor(
        learning_rate=np.float32(0.01),
        max_iter=np.int64(2),
        batch_size=np.int32(8),
        fit_intercept=np.bool_(True),
        verbose=False,
        random_state=np.random.RandomState(0),
    ).fit(X, y)
