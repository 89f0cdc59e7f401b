"""gdlab.schedules: each formula at several steps against values worked out by hand.

The agreement with PyTorch's StepLR, CosineAnnealingLR, ExponentialLR and LinearLR over 50 steps is
in tests/test_torch_agreement.py. ``count`` is the number of updates made so far (0 for the first).
"""

from __future__ import annotations

import json
import math
import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from gdlab import schedules
from gdlab.schedules import PlateauState


def _escape(text: str) -> str:
    return re.escape(text)


# ---------------------------------------------------------------- formulas, by hand

SQRT_HALF = 0.7071067811865476  # cos(pi / 4) = 0.5 ** 0.5

BY_HAND = [
    # (schedule, count, value worked out by hand)
    (schedules.constant(0.1), 0, 0.1),
    (schedules.constant(0.1), 10**6, 0.1),
    # step_decay = torch StepLR: init * gamma ** (t // step_size)
    (schedules.step_decay(1.0, step_size=10, gamma=0.5), 0, 1.0),
    (schedules.step_decay(1.0, step_size=10, gamma=0.5), 9, 1.0),
    (schedules.step_decay(1.0, step_size=10, gamma=0.5), 10, 0.5),
    (schedules.step_decay(1.0, step_size=10, gamma=0.5), 19, 0.5),
    (schedules.step_decay(1.0, step_size=10, gamma=0.5), 20, 0.25),
    (schedules.step_decay(1.0, step_size=10, gamma=0.5), 35, 0.125),
    (schedules.step_decay(0.2, step_size=1), 2, 0.002),  # default gamma 0.1
    # exponential_decay: init * rate ** (t / T)
    (schedules.exponential_decay(1.0, 0.5, transition_steps=2), 0, 1.0),
    (schedules.exponential_decay(1.0, 0.5, transition_steps=2), 1, SQRT_HALF),
    (schedules.exponential_decay(1.0, 0.5, transition_steps=2), 2, 0.5),
    (schedules.exponential_decay(1.0, 0.5, transition_steps=2), 3, 0.5 * SQRT_HALF),
    (schedules.exponential_decay(1.0, 0.5, transition_steps=2), 4, 0.25),
    (schedules.exponential_decay(2.0, 0.9), 3, 2.0 * 0.729),
    # staircase: init * rate ** floor(t / T)
    (schedules.exponential_decay(1.0, 0.5, 2, staircase=True), 1, 1.0),
    (schedules.exponential_decay(1.0, 0.5, 2, staircase=True), 2, 0.5),
    (schedules.exponential_decay(1.0, 0.5, 2, staircase=True), 3, 0.5),
    (schedules.exponential_decay(1.0, 0.5, 2, staircase=True), 5, 0.25),
    # inverse_scaling = scikit-learn's invscaling eta0 / t ** power_t with t = count + 1
    (schedules.inverse_scaling(1.0, power_t=0.5), 0, 1.0),
    (schedules.inverse_scaling(1.0, power_t=0.5), 3, 0.5),
    (schedules.inverse_scaling(1.0, power_t=0.5), 8, 1.0 / 3.0),
    (schedules.inverse_scaling(0.01), 15, 0.005),  # default power_t 0.25: 16 ** 0.25 = 2
    (schedules.inverse_scaling(0.3, power_t=1.0), 9, 0.03),
    (schedules.inverse_scaling(0.3, power_t=0.0), 99, 0.3),
    # cosine_decay = optax cosine_decay_schedule = torch CosineAnnealingLR(eta_min=alpha*init)
    (schedules.cosine_decay(0.1, 100), 0, 0.1),
    (schedules.cosine_decay(0.1, 100), 25, 0.1 * (1 + SQRT_HALF) / 2),
    (schedules.cosine_decay(0.1, 100), 50, 0.05),
    (schedules.cosine_decay(0.1, 100), 75, 0.1 * (1 - SQRT_HALF) / 2),
    (schedules.cosine_decay(0.1, 100), 100, 0.0),
    (schedules.cosine_decay(0.1, 100), 250, 0.0),
    (schedules.cosine_decay(0.1, 100, alpha=0.1), 50, 0.055),
    (schedules.cosine_decay(0.1, 100, alpha=0.1), 100, 0.01),
    (schedules.cosine_decay(0.1, 100, alpha=0.1), 1000, 0.01),
    (schedules.cosine_decay(0.1, 100, alpha=1.0), 50, 0.1),
    # linear_warmup: init + (after(0) - init) t / W, then after(t - W)
    (schedules.linear_warmup(schedules.constant(1.0), 4), 0, 0.0),
    (schedules.linear_warmup(schedules.constant(1.0), 4), 1, 0.25),
    (schedules.linear_warmup(schedules.constant(1.0), 4), 3, 0.75),
    (schedules.linear_warmup(schedules.constant(1.0), 4), 4, 1.0),
    (schedules.linear_warmup(schedules.constant(1.0), 4), 40, 1.0),
    (schedules.linear_warmup(schedules.constant(1.0), 4, init_value=0.2), 2, 0.6),
    (schedules.linear_warmup(schedules.step_decay(1.0, 2, 0.5), 3), 3, 1.0),
    (schedules.linear_warmup(schedules.step_decay(1.0, 2, 0.5), 3), 5, 0.5),
    (schedules.linear_warmup(schedules.step_decay(1.0, 2, 0.5), 3), 7, 0.25),
    # warmup_cosine_decay: warmup over W, then a cosine over the next decay_steps
    (schedules.warmup_cosine_decay(1.0, 10, 100, end_value=0.1), 0, 0.0),
    (schedules.warmup_cosine_decay(1.0, 10, 100, end_value=0.1), 5, 0.5),
    (schedules.warmup_cosine_decay(1.0, 10, 100, end_value=0.1), 10, 1.0),
    (schedules.warmup_cosine_decay(1.0, 10, 100, end_value=0.1), 60, 0.55),
    (schedules.warmup_cosine_decay(1.0, 10, 100, end_value=0.1), 110, 0.1),
    (schedules.warmup_cosine_decay(1.0, 10, 100, end_value=0.1), 5000, 0.1),
    (schedules.warmup_cosine_decay(2.0, 4, 8), 8, 1.0),
    # one_cycle (torch OneCycleLR): cos rise from max/div to max over pct*T - 1 steps, cos fall
    # to max/div/final_div at T - 1; linear: straight lines between the same points
    (schedules.one_cycle(1.0, 100, div_factor=10.0), 0, 0.1),
    (schedules.one_cycle(1.0, 100, div_factor=10.0), 29, 1.0),
    (schedules.one_cycle(1.0, 100, div_factor=10.0), 99, 1e-5),
    (schedules.one_cycle(1.0, 21, 0.5, 10.0, 10.0, "linear"), 5, 0.1 + 0.9 * 5 / 9.5),
    (schedules.one_cycle(1.0, 21, 0.5, 10.0, 10.0, "linear"), 20, 0.01),
    # cyclic (torch CyclicLR): a triangle wave, halved each cycle (triangular2), times gamma**t
    (schedules.cyclic(0.0, 1.0, step_size_up=2), 1, 0.5),
    (schedules.cyclic(0.0, 1.0, step_size_up=2), 6, 1.0),
    (schedules.cyclic(0.0, 1.0, step_size_up=2, mode="triangular2"), 6, 0.5),
    (schedules.cyclic(0.0, 1.0, 1, 3), 2, 2.0 / 3.0),  # falling: 1 - 1/3
    (schedules.cyclic(0.0, 1.0, 2, mode="exp_range", gamma=0.5), 2, 0.25),
    # multistep_decay (torch MultiStepLR): init * gamma ** #(milestones <= t)
    (schedules.multistep_decay(1.0, [2, 5], 0.5), 1, 1.0),
    (schedules.multistep_decay(1.0, [2, 5], 0.5), 2, 0.5),
    (schedules.multistep_decay(1.0, [2, 5], 0.5), 9, 0.25),
    (schedules.multistep_decay(1.0, [3, 3]), 3, 0.01),
    # polynomial_decay (torch PolynomialLR): init * (1 - min(t, T) / T) ** power
    (schedules.polynomial_decay(1.0, 4, 2.0), 2, 0.25),
    (schedules.polynomial_decay(2.0, 10), 5, 1.0),
    (schedules.polynomial_decay(2.0, 10), 50, 0.0),
    # cosine_restarts (torch CosineAnnealingWarmRestarts): cycles of period * mult ** i
    (schedules.cosine_restarts(1.0, 4), 2, 0.5),
    (schedules.cosine_restarts(1.0, 4), 4, 1.0),
    (schedules.cosine_restarts(1.0, 2, period_mult=2), 2, 1.0),  # second cycle: 4 steps
    (schedules.cosine_restarts(1.0, 2, period_mult=2), 4, 0.5),
    (
        schedules.cosine_restarts(1.0, 2, period_mult=2, min_value=0.2),
        5,
        0.2 + 0.8 * 0.5 * (1 - SQRT_HALF),
    ),
]


