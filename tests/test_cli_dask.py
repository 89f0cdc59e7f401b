"""gdlab fit / gdlab predict --scheduler ADDRESS: on a Dask cluster, with the library's numbers."""

from __future__ import annotations

import sys

import numpy as np
import pyarrow as pa
import pyarrow.csv as pcsv
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

import gdlab
from gdlab.cli import cli

pytest.importorskip("distributed")
pytest.importorskip("dask.dataframe")

pytestmark = [
    pytest.mark.xdist_group("dask"),
    pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning"),
]


@pytest.fixture(scope="module")
def parts(tmp_path_factory):
    folder = tmp_path_factory.mktemp("dask-parts")
    rng = np.random.default_rng(5)
    X = rng.normal(size=(900, 3)) * [1.0, 2.0, 0.5]
    y = X @ [1.0, -2.0, 4.0] + 3.0 + 0.1 * rng.normal(size=900)
    for k in range(3):  # one file per partition of 300 rows
        rows = slice(300 * k, 300 * (k + 1))
        table = pa.table({"a": X[rows, 0], "b": X[rows, 1], "c": X[rows, 2], "price": y[rows]})
        pq.write_table(table, folder / f"part{k}.parquet")
    return folder, X, y


def _run(*args):
    return CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)


def test_fit_and_predict_on_a_cluster_with_default_settings(dask_cluster, parts, tmp_path):
    folder, X, y = parts
    address = dask_cluster.scheduler_address
    model_file = tmp_path / "m.npz"
    result = _run(
        "fit", folder, "--target", "price", "--scheduler", address, "--model-out", model_file
    )
    assert result.exit_code == 0, result.output
    assert "gdlab fit (Dask)" in result.output and "900 in 3 partitions" in result.output
    assert "2 worker(s)" in result.output
    saved = gdlab.load(model_file)
    assert saved.history_.backend == "dask" and saved.batch_size == 32  # the CLI's default
    oracle = type(saved)(**saved.get_params()).fit(gdlab.data.arrays(X, y, batch_rows=300))
    assert np.array_equal(saved.coef_, oracle.coef_)  # the same blocks, bit for bit
    np.testing.assert_allclose(saved.coef_, [1.0, -2.0, 4.0], atol=0.05)
    out = tmp_path / "pred.parquet"
    result = _run(
        "predict", model_file, f"{folder}/part*.parquet", "--scheduler", address, "--out", out
    )
    assert result.exit_code == 0, result.output
    assert "Wrote 900 predictions" in result.output
    predicted = pq.read_table(out).column("prediction").to_numpy()
    np.testing.assert_allclose(predicted, X @ saved.coef_ + saved.intercept_, rtol=1e-12)


def test_local_cluster_classifies_a_csv_file_and_resumes(parts, tmp_path):
    _, X, _ = parts
    labels = np.where(X[:, 0] + X[:, 1] > 0, "up", "down")
    data = tmp_path / "d.csv"
    pcsv.write_csv(pa.table({"p": X[:, 0], "q": X[:, 1], "label": labels}), data)
    common = ["fit", data, "--target", "label", "--scheduler", "local", "--batch-size", "full"]
    common += ["--learning-rate", "1"]
    straight = _run(
        *common, "--epochs", "6", "--tol", "0", "--model-out", tmp_path / "straight.npz"
    )
    assert straight.exit_code == 0, straight.output
    assert "classification" in straight.output and "down, up" in straight.output
    checkpoint = tmp_path / "run.ckpt"
    first = _run(*common, "--epochs", "3", "--tol", "0", "--checkpoint", checkpoint)
    assert first.exit_code == 0, first.output
    resumed = _run(
        *common, "--epochs", "6", "--tol", "0", "--checkpoint", checkpoint, "--resume",
        "--model-out", tmp_path / "resumed.npz",
    )  # fmt: skip
    assert resumed.exit_code == 0, resumed.output
    assert "after epoch 3" in resumed.output
    a, b = gdlab.load(tmp_path / "straight.npz"), gdlab.load(tmp_path / "resumed.npz")
    assert np.array_equal(a.coef_, b.coef_) and np.array_equal(a.intercept_, b.intercept_)
    assert (
        np.mean(a.classes_[(X[:, :2] @ a.coef_.T + a.intercept_ > 0).ravel() * 1] == labels) > 0.95
    )


def test_an_unreachable_scheduler_is_one_line_and_exit_2(parts, monkeypatch):
    folder, _, _ = parts
    monkeypatch.setattr("gdlab.cli._dask.CONNECT_TIMEOUT", 1)
    result = CliRunner().invoke(
        cli, ["fit", str(folder), "--target", "price", "--scheduler", "tcp://127.0.0.1:9"]
    )
    assert result.exit_code == 2, result.output
    message = result.output.strip()
    assert "--scheduler tcp://127.0.0.1:9: cannot reach a Dask scheduler" in message
    assert len(message.splitlines()) == 1 and "Traceback" not in message


def test_without_dask_the_option_says_what_to_install(parts, monkeypatch, tmp_path):
    folder, _, _ = parts
    monkeypatch.setitem(sys.modules, "distributed", None)  # as if it were not installed
    for args in (
        ["fit", str(folder), "--target", "price", "--scheduler", "local"],
        ["predict", str(tmp_path / "m.npz"), str(folder), "--scheduler", "local", "--out", "p.csv"],
    ):
        if args[0] == "predict":
            gdlab.GDRegressor(max_iter=2).fit(np.eye(3), [1.0, 2.0, 3.0]).save(tmp_path / "m.npz")
        result = CliRunner().invoke(cli, args)
        assert result.exit_code == 2, result.output
        assert "--scheduler needs Dask" in result.output
        assert "pip install 'gdlab[dask]'" in result.output
        assert len(result.output.strip().splitlines()) == 1


def test_bad_columns_are_named(dask_cluster, parts):
    folder, _, _ = parts
    address = dask_cluster.scheduler_address
    missing = _run("fit", folder, "--target", "cost", "--scheduler", address)
    assert missing.exit_code == 2 and "no column 'cost' for --target" in missing.output


def test_early_stopping_on_the_local_scheduler_is_the_librarys_fit(parts, tmp_path):
    folder, X, y = parts
    model_file = tmp_path / "m.npz"
    result = _run(
        "fit", folder, "--target", "price", "--scheduler", "local", "--early-stopping",
        "--epochs", "30", "--model-out", model_file,
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    text = " ".join(result.output.replace("│", " ").split())  # the table's cells unwrapped
    assert "900 in 3 partitions (about 10% held out for early stopping, by a seeded" in text
    saved = gdlab.load(model_file)
    assert saved.early_stopping and len(saved.history_.val_loss) == saved.n_iter_ > 0
    oracle = type(saved)(**saved.get_params()).fit(gdlab.data.arrays(X, y, batch_rows=300))
    assert np.array_equal(saved.coef_, oracle.coef_)  # the same blocks and split, bit for bit
    assert saved.history_.val_loss == oracle.history_.val_loss
