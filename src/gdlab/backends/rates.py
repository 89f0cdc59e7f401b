"""Learning rates of a whole epoch, computed before the epoch runs.

A compiled epoch takes its step sizes as an array: entry ``i`` is the rate of update ``i`` of the
epoch, ``rate(count0 + i)``. For the schedules of :mod:`gdlab.schedules` the array is computed with
the schedule's own vectorised form, :meth:`~gdlab.schedules.Schedule.values`, written beside its
scalar formula; any other callable is called once per update.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from numpy.typing import NDArray

from gdlab.schedules import Schedule

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
    if isinstance(rate, Schedule):  # each schedule carries its vectorised form
        return np.asarray(rate.values(steps), dtype=np.float64)
    values = np.empty(count, dtype=np.float64)
    for i, step in enumerate(range(start, start + count)):
        value = rate(step)
        if np.ndim(value) != 0:
            raise UnsupportedRate("a schedule that returns one rate per run needs NumPy")
        values[i] = float(value)
    return values