@pytest.mark.parametrize(
    ("schedule", "count", "expected"),
    BY_HAND,
    ids=[f"{type(s).__name__}-{c}" for s, c, _ in BY_HAND],
)
def test_value_by_hand(schedule: schedules.Schedule, count: int, expected: float) -> None:
    value = schedule(count)
    assert isinstance(value, float)
    assert value == pytest.approx(expected, rel=1e-14, abs=1e-17)


def test_every_schedule_has_hand_computed_values() -> None:
    covered = {type(s) for s, _, _ in BY_HAND}
    assert covered == set(schedules.SCHEDULE_NAMES)


def test_schedules_accept_numpy_step_counts() -> None:
    schedule = schedules.step_decay(1.0, 2, 0.5)
    assert schedule(np.int64(4)) == 0.25


def test_a_negative_or_fractional_count_is_an_error() -> None:
    for schedule in (schedules.step_decay(1.0, 2), schedules.cosine_decay(1.0, 10)):
        with pytest.raises(ValueError, match=_escape("step count must be >= 0. Got -1")):
            schedule(-1)
        with pytest.raises(TypeError, match=_escape("step count must be an int >= 0. Got 1.5")):
            schedule(1.5)


# ---------------------------------------------------------------- properties

init_values = st.floats(1e-6, 10.0)
steps = st.integers(1, 10_000)
counts = st.integers(0, 30_000)


