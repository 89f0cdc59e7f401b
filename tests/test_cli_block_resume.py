"""Exact mid-epoch resume of a streamed ``gdlab fit``: SIGKILL right after the checkpoint of
block k of an epoch, then ``--resume``, gives the coefficients of an uninterrupted run bit for bit.

The command runs in a subprocess whose ``save_checkpoint`` kills the process (SIGKILL, no clean-up
of any kind) as soon as the checkpoint of the chosen ``(epoch, block)`` is on disk; with
``--checkpoint-every 0`` one is written after every block. Kills after the first block, a middle
one and the last block of an epoch, in mini-batch and full-batch fits, for a regressor and a
classifier, with the command's default settings too.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

import gdlab
from gdlab.cli import cli
from killing import kill_after_first_checkpoint

EPOCHS = 3
ROWS, GROUP = 600, 100  # 6 row groups: 6 blocks per epoch with --batch-rows 100

#: runs ``gdlab`` and kills itself once the checkpoint of (epoch, block) is written
KILLER = """
import os, signal, sys
import gdlab.cli._checkpoint as checkpoints
where = (int(sys.argv[1]), int(sys.argv[2]))
save = checkpoints.save_checkpoint
def save_then_kill(model, path, **options):
    saved = save(model, path, **options)
    state = model._train_state
    if state.cursor is not None and (state.epoch, state.cursor["block"]) == where:
        os.kill(os.getpid(), signal.SIGKILL)
    return saved
