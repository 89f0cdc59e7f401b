"""The block cursor: a fit over a data source stops between two blocks of an epoch and goes on
from a checkpoint of that point (``fit(..., block_callback=)``, ``save_checkpoint``,
``warm_start``) to the coefficients, history and counters of an uninterrupted fit, bit for bit."""

from __future__ import annotations

import numpy as np
import pytest

import gdlab
from gdlab.engine import TrainConfig, init_state, train
from gdlab.exceptions import ModelFileError
from gdlab.io import load_checkpoint, save_checkpoint

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")

RNG = np.random.default_rng(4)
X = RNG.normal(size=(230, 3)) * [2.0, 1.0, 0.5]
Y = X @ [1.0, -2.0, 0.5] + 3.0 + 0.1 * RNG.normal(size=230)
LABELS = np.digitize(X[:, 0] - X[:, 1], [-1.0, 1.0])  # three classes
WEIGHTS = RNG.uniform(0.5, 2.0, size=230)
EPOCHS = 3
RECORDS = ("loss", "val_loss", "learning_rate", "grad_norm", "n_updates", "n_samples_seen")

CASES = {
    "regressor, defaults": (gdlab.GDRegressor, Y, {}),
    "regressor, adam mini-batch, cosine, weights": (
        gdlab.GDRegressor, Y, dict(optimizer="adam", batch_size=8, schedule="cosine")
    ),
    "regressor, groups of several blocks, rmsprop": (
        gdlab.GDRegressor, Y, dict(optimizer="rmsprop", batch_size=8)
    ),
    "regressor, full batch, groups of several blocks": (
        gdlab.GDRegressor, Y, dict(batch_size=None)
    ),
    "regressor, full batch, nesterov, l2": (
        gdlab.GDRegressor, Y, dict(batch_size=None, optimizer="nesterov", penalty="l2", alpha=0.01)
    ),
    "regressor, early stopping": (
        gdlab.GDRegressor, Y, dict(batch_size=16, early_stopping=True, validation_fraction=0.2)
    ),
    "classifier, defaults": (gdlab.GDClassifier, LABELS, {}),
    "classifier, momentum mini-batch, averaged": (
        gdlab.GDClassifier, LABELS, dict(optimizer="momentum", batch_size=16, average=True)
    ),
    "classifier, full batch": (gdlab.GDClassifier, LABELS, dict(batch_size=None)),
}  # fmt: skip


def _source(y, case):
    weight = WEIGHTS if "weights" in case else None
    groups = 120 if "groups" in case else None  # 120 + 110 rows: blocks of 40, 40, 40 | 40, 40, 30
    return gdlab.data.arrays(X, y, batch_rows=40, group_rows=groups, sample_weight=weight)


@pytest.mark.parametrize("case", list(CASES))
def test_a_checkpoint_after_any_block_resumes_bit_identically(case, tmp_path):
    estimator, y, settings = CASES[case]
    settings = dict(max_iter=EPOCHS, tol=None, random_state=0, **settings)
    source = _source(y, case)
    straight = estimator(**settings).fit(source)
    saved = []

    def checkpoint(snapshot):
        path = tmp_path / f"block{len(saved)}.ckpt"
        save_checkpoint(snapshot, path, metadata={"epochs": EPOCHS})
        saved.append(path)

    watched = estimator(**settings).fit(source, block_callback=checkpoint)
    assert np.array_equal(watched.coef_, straight.coef_)  # watching changes nothing
    assert len(saved) == EPOCHS * 6  # 230 rows in blocks of 40: six per epoch
    for path in saved:
        resumed, meta = load_checkpoint(path)
        state = resumed._train_state
        assert 1 <= state.cursor["block"] <= 6 and resumed.n_iter_ == state.epoch
        resumed.set_params(warm_start=True, max_iter=meta["epochs"] - state.epoch).fit(source)
        assert np.array_equal(resumed.coef_, straight.coef_), (path.name, state.cursor)
        assert np.array_equal(resumed.intercept_, straight.intercept_)
        for name in RECORDS:
            assert getattr(resumed.history_, name) == getattr(straight.history_, name), name
        assert resumed.t_ == straight.t_ and resumed._train_state.cursor is None


