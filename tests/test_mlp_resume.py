"""Networks resume exactly: fit callbacks, checkpoints and ``gdlab fit --model mlp --checkpoint``.

A checkpoint written by the per-epoch callback, loaded and continued with ``warm_start`` gives
bitwise the parameters, optimizer moments, batch-norm running statistics and dropout stream of an
uninterrupted fit; the command line survives SIGKILL at any moment with the same guarantee.
"""

from __future__ import annotations

import signal
import subprocess
import time
from pathlib import Path

import numpy as np
import pytest

import gdlab
from gdlab.estimators._mlp import MLPClassifier, MLPRegressor
from gdlab.io import load_checkpoint, save_checkpoint
from test_resume import CLI, _wait_for_epoch

RNG = np.random.default_rng(5)
X = RNG.normal(size=(70, 4)) * [1.0, 3.0, 0.5, 2.0]
Y = np.tanh(X @ [1.0, -0.5, 0.5, 0.3]) + 0.1 * RNG.normal(size=70)
LABELS = np.digitize(X[:, 0] + 0.5 * X[:, 1], [-1.0, 1.0])

SETTINGS = {
    "hidden_layer_sizes": (6, 5),
    "batch_norm": True,
    "dropout": 0.2,
    "batch_size": 16,
    "learning_rate": 0.01,
    "schedule": "cosine",  # a horizon of max_iter epochs: resumed with the remaining ones
    "standardize": True,
    "tol": None,
    "random_state": 4,
}


def _assert_same_network(a, b) -> None:
    sa, sb = a._train_state, b._train_state
    np.testing.assert_array_equal(sa.params, sb.params)
    assert repr(sa.opt_state) == repr(sb.opt_state)  # every moment, to the last bit
    assert (sa.epoch, sa.step, a._draws) == (sb.epoch, sb.step, b._draws)
    for x, y in zip(a._bn_state.running_mean + a._bn_state.running_var,
                    b._bn_state.running_mean + b._bn_state.running_var, strict=True):  # fmt: skip
        np.testing.assert_array_equal(x, y)
    for x, y in zip(a.coefs_ + a.intercepts_, b.coefs_ + b.intercepts_, strict=True):
        np.testing.assert_array_equal(x, y)
    assert a.history_.loss == b.history_.loss
    assert a.history_.layers == b.history_.layers


@pytest.mark.parametrize("cls", [MLPRegressor, MLPClassifier])
def test_checkpoints_from_the_fit_callback_resume_exactly(tmp_path: Path, cls) -> None:
    y = Y if cls is MLPRegressor else LABELS
    straight = cls(max_iter=12, **SETTINGS).fit(X, y)
    written = []

    def checkpoint(snapshot) -> None:
        epoch = snapshot._train_state.epoch
        assert snapshot.n_iter_ == epoch and len(snapshot.loss_curve_) == epoch
        save_checkpoint(snapshot, tmp_path / f"epoch{epoch}.ckpt", metadata={"epochs": 12})
        written.append(epoch)

    model = cls(max_iter=12, **SETTINGS)
    model.fit(X, y, callback=checkpoint)
    assert written == list(range(1, 13))
    _assert_same_network(straight, model)  # the callback changes nothing
    for epoch in (1, 5, 11):
        resumed, meta = load_checkpoint(tmp_path / f"epoch{epoch}.ckpt")
        resumed.set_params(warm_start=True, max_iter=meta["epochs"] - epoch)
        resumed.fit(X, y)
        _assert_same_network(straight, resumed)


