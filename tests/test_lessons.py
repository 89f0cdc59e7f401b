"""The lessons' own numbers, reproduced by GDRegressor.

Each test re-runs the lesson's loop (seed 42, the lesson's exact order of random draws) as the
oracle, and also pins the key final numbers as literals so that a change in the reference itself
would be noticed. The lessons are in ``shared/seeds/`` (000: "How Models Learn: Gradient Descent",
003: "Understanding Gradient Descent").
"""

# The lessons draw their data with NumPy's legacy global generator; reproducing their numbers
# needs exactly those calls.
# ruff: noqa: NPY002

from __future__ import annotations

import re

import numpy as np
import pytest
from sklearn.linear_model import LinearRegression

from gdlab import DivergenceError, GDRegressor, least_squares

RTOL = 1e-12


def plain_gd(**kwargs):
    """The lesson's batch gradient descent as a GDRegressor."""
    settings = dict(optimizer="sgd", batch_size=None, tol=None, shuffle=False, standardize=False)
    settings.update(kwargs)
    return GDRegressor(**settings)


def lesson_data(n=100):
    """x ~ U(0, 10), y = 3x + 7 + 2 N(0, 1), drawn in the lesson's order after seed 42."""
    np.random.seed(42)
    x = np.random.uniform(0, 10, n)
    y = 3 * x + 7 + np.random.randn(n) * 2
    return x, y


def lesson_loop(x, y, w, b, lr, epochs, stop_on_divergence=False):
    """The lesson's loop, line for line: predict, MSE, gradients, update."""
    losses, ws, bs = [], [w], [b]
    diverged_at = None
    for epoch in range(epochs):
        y_pred = w * x + b
        loss = np.mean((y - y_pred) ** 2)
        if stop_on_divergence and (np.isnan(loss) or loss > 1e10):
            diverged_at = epoch
            break
        losses.append(loss)
        dw = -2 * np.mean(x * (y - y_pred))
        db = -2 * np.mean(y - y_pred)
        w = w - lr * dw
        b = b - lr * db
        ws.append(w)
        bs.append(b)
    return losses, np.array(ws), np.array(bs), diverged_at


def two_over_lipschitz(x):
    """2/L for the MSE of y ~ w x + b: L = 2 lambda_max([x, 1]' [x, 1] / n)."""
    design = np.column_stack([x, np.ones_like(x)])
    return 2.0 / (2.0 * np.linalg.eigvalsh(design.T @ design / len(x))[-1])


# ---- lesson 000: single-feature batch gradient descent ---------------------------------------


def test_single_feature_batch_gd_reproduces_the_lesson():
    x, y = lesson_data()
    w0, b0 = np.random.randn(), np.random.randn()  # drawn after x and the noise, as in the lesson
    losses, ws, bs, _ = lesson_loop(x, y, w0, b0, lr=0.01, epochs=200)

    model = plain_gd(learning_rate=0.01, max_iter=200, record_params=True)
    model.fit(x[:, None], y, coef_init=w0, intercept_init=b0)

    np.testing.assert_allclose(model.loss_curve_, losses, rtol=RTOL, atol=0)
    path = model.history_.param_path()  # the start, then (w, b) after every epoch
    np.testing.assert_allclose(path[:, 0], ws, rtol=RTOL)
    np.testing.assert_allclose(path[:, 1], bs, rtol=RTOL)
    assert model.coef_[0] == pytest.approx(ws[-1], rel=RTOL)
    assert model.intercept_[0] == pytest.approx(bs[-1], rel=RTOL)
    assert model.n_iter_ == 200 and model.t_ == 200

    # The lesson's printed numbers, pinned.
    assert (w0, b0) == pytest.approx((0.01300189187790702, 1.4535340771573169), rel=1e-15)
    assert losses[0] == pytest.approx(460.37191032921396, rel=1e-12)
    assert losses[-1] == pytest.approx(4.132403824102365, rel=1e-12)
    assert model.coef_[0] == pytest.approx(3.181104524934314, rel=1e-12)
    assert model.intercept_[0] == pytest.approx(5.653600312400215, rel=1e-12)


def test_the_lesson_setting_with_the_issue_epochs_continues_the_same_run():
    """The issue's 500-epoch variant is the same run as the 200-epoch one, continued."""
    x, y = lesson_data()
    w0, b0 = np.random.randn(), np.random.randn()
    losses, ws, bs, _ = lesson_loop(x, y, w0, b0, lr=0.01, epochs=500)
    model = plain_gd(learning_rate=0.01, max_iter=500).fit(
        x[:, None], y, coef_init=w0, intercept_init=b0
    )
    np.testing.assert_allclose(model.loss_curve_, losses, rtol=RTOL)
    np.testing.assert_allclose([model.coef_[0], model.intercept_[0]], [ws[-1], bs[-1]], rtol=RTOL)


# ---- lesson 000: the complete lab against the closed form ------------------------------------


