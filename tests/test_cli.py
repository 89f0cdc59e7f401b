"""The ``gdlab`` command line: every command on tiny files, every bad input answered in one line.

Oracles: scikit-learn's LinearRegression for the fitted coefficients, the closed-form gradient
descent iterates on the quadratic bowl (``x_k = (1 - eta)^k x_0``), exact update counts per batch
mode, and the library calls the commands wrap.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from sklearn.linear_model import LinearRegression

import gdlab
from gdlab.cli import cli, main
from gdlab.cli.landscape import default_rate

COMMANDS = ("lab", "fit", "predict", "sweep", "compare", "landscape", "lr-find", "info")
N_ROWS = 60


def run(*args: object, code: int = 0):
    """Invoke the CLI in-process; check the exit code and return the result."""
    result = CliRunner().invoke(cli, [str(a) for a in args], env={"COLUMNS": "200"})
    assert result.exit_code == code, (result.output, result.stderr, result.exception)
    return result


def error_line(result) -> str:
    """The one-line error at the end of stderr (and no traceback anywhere)."""
    assert "Traceback" not in result.output + result.stderr
    lines = result.stderr.strip().splitlines()
    assert lines, result.output
    assert lines[-1].startswith("gdlab: error: "), result.stderr
    return lines[-1]


def numbers_in_row(output: str, name: str) -> list[float]:
    """The numbers of the table row that starts with ``name``."""
    for line in output.splitlines():
        cells = [c.strip() for c in re.split(r"[│┃|]", line) if c.strip()]
        if cells and cells[0] == name:
            return [float(c) for c in cells[1:]]
    raise AssertionError(f"no row {name!r} in:\n{output}")


@pytest.fixture(scope="module")
def frame() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    x1 = rng.uniform(0, 10, N_ROWS)
    x2 = rng.normal(5, 2, N_ROWS)
    y = 3 * x1 - 2 * x2 + 7 + rng.normal(0, 0.5, N_ROWS)
    label = np.where(x1 + rng.normal(0, 1, N_ROWS) > 5, "high", "low")
    return pd.DataFrame({"x1": x1, "x2": x2, "y": y, "label": label})


@pytest.fixture
def regression_csv(tmp_path, frame) -> Path:
    path = tmp_path / "reg.csv"
    frame[["x1", "x2", "y"]].to_csv(path, index=False)
    return path


@pytest.fixture
def classification_parquet(tmp_path, frame) -> Path:
    path = tmp_path / "cls.parquet"
    frame[["x1", "x2", "label"]].to_parquet(path, index=False)
    return path


# ---- help --------------------------------------------------------------------------------------


def test_help_lists_every_command_with_an_example():
    result = run("--help")
    for command in COMMANDS:
        assert re.search(rf"^\s+{command}\s", result.output, re.MULTILINE), command
        assert f"gdlab {command}" in result.output, f"no example of {command}"
        sub = run(command, "--help")
        assert "Example" in sub.output and f"gdlab {command}" in sub.output
        assert "Exit codes" in sub.output
    assert "130" in result.output


def test_help_through_the_installed_script():
    script = Path(sys.executable).parent / "gdlab"
    script = script if script.exists() else Path(shutil.which("gdlab") or "gdlab")
    done = subprocess.run(
        [str(script), "--help"], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    for command in COMMANDS:
        assert command in done.stdout


def test_main_returns_the_exit_code_without_standalone_exit(capsys):
    with pytest.raises(SystemExit) as info:
        main(["fit", "--optimizer"])
    assert info.value.code == 2
    assert capsys.readouterr().err.startswith("gdlab: error: ")


def test_no_arguments_prints_the_help():
    result = run()
    assert "Commands:" in result.output


# ---- fit and predict ------------------------------------------------------------------------


def test_fit_matches_the_closed_form_and_writes_the_plot(tmp_path, regression_csv, frame):
    plots = tmp_path / "plots"
    result = run(
        "fit", regression_csv, "--target", "y", "--optimizer", "sgd", "--batch-size", "full",
        "--learning-rate", "0.3", "--epochs", "400", "--tol", "0", "--validation-fraction", "0",
        "--plots", plots,
    )  # fmt: skip
    out = result.output
    assert "regression (the target has floating-point values)" in out
    assert "400 of 400" in out and "training R^2" in out
    exact = LinearRegression().fit(frame[["x1", "x2"]], frame["y"])
    for k, name in enumerate(["x1", "x2"]):
        gd, closed, _ = numbers_in_row(out, name)
        assert closed == pytest.approx(exact.coef_[k], rel=1e-5)
        assert gd == pytest.approx(exact.coef_[k], rel=1e-5)
    gd, closed, _ = numbers_in_row(out, "intercept")
    assert closed == pytest.approx(exact.intercept_, rel=1e-5)
    r2 = exact.score(frame[["x1", "x2"]], frame["y"])
    assert numbers_in_row(out, "training R^2")[0] == pytest.approx(r2, abs=1e-4)
    png = plots / "loss_curve.png"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_fit_reports_a_held_out_score_and_an_unsettled_loss(regression_csv):
    result = run("fit", regression_csv, "-t", "y", "--epochs", "3", "--learning-rate", "0.001")
    assert "48 training, 12 validation (held out)" in result.output
    assert "validation R^2" in result.output
    assert "above the exact minimum of the MSE" in result.output
    assert "more --epochs (for example 12)" in result.output


def test_fit_notes_an_id_column_and_an_unsettled_loss(tmp_path, frame):
    path = tmp_path / "with_id.csv"
    frame[["x1", "label"]].assign(id=range(N_ROWS)).to_csv(path, index=False)
    out = run("fit", path, "-t", "label", "--epochs", "2", "--tol", "0.5").output
    assert "column 'id' counts up by one" in out and "--exclude id" in out
    assert "still falling when the 2 epochs ran out" in out


def test_fit_classification_from_parquet(classification_parquet):
    result = run("fit", classification_parquet, "--target", "label", "--epochs", "30")
    out = result.output
    assert "classification (the target is not numeric)" in out
    assert "high, low" in out and "validation accuracy" in out
    accuracy = numbers_in_row(out, "training accuracy")[0]
    assert 0.5 < accuracy <= 1.0


def test_fit_save_and_predict(tmp_path, regression_csv, frame):
    model_file = tmp_path / "model.npz"
    run(
        "fit", regression_csv, "-t", "y", "--optimizer", "sgd", "--batch-size", "full",
        "--learning-rate", "0.3", "--epochs", "400", "--tol", "0", "--validation-fraction", "0",
        "--model-out", model_file,
    )  # fmt: skip
    assert model_file.read_bytes()[:2] == b"PK"  # a zip of JSON and .npy arrays
    model = gdlab.load(model_file)
    assert list(model.feature_names_in_) == ["x1", "x2"]

    out_file = tmp_path / "pred.csv"
    result = run("predict", model_file, regression_csv, "--out", out_file)
    assert f"Wrote {N_ROWS} rows" in result.output
    written = pd.read_csv(out_file)
    np.testing.assert_allclose(written["prediction"], model.predict(frame[["x1", "x2"]]))
    # converged full-batch gradient descent on every row is least squares
    exact = LinearRegression().fit(frame[["x1", "x2"]], frame["y"])
    expected = exact.predict(frame[["x1", "x2"]])
    np.testing.assert_allclose(written["prediction"], expected, rtol=1e-6, atol=1e-6)

    head = run("predict", model_file, regression_csv).output
    assert f"first 10 of {N_ROWS} rows" in head and "y (in the file)" in head
    assert numbers_in_row(head, "1")[1] == pytest.approx(written["prediction"][0], rel=1e-5)

    parquet = tmp_path / "pred.parquet"
    run("predict", model_file, regression_csv, "-o", parquet)
    assert len(pd.read_parquet(parquet)) == N_ROWS

    frame[["x1"]].to_csv(tmp_path / "short.csv", index=False)
    line = error_line(run("predict", model_file, tmp_path / "short.csv", code=2))
    assert "1 of them are missing here: 'x2'" in line and "'x1'" in line


def test_predict_probabilities(tmp_path, classification_parquet):
    model_file = tmp_path / "cls.npz"
    run("fit", classification_parquet, "-t", "label", "--epochs", "20", "--model-out", model_file)
    out_file = tmp_path / "p.csv"
    run("predict", model_file, classification_parquet, "--proba", "--out", out_file)
    written = pd.read_csv(out_file)
    assert set(written["prediction"]) <= {"high", "low"}
    np.testing.assert_allclose(written["proba_high"] + written["proba_low"], 1.0)


def test_predict_bad_model_files(tmp_path, regression_csv):
    line = error_line(run("predict", tmp_path / "none.npz", regression_csv, code=2))
    assert "none.npz" in line and "no such model file" in line
    fake = tmp_path / "fake.npz"
    fake.write_bytes(b"\x80\x04\x95 this is not a model")
    assert "fake.npz" in error_line(run("predict", fake, regression_csv, code=2))


def test_fit_divergence_exits_1_with_advice(regression_csv):
    result = run(
        "fit", regression_csv, "-t", "y", "--optimizer", "sgd", "--batch-size", "full",
        "--learning-rate", "50", "--no-standardize", code=1,
    )  # fmt: skip
    line = error_line(result)
    assert "diverged" in line and "--learning-rate" in line and "learning_rate=" not in line


# ---- experiments ---------------------------------------------------------------------------------


def test_sweep_marks_divergence_and_writes_the_figure(tmp_path, regression_csv, frame):
    result = run(
        "sweep", regression_csv, "-t", "y", "--learning-rates", "0.01,0.3,5", "--epochs", "40",
        "--plots", tmp_path, code=1,
    )  # fmt: skip
    assert "1 of 3 runs diverged (learning rate 5)" in error_line(result)
    out = result.output
    assert "diverged in epoch" in numbers_row_text(out, "5")
    assert "best" in numbers_row_text(out, "0.3")
    reference = gdlab.GDRegressor(
        optimizer="sgd", batch_size=None, max_iter=40, tol=None, standardize=True,
        random_state=0, learning_rate=0.01,
    ).fit(frame[["x1", "x2"]].to_numpy(), frame["y"].to_numpy())  # fmt: skip
    shown = float(numbers_row_text(out, "0.01").split()[1])
    assert shown == pytest.approx(reference.loss_curve_[-1], rel=1e-5)
    assert (tmp_path / "lr_sweep.png").stat().st_size > 0


def numbers_row_text(output: str, first: str) -> str:
    for line in output.splitlines():
        cells = [c.strip() for c in re.split(r"[│┃|]", line) if c.strip()]
        if cells and cells[0] == first:
            return " ".join(cells)
    raise AssertionError(f"no row {first!r} in:\n{output}")


def test_compare_modes_counts_updates(tmp_path, regression_csv):
    result = run(
        "compare", regression_csv, "-t", "y", "--modes", "batch,sgd,minibatch",
        "--batch-size", "32", "--epochs", "3", "--x", "samples", "--plots", tmp_path,
    )  # fmt: skip
    out = result.output
    # updates after 3 epochs of 60 rows: full batch 3, one row 180, batches of 32 -> 2 per epoch
    assert numbers_row_text(out, "batch (full)").split()[2:4] == ["3", "3"]
    assert numbers_row_text(out, "stochastic (1)").split()[2:4] == ["3", "180"]
    assert numbers_row_text(out, "mini-batch (32)").split()[2:4] == ["3", "6"]
    assert (tmp_path / "compare.png").stat().st_size > 0


def test_compare_optimizers(regression_csv):
    out = run(
        "compare", regression_csv, "-t", "y", "--optimizers", "sgd,adam", "--epochs", "5"
    ).output
    assert "sgd" in out and "adam" in out and "R^2" in out
    statuses = [numbers_row_text(out, name).split()[-1] for name in ("sgd", "adam")]
    assert sorted(statuses) == ["best", "ok"]


def test_lr_find_reports_the_bound_from_the_data(tmp_path, regression_csv, frame):
    out = run("lr-find", regression_csv, "-t", "y", "--plots", tmp_path).output
    X = frame[["x1", "x2"]].to_numpy()
    Z = (X - X.mean(axis=0)) / X.std(axis=0)
    A = np.hstack([Z, np.ones((N_ROWS, 1))])
    bound = 2.0 / (2.0 * np.linalg.eigvalsh(A.T @ A / N_ROWS)[-1])  # 2 / L, L = 2 lambda_max
    shown = numbers_row_text(out, "stability bound 2/L (full-batch GD)").split()[-1]
    assert float(shown) == pytest.approx(bound, rel=1e-2)
    assert "suggested learning rate" in out and "gdlab fit" in out
    assert (tmp_path / "lr_find.png").stat().st_size > 0


def test_landscape_follows_the_textbook_iterates(tmp_path):
    out_png = tmp_path / "bowl.png"
    gif = tmp_path / "bowl.gif"
    result = run(
        "landscape", "--function", "quadratic", "--optimizers", "sgd,adam", "--steps", "20",
        "--out", out_png, "--animate", gif,
    )  # fmt: skip
    # f = (x^2 + 10 y^2) / 2 from (-4, 1.5): x_k = (1 - eta)^k x_0, y_k = (1 - 10 eta)^k y_0
    eta = default_rate("quadratic", "sgd")
    x20 = -4.0 * (1 - eta) ** 20
    assert abs(1.5 * (1 - 10 * eta) ** 20) < 5e-5  # printed as 0
    row = numbers_row_text(result.output, "sgd")
    assert f"({x20:.3g}, 0)" in row
    assert out_png.read_bytes()[:4] == b"\x89PNG"
    assert gif.read_bytes()[:4] == b"GIF8"


def test_landscape_marks_divergence_and_clipping_tames_it(tmp_path):
    args = ["landscape", "--function", "quartic", "--optimizers", "sgd", "--steps", "100",
            "--learning-rate", "0.5", "--out", tmp_path / "q.png"]  # fmt: skip
    assert "diverged" in run(*args).output
    tamed = run(*args, "--clip-norm", "1").output
    assert "diverged" not in tamed


def test_info_lists_versions_and_backends():
    out = run("info").output
    assert f"gdlab {gdlab.__version__}" in out
    assert np.__version__ in out
    assert "numba" in out and "Speed back-ends" in out


def test_lab_passes_its_options_to_run_lab(monkeypatch, tmp_path):
    # run_lab itself (every experiment, figures, report) is tested with the lab; this checks the
    # command's wiring without spending half a minute on the experiments
    calls = {}

    def fake_run_lab(out_dir, *, seed, console, quiet, fast):
        calls.update(out_dir=Path(out_dir), seed=seed, quiet=quiet, fast=fast)
        return SimpleNamespace(
            report=Path(out_dir) / "report.html", out_dir=Path(out_dir), figures={"a": "a.png"}
        )

    monkeypatch.setattr("gdlab.lab.run_lab", fake_run_lab)
    out_dir = tmp_path / "lab"
    result = run("lab", "--out", out_dir, "--seed", "7", "--fast", "--quiet")
    assert calls == {"out_dir": out_dir, "seed": 7, "quiet": True, "fast": True}
    assert f"Report: {out_dir / 'report.html'}" in result.output
    run("lab", "--seed", "x", code=2)


# ---- bad input -------------------------------------------------------------------------------


def test_non_numeric_column_names_column_and_row(tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text("size,rooms,price\n1.0,2,10\n2.0,three,20\n3.0,4,30\n")
    line = error_line(run("fit", path, "--target", "price", code=2))
    assert "bad.csv" in line and "'rooms'" in line and "row 2" in line and "'three'" in line


def test_missing_target_lists_the_columns(regression_csv):
    line = error_line(run("fit", regression_csv, "--target", "price", code=2))
    assert "'price' not found" in line and "'x1', 'x2', 'y'" in line


@pytest.mark.parametrize(
    ("name", "content", "expected"),
    [
        ("empty.csv", b"", "the file is empty"),
        ("garbage.csv", bytes(range(256)), "binary file"),
        ("garbage.parquet", b"\x00\xff" * 50, "not a Parquet file"),
        ("data.json", b"{}", "unknown file type"),
        ("header.csv", b"a,b\n", "no data rows"),
    ],
)
@pytest.mark.parametrize("command", ["fit", "sweep", "lr-find"])
def test_bad_files(tmp_path, name, content, expected, command):
    path = tmp_path / name
    path.write_bytes(content)
    line = error_line(run(command, path, "--target", "y", code=2))
    assert name in line and expected in line


def test_missing_file(tmp_path):
    line = error_line(run("fit", tmp_path / "nope.csv", "--target", "y", code=2))
    assert "nope.csv: no such file" in line


@pytest.mark.parametrize(
    "args",
    [
        ["--optimizer", "foo"],
        ["--task", "ranking"],
        ["--batch-size", "0"],
        ["--batch-size", "many"],
        ["--learning-rate", "-1"],
        ["--epochs", "0"],
        ["--loss", "log_loss"],
        ["--bogus-option"],
    ],
)
def test_bad_option_values_exit_2(regression_csv, args):
    line = error_line(run("fit", regression_csv, "--target", "y", *args, code=2))
    assert "gdlab fit --help" in line or "--loss" in line


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["sweep", "--learning-rates", "0.1,abc"], "'abc' is not a number"),
        (["compare", "--optimizers", "sgd,foo"], "'foo' is not one of"),
        (["compare", "--modes", "batch,full"], "'full' is not one of"),
        (["compare", "--x", "time"], "'time' is not one of"),
    ],
)
def test_bad_list_values_exit_2(regression_csv, args, expected):
    command, *options = args
    line = error_line(run(command, regression_csv, "-t", "y", *options, code=2))
    assert expected in line


def test_bad_landscape_values_exit_2(tmp_path):
    for args, expected in [
        (["--function", "banana"], "'banana' is not one of"),
        (["--start", "1"], "expected 2 comma-separated numbers"),
        (["--animate", tmp_path / "a.mp4"], "must end in .gif"),
        (["--out", tmp_path / "a.txt"], "must end in .png"),
    ]:
        assert expected in error_line(run("landscape", *args, code=2))


def test_predict_unknown_output_type(tmp_path, regression_csv):
    line = error_line(run("predict", tmp_path / "m.npz", regression_csv, "--out", "p.xlsx", code=2))
    assert "unknown file type" in line


def test_verbose_shows_the_traceback(tmp_path):
    path = tmp_path / "empty.csv"
    path.write_bytes(b"")
    result = run("fit", path, "-t", "y", "--verbose", code=2)
    assert "Traceback" in result.stderr
    assert result.stderr.strip().splitlines()[-1].startswith("gdlab: error: ")


def test_ctrl_c_exits_130(monkeypatch, regression_csv):
    def interrupted(self, *args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(gdlab.GDRegressor, "fit", interrupted)
    line = error_line(run("fit", regression_csv, "-t", "y", code=130))
    assert "interrupted" in line


def test_an_unexpected_error_is_one_line_unless_verbose(monkeypatch, regression_csv):
    def broken(self, *args, **kwargs):
        raise ZeroDivisionError("boom")

    monkeypatch.setattr(gdlab.GDRegressor, "fit", broken)
    line = error_line(run("fit", regression_csv, "-t", "y", code=1))
    assert "ZeroDivisionError: boom" in line and "--verbose" in line
    verbose = run("fit", regression_csv, "-t", "y", "-v", code=1)
    assert "Traceback" in verbose.stderr


def test_hostile_column_names_stay_text(tmp_path):
    path = tmp_path / "hostile.csv"
    pd.DataFrame(
        {"[bold]x[/bold]": [1.0, 2.0, 3.0, 4.0, 5.0], "y": [2.0, 4.1, 6.0, 8.2, 9.9]}
    ).to_csv(path, index=False)
    out = run("fit", path, "-t", "y", "--validation-fraction", "0", "--epochs", "5").output
    assert "[bold]x[/bold]" in out
