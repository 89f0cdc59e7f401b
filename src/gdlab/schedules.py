"""Learning-rate schedules: functions of the number of updates made so far.

A schedule is any callable ``schedule(count) -> learning_rate`` where ``count`` is 0 for the first
update. The ones here are small frozen dataclasses, so they can be compared, printed and saved as
plain data (:meth:`Schedule.to_dict`). Pass one wherever a ``learning_rate`` is accepted::

    from gdlab import optim, schedules
    tx = optim.sgd(learning_rate=schedules.cosine_decay(init_value=0.1, decay_steps=1000))

:func:`reduce_on_plateau` is different: it reacts to the loss, not to the step count
(scikit-learn's ``learning_rate="adaptive"``), so it is a block chained after the optimizer
(:func:`gdlab.optim.scale_by_plateau`) that the training engine tells each epoch's loss; it lives
in :mod:`gdlab.optim.plateau` and is offered here too.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from gdlab._schedule_base import Rates, Schedule, Steps, _count, _positive, _steps
from gdlab.optim.plateau import PlateauRule, PlateauState, reduce_on_plateau

__all__ = [
    "SCHEDULES",
    "Constant",
    "CosineDecay",
    "CosineRestarts",
    "Cyclic",
    "ExponentialDecay",
    "InverseScaling",
    "MultiStepDecay",
    "OneCycle",
    "PlateauRule",
    "PlateauState",
    "PolynomialDecay",
    "Schedule",
    "StepDecay",
    "Warmup",
    "constant",
    "cosine_decay",
    "cosine_restarts",
    "cyclic",
    "exponential_decay",
    "from_dict",
    "get",
    "inverse_scaling",
    "linear_warmup",
    "multistep_decay",
    "one_cycle",
    "polynomial_decay",
    "reduce_on_plateau",
    "step_decay",
    "warmup_cosine_decay",
]


@dataclass(frozen=True)
class Constant(Schedule):
    """``eta_t = value``."""

    registry_name = "constant"

    value: float

    def __call__(self, count: int) -> float:
        return self.value

    def values(self, steps: Steps) -> Rates:
        """The rate at every step of ``steps``."""
        return np.full(steps.shape, float(self.value))


@dataclass(frozen=True)
class StepDecay(Schedule):
    """``eta_t = init_value * gamma ** floor(t / step_size)`` (PyTorch's ``StepLR``)."""

    registry_name = "step_decay"

    init_value: float
    step_size: int
    gamma: float = 0.1

    def __call__(self, count: int) -> float:
        return self.init_value * self.gamma ** (_count(count) // self.step_size)

    def values(self, steps: Steps) -> Rates:
        """The rate at every step of ``steps``."""
        exponent = (steps // self.step_size).astype(np.float64)
        return self.init_value * np.float_power(float(self.gamma), exponent)


@dataclass(frozen=True)
class ExponentialDecay(Schedule):
    """``eta_t = init_value * decay_rate ** (t / transition_steps)``; floored when ``staircase``."""

    registry_name = "exponential_decay"

    init_value: float
    decay_rate: float
    transition_steps: int = 1
    staircase: bool = False

    def __call__(self, count: int) -> float:
        exponent = _count(count) / self.transition_steps
        if self.staircase:
            exponent = math.floor(exponent)
        return self.init_value * self.decay_rate**exponent

    def values(self, steps: Steps) -> Rates:
        """The rate at every step of ``steps``."""
        exponent = steps.astype(np.float64) / self.transition_steps
        if self.staircase:
            exponent = np.floor(exponent)
        return self.init_value * np.float_power(float(self.decay_rate), exponent)


@dataclass(frozen=True)
class InverseScaling(Schedule):
    """``eta_t = init_value / (t + 1) ** power_t`` (scikit-learn's ``"invscaling"``)."""

    registry_name = "inverse_scaling"

    init_value: float
    power_t: float = 0.25

    def __call__(self, count: int) -> float:
        return self.init_value / (_count(count) + 1) ** self.power_t

    def values(self, steps: Steps) -> Rates:
        """The rate at every step of ``steps``."""
        return self.init_value / np.float_power(steps.astype(np.float64) + 1.0, float(self.power_t))


@dataclass(frozen=True)
class CosineDecay(Schedule):
    """Half a cosine from ``init_value`` down to ``alpha * init_value`` over ``decay_steps``.

    ``eta_t = init_value * ((1 - alpha) * (1 + cos(pi * min(t, T) / T)) / 2 + alpha)``, ``T`` the
    number of decay steps (Optax's ``cosine_decay_schedule``).
    """

    registry_name = "cosine_decay"

    init_value: float
    decay_steps: int
    alpha: float = 0.0

    def __call__(self, count: int) -> float:
        progress = min(_count(count), self.decay_steps) / self.decay_steps
        cosine = 0.5 * (1.0 + math.cos(math.pi * progress))
        return self.init_value * ((1.0 - self.alpha) * cosine + self.alpha)

    def values(self, steps: Steps) -> Rates:
        """The rate at every step of ``steps``."""
        progress = np.minimum(steps, self.decay_steps) / self.decay_steps
        cosine = 0.5 * (1.0 + np.cos(math.pi * progress))
        return self.init_value * ((1.0 - self.alpha) * cosine + self.alpha)


@dataclass(frozen=True)
class Warmup(Schedule):
    """Rise linearly from ``init_value`` to ``after(0)`` in ``warmup_steps``, then follow ``after``.

    ``eta_t = init_value + (after(0) - init_value) * t / W`` for ``t < W``, else ``after(t - W)``.
    """

    registry_name = "linear_warmup"

    after: Schedule
    warmup_steps: int
    init_value: float = 0.0

    def __call__(self, count: int) -> float:
        count = _count(count)
        if count < self.warmup_steps:
            peak = self.after(0)
            return self.init_value + (peak - self.init_value) * count / self.warmup_steps
        return self.after(count - self.warmup_steps)

    def values(self, steps: Steps) -> Rates:
        """The rate at every step of ``steps``."""
        warm = steps < self.warmup_steps
        out = np.empty(steps.shape, dtype=np.float64)
        if np.any(warm):
            peak = float(self.after(0))
            rise = (peak - self.init_value) * steps[warm].astype(np.float64) / self.warmup_steps
            out[warm] = self.init_value + rise
        if not np.all(warm):
            out[~warm] = self.after.values(steps[~warm] - self.warmup_steps)
        return out


def constant(value: float) -> Constant:
    """A constant learning rate.

    Examples
    --------
    >>> constant(0.1)(500)
    0.1
    """
    return Constant(_positive("value", value, "constant"))


def step_decay(init_value: float, step_size: int, gamma: float = 0.1) -> StepDecay:
    """Multiply the rate by ``gamma`` every ``step_size`` updates.

    Examples
    --------
    >>> schedule = step_decay(init_value=1.0, step_size=10, gamma=0.5)
    >>> [schedule(t) for t in (0, 9, 10, 25)]
    [1.0, 1.0, 0.5, 0.25]
    """
    return StepDecay(
        _positive("init_value", init_value, "step_decay"),
        _steps("step_size", step_size, "step_decay"),
        _positive("gamma", gamma, "step_decay"),
    )


def exponential_decay(
    init_value: float, decay_rate: float, transition_steps: int = 1, staircase: bool = False
) -> ExponentialDecay:
    """Decay the rate by ``decay_rate`` every ``transition_steps`` updates, smoothly or in stairs.

    Examples
    --------
    >>> exponential_decay(init_value=1.0, decay_rate=0.5, transition_steps=2)(3)
    0.3535533905932738
    """
    return ExponentialDecay(
        _positive("init_value", init_value, "exponential_decay"),
        _positive("decay_rate", decay_rate, "exponential_decay"),
        _steps("transition_steps", transition_steps, "exponential_decay"),
        bool(staircase),
    )


def inverse_scaling(init_value: float, power_t: float = 0.25) -> InverseScaling:
    """``init_value / (t + 1) ** power_t``, scikit-learn's ``learning_rate="invscaling"``.

    Examples
    --------
    >>> inverse_scaling(init_value=1.0, power_t=0.5)(3)
    0.5
    """
    return InverseScaling(
        _positive("init_value", init_value, "inverse_scaling"),
        _positive("power_t", power_t, "inverse_scaling", allow_zero=True),
    )


def cosine_decay(init_value: float, decay_steps: int, alpha: float = 0.0) -> CosineDecay:
    """Cosine annealing from ``init_value`` to ``alpha * init_value`` over ``decay_steps`` updates.

    ``eta_t = init_value * ((1 - alpha) * (1 + cos(pi * min(t, T) / T)) / 2 + alpha)`` with
    ``T = decay_steps``: Optax's ``cosine_decay_schedule``, and PyTorch's ``CosineAnnealingLR``
    with ``T_max = T`` and ``eta_min = alpha * init_value`` for ``t <= T`` (after ``T`` PyTorch
    rises again, this schedule stays at ``alpha * init_value``). ``alpha`` is in ``[0, 1]``.

    Examples
    --------
    >>> schedule = cosine_decay(init_value=0.1, decay_steps=100)
    >>> schedule(0), round(schedule(50), 12), schedule(100)
    (0.1, 0.05, 0.0)
    """
    alpha = _positive("alpha", alpha, "cosine_decay", allow_zero=True)
    if alpha > 1:
        raise ValueError(
            f"The 'alpha' parameter of cosine_decay must be in [0, 1] (the final rate is "
            f"alpha * init_value). Got {alpha!r} instead."
        )
    return CosineDecay(
        _positive("init_value", init_value, "cosine_decay"),
        _steps("decay_steps", decay_steps, "cosine_decay"),
        alpha,
    )


def linear_warmup(after: Schedule, warmup_steps: int, init_value: float = 0.0) -> Warmup:
    """Warm up linearly over ``warmup_steps`` updates, then hand over to ``after``.

    Examples
    --------
    >>> schedule = linear_warmup(constant(1.0), warmup_steps=4)
    >>> [schedule(t) for t in range(6)]
    [0.0, 0.25, 0.5, 0.75, 1.0, 1.0]
    """
    if not isinstance(after, Schedule):
        raise TypeError("linear_warmup joins onto a gdlab schedule (for example constant(0.1)).")
    return Warmup(
        after,
        _steps("warmup_steps", warmup_steps, "linear_warmup"),
        _positive("init_value", init_value, "linear_warmup", allow_zero=True),
    )


def warmup_cosine_decay(
    peak_value: float, warmup_steps: int, decay_steps: int, end_value: float = 0.0
) -> Warmup:
    """Linear warmup from 0 to ``peak_value``, then cosine decay to ``end_value``.

    ``eta_t = peak_value * t / W`` for ``t < W``, then :func:`cosine_decay` from ``peak_value`` to
    ``end_value`` over the next ``decay_steps`` updates. Unlike Optax's
    ``warmup_cosine_decay_schedule``, whose ``decay_steps`` includes the warmup, ``decay_steps``
    here counts the cosine phase only: the schedule reaches ``end_value`` at ``W + decay_steps``.

    Examples
    --------
    >>> schedule = warmup_cosine_decay(peak_value=1.0, warmup_steps=10, decay_steps=100)
    >>> schedule(5), schedule(10), schedule(110)
    (0.5, 1.0, 0.0)
    """
    peak_value = _positive("peak_value", peak_value, "warmup_cosine_decay")
    end_value = _positive("end_value", end_value, "warmup_cosine_decay", allow_zero=True)
    if end_value > peak_value:
        raise ValueError(
            "The 'end_value' parameter of warmup_cosine_decay must be <= peak_value "
            f"({peak_value!r}). Got {end_value!r} instead."
        )
    alpha = end_value / peak_value
    return linear_warmup(cosine_decay(peak_value, decay_steps, alpha), warmup_steps)


SCHEDULE_NAMES: dict[type, str] = {
    Constant: "constant",
    StepDecay: "step_decay",
    ExponentialDecay: "exponential_decay",
    InverseScaling: "inverse_scaling",
    CosineDecay: "cosine_decay",
    Warmup: "linear_warmup",
}

SCHEDULES = {
    "constant": constant,
    "step_decay": step_decay,
    "exponential_decay": exponential_decay,
    "inverse_scaling": inverse_scaling,
    "cosine_decay": cosine_decay,
    "linear_warmup": linear_warmup,
    "warmup_cosine_decay": warmup_cosine_decay,
}

# The schedulers of PyTorch that cycle or restart live in their own module; they are part of this
# vocabulary (imported here, after the base class they extend is defined).
from gdlab._cyclic_schedules import (  # noqa: E402
    FACTORIES as _CYCLIC_FACTORIES,
)
from gdlab._cyclic_schedules import (  # noqa: E402
    NAMES as _CYCLIC_NAMES,
)
from gdlab._cyclic_schedules import (  # noqa: E402
    CosineRestarts,
    Cyclic,
    MultiStepDecay,
    OneCycle,
    PolynomialDecay,
    cosine_restarts,
    cyclic,
    multistep_decay,
    one_cycle,
    polynomial_decay,
)

SCHEDULE_NAMES.update(_CYCLIC_NAMES)
SCHEDULES.update(_CYCLIC_FACTORIES)


def get(name: str, **parameters: Any) -> Schedule:
    """Build a schedule by name: ``get("cosine_decay", init_value=0.1, decay_steps=100)``.

    Examples
    --------
    >>> get("step_decay", init_value=1.0, step_size=5)(5)
    0.1
    """
    try:
        factory = SCHEDULES[name]
    except (KeyError, TypeError):
        known = ", ".join(sorted(SCHEDULES))
        raise ValueError(f"Unknown schedule {name!r}; choose one of: {known}.") from None
    return factory(**parameters)  # type: ignore[operator]


def from_dict(data: dict[str, Any]) -> Schedule | PlateauRule:
    """Rebuild a schedule (or a plateau rule) saved with its ``to_dict()``.

    The parameters are validated again, as if the schedule were built by hand.

    Examples
    --------
    >>> from_dict(cosine_decay(0.1, 10).to_dict()) == cosine_decay(0.1, 10)
    True
    >>> from_dict(reduce_on_plateau(patience=3).to_dict()).patience
    3
    """
    if not isinstance(data, dict) or "name" not in data:
        raise ValueError(
            f"from_dict() takes a dict with a 'name' key, as written by to_dict(). Got {data!r}."
        )
    data = dict(data)
    name = data.pop("name")
    if name == "reduce_on_plateau":
        return reduce_on_plateau(**data)
    if name == "linear_warmup" and "after" in data:
        data["after"] = from_dict(data["after"])
    return get(name, **data)
