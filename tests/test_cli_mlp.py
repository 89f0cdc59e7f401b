"""``gdlab fit --model mlp`` and ``gdlab predict`` of a saved network."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from sklearn.datasets import make_moons

import gdlab
from gdlab.cli import cli


def run(*args: object, code: int = 0):
    result = CliRunner().invoke(cli, [str(a) for a in args], env={"COLUMNS": "200"})
    assert result.exit_code == code, result.output
    return result


@pytest.fixture
def moons_csv(tmp_path):
    X, y = make_moons(200, noise=0.15, random_state=0)
    path = tmp_path / "moons.csv"
    pd.DataFrame({"a": X[:, 0], "b": X[:, 1], "label": y}).to_csv(path, index=False)
    return path


def test_fit_a_network_and_predict_with_it(tmp_path, moons_csv):
    model_path = tmp_path / "net.npz"
    result = run(
        "fit",
        moons_csv,
        "--target",
        "label",
        "--model",
        "mlp",
        "--hidden",
        "16,16",
        "--learning-rate",
        "0.01",
        "--model-out",
        model_path,
    )
    assert "MLPClassifier(hidden 16-16, relu)" in result.output
    assert "Layers after the last epoch" in result.output
    model = gdlab.load(model_path)
    assert isinstance(model, gdlab.MLPClassifier) and model.hidden_layer_sizes == (16, 16)
    accuracy = float(result.output.split("validation accuracy")[1].split()[1])
    assert accuracy > 0.9
    out = tmp_path / "pred.csv"
    run("predict", model_path, moons_csv, "--out", out, "--proba")
    frame = pd.read_csv(out)
    data = pd.read_csv(moons_csv)
    np.testing.assert_array_equal(frame["prediction"], model.predict(data[["a", "b"]]))


def test_network_options_need_model_mlp(moons_csv):
    result = run("fit", moons_csv, "--target", "label", "--batch-norm", code=2)
    assert "add --model mlp" in result.output


def test_bad_hidden_sizes_are_named(moons_csv):
    result = run("fit", moons_csv, "--target", "label", "--model", "mlp", "--hidden", "8,0", code=2)
    assert "'--hidden'" in result.output and "at least 1 unit" in result.output


def test_regression_network_with_batch_norm_and_dropout(moons_csv):
    result = run(
        "fit",
        moons_csv,
        "--target",
        "a",
        "--model",
        "mlp",
        "--hidden",
        "8",
        "--activation",
        "tanh",
        "--batch-norm",
        "--dropout",
        "0.1",
        "--epochs",
        "20",
    )
    assert "MLPRegressor(hidden 8, tanh, batch norm, dropout 0.1)" in result.output


def test_sample_weight_column_weights_the_network(tmp_path, moons_csv):
    """--sample-weight trains the network on the weighted mean loss: integer weights on full
    batches give the model that repeating the rows gives."""
    frame = pd.read_csv(moons_csv)
    frame["w"] = np.arange(len(frame)) % 3
    weighted, repeated = tmp_path / "weighted.csv", tmp_path / "repeated.csv"
    frame.to_csv(weighted, index=False)
    frame.loc[frame.index.repeat(frame["w"])].to_csv(repeated, index=False)
    common = ["--target", "label", "--model", "mlp", "--hidden", "4", "--batch-size", "full",
              "--epochs", "5", "--validation-fraction", "0", "--exclude", "w"]  # fmt: skip
    out = tmp_path / "a.npz"
    result = run("fit", weighted, *common, "--sample-weight", "w", "--model-out", out)
    assert "from the column given with --sample-weight" in " ".join(result.output.split())
    run("fit", repeated, *common, "--model-out", tmp_path / "b.npz")
    a, b = gdlab.load(tmp_path / "a.npz"), gdlab.load(tmp_path / "b.npz")
    for x, y in zip(a.coefs_, b.coefs_, strict=True):
        np.testing.assert_allclose(x, y, rtol=1e-10, atol=1e-13)