def test_the_cursor_is_plain_data_and_survives_a_file(tmp_path):
    source = gdlab.data.arrays(X, Y, batch_rows=100)
    cursors = []
    full = gdlab.GDRegressor(batch_size=None, max_iter=1, random_state=0)
    full.fit(source, block_callback=lambda s: cursors.append(s))
    state = cursors[1]._train_state
    assert state.epoch == 0 and state.cursor["block"] == 2
    assert set(state.cursor) == {
        "block", "blocks", "group_rows", "block_rows", "loss_sum", "grad_sum", "loss", "rows",
        "norm", "updates", "reference", "rate",
    }  # fmt: skip
    assert (
        state.cursor["group_rows"].tolist()
        == state.cursor["block_rows"].tolist()
        == [100.0, 100.0, 30.0]
    )
    assert state.cursor["reference"] is None  # no loss measured yet: the first update is ahead
    path = save_checkpoint(cursors[1], tmp_path / "mid.ckpt")
    again = load_checkpoint(path).model._train_state.cursor
    assert again.keys() == state.cursor.keys()
    arrays = ("grad_sum", "group_rows", "block_rows")
    for name in arrays:
        assert np.array_equal(again[name], state.cursor[name])
    assert {k: v for k, v in again.items() if k not in arrays} == {
        k: v for k, v in state.cursor.items() if k not in arrays
    }
    # the oracle: the sums of the blocks done are 200 times the mean gradient over their rows,
    # as the in-memory objective of the same fit computes it (same scaling)
    objective = gdlab.GDRegressor(batch_size=None).prepare_run(X, Y).objective
    _, grad = objective.loss_and_grad(state.params, np.arange(200))
    np.testing.assert_allclose(state.cursor["grad_sum"], 200 * grad, rtol=1e-10)


def test_a_damaged_cursor_in_a_file_is_refused(tmp_path):
    import json
    import zipfile

    source = gdlab.data.arrays(X, Y, batch_rows=100)
    snapshots = []
    gdlab.GDRegressor(max_iter=1).fit(source, block_callback=snapshots.append)
    path = save_checkpoint(snapshots[0], tmp_path / "mid.ckpt")
    with np.load(path) as archive:
        arrays = {name: archive[name] for name in archive.files}
    header = json.loads(bytes(arrays["gdlab_header"]).decode())
    header["state"]["train_state"]["cursor"]["block"] = "two"
    arrays["gdlab_header"] = np.frombuffer(json.dumps(header).encode(), dtype=np.uint8)
    damaged = tmp_path / "damaged.ckpt"
    with zipfile.ZipFile(damaged, "w") as archive:
        for name, array in arrays.items():
            with archive.open(f"{name}.npy", "w") as handle:
                np.lib.format.write_array(handle, array)
    with pytest.raises(ModelFileError, match="cursor"):
        load_checkpoint(damaged)


def test_only_an_objective_with_blocks_reports_them():
    """In-memory arrays have no blocks: the hook is never called, the numbers are the same."""
    model = gdlab.GDRegressor(max_iter=2, tol=None, random_state=0)
    run = model.prepare_run(X, Y)
    seen = []
    result = train(run.objective, run.optimizer, run.state, run.config, on_block=seen.append)
    assert seen == [] and result.state.cursor is None
    again = model.prepare_run(X, Y)
    assert np.array_equal(
        train(again.objective, again.optimizer, again.state, again.config).state.params,
        result.state.params,
    )


def test_the_engine_reports_each_block_with_the_state_so_far():
    """The state an ``on_block`` hook sees is the epoch's after that block's updates."""
    from gdlab import losses
    from gdlab._objectives import LinearObjective
    from gdlab.data.objective import BlockObjective

    source = gdlab.data.arrays(X, Y, batch_rows=100)
    squared, none = losses.get("squared_error"), losses.get_penalty(None)
    objective = BlockObjective(source, lambda X, y: (X, y), squared, none, True, 1)
    optimizer = gdlab.optim.sgd(learning_rate=0.01)
    seen = []

    def hook(state, history):
        seen.append((state.cursor["block"], state.cursor["updates"], state.params.copy()))

    config = TrainConfig(batch_size=20, max_epochs=1)
    result = train(objective, optimizer, init_state(np.zeros(4), optimizer), config, on_block=hook)
    assert [(b, u) for b, u, _ in seen] == [(1, 5), (2, 10), (3, 12)]  # blocks of 100, 100, 30
    assert np.array_equal(seen[-1][2], result.state.params)
    # the oracle: the same updates by hand over the rows of the first block
    first = LinearObjective(X[:100], Y[:100], squared, none, True)
    params = np.zeros(4)
    for start in range(0, 100, 20):
        _, grad = first.loss_and_grad(params, np.arange(start, start + 20))
        params = params - 0.01 * grad
    np.testing.assert_array_equal(seen[0][2], params)


