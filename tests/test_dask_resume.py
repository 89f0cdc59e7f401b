"""Exact resume of Dask fits at epoch boundaries: a checkpoint written by the fit callback,
loaded and continued with ``warm_start``, ends where an uninterrupted run ends, bit for bit."""

from __future__ import annotations

from pathlib import Path

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

RNG = np.random.default_rng(3)
X = RNG.normal(size=(430, 3)) * [2.0, 1.0, 0.3]
Y = X @ [1.0, -1.0, 3.0] + 0.5 + 0.1 * RNG.normal(size=430)
LABELS = np.digitize(X[:, 0] - X[:, 1], [-1.0, 1.0])  # three classes
EPOCHS = 4

CASES = {
    "adam mini-batch, cosine schedule": (
        GDRegressor,
        dict(optimizer="adam", batch_size=16, schedule="cosine", random_state=1, tol=None),
        Y,
    ),
    "softmax mini-batch, momentum": (
        GDClassifier,
        dict(optimizer="momentum", batch_size=8, learning_rate=0.05, random_state=2, tol=None),
        LABELS,
    ),
    "full batch, nesterov": (
        GDRegressor,
        dict(optimizer="nesterov", batch_size=None, learning_rate=0.1, tol=None),
        Y,
    ),
}


@pytest.mark.parametrize("case", list(CASES))
def test_checkpoint_then_resume_equals_an_uninterrupted_dask_fit(dask_cluster, tmp_path, case):
    estimator, settings, y = CASES[case]
    dX, dy = da.from_array(X, chunks=(100, 3)), da.from_array(y, chunks=100)

    def checkpoint(snapshot) -> None:
        epoch = snapshot._train_state.epoch
        save_checkpoint(snapshot, tmp_path / f"epoch{epoch}.ckpt", metadata={"epochs": EPOCHS})

    with distributed.Client(dask_cluster):
        straight = estimator(max_iter=EPOCHS, **settings).fit(dX, dy)
        estimator(max_iter=EPOCHS, **settings).fit(dX, dy, callback=checkpoint)
        for epoch in (1, 3):
            resumed, meta = load_checkpoint(Path(tmp_path / f"epoch{epoch}.ckpt"))
            assert resumed._train_state.epoch == epoch
            resumed.set_params(warm_start=True, max_iter=meta["epochs"] - epoch)
            resumed.fit(dX, dy)
            assert np.array_equal(resumed.coef_, straight.coef_)
            assert np.array_equal(resumed.intercept_, straight.intercept_)
            assert resumed.loss_curve_ == straight.loss_curve_
            assert resumed._train_state.step == straight._train_state.step
