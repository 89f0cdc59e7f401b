"""Exact resume of a streamed fit killed at any point (SIGKILL of the command mid-epoch).

A checkpoint (epoch, parameters, optimizer state, history) replaces the previous one atomically
after every epoch; between blocks only every ``--checkpoint-every`` seconds (default 60), so in a
run this short a kill in the middle of an epoch leaves the checkpoint of the last finished one;
``--resume`` replays the interrupted epoch from it (the order of its blocks and rows is a function
of (seed, epoch, block)) and ends with the coefficients of an uninterrupted run, bit for bit.
Kills right after a mid-epoch checkpoint (block k): ``test_cli_block_resume.py``.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

import gdlab
from gdlab.cli import cli
from killing import kill_after_first_checkpoint

EPOCHS = 6


def _arguments(data, *extra):
    return [
        "fit", str(data), "--target", "y", "--stream", "--batch-size", "8",
        "--epochs", str(EPOCHS), "--tol", "0", "-q", *map(str, extra),
    ]  # fmt: skip


def _run(*arguments):
    result = CliRunner().invoke(cli, list(arguments), catch_exceptions=False)
    assert result.exit_code == 0, result.output


@pytest.mark.slow
def test_a_streamed_fit_killed_mid_epoch_resumes_to_the_same_coefficients(tmp_path):
    rng = np.random.default_rng(5)
    X = rng.normal(size=(16_000, 4))
    y = X @ [1.0, -2.0, 0.5, 3.0] + 1.0 + 0.1 * rng.normal(size=16_000)
    data = tmp_path / "d.parquet"
    table = pa.table({"a": X[:, 0], "b": X[:, 1], "c": X[:, 2], "d": X[:, 3], "y": y})
    pq.write_table(table, data, row_group_size=2048)
    straight = tmp_path / "straight.npz"
    _run(*_arguments(data, "--model-out", straight))

    ckpt = tmp_path / "ckpt.npz"
    kill_after_first_checkpoint(_arguments(data, "--checkpoint", ckpt), ckpt, settle=0.05)
    done = gdlab.load(ckpt).n_iter_
    assert 1 <= done < EPOCHS  # killed after a checkpoint, before the last epoch

    resumed = tmp_path / "resumed.npz"
    _run(*_arguments(data, "--checkpoint", ckpt, "--resume", "--model-out", resumed))
    a, b = gdlab.load(straight), gdlab.load(resumed)
    assert a.n_iter_ == b.n_iter_ == EPOCHS
    assert np.array_equal(a.coef_, b.coef_) and np.array_equal(a.intercept_, b.intercept_)
    assert a.loss_curve_ == b.loss_curve_
