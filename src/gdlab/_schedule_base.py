"""The base of gdlab's schedules and the checks of their parameters (see :mod:`gdlab.schedules`).

Kept apart so that the modules of schedules (:mod:`gdlab.schedules`,
:mod:`gdlab._cyclic_schedules`) build on it without importing each other.
"""

from __future__ import annotations

import math
from dataclasses import fields
from numbers import Integral, Real
from typing import Any

import numpy as np
from numpy.typing import NDArray

__all__ = ["Rates", "Schedule", "Steps"]

#: the step counts a schedule is evaluated at, and its rates there
Steps = NDArray[np.int64]
Rates = NDArray[np.float64]


def _positive(name: str, value: float, owner: str, *, allow_zero: bool = False) -> float:
    if isinstance(value, bool) or not isinstance(value, Real):
        raise TypeError(f"The {name!r} parameter of {owner} must be a number. Got {value!r}.")
    if not math.isfinite(value) or value < 0 or (value == 0 and not allow_zero):
        bound = ">= 0" if allow_zero else "> 0"
        raise ValueError(
            f"The {name!r} parameter of {owner} must be a float {bound}. Got {value!r} instead."
        )
    return float(value)


def _count(count: int) -> int:
    if isinstance(count, bool) or not isinstance(count, Integral):
        raise TypeError(f"A schedule's step count must be an int >= 0. Got {count!r}.")
    if count < 0:
        raise ValueError(f"A schedule's step count must be >= 0. Got {count}.")
    return int(count)


class Schedule:
    """Base of the schedules here: callable on the step count and convertible to plain data.

    Each schedule carries its formula twice, side by side: ``__call__(count)`` for one step (the
    NumPy path of the engine) and :meth:`values` for a whole array of steps (the compiled
    back-ends read the rates of an epoch from it); both give the same floats, bit for bit (powers
    use ``np.float_power``, which calls the C library's ``pow`` as Python's ``**`` does;
    ``np.power`` can differ in the last bit).
    """

    #: the name under which :func:`gdlab.schedules.get` builds it (the function's name)
    registry_name: str = ""

    def __call__(self, count: int) -> float:  # pragma: no cover - overridden
        raise NotImplementedError

    def values(self, steps: Steps) -> Rates:
        """The rate at every step of ``steps`` (this default calls the schedule once per step)."""
        return np.array([self(int(step)) for step in steps], dtype=np.float64)

    def to_dict(self) -> dict[str, Any]:
        """The schedule as ``{"name": ..., **parameters}``, JSON-compatible."""
        data: dict[str, Any] = {"name": self.registry_name}
        for item in fields(self):  # type: ignore[arg-type]
            value = getattr(self, item.name)
            data[item.name] = value.to_dict() if isinstance(value, Schedule) else value
        return data


def _steps(name: str, value: int, owner: str) -> int:
    if isinstance(value, bool) or not isinstance(value, Integral):
        raise TypeError(f"The {name!r} parameter of {owner} must be an int >= 1. Got {value!r}.")
    if value < 1:
        raise ValueError(f"The {name!r} parameter of {owner} must be an int >= 1. Got {value!r}.")
    return int(value)
