"""The estimators' schedule names: one vocabulary with gdlab.schedules, and horizons decided once.

The oracle for each named schedule is the schedule function itself, built by hand from the
documented epoch-to-update conversion (its values equal PyTorch's: tests/test_cyclic_schedules.py).
"""

from __future__ import annotations

import numpy as np
import pytest

from gdlab import GDClassifier, GDRegressor, load, schedules
from gdlab.estimators._builders import SCHEDULE_ALIASES, SCHEDULE_NAMES, SCHEDULE_PARAMS

N, BATCH = 96, 16  # 6 updates per epoch
PER_EPOCH = 6


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(7)
    X = rng.normal(size=(N, 3))
    y = X @ [1.5, -2.0, 0.5] + 0.3 + 0.1 * rng.normal(size=N)
    return X, y


def _by_hand(name: str, lr: float, horizon: int) -> schedules.Schedule:
    """The schedule each name stands for with default parameters (module
    gdlab.estimators._schedule_names)."""
    total = horizon * PER_EPOCH
    if name == "one_cycle":
        return schedules.one_cycle(lr, total)
    if name == "cyclic":
        return schedules.cyclic(lr / 10, lr, max(1, horizon // 8) * PER_EPOCH)
    if name == "multistep_decay":
        milestones = [horizon // 2 * PER_EPOCH, 3 * horizon // 4 * PER_EPOCH]
        return schedules.multistep_decay(lr, milestones)
    if name == "polynomial_decay":
        return schedules.polynomial_decay(lr, total)
    assert name == "cosine_restarts"
    return schedules.cosine_restarts(lr, max(1, horizon // 4) * PER_EPOCH)


NEW = ["one_cycle", "cyclic", "multistep_decay", "polynomial_decay", "cosine_restarts"]


@pytest.mark.parametrize("name", NEW)
def test_named_schedule_with_defaults_follows_its_function(data, name):
    X, y = data
    model = GDRegressor(schedule=name, batch_size=BATCH, max_iter=16, tol=None, random_state=0)
    model.fit(X, y)
    expected = _by_hand(name, 0.03, 16)
    starts = [expected(epoch * PER_EPOCH) for epoch in range(16)]
    np.testing.assert_allclose(model.history_.learning_rate, starts, rtol=1e-12)
    assert model.schedule_horizon_ == 16


def test_every_function_name_is_an_estimator_name():
    named = set(schedules.SCHEDULES) - {"linear_warmup"}  # linear_warmup wraps another schedule
    assert named | {"reduce_on_plateau"} == set(SCHEDULE_NAMES)
    assert set(SCHEDULE_ALIASES.values()) <= set(SCHEDULE_NAMES)


@pytest.mark.parametrize(("alias", "name"), sorted(SCHEDULE_ALIASES.items()))
def test_aliases_fit_exactly_as_their_names(data, alias, name):
    X, y = data
    common = dict(
        batch_size=BATCH, max_iter=8, random_state=1, optimizer="sgd", learning_rate=0.05, tol=None
    )
    a = GDRegressor(schedule=alias, **common).fit(X, y)
    b = GDRegressor(schedule=name, **common).fit(X, y)
    np.testing.assert_array_equal(a.coef_, b.coef_)
    assert a.history_.learning_rate == b.history_.learning_rate


def _parameters(name: str) -> dict | None:
    return {"horizon_epochs": 20} if "horizon_epochs" in SCHEDULE_PARAMS[name] else None


@pytest.mark.parametrize("backend", ["numpy", "numba"])
@pytest.mark.parametrize("name", SCHEDULE_NAMES)
def test_warm_start_ten_plus_ten_equals_twenty(data, name, backend):
    """Every named schedule: 10 + 10 warm-started epochs == 20 straight (horizon planned once)."""
    if backend == "numba":
        pytest.importorskip("numba")
    X, y = data
    common = dict(
        schedule=name,
        schedule_params=_parameters(name),
        optimizer="momentum",
        learning_rate=0.02,
        batch_size=BATCH,
        tol=None,
        random_state=3,
        backend=backend,
    )
    straight = GDRegressor(max_iter=20, **common).fit(X, y)
    twice = GDRegressor(max_iter=10, warm_start=True, **common).fit(X, y).fit(X, y)
    assert twice.history_.learning_rate == straight.history_.learning_rate
    np.testing.assert_array_equal(twice.coef_, straight.coef_)
    np.testing.assert_array_equal(twice.intercept_, straight.intercept_)


def test_the_horizon_is_saved_with_the_model(data, tmp_path):
    X, y = data
    settings = dict(schedule="one_cycle", batch_size=BATCH, tol=None, random_state=0)
    straight = GDRegressor(max_iter=12, **settings).fit(X, y)
    first = GDRegressor(max_iter=12, **settings).fit(X, y)
    first.save(tmp_path / "m.npz")
    loaded = load(tmp_path / "m.npz")
    assert loaded.schedule_horizon_ == 12
    # a loaded model continued past its horizon keeps the one-cycle's final rate
    loaded.set_params(warm_start=True, max_iter=3).fit(X, y)
    final = schedules.one_cycle(0.03, 12 * PER_EPOCH)(12 * PER_EPOCH)
    np.testing.assert_allclose(loaded.history_.learning_rate[12:], [final] * 3, rtol=1e-12)
    assert loaded.history_.learning_rate[:12] == straight.history_.learning_rate


def test_classifier_takes_the_new_names(data):
    X, y = data
    model = GDClassifier(schedule="cosine_restarts", max_iter=8, tol=None, random_state=0)
    model.fit(X, y > 0)
    assert model.score(X, y > 0) > 0.9


@pytest.mark.parametrize(
    ("name", "params", "message"),
    [
        ("cyclic", {"step_epochs_up": 0}, "'step_epochs_up' entry of schedule_params"),
        ("multistep_decay", {"milestone_epochs": [1.5]}, "'milestone_epochs' entry"),
        ("one_cycle", {"horizon_epochs": 0}, "'horizon_epochs' entry"),
        ("one_cycle", {"anneal_strategy": "exp"}, "'anneal_strategy' parameter of one_cycle"),
        ("constant", {"horizon_epochs": 5}, "does not use: 'horizon_epochs'"),
    ],
)
def test_bad_schedule_params_are_named(data, name, params, message):
    X, y = data
    with pytest.raises(ValueError, match=message):
        GDRegressor(schedule=name, schedule_params=params, max_iter=2).fit(X, y)
