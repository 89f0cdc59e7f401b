"""Streamed sources (gdlab.data): the same numbers as in memory, block by block."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.csv as pcsv
import pyarrow.parquet as pq
import pytest

import gdlab
from gdlab import GDClassifier, GDRegressor
from gdlab.data.layout import BlockLayout
from gdlab.data.stats import scan

N, BLOCK = 600, 64


@pytest.fixture(scope="module")
def regression():
    rng = np.random.default_rng(3)
    X = rng.normal(size=(N, 3)) * [1.0, 5.0, 0.2] + [0.0, 3.0, -1.0]
    y = X @ [1.5, -0.4, 2.0] + 0.7 + 0.1 * rng.normal(size=N)
    return X, y


@pytest.fixture(scope="module")
def parquet_dir(tmp_path_factory, regression):
    """Three files, row groups of BLOCK rows: the same layout as arrays(..., batch_rows=BLOCK)
    when the files' sizes are multiples of BLOCK."""
    X, y = regression
    folder = tmp_path_factory.mktemp("parts")
    for k, rows in enumerate((slice(0, 256), slice(256, 448), slice(448, N))):
        table = pa.table({"a": X[rows, 0], "b": X[rows, 1], "c": X[rows, 2], "y": y[rows]})
        pq.write_table(table, folder / f"part-{k}.parquet", row_group_size=BLOCK)
    return folder


def _groups(X, y):
    """An in-memory source with the files' groups: 256 = 4 x 64, 192 = 3 x 64, 152 = 2 x 64 + 24."""
    return gdlab.data.arrays(X, y, batch_rows=BLOCK)


MINI_BATCH_SETTINGS = [
    {},  # the defaults: Adam, batch_size=32, shuffled, tol=1e-4
    {"optimizer": "sgd", "learning_rate": 0.01, "batch_size": 10, "standardize": True},
    {
        "optimizer": "momentum",
        "learning_rate": 1e-3,
        "batch_size": 1,
        "max_iter": 3,
        "penalty": "l1",
        "tol": None,
    },
    {"optimizer": "rmsprop", "batch_size": 50, "penalty": "elasticnet", "schedule": "cosine"},
    {"optimizer": "adamw", "shuffle": False, "loss": "huber", "standardize": True},
]


@pytest.mark.parametrize("settings", MINI_BATCH_SETTINGS)
def test_streamed_fit_is_bit_identical_to_in_memory_blocks(settings, regression, parquet_dir):
    X, y = regression
    streamed = GDRegressor(random_state=1, **settings).fit(
        gdlab.data.parquet(parquet_dir, target="y", batch_rows=BLOCK)
    )
    in_memory = GDRegressor(random_state=1, **settings).fit(_groups(X, y))
    assert np.array_equal(streamed.coef_, in_memory.coef_)
    assert np.array_equal(streamed.intercept_, in_memory.intercept_)
    assert streamed.loss_curve_ == in_memory.loss_curve_
    assert streamed.t_ == in_memory.t_


def test_glob_and_single_files_read_the_same_rows(regression, parquet_dir):
    X = regression[0]
    by_glob = gdlab.data.parquet(str(parquet_dir / "part-*.parquet"), target="y", batch_rows=BLOCK)
    assert by_glob.layout.n_rows == N
    assert by_glob.layout.group_rows == [64] * 4 + [64] * 3 + [64, 64, 24]
    rows = np.vstack([Xb for g in range(10) for Xb, _ in by_glob.group_blocks(g)])
    assert np.array_equal(rows, X)


@pytest.mark.parametrize("standardize", [False, True])
@pytest.mark.parametrize("penalty", [None, "l2", "elasticnet"])
def test_full_batch_streamed_equals_in_memory(standardize, penalty, regression, parquet_dir):
    X, y = regression
    settings = dict(
        batch_size=None,
        optimizer="nesterov",
        learning_rate=0.01,
        max_iter=40,
        tol=None,
        standardize=standardize,
        penalty=penalty,
        alpha=0.01,
        random_state=0,
    )
    streamed = GDRegressor(**settings).fit(gdlab.data.parquet(parquet_dir, target="y"))
    in_memory = GDRegressor(backend="numpy", **settings).fit(X, y)
    np.testing.assert_allclose(streamed.coef_, in_memory.coef_, rtol=1e-12, atol=0)
    np.testing.assert_allclose(streamed.intercept_, in_memory.intercept_, rtol=1e-12, atol=0)
    np.testing.assert_allclose(streamed.loss_curve_, in_memory.loss_curve_, rtol=1e-12, atol=0)


