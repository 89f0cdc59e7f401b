"""Sample weights from a column of a streamed source (gdlab.data, issue 10): read per block and
used exactly as in-memory ``sample_weight``."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.csv as pcsv
import pyarrow.parquet as pq
import pytest

import gdlab
from gdlab import GDClassifier, GDRegressor
from gdlab.data.stats import scan

N, BLOCK = 500, 64


@pytest.fixture(scope="module")
def weighted(tmp_path_factory):
    """Features on different scales, a linear target, weights in [0, 3) with a run of zeros."""
    rng = np.random.default_rng(7)
    X = rng.normal(size=(N, 3)) * [1.0, 5.0, 0.2] + [1.0, -2.0, 3.0]
    y = X @ [1.0, -0.5, 2.0] + 0.3 + rng.normal(size=N)
    w = rng.uniform(0.0, 3.0, size=N)
    w[:40] = 0.0
    labels = np.where(X[:, 0] + 0.3 * rng.normal(size=N) > 1.0, "yes", "no")
    folder = tmp_path_factory.mktemp("weighted")
    columns = {"a": X[:, 0], "b": X[:, 1], "c": X[:, 2], "y": y, "w": w, "label": labels}
    pq.write_table(pa.table(columns), folder / "d.parquet", row_group_size=2 * BLOCK)
    pcsv.write_csv(pa.table(columns), folder / "d.csv")
    return X, y, w, labels, folder


def _parquet(folder, target="y", batch_rows=BLOCK):
    features = ["a", "b", "c"]
    return gdlab.data.parquet(
        folder / "d.parquet", target=target, features=features, batch_rows=batch_rows, weight="w"
    )


def _arrays(X, y, w):
    """In memory with the file's layout: groups of 2 x BLOCK rows cut into blocks of BLOCK."""
    return gdlab.data.arrays(X, y, batch_rows=BLOCK, group_rows=2 * BLOCK, sample_weight=w)


SETTINGS = [
    {},  # the defaults: Adam, batch_size=32, shuffled, tol=1e-4
    {"optimizer": "sgd", "learning_rate": 0.01, "batch_size": 10, "max_iter": 4, "tol": None},
    {"optimizer": "momentum", "learning_rate": 1e-3, "batch_size": 1, "max_iter": 2, "tol": None},
    {"batch_size": None, "optimizer": "nesterov", "learning_rate": 0.05, "max_iter": 20},
    {"early_stopping": True, "max_iter": 6, "n_iter_no_change": 2},  # weighted split objectives
]


@pytest.mark.parametrize("settings", SETTINGS)
def test_weighted_stream_is_bit_identical_to_in_memory_blocks(settings, weighted):
    X, y, w, _, folder = weighted
    streamed = GDRegressor(random_state=2, **settings).fit(_parquet(folder))
    in_memory = GDRegressor(random_state=2, **settings).fit(_arrays(X, y, w))
    assert np.array_equal(streamed.coef_, in_memory.coef_)
    assert np.array_equal(streamed.intercept_, in_memory.intercept_)
    assert streamed.loss_curve_ == in_memory.loss_curve_
    assert streamed.t_ == in_memory.t_


@pytest.mark.parametrize("standardize", [False, True])
@pytest.mark.parametrize("penalty", [None, "l2"])
def test_full_batch_weighted_stream_equals_in_memory_sample_weight(standardize, penalty, weighted):
    X, y, w, _, folder = weighted
    settings = dict(
        batch_size=None,
        optimizer="sgd",
        learning_rate=0.01,
        max_iter=30,
        tol=None,
        standardize=standardize,
        penalty=penalty,
        alpha=0.01,
        random_state=0,
    )
    streamed = GDRegressor(**settings).fit(_parquet(folder))
    in_memory = GDRegressor(backend="numpy", **settings).fit(X, y, sample_weight=w)
    np.testing.assert_allclose(streamed.coef_, in_memory.coef_, rtol=1e-12, atol=0)
    np.testing.assert_allclose(streamed.intercept_, in_memory.intercept_, rtol=1e-12, atol=0)
    np.testing.assert_allclose(streamed.loss_curve_, in_memory.loss_curve_, rtol=1e-12, atol=0)
    unweighted = GDRegressor(**settings).fit(
        gdlab.data.parquet(folder / "d.parquet", "y", features=["a", "b", "c"])
    )
    assert not np.allclose(unweighted.coef_, streamed.coef_, rtol=1e-3)  # the weights count


def test_unshuffled_mini_batches_in_one_block_equal_in_memory(weighted):
    """One block of every row and no shuffling: the batches and weights of an in-memory fit."""
    X, y, w, _, folder = weighted
    settings = dict(batch_size=16, shuffle=False, max_iter=3, tol=None, random_state=0)
    streamed = GDRegressor(**settings).fit(_parquet(folder, batch_rows=N))
    in_memory = GDRegressor(backend="numpy", **settings).fit(X, y, sample_weight=w)
    np.testing.assert_allclose(streamed.coef_, in_memory.coef_, rtol=1e-10)
    np.testing.assert_allclose(streamed.loss_curve_, in_memory.loss_curve_, rtol=1e-10)


