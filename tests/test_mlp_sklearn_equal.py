"""One epoch of gdlab's MLPs equals one epoch of scikit-learn's, from the same weights.

Conventions mapped here (and in the estimators' docstrings):

* loss: scikit-learn's regressor minimises *half* the mean squared error, gdlab the mean squared
  error, so gdlab's gradients are twice as large: gdlab's SGD rate is half of scikit-learn's.
  The classifiers' log-losses are the same.
* L2: scikit-learn adds ``alpha_sk / 2 * ||W||^2 / n_batch`` to each batch's loss, gdlab
  ``alpha / 2 * ||W||^2``: ``alpha = alpha_sk / n_batch`` (classifier) and
  ``2 alpha_sk / n_batch`` (regressor), with every batch of the same size.
* Adam: scikit-learn folds the bias corrections into the rate, ``lr_t = lr sqrt(1 - b2^t) /
  (1 - b1^t)``, and adds ``eps`` to the uncorrected ``sqrt(v)``; gdlab (as PyTorch) adds ``eps``
  to the corrected ``sqrt(v_hat)``. The two agree exactly when ``eps`` is negligible, so these
  runs use ``eps = 1e-30`` in both (the regressor's gradient scale does not matter to Adam).
* Batches: ``shuffle=False`` on both sides, the rows in order.
"""

from __future__ import annotations

import itertools
import warnings

import numpy as np
import pytest
from sklearn import neural_network as sk

from gdlab.estimators._mlp import MLPClassifier, MLPRegressor

N, BATCH = 60, 20
SK_ACTIVATION = {"relu": "relu", "tanh": "tanh", "sigmoid": "logistic", "identity": "identity"}


def _sklearn_epoch(model, X, y, coefs, intercepts):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.fit(X, y)  # sets up the layers; then start again from the given weights
        model.coefs_ = [w.copy() for w in coefs]
        model.intercepts_ = [b.copy() for b in intercepts]
        model.set_params(warm_start=True)
        model.fit(X, y)
    return model


def _data(kind, rng):
    X = rng.normal(size=(N, 5))
    if kind == "regression":
        return X, X @ rng.normal(size=5) + np.sin(X[:, 0])
    if kind == "binary":
        return X, (X[:, 0] + X[:, 1] ** 2 > 1).astype(int)
    return X, np.digitize(X[:, 0] + 0.5 * X[:, 2], [-0.5, 0.5])


def _weights(sizes, rng):
    coefs = [rng.normal(scale=0.5, size=(a, b)) for a, b in itertools.pairwise(sizes)]
    intercepts = [rng.normal(scale=0.1, size=b) for b in sizes[1:]]
    return coefs, intercepts


@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
@pytest.mark.parametrize("activation", list(SK_ACTIVATION))
@pytest.mark.parametrize("kind", ["regression", "binary", "multiclass"])
def test_one_epoch_equals_scikit_learn(kind, activation, optimizer):
    rng = np.random.default_rng(0)
    X, y = _data(kind, rng)
    n_out = {"regression": 1, "binary": 1, "multiclass": 3}[kind]
    coefs, intercepts = _weights((5, 6, 4, n_out), rng)
    alpha_sk, rate_sk = 0.01, 0.05
    regression = kind == "regression"
    factor = 2.0 if regression else 1.0  # gdlab's loss / scikit-learn's loss
    shared = dict(hidden_layer_sizes=(6, 4), activation=SK_ACTIVATION[activation])
    sk_opt = dict(
        solver=optimizer,
        learning_rate_init=rate_sk,
        batch_size=BATCH,
        shuffle=False,
        max_iter=1,
        alpha=alpha_sk,
        tol=0,
        n_iter_no_change=10**6,
    )
    if optimizer == "sgd":
        sk_opt["momentum"] = 0.0
        ours_opt = dict(optimizer="sgd", learning_rate=rate_sk / factor)
    else:
        sk_opt["epsilon"] = 1e-30
        ours_opt = dict(optimizer="adam", learning_rate=rate_sk, optimizer_params={"eps": 1e-30})
    cls_sk = sk.MLPRegressor if regression else sk.MLPClassifier
    theirs = _sklearn_epoch(cls_sk(**shared, **sk_opt), X, y, coefs, intercepts)
    cls = MLPRegressor if regression else MLPClassifier
    ours = cls(
        (6, 4),
        activation,
        alpha=factor * alpha_sk / BATCH,
        batch_size=BATCH,
        shuffle=False,
        max_iter=1,
        tol=None,
        **ours_opt,
    ).fit(X, y, coefs_init=coefs, intercepts_init=intercepts)
    for a, b in zip(
        ours.coefs_ + ours.intercepts_, theirs.coefs_ + theirs.intercepts_, strict=True
    ):
        np.testing.assert_allclose(a, b, rtol=0, atol=1e-10)
    # the epoch's mean loss, on gdlab's scale
    assert ours.loss_curve_[0] == pytest.approx(factor * theirs.loss_curve_[-1], rel=1e-10)
    # and the predictions after the epoch
    if regression:
        np.testing.assert_allclose(ours.predict(X), theirs.predict(X), rtol=0, atol=1e-10)
    else:
        np.testing.assert_allclose(ours.predict_proba(X), theirs.predict_proba(X), atol=1e-10)
