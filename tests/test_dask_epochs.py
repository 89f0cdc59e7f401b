"""Mini-batch and per-sample epochs on Dask: the optimizer state goes to the partitions.

Oracle: the same fit of :func:`gdlab.data.arrays` with the same blocks (in memory, on the
client), which must be equal bit for bit: coefficients, loss curve, gradient norms.
"""

from __future__ import annotations

import numpy as np
import pytest

import gdlab
from gdlab import GDClassifier, GDRegressor
from gdlab.exceptions import DivergenceError

distributed = pytest.importorskip("distributed")
da = pytest.importorskip("dask.array")
dask = pytest.importorskip("dask")

pytestmark = pytest.mark.xdist_group("dask")

ROWS = 300  # rows per partition; 700 rows make partitions of 300, 300 and 100


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(700, 3)) * [1.0, 4.0, 0.5] + [0.0, 2.0, -1.0]
    y = X @ [1.5, -0.5, 2.0] + 3.0 + 0.2 * rng.normal(size=700)
    return X, y


def _on_dask(cluster, model, X, y):
    dX, dy = da.from_array(X, chunks=(ROWS, X.shape[1])), da.from_array(y, chunks=ROWS)
    with distributed.Client(cluster):
        return model.fit(dX, dy)


def _assert_same_fit(on_dask, in_memory):
    assert on_dask.history_.backend == "dask"
    assert np.array_equal(on_dask.coef_, in_memory.coef_)
    assert np.array_equal(on_dask.intercept_, in_memory.intercept_)
    assert on_dask.loss_curve_ == in_memory.loss_curve_
    assert on_dask.history_.grad_norm == in_memory.history_.grad_norm
    assert on_dask.n_iter_ == in_memory.n_iter_
    assert on_dask._train_state.step == in_memory._train_state.step


@pytest.mark.parametrize(
    "optimizer", ["sgd", "momentum", "nesterov", "adagrad", "rmsprop", "adam", "adamw", "pid"]
)
def test_every_optimizer_equals_the_same_blocks_in_memory(dask_cluster, data, optimizer):
    X, y = data
    settings = dict(
        optimizer=optimizer, learning_rate=0.01, batch_size=16, max_iter=3, tol=None,
        random_state=5,
    )  # fmt: skip
    on_dask = _on_dask(dask_cluster, GDRegressor(**settings), X, y)
    in_memory = GDRegressor(**settings).fit(gdlab.data.arrays(X, y, batch_rows=ROWS))
    _assert_same_fit(on_dask, in_memory)


def test_default_regressor_per_sample_with_schedule_penalty_and_clipping(dask_cluster, data):
    X, y = data
    settings = dict(
        batch_size=1, max_iter=2, tol=None, random_state=0, penalty="elasticnet", alpha=1e-3,
        schedule="inverse_scaling", clip_norm=5.0, average=True,
    )  # fmt: skip
    on_dask = _on_dask(dask_cluster, GDRegressor(**settings), X, y)
    in_memory = GDRegressor(**settings).fit(gdlab.data.arrays(X, y, batch_rows=ROWS))
    _assert_same_fit(on_dask, in_memory)
    default = _on_dask(dask_cluster, GDRegressor(random_state=0), X, y)  # defaults: batch 32
    oracle = GDRegressor(random_state=0).fit(gdlab.data.arrays(X, y, batch_rows=ROWS))
    _assert_same_fit(default, oracle)
    np.testing.assert_allclose(default.coef_, [1.5, -0.5, 2.0], atol=0.05)  # it learns


def test_softmax_classifier_on_three_classes(dask_cluster, data):
    X, _ = data
    labels = np.array(["a", "b", "c"])[np.argmax(X[:, :2] @ [[1.0, 0.0, -1.0], [0.0, 0.5, 0.5]], 1)]
    settings = dict(batch_size=8, max_iter=3, tol=None, random_state=2, learning_rate=0.05)
    on_dask = _on_dask(dask_cluster, GDClassifier(**settings), X[:, :2], labels)
    oracle = GDClassifier(**settings).fit(gdlab.data.arrays(X[:, :2], labels, batch_rows=ROWS))
    _assert_same_fit(on_dask, oracle)
    assert on_dask.coef_.shape == (3, 2)
    assert on_dask.score(X[:, :2], labels) > 0.9


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_the_order_is_a_function_of_seed_epoch_and_block(dask_cluster, data):
    """Unshuffled epochs take the partitions in order; shuffled ones depend on the seed."""
    X, y = data
    plain = dict(batch_size=50, max_iter=2, tol=None, shuffle=False)
    on_dask = _on_dask(dask_cluster, GDRegressor(**plain), X, y)
    _assert_same_fit(on_dask, GDRegressor(**plain).fit(gdlab.data.arrays(X, y, batch_rows=ROWS)))
    in_memory = GDRegressor(backend="numpy", **plain).fit(X, y)  # natural order: the same batches
    np.testing.assert_allclose(on_dask.coef_, in_memory.coef_, rtol=1e-12)
    seeded = [
        _on_dask(dask_cluster, GDRegressor(batch_size=50, max_iter=2, random_state=s), X, y).coef_
        for s in (0, 0, 1)
    ]
    assert np.array_equal(seeded[0], seeded[1]) and not np.array_equal(seeded[0], seeded[2])


def test_divergence_stops_the_chain_as_in_memory(dask_cluster, data):
    X, y = data
    settings = dict(optimizer="sgd", learning_rate=5.0, batch_size=10, max_iter=3, random_state=0)
    with pytest.raises(DivergenceError) as on_dask:
        _on_dask(dask_cluster, GDRegressor(**settings), X, y)
    with pytest.raises(DivergenceError) as in_memory:
        GDRegressor(**settings).fit(gdlab.data.arrays(X, y, batch_rows=ROWS))
    assert str(on_dask.value) == str(in_memory.value)