def test_a_state_between_two_blocks_continues_only_on_its_source(tmp_path):
    source = gdlab.data.arrays(X, Y, batch_rows=100)
    snapshots = []
    gdlab.GDRegressor(batch_size=16, max_iter=1).fit(source, block_callback=snapshots.append)
    path = save_checkpoint(snapshots[1], tmp_path / "mid.ckpt")
    with pytest.raises(ValueError, match="middle of epoch 1, after 2 blocks of a data source"):
        load_checkpoint(path).model.partial_fit(X, Y)
    arrays = load_checkpoint(path).model.set_params(warm_start=True)
    with pytest.raises(ValueError, match="only that source, with the same blocks"):
        arrays.fit(X, Y)
    full = load_checkpoint(path).model.set_params(warm_start=True, batch_size=None)
    with pytest.raises(
        ValueError, match=r"mini-batch epoch after 2 blocks\) does not fit this full-batch fit on 3"
    ):
        full.fit(source)
    fewer = load_checkpoint(path).model.set_params(warm_start=True)
    with pytest.raises(ValueError, match="does not fit this mini-batch fit on 1 blocks"):
        fewer.fit(gdlab.data.arrays(X, Y, batch_rows=300))
    other = load_checkpoint(path).model.set_params(warm_start=True)
    with pytest.raises(ValueError, match="does not fit this mini-batch fit on 5 blocks"):
        other.fit(gdlab.data.arrays(X, Y, batch_rows=50))


@pytest.mark.parametrize("batch_size", [16, None])
def test_a_cursor_does_not_resume_on_blocks_of_other_sizes(batch_size, tmp_path):
    """Groups of 100, 100, 30 rows in blocks of 50, 50, 50, 50, 30; then five blocks (the same
    count) of other sizes: refused by name, never the partial sums of other rows added."""
    source = gdlab.data.arrays(X, Y, batch_rows=50, group_rows=100)
    snapshots = []
    settings = dict(batch_size=batch_size, max_iter=1, random_state=0)
    gdlab.GDRegressor(**settings).fit(source, block_callback=snapshots.append)
    path = save_checkpoint(snapshots[1], tmp_path / "mid.ckpt")
    assert load_checkpoint(path).model._train_state.cursor["blocks"] == 5
    others = {
        r"made on 230 rows in groups of \[100, 100, 30\] rows, and this source has 230 rows in "
        r"groups of \[90, 90, 50\]": gdlab.data.arrays(X, Y, batch_rows=50, group_rows=90),
        r"in blocks of \[50, 50, 50, 50, 30\] rows, and this source has 230 rows in blocks of "
        r"\[60, 40, 60, 40, 30\]": gdlab.data.arrays(X, Y, batch_rows=60, group_rows=100),
        r"made on 230 rows .* this source has 229 rows in groups of \[100, 100, 29\]": (
            gdlab.data.arrays(X[1:], Y[1:], batch_rows=50, group_rows=100)
        ),
    }
    for message, other in others.items():
        assert len(other.layout.blocks) == 5
        model = load_checkpoint(path).model.set_params(warm_start=True)
        with pytest.raises(ValueError, match=message):
            model.fit(other)
    same = load_checkpoint(path).model.set_params(warm_start=True).fit(source)  # its own source
    assert np.array_equal(same.coef_, gdlab.GDRegressor(**settings).fit(source).coef_)


def test_a_streamed_cursor_does_not_resume_on_other_row_groups(tmp_path):
    pq = pytest.importorskip("pyarrow.parquet")
    import pyarrow as pa

    table = pa.table({"a": X[:, 0], "b": X[:, 1], "c": X[:, 2], "y": Y})
    pq.write_table(table, tmp_path / "one.parquet", row_group_size=100)  # 100, 100, 30
    pq.write_table(table, tmp_path / "two.parquet", row_group_size=80)  # 80, 80, 70
    one = gdlab.data.parquet(tmp_path / "one.parquet", target="y", batch_rows=100)
    two = gdlab.data.parquet(tmp_path / "two.parquet", target="y", batch_rows=100)
    snapshots = []
    gdlab.GDRegressor(max_iter=1).fit(one, block_callback=snapshots.append)
    path = save_checkpoint(snapshots[1], tmp_path / "mid.ckpt")
    model = load_checkpoint(path).model.set_params(warm_start=True)
    with pytest.raises(ValueError, match=r"groups of \[100, 100, 30\] rows, .* \[80, 80, 70\]"):
        model.fit(two)


@pytest.mark.parametrize(
    ("cursor", "named"),
    [
        ([1, 2], "should be a dict"),
        ({"blocks": 3}, "no 'block' count"),
        ({"block": 1.5}, "cursor\\['block'\\]"),
        ({"block": 1, "loss": "high"}, "cursor\\['loss'\\] is not a number"),
        ({"block": 1, "grad_sum": np.array([1, 2])}, "float array"),
    ],
)
def test_load_state_dict_refuses_a_bad_cursor_by_name(cursor, named):
    snapshots = []
    source = gdlab.data.arrays(X, Y, batch_rows=100)
    gdlab.GDRegressor(max_iter=1).fit(source, block_callback=snapshots.append)
    state = snapshots[0].state_dict()
    assert isinstance(state["train_state"]["cursor"], dict)  # plain data, between two blocks
    state["train_state"]["cursor"] = cursor
    with pytest.raises(ValueError, match=named):
        gdlab.GDRegressor().load_state_dict(state)
