"""scikit-learn's other SGD losses and the Poisson loss: values, gradients, back-ends, fits.

Oracles: scikit-learn 1.9's ``_sgd_fast`` loss classes and PyTorch 2.13's ``PoissonNLLLoss`` (stored
in tests/data/sgd_losses.json by scripts/make_sgd_loss_references.py); for converged fits
``PoissonRegressor``, liblinear's ``LinearSVC``/``LinearSVR`` (same objective, intercept penalty
made negligible) and L-BFGS on the same objective.
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from scipy.optimize import linprog, minimize
from sklearn.datasets import load_breast_cancer
from sklearn.linear_model import PoissonRegressor
from sklearn.preprocessing import StandardScaler
from sklearn.svm import LinearSVC, LinearSVR

from gdlab import GDClassifier, GDRegressor, load, losses, optim
from gdlab._objectives import LinearObjective
from gdlab.engine import TrainConfig, init_state, train

DATA = json.loads((Path(__file__).parent / "data" / "sgd_losses.json").read_text())
SKLEARN = DATA["sklearn_losses"]
NEW = sorted([*SKLEARN, "poisson"])
CLASSIFICATION = ("modified_huber", "squared_hinge", "perceptron")


def _loss(name: str) -> losses.Loss:
    eps = SKLEARN.get(name, {}).get("epsilon")
    return losses.get(name, epsilon=eps) if eps is not None else losses.get(name)


@pytest.mark.parametrize("name", sorted(SKLEARN))
def test_per_sample_loss_and_derivative_equal_scikit_learn(name):
    case = SKLEARN[name]
    y, z = np.array(case["y"]), np.array(case["z"])
    loss = _loss(name)
    np.testing.assert_allclose(loss.per_sample(y, z), case["loss"], rtol=1e-15, atol=0)
    np.testing.assert_allclose(loss.per_sample_gradient(y, z), case["dloss"], rtol=1e-15, atol=0)
    n = y.size
    assert loss.value(y, z) == pytest.approx(np.mean(case["loss"]), rel=1e-15)
    np.testing.assert_allclose(loss.gradient(y, z), np.array(case["dloss"]) / n, rtol=1e-15)


def test_poisson_equals_torch_poisson_nll_loss():
    case = DATA["poisson"]
    y, z = np.array(case["y"]), np.array(case["z"])
    assert losses.get("poisson").value(y, z) == pytest.approx(case["value"], rel=1e-15, abs=1e-15)
    np.testing.assert_allclose(losses.get("poisson").gradient(y, z), case["grad"], rtol=1e-14)


@pytest.mark.parametrize("name", NEW)
def test_gradient_is_the_derivative_of_the_value(name):
    """Central differences away from the kinks."""
    rng = np.random.default_rng(1)
    z = rng.normal(scale=2.0, size=40)
    y = (
        rng.poisson(2.0, size=40).astype(float)
        if name == "poisson"
        else rng.choice([-1.0, 1.0], 40)
    )
    if name in ("epsilon_insensitive", "squared_epsilon_insensitive"):
        y = rng.normal(size=40)
    loss, h = _loss(name), 1e-6
    numeric = [
        (loss.value(y, z + h * e) - loss.value(y, z - h * e)) / (2 * h) for e in np.eye(z.size)
    ]
    np.testing.assert_allclose(loss.gradient(y, z), numeric, atol=1e-8)


def _objective_data(name: str, K: int):
    rng = np.random.default_rng(3 + K)
    X = rng.normal(size=(41, 3))
    scores = X @ rng.normal(size=(3, K))
    if name == "poisson":
        Y = rng.poisson(np.exp(0.3 * scores)).astype(float)
    elif name in CLASSIFICATION:
        Y = np.where(scores + 0.3 * rng.normal(size=scores.shape) > 0, 1.0, -1.0)
    else:
        Y = scores + 0.5 * rng.normal(size=scores.shape)
    return X, (Y[:, 0] if K == 1 else Y)


@pytest.mark.parametrize("K", [1, 3])
@pytest.mark.parametrize("name", NEW)
def test_compiled_epochs_equal_numpy(name, K):
    pytest.importorskip("numba")
    X, Y = _objective_data(name, K)
    weight = np.random.default_rng(0).uniform(0.5, 2.0, size=X.shape[0])
    objective = LinearObjective(X, Y, _loss(name), losses.get_penalty("l2", 0.01), True, weight)
    tx = optim.get("adam", 0.05)
    runs = {}
    for backend in ("numpy", "numba"):
        for batch in (1, 7, None):
            config = TrainConfig(batch_size=batch, max_epochs=3, shuffle=True, seed=2)
            state = init_state(np.zeros(objective.n_params), tx)
            runs[backend, batch] = train(objective, tx, state, replace(config, backend=backend))
    for batch in (1, 7, None):
        ref, fast = runs["numpy", batch], runs["numba", batch]
        assert fast.history.backend == "numba"
        np.testing.assert_allclose(fast.state.params, ref.state.params, rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(fast.history.loss, ref.history.loss, rtol=1e-10, atol=1e-12)


# ---- converged fits against exact solvers -----------------------------------------------------


def _full_batch(**kw):
    """Full-batch gradient descent to convergence (a fixed number of epochs), on the data as
    given (the exact solvers' problem: no standardization, whose scaling changes what the
    penalty and the thresholds mean)."""
    return dict(batch_size=None, tol=None, max_iter=3000, random_state=0, standardize=False, **kw)


@pytest.fixture(scope="module")
def counts():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(400, 3))
    y = rng.poisson(np.exp(X @ [0.3, -0.2, 0.1] + 0.5)).astype(float)
    return X, y


@pytest.mark.parametrize("alpha", [0.0, 0.05])
def test_poisson_fit_matches_poisson_regressor(counts, alpha):
    X, y = counts
    exact = PoissonRegressor(alpha=alpha, tol=1e-12, max_iter=1000).fit(X, y)
    ours = GDRegressor(
        loss="poisson", penalty="l2", alpha=alpha, optimizer="sgd", learning_rate=0.05,
        **_full_batch(),
    ).fit(X, y)  # fmt: skip
    np.testing.assert_allclose(ours.coef_, exact.coef_, atol=1e-6)
    np.testing.assert_allclose(ours.intercept_, exact.intercept_, atol=1e-6)
    np.testing.assert_allclose(ours.predict(X), exact.predict(X), rtol=1e-5)


def test_poisson_with_defaults_is_close_to_poisson_regressor(counts):
    X, y = counts
    exact = PoissonRegressor(alpha=0.0).fit(X, y)
    ours = GDRegressor(loss="poisson", random_state=0).fit(X, y)
    np.testing.assert_allclose(ours.coef_, exact.coef_, atol=0.05)
    assert np.all(ours.predict(X) > 0)


def test_poisson_rejects_negative_targets(counts):
    X, y = counts
    with pytest.raises(ValueError, match="valid range of the loss 'poisson' of GDRegressor"):
        GDRegressor(loss="poisson").fit(X, y - 3)


@pytest.fixture(scope="module")
def cancer():
    X, y = load_breast_cancer(return_X_y=True)
    return StandardScaler().fit_transform(X), y


def test_squared_hinge_matches_linear_svc(cancer):
    """``mean(max(0, 1 - y z)^2) + alpha ||w||^2 / 2``: LinearSVC's objective, C = 1/(n alpha)."""
    X, y = cancer
    alpha = 0.01
    exact = LinearSVC(
        loss="squared_hinge", C=1 / (len(y) * alpha), intercept_scaling=1e4, tol=1e-10,
        max_iter=100_000, dual=False,
    ).fit(X, y)  # fmt: skip
    ours = GDClassifier(
        loss="squared_hinge", penalty="l2", alpha=alpha, learning_rate=0.01, **_full_batch()
    ).fit(X, y)
    np.testing.assert_allclose(ours.coef_, exact.coef_, atol=2e-4)
    np.testing.assert_allclose(ours.intercept_, exact.intercept_, atol=2e-4)


