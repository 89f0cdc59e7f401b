"""``fit(dask_X, dask_y, sample_weight=dask_w)``: the weights travel with the partitions.

Oracles: a Dask fit equals, bit for bit, the fit of :func:`gdlab.data.arrays` with the same
blocks and weights (itself checked against the in-memory ``sample_weight`` rule in
tests/test_data_stream_blocks.py), whatever the scheduler (the local one, 1 or 2 workers); a
full-batch fit equals the in-memory ``fit(X, y, sample_weight=w)`` to 1e-12 relative (the rows
are summed in another order there).
"""

from __future__ import annotations

import numpy as np
import pytest

import gdlab
from gdlab import GDClassifier, GDRegressor
from gdlab.io import load_checkpoint, save_checkpoint

distributed = pytest.importorskip("distributed")
da = pytest.importorskip("dask.array")
dd = pytest.importorskip("dask.dataframe")

pytestmark = [
    pytest.mark.xdist_group("dask"),
    pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning"),
]

RNG = np.random.default_rng(12)
X = RNG.normal(size=(430, 3)) * [2.0, 1.0, 0.3] + [0.0, 1.0, -2.0]
Y = X @ [1.0, -1.0, 3.0] + 0.5 + 0.3 * RNG.normal(size=430)
LABELS = np.digitize(X[:, 0] - X[:, 1], [-2.0, 0.0])  # three classes: softmax
W = RNG.uniform(0.0, 3.0, size=430)
W[:120] = 0.0  # the first partition weighs nothing, the second almost nothing
ROWS = 100  # 5 partitions: 100, 100, 100, 100, 30 rows

CASES = {
    "regressor, full batch": (
        GDRegressor, dict(batch_size=None, optimizer="sgd", learning_rate=0.05, max_iter=12), Y
    ),
    "softmax, full batch": (
        GDClassifier, dict(batch_size=None, optimizer="sgd", learning_rate=0.5, max_iter=10),
        LABELS,
    ),
    "regressor, full batch, adam": (
        GDRegressor, dict(batch_size=None, optimizer="adam", learning_rate=0.1, max_iter=10), Y
    ),
    "regressor, defaults (mini-batch)": (GDRegressor, dict(random_state=0), Y),
    "binary, mini-batch, momentum": (
        GDClassifier, dict(batch_size=8, optimizer="momentum", random_state=1, max_iter=4),
        LABELS == 1,
    ),
}  # fmt: skip


def _dask(y, weight=W):
    return (
        da.from_array(X, chunks=(ROWS, 3)),
        da.from_array(y, chunks=ROWS),
        da.from_array(weight, chunks=ROWS),
    )


def _same(a, b) -> None:
    assert np.array_equal(a.coef_, b.coef_) and np.array_equal(a.intercept_, b.intercept_)
    assert a.loss_curve_ == b.loss_curve_ and a.t_ == b.t_


@pytest.mark.parametrize("case", list(CASES))
def test_a_weighted_dask_fit_is_the_fit_of_the_same_blocks(dask_cluster, case):
    estimator, settings, y = CASES[case]
    dX, dy, dw = _dask(y)
    blocks = estimator(**settings).fit(gdlab.data.arrays(X, y, batch_rows=ROWS, sample_weight=W))
    with distributed.Client(dask_cluster):
        on_two = estimator(**settings).fit(dX, dy, sample_weight=dw)
    _same(on_two, blocks)
    if "defaults" in case:  # no client: the local scheduler; the weights as a NumPy array
        _same(estimator(**settings).fit(dX, dy, sample_weight=dw), blocks)
        _same(estimator(**settings).fit(dX, dy, sample_weight=W), blocks)
    unweighted = estimator(**settings).fit(dX, dy)
    assert not np.array_equal(unweighted.coef_, on_two.coef_)  # the weights did something
    if settings.get("optimizer") == "sgd":  # full batch: the in-memory fit to 1e-12 (Adam's
        # first step divides a gradient that is zero up to rounding by its own size)
        memory = estimator(backend="numpy", **settings).fit(X, y, sample_weight=W)
        np.testing.assert_allclose(on_two.coef_, memory.coef_, rtol=1e-12, atol=0)
        np.testing.assert_allclose(on_two.intercept_, memory.intercept_, rtol=1e-12, atol=1e-15)


def test_one_worker_and_dask_dataframes_give_the_same_bits(dask_cluster):
    import pandas as pd

    settings = dict(batch_size=None, max_iter=8, tol=None)
    frame = pd.DataFrame(X, columns=["a", "b", "c"]).assign(y=Y, w=W)
    parts = dd.from_pandas(frame, chunksize=ROWS)
    features = parts[["a", "b", "c"]]
    with distributed.Client(dask_cluster):
        two = GDRegressor(**settings).fit(features, parts["y"], sample_weight=parts["w"])
    with (
        distributed.LocalCluster(
            n_workers=1, threads_per_worker=1, processes=False, dashboard_address=":0"
        ) as cluster,
        distributed.Client(cluster),
    ):
        one = GDRegressor(**settings).fit(features, parts["y"], sample_weight=parts["w"])
    _same(one, two)
    blocks = gdlab.data.arrays(X, Y, batch_rows=ROWS, sample_weight=W)
    _same(two, GDRegressor(**settings).fit(blocks))
    assert list(two.feature_names_in_) == ["a", "b", "c"]


def test_a_weighted_fit_resumes_from_a_mid_epoch_checkpoint(dask_cluster, tmp_path):
    settings = dict(batch_size=None, optimizer="adam", max_iter=2, tol=None)
    dX, dy, dw = _dask(Y)
    with distributed.Client(dask_cluster):
        straight = GDRegressor(**settings).fit(dX, dy, sample_weight=dw)
        snapshots = []
        GDRegressor(**settings).fit(dX, dy, sample_weight=dw, block_callback=snapshots.append)
        path = save_checkpoint(snapshots[7], tmp_path / "mid.ckpt")  # epoch 2, 3 partitions
        resumed = load_checkpoint(path).model
        resumed.set_params(warm_start=True, max_iter=1).fit(dX, dy, sample_weight=dw)
    _same(resumed, straight)


def test_bad_weights_are_refused_by_name(dask_cluster):
    dX, dy, _ = _dask(Y)
    with distributed.Client(dask_cluster):
        with pytest.raises(ValueError, match="X has 430 rows and sample_weight has 429"):
            GDRegressor().fit(dX, dy, sample_weight=W[:-1])
        negative = W.copy()
        negative[250] = -1.0
        with pytest.raises(ValueError, match="must be >= 0; row 250 of the data has -1"):
            GDRegressor().fit(dX, dy, sample_weight=da.from_array(negative, chunks=ROWS))
        with pytest.raises(ValueError, match="The sample weights of the source sum to zero"):
            GDRegressor().fit(dX, dy, sample_weight=np.zeros(430))
        with pytest.raises(ValueError, match="sample_weight must be 1-D"):
            GDRegressor().fit(dX, dy, sample_weight=da.ones((430, 2), chunks=ROWS))
