"""class_weight, multi-output regression and averaging, each against an oracle.

- ``class_weight``: the same fit as explicit sample weights ``sample_weight * class_weight[y]``
  (scikit-learn's combination, weights worked out by hand), and converged, scikit-learn's
  ``LogisticRegression(class_weight=...)``.
- Multi-output ``GDRegressor``: ``LinearRegression`` and ``Ridge`` on two targets.
- ``average``: scikit-learn's ``SGDRegressor(average=...)`` update for update (plain SGD, one
  sample per update), and for every optimizer the mean of the recorded iterates.
"""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.linear_model import LinearRegression, LogisticRegression, Ridge, SGDRegressor
from sklearn.metrics import balanced_accuracy_score

from gdlab import GDClassifier, GDRegressor, load, optim


@pytest.fixture(scope="module")
def imbalanced():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(300, 3))
    y = (X @ [1.0, -1.0, 0.5] + rng.normal(size=300) > 1.6).astype(int)  # about 12% positives
    return X, y


# ---- class_weight ------------------------------------------------------------------------------


def test_balanced_class_weight_is_sample_weight_times_the_balanced_weights(imbalanced):
    X, y = imbalanced
    sw = np.random.default_rng(1).uniform(0.5, 2.0, size=y.size)
    n, counts = y.size, np.bincount(y)
    by_hand = n / (2 * counts)  # scikit-learn's "balanced": n_samples / (n_classes * count)
    common = dict(random_state=0, max_iter=20, tol=None)
    ours = GDClassifier(class_weight="balanced", **common).fit(X, y, sample_weight=sw)
    explicit = GDClassifier(**common).fit(X, y, sample_weight=sw * by_hand[y])
    np.testing.assert_allclose(ours.coef_, explicit.coef_, rtol=1e-12)
    np.testing.assert_allclose(ours.intercept_, explicit.intercept_, rtol=1e-12)


def test_dict_class_weight_is_sample_weight_times_the_dict(imbalanced):
    X, y = imbalanced
    labels = np.where(y == 1, "yes", "no")
    common = dict(random_state=0, max_iter=10, tol=None, batch_size=None)
    ours = GDClassifier(class_weight={"yes": 4.0}, **common).fit(X, labels)
    explicit = GDClassifier(**common).fit(X, labels, sample_weight=np.where(y == 1, 4.0, 1.0))
    np.testing.assert_allclose(ours.coef_, explicit.coef_, rtol=1e-12)


def test_balanced_class_weight_converges_to_logistic_regression(imbalanced):
    """``mean_w(log loss) + alpha ||w||^2 / 2`` is LogisticRegression's objective with
    ``C = 1 / (alpha * sum(weights))``; balanced weights sum to ``n``."""
    X, y = imbalanced
    alpha = 0.01
    exact = LogisticRegression(class_weight="balanced", C=1 / (alpha * y.size), tol=1e-12)
    exact.fit(X, y)
    ours = GDClassifier(
        class_weight="balanced", penalty="l2", alpha=alpha, optimizer="sgd", learning_rate=0.5,
        batch_size=None, max_iter=2000, tol=None, random_state=0, standardize=False,
    ).fit(X, y)  # fmt: skip
    np.testing.assert_allclose(ours.coef_, exact.coef_, atol=1e-6)
    np.testing.assert_allclose(ours.intercept_, exact.intercept_, atol=1e-6)


def test_balanced_with_defaults_raises_the_balanced_accuracy(imbalanced):
    X, y = imbalanced
    plain = GDClassifier(random_state=0).fit(X, y)
    balanced = GDClassifier(class_weight="balanced", random_state=0).fit(X, y)
    assert balanced_accuracy_score(y, balanced.predict(X)) > balanced_accuracy_score(
        y, plain.predict(X)
    )


def test_class_weight_errors(imbalanced):
    X, y = imbalanced
    with pytest.raises(ValueError, match="'class_weight' parameter of GDClassifier must be"):
        GDClassifier(class_weight="even").fit(X, y)
    with pytest.raises(ValueError, match=r"weight >= 0\. Got -1\.0 for class 1"):
        GDClassifier(class_weight={1: -1.0}).fit(X, y)
    with pytest.raises(ValueError, match="not supported for partial_fit"):
        GDClassifier(class_weight="balanced").partial_fit(X, y, classes=[0, 1])
    with pytest.raises(ValueError, match="weight of zero"):
        GDClassifier(class_weight={0: 0.0, 1: 0.0}).fit(X, y)


# ---- multi-output regression -------------------------------------------------------------------


@pytest.fixture(scope="module")
def two_targets():
    rng = np.random.default_rng(2)
    X = rng.normal(size=(200, 4))
    Y = X @ rng.normal(size=(4, 2)) + [1.0, -3.0] + 0.2 * rng.normal(size=(200, 2))
    return X, Y


@pytest.mark.parametrize("backend", ["numpy", "numba"])
def test_multi_output_matches_linear_regression(two_targets, backend):
    if backend == "numba":
        pytest.importorskip("numba")
    X, Y = two_targets
    exact = LinearRegression().fit(X, Y)
    ours = GDRegressor(
        optimizer="sgd", learning_rate=0.2, batch_size=None, max_iter=500, tol=None,
        backend=backend,
    ).fit(X, Y)  # fmt: skip
    assert ours.coef_.shape == (2, 4) and ours.intercept_.shape == (2,)
    np.testing.assert_allclose(ours.coef_, exact.coef_, atol=1e-10)
    np.testing.assert_allclose(ours.intercept_, exact.intercept_, atol=1e-10)
    assert ours.predict(X).shape == (200, 2)
    assert ours.score(X, Y) == pytest.approx(exact.score(X, Y), abs=1e-12)