def _svr_objective(X, y, coef, intercept, eps, alpha, squared):
    gap = np.maximum(0.0, np.abs(y - X @ coef - intercept) - eps)
    return np.mean(gap**2 if squared else gap) + 0.5 * alpha * coef @ coef


@pytest.fixture(scope="module")
def noisy_line():
    rng = np.random.default_rng(5)
    X = rng.normal(size=(300, 4))
    return X, X @ [1.0, -2.0, 0.5, 0.0] + 0.3 + rng.normal(scale=0.5, size=300)


def test_squared_epsilon_insensitive_matches_linear_svr(noisy_line):
    X, y = noisy_line
    alpha, eps = 0.01, 0.2
    exact = LinearSVR(
        loss="squared_epsilon_insensitive", epsilon=eps, C=1 / (len(y) * alpha),
        intercept_scaling=1e4, tol=1e-12, max_iter=100_000, dual=False,
    ).fit(X, y)  # fmt: skip
    ours = GDRegressor(
        loss="squared_epsilon_insensitive", epsilon=eps, penalty="l2", alpha=alpha,
        optimizer="sgd", learning_rate=0.05, **_full_batch(),
    ).fit(X, y)  # fmt: skip
    np.testing.assert_allclose(ours.coef_, exact.coef_, atol=1e-6)
    np.testing.assert_allclose(ours.intercept_, exact.intercept_, atol=1e-6)


