"""Each schedule's vectorised values equal its scalar formula, bit for bit.

The compiled back-ends take the rates of a whole epoch from ``Schedule.values`` and the NumPy
reference calls the schedule once per update: the two forms sit side by side in each class, and
this test is their oracle (every factory of ``gdlab.schedules.SCHEDULES``, warmups around each
kind, and a subclass that only writes ``__call__``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest

from gdlab import schedules
from gdlab.backends.rates import epoch_rates

STEPS = np.concatenate([np.arange(0, 2500), [9_999, 10_000, 123_457, 10**6]]).astype(np.int64)

CASES = {
    "constant": schedules.constant(0.1),
    "step_decay": schedules.step_decay(1.0, step_size=7, gamma=0.3),
    "exponential_decay": schedules.exponential_decay(0.5, decay_rate=0.93, transition_steps=3),
    "exponential_decay/staircase": schedules.exponential_decay(0.5, 0.93, 3, staircase=True),
    "inverse_scaling": schedules.inverse_scaling(0.7, power_t=0.31),
    "inverse_scaling/default": schedules.inverse_scaling(0.01),
    "cosine_decay": schedules.cosine_decay(0.3, decay_steps=1000, alpha=0.05),
    "linear_warmup": schedules.linear_warmup(schedules.step_decay(1.0, 10), 20, init_value=0.1),
    "warmup_cosine_decay": schedules.warmup_cosine_decay(0.2, 50, 900, end_value=0.01),
    "one_cycle": schedules.one_cycle(0.1, total_steps=1000),
    "one_cycle/three_phase": schedules.one_cycle(0.1, 999, anneal_strategy="linear",
                                                 three_phase=True),
    "cyclic": schedules.cyclic(0.01, 0.1, step_size_up=37, mode="triangular2"),
    "cyclic/exp_range": schedules.cyclic(0.01, 0.1, 37, 11, mode="exp_range", gamma=0.999),
    "multistep_decay": schedules.multistep_decay(1.0, milestones=[10, 300, 300], gamma=0.7),
    "polynomial_decay": schedules.polynomial_decay(1.0, total_steps=777, power=1.7),
    "cosine_restarts": schedules.cosine_restarts(1.0, period=33, period_mult=2, min_value=0.01),
}  # fmt: skip


def test_every_schedule_is_covered():
    assert {type(s) for s in CASES.values()} == set(schedules.SCHEDULE_NAMES)
    assert {name.split("/")[0] for name in CASES} == set(schedules.SCHEDULES)


@pytest.mark.parametrize("name", sorted(CASES))
def test_values_equal_the_scalar_formula_bit_for_bit(name):
    schedule = CASES[name]
    expected = np.array([schedule(int(step)) for step in STEPS], dtype=np.float64)
    values = schedule.values(STEPS)
    assert values.dtype == np.float64 and values.shape == STEPS.shape
    np.testing.assert_array_equal(values, expected)
    # the compiled back-ends read an epoch's rates from the same method
    np.testing.assert_array_equal(epoch_rates(schedule, 5, 20), expected[5:25])


@pytest.mark.parametrize("name", sorted(CASES))
def test_warmup_before_each_schedule_is_bit_for_bit(name):
    schedule = schedules.linear_warmup(CASES[name], warmup_steps=13, init_value=0.001)
    expected = [schedule(int(step)) for step in STEPS[:400]]
    np.testing.assert_array_equal(schedule.values(STEPS[:400]), expected)


@dataclass(frozen=True)
class Halving(schedules.Schedule):
    """A user's schedule that writes only the scalar formula."""

    registry_name = "halving"

    init_value: float

    def __call__(self, count: int) -> float:
        return self.init_value / 2**count


def test_a_schedule_with_only_a_scalar_formula_gets_values_from_it():
    schedule = Halving(1.0)
    np.testing.assert_array_equal(schedule.values(np.arange(4)), [1.0, 0.5, 0.25, 0.125])
    np.testing.assert_array_equal(epoch_rates(schedule, 2, 2), [0.25, 0.125])
    warm = schedules.linear_warmup(schedule, warmup_steps=2)
    np.testing.assert_array_equal(warm.values(np.arange(4)), [0.0, 0.5, 1.0, 0.5])
