"""Streamed fits with a validation split (early stopping): the split is a seeded function of the
row index (gdlab.data.layout.validation_rows), the same rows for every source, and the fit is bit
for bit the in-memory fit with the same blocks."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.csv as pcsv
import pyarrow.parquet as pq
import pytest

import gdlab
from gdlab import GDClassifier, GDRegressor
from gdlab.data.layout import validation_rows
from gdlab.data.objective import RowSplit

N, BLOCK = 900, 64


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(11)
    X = rng.normal(size=(N, 3)) * [1.0, 4.0, 0.5] + [0.0, 2.0, -1.0]
    y = X @ [1.5, -0.4, 2.0] + 0.7 + 0.3 * rng.normal(size=N)
    return X, y


@pytest.fixture(scope="module")
def parquet_file(tmp_path_factory, data):
    X, y = data
    path = tmp_path_factory.mktemp("val") / "d.parquet"
    table = pa.table({"a": X[:, 0], "b": X[:, 1], "c": X[:, 2], "y": y})
    pq.write_table(table, path, row_group_size=BLOCK)
    return path


def test_the_split_is_a_function_of_the_row_index_alone():
    whole = validation_rows(5, 0.2, 0, 10_000)
    pieces = np.concatenate(
        [validation_rows(5, 0.2, a, min(a + 77, 10_000)) for a in range(0, 10_000, 77)]
    )
    assert np.array_equal(whole, pieces)
    assert abs(whole.mean() - 0.2) < 0.02  # about the fraction (binomial sd 0.004)
    assert not np.array_equal(whole, validation_rows(6, 0.2, 0, 10_000))  # the seed matters
    assert not validation_rows(5, 0.0, 0, 1000).any() and validation_rows(5, 1.0, 0, 1000).all()
    split = RowSplit(5, 0.2, validation=True)
    assert split.count(10_000) == int(whole.sum())


SETTINGS = [
    {"early_stopping": True},  # the defaults otherwise: Adam, batch_size=32, shuffled
    {"early_stopping": True, "batch_size": None, "optimizer": "sgd", "learning_rate": 0.05},
    {"early_stopping": True, "batch_size": 7, "n_iter_no_change": 2, "validation_fraction": 0.3},
    {"early_stopping": True, "shuffle": False, "standardize": False, "penalty": "l2"},
]


@pytest.mark.parametrize("settings", SETTINGS)
def test_streamed_early_stopping_is_bit_identical_to_in_memory_blocks(settings, data, parquet_file):
    X, y = data
    streamed = GDRegressor(random_state=3, **settings).fit(
        gdlab.data.parquet(parquet_file, target="y", batch_rows=BLOCK)
    )
    in_memory = GDRegressor(random_state=3, **settings).fit(
        gdlab.data.arrays(X, y, batch_rows=BLOCK)
    )
    assert np.array_equal(streamed.coef_, in_memory.coef_)
    assert np.array_equal(streamed.intercept_, in_memory.intercept_)
    assert streamed.loss_curve_ == in_memory.loss_curve_
    assert streamed.n_iter_ == in_memory.n_iter_


def test_csv_and_other_block_sizes_split_the_same_rows(tmp_path, data):
    """Full batch: only the rows matter, so CSV with 100-row blocks agrees to rounding (plain
    SGD: Adam's g / sqrt(v) magnifies the rounding of the block sums near the optimum)."""
    X, y = data
    path = tmp_path / "d.csv"
    pcsv.write_csv(pa.table({"a": X[:, 0], "b": X[:, 1], "c": X[:, 2], "y": y}), path)
    settings = {"early_stopping": True, "batch_size": None, "random_state": 0, "max_iter": 30}
    settings |= {"optimizer": "sgd", "learning_rate": 0.05, "tol": None}
    a = GDRegressor(**settings).fit(gdlab.data.csv(path, target="y", batch_rows=100))
    b = GDRegressor(**settings).fit(gdlab.data.arrays(X, y, batch_rows=BLOCK))
    np.testing.assert_allclose(a.coef_, b.coef_, rtol=1e-10)
    np.testing.assert_allclose(a.history_.val_loss, b.history_.val_loss, rtol=1e-10)


def test_the_fit_trains_on_the_training_rows_and_scores_the_validation_rows(data):
    """Oracle: a full-batch in-memory fit on exactly the training rows (no scaling, so only the
    rows matter) gives the same coefficients, and the recorded validation loss is the mean
    squared error of the validation rows."""
    X, y = data
    settings = {"batch_size": None, "optimizer": "sgd", "learning_rate": 0.01, "max_iter": 40}
    settings |= {"standardize": False, "tol": None, "random_state": 4}
    streamed = GDRegressor(early_stopping=True, **settings).fit(
        gdlab.data.arrays(X, y, batch_rows=BLOCK)
    )
    held = validation_rows(streamed._seed, 0.1, 0, N)
    oracle = GDRegressor(**settings).fit(X[~held], y[~held])
    np.testing.assert_allclose(streamed.coef_, oracle.coef_, rtol=1e-10)
    np.testing.assert_allclose(streamed.intercept_, oracle.intercept_, rtol=1e-10)
    mse = np.mean((y[held] - streamed.predict(X[held])) ** 2)
    assert streamed.history_.val_loss[-1] == pytest.approx(mse, rel=1e-10)


def test_early_stopping_stops_and_keeps_the_best_epoch(data, parquet_file):
    X, y = data
    model = GDRegressor(early_stopping=True, random_state=0, max_iter=500).fit(
        gdlab.data.parquet(parquet_file, target="y", batch_rows=BLOCK)
    )
    assert model.n_iter_ < 500
    held = validation_rows(model._seed, 0.1, 0, N)
    mse = np.mean((y[held] - X[held] @ model.coef_ - model.intercept_) ** 2)
    assert min(model.history_.val_loss) == pytest.approx(mse, rel=1e-9)  # the best epoch's


def test_a_classifier_streams_with_early_stopping(tmp_path, data):
    X, _ = data
    labels = np.where(X[:, 0] + 0.2 * X[:, 1] > 0.4, "yes", "no")
    path = tmp_path / "c.parquet"
    pq.write_table(
        pa.table({"a": X[:, 0], "b": X[:, 1], "label": labels}), path, row_group_size=BLOCK
    )
    settings = {
        "early_stopping": True,
        "random_state": 2,
        "batch_size": 64,
        "max_iter": 15,
        "tol": None,
    }
    streamed = GDClassifier(**settings).fit(
        gdlab.data.parquet(path, target="label", batch_rows=BLOCK)
    )
    in_memory = GDClassifier(**settings).fit(gdlab.data.arrays(X[:, :2], labels, batch_rows=BLOCK))
    assert np.array_equal(streamed.coef_, in_memory.coef_)
    assert streamed.score(gdlab.data.parquet(path, target="label")) > 0.9


def test_a_split_with_no_validation_row_is_refused(parquet_file):
    with pytest.raises(ValueError, match="at least one training and one validation sample"):
        GDRegressor(early_stopping=True, validation_fraction=1e-9).fit(
            gdlab.data.parquet(parquet_file, target="y")
        )