def test_callback_stops_and_an_interrupted_fit_leaves_the_model_alone(tmp_path: Path) -> None:
    model = MLPRegressor(max_iter=50, **SETTINGS)
    model.fit(X, Y, callback=lambda snapshot: snapshot._train_state.epoch == 3)
    assert model.n_iter_ == 3 and model.history_.stop_reason == "Stopped by the callback."
    path = tmp_path / "run.ckpt"

    def checkpoint_then_interrupt(snapshot) -> None:
        save_checkpoint(snapshot, path)
        if snapshot._train_state.epoch == 4:
            raise KeyboardInterrupt

    fresh = MLPRegressor(max_iter=10, **SETTINGS)
    with pytest.raises(KeyboardInterrupt):
        fresh.fit(X, Y, callback=checkpoint_then_interrupt)
    assert not hasattr(fresh, "coefs_")  # the model being fitted is untouched
    saved, _ = load_checkpoint(path)
    saved.set_params(warm_start=True, max_iter=6)
    _assert_same_network(MLPRegressor(max_iter=10, **SETTINGS).fit(X, Y), saved.fit(X, Y))


def _fit_args(tmp_path: Path) -> list[str]:
    rng = np.random.default_rng(4)
    X = rng.normal(size=(200, 3)) * [1.0, 10.0, 0.1]
    y = np.tanh(X @ [1.0, 0.1, -5.0]) + 0.1 * rng.normal(size=200)
    path = tmp_path / "data.csv"
    path.write_text("a,b,c,y\n" + "\n".join(",".join(f"{v:.17g}" for v in r) for r in np.c_[X, y]))
    return [
        "fit", str(path), "--target", "y", "--model", "mlp", "--hidden", "8,8", "--batch-norm",
        "--dropout", "0.1", "--epochs", "150", "--batch-size", "16", "--tol", "0", "--seed", "3",
        "--learning-rate", "0.01", "--standardize",
    ]  # fmt: skip


@pytest.mark.slow
def test_sigkill_then_resume_equals_uninterrupted_network(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from gdlab.cli import cli

    args = _fit_args(tmp_path)
    straight = CliRunner().invoke(cli, [*args, "--model-out", str(tmp_path / "straight.npz")])
    assert straight.exit_code == 0, straight.output
    checkpoint = tmp_path / "run.ckpt"
    killed_at = []
    for target, delay in [(3, 0.0), (60, 0.013)]:
        process = subprocess.Popen(
            [*CLI, *args, "--checkpoint", str(checkpoint), "--resume"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            _wait_for_epoch(checkpoint, target, process)
            time.sleep(delay)  # land anywhere in the epoch / checkpoint-writing cycle
        finally:
            process.kill()
            process.communicate()
        assert process.returncode == -signal.SIGKILL
        killed_at.append(load_checkpoint(checkpoint).model._train_state.epoch)
    assert killed_at == sorted(killed_at) and 3 <= killed_at[0] and killed_at[-1] < 150
    runner = CliRunner()
    resume = [*args, "--checkpoint", str(checkpoint), "--resume"]
    done = runner.invoke(cli, [*resume, "--model-out", str(tmp_path / "resumed.npz")])
    assert done.exit_code == 0, done.output
    assert f"Resuming from {checkpoint} after epoch {killed_at[-1]}" in " ".join(
        done.output.split()
    )
    expected, resumed = gdlab.load(tmp_path / "straight.npz"), gdlab.load(tmp_path / "resumed.npz")
    _assert_same_network(expected, resumed)
    assert resumed.n_iter_ == expected.n_iter_ == 150 and resumed.max_iter == 150
    again = runner.invoke(cli, resume)
    assert again.exit_code == 0 and "nothing left to train" in " ".join(again.output.split())


def test_progress_display_follows_a_network_fit(tmp_path: Path) -> None:
    """On a terminal, ``gdlab fit --model mlp`` draws the per-epoch progress."""
    from rich.console import Console

    from gdlab.cli._progress import EpochProgress

    console = Console(file=open(tmp_path / "screen.txt", "w"), force_terminal=True, width=100)
    shown = EpochProgress(console, epochs=5, rows=len(X))
    seen = []

    def follow(snapshot) -> None:
        shown(snapshot)
        seen.append(shown._progress.tasks[0].completed)

    with shown:
        MLPRegressor((4,), max_iter=5, tol=None, random_state=0).fit(X, Y, callback=follow)
    console.file.close()
    assert seen == [1, 2, 3, 4, 5]
    assert "epoch 5/5" in (tmp_path / "screen.txt").read_text()
