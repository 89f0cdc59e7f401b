"""The same numbers on 1, 2 and 4 Dask workers, in worker processes, streamed and in memory."""

from __future__ import annotations

import numpy as np
import pytest

import gdlab
from gdlab import GDClassifier, GDRegressor

distributed = pytest.importorskip("distributed")
da = pytest.importorskip("dask.array")
dask = pytest.importorskip("dask")

pytestmark = pytest.mark.xdist_group("dask")

ROWS = 250
FULL_BATCH = dict(
    batch_size=None, optimizer="adam", learning_rate=0.1, max_iter=8, tol=None,
    penalty="l2", alpha=1e-3,
)  # fmt: skip


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(7)
    X = rng.normal(size=(1100, 5)) * [1.0, 10.0, 0.1, 3.0, 1.0] + 2.0
    y = X @ [0.5, -0.1, 4.0, 1.0, -2.0] - 1.0 + 0.05 * rng.normal(size=1100)
    return X, y


def _fit(client_of, model, X, y):
    dX, dy = da.from_array(X, chunks=(ROWS, X.shape[1])), da.from_array(y, chunks=ROWS)
    with distributed.Client(client_of):
        dX, dy = dX.persist(), dy.persist()  # the partitions spread over the workers
        return model.fit(dX, dy)


def test_full_batch_bit_identical_on_1_2_and_4_workers(dask_cluster, data, tmp_path):
    pq = pytest.importorskip("pyarrow.parquet")
    pa = pytest.importorskip("pyarrow")
    X, y = data
    fits = {2: _fit(dask_cluster, GDRegressor(**FULL_BATCH), X, y)}
    for workers in (1, 4):
        with distributed.LocalCluster(
            n_workers=workers, threads_per_worker=1, processes=False, dashboard_address=":0"
        ) as cluster:
            fits[workers] = _fit(cluster, GDRegressor(**FULL_BATCH), X, y)
    for workers in (1, 4):
        assert np.array_equal(fits[workers].coef_, fits[2].coef_)
        assert np.array_equal(fits[workers].intercept_, fits[2].intercept_)
        assert fits[workers].loss_curve_ == fits[2].loss_curve_
    columns = {f"x{j}": X[:, j] for j in range(X.shape[1])} | {"y": y}
    pq.write_table(pa.table(columns), tmp_path / "d.parquet", row_group_size=ROWS)
    streamed = GDRegressor(**FULL_BATCH).fit(
        gdlab.data.parquet(tmp_path / "d.parquet", target="y", batch_rows=ROWS)
    )
    assert np.array_equal(streamed.coef_, fits[2].coef_)  # the same blocks: the same sums
    # In memory the rows are summed in another order: equal to 1e-12. (Not with Adam: its first
    # step divides the intercept's gradient, zero up to rounding at the mean target, by its own
    # size, so any other summation order moves the intercept by about the learning rate.)
    settings = dict(FULL_BATCH, optimizer="momentum", learning_rate=0.05)
    on_dask = _fit(dask_cluster, GDRegressor(**settings), X, y)
    in_memory = GDRegressor(backend="numpy", **settings).fit(X, y)
    np.testing.assert_allclose(on_dask.coef_, in_memory.coef_, rtol=1e-12)
    np.testing.assert_allclose(on_dask.intercept_, in_memory.intercept_, rtol=1e-12)
    np.testing.assert_allclose(on_dask.loss_curve_, in_memory.loss_curve_, rtol=1e-12)


def _built_on_workers(rows, partitions):
    """``X`` and ``y`` generated on the workers and persisted: each partition a column slice (a
    strided view) of one generated block, as in ``bench/dask_bench.py``."""
    shape = (rows * partitions, 5)
    X = da.random.default_rng(11).normal(size=shape, chunks=(rows, 5)) * [1.0, 3.0, 0.5, 2, 1] + 1
    noise = da.random.default_rng(12).normal(size=shape[0], chunks=rows)
    stacked = da.hstack([X, (X @ np.array([1.0, -2.0, 0.5, 3.0, 0.1]) + 1.0 + noise)[:, None]])
    dX, dy = stacked[:, :-1].persist(), stacked[:, -1].persist()
    distributed.wait([dX, dy])
    return dX, dy