@given(init_values, steps, st.floats(0.0, 1.0), counts, counts)
def test_cosine_decay_is_monotone_and_bounded(init, decay_steps, alpha, t1, t2) -> None:
    schedule = schedules.cosine_decay(init, decay_steps, alpha)
    lo, hi = sorted((t1, t2))
    assert schedule(hi) <= schedule(lo)
    for t in (t1, t2):
        assert alpha * init * (1 - 1e-12) <= schedule(t) <= init
    assert schedule(0) == init
    assert schedule(decay_steps) == pytest.approx(alpha * init, rel=1e-12, abs=1e-300)


@given(init_values, st.integers(1, 100), st.floats(0.01, 0.99), counts, counts)
def test_step_decay_is_monotone_and_piecewise_constant(init, step_size, gamma, t1, t2) -> None:
    schedule = schedules.step_decay(init, step_size, gamma)
    lo, hi = sorted((t1, t2))
    assert schedule(hi) <= schedule(lo)
    start = (t1 // step_size) * step_size
    assert schedule(t1) == schedule(start) == init * gamma ** (t1 // step_size)


@given(init_values, st.floats(0.01, 0.999), st.integers(1, 50), st.integers(0, 2000))
def test_exponential_staircase_is_above_smooth_and_meets_it_at_multiples(
    init, rate, transition, count
) -> None:
    smooth = schedules.exponential_decay(init, rate, transition)
    stairs = schedules.exponential_decay(init, rate, transition, staircase=True)
    assert stairs(count) >= smooth(count)
    multiple = (count // transition) * transition
    assert stairs(count) == stairs(multiple) == pytest.approx(smooth(multiple), rel=1e-12)
    assert smooth(count + 1) <= smooth(count)


@given(init_values, st.floats(0.0, 2.0), counts)
def test_inverse_scaling_times_t_to_the_power_is_init(init, power_t, count) -> None:
    value = schedules.inverse_scaling(init, power_t)(count)
    assert value * (count + 1) ** power_t == pytest.approx(init, rel=1e-12)


@given(init_values, st.integers(1, 500), st.floats(0.0, 1.0))
def test_linear_warmup_is_linear_and_hands_over(peak, warmup, start_fraction) -> None:
    after = schedules.cosine_decay(peak, 1000)
    schedule = schedules.linear_warmup(after, warmup, init_value=start_fraction * peak)
    values = np.array([schedule(t) for t in range(warmup + 1)])
    assert values[0] == start_fraction * peak
    assert values[-1] == after(0) == peak
    if warmup > 1:
        np.testing.assert_allclose(
            np.diff(values), (peak - values[0]) / warmup, rtol=1e-9, atol=1e-12 * peak
        )
    assert schedule(warmup + 17) == after(17)


# ---------------------------------------------------------------- reduce_on_plateau


def _scales(rule: schedules.PlateauRule, losses: list[float]) -> list[float]:
    state = rule.init()
    out = []
    for loss in losses:
        state = rule.update(state, loss)
        out.append(state.scale)
    return out


def _adaptive(factor=0.2, patience=5, threshold=1e-4, min_scale=1e-6):
    """scikit-learn's adaptive rule, as schedule="adaptive" builds it."""
    return schedules.reduce_on_plateau(
        factor, patience, threshold, min_scale, threshold_mode="abs", semantics="sklearn"
    )


def test_reduce_on_plateau_defaults_are_pytorchs() -> None:
    rule = schedules.reduce_on_plateau()
    assert (rule.factor, rule.patience, rule.threshold, rule.threshold_mode) == (
        0.1, 10, 1e-4, "rel"
    )  # fmt: skip
    # more than 10 bad epochs: the rate falls after the eleventh epoch that does not improve
    scales = _scales(rule, [1.0] * 12)
    assert scales == [1.0] * 11 + [0.1]


def test_reduce_on_plateau_follows_pytorch_reference_values() -> None:
    """Against torch.optim.lr_scheduler.ReduceLROnPlateau, recorded by
    scripts/make_plateau_reference.py in tests/data/plateau_torch.json."""
    data = json.loads((Path(__file__).parent / "data" / "plateau_torch.json").read_text())
    assert len(data["cases"]) == 25
    for case in data["cases"]:
        rule = schedules.reduce_on_plateau(**case["setting"], min_scale=1e-6)
        assert _scales(rule, case["losses"]) == case["scales"], case["setting"]


def test_plateau_divides_by_five_after_patience_bad_epochs() -> None:
    rule = _adaptive()  # scikit-learn's adaptive: factor 0.2, patience 5
    assert (rule.factor, rule.patience) == (0.2, 5)
    scales = _scales(rule, [1.0] * 11)
    # epoch 1 sets the best; epochs 2..6 are five bad epochs -> / 5; 7..11 five more -> / 25
    assert scales == [1.0] * 5 + [0.2] + [0.2] * 4 + [pytest.approx(0.04)]


def test_plateau_improvement_resets_the_count() -> None:
    rule = _adaptive(factor=0.5, patience=3, threshold=0.01)
    losses = [1.0, 1.0, 1.0, 0.5, 0.5, 0.5, 0.5]
    #          best  bad1  bad2  good  bad1  bad2  bad3 -> halve
    assert _scales(rule, losses) == [1.0] * 6 + [0.5]


def test_plateau_improvement_smaller_than_threshold_is_bad() -> None:
    rule = _adaptive(factor=0.5, patience=2, threshold=1e-3)
    # each epoch improves by 1e-4 only: not enough
    assert _scales(rule, [1.0, 0.9999, 0.9998]) == [1.0, 1.0, 0.5]
    # improving by more than the threshold is good
    assert _scales(rule, [1.0, 0.99, 0.98]) == [1.0, 1.0, 1.0]


def test_plateau_min_scale_floor() -> None:
    rule = _adaptive(factor=0.1, patience=1, threshold=0.0, min_scale=1e-3)
    scales = _scales(rule, [1.0, 2.0, 2.0, 2.0, 2.0, 2.0])
    assert scales == [1.0, 0.1, pytest.approx(0.01), pytest.approx(1e-3), 1e-3, 1e-3]


def test_plateau_state_is_plain_and_not_mutated() -> None:
    rule = _adaptive(patience=1)
    state = rule.init()
    assert state == PlateauState(scale=1.0, best_loss=math.inf, bad_epochs=0)
    new = rule.update(state, 3.0)
    assert state == PlateauState(scale=1.0, best_loss=math.inf, bad_epochs=0)
    assert new == PlateauState(scale=1.0, best_loss=3.0, bad_epochs=0)


def _sklearn_adaptive(losses: list[float], tol: float, n_iter_no_change: int) -> list[float]:
    """scikit-learn's rule in ``_plain_sgd`` (sklearn/linear_model/_sgd_fast.pyx), per epoch::

    if loss > best_loss - tol: no_improvement_count += 1  else: no_improvement_count = 0
    if loss < best_loss: best_loss = loss
    if no_improvement_count >= n_iter_no_change:
        eta = eta / 5 (adaptive, while eta > 1e-6); no_improvement_count = 0
    """
    eta, best, count, out = 1.0, math.inf, 0, []
    for loss in losses:
        count = count + 1 if loss > best - tol else 0
        best = min(best, loss)
        if count >= n_iter_no_change:
            eta, count = eta / 5, 0
        out.append(eta)
    return out


@given(
    st.lists(st.floats(0.0, 10.0), min_size=1, max_size=60),
    st.sampled_from([0.0, 1e-3, 0.1]),
    st.integers(1, 6),
)
def test_plateau_is_sklearn_adaptive(losses, tol, patience) -> None:
    rule = _adaptive(0.2, patience, tol, min_scale=1e-300)
    expected = _sklearn_adaptive(losses, tol, patience)
    np.testing.assert_allclose(_scales(rule, losses), expected, rtol=1e-12)


# ---------------------------------------------------------------- plain data


ROUND_TRIP = [
    schedules.constant(0.5),
    schedules.step_decay(0.1, 7, 0.3),
    schedules.exponential_decay(0.1, 0.9, 3, staircase=True),
    schedules.inverse_scaling(0.2, 0.4),
    schedules.cosine_decay(0.1, 50, alpha=0.05),
    schedules.linear_warmup(schedules.cosine_decay(0.1, 50), 5, init_value=0.01),
    schedules.linear_warmup(schedules.linear_warmup(schedules.constant(1.0), 2), 3),
    schedules.warmup_cosine_decay(0.3, 10, 90, end_value=0.003),
    schedules.reduce_on_plateau(0.5, 3, 1e-3, 1e-4),
]


@pytest.mark.parametrize("schedule", ROUND_TRIP, ids=lambda s: type(s).__name__)
def test_to_dict_from_dict_round_trip(schedule: Any) -> None:
    data = schedule.to_dict()
    again = schedules.from_dict(json.loads(json.dumps(data)))  # through JSON, as saved
    assert again == schedule
    assert type(again) is type(schedule)
    if isinstance(schedule, schedules.Schedule):
        assert [again(t) for t in range(0, 200, 7)] == [schedule(t) for t in range(0, 200, 7)]


def test_to_dict_nests_the_schedule_after_warmup() -> None:
    data = schedules.warmup_cosine_decay(1.0, 10, 100).to_dict()
    assert data == {
        "name": "linear_warmup",
        "after": {"name": "cosine_decay", "init_value": 1.0, "decay_steps": 100, "alpha": 0.0},
        "warmup_steps": 10,
        "init_value": 0.0,
    }


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"init_value": 0.1}, "from_dict() takes a dict with a 'name' key"),
        ([("name", "constant")], "from_dict() takes a dict with a 'name' key"),
        ({"name": "cosine"}, "Unknown schedule 'cosine'; choose one of: constant, cosine_decay"),
    ],
)
def test_from_dict_errors(data: Any, message: str) -> None:
    with pytest.raises(ValueError, match=_escape(message)):
        schedules.from_dict(data)


