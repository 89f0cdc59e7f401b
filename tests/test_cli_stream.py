"""gdlab fit / gdlab predict on streamed data: folders, globs, --stream and --memory."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.csv as pcsv
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

import gdlab
from gdlab.cli import cli
from gdlab.cli.stream import parse_memory


@pytest.fixture(scope="module")
def parts(tmp_path_factory):
    folder = tmp_path_factory.mktemp("cli-parts")
    rng = np.random.default_rng(0)
    frames = []
    for k in range(3):
        X = rng.normal(size=(700, 3))
        y = X @ [1.0, 2.0, -1.0] + 3.0 + 0.1 * rng.normal(size=700)
        table = pa.table({"a": X[:, 0], "b": X[:, 1], "c": X[:, 2], "price": y})
        pq.write_table(table, folder / f"part{k}.parquet", row_group_size=256)
        frames.append((X, y))
    return folder, np.vstack([X for X, _ in frames]), np.concatenate([y for _, y in frames])


def _run(*args):
    result = CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)
    return result


def test_fit_on_a_folder_streams_and_equals_the_library_fit(parts, tmp_path):
    folder, X, _ = parts
    model_file = tmp_path / "m.npz"
    result = _run("fit", folder, "--target", "price", "--model-out", model_file)
    assert result.exit_code == 0, result.output
    assert "gdlab fit (streamed)" in result.output and "2100 in 3 file(s)" in result.output
    saved = gdlab.load(model_file)
    again = type(saved)(**saved.get_params()).fit(gdlab.data.parquet(folder, target="price"))
    assert np.array_equal(saved.coef_, again.coef_)
    np.testing.assert_allclose(saved.coef_, [1.0, 2.0, -1.0], atol=0.02)
    # predict over a glob, streamed into a Parquet file: the model's predictions, row by row
    out = tmp_path / "pred.parquet"
    result = _run("predict", model_file, f"{folder}/part*.parquet", "--out", out)
    assert result.exit_code == 0, result.output
    assert "Wrote 2100 predictions" in result.output
    predicted = pq.read_table(out).column("prediction").to_numpy()
    np.testing.assert_allclose(predicted, X @ saved.coef_ + saved.intercept_, rtol=1e-12)


def test_memory_budget_decides_streaming(tmp_path):
    X = np.random.default_rng(1).normal(size=(400, 2))
    labels = np.where(X[:, 0] + X[:, 1] > 0, "up", "down")
    pcsv.write_csv(pa.table({"p": X[:, 0], "q": X[:, 1], "label": labels}), tmp_path / "d.csv")
    small = _run("fit", tmp_path / "d.csv", "--target", "label", "--memory", "1K")
    assert small.exit_code == 0, small.output
    assert "(streamed)" in small.output and "classification" in small.output
    large = _run("fit", tmp_path / "d.csv", "--target", "label", "--memory", "8G")
    assert large.exit_code == 0, large.output
    assert "(streamed)" not in large.output


def test_streaming_refusals_name_the_option(parts, tmp_path):
    folder, _, _ = parts
    result = _run("fit", folder, "--target", "price", "--plots", tmp_path)
    assert result.exit_code == 2 and "--plots is not supported when the data is streamed" in (
        result.output
    )
    result = _run("fit", folder, "--target", "nope")
    assert result.exit_code == 2 and "target column 'nope'" in result.output
    model_file = tmp_path / "m.npz"
    assert _run("fit", folder, "--target", "price", "--model-out", model_file).exit_code == 0
    result = _run("predict", model_file, folder)
    assert result.exit_code == 2 and "needs --out FILE" in result.output
    result = _run("fit", folder, "--target", "price", "--memory", "lots")
    assert result.exit_code == 2 and "'lots' is not a size" in result.output


def test_parse_memory_units():
    assert parse_memory("2G") == 2 << 30
    assert parse_memory("1.5 MiB") == int(1.5 * (1 << 20))


def test_streamed_checkpoint_and_resume_equal_a_straight_run(parts, tmp_path):
    folder, _, _ = parts
    common = ["fit", folder, "--target", "price", "--tol", "0", "--stream"]
    straight, resumed = tmp_path / "straight.npz", tmp_path / "resumed.npz"
    assert _run(*common, "--epochs", "5", "--model-out", straight).exit_code == 0
    ckpt = tmp_path / "ckpt.npz"
    first = _run(*common, "--epochs", "2", "--checkpoint", ckpt)
    assert first.exit_code == 0, first.output
    again = _run(*common, "--epochs", "5", "--checkpoint", ckpt, "--resume", "--model-out", resumed)
    assert again.exit_code == 0, again.output
    text = " ".join(again.output.split())
    assert "after epoch 2, up to 5" in text or "after epoch 2 of 5" in text
    assert np.array_equal(gdlab.load(straight).coef_, gdlab.load(resumed).coef_)
    other = _run(*common, "--epochs", "5", "--checkpoint", ckpt, "--resume", "--features", "a,b")
    assert other.exit_code != 0 and "made on other data" in other.output


@pytest.mark.parametrize("option", ["--checkpoint", "--model-out"])
def test_a_streamed_fit_never_writes_over_one_of_its_input_files(parts, tmp_path, option):
    """The outputs are checked against every file a folder, glob or --stream run reads."""
    folder, _, _ = parts
    victim = folder / "part1.parquet"
    before = victim.read_bytes()
    for data in (folder, folder / "part*.parquet", victim):
        result = _run("fit", data, "--target", "price", "--stream", "--epochs", "1", option, victim)
        assert result.exit_code == 2, result.output
        assert "is the input file" in " ".join(result.output.split())
        assert victim.read_bytes() == before


def test_a_streamed_fit_stops_early_on_held_out_rows(parts, tmp_path):
    folder, _, _ = parts
    model_file = tmp_path / "m.npz"
    result = _run("fit", folder, "--target", "price", "--early-stopping", "--model-out", model_file)
    assert result.exit_code == 0, result.output
    text = "".join(c for c in result.output if c not in "│ \n")  # the table wraps its cells
    assert "about10%heldoutforearlystopping" in text and "bestvalidationloss" in text
    saved = gdlab.load(model_file)
    again = type(saved)(**saved.get_params()).fit(gdlab.data.parquet(folder, target="price"))
    assert saved.early_stopping and np.array_equal(saved.coef_, again.coef_)
    assert min(saved.history_.val_loss) == min(again.history_.val_loss)


def test_a_streamed_fit_shows_epoch_loss_rows_and_rate_on_a_terminal_only(parts, tmp_path):
    """The bar moves inside an epoch, block by block (rows read of the epoch's rows); nothing
    is drawn when piped or with -q, and the fit is the same either way."""
    folder, _, _ = parts
    common = ["fit", str(folder), "--target", "price", "--epochs", "3", "--tol", "0"]
    first, second = tmp_path / "a.npz", tmp_path / "b.npz"
    drawn = CliRunner(env={"TTY_COMPATIBLE": "1"}).invoke(cli, [*common, "--model-out", str(first)])
    assert drawn.exit_code == 0, drawn.output
    screen = drawn.stderr
    assert "epoch 3/3" in screen and "loss " in screen and "rows/s" in screen
    assert "/2,100 rows" in screen  # rows read so far of the epoch's 2,100 (block by block)
    piped = CliRunner().invoke(cli, [*common, "--model-out", str(second)])
    assert piped.exit_code == 0 and piped.stderr == ""
    assert np.array_equal(gdlab.load(first).coef_, gdlab.load(second).coef_)


def test_a_streamed_fit_lists_its_first_features_and_counts_the_rest(tmp_path):
    """Ten features: the summary names eight and says how many more, as the in-memory fit does."""
    X = np.random.default_rng(2).normal(size=(300, 10))
    columns = {f"x{i}": X[:, i] for i in range(10)}
    pq.write_table(pa.table({**columns, "y": X.sum(axis=1)}), tmp_path / "wide.parquet")
    for mode in (["--stream"], []):  # streamed, and loaded (a small file)
        result = _run("fit", tmp_path / "wide.parquet", "--target", "y", *mode, "--epochs", "2")
        assert result.exit_code == 0, result.output
        assert "10: x0, x1, x2, x3, x4, x5, x6, x7, ... (2 more)" in result.output.replace("\n", "")
