"""``GDClassifier(class_weight=...).fit(dask_X, dask_y)``: the labels are counted where each
partition lives (one pass, only the counts travel), and each row weighs
``class_weight[label] * sample_weight`` there.

Oracle: :func:`gdlab.data.arrays` with the same blocks and scikit-learn's combined weights as
``sample_weight`` (``class_weight[y] * sample_weight``), bit for bit, on the local scheduler and
the 2-worker cluster; nothing is fetched to the client.
"""

from __future__ import annotations

import numpy as np
import pytest

import gdlab
from gdlab import GDClassifier
from gdlab.estimators._options import class_sample_weight

distributed = pytest.importorskip("distributed")
da = pytest.importorskip("dask.array")

pytestmark = [
    pytest.mark.xdist_group("dask"),
    pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning"),
]

N, ROWS = 430, 100  # 5 partitions: 100, 100, 100, 100, 30 rows
RNG = np.random.default_rng(31)
X = RNG.normal(size=(N, 3)) * [1.0, 5.0, 0.2] + [1.0, -2.0, 3.0]
SCORE = X[:, 0] + 0.2 * X[:, 1] + 0.4 * RNG.normal(size=N)
LABELS = np.select([SCORE > 1.8, SCORE < -0.8], ["rare", "low"], "mid")  # three classes, unequal
WEIGHTS = RNG.uniform(0.0, 3.0, size=N)
CASES = {
    "defaults (3 epochs), balanced": (dict(max_iter=3), "balanced", None),
    "full batch, dict, sample weights": (
        dict(batch_size=None, optimizer="sgd", learning_rate=0.1, max_iter=25, tol=None),
        {"rare": 4.0, "low": 0.5}, WEIGHTS,
    ),
    "binary, mini-batch, early stopping, balanced, sample weights": (
        dict(batch_size=8, early_stopping=True, max_iter=6, n_iter_no_change=2), "balanced",
        WEIGHTS,
    ),
}  # fmt: skip


@pytest.mark.parametrize("case", list(CASES))
def test_class_weights_on_dask_are_the_combined_sample_weights(
    dask_cluster, nothing_gathered, case
):
    settings, class_weight, weight = CASES[case]
    settings = dict(random_state=3, **settings)
    labels = np.where(LABELS == "rare", "rare", "other") if "binary" in case else LABELS
    combined = class_sample_weight(class_weight, np.unique(labels), labels, weight, np.float64)
    oracle = GDClassifier(**settings).fit(
        gdlab.data.arrays(X, labels, batch_rows=ROWS, sample_weight=combined)
    )
    dX, dy = da.from_array(X, chunks=(ROWS, 3)), da.from_array(labels, chunks=ROWS)
    dw = None if weight is None else da.from_array(weight, chunks=ROWS)
    local = GDClassifier(class_weight=class_weight, **settings).fit(dX, dy, sample_weight=dw)
    with distributed.Client(dask_cluster):
        on_two = GDClassifier(class_weight=class_weight, **settings).fit(dX, dy, sample_weight=dw)
    for model in (local, on_two):
        assert np.array_equal(model.coef_, oracle.coef_)
        assert np.array_equal(model.intercept_, oracle.intercept_)
        assert model.loss_curve_ == oracle.loss_curve_
        assert model.history_.val_loss == oracle.history_.val_loss
    plain = GDClassifier(**settings).fit(dX, dy, sample_weight=dw)
    assert not np.allclose(plain.coef_, local.coef_, rtol=1e-3)  # the class weights did something


def test_a_bad_class_weight_gets_the_in_memory_message():
    bad = {"rare": 2.0, "absent": 1.0}
    with pytest.raises(ValueError) as in_memory:
        GDClassifier(class_weight=bad).fit(X, LABELS)
    dX, dy = da.from_array(X, chunks=(ROWS, 3)), da.from_array(LABELS, chunks=ROWS)
    with pytest.raises(ValueError) as on_dask:
        GDClassifier(class_weight=bad).fit(dX, dy)
    assert str(on_dask.value) == str(in_memory.value)
