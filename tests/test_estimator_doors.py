"""The linear estimators' public doors for gdlab's own tools (the batched sweep, the command line):
``optimizer_for`` is the optimizer ``fit`` trains with, ``validate_params`` checks the settings as
``fit`` does, ``supported_losses`` lists what ``loss`` accepts. Oracle: ``fit`` itself, with
default settings too."""

from __future__ import annotations

import numpy as np
import pytest

from gdlab import GDClassifier, GDRegressor, MLPClassifier, MLPRegressor
from gdlab.engine import init_state, train

rng = np.random.default_rng(0)
X = rng.normal(size=(90, 3))
Y = X @ [1.0, -2.0, 0.5] + 0.1 * rng.normal(size=90)
LABELS = (X[:, 0] + 0.3 * X[:, 1] > 0).astype(int)

MAKERS = {
    "regressor-defaults": lambda: GDRegressor(random_state=0),  # else a fresh seed each fit
    "classifier-defaults": lambda: GDClassifier(random_state=0),
    "momentum-schedule-clip": lambda: GDRegressor(
        optimizer="sgd",
        momentum=0.9,
        learning_rate=0.05,
        schedule="cosine_decay",
        clip_norm=1.0,
        batch_size=8,
        max_iter=15,
        tol=None,
        random_state=1,
    ),
    "averaged-plateau": lambda: GDRegressor(
        optimizer="sgd",
        learning_rate=0.05,
        schedule="reduce_on_plateau",
        average=10,
        batch_size=16,
        max_iter=20,
        random_state=2,
    ),
}


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize("name", list(MAKERS))
def test_optimizer_for_is_the_optimizer_fit_trains_with(name):
    make = MAKERS[name]
    model = make()
    y = LABELS if isinstance(model, GDClassifier) else Y
    run = model.prepare_run(X, y)
    optimizer = make().optimizer_for(run.objective.n_samples)
    result = train(
        run.objective,
        optimizer,
        init_state(run.state.params, optimizer),
        run.config,
        validation=run.validation,
        history=run.history,
    )
    model.adopt_run(run, result, warn=False)
    fitted = make().fit(X, y)
    np.testing.assert_array_equal(model.coef_, fitted.coef_)
    np.testing.assert_array_equal(model.intercept_, fitted.intercept_)
    assert model.n_iter_ == fitted.n_iter_
    assert model.history_.learning_rate == fitted.history_.learning_rate


@pytest.mark.parametrize(
    ("model", "message"),
    [
        (GDRegressor(learning_rate=-1), "'learning_rate' parameter of GDRegressor"),
        (GDRegressor(loss="hinge"), "'loss' parameter of GDRegressor"),
        (GDClassifier(loss="squared_error"), "'loss' parameter of GDClassifier"),
        (GDClassifier(batch_size=0), "'batch_size' parameter of GDClassifier"),
        (MLPRegressor(learning_rate=-1), "'learning_rate' parameter of MLPRegressor"),
        (MLPClassifier(hidden_layer_sizes=(0,)), "hidden_layer_sizes"),
    ],
)
def test_validate_params_raises_what_fit_raises(model, message):
    y = LABELS if isinstance(model, GDClassifier | MLPClassifier) else Y
    with pytest.raises(ValueError, match=message) as by_fit:
        model.fit(X, y)
    with pytest.raises(ValueError, match=message) as by_door:
        model.validate_params()
    assert str(by_door.value) == str(by_fit.value)
    assert not hasattr(model, "coef_")


@pytest.mark.parametrize("cls", [GDRegressor, GDClassifier])
def test_supported_losses_are_the_losses_validate_params_accepts(cls):
    names = cls.supported_losses()
    assert names[0] == cls().loss  # the default first
    assert cls().validate_params() is None  # defaults are valid
    for name in names:
        assert cls(loss=name).validate_params() is None
    other = GDClassifier if cls is GDRegressor else GDRegressor
    for name in other.supported_losses():
        assert name not in names
        with pytest.raises(ValueError, match="'loss' parameter"):
            cls(loss=name).validate_params()