def test_full_batch_classifier_streamed_equals_in_memory(tmp_path):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(300, 2))
    labels = np.array(["a", "b", "c"])[np.argmax(X @ [[1, -1, 0], [0, 1, -1]], axis=1)]
    table = pa.table({"u": X[:, 0], "v": X[:, 1], "label": labels})
    pq.write_table(table, tmp_path / "d.parquet", row_group_size=70)
    settings = dict(batch_size=None, learning_rate=0.1, max_iter=30, tol=None, random_state=0)
    src = gdlab.data.parquet(tmp_path / "d.parquet", target="label", batch_rows=50)
    streamed = GDClassifier(standardize=True, **settings).fit(src)
    in_memory = GDClassifier(standardize=True, backend="numpy", **settings).fit(X, labels)
    assert list(streamed.classes_) == ["a", "b", "c"]
    np.testing.assert_allclose(streamed.coef_, in_memory.coef_, rtol=1e-12)
    np.testing.assert_allclose(streamed.predict_proba(src), in_memory.predict_proba(X), rtol=1e-12)
    assert streamed.score(src) == in_memory.score(X, labels) > 0.9
    assert list(streamed.feature_names_in_) == ["u", "v"]


def test_default_regressor_on_a_stream_learns_the_coefficients(tmp_path):
    rng = np.random.default_rng(4)
    X = rng.normal(size=(2000, 3))
    y = X @ [1.5, -0.4, 2.0] + 0.7 + 0.1 * rng.normal(size=2000)
    pq.write_table(pa.table({"a": X[:, 0], "b": X[:, 1], "c": X[:, 2], "y": y}), tmp_path / "d.pq")
    src = gdlab.data.parquet(tmp_path / "d.pq", target="y")
    model = GDRegressor(random_state=0).fit(src)
    ols = np.linalg.lstsq(np.column_stack([X, np.ones(len(y))]), y, rcond=None)[0]
    np.testing.assert_allclose(model.coef_, ols[:3], atol=0.02)
    np.testing.assert_allclose(model.intercept_, ols[3:], atol=0.02)
    np.testing.assert_allclose(model.predict(src), X @ model.coef_ + model.intercept_, rtol=1e-12)
    residual = y - model.predict(src)
    assert model.score(src) == pytest.approx(1 - residual @ residual / np.sum((y - y.mean()) ** 2))


def test_csv_stream_equals_in_memory_blocks(tmp_path):
    X, y = np.random.default_rng(5).normal(size=(130, 2)), np.arange(130) % 2
    pcsv.write_csv(pa.table({"p": X[:, 0], "q": X[:, 1], "t": y}), tmp_path / "d.csv")
    src = gdlab.data.csv(tmp_path / "d.csv", target="t", batch_rows=16)
    streamed = GDClassifier(batch_size=8, random_state=2).fit(src)
    one_group = gdlab.data.arrays(X, y, batch_rows=16, group_rows=130)  # a CSV file is one group
    in_memory = GDClassifier(batch_size=8, random_state=2).fit(one_group)
    assert np.array_equal(streamed.coef_, in_memory.coef_)
    assert streamed.loss_curve_ == in_memory.loss_curve_


def test_documented_update_order():
    """Groups in default_rng([seed, epoch]).permutation; rows by default_rng([seed, epoch,
    n_groups + block])."""
    layout = BlockLayout([3, 5, 2, 4], batch_rows=3)
    order = layout.epoch_blocks(shuffle=True, seed=7, epoch=2)
    groups = np.random.default_rng([7, 2]).permutation(4).tolist()
    assert list(dict.fromkeys(b.group for b in order)) == groups
    expected = [b for g in groups for b in layout.blocks if b.group == g]
    assert order == expected
    block = layout.blocks[2]  # group 1, rows 3:5
    rows = np.random.default_rng([7, 2, 4 + 2]).permutation(2)
    assert layout.row_order(block, True, seed=7, epoch=2).tolist() == rows.tolist()
    assert [b.index for b in layout.epoch_blocks(False, 7, 2)] == list(range(len(layout.blocks)))


