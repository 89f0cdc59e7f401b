"""Epoch snapshots copy only the records new since the previous one (O(1) per epoch), and each
snapshot's history is the one a full copy at that epoch would have given."""

from __future__ import annotations

import copy
import pickle
import warnings
from typing import Any

import numpy as np
import pytest

import gdlab
from gdlab.estimators._snapshot import SnapshotLog, copy_history
from gdlab.history import EpochRecord, History
from gdlab.nn.diagnostics import NetworkHistory


def _record(epoch: int) -> EpochRecord:
    return EpochRecord(
        epoch=epoch,
        loss=1.0 / epoch,
        val_loss=None,
        learning_rate=0.1,
        grad_norm=2.0 / epoch,
        n_updates=epoch * 3,
        n_samples_seen=epoch * 30,
        params=np.zeros(2),
    )


def test_snapshot_log_copies_each_record_once_and_prefixes_are_independent() -> None:
    history = History()
    log = SnapshotLog(history, loss_factor=4.0)
    snapshots, expected = [], []
    epochs = 300
    for epoch in range(1, epochs + 1):
        history.stop_reason = f"epoch {epoch}"
        history.append(_record(epoch))
        history.params.append(np.full(2, float(epoch)))
        snapshots.append(log.prefix())
        reference = copy_history(history)  # what copying everything every epoch gives
        reference.loss[:] = [v * 4.0 for v in reference.loss]
        expected.append(reference)
    # 7 per-epoch lists plus the parameter path: 8 entries per epoch, each copied once
    assert log.records_copied == 8 * epochs
    history.stop_reason = "changed after the snapshots"
    history.loss.append(123.0)
    for snapshot, reference in zip(snapshots, expected, strict=True):
        assert isinstance(snapshot, History)
        assert snapshot == reference  # first read: the snapshot takes its own lists
        assert type(snapshot) is History
    revived = pickle.loads(pickle.dumps(snapshots[20]))  # pickled as an ordinary history
    deep = copy.deepcopy(snapshots[21])
    for got, want in ((revived, expected[20]), (deep, expected[21])):
        assert type(got) is History and got.loss == want.loss and got.epoch == want.epoch
        np.testing.assert_array_equal(np.stack(got.params), np.stack(want.params))
    assert snapshots[9].loss == [4.0 / e for e in range(1, 11)]
    assert snapshots[9].stop_reason == "epoch 10" and snapshots[9].backend == "numpy"
    snapshots[9].loss.append(0.0)  # its own lists now
    assert len(snapshots[10].loss) == 11 and len(log.log.loss) == epochs


def test_snapshot_log_network_history_layers() -> None:
    history = NetworkHistory()
    log = SnapshotLog(history)
    history.append(_record(1))
    history.add_layers({"grad_norm": [1.0, 2.0]})
    first = log.prefix()
    history.append(_record(2))
    history.add_layers({"grad_norm": [3.0, 4.0]})
    second = log.prefix()
    assert first.layers == {"grad_norm": [[1.0, 2.0]]}
    assert type(first) is NetworkHistory
    assert second.layers == {"grad_norm": [[1.0, 2.0], [3.0, 4.0]]}
    assert second.loss == [1.0, 0.5]
    assert log.records_copied == 2 * 8 - 2 + 2  # no parameter path; two layer rows


def test_copy_history_is_independent() -> None:
    history = NetworkHistory(loss=[1.0])
    history.add_layers({"w_norm": [1.0]})
    copied = copy_history(history)
    copied.loss.append(2.0)
    copied.add_layers({"w_norm": [2.0]})
    assert history.loss == [1.0] and history.layers == {"w_norm": [[1.0]]}
    assert type(copied) is NetworkHistory


def _data() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    X = rng.normal(size=(40, 3)) * [1.0, 5.0, 0.5] + 2.0
    return X, X @ [1.0, -2.0, 3.0] + 30.0 + rng.normal(size=40)


@pytest.mark.parametrize("warm", [False, True])
def test_fit_snapshots_equal_full_copies_and_cost_linear(warm: bool) -> None:
    X, y = _data()
    settings: dict[str, Any] = dict(
        optimizer="adam", learning_rate=0.05, batch_size=8, tol=None, record_params=True,
        random_state=0,
    )  # fmt: skip
    epochs = 40
    kept: list[Any] = []
    model = gdlab.GDRegressor(max_iter=epochs, **settings)
    if warm:  # a continued fit: the snapshots also hold the first fit's records
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model.fit(X, y)
        model.set_params(warm_start=True)
    model.fit(X, y, callback=kept.append)
    assert len(kept) == epochs
    owner = vars(kept[-1].history_)["_prefix_of"][0]  # not read yet: still a prefix of the log
    first = epochs if warm else 0
    # per epoch: 7 lists and one path entry; a warm start's earlier records are copied once too
    assert owner.records_copied == 8 * (first + epochs) + 1  # and the starting point
    final = copy.deepcopy(model.history_)
    for index, snapshot in enumerate(kept):
        n = first + index + 1
        history = snapshot.history_
        assert history.loss == final.loss[:n]
        assert history.epoch == final.epoch[:n]
        assert len(history.params) == n + 1
        np.testing.assert_array_equal(
            np.stack(history.params), np.stack(final.params[: len(history.params)])
        )
        assert snapshot.loss_curve_ == final.loss[:n]
        assert snapshot.n_iter_ == index + 1


def test_mlp_snapshots_copy_each_record_once() -> None:
    X, y = _data()
    kept: list[Any] = []
    epochs = 12
    model = gdlab.MLPRegressor(hidden_layer_sizes=(4,), max_iter=epochs, tol=None, random_state=0)
    model.fit(X, y, callback=kept.append)
    owner = vars(kept[-1].history_)["_prefix_of"][0]
    n_metrics = len(model.history_.layers)
    assert owner.records_copied == epochs * (7 + n_metrics)  # 7 lists and one row per metric
    for index, snapshot in enumerate(kept):
        n = index + 1
        assert snapshot.history_.loss == model.history_.loss[:n]
        assert snapshot.history_.layers == {k: v[:n] for k, v in model.history_.layers.items()}
        assert snapshot.loss_curve_ == model.loss_curve_[:n]
