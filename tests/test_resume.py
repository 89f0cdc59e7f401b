"""Exact resume: 10 epochs, save, load, 10 more with warm_start == 20 epochs straight, bitwise;
checkpoints written by a fit callback resume to the same model."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import gdlab
from gdlab import schedules
from gdlab.io import load_checkpoint, save_checkpoint

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")

RNG = np.random.default_rng(11)
X = RNG.normal(size=(83, 4)) * [1.0, 3.0, 0.5, 2.0]
Y = X @ [1.0, -2.0, 0.5, 3.0] + 1.0 + 0.3 * RNG.normal(size=83)
LABELS = np.digitize(X[:, 0] + 0.5 * X[:, 1], [-1.0, 1.0])  # three classes

CONFIGS = {
    "adam minibatch shuffled": (
        gdlab.GDRegressor,
        {"optimizer": "adam", "batch_size": 16, "shuffle": True, "learning_rate": 0.05},
    ),
    "sgd momentum cosine": (
        gdlab.GDRegressor,
        {
            "optimizer": "sgd",
            "momentum": 0.9,
            "batch_size": 8,
            "schedule": schedules.cosine_decay(init_value=0.002, decay_steps=150),
        },
    ),
    "adaptive plateau": (
        gdlab.GDRegressor,
        {
            "optimizer": "sgd",
            "schedule": "adaptive",
            "learning_rate": 0.02,
            "batch_size": 10,
            "tol": 1e-2,
            "n_iter_no_change": 2,
        },
    ),
    "softmax standardized rmsprop": (
        gdlab.GDClassifier,
        {"optimizer": "rmsprop", "batch_size": 7, "standardize": True, "penalty": "l2"},
    ),
}


def _target(cls):
    return LABELS if cls is gdlab.GDClassifier else Y


def _assert_bitwise_same(a, b) -> None:
    assert np.array_equal(a.coef_, b.coef_)
    assert np.array_equal(a.intercept_, b.intercept_)
    assert a.t_ == b.t_
    assert a.history_.loss == b.history_.loss
    sa, sb = a._train_state, b._train_state
    assert np.array_equal(sa.params, sb.params)
    assert repr(sa.opt_state) == repr(sb.opt_state)  # exact float reprs of every moment
    assert (sa.epoch, sa.step, sa.plateau_state, sa.bad_epochs) == (
        sb.epoch,
        sb.step,
        sb.plateau_state,
        sb.bad_epochs,
    )


@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_save_load_resume_equals_straight_run(tmp_path: Path, name: str) -> None:
    cls, settings = CONFIGS[name]
    settings = {"tol": None, "random_state": 5, **settings}
    y = _target(cls)
    straight = cls(max_iter=20, **settings).fit(X, y)
    first = cls(max_iter=10, **settings).fit(X, y)
    resumed = gdlab.load(first.save(tmp_path / "half.npz"))
    resumed.set_params(warm_start=True)
    resumed.fit(X, y)
    assert resumed._train_state.epoch == straight._train_state.epoch
    _assert_bitwise_same(straight, resumed)
    if name == "adaptive plateau":  # the plateau rule did act, so its state was carried over
        assert straight._train_state.plateau_state.scale < 1.0


@pytest.mark.parametrize("backend", ["numpy", "numba"])
def test_checkpoints_from_the_fit_callback_resume_exactly(tmp_path: Path, backend: str) -> None:
    if backend == "numba":
        pytest.importorskip("numba")
    settings = {
        "optimizer": "nesterov",
        "momentum": 0.8,
        "schedule": "cosine",  # a horizon of max_iter epochs: resumed with the remaining ones
        "learning_rate": 0.01,
        "batch_size": 12,
        "tol": None,
        "random_state": 3,
        "standardize": True,
        "record_params": True,
        "backend": backend,
    }
    straight = gdlab.GDRegressor(max_iter=15, **settings).fit(X, Y)
    assert straight.history_.backend == backend
    written = []

    def checkpoint(snapshot) -> None:
        epoch = snapshot._train_state.epoch
        save_checkpoint(snapshot, tmp_path / f"epoch{epoch}.ckpt", metadata={"epochs": 15})
        written.append(epoch)

    model = gdlab.GDRegressor(max_iter=15, **settings)
    model.fit(X, Y, callback=checkpoint)
    assert written == list(range(1, 16))
    _assert_bitwise_same(straight, model)  # the callback changes nothing
    for epoch in (1, 7, 14):
        resumed, meta = load_checkpoint(tmp_path / f"epoch{epoch}.ckpt")
        assert resumed._train_state.epoch == epoch and resumed.n_iter_ == epoch
        resumed.set_params(warm_start=True, max_iter=meta["epochs"] - epoch)
        resumed.fit(X, Y)
        _assert_bitwise_same(straight, resumed)
        np.testing.assert_array_equal(resumed.history_.param_path(), straight.history_.param_path())


def test_interrupted_fit_leaves_model_alone_and_checkpoint_intact(tmp_path: Path) -> None:
    path = tmp_path / "run.ckpt"

    def checkpoint_then_interrupt(snapshot) -> None:
        save_checkpoint(snapshot, path)
        if snapshot._train_state.epoch == 4:
            raise KeyboardInterrupt

    model = gdlab.GDRegressor(max_iter=10, tol=None, random_state=0)
    with pytest.raises(KeyboardInterrupt):
        model.fit(X, Y, callback=checkpoint_then_interrupt)
    assert not hasattr(model, "coef_")  # the model being fitted is untouched
    saved, _ = load_checkpoint(path)
    assert saved._train_state.epoch == 4
    saved.set_params(warm_start=True, max_iter=6)
    straight = gdlab.GDRegressor(max_iter=10, tol=None, random_state=0).fit(X, Y)
    _assert_bitwise_same(straight, saved.fit(X, Y))


def test_callback_can_stop_and_sees_the_stop_reason() -> None:
    reasons = []

    def record(snapshot) -> bool:
        reasons.append(snapshot.history_.stop_reason)
        return snapshot._train_state.epoch == 3

    model = gdlab.GDRegressor(max_iter=50, tol=None, random_state=0).fit(X, Y, callback=record)
    assert model.n_iter_ == 3 and reasons == ["", "", ""]
    # only True stops: a callback that returns something else (a saved path) goes on
    model = gdlab.GDRegressor(max_iter=4, tol=None, random_state=0)
    assert model.fit(X, Y, callback=lambda snapshot: Path("saved.npz")).n_iter_ == 4
    reasons.clear()
    stalled = gdlab.GDRegressor(max_iter=500, tol=10.0, n_iter_no_change=2, random_state=0)
    stalled.fit(X, Y, callback=record)
    # the last snapshot already knows training stops there, so a resume would not train on
    assert reasons[-1].startswith("The training loss improved by less than tol")
    assert all(reason == "" for reason in reasons[:-1])


# ---- the command line: fit --checkpoint / --resume, SIGKILL and Ctrl-C -------------------------
CLI = [sys.executable, "-c", "from gdlab.cli import main; main()"]


def _fit_args(tmp_path: Path) -> list[str]:
    rng = np.random.default_rng(4)
    X = rng.normal(size=(300, 4)) * [1.0, 10.0, 0.1, 1.0]
    y = X @ [2.0, 0.3, -10.0, 1.0] + 5.0 + rng.normal(size=300)
    path = tmp_path / "data.csv"
    header = "a,b,c,d,y\n"
    path.write_text(header + "\n".join(",".join(f"{v:.17g}" for v in row) for row in np.c_[X, y]))
    # mini-batches on shuffled rows, and a schedule whose horizon is the --epochs: the resumed run
    # must pick up the shuffling order, the optimizer moments and the schedule exactly
    return [
        "fit", str(path), "--target", "y", "--epochs", "120", "--batch-size", "16", "--tol", "0",
        "--seed", "3", "--optimizer", "adam", "--learning-rate", "0.02",
    ]  # fmt: skip


def _wait_for_epoch(path: Path, epoch: int, process: subprocess.Popen) -> int:
    """Poll the checkpoint until it holds ``epoch`` or more; every read must be a valid file."""
    deadline = time.monotonic() + 120
    seen = None
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"the run ended early: {process.stderr.read()}")
        stamp = path.stat().st_mtime_ns if path.exists() else None
        if stamp is not None and stamp != seen:
            seen = stamp
            reached = load_checkpoint(path).model._train_state.epoch
            if reached >= epoch:
                return reached
        time.sleep(0.02)
    raise AssertionError("no checkpoint progress within 120 s")


def test_sigkill_at_several_moments_then_resume_equals_uninterrupted(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from gdlab.cli import cli

    args = _fit_args(tmp_path)
    straight = CliRunner().invoke(cli, [*args, "--model-out", str(tmp_path / "straight.npz")])
    assert straight.exit_code == 0, straight.output
    checkpoint = tmp_path / "run.ckpt"
    killed_at = []
    for target, delay in [(3, 0.0), (40, 0.011), (80, 0.023)]:
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
        killed_at.append(load_checkpoint(checkpoint).model._train_state.epoch)  # always valid
    print(f"SIGKILLed at checkpoint epochs {killed_at}")
    assert killed_at == sorted(killed_at) and killed_at[0] >= 3
    runner = CliRunner()  # the resumed run to the end, in this process
    resume = [*args, "--checkpoint", str(checkpoint), "--resume"]
    done = runner.invoke(cli, [*resume, "--model-out", str(tmp_path / "resumed.npz")])
    assert done.exit_code == 0, done.output
    text = " ".join(done.output.split())
    assert f"Resuming from {checkpoint} after epoch {killed_at[-1]}" in text
    expected, resumed = gdlab.load(tmp_path / "straight.npz"), gdlab.load(tmp_path / "resumed.npz")
    _assert_bitwise_same(expected, resumed)
    assert resumed.n_iter_ == expected.n_iter_ == 120 and resumed.max_iter == 120
    again = runner.invoke(cli, resume)  # resuming a finished run trains nothing, changes nothing
    assert again.exit_code == 0 and "nothing left to train" in " ".join(again.output.split())
    _assert_bitwise_same(expected, load_checkpoint(checkpoint).model)


def test_ctrl_c_exits_130_with_a_short_message_and_the_checkpoint_intact(tmp_path: Path) -> None:
    checkpoint = tmp_path / "run.ckpt"
    process = subprocess.Popen(
        [*CLI, *_fit_args(tmp_path), "--checkpoint", str(checkpoint)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        _wait_for_epoch(checkpoint, 3, process)
        process.send_signal(signal.SIGINT)
        _, err = process.communicate(timeout=120)
    finally:
        process.kill()
    assert process.returncode == 130
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in err
    assert lines[0].startswith("gdlab: error: interrupted (Ctrl-C);")
    assert f"{checkpoint} holds the run after epoch" in lines[0] and "--resume" in lines[0]
    saved = load_checkpoint(checkpoint).model
    assert saved._train_state.epoch >= 3
    assert f"after epoch {saved._train_state.epoch};" in lines[0]


def test_resume_refuses_other_data_or_options(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from gdlab.cli import cli

    args = _fit_args(tmp_path)
    args[args.index("--epochs") + 1] = "3"
    checkpoint = str(tmp_path / "run.ckpt")
    runner = CliRunner()
    assert runner.invoke(cli, [*args, "--checkpoint", checkpoint]).exit_code == 0
    other = [*args, "--checkpoint", checkpoint, "--resume"]
    other[other.index("--learning-rate") + 1] = "0.5"
    result = runner.invoke(cli, other)
    assert result.exit_code == 2
    assert "made with learning_rate=0.02" in " ".join(result.output.split())
    seed = [*args, "--checkpoint", checkpoint, "--resume"]
    seed[seed.index("--seed") + 1] = "4"
    assert runner.invoke(cli, seed).exit_code == 2
    result = runner.invoke(cli, [*args, "--resume"])
    assert result.exit_code == 2 and "--resume needs --checkpoint" in result.output
    Path(checkpoint).write_bytes(b"not a checkpoint")
    result = runner.invoke(cli, [*args, "--checkpoint", checkpoint, "--resume"])
    assert result.exit_code == 2 and "not a gdlab model file" in result.output