def test_integer_weights_equal_repeated_rows(weighted):
    """Oracle: a full-batch fit with weight k on a row is the fit with the row k times."""
    X, y, _, _, folder = weighted
    counts = np.arange(N) % 3
    table = pa.table({"a": X[:, 0], "b": X[:, 1], "c": X[:, 2], "y": y, "w": counts * 1.0})
    pq.write_table(table, folder / "counts.parquet", row_group_size=BLOCK)
    settings = dict(batch_size=None, optimizer="sgd", learning_rate=0.1, max_iter=25, tol=None)
    by_weight = GDRegressor(**settings).fit(
        gdlab.data.parquet(folder / "counts.parquet", target="y", weight="w")
    )
    repeated = GDRegressor(**settings).fit(np.repeat(X, counts, axis=0), np.repeat(y, counts))
    np.testing.assert_allclose(by_weight.coef_, repeated.coef_, rtol=1e-10)
    np.testing.assert_allclose(by_weight.intercept_, repeated.intercept_, rtol=1e-10)


def test_classifier_weighted_stream(weighted):
    X, _, w, labels, folder = weighted
    default = GDClassifier(random_state=0).fit(_parquet(folder, target="label"))
    blocks = GDClassifier(random_state=0).fit(_arrays(X, labels, w))
    assert np.array_equal(default.coef_, blocks.coef_)
    assert list(default.classes_) == ["no", "yes"]
    settings = dict(batch_size=None, learning_rate=0.5, max_iter=30, tol=None, random_state=0)
    streamed = GDClassifier(**settings).fit(_parquet(folder, target="label"))
    in_memory = GDClassifier(backend="numpy", **settings).fit(X, labels, sample_weight=w)
    np.testing.assert_allclose(streamed.coef_, in_memory.coef_, rtol=1e-12)
    np.testing.assert_allclose(streamed.intercept_, in_memory.intercept_, rtol=1e-12)


def test_csv_weight_column_equals_parquet(weighted):
    folder = weighted[4]
    settings = dict(batch_size=None, learning_rate=0.05, max_iter=10, tol=None)
    csv = gdlab.data.csv(folder / "d.csv", target="y", features=["a", "b", "c"], weight="w")
    from_csv = GDRegressor(**settings).fit(csv)
    from_parquet = GDRegressor(**settings).fit(_parquet(folder))
    np.testing.assert_allclose(from_csv.coef_, from_parquet.coef_, rtol=1e-12)


def test_weighted_statistics_match_numpy(weighted):
    X, y, w, _, folder = weighted
    stats = scan(_parquet(folder), classify=False)
    np.testing.assert_allclose(stats.mean, np.average(X, axis=0, weights=w), rtol=1e-12)
    std = np.sqrt(np.average((X - np.average(X, axis=0, weights=w)) ** 2, axis=0, weights=w))
    np.testing.assert_allclose(stats.std, std, rtol=1e-12)
    assert stats.target_mean[0] == pytest.approx(np.average(y, weights=w), rel=1e-12)
    target_std = np.sqrt(np.average((y - np.average(y, weights=w)) ** 2, weights=w))
    assert stats.target_std[0] == pytest.approx(target_std, rel=1e-12)
    assert stats.n_rows == N and stats.weight_sum == pytest.approx(w.sum(), rel=1e-12)


def test_weight_column_errors_name_the_problem(weighted, tmp_path):
    X, y, w, _, folder = weighted
    with pytest.raises(ValueError, match="weight column 'nope' is not in"):
        gdlab.data.parquet(folder / "d.parquet", target="y", weight="nope")
    with pytest.raises(ValueError, match="'y' is also the target"):
        gdlab.data.parquet(folder / "d.parquet", target="y", weight="y")
    with pytest.raises(ValueError, match="'w' is also a feature"):
        gdlab.data.parquet(folder / "d.parquet", target="y", features=["a", "w"], weight="w")
    with pytest.raises(ValueError, match="weight='column name'"):
        GDRegressor().fit(_parquet(folder), sample_weight=w)
    named = "The sample weights in column 'w' must be"
    for bad, message in (
        (-1.0, f"{named} >= 0; row 70 of the data has -1"),
        (np.nan, f"{named} finite; row 70 of the data has nan"),
    ):
        weights = w.copy()
        weights[70] = bad
        table = pa.table({"a": X[:, 0], "y": y, "w": weights})
        pq.write_table(table, tmp_path / "bad.parquet", row_group_size=BLOCK)
        with pytest.raises(ValueError, match=message):
            GDRegressor().fit(gdlab.data.parquet(tmp_path / "bad.parquet", "y", weight="w"))
    pq.write_table(pa.table({"a": X[:, 0], "y": y, "w": 0 * w}), tmp_path / "zero.parquet")
    with pytest.raises(ValueError, match="sum to zero"):
        GDRegressor().fit(gdlab.data.parquet(tmp_path / "zero.parquet", "y", weight="w"))


def test_warm_start_on_a_weighted_stream_continues_exactly(weighted):
    folder = weighted[4]
    settings = dict(batch_size=20, tol=None, random_state=3)
    straight = GDRegressor(max_iter=4, **settings).fit(_parquet(folder))
    warm = GDRegressor(max_iter=2, warm_start=True, **settings).fit(_parquet(folder))
    warm.fit(_parquet(folder))
    assert np.array_equal(straight.coef_, warm.coef_)
    assert np.array_equal(straight.intercept_, warm.intercept_)