def test_from_dict_validates_again() -> None:
    with pytest.raises(ValueError, match="'decay_steps' parameter of cosine_decay"):
        schedules.from_dict({"name": "cosine_decay", "init_value": 0.1, "decay_steps": 0})


def test_get_builds_each_schedule() -> None:
    assert set(schedules.SCHEDULES) == {
        "constant",
        "step_decay",
        "exponential_decay",
        "inverse_scaling",
        "cosine_decay",
        "linear_warmup",
        "warmup_cosine_decay",
        "one_cycle",
        "cyclic",
        "multistep_decay",
        "polynomial_decay",
        "cosine_restarts",
    }
    assert schedules.get("step_decay", init_value=1.0, step_size=5)(5) == pytest.approx(0.1)
    assert schedules.get("cosine_decay", init_value=0.1, decay_steps=100)(50) == pytest.approx(0.05)
    assert schedules.get("constant", value=0.3)(9) == 0.3


@pytest.mark.parametrize("name", ["cosine", "StepLR", None, 3, "reduce_on_plateau"])
def test_get_unknown_name(name: Any) -> None:
    known = (
        "constant, cosine_decay, cosine_restarts, cyclic, exponential_decay, inverse_scaling, "
        "linear_warmup, multistep_decay, one_cycle, polynomial_decay, step_decay, "
        "warmup_cosine_decay"
    )
    with pytest.raises(
        ValueError, match=_escape(f"Unknown schedule {name!r}; choose one of: {known}.")
    ):
        schedules.get(name)


