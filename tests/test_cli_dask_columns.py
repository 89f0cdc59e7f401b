"""gdlab fit --scheduler: which columns are read, and how they are checked.

Oracles: a fit on the cluster equals, bit for bit, the library's fit of the same rows in the same
blocks (:func:`gdlab.data.arrays` with ``batch_rows`` the rows of a file; itself checked against
the Dask library fit in tests/test_dask_sample_weight.py), and the library's
``fit(dask_X, dask_y, sample_weight=dask_w)`` for the weights.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

import gdlab
from gdlab.cli import cli

distributed = pytest.importorskip("distributed")
da = pytest.importorskip("dask.array")
pytest.importorskip("dask.dataframe")

pytestmark = [
    pytest.mark.xdist_group("dask"),
    pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning"),
]

ROWS = 40  # rows of each of the 5 files: one partition each


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """5 small Parquet files with the features a, b, c, the target y, a column left out (label),
    sample weights w (zero for the first 50 rows) and a text column s."""
    folder = tmp_path_factory.mktemp("dask-columns")
    rng = np.random.default_rng(8)
    n = 5 * ROWS
    X = rng.normal(size=(n, 3)) * [1.0, 2.0, 0.5]
    y = X @ [1.0, -2.0, 4.0] + 3.0 + 0.5 * rng.normal(size=n)
    w = rng.uniform(0.5, 2.0, size=n)
    w[:50] = 0.0
    for k in range(5):
        rows = slice(ROWS * k, ROWS * (k + 1))
        table = {"a": X[rows, 0], "b": X[rows, 1], "c": X[rows, 2], "y": y[rows]}
        table |= {"label": np.arange(ROWS) * 1.0 + k, "w": w[rows], "s": ["t"] * ROWS}
        pq.write_table(pa.table(table), folder / f"part{k}.parquet")
    return folder, X, y, w


def _fit(*args):
    return CliRunner().invoke(cli, ["fit", *map(str, args)], catch_exceptions=False)


def _same(a, b) -> None:
    assert np.array_equal(a.coef_, b.coef_) and np.array_equal(a.intercept_, b.intercept_)
    assert a.loss_curve_ == b.loss_curve_


def _oracle(saved, X, y, **weights):
    """The library's fit with the saved model's settings on the rows in blocks of a file."""
    blocks = gdlab.data.arrays(X, y, batch_rows=ROWS, **weights)
    return type(saved)(**saved.get_params()).fit(blocks)


@pytest.mark.parametrize(
    "columns, used",
    [(["--exclude", "label,w,s"], 3), (["--features", "a,b,c"], 3), (["--features", "a,b"], 2)],
    ids=["exclude", "features", "fewer"],
)
def test_one_partition_per_file_whichever_columns_are_read(
    dask_cluster, files, tmp_path, columns, used
):
    # dask merged the partitions of files read for a few of their columns, differently for the
    # features and the target: "lost dependencies" or "lengths 3 != 5" before
    folder, X, y, _ = files
    model = tmp_path / "m.npz"
    address = dask_cluster.scheduler_address
    result = _fit(folder, "--target", "y", *columns, "--scheduler", address, "--model-out", model)
    assert result.exit_code == 0, result.output
    assert f"{5 * ROWS} in 5 partitions" in result.output
    saved = gdlab.load(model)
    assert list(saved.feature_names_in_) == ["a", "b", "c"][:used]
    _same(saved, _oracle(saved, X[:, :used], y))
    out = tmp_path / "p.parquet"  # predict reads the model's columns of the same files
    predicted = CliRunner().invoke(
        cli, ["predict", str(model), str(folder), "--scheduler", address, "--out", str(out)]
    )
    assert predicted.exit_code == 0, predicted.output
    assert f"Wrote {5 * ROWS} predictions" in predicted.output
    np.testing.assert_allclose(
        pq.read_table(out).column("prediction").to_numpy(),
        X[:, :used] @ saved.coef_ + saved.intercept_,
        rtol=1e-12,
    )


def test_the_weight_column_is_read_with_the_partitions(dask_cluster, files, tmp_path):
    folder, X, y, w = files
    model = tmp_path / "m.npz"
    address = dask_cluster.scheduler_address
    result = _fit(
        folder, "--target", "y", "--exclude", "label,s", "--sample-weight", "w",
        "--scheduler", address, "--model-out", model,
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "from the column w, read per partition" in result.output
    saved = gdlab.load(model)
    assert list(saved.feature_names_in_) == ["a", "b", "c"]  # the weights are not a feature
    _same(saved, _oracle(saved, X, y, sample_weight=w))
    with distributed.Client(dask_cluster):
        dX, dy, dw = (da.from_array(a, chunks=ROWS) for a in (X, y, w))
        library = type(saved)(**saved.get_params()).fit(dX, dy, sample_weight=dw)
    _same(saved, library)
    unweighted = _oracle(saved, X, y)
    assert not np.allclose(saved.coef_, unweighted.coef_, rtol=1e-6)  # the weights count


def test_a_weighted_classifier_resumes_on_the_cluster(dask_cluster, files, tmp_path):
    _, X, y, w = files
    labels = np.where(y > 3.0, "high", "low")
    data = tmp_path / "d.parquet"
    pq.write_table(pa.table({"p": X[:, 0], "q": X[:, 1], "kind": labels, "w": w}), data)
    common = ["--target", "kind", "--sample-weight", "w", "--batch-size", "full", "--tol", "0"]
    common += ["--scheduler", dask_cluster.scheduler_address, "-q"]
    checkpoint = tmp_path / "run.ckpt"
    first = _fit(data, *common, "--epochs", "2", "--checkpoint", checkpoint)
    assert first.exit_code == 0, first.output
    resumed = tmp_path / "resumed.npz"
    again = _fit(
        data, *common, "--epochs", "4", "--checkpoint", checkpoint, "--resume",
        "--model-out", resumed,
    )  # fmt: skip
    assert again.exit_code == 0, again.output
    assert "after epoch 2" in again.output
    saved = gdlab.load(resumed)
    assert list(saved.classes_) == ["high", "low"] and saved.n_iter_ == 4
    blocks = gdlab.data.arrays(X[:, :2], labels, batch_rows=5 * ROWS, sample_weight=w)
    _same(saved, type(saved)(**saved.get_params()).fit(blocks))  # one file: one partition


def _refused(result, option, *words):
    assert result.exit_code == 2, result.output
    message = result.output.strip()
    assert len(message.splitlines()) == 1 and "Traceback" not in message, message
    assert f"Invalid value for '{option}'" in message
    for word in words:
        assert word in message, message


def test_text_and_category_columns_are_named(dask_cluster, tmp_path):
    frame = pd.DataFrame({"a": [1.0, 2.0, 3.0, 4.0], "y": [1.0, 0.0, 1.0, 2.0]})
    frame["city"] = pd.Series(["x", "y", "x", "z"], dtype="string")
    frame["size"] = pd.Categorical(["s", "m", "s", "l"])
    data = tmp_path / "mixed.parquet"
    frame.to_parquet(data)
    address = dask_cluster.scheduler_address
    text = _fit(data, "--target", "y", "--exclude", "size", "--scheduler", address)
    _refused(text, "DATA", "feature column 'city' is not numeric", "leave it out with --exclude")
    category = _fit(data, "--target", "y", "--exclude", "city", "--scheduler", address)
    _refused(category, "DATA", "the feature column 'size' is not numeric (category)")
    csv = tmp_path / "mixed.csv"
    frame.to_csv(csv, index=False)
    in_csv = _fit(csv, "--target", "y", "--features", "a,city", "--scheduler", address)
    _refused(in_csv, "DATA", "the feature column 'city' is not numeric")


def test_bad_weight_columns_are_named(dask_cluster, files, tmp_path):
    folder, X, y, w = files
    address = dask_cluster.scheduler_address
    common = ["--target", "y", "--exclude", "label,s", "--scheduler", address]
    missing = _fit(folder, *common, "--sample-weight", "weight")
    _refused(missing, "--sample-weight", "no column 'weight' for --sample-weight", "a, b, c, y")
    text = _fit(folder, "--target", "y", "--exclude", "label", "--sample-weight", "s",
                "--scheduler", address)  # fmt: skip
    _refused(text, "--sample-weight", "the weight column 's' is not numeric")
    target = _fit(folder, *common, "--sample-weight", "y")
    _refused(target, "--sample-weight", "'y' cannot be both the target and the sample weights")
    feature = _fit(folder, "--target", "y", "--features", "a,w", "--sample-weight", "w",
                   "--scheduler", address)  # fmt: skip
    _refused(feature, "--sample-weight", "'w' cannot be both a feature and the sample weights")
    for values, where in [(-1.0, "; row 61 holds -1.0"), (np.nan, "; row 61 holds nan")]:
        bad = w.copy()
        bad[60] = values
        data = tmp_path / "bad.parquet"
        pq.write_table(pa.table({"a": X[:, 0], "y": y, "w": bad}), data)
        result = _fit(data, "--target", "y", "--sample-weight", "w", "--scheduler", address)
        _refused(result, "--sample-weight", "column 'w' must be finite and >= 0", where)
    pq.write_table(pa.table({"a": X[:, 0], "y": y, "w": np.zeros_like(w)}), data)
    zero = _fit(data, "--target", "y", "--sample-weight", "w", "--scheduler", address)
    _refused(zero, "--sample-weight", "with a positive sum.")


def test_class_weights_on_a_cluster_are_the_combined_sample_weights(dask_cluster, tmp_path):
    """``--class-weight balanced --scheduler`` with the defaults (3 epochs): the model of the
    same blocks in memory weighted by scikit-learn's ``class_weight[label]`` (bit for bit)."""
    from gdlab.estimators._options import class_sample_weight

    rng = np.random.default_rng(9)
    X = rng.normal(size=(5 * ROWS, 2))
    labels = np.where(X[:, 0] + 0.3 * rng.normal(size=5 * ROWS) > 0.8, "rare", "common")
    for k in range(5):
        rows = slice(ROWS * k, ROWS * (k + 1))
        table = {"a": X[rows, 0], "b": X[rows, 1], "kind": labels[rows]}
        pq.write_table(pa.table(table), tmp_path / f"part{k}.parquet")
    model_file = tmp_path / "m.npz"
    address = dask_cluster.scheduler_address
    result = _fit(tmp_path, "--target", "kind", "--class-weight", "balanced", "--epochs", "3",
                  "--scheduler", address, "--model-out", model_file)  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "class weight balanced" in result.output
    saved = gdlab.load(model_file)
    weights = class_sample_weight("balanced", np.unique(labels), labels, None, np.float64)
    settings = {**saved.get_params(), "class_weight": None}
    oracle = gdlab.GDClassifier(**settings).fit(
        gdlab.data.arrays(X, labels, batch_rows=ROWS, sample_weight=weights)
    )
    _same(saved, oracle)
