"""MLP sample weights and partial_fit, against the linear estimators and plain repetition.

A network with no hidden layer is the linear model ``z = X W + b``; with the same initial weights,
batches and optimizer it must train exactly as GDRegressor/GDClassifier, weights included. With
hidden layers, integer weights equal repeated rows on full batches.
"""

from __future__ import annotations

import numpy as np
import pytest

import gdlab
from gdlab.estimators._mlp import MLPClassifier, MLPRegressor

RNG = np.random.default_rng(0)
X = RNG.normal(size=(90, 3))
Y = X @ [1.0, -2.0, 0.5] + 0.3 + 0.1 * RNG.normal(size=90)
LABELS = np.digitize(X[:, 0] - X[:, 1], [-0.5, 0.5])  # three classes
W = RNG.integers(0, 4, size=90).astype(float)
ZERO_INIT = {"coefs_init": [np.zeros((3, 1))], "intercepts_init": [np.zeros(1)]}


@pytest.mark.parametrize("batch_size", [None, 16])
def test_weighted_network_without_hidden_layer_is_the_weighted_linear_regressor(batch_size):
    settings = {"optimizer": "adam", "learning_rate": 0.05, "batch_size": batch_size,
                "max_iter": 15, "tol": None, "random_state": 3, "standardize": False}  # fmt: skip
    # standardize=False: GDRegressor's standardize also scales the target, a network's does not
    linear = gdlab.GDRegressor(**settings).fit(
        X, Y, coef_init=np.zeros(3), intercept_init=0.0, sample_weight=W
    )
    net = MLPRegressor((), alpha=0.0, **settings).fit(X, Y, sample_weight=W, **ZERO_INIT)
    np.testing.assert_array_equal(net.coefs_[0][:, 0], linear.coef_)
    np.testing.assert_array_equal(net.intercepts_[0], linear.intercept_)
    assert net.loss_curve_ == linear.loss_curve_
    unweighted = MLPRegressor((), alpha=0.0, **settings).fit(X, Y, **ZERO_INIT)
    assert not np.allclose(unweighted.coefs_[0], net.coefs_[0])  # the weights did matter


@pytest.mark.parametrize("batch_size", [None, 16])
def test_weighted_binary_network_without_hidden_layer_is_the_linear_classifier(batch_size):
    settings = {"optimizer": "adam", "learning_rate": 0.05, "batch_size": batch_size,
                "max_iter": 15, "tol": None, "random_state": 3, "standardize": True}  # fmt: skip
    binary = (Y > 0).astype(int)
    linear = gdlab.GDClassifier(**settings).fit(X, binary, sample_weight=W)
    net = MLPClassifier((), alpha=0.0, **settings).fit(X, binary, sample_weight=W, **ZERO_INIT)
    np.testing.assert_array_equal(net.coefs_[0][:, 0], linear.coef_.ravel())
    assert net.loss_curve_ == linear.loss_curve_


@pytest.mark.parametrize("cls", [MLPRegressor, MLPClassifier])
def test_integer_weights_equal_repeated_rows_on_full_batches(cls):
    y = Y if cls is MLPRegressor else LABELS
    model = cls((6, 4), activation="tanh", learning_rate=0.01, batch_size=None, max_iter=20,
                tol=None, random_state=1, standardize=True)  # fmt: skip
    weighted = model.fit(X, y, sample_weight=W)
    rows = np.repeat(np.arange(X.shape[0]), W.astype(int))
    repeated = cls(**model.get_params()).fit(X[rows], y[rows])
    for a, b in zip(weighted.coefs_, repeated.coefs_, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(weighted.loss_curve_, repeated.loss_curve_, rtol=1e-12)


def test_sample_weight_is_checked():
    with pytest.raises(ValueError, match=r"sample_weight.shape == \(3,\), expected \(90,\)"):
        MLPRegressor((3,), max_iter=1).fit(X, Y, sample_weight=[1.0, 2.0, 3.0])
    with pytest.raises(ValueError, match="non-negative"):
        MLPRegressor((3,), max_iter=1).fit(X, Y, sample_weight=-W)


@pytest.mark.parametrize("cls", [MLPRegressor, MLPClassifier])
def test_partial_fit_calls_equal_fit_epochs(cls):
    """Each partial_fit is one epoch continuing everything: batch norm, dropout, Adam moments."""
    y = Y if cls is MLPRegressor else LABELS
    settings = {"hidden_layer_sizes": (5, 4), "batch_norm": True, "dropout": 0.2,
                "batch_size": 16, "learning_rate": 0.01, "random_state": 2}  # fmt: skip
    straight = cls(max_iter=3, tol=None, **settings).fit(X, y)
    stepped = cls(max_iter=3, **settings)
    extra = {"classes": np.unique(LABELS)} if cls is MLPClassifier else {}
    for _ in range(3):
        stepped.partial_fit(X, y, **extra)
        extra = {}
    assert stepped.n_iter_ == 1 and stepped.t_ == straight.t_ == 3 * 6
    np.testing.assert_array_equal(stepped._train_state.params, straight._train_state.params)
    assert stepped.loss_curve_ == straight.loss_curve_
    for a, b in zip(stepped._bn_state.running_var, straight._bn_state.running_var, strict=True):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(stepped.predict(X), straight.predict(X))


def test_classifier_partial_fit_takes_every_class_on_the_first_call():
    model = MLPClassifier((4,), random_state=0)
    with pytest.raises(ValueError, match="classes must be passed on the first call"):
        model.partial_fit(X, LABELS)
    first = LABELS != 2  # the first chunk lacks class 2
    model.partial_fit(X[first], LABELS[first], classes=[0, 1, 2])
    assert model.classes_.tolist() == [0, 1, 2] and model.coefs_[-1].shape == (4, 3)
    model.partial_fit(X, LABELS, sample_weight=W)
    assert model.predict_proba(X).shape == (90, 3)
    with pytest.raises(ValueError, match="classes"):
        model.partial_fit(X, LABELS, classes=[0, 1])
    with pytest.raises(ValueError, match="classes must hold at least 2"):
        MLPClassifier((4,)).partial_fit(X, np.zeros(90), classes=[0.0])
    with pytest.raises(ValueError, match="X has 2 features"):
        model.partial_fit(X[:, :2], LABELS)


def test_partial_fit_with_defaults_learns():
    model = MLPRegressor(random_state=0)
    for _ in range(40):
        model.partial_fit(X, Y)
    assert model.score(X, Y) > 0.9