def test_get_with_a_wrong_parameter_name() -> None:
    with pytest.raises(TypeError, match="decay_step"):
        schedules.get("cosine_decay", init_value=0.1, decay_step=10)


# ---------------------------------------------------------------- validation


@pytest.mark.parametrize(
    ("build", "error", "message"),
    [
        (
            lambda: schedules.constant(0.0),
            ValueError,
            "'value' parameter of constant must be a float > 0. Got 0.0",
        ),
        (
            lambda: schedules.constant(-1),
            ValueError,
            "'value' parameter of constant must be a float > 0",
        ),
        (lambda: schedules.constant(float("nan")), ValueError, "'value' parameter of constant"),
        (
            lambda: schedules.constant("0.1"),
            TypeError,
            "'value' parameter of constant must be a number",
        ),
        (
            lambda: schedules.constant(True),
            TypeError,
            "'value' parameter of constant must be a number",
        ),
        (
            lambda: schedules.step_decay(1.0, 0),
            ValueError,
            "'step_size' parameter of step_decay must be an int >= 1. Got 0",
        ),
        (
            lambda: schedules.step_decay(1.0, 2.5),
            TypeError,
            "'step_size' parameter of step_decay must be an int >= 1",
        ),
        (
            lambda: schedules.step_decay(1.0, 2, gamma=0.0),
            ValueError,
            "'gamma' parameter of step_decay",
        ),
        (lambda: schedules.step_decay(-1.0, 2), ValueError, "'init_value' parameter of step_decay"),
        (
            lambda: schedules.exponential_decay(1.0, 0.0),
            ValueError,
            "'decay_rate' parameter of exponential_decay",
        ),
        (
            lambda: schedules.exponential_decay(1.0, 0.5, 0),
            ValueError,
            "'transition_steps' parameter of exponential_decay",
        ),
        (
            lambda: schedules.inverse_scaling(1.0, power_t=-0.5),
            ValueError,
            "'power_t' parameter of inverse_scaling must be a float >= 0",
        ),
        (
            lambda: schedules.inverse_scaling(0.0),
            ValueError,
            "'init_value' parameter of inverse_scaling",
        ),
        (
            lambda: schedules.cosine_decay(1.0, 0),
            ValueError,
            "'decay_steps' parameter of cosine_decay",
        ),
        (
            lambda: schedules.cosine_decay(1.0, 10, alpha=-0.1),
            ValueError,
            "'alpha' parameter of cosine_decay must be a float >= 0",
        ),
        (
            lambda: schedules.cosine_decay(1.0, 10, alpha=1.5),
            ValueError,
            "'alpha' parameter of cosine_decay must be in [0, 1]",
        ),
        (
            lambda: schedules.linear_warmup(0.1, 5),
            TypeError,
            "linear_warmup joins onto a gdlab schedule",
        ),
        (
            lambda: schedules.linear_warmup(schedules.constant(1.0), 0),
            ValueError,
            "'warmup_steps' parameter of linear_warmup",
        ),
        (
            lambda: schedules.linear_warmup(schedules.constant(1.0), 3, init_value=-1.0),
            ValueError,
            "'init_value' parameter of linear_warmup",
        ),
        (
            lambda: schedules.warmup_cosine_decay(1.0, 5, 10, end_value=2.0),
            ValueError,
            "'end_value' parameter of warmup_cosine_decay must be <= peak_value",
        ),
        (
            lambda: schedules.warmup_cosine_decay(0.0, 5, 10),
            ValueError,
            "'peak_value' parameter of warmup_cosine_decay",
        ),
        (
            lambda: schedules.reduce_on_plateau(factor=1.0),
            ValueError,
            "'factor' parameter of reduce_on_plateau must be < 1",
        ),
        (
            lambda: schedules.reduce_on_plateau(factor=0.0),
            ValueError,
            "'factor' parameter of reduce_on_plateau must be a float > 0",
        ),
        (
            lambda: schedules.reduce_on_plateau(patience=0),
            ValueError,
            "'patience' parameter of reduce_on_plateau must be an int >= 1",
        ),
        (
            lambda: schedules.reduce_on_plateau(threshold=-1.0),
            ValueError,
            "'threshold' parameter of reduce_on_plateau",
        ),
        (
            lambda: schedules.reduce_on_plateau(min_scale=0.0),
            ValueError,
            "'min_scale' parameter of reduce_on_plateau must be a float > 0",
        ),
        (
            lambda: schedules.reduce_on_plateau(min_scale=2.0),
            ValueError,
            "'min_scale' parameter of reduce_on_plateau must be <= 1",
        ),
    ],
)
def test_bad_parameters(build: Any, error: type, message: str) -> None:
    with pytest.raises(error, match=_escape(message)):
        build()


def test_numpy_scalars_are_accepted() -> None:
    assert schedules.constant(np.float32(0.5))(0) == 0.5
    assert schedules.step_decay(np.float64(1.0), np.int64(3), np.float32(0.5))(3) == 0.5
    assert schedules.cosine_decay(1.0, np.int32(10)).decay_steps == 10
