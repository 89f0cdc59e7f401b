"""gdlab fit --stream --sample-weight COL: the weights are read with each block (issue 10)."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

import gdlab
from gdlab.cli import cli


@pytest.fixture(scope="module")
def weighted_file(tmp_path_factory):
    rng = np.random.default_rng(5)
    X = rng.normal(size=(900, 2))
    y = X @ [2.0, -1.0] + 1.0 + 0.5 * rng.normal(size=900)
    w = rng.uniform(0.0, 2.0, size=900)
    labels = np.where(X[:, 0] - X[:, 1] + 0.5 * rng.normal(size=900) > 0, "up", "down")
    path = tmp_path_factory.mktemp("cli-weights") / "d.parquet"
    table = pa.table({"a": X[:, 0], "b": X[:, 1], "y": y, "w": w, "label": labels})
    pq.write_table(table, path, row_group_size=128)
    return path, X, y, w, labels


def _run(*args):
    return CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)


@pytest.mark.parametrize("target", ["y", "label"])
def test_streamed_fit_with_sample_weight_equals_the_library_fit(weighted_file, tmp_path, target):
    path, *_ = weighted_file
    model_file = tmp_path / "m.npz"
    result = _run(
        "fit", path, "--target", target, "--features", "a,b", "--stream",
        "--sample-weight", "w", "--model-out", model_file,
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "from the column w, read per block" in result.output
    saved = gdlab.load(model_file)
    source = gdlab.data.parquet(path, target=target, features=["a", "b"], weight="w")
    again = type(saved)(**saved.get_params()).fit(source)
    assert np.array_equal(saved.coef_, again.coef_)
    assert np.array_equal(saved.intercept_, again.intercept_)
    assert list(saved.feature_names_in_) == ["a", "b"]


def test_streamed_cli_fit_equals_in_memory_sample_weight(weighted_file, tmp_path):
    """Full batch, plain gradient descent: the weighted objective of fit(X, y, sample_weight=w)."""
    path, X, y, w, _ = weighted_file
    model_file = tmp_path / "m.npz"
    result = _run(
        "fit", path, "--target", "y", "--features", "a,b", "--sample-weight", "w", "--stream",
        "--batch-size", "full", "--optimizer", "sgd", "--learning-rate", "0.1", "--epochs", "30",
        "--tol", "0", "--model-out", model_file,
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    streamed = gdlab.load(model_file)
    params = streamed.get_params()
    in_memory = gdlab.GDRegressor(**params).fit(X, y, sample_weight=w)
    np.testing.assert_allclose(streamed.coef_, in_memory.coef_, rtol=1e-10)
    np.testing.assert_allclose(streamed.intercept_, in_memory.intercept_, rtol=1e-10)
    unweighted = gdlab.GDRegressor(**params).fit(X, y)
    assert not np.allclose(unweighted.coef_, streamed.coef_, rtol=1e-4)


def test_weighted_checkpoint_resume_equals_a_straight_run(weighted_file, tmp_path):
    path, *_ = weighted_file
    common = ["fit", path, "--target", "y", "--features", "a,b", "--sample-weight", "w", "--stream"]
    common += ["--tol", "0"]
    straight, resumed = tmp_path / "straight.npz", tmp_path / "resumed.npz"
    assert _run(*common, "--epochs", "4", "--model-out", straight).exit_code == 0
    ckpt = tmp_path / "ckpt.npz"
    assert _run(*common, "--epochs", "2", "--checkpoint", ckpt).exit_code == 0
    again = _run(*common, "--epochs", "4", "--checkpoint", ckpt, "--resume", "--model-out", resumed)
    assert again.exit_code == 0, again.output
    assert np.array_equal(gdlab.load(straight).coef_, gdlab.load(resumed).coef_)
    # the weights are part of the data a checkpoint was made on
    unweighted = [a for a in common if a not in ("--sample-weight", "w")]
    other = _run(*unweighted, "--epochs", "4", "--checkpoint", ckpt, "--resume")
    assert other.exit_code != 0 and "made on other data" in other.output


def test_a_missing_weight_column_names_the_option(weighted_file):
    path, *_ = weighted_file
    result = _run("fit", path, "--target", "y", "--stream", "--sample-weight", "nope")
    assert result.exit_code == 2
    text = " ".join(result.output.split())
    assert "'--sample-weight'" in text and "weight column 'nope' is not in" in text


@pytest.mark.parametrize(("bad", "shown"), [(-1.5, "has -1.5"), (np.nan, "must be finite")])
def test_a_bad_weight_names_the_column_and_the_row(weighted_file, tmp_path, bad, shown):
    """Streamed, the first bad weight is named by its column and its row in the data (not by
    the block it came in), as the in-memory fit names the column."""
    path, *_ = weighted_file
    table = pq.read_table(path)
    weights = table.column("w").to_numpy().copy()
    weights[300] = bad
    broken = tmp_path / "broken.parquet"
    pq.write_table(table.set_column(3, "w", pa.array(weights)), broken, row_group_size=128)
    result = _run(
        "fit", broken, "--target", "y", "--stream", "--sample-weight", "w", "--exclude", "label",
        "--model-out", tmp_path / "m.npz",
    )  # fmt: skip
    assert result.exit_code != 0 and not (tmp_path / "m.npz").exists()
    text = " ".join(result.output.split())
    assert "The sample weights in column 'w' must be" in text and "row 300 of the data" in text
    assert shown in text
