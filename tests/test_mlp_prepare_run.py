"""The networks' prepare door: a run prepared by ``prepare_run`` and trained by the engine is the
run that ``fit`` trains (the same parameters, bit for bit), with default settings too."""

from __future__ import annotations

import numpy as np
import pytest

from gdlab import MLPClassifier, MLPRegressor
from gdlab.engine import train


def _data(classify: bool):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(120, 3))
    y = (X[:, 0] > 0).astype(int) if classify else X @ [1.0, -2.0, 0.5]
    return X, y


@pytest.mark.parametrize(
    "make",
    [
        lambda: MLPRegressor(random_state=0),
        lambda: MLPClassifier(random_state=0),
        lambda: MLPRegressor(
            hidden_layer_sizes=(8, 4),
            optimizer="sgd",
            batch_size=16,
            learning_rate=0.05,
            max_iter=30,
            random_state=1,
        ),
        lambda: MLPClassifier(
            hidden_layer_sizes=(6,), early_stopping=True, max_iter=40, random_state=2
        ),
    ],
    ids=["regressor-defaults", "classifier-defaults", "sgd-two-layers", "early-stopping"],
)
def test_a_prepared_run_trains_to_what_fit_trains(make):
    model = make()
    X, y = _data(isinstance(model, MLPClassifier))
    run = model.prepare_run(X, y)
    result = train(
        run.objective,
        run.optimizer,
        run.state,
        run.config,
        validation=run.validation,
        history=run.history,
    )
    fitted = make().fit(X, y)
    assert np.array_equal(result.state.params, fitted.state_dict()["train_state"]["params"])
    assert result.n_epochs == fitted.n_iter_


def test_prepare_run_checks_the_settings_by_name():
    with pytest.raises(ValueError, match="hidden_layer_sizes"):
        MLPRegressor(hidden_layer_sizes=(0,)).prepare_run(*_data(False))