def test_complete_lab_500_epochs_against_the_closed_form():
    x, y = lesson_data(n=150)
    losses, ws, bs, _ = lesson_loop(x, y, 0.0, 0.0, lr=0.01, epochs=500)

    model = plain_gd(learning_rate=0.01, max_iter=500, record_params=True)
    model.fit(x[:, None], y, coef_init=[0.0], intercept_init=0.0)
    np.testing.assert_allclose(model.loss_curve_, losses, rtol=RTOL)
    np.testing.assert_allclose(model.history_.param_path(), np.column_stack([ws, bs]), rtol=RTOL)

    exact = least_squares(x[:, None], y)
    reference = LinearRegression().fit(x[:, None], y)
    np.testing.assert_allclose(exact.coef, reference.coef_, rtol=1e-12)
    assert exact.intercept == pytest.approx(reference.intercept_, rel=1e-12)
    assert exact.loss == pytest.approx(np.mean((y - reference.predict(x[:, None])) ** 2), rel=1e-12)

    # The lesson's table: GD after 500 epochs is close to, not at, the exact solution.
    assert model.coef_[0] == pytest.approx(3.0967661739730703, rel=1e-12)
    assert model.intercept_[0] == pytest.approx(6.525588009416267, rel=1e-12)
    assert losses[-1] == pytest.approx(4.265898026495558, rel=1e-12)
    assert exact.coef[0] == pytest.approx(3.0349813376785977, rel=1e-12)
    assert exact.intercept == pytest.approx(6.9282936580565035, rel=1e-12)
    assert exact.loss == pytest.approx(4.219833588595164, rel=1e-12)
    assert abs(model.coef_[0] - exact.coef[0]) == pytest.approx(0.061785, abs=1e-6)
    assert abs(model.intercept_[0] - exact.intercept) == pytest.approx(0.402705, abs=1e-6)
    # The loss curve is monotone and stays above the exact minimum.
    assert np.all(np.diff(losses) < 0) and min(losses) > exact.loss

    # With the step 1/L (half the stability limit) and enough epochs GD reaches it.
    longer = plain_gd(learning_rate=two_over_lipschitz(x) / 2, max_iter=3000).fit(
        x[:, None], y, coef_init=[0.0], intercept_init=0.0
    )
    assert longer.coef_[0] == pytest.approx(exact.coef[0], abs=1e-9)
    assert longer.intercept_[0] == pytest.approx(exact.intercept, abs=1e-9)


# ---- lesson 000: multivariate gradient descent with feature scaling -------------------------


def test_multivariate_with_feature_scaling_reports_unscaled_weights():
    np.random.seed(42)
    n = 200
    X = np.random.randn(n, 3)
    y = X @ np.array([2.0, -1.0, 0.5]) + 5.0 + np.random.randn(n) * 0.5
    mean, std = X.mean(axis=0), X.std(axis=0)
    X_scaled = (X - mean) / std
    w = np.random.randn(3)  # drawn after the data, as in the lesson
    b = 0.0
    w_start, b_start = w.copy(), b
    losses = []
    for _ in range(300):
        error = y - (X_scaled @ w + b)
        losses.append(np.mean(error**2))
        w = w - 0.05 * (-2 / n * (X_scaled.T @ error))
        b = b - 0.05 * (-2 / n * np.sum(error))
    w_unscaled = w / std
    b_unscaled = b - np.sum(w * mean / std)

    # coef_init and intercept_init are in the original units: the lesson's start, converted.
    model = plain_gd(learning_rate=0.05, max_iter=300, standardize=True)
    model.fit(X, y, coef_init=w_start / std, intercept_init=b_start - np.sum(w_start * mean / std))

    np.testing.assert_allclose(model.loss_curve_, losses, rtol=RTOL)
    np.testing.assert_allclose(model.coef_, w_unscaled, rtol=1e-12)
    assert model.intercept_[0] == pytest.approx(b_unscaled, rel=1e-12)
    np.testing.assert_allclose(
        model.coef_, [1.9880813232666656, -0.9538151695321897, 0.5592723697216028], rtol=1e-12
    )
    assert model.intercept_[0] == pytest.approx(5.009411938279221, rel=1e-12)
    assert losses[-1] == pytest.approx(0.25313321861769805, rel=1e-12)


# ---- lesson 000: the learning-rate comparison -------------------------------------------------