checkpoints.save_checkpoint = save_then_kill
from gdlab.cli import main
sys.argv = ["gdlab", *sys.argv[3:]]
main()
"""


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("block-resume")
    rng = np.random.default_rng(11)
    X = rng.normal(size=(ROWS, 3)) * [1.0, 3.0, 0.5]
    y = X @ [1.5, -0.5, 2.0] + 4.0 + 0.2 * rng.normal(size=ROWS)
    label = np.where(X[:, 0] - 0.3 * X[:, 1] > 0, "yes", "no")
    table = pa.table({"a": X[:, 0], "b": X[:, 1], "c": X[:, 2], "y": y, "label": label})
    pq.write_table(table, folder / "d.parquet", row_group_size=GROUP)
    return folder / "d.parquet"


CASES = {
    "regressor, defaults": ("y", []),
    "regressor, full batch, adam": ("y", ["--batch-size", "full", "--optimizer", "adam"]),
    "classifier, mini-batch, momentum": (
        "label", ["--batch-size", "16", "--optimizer", "momentum", "--learning-rate", "0.05"]
    ),
    "classifier, full batch": ("label", ["--batch-size", "full", "--learning-rate", "0.5"]),
}  # fmt: skip


def _arguments(data, target, options, *extra):
    return [
        "fit", str(data), "--target", target, "--exclude", "label" if target == "y" else "y",
        "--stream", "--batch-rows", str(GROUP),
        "--epochs", str(EPOCHS), "--tol", "0", "-q", *options, *map(str, extra),
    ]  # fmt: skip


def _run(arguments):
    result = CliRunner().invoke(cli, arguments, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


def _kill_after(epoch, block, arguments):
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1"}
    command = [sys.executable, "-c", KILLER, str(epoch), str(block), *arguments]
    run = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
    assert run.returncode == -signal.SIGKILL, run.stdout + run.stderr


@pytest.mark.slow
@pytest.mark.parametrize("case", list(CASES))
def test_a_kill_after_block_k_resumes_to_the_coefficients_of_an_uninterrupted_run(
    files, tmp_path, case
):
    target, options = CASES[case]
    straight = tmp_path / "straight.npz"
    _run(_arguments(files, target, options, "--model-out", straight))
    expected = gdlab.load(straight)
    n_blocks = ROWS // GROUP
    # the first block of the first epoch, a middle block, the last block of an epoch
    for epoch, block in ((0, 1), (1, n_blocks // 2), (2, n_blocks)):
        ckpt = tmp_path / f"run{epoch}-{block}.ckpt"
        every = ["--checkpoint", ckpt, "--checkpoint-every", "0"]
        _kill_after(epoch, block, _arguments(files, target, options, *every))
        state = gdlab.load(ckpt)._train_state
        assert (state.epoch, state.cursor["block"]) == (epoch, block)
        resumed = tmp_path / f"resumed{epoch}-{block}.npz"
        output = _run(
            _arguments(files, target, options, *every, "--resume", "--model-out", resumed)
        )
        assert f"in epoch {epoch + 1}, after {block} of its blocks" in output
        got = gdlab.load(resumed)
        assert np.array_equal(got.coef_, expected.coef_), (epoch, block)
        assert np.array_equal(got.intercept_, expected.intercept_)
        assert got.loss_curve_ == expected.loss_curve_
        assert got.history_.learning_rate == expected.history_.learning_rate
        assert got.n_iter_ == expected.n_iter_ == EPOCHS and got.t_ == expected.t_
        assert got._train_state.cursor is None


@pytest.mark.slow
def test_a_kill_at_any_moment_with_a_checkpoint_per_block_resumes_exactly(files, tmp_path):
    """SIGKILL from outside at a moment unrelated to the blocks (maybe in the middle of a write:
    the write is atomic), with a checkpoint after every block: the resumed run is the
    uninterrupted one."""
    options = ["--batch-size", "8", "--optimizer", "adam"]
    straight = tmp_path / "straight.npz"
    _run(_arguments(files, "y", options, "--model-out", straight))
    ckpt = tmp_path / "run.ckpt"
    arguments = _arguments(files, "y", options, "--checkpoint", ckpt, "--checkpoint-every", "0")
    kill_after_first_checkpoint(arguments, ckpt, settle=0.05)  # a few blocks later
    resumed = tmp_path / "resumed.npz"
    _run(_arguments(files, "y", options, "--checkpoint", ckpt, "--resume", "--model-out", resumed))
    a, b = gdlab.load(straight), gdlab.load(resumed)
    assert np.array_equal(a.coef_, b.coef_) and np.array_equal(a.intercept_, b.intercept_)
    assert a.loss_curve_ == b.loss_curve_ and a.t_ == b.t_


def test_a_mid_epoch_checkpoint_refuses_other_blocks_and_fewer_epochs(files, tmp_path):
    ckpt = tmp_path / "run.ckpt"
    options = ["--batch-size", "16", "--checkpoint", ckpt, "--checkpoint-every", "0"]
    _kill_after(1, 2, _arguments(files, "y", options))
    other = [*_arguments(files, "y", options, "--resume")]
    other[other.index("--batch-rows") + 1] = "50"
    result = CliRunner().invoke(cli, other)
    assert result.exit_code != 0
    assert "made with --batch-rows 100, but this run asks for --batch-rows 50" in result.output
    fewer = _arguments(files, "y", options, "--resume")
    fewer[fewer.index("--epochs") + 1] = "1"  # the checkpoint is inside epoch 2
    result = CliRunner().invoke(cli, fewer)
    assert result.exit_code != 0
    assert "in epoch 2, after 2 of its blocks, past --epochs 1" in result.output
    assert "--epochs 2 or more" in result.output


@pytest.mark.parametrize("every", [None, "0", "3600"])
def test_the_cadence_of_mid_epoch_checkpoints(files, tmp_path, monkeypatch, every):
    """Default (60 s) and 3600 s on a run of a second: epoch checkpoints only; 0: every block."""
    import gdlab.cli._checkpoint as checkpoints

    written = []
    save = checkpoints.save_checkpoint

    def noting(model, path, **options):
        state = model._train_state
        written.append((state.epoch, None if state.cursor is None else state.cursor["block"]))
        return save(model, path, **options)

    monkeypatch.setattr(checkpoints, "save_checkpoint", noting)
    cadence = [] if every is None else ["--checkpoint-every", every]
    _run(_arguments(files, "y", ["--checkpoint", tmp_path / "run.ckpt", *cadence]))
    epochs = [(e, None) for e in range(1, EPOCHS + 1)] + [(EPOCHS, None)]  # + the final save
    if every == "0":
        blocks = [[(e, b) for b in range(1, ROWS // GROUP + 1)] for e in range(EPOCHS)]
        epochs = [x for e in range(EPOCHS) for x in (*blocks[e], epochs[e])] + [epochs[-1]]
    assert written == epochs


def test_ctrl_c_between_two_blocks_says_where_the_checkpoint_stands(files, tmp_path, monkeypatch):
    import gdlab.cli._checkpoint as checkpoints

    save = checkpoints.save_checkpoint

    def save_then_interrupt(model, path, **options):
        saved = save(model, path, **options)
        state = model._train_state
        if state.cursor is not None and (state.epoch, state.cursor["block"]) == (1, 4):
            raise KeyboardInterrupt
        return saved

    monkeypatch.setattr(checkpoints, "save_checkpoint", save_then_interrupt)
    ckpt = tmp_path / "run.ckpt"
    options = ["--checkpoint", ckpt, "--checkpoint-every", "0"]
    result = CliRunner().invoke(cli, _arguments(files, "y", options))
    assert result.exit_code != 0
    assert "holds the run in epoch 2, after 4 of its blocks; add --resume" in result.output
