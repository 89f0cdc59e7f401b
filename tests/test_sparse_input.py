"""scipy.sparse CSR/CSC input: the same fits as the dense arrays, to 1e-12."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.preprocessing import StandardScaler

from gdlab import GDClassifier, GDRegressor

OPTIMIZERS = ["sgd", "momentum", "nesterov", "adagrad", "rmsprop", "adam", "adamw", "pid"]
PENALTIES = [None, "l2", "l1", "elasticnet"]
REGRESSION_LOSSES = GDRegressor._losses
CLASSIFICATION_LOSSES = GDClassifier._losses


def _data(n=80, d=7, seed=0):
    rng = np.random.default_rng(seed)
    dense = rng.normal(size=(n, d)) * (rng.random((n, d)) < 0.3)
    dense[:, 0] = 0.0  # an empty column
    coef = rng.normal(size=d)
    return dense, coef


def _close(a, b):
    np.testing.assert_allclose(a.coef_, b.coef_, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(a.intercept_, b.intercept_, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(a.loss_curve_, b.loss_curve_, rtol=1e-12)


# every optimizer with every loss; the penalties and batch sizes rotate through the pairs
CASES = [
    (optimizer, loss, PENALTIES[k % 4], (None, 16, 1)[k % 3])
    for k, (optimizer, loss) in enumerate(
        itertools.product(OPTIMIZERS, REGRESSION_LOSSES + CLASSIFICATION_LOSSES)
    )
]


@pytest.mark.parametrize(("optimizer", "loss", "penalty", "batch_size"), CASES)
def test_sparse_fit_equals_dense(optimizer, loss, penalty, batch_size):
    dense, coef = _data()
    score = dense @ coef
    if loss in CLASSIFICATION_LOSSES:
        y = np.where(score > 0, "yes", "no")
        Model = GDClassifier
    else:
        y = np.exp(0.3 * score) if loss == "poisson" else score + 1.0
        Model = GDRegressor
    settings = dict(
        optimizer=optimizer,
        loss=loss,
        penalty=penalty,
        batch_size=batch_size,
        learning_rate=0.01,
        max_iter=4,
        tol=None,
        backend="numpy",
        random_state=0,
        standardize=False,  # the data as given: sparse scaling would not centre, dense would
    )
    matrix = (
        sp.csr_matrix if CASES.index((optimizer, loss, penalty, batch_size)) % 2 else sp.csc_array
    )
    with_sparse = Model(**settings).fit(matrix(dense), y)
    with_dense = Model(**settings).fit(dense, y)
    _close(with_sparse, with_dense)
    if Model is GDRegressor:
        np.testing.assert_allclose(with_sparse.predict(matrix(dense)), with_dense.predict(dense))
    else:
        assert np.array_equal(with_sparse.predict(matrix(dense)), with_dense.predict(dense))


@pytest.mark.parametrize("penalty", PENALTIES)
def test_multiclass_softmax_and_averaging_on_sparse(penalty):
    dense, _ = _data(n=90, d=5, seed=2)
    y = np.arange(90) % 3
    settings = dict(
        penalty=penalty, average=True, batch_size=8, max_iter=3, tol=None, standardize=False
    )
    a = GDClassifier(random_state=1, **settings).fit(sp.csr_matrix(dense), y)
    b = GDClassifier(random_state=1, backend="numpy", **settings).fit(dense, y)
    _close(a, b)
    np.testing.assert_allclose(a.predict_proba(sp.csr_matrix(dense)), b.predict_proba(dense))


def test_sparse_standardize_scales_without_centring_like_standard_scaler():
    dense, coef = _data(n=120, d=6, seed=3)
    dense[:, 1] *= 50.0
    y = dense @ coef + 2.0
    settings = dict(batch_size=None, optimizer="sgd", learning_rate=0.05, max_iter=30, tol=None)
    with pytest.warns(UserWarning, match=r"StandardScaler\(with_mean=False\)"):
        sparse_model = GDRegressor(standardize=True, **settings).fit(sp.csr_matrix(dense), y)
    scaler = StandardScaler(with_mean=False).fit(dense)
    on_scaled = GDRegressor(backend="numpy", standardize=False, **settings).fit(
        scaler.transform(dense), y
    )
    np.testing.assert_allclose(sparse_model._x_scale[1:], scaler.scale_[1:], rtol=1e-13)
    np.testing.assert_allclose(sparse_model.coef_ * scaler.scale_, on_scaled.coef_, rtol=1e-12)
    np.testing.assert_allclose(sparse_model.intercept_, on_scaled.intercept_, rtol=1e-12)


def test_sparse_defaults_and_partial_fit():
    dense, coef = _data(n=300, d=5, seed=4)
    y = dense @ coef + 1.0
    model = GDRegressor(random_state=0).fit(sp.csr_matrix(dense), y)
    assert model.score(sp.csr_matrix(dense), y) > 0.99
    # the same arithmetic on both (standardize=True would centre the dense copy only)
    a = GDRegressor(random_state=0, standardize=False)
    b = GDRegressor(random_state=0, backend="numpy", standardize=False)
    for _ in range(2):
        a.partial_fit(sp.csr_matrix(dense), y)
        b.partial_fit(dense, y)
    _close(a, b)


def test_numba_backend_runs_sparse_with_compiled_kernels():
    """CSR and CSC (converted to CSR once) run on the compiled sparse kernels
    (tests/test_sparse_kernels.py checks their numbers)."""
    pytest.importorskip("numba")
    dense, coef = _data()
    for matrix in (sp.csr_matrix, sp.csc_array):
        model = GDRegressor(backend="numba", standardize=False).fit(matrix(dense), dense @ coef)
        assert model.history_.backend == "numba"


@pytest.mark.parametrize("value", [1e200, -1e200])
def test_sparse_values_too_large_are_named_by_feature(value):
    dense = np.zeros((4, 3))
    dense[:, 0] = [1.0, 2.0, 0.0, -3.0]
    dense[2, 2] = value
    with pytest.raises(ValueError, match=r"X has values up to 1e\+200 \(feature 2\)"):
        GDRegressor(standardize=False).fit(sp.csr_matrix(dense), np.arange(4.0))