def test_epsilon_insensitive_reaches_the_linear_program_optimum(noisy_line):
    """Without a penalty the fit is a linear program: min mean(s) with s >= |y - Xw - b| - eps."""
    X, y = noisy_line
    n, d, eps = X.shape[0], X.shape[1], 0.2
    # variables [w (d), b, s (n)]; +-(y - Xw - b) - s <= eps
    ones, eye = np.ones((n, 1)), np.eye(n)
    A = np.block([[-X, -ones, -eye], [X, ones, -eye]])
    bounds = [(None, None)] * (d + 1) + [(0, None)] * n
    lp = linprog(np.r_[np.zeros(d + 1), np.full(n, 1 / n)], A_ub=A, b_ub=np.r_[eps - y, eps + y],
                 bounds=bounds, method="highs")  # fmt: skip
    ours = GDRegressor(
        loss="epsilon_insensitive", epsilon=eps, optimizer="sgd", learning_rate=0.05,
        schedule="cosine_decay", **_full_batch(),
    ).fit(X, y)  # fmt: skip
    mine = losses.get("epsilon_insensitive", epsilon=eps).value(y, ours.predict(X))
    assert lp.fun <= mine <= lp.fun * (1 + 1e-4)
    np.testing.assert_allclose(np.r_[ours.coef_, ours.intercept_], lp.x[: d + 1], atol=1e-5)


def test_modified_huber_matches_lbfgs(cancer):
    X, y = cancer
    alpha, s = 0.01, np.where(y == 1, 1.0, -1.0)

    def objective(theta):
        z = X @ theta[:-1] + theta[-1]
        value = losses.get("modified_huber").value(s, z) + 0.5 * alpha * theta[:-1] @ theta[:-1]
        g = losses.get("modified_huber").gradient(s, z)
        return value, np.r_[X.T @ g + alpha * theta[:-1], g.sum()]

    exact = minimize(objective, np.zeros(X.shape[1] + 1), jac=True, method="L-BFGS-B",
                     options={"gtol": 1e-12, "maxiter": 10_000}).x  # fmt: skip
    ours = GDClassifier(
        loss="modified_huber", penalty="l2", alpha=alpha, learning_rate=0.01, **_full_batch()
    ).fit(X, y)
    np.testing.assert_allclose(ours.coef_.ravel(), exact[:-1], atol=5e-4)


def test_modified_huber_predict_proba_is_scikit_learns(cancer):
    X, y = cancer
    model = GDClassifier(loss="modified_huber", random_state=0).fit(X, y)
    d = model.decision_function(X)
    p = (np.clip(d, -1, 1) + 1) / 2
    np.testing.assert_allclose(model.predict_proba(X), np.column_stack([1 - p, p]), rtol=1e-15)
    np.testing.assert_allclose(model.predict_log_proba(X)[:, 1], np.log(p), rtol=1e-15)
    assert not hasattr(GDClassifier(loss="squared_hinge"), "predict_proba")


def test_modified_huber_multiclass_probabilities_normalise():
    from sklearn.datasets import load_iris

    X, y = load_iris(return_X_y=True)
    model = GDClassifier(loss="modified_huber", standardize=True, random_state=0).fit(X, y)
    proba = model.predict_proba(X)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-15)
    prob = (np.clip(model.decision_function(X), -1, 1) + 1) / 2
    total = prob.sum(axis=1)
    expected = np.where(total[:, None] > 0, prob / np.where(total > 0, total, 1)[:, None], 1 / 3)
    np.testing.assert_allclose(proba, expected, rtol=1e-15)
    assert model.score(X, y) > 0.85


def test_perceptron_separates_separable_data():
    rng = np.random.default_rng(2)
    X = rng.normal(size=(200, 2))
    y = (X @ [1.0, -1.0] + 0.2 > 0).astype(int)
    X = X + np.where(y[:, None] == 1, 0.3, -0.3)  # a margin
    model = GDClassifier(loss="perceptron", random_state=0).fit(X, y)
    assert model.score(X, y) == 1.0  # a zero perceptron loss: every sample on its side
    # zero perceptron loss at the returned parameters: every sample strictly on its side
    # (loss_curve_ averages the epoch's mini-batch losses, taken while the weights still moved)
    margins = np.where(y == 1, 1.0, -1.0) * model.decision_function(X)
    assert margins.min() > 0
    assert (
        losses.get("perceptron").value(np.where(y == 1, 1.0, -1.0), model.decision_function(X)) == 0
    )


@pytest.mark.parametrize("name", NEW)
def test_each_new_loss_with_default_settings_saves_and_loads_exactly(name, tmp_path, cancer):
    X, y = cancer
    if name in CLASSIFICATION:
        model = GDClassifier(loss=name, random_state=0, max_iter=5)
    else:
        y = np.round(np.exp(X[:, 0] * 0.3 + 1)) if name == "poisson" else X[:, 1] * 3 + 1
        model = GDRegressor(loss=name, random_state=0, max_iter=5)
    model.fit(X, y)
    model.save(tmp_path / "m.npz")
    loaded = load(tmp_path / "m.npz")
    np.testing.assert_array_equal(loaded.predict(X), model.predict(X))
    loaded.set_params(warm_start=True).fit(X, y)
    model.set_params(warm_start=True).fit(X, y)
    np.testing.assert_array_equal(loaded.coef_, model.coef_)
