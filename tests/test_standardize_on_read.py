"""Training with ``standardize=True`` reads X itself, not a standardized copy (issue 8 point 5):
the rows are standardized as the compiled kernels read them, with the copy's arithmetic, so every
coefficient, intercept and loss is bit for bit what training on the copy gave (references
computed on main before the change: scripts/make_standardize_references.py)."""

from __future__ import annotations

import importlib.util
import json
import tracemalloc
from pathlib import Path

import numpy as np
import pytest

from gdlab import GDRegressor, losses
from gdlab._objectives import LinearObjective
from gdlab.backends import numba_available
from gdlab.backends.scan import row_dot, scaled_row_dot, standardized
from gdlab.engine import TrainConfig, init_state, train
from gdlab.estimators._scaled_objective import ScaledObjective, reads_safely, standardized_copy
from gdlab.optim import adam

needs_numba = pytest.mark.skipif(not numba_available(), reason="the compiled path needs Numba")
ROOT = Path(__file__).resolve().parents[1]
REFERENCES = json.loads((ROOT / "tests" / "data" / "standardize_references.json").read_text())


def _maker():
    spec = importlib.util.spec_from_file_location(
        "make_standardize_references", ROOT / "scripts" / "make_standardize_references.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


MAKER = _maker()


def _hex(values) -> list[str]:
    return [float(v).hex() for v in np.ravel(values)]


@needs_numba
@pytest.mark.parametrize("name", sorted(REFERENCES))
def test_fits_give_the_numbers_of_training_on_the_copy_bit_for_bit(name):
    model = MAKER.fit(name)
    expected = REFERENCES[name]
    assert model.history_.backend == expected["backend"]
    assert _hex(model.coef_) == expected["coef"]
    assert _hex(model.intercept_) == expected["intercept"]
    assert _hex(model.loss_curve_) == expected["loss_curve"]


def _peak_bytes(fit) -> int:
    fit()  # compile and warm up first: only the measured call's own allocations count
    tracemalloc.start()
    try:
        fit()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


@needs_numba
@pytest.mark.parametrize(
    "settings",
    [{}, {"optimizer": "sgd", "batch_size": 1, "learning_rate": 1e-3}, {"fit_intercept": False}],
    ids=["defaults", "sgd-batch-1", "no-intercept"],
)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_a_default_fit_allocates_no_copy_of_X(settings, dtype):
    X, y = MAKER.make_data(False, False)
    X, y = np.tile(X, (6, 1)).astype(dtype), np.tile(y, 6)  # 120,000 rows: 58 or 29 MB
    model = GDRegressor(max_iter=1, tol=None, random_state=0, **settings)
    peak = _peak_bytes(lambda: model.fit(X, y))
    assert model.history_.backend == "numba"
    # the two block buffers of shuffled rows (8 MiB) and vectors of n: no array of X's size
    assert peak < 0.5 * X.nbytes, f"peak {peak} bytes for X of {X.nbytes} bytes"


@needs_numba
def test_the_numpy_path_and_a_full_batch_still_use_the_copy_and_agree():
    X, y = MAKER.make_data(False, False)
    kwargs = {"max_iter": 2, "tol": None, "random_state": 0, "learning_rate": 0.01}
    numpy_fit = GDRegressor(backend="numpy", **kwargs).fit(X[:4000], y[:4000])
    compiled = GDRegressor(backend="numba", **kwargs).fit(X[:4000], y[:4000])
    np.testing.assert_allclose(compiled.coef_, numpy_fit.coef_, rtol=1e-9, atol=1e-12)
    full = dict(kwargs, batch_size=None, optimizer="sgd")
    peak = _peak_bytes(lambda: GDRegressor(backend="numba", **full).fit(X, y))
    assert peak > X.nbytes  # a full batch reads the standardized copy
    np.testing.assert_allclose(
        GDRegressor(backend="numba", **full).fit(X, y).coef_,
        GDRegressor(backend="numpy", **full).fit(X, y).coef_,
        rtol=1e-9,
    )


def _objectives(dtype=np.float64):
    X, y = MAKER.make_data(False, False)
    X = X.astype(dtype)
    mean, scale = X.mean(axis=0), X.std(axis=0)
    loss, penalty = losses.squared_error, losses.get_penalty("l2", 1e-4)
    y = (y - y.mean()).astype(dtype)
    scaled = ScaledObjective(X, mean, scale, y, loss, penalty)
    copy = LinearObjective(standardized_copy(X, mean, scale), y, loss, penalty)
    return scaled, copy


@needs_numba
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_compiled_epochs_on_read_equal_epochs_on_the_copy(dtype):
    scaled, copy = _objectives(dtype)
    config = TrainConfig(batch_size=16, max_epochs=2, shuffle=True, seed=3, backend="numba")
    results = []
    for objective in (scaled, copy):
        optimizer = adam(1e-3)
        state = init_state(np.zeros(objective.n_params, dtype=dtype), optimizer)
        results.append(train(objective, optimizer, state, config))
    assert scaled.standardize_on_read is not None  # trained and checked without the copy
    np.testing.assert_array_equal(results[0].state.params, results[1].state.params)
    assert results[0].history.loss == results[1].history.loss


@needs_numba
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_scaled_row_dot_is_bitwise_row_dot_of_the_copy(dtype):
    scaled, copy = _objectives(dtype)
    theta = np.random.default_rng(4).normal(size=scaled.n_params).astype(dtype)
    weights = theta[:-1]
    on_read = scaled.standardize_on_read
    assert on_read is not None
    np.testing.assert_array_equal(scaled_row_dot(*on_read, weights), row_dot(copy.X, weights))
    assert scaled.loss_without_blas(theta) == copy.loss_without_blas(theta)
    assert scaled.standardize_on_read is not None  # still no copy made
    assert scaled_row_dot(copy.X[:10], on_read[1], on_read[2], weights) is None  # small: NumPy


def test_the_copy_is_made_on_first_use_and_equals_numpys():
    X = np.random.default_rng(0).normal(3.0, 2.0, size=(40, 3))
    mean, scale = X.mean(axis=0), X.std(axis=0)
    objective = ScaledObjective(
        X, mean, scale, X[:, 0], losses.squared_error, losses.get_penalty(None)
    )
    assert objective.standardize_on_read is not None
    np.testing.assert_array_equal(objective.X, (X - mean) / scale)
    assert objective.standardize_on_read is None  # the copy exists: the back-ends use it
    assert objective.raw_X is X and objective.n_params == 4


def test_values_near_the_limit_are_not_standardized_on_read():
    mean, scale = np.array([-1e308]), np.array([1e308])
    assert not reads_safely(np.array([1.5e308]), mean, scale, np.float64)
    assert not reads_safely(None, mean, scale, np.float64)
    assert reads_safely(np.array([3e38]), np.array([0.0]), np.array([1.0]), np.float64)
    assert not reads_safely(np.array([3e38]), np.array([0.0]), np.array([1.0]), np.float32)
    X = np.array([[-1.5e308], [1.5e308]])
    out = standardized_copy(X, mean, scale)
    np.testing.assert_array_equal(out, X / scale - mean / scale)
    assert standardized(X, mean, scale)[1] is False


@needs_numba
def test_compiled_epochs_draw_no_permutation_for_an_epoch_that_will_not_run(monkeypatch):
    from gdlab.backends import numba_backend

    drawn = []
    original = numba_backend.epoch_order

    def counting(n, shuffle, seed, epoch):
        drawn.append(epoch)
        return original(n, shuffle, seed, epoch)

    monkeypatch.setattr(numba_backend, "epoch_order", counting)
    X, y = MAKER.make_data(False, False)
    model = GDRegressor(max_iter=3, tol=None, random_state=0, backend="numba").fit(X, y)
    assert model.n_iter_ == 3 and sorted(drawn) == [0, 1, 2]  # not 3: the fit ends before it
