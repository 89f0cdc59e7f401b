"""Progress hooks of the library (``sweep(on_epoch=...)``, ``lr_find(on_step=...)``) and the
progress display of the long commands (sweep, lr-find, lab) on a terminal.

The hooks are checked against what the runs record (their ``history_`` and the result's
``raw_losses``/``rates``) and must not change any result. A terminal is faked with rich's
``TTY_COMPATIBLE=1``; when not a terminal the commands print exactly what ``-q`` prints.
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from sklearn.linear_model import Ridge

import gdlab
from gdlab import _batched_sweep as estimator_sweep
from gdlab.cli import cli

TERMINAL = {"TTY_COMPATIBLE": "1"}


def _data(n: int = 80, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 3))
    return X, X @ [1.0, -2.0, 0.5] + 3 + 0.1 * rng.normal(size=n)


class _Calls:
    def __init__(self) -> None:
        self.calls: list[tuple] = []

    def __call__(self, *args) -> None:
        self.calls.append(tuple(np.array(a, copy=True) for a in args))


def _same_sweeps(a: gdlab.SweepResult, b: gdlab.SweepResult) -> None:
    assert a.backend == b.backend and a.diverged == b.diverged and a.errors == b.errors
    np.testing.assert_array_equal(a.final_loss, b.final_loss)
    for ha, hb in zip(a.histories, b.histories, strict=True):
        np.testing.assert_array_equal(ha.loss, hb.loss)
    for ma, mb in zip(a.estimators, b.estimators, strict=True):
        if ma is not None:
            np.testing.assert_array_equal(ma.coef_, mb.coef_)
            np.testing.assert_array_equal(ma.intercept_, mb.intercept_)


@pytest.mark.parametrize("batched", [True, False])
def test_sweep_hook_reports_every_epoch_of_every_run_and_changes_nothing(monkeypatch, batched):
    X, y = _data()
    rates = [0.001, 0.05, 0.3, 5.0]  # the last one diverges
    model = gdlab.GDRegressor(optimizer="sgd", batch_size=None, max_iter=12, tol=None)
    if batched:
        monkeypatch.setattr(estimator_sweep, "BATCH_SECONDS", 0.0)  # batch even this small sweep
    else:
        model.set_params(backend="numpy")  # the one-fit-per-value reference path
    hook = _Calls()
    shown = gdlab.sweep(model, X, y, values=rates, on_epoch=hook)
    plain = gdlab.sweep(model, X, y, values=rates)
    assert shown.backend == ("batched" if batched else "numpy")
    assert shown.diverged == [False, False, False, True]
    _same_sweeps(shown, plain)
    # every recorded epoch of every run was reported once, with the loss its history records
    seen: dict[int, list[float]] = {r: [] for r in range(len(rates))}
    for epoch, losses in hook.calls:
        assert losses.shape == (len(rates),)
        for r in np.flatnonzero(np.isfinite(losses)):
            assert int(epoch) == len(seen[r]) + 1
            seen[r].append(float(losses[r]))
    for r, history in enumerate(shown.histories):
        assert seen[r] == list(history.loss)
    epochs = [int(epoch) for epoch, _ in hook.calls]
    if batched:  # one call per epoch for all runs together, until the last run stops
        assert epochs == list(range(1, 13))
        assert all(np.isfinite(losses[:3]).all() for _, losses in hook.calls)
    else:  # one run after another: one finite loss per call, epochs counted per run
        assert len(hook.calls) == sum(len(h.loss) for h in shown.histories)
        assert all(np.isfinite(losses).sum() == 1 for _, losses in hook.calls)
        assert epochs[:12] == list(range(1, 13)) and epochs[12:24] == list(range(1, 13))


def test_sweep_hook_with_default_estimator_and_one_without_a_fit_callback():
    X, y = _data()
    hook = _Calls()
    model = gdlab.GDRegressor(random_state=0)  # the defaults, with a fixed shuffling seed
    result = gdlab.sweep(model, X, y, values=[0.003, 0.01], on_epoch=hook)
    assert len(hook.calls) == sum(len(h.loss) for h in result.histories) > 0
    _same_sweeps(result, gdlab.sweep(model, X, y, values=[0.003, 0.01]))
    quiet = _Calls()  # scikit-learn's Ridge takes no fit callback: nothing per epoch to report
    ridge = gdlab.sweep(Ridge(), X, y, param="alpha", values=[0.1, 1.0], on_epoch=quiet)
    assert quiet.calls == [] and ridge.diverged == [False, False]


@pytest.mark.parametrize("batch_size", [None, 16])
def test_lr_find_hook_reports_steps_losses_and_rates(batch_size):
    X, y = _data()
    model = gdlab.GDRegressor(optimizer="sgd", batch_size=batch_size, random_state=0)
    hook = _Calls()
    shown = gdlab.lr_find(model, X, y, start=1e-4, stop=10.0, n_steps=60, on_step=hook)
    plain = gdlab.lr_find(model, X, y, start=1e-4, stop=10.0, n_steps=60)
    for name in ("rates", "losses", "raw_losses"):
        np.testing.assert_array_equal(getattr(shown, name), getattr(plain, name))
    assert shown.suggested == plain.suggested and shown.diverged_at == plain.diverged_at
    steps = [int(s) for s, _, _ in hook.calls]
    per_pass = 1 if batch_size is None else 5  # 80 rows in batches of 16
    assert steps == list(range(per_pass, per_pass * len(steps) + 1, per_pass))
    growth = (10.0 / 1e-4) ** (1 / 59)  # the rate of update t is start * growth ** t
    for step, loss, rate in hook.calls:
        assert rate == pytest.approx(1e-4 * growth ** (int(step) - 1), rel=1e-12)
        if int(step) <= len(shown.raw_losses):
            assert float(loss) == shown.raw_losses[int(step) - 1]


@pytest.fixture(scope="module")
def csv(tmp_path_factory) -> Path:
    X, y = _data(120, seed=1)
    frame = pd.DataFrame(X, columns=["a", "b", "c"])
    frame["y"] = y
    path = tmp_path_factory.mktemp("progress") / "data.csv"
    frame.to_csv(path, index=False)
    return path


@pytest.mark.parametrize(
    ("command", "drawn"),
    [
        (["sweep", "--learning-rates", "0.01,0.1", "--epochs", "5"], "epoch 5/5"),
        (["lr-find", "--steps", "20", "--stop", "0.5"], "step 20/20"),
    ],
)
def test_sweep_and_lr_find_show_progress_on_a_terminal_only(csv, command, drawn):
    args = [command[0], str(csv), "--target", "y", *command[1:]]
    loud = CliRunner(env=TERMINAL).invoke(cli, args)
    assert loud.exit_code == 0, loud.output
    assert drawn in loud.stderr and "loss " in loud.stderr and "rows/s" in loud.stderr
    assert "0:00:0" in loud.stderr  # the time-left column
    silenced = CliRunner(env=TERMINAL).invoke(cli, [*args, "-q"])
    assert silenced.exit_code == 0 and silenced.stderr == ""
    piped, quiet = (CliRunner().invoke(cli, args + extra) for extra in ([], ["-q"]))
    assert piped.exit_code == quiet.exit_code == 0
    assert piped.output == quiet.output and piped.stderr == ""  # nothing extra when piped


def test_lab_bar_says_experiment_k_of_n_with_time_left_and_quiet_has_none():
    from rich.console import Console

    from gdlab.lab import EXPERIMENTS, _progress

    screen = Console(file=io.StringIO(), force_terminal=True, width=160)
    with _progress(screen, False, len(EXPERIMENTS)) as step:
        step(f"experiment 1 of {len(EXPERIMENTS)}: computing 01_batch_gd")
        step(f"experiment 1 of {len(EXPERIMENTS)}: drawing 01_batch_gd")
        step(f"experiment 2 of {len(EXPERIMENTS)}: computing 02")
    drawn = screen.file.getvalue()
    assert f"experiment 2 of {len(EXPERIMENTS)}" in drawn
    assert "-:--:--" in drawn or "0:00:0" in drawn  # the time-left column
    silent = Console(file=io.StringIO(), force_terminal=True)
    with _progress(silent, True, len(EXPERIMENTS)) as step:
        step("experiment 1")
    assert silent.file.getvalue() == ""
    piped = Console(file=io.StringIO(), force_terminal=False)
    with _progress(piped, False, len(EXPERIMENTS)) as step:
        step("experiment 1")
    assert piped.file.getvalue() == ""