def test_streamed_statistics_match_numpy(regression):
    X, y = regression
    stats = scan(gdlab.data.arrays(X, y, batch_rows=37), classify=False)
    np.testing.assert_allclose(stats.mean, X.mean(axis=0), rtol=1e-13)
    np.testing.assert_allclose(stats.std, X.std(axis=0), rtol=1e-13)
    np.testing.assert_allclose(stats.target_mean, [y.mean()], rtol=1e-13)
    assert stats.n_rows == N


def test_errors_name_the_problem(tmp_path, regression, parquet_dir):
    y = regression[1]
    src = gdlab.data.parquet(parquet_dir, target="y")
    with pytest.raises(ValueError, match="source holds the target"):
        GDRegressor().fit(src, y)
    with pytest.raises(ValueError, match="target column 'nope'"):
        gdlab.data.parquet(parquet_dir, target="nope")
    with pytest.raises(ValueError, match=r"feature columns \['zz'\]"):
        gdlab.data.parquet(parquet_dir, target="y", features=["a", "zz"])
    with pytest.raises(FileNotFoundError, match="no file matches"):
        gdlab.data.parquet(tmp_path / "missing-*.parquet", target="y")
    with pytest.raises(ValueError, match=r"batch_rows must be a positive integer\. Got 0"):
        gdlab.data.parquet(parquet_dir, target="y", batch_rows=0)
    with pytest.raises(ValueError, match="needs a target"):
        GDRegressor().fit(gdlab.data.parquet(parquet_dir))
    text = pa.table({"a": [1.0, 2.0], "s": ["x", "y"], "y": [1.0, 2.0]})
    pq.write_table(text, tmp_path / "text.parquet")
    with pytest.raises(ValueError, match=r"feature column 's' .* holds string"):
        GDRegressor().fit(gdlab.data.parquet(tmp_path / "text.parquet", target="y"))
    holes = pa.table({"a": [1.0, float("nan"), 3.0], "y": [1.0, 2.0, 3.0]})
    pq.write_table(holes, tmp_path / "nan.parquet")
    with pytest.raises(ValueError, match="feature 'a' has NaN"):
        GDRegressor().fit(gdlab.data.parquet(tmp_path / "nan.parquet", target="y"))
    with pytest.raises(ValueError, match=r"partial_fit takes arrays; a data source is trained"):
        GDRegressor().partial_fit(src, None)
    model = GDRegressor(max_iter=2, tol=None).fit(src)
    with pytest.raises(ValueError, match="source has 2 features, but GDRegressor is expecting 3"):
        model.predict(gdlab.data.parquet(parquet_dir, features=["a", "b"]))
    with pytest.raises(ValueError, match="differ from those GDRegressor was fitted on"):
        model.predict(gdlab.data.parquet(parquet_dir, features=["c", "b", "a"]))


@pytest.mark.parametrize("Model", [GDRegressor, GDClassifier])
def test_warm_start_and_checkpoint_resume_on_a_stream_are_exact(Model, tmp_path, parquet_dir):
    from gdlab.io import load_checkpoint, save_checkpoint

    target = "y"
    if Model is GDClassifier:  # labels from the sign of a feature
        X = np.vstack(
            [Xb for g in range(10) for Xb, _ in gdlab.data.parquet(parquet_dir).group_blocks(g)]
        )
        labels = np.where(X[:, 0] > 0, 1, 0)
        table = pa.table({"a": X[:, 0], "b": X[:, 1], "c": X[:, 2], "label": labels})
        pq.write_table(table, tmp_path / "labels.parquet", row_group_size=BLOCK)
        path, target = tmp_path / "labels.parquet", "label"
    else:
        path = parquet_dir
    src = gdlab.data.parquet(path, target=target, batch_rows=BLOCK)
    settings = dict(random_state=0, tol=None, standardize=True)
    straight = Model(max_iter=6, **settings).fit(src)
    split = Model(max_iter=3, warm_start=True, **settings).fit(src)
    split.fit(src)
    assert np.array_equal(straight.coef_, split.coef_)
    assert straight.loss_curve_ == split.loss_curve_
    # a checkpoint after epoch 2 (as `gdlab fit --checkpoint` writes), loaded and continued
    saved = tmp_path / "ckpt.npz"

    def keep_epoch_2(snapshot):
        if snapshot.n_iter_ == 2:
            save_checkpoint(snapshot, saved)

    Model(max_iter=6, **settings).fit(src, callback=keep_epoch_2)
    resumed, _ = load_checkpoint(saved)
    resumed.set_params(warm_start=True, max_iter=4).fit(src)
    assert np.array_equal(resumed.coef_, straight.coef_)
