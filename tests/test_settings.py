"""The declarative settings tables: every estimator parameter has a rule, and each rule's message.

The oracle for the wording is scikit-learn's ("The 'x' parameter of Y must be ... Got ... instead.")
with the requirement each table entry declares; the messages themselves are pinned elsewhere
(tests/test_regressor.py, tests/test_mlp.py, ...), and these tests pin that every parameter is
covered, that the table order is the order of the checks, and that the schedule vocabulary is one
table.
"""

from __future__ import annotations

import re

import pytest

from gdlab import GDClassifier, GDRegressor, MLPClassifier, MLPRegressor, schedules
from gdlab.estimators._schedule_names import (
    ESTIMATOR_SCHEDULES,
    SCHEDULE_ALIASES,
    SCHEDULE_NAMES,
    SCHEDULE_PARAMS,
)
from gdlab.estimators._settings import LINEAR_SETTINGS, MLP_SETTINGS

#: checked after the table, because they depend on other settings (see gdlab.estimators._settings)
DEPENDENT = {"loss", "class_weight", "average"}

#: a value each rule refuses
BAD = {
    "penalty": "l3", "alpha": -1.0, "l1_ratio": 2.0, "fit_intercept": "yes", "optimizer": "lbfgs",
    "learning_rate": 0.0, "momentum": 1.0, "optimizer_params": [1], "schedule_params": 3,
    "schedule": "optimal", "batch_size": 0, "max_iter": 0, "tol": -1.0, "n_iter_no_change": 0,
    "early_stopping": 1, "validation_fraction": 1.0, "shuffle": None, "random_state": -1,
    "warm_start": "no", "clip_norm": 0.0, "standardize": 2, "verbose": -1, "record_params": 0,
    "backend": "cuda", "epsilon": 0.0, "hidden_layer_sizes": (4, 0), "activation": "gelu",
    "init": "orthogonal", "init_scale": float("nan"), "batch_norm": "on", "dropout": 1.0,
}  # fmt: skip


@pytest.mark.parametrize("cls", [GDRegressor, GDClassifier, MLPRegressor, MLPClassifier])
def test_every_parameter_has_a_rule(cls):
    covered = {name for name, _ in LINEAR_SETTINGS} | DEPENDENT
    if cls in (MLPRegressor, MLPClassifier):
        covered |= {name for name, _ in MLP_SETTINGS()}
    assert set(cls().get_params()) <= covered


@pytest.mark.parametrize("cls", [GDRegressor, GDClassifier, MLPRegressor, MLPClassifier])
def test_each_rule_refuses_its_bad_value_with_the_declared_requirement(cls):
    rules = dict(LINEAR_SETTINGS)
    if cls in (MLPRegressor, MLPClassifier):
        rules.update(MLP_SETTINGS())
    for name in cls().get_params():
        if name in DEPENDENT or (name == "epsilon" and cls is GDClassifier):
            continue
        model = cls(**{name: BAD[name]})
        expected = (
            f"The {name!r} parameter of {cls.__name__} must be {rules[name].requirement}. "
            f"Got {BAD[name]!r} instead."
        )
        with pytest.raises(ValueError, match=re.escape(expected)):
            model.fit([[0.0], [1.0], [2.0], [3.0]], [0, 1, 0, 1])


def test_the_first_bad_setting_in_table_order_is_named():
    model = GDRegressor(max_iter=0, alpha=-1.0, schedule_params={"gamma": 0.5}, tol=-1.0)
    with pytest.raises(ValueError, match="'alpha' parameter"):
        model.fit([[0.0], [1.0]], [0.0, 1.0])
    # schedule_params keys are checked right after schedule, before batch_size and the rest
    model = GDRegressor(schedule="constant", schedule_params={"gamma": 0.5}, max_iter=0)
    with pytest.raises(ValueError, match="'schedule_params' parameter of GDRegressor has keys"):
        model.fit([[0.0], [1.0]], [0.0, 1.0])


def test_one_vocabulary_of_schedule_names():
    assert SCHEDULE_NAMES == tuple(entry.name for entry in ESTIMATOR_SCHEDULES)
    # every estimator name but the plateau rule is a gdlab.schedules function
    assert set(SCHEDULE_NAMES) - {"reduce_on_plateau"} <= set(schedules.SCHEDULES)
    # scikit-learn's names are accepted: "constant" as a name, "invscaling" and "adaptive" as
    # aliases of the gdlab names
    assert "constant" in SCHEDULE_NAMES
    assert SCHEDULE_ALIASES["invscaling"] == "inverse_scaling"
    assert SCHEDULE_ALIASES["adaptive"] == "reduce_on_plateau"
    for alias, name in SCHEDULE_ALIASES.items():
        assert SCHEDULE_PARAMS[alias] == SCHEDULE_PARAMS[name]
        assert alias not in SCHEDULE_NAMES
