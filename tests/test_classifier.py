"""GDClassifier against scikit-learn's LogisticRegression on bundled datasets, and its contract.

scikit-learn's LogisticRegression minimises ``sum_i loss_i + ||w||^2 / (2 C)``; GDClassifier
minimises ``mean_i loss_i + alpha / 2 ||w||^2``: the same problem for ``C = 1 / (n alpha)``.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from sklearn.datasets import load_breast_cancer, load_iris
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler

from gdlab import GDClassifier

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")

ALPHA = 0.01


@pytest.fixture(scope="module")
def cancer():
    X, y = load_breast_cancer(return_X_y=True)
    return StandardScaler().fit_transform(X), y


@pytest.fixture(scope="module")
def iris():
    X, y = load_iris(return_X_y=True)
    return StandardScaler().fit_transform(X), y


def sklearn_reference(X, y):
    model = LogisticRegression(C=1.0 / (len(y) * ALPHA), tol=1e-12, max_iter=10_000)
    return model.fit(X, y)


def gd_logistic(**kwargs):
    settings = dict(
        penalty="l2",
        alpha=ALPHA,
        optimizer="nesterov",
        learning_rate=0.1,
        batch_size=None,
        max_iter=1500,
        tol=None,
        shuffle=False,
    )
    settings.update(kwargs)
    return GDClassifier(**settings)


def test_binary_log_loss_matches_logistic_regression(cancer):
    X, y = cancer
    reference = sklearn_reference(X, y)
    model = gd_logistic().fit(X, y)
    assert model.coef_.shape == reference.coef_.shape == (1, 30)
    assert model.intercept_.shape == (1,)
    np.testing.assert_allclose(model.coef_, reference.coef_, atol=1e-5)
    np.testing.assert_allclose(model.intercept_, reference.intercept_, atol=1e-5)
    np.testing.assert_allclose(model.predict_proba(X), reference.predict_proba(X), atol=1e-6)
    np.testing.assert_allclose(
        model.decision_function(X), reference.decision_function(X), atol=1e-4
    )
    np.testing.assert_array_equal(model.predict(X), reference.predict(X))
    # The recorded loss is the penalised mean log loss at the start of each epoch.
    proba = reference.predict_proba(X)[np.arange(len(y)), y]
    minimum = -np.mean(np.log(proba)) + ALPHA / 2 * np.sum(reference.coef_**2)
    assert model.loss_curve_[-1] == pytest.approx(minimum, rel=1e-9)


def test_multinomial_log_loss_matches_logistic_regression(iris):
    X, y = iris
    reference = sklearn_reference(X, y)
    model = gd_logistic().fit(X, y)
    assert model.coef_.shape == reference.coef_.shape == (3, 4)
    np.testing.assert_allclose(model.coef_, reference.coef_, atol=1e-5)
    # Softmax intercepts are defined up to a common shift (they are not penalised).
    np.testing.assert_allclose(
        model.intercept_ - model.intercept_.mean(),
        reference.intercept_ - reference.intercept_.mean(),
        atol=1e-5,
    )
    np.testing.assert_allclose(model.predict_proba(X), reference.predict_proba(X), atol=1e-6)
    np.testing.assert_array_equal(model.predict(X), reference.predict(X))


def test_mini_batch_adam_gets_close_to_logistic_regression(cancer):
    X, y = cancer
    reference = sklearn_reference(X, y)
    model = GDClassifier(
        penalty="l2",
        alpha=ALPHA,
        learning_rate=0.01,
        batch_size=32,
        max_iter=100,
        schedule="cosine",
        tol=None,
        random_state=0,
    ).fit(X, y)
    np.testing.assert_allclose(model.predict_proba(X), reference.predict_proba(X), atol=0.02)
    np.testing.assert_allclose(model.coef_, reference.coef_, atol=0.02)


def test_probabilities_and_decision_function_shapes(cancer, iris):
    for (X, y), n_classes in [(cancer, 2), (iris, 3)]:
        model = GDClassifier(random_state=0, max_iter=20).fit(X, y)
        proba = model.predict_proba(X)
        assert proba.shape == (len(y), n_classes)
        assert np.all((proba >= 0) & (proba <= 1))
        np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-12)
        np.testing.assert_allclose(np.exp(model.predict_log_proba(X)), proba, rtol=1e-12)
        scores = model.decision_function(X)
        assert scores.shape == ((len(y),) if n_classes == 2 else (len(y), n_classes))
        np.testing.assert_array_equal(model.predict(X), model.classes_[proba.argmax(axis=1)])
        if n_classes == 2:  # the probability of the positive class is the sigmoid of the score
            np.testing.assert_allclose(proba[:, 1], 1 / (1 + np.exp(-scores)), rtol=1e-12)
        else:  # the softmax of the scores
            expected = np.exp(scores - scores.max(axis=1, keepdims=True))
            expected /= expected.sum(axis=1, keepdims=True)
            np.testing.assert_allclose(proba, expected, rtol=1e-12)


def test_hinge_loss_is_a_sane_linear_svm(cancer, iris):
    for (X, y), floor in [(cancer, 0.95), (iris, 0.85)]:
        X_train, X_test, y_train, y_test = train_test_split(X, y, random_state=0, stratify=y)
        model = GDClassifier(loss="hinge", random_state=0).fit(X_train, y_train)
        assert model.score(X_test, y_test) >= floor
        assert not hasattr(model, "predict_proba")  # a hinge loss gives no probabilities
        scores = model.decision_function(X_test)
        expected = (scores > 0).astype(int) if scores.ndim == 1 else scores.argmax(axis=1)
        np.testing.assert_array_equal(model.predict(X_test), model.classes_[expected])


def test_hinge_first_step_by_hand():
    """One full-batch plain step of the mean hinge loss.

    ``w <- w + lr * mean(y_i x_i [y_i z_i < 1])``, ``b <- b + lr * mean(y_i [y_i z_i < 1])``.
    """
    X = np.array([[1.0, 0.0], [0.0, 1.0], [2.0, 2.0], [-1.0, 0.5]])
    y = np.array([0, 1, 1, 0])
    sign = 2.0 * y - 1.0
    w0, b0 = np.array([0.5, -0.5]), 0.2
    active = sign * (X @ w0 + b0) < 1
    model = GDClassifier(
        loss="hinge",
        optimizer="sgd",
        standardize=False,
        learning_rate=0.1,
        batch_size=None,
        max_iter=1,
        tol=None,
        shuffle=False,
    )
    model.fit(X, y, coef_init=w0, intercept_init=b0)
    expected_w = w0 + 0.1 * (sign[:, None] * X * active[:, None]).sum(axis=0) / 4
    np.testing.assert_allclose(model.coef_.ravel(), expected_w, rtol=1e-14)
    assert model.intercept_[0] == pytest.approx(b0 + 0.1 * (sign * active).sum() / 4, rel=1e-14)


def test_string_labels(iris):
    X, y = iris
    names = np.array(["setosa", "versicolor", "virginica"])[y]
    model = GDClassifier(random_state=0, max_iter=50).fit(X, names)
    assert model.classes_.tolist() == ["setosa", "versicolor", "virginica"]
    assert set(model.predict(X)) <= set(names)
    assert model.score(X, names) > 0.9
    binary = np.where(y == 0, "yes", "no")
    model = GDClassifier(random_state=0, max_iter=50).fit(X, binary)
    assert model.classes_.tolist() == ["no", "yes"]
    # the positive class is classes_[1]: "yes" (setosa) gets a high probability
    assert model.predict_proba(X[y == 0])[:, 1].min() > 0.5
    np.testing.assert_array_equal(model.predict(X), binary)


def test_partial_fit_needs_classes_then_learns_them(iris):
    X, y = iris
    model = GDClassifier(random_state=0, standardize=False)  # partial_fit: first call's scale
    with pytest.raises(ValueError, match="classes must be passed on the first call"):
        model.partial_fit(X, y)
    subset = y < 2  # the first chunk has only two of the three classes
    model.partial_fit(X[subset], y[subset], classes=[0, 1, 2])
    assert model.classes_.tolist() == [0, 1, 2] and model.coef_.shape == (3, 4)
    for _ in range(30):
        model.partial_fit(X, y)
    assert model.score(X, y) > 0.9
    with pytest.raises(ValueError, match="not seen in the first call"):
        model.partial_fit(X[:3], np.array([0, 1, 7]))
    with pytest.raises(ValueError, match="differs from the classes of the first call"):
        model.partial_fit(X, y, classes=[0, 1])


def test_partial_fit_epochs_equal_fit_epochs(cancer):
    X, y = cancer
    straight = GDClassifier(max_iter=4, tol=None, random_state=2).fit(X, y)
    model = GDClassifier(random_state=2)
    model.partial_fit(X, y, classes=[0, 1])
    for _ in range(3):
        model.partial_fit(X, y)
    np.testing.assert_array_equal(model.coef_, straight.coef_)
    assert model.loss_curve_ == straight.loss_curve_
    assert model.t_ == 4 * math.ceil(len(y) / 32)


def test_warm_start_continues_exactly(iris):
    X, y = iris
    settings = dict(batch_size=16, learning_rate=0.05, tol=None, random_state=5)
    straight = GDClassifier(max_iter=12, **settings).fit(X, y)
    resumed = GDClassifier(max_iter=6, warm_start=True, **settings).fit(X, y).fit(X, y)
    np.testing.assert_array_equal(resumed.coef_, straight.coef_)
    np.testing.assert_array_equal(resumed.intercept_, straight.intercept_)
    assert resumed.loss_curve_ == straight.loss_curve_


def test_one_class_is_refused():
    X = np.arange(10.0).reshape(5, 2)
    with pytest.raises(ValueError, match=r"at least 2 classes.*got 1 class"):
        GDClassifier().fit(X, np.ones(5))


def test_continuous_targets_are_refused():
    X = np.arange(10.0).reshape(5, 2)
    with pytest.raises(ValueError, match="Unknown label type"):
        GDClassifier().fit(X, np.linspace(0, 1, 5))


def test_integer_sample_weights_equal_repeated_rows(iris):
    X, y = iris
    weights = np.random.default_rng(0).integers(0, 3, size=len(y))
    settings = dict(
        optimizer="sgd", learning_rate=0.5, batch_size=None, max_iter=40, tol=None, shuffle=False
    )
    weighted = GDClassifier(**settings).fit(X, y, sample_weight=weights)
    repeated = GDClassifier(**settings).fit(np.repeat(X, weights, axis=0), np.repeat(y, weights))
    np.testing.assert_allclose(weighted.coef_, repeated.coef_, rtol=1e-11, atol=1e-14)
    np.testing.assert_allclose(weighted.loss_curve_, repeated.loss_curve_, rtol=1e-12)


def test_standardize_equals_training_on_standardized_features():
    X, y = load_breast_cancer(return_X_y=True)
    mean, std = X.mean(axis=0), X.std(axis=0)
    settings = dict(
        optimizer="sgd", learning_rate=0.5, batch_size=None, max_iter=50, tol=None, shuffle=False
    )
    inside = GDClassifier(standardize=True, **settings).fit(X, y)
    outside = GDClassifier(**settings).fit((X - mean) / std, y)
    np.testing.assert_allclose(inside.coef_, outside.coef_ / std, rtol=1e-9)
    np.testing.assert_allclose(
        inside.intercept_, outside.intercept_ - outside.coef_ @ (mean / std), rtol=1e-9
    )
    np.testing.assert_allclose(
        inside.decision_function(X), outside.decision_function((X - mean) / std), atol=1e-9
    )
    np.testing.assert_allclose(inside.loss_curve_, outside.loss_curve_, rtol=1e-12)


def test_float32_input_keeps_float32(iris):
    X, y = iris
    model = GDClassifier(random_state=0, max_iter=5).fit(X.astype(np.float32), y)
    assert model.coef_.dtype == np.float32 and model.intercept_.dtype == np.float32
    assert model.predict_proba(X.astype(np.float32)).dtype == np.float32


def test_early_stopping_is_stratified_and_keeps_the_best(cancer):
    X, y = cancer
    model = GDClassifier(early_stopping=True, random_state=0, max_iter=200, record_params=True).fit(
        X, y
    )
    val = np.array(model.history_.val_loss, dtype=float)
    assert np.all(np.isfinite(val)) and len(val) == model.n_iter_
    best = int(np.argmin(val))
    path = model.history_.params[best + 1]
    np.testing.assert_array_equal(path, np.r_[model.coef_.ravel(), model.intercept_])


def test_defaults_work_on_standardized_real_data():
    X, y = load_breast_cancer(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(X, y, random_state=0, stratify=y)
    scaler = StandardScaler().fit(X_train)
    X_train, X_test = scaler.transform(X_train), scaler.transform(X_test)
    reference = LogisticRegression().fit(X_train, y_train).score(X_test, y_test)
    score = GDClassifier(random_state=0).fit(X_train, y_train).score(X_test, y_test)
    assert score >= reference - 0.02
    X, y = load_iris(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    reference = LogisticRegression().fit(X, y).score(X, y)
    assert GDClassifier(random_state=0).fit(X, y).score(X, y) >= reference - 0.02
