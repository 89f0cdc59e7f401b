"""Dask collections: per-partition sums added in partition order, the same numbers everywhere."""

from __future__ import annotations

import numpy as np
import pytest

import gdlab
from gdlab import GDClassifier, GDRegressor

distributed = pytest.importorskip("distributed")
da = pytest.importorskip("dask.array")
dask = pytest.importorskip("dask")

FULL_BATCH = dict(
    batch_size=None, optimizer="nesterov", learning_rate=0.05, max_iter=25, tol=None, alpha=0.01
)


pytestmark = pytest.mark.xdist_group("dask")


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(1000, 4)) * [1.0, 3.0, 0.5, 2.0]
    y = X @ [1.0, -2.0, 0.5, 3.0] + 1.0 + 0.1 * rng.normal(size=1000)
    return X, y


@pytest.mark.parametrize("penalty", [None, "elasticnet"])
def test_full_batch_does_not_depend_on_the_workers(dask_cluster, data, penalty):
    X, y = data
    dX, dy = da.from_array(X, chunks=(300, 4)), da.from_array(y, chunks=300)
    settings = dict(FULL_BATCH, penalty=penalty, standardize=True)
    with distributed.Client(dask_cluster):
        two_workers = GDRegressor(**settings).fit(dX, dy)
        lazy = two_workers.predict(dX)
        assert isinstance(lazy, da.Array)
        predicted = lazy.compute()
    with dask.config.set(scheduler="synchronous"):  # one thread, no cluster
        one = GDRegressor(**settings).fit(dX, dy)
    blocks = GDRegressor(**settings).fit(gdlab.data.arrays(X, y, batch_rows=300))
    in_memory = GDRegressor(backend="numpy", **settings).fit(X, y)
    assert np.array_equal(two_workers.coef_, one.coef_)
    assert np.array_equal(two_workers.coef_, blocks.coef_)
    assert two_workers.loss_curve_ == blocks.loss_curve_
    np.testing.assert_allclose(two_workers.coef_, in_memory.coef_, rtol=1e-12)
    np.testing.assert_allclose(two_workers.intercept_, in_memory.intercept_, rtol=1e-12)
    np.testing.assert_allclose(predicted, in_memory.predict(X), rtol=1e-12)


def test_mini_batches_visit_partitions_in_the_seeded_order(dask_cluster, data):
    X, y = data
    dX, dy = da.from_array(X, chunks=(250, 4)), da.from_array(y, chunks=250)
    with distributed.Client(dask_cluster):
        on_dask = GDRegressor(random_state=3, max_iter=5, tol=None).fit(dX, dy)
    blocks = GDRegressor(random_state=3, max_iter=5, tol=None).fit(
        gdlab.data.arrays(X, y, batch_rows=250)
    )
    assert np.array_equal(on_dask.coef_, blocks.coef_)


@pytest.mark.filterwarnings("ignore:Dask currently has limited support:UserWarning")
def test_dask_dataframe_classifier_with_unknown_chunk_sizes(dask_cluster, data):
    pd = pytest.importorskip("pandas")
    dd = pytest.importorskip("dask.dataframe")
    X, _ = data
    labels = np.where(X[:, 0] - X[:, 3] > 0, "pos", "neg")
    frame = pd.DataFrame(X, columns=["a", "b", "c", "d"]).assign(label=labels)
    ddf = dd.from_pandas(frame, npartitions=3)
    kept = ddf[ddf.a > -10]  # a filter: the partitions' lengths are unknown
    settings = dict(batch_size=None, learning_rate=0.1, max_iter=20, tol=None, standardize=True)
    with distributed.Client(dask_cluster):
        model = GDClassifier(**settings).fit(kept[["a", "b", "c", "d"]], kept["label"])
    in_memory = GDClassifier(backend="numpy", **settings).fit(frame[["a", "b", "c", "d"]], labels)
    assert list(model.classes_) == ["neg", "pos"]
    assert list(model.feature_names_in_) == ["a", "b", "c", "d"]
    np.testing.assert_allclose(model.coef_, in_memory.coef_, rtol=1e-12)


