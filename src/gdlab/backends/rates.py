"""Learning rates of a whole epoch, computed before the epoch runs.

A compiled epoch takes its step sizes as an array: entry ``i`` is the rate of update ``i`` of the
epoch, ``rate(count0 + i)``. For the schedules of :mod:`gdlab.schedules` the array is computed with
NumPy's vectorised arithmetic, from the same formulas (the values agree with the Python calls to
rounding); any other callable is called once per update.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
from numpy.typing import NDArray

from gdlab.cyclic_schedules import NAMES as CYCLIC_NAMES
from gdlab.schedules import (
    Constant,
    CosineDecay,
    ExponentialDecay,
    InverseScaling,
    StepDecay,
    Warmup,
)

__all__ = ["UnsupportedRate", "epoch_rates"]

Rates = NDArray[np.float64]


class UnsupportedRate(ValueError):
    """The learning rate is not one scalar per update (for example one rate per run)."""


def epoch_rates(rate: float | Callable[[int], Any], start: int, count: int) -> Rates:
    """The step sizes of updates ``start, ..., start + count - 1``.

    A constant rate gives an array of length 1 (the kernels read entry 0 for every update).

    Parameters
    ----------
    rate : float or callable
        A constant step size or a schedule ``schedule(count) -> float``.
    start : int
        The number of updates made before the epoch (the schedule's first argument).
    count : int
        The number of updates in the epoch.

    Examples
    --------
    >>> from gdlab import schedules
    >>> epoch_rates(0.1, 5, 3)
    array([0.1])
    >>> epoch_rates(schedules.step_decay(1.0, step_size=2, gamma=0.5), 1, 4)
    array([1.  , 0.5 , 0.5 , 0.25])
    """
    if not callable(rate):
        value = np.asarray(rate, dtype=np.float64)
        if value.ndim != 0:
            raise UnsupportedRate("one learning rate per run needs the NumPy path")
        return value.reshape(1).copy()
    steps = np.arange(start, start + count, dtype=np.int64)
    values = _vectorised(rate, steps)
    if values is None:
        values = np.empty(count, dtype=np.float64)
        for i, step in enumerate(range(start, start + count)):
            value = rate(step)
            if np.ndim(value) != 0:
                raise UnsupportedRate("a schedule that returns one rate per run needs NumPy")
            values[i] = float(value)
    return values


def _vectorised(schedule: Any, steps: NDArray[np.int64]) -> Rates | None:
    """The schedule at every step, by the schedule's own formula; ``None`` for unknown ones."""
    kind = type(schedule)
    if kind in CYCLIC_NAMES:  # these carry their vectorised form as a method
        return np.asarray(schedule.values(steps), dtype=np.float64)
    t = steps.astype(np.float64)
    if kind is Constant:
        return np.full(steps.shape, float(schedule.value))
    if kind is StepDecay:
        exponent = (steps // schedule.step_size).astype(np.float64)
        return schedule.init_value * np.power(float(schedule.gamma), exponent)
    if kind is ExponentialDecay:
        exponent = t / schedule.transition_steps
        if schedule.staircase:
            exponent = np.floor(exponent)
        return schedule.init_value * np.power(float(schedule.decay_rate), exponent)
    if kind is InverseScaling:
        return schedule.init_value / np.power(t + 1.0, float(schedule.power_t))
    if kind is CosineDecay:
        progress = np.minimum(steps, schedule.decay_steps) / schedule.decay_steps
        cosine = 0.5 * (1.0 + np.cos(math.pi * progress))
        return schedule.init_value * ((1.0 - schedule.alpha) * cosine + schedule.alpha)
    if kind is Warmup:
        warm = steps < schedule.warmup_steps
        out = np.empty(steps.shape, dtype=np.float64)
        if np.any(warm):
            peak = float(schedule.after(0))
            rise = (peak - schedule.init_value) * t[warm] / schedule.warmup_steps
            out[warm] = schedule.init_value + rise
        if not np.all(warm):
            after = _vectorised(schedule.after, steps[~warm] - schedule.warmup_steps)
            if after is None:
                return None
            out[~warm] = after
        return out
    return None
