"""Mid-epoch resume of Dask full-batch fits: the partitions' loss and gradient sums are computed
in parallel on the workers and gathered in partition order, with a block cursor after each
partition (``fit(..., block_callback=)``); a checkpoint after any partition, resumed with
``warm_start``, computes only the partitions after it and ends where an uninterrupted fit ends,
bit for bit. The partial sums of each cursor are those of :func:`gdlab.data.arrays` with the
same blocks (the streamed full-batch epoch, its own oracle in tests/test_block_cursor.py)."""

from __future__ import annotations

import numpy as np
import pytest

import gdlab
from gdlab import GDClassifier, GDRegressor
from gdlab.data.dask_source import DaskSource
from gdlab.io import load_checkpoint, save_checkpoint

distributed = pytest.importorskip("distributed")
da = pytest.importorskip("dask.array")

pytestmark = [
    pytest.mark.xdist_group("dask"),
    pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning"),
]

RNG = np.random.default_rng(9)
X = RNG.normal(size=(430, 3)) * [2.0, 1.0, 0.3]
Y = X @ [1.0, -1.0, 3.0] + 0.5 + 0.1 * RNG.normal(size=430)
LABELS = np.digitize(X[:, 0] - X[:, 1], [-1.0, 1.0])  # three classes: softmax
EPOCHS, ROWS = 2, 100  # 5 partitions: 100, 100, 100, 100, 30 rows

CASES = {
    "regressor, defaults, full batch": (GDRegressor, dict(batch_size=None), Y),
    "adam, cosine schedule": (
        GDRegressor, dict(batch_size=None, optimizer="adam", schedule="cosine"), Y
    ),
    "softmax classifier": (GDClassifier, dict(batch_size=None, learning_rate=0.5), LABELS),
}  # fmt: skip


def _dask(y, rows=ROWS):
    return da.from_array(X, chunks=(rows, 3)), da.from_array(y, chunks=rows)


def _cursors(estimator, settings, data, saved=None):
    """The fitted model and a copy of the cursor of every snapshot (each also saved to a
    checkpoint file when ``saved`` is a folder)."""
    cursors, paths = [], []

    def note(snapshot) -> None:
        cursors.append(dict(snapshot._train_state.cursor))
        if saved is not None:
            paths.append(save_checkpoint(snapshot, saved / f"part{len(paths)}.ckpt"))

    model = estimator(**settings).fit(*data, block_callback=note)
    return model, cursors, paths


def _computed_from(monkeypatch):
    """The first partition of every per-partition computation of the Dask source, in order."""
    firsts = []
    for name in ("map_groups", "each_group"):
        method = getattr(DaskSource, name)

        def noting(self, function, transform, first=0, rows=None, method=method):
            firsts.append(first)
            return method(self, function, transform, first, rows)

        monkeypatch.setattr(DaskSource, name, noting)
    return firsts


@pytest.mark.parametrize("case", list(CASES))
def test_a_checkpoint_after_any_partition_resumes_bit_identically(
    dask_cluster, tmp_path, monkeypatch, case
):
    estimator, settings, y = CASES[case]
    settings = dict(max_iter=EPOCHS, tol=None, **settings)
    data = _dask(y)
    with distributed.Client(dask_cluster):
        straight = estimator(**settings).fit(*data)
        watched, cursors, saved = _cursors(estimator, settings, data, tmp_path)
        assert np.array_equal(watched.coef_, straight.coef_)  # reporting changes no number
        assert watched.loss_curve_ == straight.loss_curve_
        assert [c["block"] for c in cursors] == [1, 2, 3, 4, 5] * EPOCHS
        assert {c["blocks"] for c in cursors} == {5}
        # the partial sums are those of the streamed full-batch epoch with the same blocks
        _, oracle, _ = _cursors(estimator, settings, (gdlab.data.arrays(X, y, batch_rows=ROWS),))
        for got, want in zip(cursors, oracle, strict=True):
            assert got["loss_sum"] == want["loss_sum"]
            assert np.array_equal(got["grad_sum"], want["grad_sum"])
        firsts = _computed_from(monkeypatch)
        for index in (0, 7, 4):  # the first; a middle one of epoch 2; the last of epoch 1
            resumed, _ = load_checkpoint(saved[index])
            state = resumed._train_state
            block = state.cursor["block"] if state.cursor is not None else None
            firsts.clear()
            resumed.set_params(warm_start=True, max_iter=EPOCHS - state.epoch)
            resumed.fit(*data)
            assert firsts[0] == block  # only the partitions after the cursor's are computed
            assert np.array_equal(resumed.coef_, straight.coef_), state.cursor
            assert np.array_equal(resumed.intercept_, straight.intercept_)
            assert resumed.loss_curve_ == straight.loss_curve_
            assert resumed.history_.learning_rate == straight.history_.learning_rate
            assert resumed.t_ == straight.t_ and resumed.history_.backend == "numpy"
            assert resumed._train_state.cursor is None


