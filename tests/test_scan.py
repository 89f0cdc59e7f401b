"""The one-pass check of X (gdlab.backends.scan): agrees with NumPy, finds NaN and infinity, and
gives scikit-learn's messages through the estimators."""

from __future__ import annotations

import numpy as np
import pytest

from gdlab import GDClassifier, GDRegressor
from gdlab._guards import mean_and_std
from gdlab.backends import numba_available
from gdlab.backends.scan import (
    MIN_ELEMENTS,
    mean_squared_residual,
    row_dot,
    scan,
    standardized,
)

needs_numba = pytest.mark.skipif(not numba_available(), reason="the compiled path needs Numba")
ROWS = MIN_ELEMENTS // 10 + 7  # 10 columns: just over the size that takes the compiled path


def data(dtype=np.float64, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(ROWS, 10)) * np.logspace(-3, 3, 10) + np.linspace(-50, 50, 10)
    return X.astype(dtype)


@needs_numba
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("weighted", [False, True])
def test_compiled_scan_agrees_with_numpy(dtype, weighted):
    X = data(dtype)
    weight = np.random.default_rng(1).uniform(0, 2, ROWS) if weighted else None
    result = scan(X, weight)
    assert result.finite and result.mean is not None
    np.testing.assert_array_equal(result.max_abs, np.max(np.abs(X), axis=0))
    mean, std = mean_and_std(X.astype(np.float64), weight)
    np.testing.assert_allclose(result.mean, mean, rtol=1e-12, atol=1e-12 * std.max())
    np.testing.assert_allclose(result.std, std, rtol=1e-9)


@needs_numba
@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_compiled_scan_finds_nan_and_infinity_anywhere(bad):
    X = data()
    for row in (0, ROWS // 2, ROWS - 1):
        Y = X.copy()
        Y[row, 3] = bad
        assert not scan(Y).finite
    huge = X.copy()
    huge[5, 2] = 1e300  # finite, but its square overflows the sums: still finite
    found = scan(huge)
    assert found.finite and found.mean is None  # the caller then uses NumPy's overflow-safe path


@needs_numba
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_compiled_check_without_statistics_finds_magnitudes_nan_and_infinity(dtype):
    X = data(dtype)
    result = scan(X, statistics=False)
    assert result.finite and result.mean is None
    np.testing.assert_array_equal(result.max_abs, np.max(np.abs(X), axis=0))
    for bad in (np.nan, np.inf, -np.inf):
        for row in (0, ROWS // 2, ROWS - 1):
            Y = X.copy()
            Y[row, 7] = bad
            assert not scan(Y, statistics=False).finite
    huge = X.astype(np.float64)
    huge[[3, 9], 2] = 1e308  # finite, but the column's sum overflows: still finite
    found = scan(huge, statistics=False)
    assert found.finite and found.max_abs[2] == 1e308


@needs_numba
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_compiled_row_dot_agrees_with_numpy(dtype):
    X = data(dtype)
    weights = np.random.default_rng(2).normal(size=10)
    expected = X.astype(np.float64) @ weights
    got = row_dot(X, weights)
    assert got.dtype == np.float64 and got.shape == (ROWS,)
    np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-12 * np.abs(expected).max())


@needs_numba
def test_standardized_copy_is_bitwise_numpys():
    X = data()
    mean, std = mean_and_std(X, None)
    out, finite = standardized(X, mean, std)
    assert finite and out.dtype == X.dtype
    np.testing.assert_array_equal(out, (X - mean) / std)


@pytest.mark.parametrize("Estimator", [GDRegressor, GDClassifier])
@pytest.mark.parametrize("rows", [50, ROWS])
def test_estimators_refuse_nan_and_infinity_with_scikit_learns_message(Estimator, rows):
    X = np.random.default_rng(0).normal(size=(rows, 10))
    y = (X[:, 0] > 0).astype(float)
    X[rows // 2, 4] = np.nan
    with pytest.raises(ValueError, match="Input X contains NaN"):
        Estimator(max_iter=1).fit(X, y)
    X[rows // 2, 4] = np.inf
    with pytest.raises(ValueError, match="Input X contains infinity"):
        Estimator(max_iter=1).fit(X, y)


@pytest.mark.parametrize("size", [ROWS, 50])  # the compiled path and NumPy's
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("weighted", [False, True])
def test_mean_squared_residual_is_the_mean_of_the_squared_residuals(size, dtype, weighted):
    """The fused pass (no array of residuals) equals NumPy's mean of ``(X @ w + b - y)^2`` to
    its documented rounding (n terms summed in any order), with and without sample weights."""
    X = data(dtype)[:size]
    rng = np.random.default_rng(3)
    weights, targets = rng.normal(size=10), rng.normal(size=size).astype(dtype)
    weight = rng.uniform(0, 2, size) if weighted else None
    residual = (X.astype(np.float64) @ weights + 0.25) - targets
    expected = np.average(residual * residual, weights=weight)
    got = mean_squared_residual(X, weights, 0.25, targets, weight)
    assert isinstance(got, float)
    np.testing.assert_allclose(got, expected, rtol=1e-11)
    if weighted:  # rows of weight 0 do not count, however large their residual
        weight[:3], targets[:3] = 0.0, 1e6
        residual = (X.astype(np.float64) @ weights + 0.25) - targets
        expected = np.average(residual * residual, weights=weight)
        np.testing.assert_allclose(
            mean_squared_residual(X, weights, 0.25, targets, weight), expected, rtol=1e-11
        )
