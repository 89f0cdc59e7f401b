"""``fit(dask_X, dask_y)`` with ``early_stopping=True``: the validation rows are the streamed
sources' seeded hash of the row number, drawn where each partition lives.

Oracle: the fit of :func:`gdlab.data.arrays` with the same blocks (one per partition) and the
same settings, bit for bit (itself checked against the in-memory fit on exactly the training rows
in tests/test_data_stream_validation.py), on the local scheduler and on the 2-worker cluster; no
partition is fetched to the client.
"""

from __future__ import annotations

import numpy as np
import pytest

import gdlab
from gdlab import GDClassifier, GDRegressor
from gdlab.data.layout import validation_rows

distributed = pytest.importorskip("distributed")
da = pytest.importorskip("dask.array")

pytestmark = [
    pytest.mark.xdist_group("dask"),
    pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning"),
]

RNG = np.random.default_rng(21)
X = RNG.normal(size=(430, 3)) * [2.0, 1.0, 0.3] + [0.0, 1.0, -2.0]
Y = X @ [1.0, -1.0, 3.0] + 0.5 + 0.3 * RNG.normal(size=430)
LABELS = np.digitize(X[:, 0] - X[:, 1], [-2.0, 0.0])  # three classes: softmax
W = RNG.uniform(0.0, 3.0, size=430)
W[:100] = 0.0  # the first partition weighs nothing
ROWS = 100  # 5 partitions: 100, 100, 100, 100, 30 rows

CASES = {
    "regressor, defaults (Adam mini-batch)": (GDRegressor, {}, Y, None),
    "regressor, full batch": (
        GDRegressor, dict(batch_size=None, optimizer="sgd", learning_rate=0.05, max_iter=12), Y,
        None,
    ),
    "softmax, mini-batch, 30% held out, patience 2": (
        GDClassifier,
        dict(batch_size=8, validation_fraction=0.3, n_iter_no_change=2, max_iter=8), LABELS, None,
    ),
    "classifier, full batch": (GDClassifier, dict(batch_size=None, max_iter=8), LABELS, None),
    "regressor, sample weights, momentum": (
        GDRegressor, dict(batch_size=16, optimizer="momentum", max_iter=10), Y, W
    ),
}  # fmt: skip


def _same(a, b) -> None:
    assert np.array_equal(a.coef_, b.coef_) and np.array_equal(a.intercept_, b.intercept_)
    assert a.loss_curve_ == b.loss_curve_ and a.history_.val_loss == b.history_.val_loss
    assert a.n_iter_ == b.n_iter_ and a.t_ == b.t_


@pytest.mark.parametrize("case", list(CASES))
def test_dask_early_stopping_is_the_fit_of_the_same_blocks(dask_cluster, nothing_gathered, case):
    estimator, settings, y, weight = CASES[case]
    settings = dict(early_stopping=True, random_state=4, **settings)
    blocks = gdlab.data.arrays(X, y, batch_rows=ROWS, sample_weight=weight)
    oracle = estimator(**settings).fit(blocks)
    assert len(oracle.history_.val_loss) == oracle.n_iter_ > 0
    dX, dy = da.from_array(X, chunks=(ROWS, 3)), da.from_array(y, chunks=ROWS)
    dw = None if weight is None else da.from_array(weight, chunks=ROWS)
    if "defaults" in case:  # no client: the local scheduler (the other cases: the cluster only)
        _same(estimator(**settings).fit(dX, dy, sample_weight=dw), oracle)
    with distributed.Client(dask_cluster):
        on_two = estimator(**settings).fit(dX, dy, sample_weight=dw)
    _same(on_two, oracle)


def test_the_validation_rows_are_held_out_and_scored(dask_cluster):
    """Oracle: a full-batch in-memory fit on exactly the training rows (no scaling, so only the
    rows matter) to 1e-12, and the recorded validation loss is the mean squared error of the
    held-out rows."""
    settings = dict(batch_size=None, optimizer="sgd", learning_rate=0.02, max_iter=15)
    settings |= dict(standardize=False, tol=None, random_state=6)
    dX, dy = da.from_array(X, chunks=(ROWS, 3)), da.from_array(Y, chunks=ROWS)
    with distributed.Client(dask_cluster):
        model = GDRegressor(early_stopping=True, **settings).fit(dX, dy)
    held = validation_rows(model._seed, 0.1, 0, len(Y))
    assert 20 < held.sum() < 70  # about a tenth of 430 rows
    oracle = GDRegressor(**settings).fit(X[~held], Y[~held])
    np.testing.assert_allclose(model.coef_, oracle.coef_, rtol=1e-12)
    np.testing.assert_allclose(model.intercept_, oracle.intercept_, rtol=1e-12)
    mse = np.mean((Y[held] - model.predict(X[held])) ** 2)
    assert model.history_.val_loss[-1] == pytest.approx(mse, rel=1e-10)


def test_early_stopping_on_dask_stops_and_keeps_the_best_epoch(dask_cluster):
    dX, dy = da.from_array(X, chunks=(ROWS, 3)), da.from_array(Y, chunks=ROWS)
    with distributed.Client(dask_cluster):
        model = GDRegressor(early_stopping=True, random_state=0, max_iter=300).fit(dX, dy)
    assert model.n_iter_ < 300
    held = validation_rows(model._seed, 0.1, 0, len(Y))
    mse = np.mean((Y[held] - X[held] @ model.coef_ - model.intercept_) ** 2)
    assert min(model.history_.val_loss) == pytest.approx(mse, rel=1e-9)  # the best epoch's


@pytest.mark.parametrize("batch_size", [16, None])
def test_a_mid_epoch_checkpoint_resumes_with_the_split(tmp_path, batch_size):
    """Local scheduler: a checkpoint after a partition of epoch 2, resumed, ends bit for bit where
    the uninterrupted fit ends (the cursor's sums are of the training rows only)."""
    from gdlab.io import load_checkpoint, save_checkpoint

    settings = dict(early_stopping=True, batch_size=batch_size, max_iter=2, tol=None)
    settings |= dict(random_state=5, optimizer="adam")
    dX, dy = da.from_array(X, chunks=(ROWS, 3)), da.from_array(Y, chunks=ROWS)
    straight = GDRegressor(**settings).fit(dX, dy)
    snapshots = []
    GDRegressor(**settings).fit(dX, dy, block_callback=snapshots.append)
    path = save_checkpoint(snapshots[7], tmp_path / "mid.ckpt")  # epoch 2, after 3 partitions
    resumed = load_checkpoint(path).model
    assert resumed._train_state.cursor["block"] == 3
    resumed.set_params(warm_start=True, max_iter=1).fit(dX, dy)
    assert np.array_equal(resumed.coef_, straight.coef_)
    assert np.array_equal(resumed.intercept_, straight.intercept_)
    assert resumed.loss_curve_ == straight.loss_curve_ and resumed.t_ == straight.t_
    assert resumed.history_.val_loss == straight.history_.val_loss