def test_without_a_client_the_local_scheduler_reports_and_resumes_too(tmp_path):
    settings = dict(batch_size=None, optimizer="adam", max_iter=EPOCHS, tol=None)
    data = _dask(Y)
    straight = GDRegressor(**settings).fit(*data)
    watched, cursors, saved = _cursors(GDRegressor, settings, data, tmp_path)
    assert np.array_equal(watched.coef_, straight.coef_)
    assert [c["block"] for c in cursors] == [1, 2, 3, 4, 5] * EPOCHS
    resumed = load_checkpoint(saved[6]).model  # epoch 2, after 2 partitions
    assert resumed._train_state.cursor["block"] == 2
    resumed.set_params(warm_start=True, max_iter=1).fit(*data)
    assert np.array_equal(resumed.coef_, straight.coef_)
    assert resumed.loss_curve_ == straight.loss_curve_


def test_a_cursor_from_other_partitions_is_refused(dask_cluster, tmp_path):
    settings = dict(batch_size=None, max_iter=EPOCHS, tol=None)
    with distributed.Client(dask_cluster):
        _, _, saved = _cursors(GDRegressor, settings, _dask(Y), tmp_path)
        resumed = load_checkpoint(saved[2]).model  # epoch 1, after 3 of 5 partitions
        resumed.set_params(warm_start=True)
        with pytest.raises(ValueError, match=r"does not fit this full-batch fit on 4 blocks"):
            resumed.fit(*_dask(Y, rows=110))  # 110, 110, 110, 100 rows


@pytest.fixture(scope="module")
def parts(tmp_path_factory):
    """The data as five Parquet files (five partitions: 100, 100, 100, 100, 30 rows)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    folder = tmp_path_factory.mktemp("full-batch-parts")
    for k in range(5):
        rows = slice(ROWS * k, ROWS * (k + 1))
        table = pa.table({"a": X[rows, 0], "b": X[rows, 1], "c": X[rows, 2], "y": Y[rows]})
        pq.write_table(table, folder / f"part{k}.parquet")
    return folder


@pytest.mark.slow
def test_gdlab_fit_killed_after_a_partition_resumes_to_the_uninterrupted_model(
    dask_cluster, parts, tmp_path
):
    """``gdlab fit --scheduler local --batch-size full --checkpoint-every 0`` in a subprocess
    that SIGKILLs itself once the checkpoint after partition 2 of epoch 2 is on disk;
    ``--resume`` (on the shared cluster: the numbers do not depend on the workers) gives the
    model of an uninterrupted run bit for bit. (A classifier's and the last partition's cursors
    are checked in the library above: a process costs seconds.)"""
    from click.testing import CliRunner

    from gdlab.cli import cli
    from test_cli_block_resume import _kill_after

    epoch, block = 1, 2
    common = ["fit", str(parts), "--target", "y", "--batch-size", "full", "--optimizer", "adam"]
    common += ["--epochs", "3", "--tol", "0", "-q"]
    here = ["--scheduler", dask_cluster.scheduler_address]
    ckpt = tmp_path / "run.ckpt"
    every = ["--checkpoint", str(ckpt), "--checkpoint-every", "0"]
    _kill_after(epoch, block, [*common, "--scheduler", "local", *every])
    state = gdlab.load(ckpt)._train_state
    assert (state.epoch, state.cursor["block"], state.cursor["blocks"]) == (epoch, block, 5)
    straight, resumed = tmp_path / "straight.npz", tmp_path / "resumed.npz"
    first = CliRunner().invoke(cli, [*common, *here, "--model-out", str(straight)])
    assert first.exit_code == 0, first.output
    again = CliRunner().invoke(
        cli, [*common, *here, *every, "--resume", "--model-out", str(resumed)]
    )
    assert again.exit_code == 0, again.output
    assert f"in epoch {epoch + 1}, after {block} of its partitions" in again.output
    a, b = gdlab.load(straight), gdlab.load(resumed)
    assert np.array_equal(a.coef_, b.coef_) and np.array_equal(a.intercept_, b.intercept_)
    assert a.loss_curve_ == b.loss_curve_ and a.t_ == b.t_ and a.n_iter_ == b.n_iter_ == 3
    assert b._train_state.cursor is None
