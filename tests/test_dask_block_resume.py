"""Mid-epoch resume of Dask mini-batch fits: a checkpoint after any partition of an epoch
(``fit(..., block_callback=)``), resumed with ``warm_start``, ends where an uninterrupted fit
ends, bit for bit. Full-batch fits: tests/test_dask_full_batch_resume.py."""

from __future__ import annotations

import numpy as np
import pytest

from gdlab import GDClassifier, GDRegressor
from gdlab.io import load_checkpoint, save_checkpoint

distributed = pytest.importorskip("distributed")
da = pytest.importorskip("dask.array")

pytestmark = [
    pytest.mark.xdist_group("dask"),
    pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning"),
]

RNG = np.random.default_rng(8)
X = RNG.normal(size=(430, 3)) * [2.0, 1.0, 0.3]
Y = X @ [1.0, -1.0, 3.0] + 0.5 + 0.1 * RNG.normal(size=430)
LABELS = np.digitize(X[:, 0] - X[:, 1], [-1.0, 1.0])  # three classes: softmax
EPOCHS = 2

CASES = {
    "adam, cosine schedule": (
        GDRegressor, dict(optimizer="adam", batch_size=16, schedule="cosine", random_state=1), Y
    ),
    "softmax, momentum": (
        GDClassifier,
        dict(optimizer="momentum", batch_size=8, learning_rate=0.05, random_state=2),
        LABELS,
    ),
}  # fmt: skip


@pytest.mark.parametrize("case", list(CASES))
def test_a_checkpoint_after_any_partition_resumes_bit_identically(dask_cluster, tmp_path, case):
    estimator, settings, y = CASES[case]
    settings = dict(max_iter=EPOCHS, tol=None, **settings)
    dX, dy = da.from_array(X, chunks=(100, 3)), da.from_array(y, chunks=100)
    saved = []

    def checkpoint(snapshot) -> None:
        path = tmp_path / f"part{len(saved)}.ckpt"
        save_checkpoint(snapshot, path, metadata={"epochs": EPOCHS})
        saved.append(path)

    with distributed.Client(dask_cluster):
        straight = estimator(**settings).fit(dX, dy)
        watched = estimator(**settings).fit(dX, dy, block_callback=checkpoint)
        assert np.array_equal(watched.coef_, straight.coef_)
        assert len(saved) == EPOCHS * 5  # five partitions per epoch
        for path in (saved[0], saved[7], saved[4]):  # first; a middle one; the last of epoch 1
            resumed, meta = load_checkpoint(path)
            state = resumed._train_state
            resumed.set_params(warm_start=True, max_iter=meta["epochs"] - state.epoch)
            resumed.fit(dX, dy)
            assert np.array_equal(resumed.coef_, straight.coef_), state.cursor
            assert np.array_equal(resumed.intercept_, straight.intercept_)
            assert resumed.loss_curve_ == straight.loss_curve_
            assert resumed.history_.learning_rate == straight.history_.learning_rate
            assert resumed.t_ == straight.t_ and resumed.history_.backend == "dask"


def test_without_a_client_the_local_scheduler_resumes_too(tmp_path):
    settings = dict(optimizer="adam", batch_size=16, max_iter=EPOCHS, tol=None, random_state=3)
    dX, dy = da.from_array(X, chunks=(100, 3)), da.from_array(Y, chunks=100)
    straight = GDRegressor(**settings).fit(dX, dy)
    snapshots = []
    GDRegressor(**settings).fit(dX, dy, block_callback=snapshots.append)
    path = save_checkpoint(snapshots[6], tmp_path / "mid.ckpt")  # epoch 2, after 2 partitions
    resumed = load_checkpoint(path).model
    assert resumed._train_state.cursor["block"] == 2
    resumed.set_params(warm_start=True, max_iter=1).fit(dX, dy)
    assert np.array_equal(resumed.coef_, straight.coef_)
    assert resumed.loss_curve_ == straight.loss_curve_


def test_gdlab_fit_on_a_cluster_resumes_from_a_mid_epoch_checkpoint(
    dask_cluster, tmp_path, monkeypatch
):
    """The command's checkpoint after partition 3 of epoch 2, kept aside as a kill would leave
    it, and ``--resume`` from it: the uninterrupted run's model."""
    import shutil

    import pyarrow as pa
    import pyarrow.parquet as pq
    from click.testing import CliRunner

    import gdlab
    import gdlab.cli._checkpoint as checkpoints
    from gdlab.cli import cli

    folder = tmp_path / "parts"
    folder.mkdir()
    for k in range(4):
        rows = slice(100 * k, 100 * (k + 1))
        table = pa.table({"a": X[rows, 0], "b": X[rows, 1], "c": X[rows, 2], "y": Y[rows]})
        pq.write_table(table, folder / f"part{k}.parquet")
    address = dask_cluster.scheduler_address
    common = ["fit", str(folder), "--target", "y", "--scheduler", address, "--epochs", "3"]
    common += ["--tol", "0", "--batch-size", "16", "-q", "--checkpoint-every", "0"]
    kept = tmp_path / "kept.ckpt"
    save = checkpoints.save_checkpoint

    def save_and_keep(model, path, **options):
        written = save(model, path, **options)
        state = model._train_state
        if state.cursor is not None and (state.epoch, state.cursor["block"]) == (1, 3):
            shutil.copy(written, kept)
        return written

    monkeypatch.setattr(checkpoints, "save_checkpoint", save_and_keep)
    first = CliRunner().invoke(cli, [*common, "--checkpoint", str(tmp_path / "run.ckpt")])
    assert first.exit_code == 0, first.output
    straight = tmp_path / "straight.npz"
    assert CliRunner().invoke(cli, [*common, "--model-out", str(straight)]).exit_code == 0
    resumed = tmp_path / "resumed.npz"
    again = CliRunner().invoke(
        cli, [*common, "--checkpoint", str(kept), "--resume", "--model-out", str(resumed)]
    )
    assert again.exit_code == 0, again.output
    assert "in epoch 2, after 3 of its partitions" in again.output
    a, b = gdlab.load(straight), gdlab.load(resumed)
    assert np.array_equal(a.coef_, b.coef_) and np.array_equal(a.intercept_, b.intercept_)
    assert a.loss_curve_ == b.loss_curve_ and a.t_ == b.t_


@pytest.mark.parametrize("batch_size", [16, None])
def test_a_cursor_does_not_resume_on_partitions_of_other_sizes(tmp_path, batch_size):
    """Five partitions of 100, 100, 100, 100, 30 rows, then five of other sizes: refused by name
    (mini-batch and full batch), on the local scheduler."""
    settings = dict(batch_size=batch_size, max_iter=1, random_state=3)
    dX, dy = da.from_array(X, chunks=(100, 3)), da.from_array(Y, chunks=100)
    snapshots = []
    GDRegressor(**settings).fit(dX, dy, block_callback=snapshots.append)
    path = save_checkpoint(snapshots[1], tmp_path / "mid.ckpt")
    chunks = (100, 100, 100, 50, 80)
    other_X, other_y = da.from_array(X, chunks=(chunks, 3)), da.from_array(Y, chunks=(chunks,))
    model = load_checkpoint(path).model.set_params(warm_start=True)
    with pytest.raises(ValueError, match=r"groups of \[100, 100, 100, 100, 30\] rows, and .*"):
        model.fit(other_X, other_y)