def test_learning_rate_comparison_diverges_exactly_above_two_over_l():
    x, y = lesson_data()
    bound = two_over_lipschitz(x)
    assert bound == pytest.approx(0.031654436899359, rel=1e-12)
    rates = [0.0001, 0.01, 0.05, 0.1]
    starts = [(np.random.randn(), np.random.randn()) for _ in rates]  # the lesson's draws

    outcome = {}
    for rate, (w0, b0) in zip(rates, starts, strict=True):
        lesson_losses, _, _, lesson_diverged_at = lesson_loop(
            x, y, w0, b0, lr=rate, epochs=200, stop_on_divergence=True
        )
        model = plain_gd(learning_rate=rate, max_iter=200, random_state=0)
        if rate < bound:
            model.fit(x[:, None], y, coef_init=w0, intercept_init=b0)
            np.testing.assert_allclose(model.loss_curve_, lesson_losses, rtol=1e-11)
            assert lesson_diverged_at is None
            outcome[rate] = ("converges", model.loss_curve_[-1])
            continue
        with pytest.raises(DivergenceError) as caught:
            model.fit(x[:, None], y, coef_init=w0, intercept_init=b0)
        error = caught.value
        # The lesson's own loop also blows up for this rate (its prose says 0.05 "may oscillate";
        # in fact every rate above 2/L = 0.0317 diverges on this data).
        assert lesson_diverged_at is not None
        # Up to the divergence, the estimator walked the lesson's path.
        recorded = error.history.loss
        # gdlab stops when the loss exceeds 1e10 x its start or has risen ten epochs in a row to
        # over 100 x its start; the lesson when it exceeds 1e10: within a few epochs of each other
        assert len(recorded) == error.epoch
        assert abs(error.epoch - lesson_diverged_at) <= 4
        common = min(len(recorded), len(lesson_losses))
        np.testing.assert_allclose(recorded[:common], lesson_losses[:common], rtol=1e-9)
        assert f"epoch {error.epoch + 1}" in str(error)
        assert f"2/L = {bound:.4g}" in str(error)
        assert error.suggested_learning_rate == pytest.approx(bound / 2, rel=1e-9)
        assert f"learning_rate={bound / 2:.3g}" in str(error)
        outcome[rate] = ("diverges", lesson_diverged_at)
        assert not hasattr(model, "coef_")  # a diverged fresh fit leaves no fitted model

    # The lesson's numbers (seed 42): the smallest rate is too slow, 0.01 converges, the two
    # largest diverge (the lesson's loop detects loss > 1e10 at epochs 12 and 5).
    assert outcome[0.0001] == ("converges", pytest.approx(47.355694458187564, rel=1e-11))
    assert outcome[0.01] == ("converges", pytest.approx(3.7542467817102585, rel=1e-11))
    assert outcome[0.05] == ("diverges", 12)
    assert outcome[0.1] == ("diverges", 5)


def test_the_suggested_learning_rate_converges():
    x, y = lesson_data()
    with pytest.raises(DivergenceError) as caught:
        plain_gd(learning_rate=0.05, max_iter=200).fit(x[:, None], y)
    suggested = caught.value.suggested_learning_rate
    model = plain_gd(learning_rate=suggested, max_iter=3000).fit(x[:, None], y)
    exact = least_squares(x[:, None], y)
    assert model.coef_[0] == pytest.approx(exact.coef[0], abs=1e-9)
    assert re.search(r"diverged in epoch \d+", str(caught.value))


# ---- lesson 003: linear regression with a bias column ----------------------------------------


def lesson_003():
    np.random.seed(42)
    X = 2 * np.random.rand(100, 1)
    y = 4 + 3 * X + np.random.randn(100, 1) * 0.5
    X_b = np.c_[np.ones((100, 1)), X]
    theta0 = np.random.randn(2, 1)
    theta = theta0
    for _ in range(1000):
        gradient = (2 / 100) * X_b.T.dot(X_b.dot(theta) - y)
        theta = theta - 0.1 * gradient
    return X, y, X_b, theta0.ravel(), theta.ravel()


def test_bias_column_example_with_an_intercept():
    X, y, _, theta0, theta = lesson_003()
    model = plain_gd(learning_rate=0.1, max_iter=1000)
    model.fit(X, y.ravel(), coef_init=theta0[1:], intercept_init=theta0[0])
    np.testing.assert_allclose([model.intercept_[0], model.coef_[0]], theta, rtol=RTOL)
    np.testing.assert_allclose(theta, [4.107548078773364, 2.88505669321925], rtol=1e-12)
    # "Should be close to [4, 3]": and it is the least-squares solution of the sample.
    exact = least_squares(X, y.ravel())
    np.testing.assert_allclose(theta, [exact.intercept, exact.coef[0]], atol=1e-9)


def test_bias_column_example_without_an_intercept():
    _, y, X_b, theta0, theta = lesson_003()
    model = plain_gd(learning_rate=0.1, max_iter=1000, fit_intercept=False)
    model.fit(X_b, y.ravel(), coef_init=theta0)
    np.testing.assert_allclose(model.coef_, theta, rtol=RTOL)
    assert model.intercept_.tolist() == [0.0]


def test_bias_column_with_standardize_keeps_the_model_without_intercept():
    """Standardizing without an intercept only scales: the constant column stays a bias."""
    X, y, X_b, _, _ = lesson_003()
    model = plain_gd(learning_rate=0.1, max_iter=2000, fit_intercept=False, standardize=True)
    model.fit(X_b, y.ravel())
    exact = least_squares(X, y.ravel())
    np.testing.assert_allclose(model.coef_, [exact.intercept, exact.coef[0]], atol=1e-8)
    assert model.intercept_.tolist() == [0.0]