def test_the_scan_runs_on_the_workers_and_still_names_a_bad_row(dask_cluster, data):
    from gdlab.data.dask_source import DaskSource
    from gdlab.data.stats import scan

    X, y = data
    dX, dy = da.from_array(X, chunks=(300, 4)), da.from_array(y, chunks=300)
    with distributed.Client(dask_cluster):
        source = DaskSource(dX, dy)
        parts = source.scan_groups(classify=False)
        on_workers = scan(source, classify=False)
        bad = X.copy()
        bad[700, 2] = np.nan  # in the third partition, rows 600-899
        with pytest.raises(ValueError, match=r"'x2' has NaN .* block starting at row 600 "):
            GDRegressor().fit(da.from_array(bad, chunks=(300, 4)), dy)
    here = scan(gdlab.data.arrays(X, y, batch_rows=300), classify=False)
    assert [part.n_rows for part in parts] == [300, 300, 300, 100]
    for name in ("mean", "m2", "target_sum", "target_m2", "target_min", "n_rows"):
        assert np.array_equal(getattr(on_workers, name), getattr(here, name)), name


_SCALE_CALLS: list[int] = []
_UNCOUNTED_SCALE = GDRegressor._scale


def _counted_scale(self, X):
    # module-level, so that a task pickles it by reference and appends to this very list (a
    # lambda would be pickled by value, with a copy of the list)
    _SCALE_CALLS.append(1)
    return _UNCOUNTED_SCALE(self, X)


def test_each_partition_is_scaled_once_per_fit(dask_cluster, data, monkeypatch):
    X, y = data
    dX, dy = da.from_array(X, chunks=(300, 4)), da.from_array(y, chunks=300)
    calls = _SCALE_CALLS
    monkeypatch.setattr(GDRegressor, "_scale", _counted_scale)
    counts = {}
    with distributed.Client(dask_cluster):  # in-process workers: the calls are counted here
        for epochs in (2, 12):
            calls.clear()
            GDRegressor(**dict(FULL_BATCH, max_iter=epochs)).fit(dX, dy)
            counts[epochs] = len(calls)
    assert counts[2] == counts[12] >= 4  # the 4 partitions, whatever the number of epochs


def _bench():
    """bench/dask_bench.py as a module (its heavy-ball tuning is what the README quotes)."""
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parents[1] / "bench" / "dask_bench.py"
    spec = importlib.util.spec_from_file_location("dask_bench", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_heavy_ball_tuning_of_the_bench(dask_cluster, data):
    # Oracle: the eigenvalues of the Hessian of the standardized problem, in memory; then the
    # tuned heavy ball reaches 1e-6 relative suboptimality in fewer epochs than Nesterov 1/L.
    X, y = data
    X = X @ np.array([[1, 0.9, 0, 0], [0, 1, 0.5, 0], [0, 0, 1, 0.7], [0, 0, 0, 1.0]])  # kappa 39
    labels = (X[:, 0] - X[:, 3] > 0).astype(np.int64)
    dX, dy, dl = (da.from_array(a, chunks=300) for a in (X, y, labels))
    bench = _bench()
    with distributed.Client(dask_cluster):
        tuned = bench.heavy_ball(dX, dy, "squared_error")
        tuned_log = bench.heavy_ball(dX, dl, "log_loss")
    A = np.column_stack([(X - X.mean(0)) / X.std(0), np.ones(len(X))])
    gram = np.linalg.eigvalsh(A.T @ A / len(X))
    L_squares = 2 * gram.max()
    for curvature, got in ((2.0, tuned), (labels.mean() * (1 - labels.mean()), tuned_log)):
        L, mu = curvature * gram.max(), curvature * gram.min()
        beta = ((np.sqrt(L / mu) - 1) / (np.sqrt(L / mu) + 1)) ** 2
        np.testing.assert_allclose(got["learning_rate"], 4 / (np.sqrt(L) + np.sqrt(mu)) ** 2)
        np.testing.assert_allclose(got["momentum"], beta, rtol=1e-9)
    gap = bench.least_squares(X, y)
    epochs = {}
    for name, settings in (
        ("heavy ball", dict(optimizer="momentum", **tuned)),
        ("nesterov", dict(optimizer="nesterov", learning_rate=1 / L_squares, momentum=0.5)),
    ):
        gaps = []
        GDRegressor(batch_size=None, max_iter=200, tol=None, **settings).fit(
            X, y, callback=lambda s, g=gaps: g.append(gap(s.coef_, s.intercept_))
        )
        epochs[name] = next(i for i, g in enumerate(gaps, 1) if g <= 1e-6)
    assert epochs["heavy ball"] < epochs["nesterov"], epochs