def test_multi_output_with_l2_matches_ridge(two_targets):
    """``sum_k mean((y_k - z_k)^2) + alpha ||W||^2 / 2``: Ridge with ``alpha_r = n alpha / 2``."""
    X, Y = two_targets
    alpha = 0.1
    exact = Ridge(alpha=len(Y) * alpha / 2).fit(X, Y)
    ours = GDRegressor(
        penalty="l2", alpha=alpha, optimizer="sgd", learning_rate=0.2, batch_size=None,
        max_iter=500, tol=None, standardize=False,
    ).fit(X, Y)  # fmt: skip
    np.testing.assert_allclose(ours.coef_, exact.coef_, atol=1e-10)


def test_multi_output_with_defaults_is_close_to_least_squares(two_targets, tmp_path):
    X, Y = two_targets
    exact = LinearRegression().fit(X, Y)
    ours = GDRegressor(random_state=0).fit(X, Y)
    np.testing.assert_allclose(ours.coef_, exact.coef_, atol=0.05)
    ours.save(tmp_path / "m.npz")
    loaded = load(tmp_path / "m.npz")
    np.testing.assert_array_equal(loaded.predict(X), ours.predict(X))
    assert loaded.coef_.shape == (2, 4)
    with pytest.raises(ValueError, match="fitted on 2-D targets"):
        loaded.set_params(warm_start=True).fit(X, Y[:, 0])


def test_a_column_of_targets_keeps_two_dimensions(two_targets):
    X, Y = two_targets
    model = GDRegressor(max_iter=3, tol=None).fit(X, Y[:, :1])
    assert model.coef_.shape == (1, 4) and model.predict(X).shape == (200, 1)


# ---- averaging ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def line():
    rng = np.random.default_rng(3)
    X = rng.normal(size=(60, 3))
    return X, X @ [1.0, -2.0, 0.5] + 0.3 + 0.3 * rng.normal(size=60)


@pytest.mark.parametrize("average", [True, 1, 25, 130])
def test_average_equals_scikit_learns_averaged_sgd(line, average):
    """Same updates as SGDRegressor (its squared error is half ours: our rate is half its eta0)."""
    X, y = line
    exact = SGDRegressor(
        penalty=None, learning_rate="constant", eta0=0.02, shuffle=False, max_iter=4, tol=None,
        average=average,
    ).fit(X, y, coef_init=np.zeros(3), intercept_init=0.0)  # fmt: skip
    ours = GDRegressor(
        optimizer="sgd", learning_rate=0.01, batch_size=1, shuffle=False, max_iter=4, tol=None,
        average=average, standardize=False,
    ).fit(X, y, coef_init=np.zeros(3), intercept_init=0.0)  # fmt: skip
    np.testing.assert_allclose(ours.coef_, exact.coef_, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(ours.intercept_, exact.intercept_, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("name", sorted(optim.OPTIMIZERS))
def test_average_is_the_mean_of_the_iterates_for_every_optimizer(line, name):
    """Full batch (one update per epoch): the recorded path holds every iterate."""
    X, y = line
    common = dict(optimizer=name, learning_rate=0.01, batch_size=None, max_iter=12, tol=None)
    path = GDRegressor(record_params=True, **common).fit(X, y).history_.param_path()
    for average, first in ((True, 1), (len(y) * 5, 5)):  # from the 5th epoch's update on
        ours = GDRegressor(average=average, **common).fit(X, y)
        mean = path[first:].mean(axis=0)
        np.testing.assert_allclose(np.r_[ours.coef_, ours.intercept_], mean, rtol=1e-12)


def test_average_saves_loads_and_warm_starts_exactly(line, tmp_path):
    X, y = line
    settings = dict(average=10, random_state=0, tol=None)
    straight = GDRegressor(max_iter=8, **settings).fit(X, y)
    half = GDRegressor(max_iter=4, warm_start=True, **settings).fit(X, y)
    half.save(tmp_path / "half.npz")
    resumed = load(tmp_path / "half.npz").fit(X, y)
    np.testing.assert_array_equal(resumed.coef_, straight.coef_)
    np.testing.assert_array_equal(resumed.predict(X), straight.predict(X))


def test_average_with_defaults_predicts_with_the_averaged_parameters(line):
    X, y = line
    plain = GDRegressor(random_state=0).fit(X, y)
    averaged = GDRegressor(average=True, random_state=0).fit(X, y)
    assert not np.array_equal(averaged.coef_, plain.coef_)
    np.testing.assert_allclose(averaged.predict(X), X @ averaged.coef_ + averaged.intercept_)
    # averaging from the 40th epoch on (after the transient): close to least squares
    late = GDRegressor(average=40 * len(y), random_state=0, tol=None).fit(X, y)
    exact = LinearRegression().fit(X, y)
    np.testing.assert_allclose(late.coef_, exact.coef_, atol=0.03)


def test_average_runs_on_the_numpy_path(line):
    X, y = line
    assert GDRegressor(average=True, batch_size=1).fit(X, y).history_.backend == "numpy"
    with pytest.raises(ValueError, match="backend='numba' cannot run this fit"):
        pytest.importorskip("numba")
        GDRegressor(average=True, backend="numba").fit(X, y)


@pytest.mark.parametrize("value", [0, -3, 1.5, "yes"])
def test_bad_average(line, value):
    X, y = line
    with pytest.raises(ValueError, match="'average' parameter of GDRegressor must be a bool or"):
        GDRegressor(average=value).fit(X, y)
