"""``gdlab fit``'s estimator options, multi-output targets, progress display and --resume.

Oracle for each option: the saved model equals the library estimator built with the matching
keyword argument and fitted on the same rows (the library features have their own oracles in
tests/test_estimator_features.py, tests/test_sgd_losses.py and tests/test_schedule_names.py);
multi-output and weighted least squares also against scikit-learn's LinearRegression.
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from sklearn.linear_model import LinearRegression

import gdlab
from gdlab.cli import cli
from gdlab.cli._progress import EpochProgress, progress_console


@pytest.fixture(scope="module")
def csv(tmp_path_factory) -> Path:
    rng = np.random.default_rng(0)
    n = 120
    X = rng.normal(size=(n, 3))
    frame = pd.DataFrame(X, columns=["a", "b", "c"])
    frame["y"] = X @ [1.0, -2.0, 0.5] + 3 + 0.1 * rng.normal(size=n)
    frame["y2"] = X @ [0.5, 0.0, 1.0] - 1 + 0.1 * rng.normal(size=n)
    frame["count"] = rng.poisson(np.exp(X @ [0.3, -0.2, 0.1] + 0.5))
    frame["label"] = (X[:, 0] + 0.3 * rng.normal(size=n) > 0.8).astype(int)
    frame["w"] = rng.uniform(0.5, 2.0, size=n)
    path = tmp_path_factory.mktemp("fitopts") / "data.csv"
    frame.to_csv(path, index=False)
    return path


def _fit(csv: Path, tmp_path: Path, *args: str) -> gdlab.GDRegressor:
    out = tmp_path / "m.npz"
    result = CliRunner().invoke(
        cli, ["fit", str(csv), *args, "--validation-fraction", "0", "--model-out", str(out)]
    )
    assert result.exit_code == 0, result.output
    assert "rows/s" not in result.output  # not a terminal: no progress display
    return gdlab.load(out)


CASES = [
    # (CLI options, target, features left out, estimator keyword arguments)
    (["--penalty", "elasticnet", "--alpha", "0.01", "--l1-ratio", "0.5"], "y",
     dict(penalty="elasticnet", alpha=0.01, l1_ratio=0.5)),
    (["--schedule", "cyclic", "--schedule-param", "step_epochs_up=3",
      "--schedule-param", "mode=triangular2"], "y",
     dict(schedule="cyclic", schedule_params={"step_epochs_up": 3, "mode": "triangular2"})),
    (["--schedule", "multistep_decay", "--schedule-param", "milestone_epochs=5,8"], "y",
     dict(schedule="multistep_decay", schedule_params={"milestone_epochs": [5, 8]})),
    (["--optimizer", "sgd", "--momentum", "0.9", "--learning-rate", "0.01"], "y",
     dict(optimizer="sgd", momentum=0.9, learning_rate=0.01)),
    (["--early-stopping"], "y", dict(early_stopping=True)),
    (["--average"], "y", dict(average=1)),
    (["--average", "500"], "y", dict(average=500)),
    (["--class-weight", "balanced", "--loss", "squared_hinge"], "label",
     dict(class_weight="balanced", loss="squared_hinge")),
    (["--loss", "poisson"], "count", dict(loss="poisson")),
]  # fmt: skip
ALL_LOSSES = [
    ("y", loss)
    for loss in ("squared_error", "huber", "epsilon_insensitive", "squared_epsilon_insensitive")
] + [("label", loss) for loss in ("log_loss", "hinge", "modified_huber", "perceptron")]
OTHER = {"y": "y2,count,label,w", "count": "y,y2,label,w", "label": "y,y2,count,w"}


def _library(csv: Path, target: str, **kwargs):
    frame = pd.read_csv(csv)
    X = frame[["a", "b", "c"]]
    cls = gdlab.GDClassifier if target == "label" else gdlab.GDRegressor
    kwargs.setdefault("learning_rate", 0.03)  # the default of gdlab fit
    model = cls(max_iter=12, standardize=True, random_state=0, **kwargs)
    return model, X, frame[target].to_numpy()


@pytest.mark.parametrize(("args", "target", "kwargs"), CASES)
def test_each_option_builds_the_matching_estimator(csv, tmp_path, args, target, kwargs):
    saved = _fit(csv, tmp_path, "--target", target, "--exclude", OTHER[target], "--epochs", "12",
                 *args)  # fmt: skip
    model, X, y = _library(csv, target, **kwargs)
    for name, value in kwargs.items():
        assert saved.get_params()[name] == value
    model.fit(X, y)
    np.testing.assert_array_equal(saved.coef_, model.coef_)
    np.testing.assert_array_equal(saved.intercept_, model.intercept_)


@pytest.mark.parametrize(("target", "loss"), ALL_LOSSES)
def test_every_loss_is_accepted(csv, tmp_path, target, loss):
    saved = _fit(csv, tmp_path, "--target", target, "--exclude", OTHER[target], "--loss", loss,
                 "--epochs", "3")  # fmt: skip
    assert saved.loss == loss


def test_two_targets_give_the_least_squares_of_each(csv, tmp_path):
    args = ["--target", "y,y2", "--exclude", "count,label,w", "--optimizer", "sgd",
            "--batch-size", "full", "--learning-rate", "0.2", "--epochs", "400",
            "--tol", "0"]  # fmt: skip
    saved = _fit(csv, tmp_path, *args)
    frame = pd.read_csv(csv)
    exact = LinearRegression().fit(frame[["a", "b", "c"]], frame[["y", "y2"]])
    np.testing.assert_allclose(saved.coef_, exact.coef_, atol=1e-9)
    np.testing.assert_allclose(saved.intercept_, exact.intercept_, atol=1e-9)
    result = CliRunner().invoke(cli, ["predict", str(tmp_path / "m.npz"), str(csv)])
    assert result.exit_code == 0 and "prediction_y2" in result.output


def test_sample_weight_column_gives_weighted_least_squares(csv, tmp_path):
    args = ["--target", "y", "--exclude", "y2,count,label", "--sample-weight", "w",
            "--optimizer", "sgd", "--batch-size", "full", "--learning-rate", "0.2",
            "--epochs", "400", "--tol", "0"]  # fmt: skip
    saved = _fit(csv, tmp_path, *args)
    assert list(saved.feature_names_in_) == ["a", "b", "c"]  # the weights are no feature
    frame = pd.read_csv(csv)
    exact = LinearRegression().fit(frame[["a", "b", "c"]], frame["y"], sample_weight=frame["w"])
    np.testing.assert_allclose(saved.coef_, exact.coef_, atol=1e-9)


def test_defaults_are_unchanged_by_the_new_options(csv, tmp_path):
    saved = _fit(csv, tmp_path, "--target", "y", "--exclude", "y2,count,label,w")
    defaults = gdlab.GDRegressor().get_params()
    for name in ("penalty", "schedule", "momentum", "early_stopping", "average"):
        assert saved.get_params()[name] == defaults[name]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--target", "y", "--schedule-param", "period_epochs=3"], "--schedule-param needs"),
        (["--target", "y", "--schedule", "cosine_decay", "--schedule-param", "alpha"], "KEY=VALUE"),
        (["--target", "y", "--class-weight", "balanced"], "--class-weight is for classification"),
        (["--target", "y", "--sample-weight", "weights"], "there is no column 'weights'"),
        (["--target", "y,nope"], "there is no column 'nope'"),
        (["--target", "label,y", "--task", "classification"], "need regression targets"),
        (["--target", "y", "--schedule", "one_cycle", "--schedule-param", "pct_start=2"],
         "'pct_start' parameter of one_cycle"),
    ],
)  # fmt: skip
def test_bad_options_are_named(csv, args, message):
    result = CliRunner().invoke(cli, ["fit", str(csv), *args])
    assert result.exit_code == 2, result.output
    assert message in " ".join(result.output.split())


def test_progress_on_a_terminal_shows_epoch_loss_rate_and_time_left():
    from rich.console import Console

    screen = Console(file=io.StringIO(), force_terminal=True, width=120)
    assert progress_console(False, screen) is screen
    assert progress_console(True, screen) is None  # -q
    assert progress_console(False, Console(file=io.StringIO())) is None  # piped
    X = np.arange(40.0).reshape(20, 2) / 20
    y = X @ [1.0, 2.0]
    model = gdlab.GDRegressor(max_iter=2, tol=None, warm_start=True, random_state=0)

    def draw(snapshot):  # the real epoch snapshots of fit(callback=...)
        progress(snapshot)
        progress._progress.refresh()

    with EpochProgress(screen, epochs=4, rows=20) as progress:
        model.fit(X, y, callback=draw)
    drawn = screen.file.getvalue()
    loss = f"loss {model.loss_curve_[-1]:.4g}"
    assert "epoch 2/4" in drawn and loss in drawn and "rows/s" in drawn
    assert "0:00:0" in drawn  # the time-left column
    # a continued (resumed) run counts on from the epochs already trained: its snapshots'
    # n_iter_ restart at 1, the progress does not
    with EpochProgress(screen, epochs=4, rows=20) as progress:
        model.fit(X, y, callback=draw)
    drawn = screen.file.getvalue()
    assert "epoch 4/4" in drawn and f"loss {model.loss_curve_[-1]:.4g}" in drawn
    assert model.n_iter_ == 2


def test_resume_with_more_epochs_continues_a_finished_run(csv, tmp_path):
    base = ["fit", str(csv), "--target", "y", "--exclude", "y2,count,label,w", "--tol", "0",
            "--validation-fraction", "0"]  # fmt: skip
    runner = CliRunner()
    ckpt = tmp_path / "run.ckpt"
    first = runner.invoke(cli, [*base, "--epochs", "5", "--checkpoint", str(ckpt)])
    assert first.exit_code == 0, first.output
    more = runner.invoke(cli, [*base, "--epochs", "9", "--checkpoint", str(ckpt), "--resume",
                               "--model-out", str(tmp_path / "resumed.npz")])  # fmt: skip
    assert more.exit_code == 0, more.output
    assert "Continuing the finished run" in " ".join(more.output.split())
    straight = runner.invoke(cli, [*base, "--epochs", "9", "--model-out",
                                   str(tmp_path / "straight.npz")])  # fmt: skip
    assert straight.exit_code == 0
    a, b = gdlab.load(tmp_path / "resumed.npz"), gdlab.load(tmp_path / "straight.npz")
    np.testing.assert_array_equal(a.coef_, b.coef_)
    assert a.n_iter_ == b.n_iter_ == 9
    again = runner.invoke(cli, [*base, "--epochs", "9", "--checkpoint", str(ckpt), "--resume"])
    assert "nothing left to train" in " ".join(again.output.split())


@pytest.mark.parametrize(
    "command",
    [
        ["compare", "--optimizers", "sgd,adam", "--epochs", "3"],
        ["sweep", "--learning-rates", "0.01,0.1", "--epochs", "3"],
        ["lr-find", "--steps", "20"],
    ],
)
def test_long_commands_take_quiet_and_print_no_progress_when_piped(csv, command):
    args = [command[0], str(csv), "--target", "y", "--exclude", "y2,count,label,w", *command[1:]]
    loud, quiet = (CliRunner().invoke(cli, args + extra) for extra in ([], ["-q"]))
    assert loud.exit_code == quiet.exit_code == 0, loud.output + quiet.output
    assert "rows/s" not in loud.output and "rows/s" not in quiet.output


def test_predict_takes_quiet_and_prints_the_same(csv, tmp_path):
    _fit(csv, tmp_path, "--target", "y", "--exclude", "y2,count,label,w", "--epochs", "2")
    args = ["predict", str(tmp_path / "m.npz"), str(csv)]
    loud, quiet = (CliRunner().invoke(cli, args + extra) for extra in ([], ["-q"]))
    assert loud.exit_code == quiet.exit_code == 0
    assert loud.output == quiet.output  # piped: the spinner draws nothing