@pytest.mark.slow
def test_worker_processes_give_the_same_numbers(data):
    """Everything a task needs (the scaling, the loss, the optimizer and its state) is pickled
    to other processes; the numbers do not change."""
    X, y = data
    labels = np.where(X[:, 0] + X[:, 3] > 6.0, 1, 0)
    minibatch = dict(optimizer="rmsprop", batch_size=20, max_iter=2, tol=None, random_state=4)
    full_batch = dict(FULL_BATCH, max_iter=5)
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0"
    ) as cluster:
        full = _fit(cluster, GDRegressor(**full_batch), X, y)
        mini = _fit(cluster, GDClassifier(**minibatch), X, labels)
        held_out = dict(minibatch, early_stopping=True, class_weight="balanced")
        weighed = _fit(cluster, GDClassifier(**held_out), X, labels)  # split, weights: pickled
        with distributed.Client(cluster):  # data built on the workers, as in bench/dask_bench.py
            dX, dy = _built_on_workers(rows=20_000, partitions=2)
            gathered = dask.compute(dX, dy)
            fits = [GDRegressor(**full_batch).fit(dX, dy) for _ in range(2)]
    oracle = GDRegressor(**full_batch).fit(gdlab.data.arrays(*gathered, batch_rows=20_000))
    for fit in fits:  # the partitions arrive at the client at other byte offsets each time
        assert np.array_equal(fit.coef_, oracle.coef_)
        assert np.array_equal(fit.intercept_, oracle.intercept_)
    blocks = gdlab.data.arrays(X, y, batch_rows=ROWS)
    assert np.array_equal(full.coef_, GDRegressor(**full_batch).fit(blocks).coef_)
    oracle = GDClassifier(**minibatch).fit(gdlab.data.arrays(X, labels, batch_rows=ROWS))
    assert mini.history_.backend == "dask"
    assert np.array_equal(mini.coef_, oracle.coef_)
    assert mini.loss_curve_ == oracle.loss_curve_
    from gdlab.estimators._options import class_sample_weight

    combined = class_sample_weight("balanced", np.array([0, 1]), labels, None, np.float64)
    blocks = gdlab.data.arrays(X, labels, batch_rows=ROWS, sample_weight=combined)
    oracle = GDClassifier(**dict(minibatch, early_stopping=True)).fit(blocks)
    assert np.array_equal(weighed.coef_, oracle.coef_)
    assert weighed.history_.val_loss == oracle.history_.val_loss


def test_strided_partitions_give_the_numbers_of_contiguous_ones(dask_cluster, data):
    # Column slices of one persisted block are strided views where they were computed (and
    # contiguous copies where they were sent): the numbers must not depend on it.
    X, y = data
    stacked = da.from_array(np.column_stack([X, y]), chunks=(ROWS, -1))
    minibatch = dict(
        batch_size=32,
        optimizer="momentum",
        learning_rate=0.01,
        max_iter=3,
        tol=None,
        random_state=0,
    )
    for settings in (FULL_BATCH, minibatch):
        contiguous = _fit(dask_cluster, GDRegressor(**settings), X, y)
        with distributed.Client(dask_cluster):
            whole = stacked.persist()
            dX, dy = whole[:, :-1].persist(), whole[:, -1].persist()
            strided = GDRegressor(**settings).fit(dX, dy)
        assert np.array_equal(strided.coef_, contiguous.coef_)
        assert np.array_equal(strided.intercept_, contiguous.intercept_)
        assert strided.loss_curve_ == contiguous.loss_curve_


def _unaligned(values, offset):
    """``values`` copied into a buffer that starts ``offset`` bytes past an aligned address."""
    raw = np.empty(values.nbytes + 32, dtype=np.uint8)
    start = offset - raw.ctypes.data % 16 + 16
    out = raw[start : start + values.nbytes].view(values.dtype).reshape(values.shape)
    out[...] = values
    return out


def test_unaligned_partitions_give_the_numbers_of_aligned_ones(dask_cluster):
    # Arrays that come over Dask's network from a worker process may start at any byte (seen:
    # 2, 5, 50 bytes past a 64-byte boundary). NumPy sums an unaligned array in buffered chunks
    # of 8192 and its matmul skips BLAS, so the same values summed to other last digits and a
    # fit on worker processes varied from run to run; the in-process cluster here hands the
    # tasks these unaligned arrays as they are, so the test is deterministic.
    rng = np.random.default_rng(5)
    rows = 20_000  # more than twice NumPy's buffer: the chunked sums differ
    X = rng.normal(size=(2 * rows, 4)) * [1.0, 3.0, 0.5, 2.0] + 1.0
    y = X @ [1.0, -2.0, 0.5, 3.0] + 1.0 + rng.normal(size=2 * rows)
    parts = [slice(0, rows), slice(rows, 2 * rows)]
    dX = da.concatenate(
        [da.from_delayed(dask.delayed(_unaligned)(X[s], 3), (rows, 4), float) for s in parts]
    )
    dy = da.concatenate(
        [da.from_delayed(dask.delayed(_unaligned)(y[s], 5), (rows,), float) for s in parts]
    )
    minibatch = dict(batch_size=64, optimizer="adam", max_iter=2, tol=None, random_state=0)
    for settings in (FULL_BATCH, dict(FULL_BATCH, standardize=False), minibatch):
        aligned = GDRegressor(**settings).fit(gdlab.data.arrays(X, y, batch_rows=rows))
        with distributed.Client(dask_cluster):
            model = GDRegressor(**settings).fit(dX, dy)
            predicted = model.predict(dX).compute()
        assert np.array_equal(model.coef_, aligned.coef_), settings
        assert np.array_equal(model.intercept_, aligned.intercept_)
        assert model.loss_curve_ == aligned.loss_curve_
        assert np.array_equal(predicted, aligned.predict(X))
