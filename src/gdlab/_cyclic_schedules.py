"""PyTorch's remaining learning-rate schedulers as gdlab schedules: cycles, restarts and milestones.

Each is a function of the update count ``t`` (0 for the first update) equal to the learning rate
that the matching ``torch.optim.lr_scheduler`` class gives at its ``t``-th step, and each has its
vectorised form :meth:`values` beside the scalar one (the compiled back-ends read the rates of a
whole epoch from it). They are re-exported by :mod:`gdlab.schedules`; use them from there::

    from gdlab import schedules
    rate = schedules.one_cycle(max_value=0.1, total_steps=1000)

==========================  ===========================================  =====================
gdlab                       formula                                      PyTorch
==========================  ===========================================  =====================
:func:`one_cycle`           warm up to ``max_value``, anneal far below   ``OneCycleLR``
:func:`cyclic`              triangle waves between two values            ``CyclicLR``
:func:`multistep_decay`     ``init * gamma ** #(milestones <= t)``       ``MultiStepLR``
:func:`polynomial_decay`    ``init * (1 - min(t, T) / T) ** power``      ``PolynomialLR``
:func:`cosine_restarts`     cosine annealing restarted every period      ``CosineAnnealing``
                                                                         ``WarmRestarts``
==========================  ===========================================  =====================
"""

from __future__ import annotations

import bisect
import itertools
import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from gdlab._schedule_base import Schedule, _count, _positive, _steps

__all__ = [
    "CosineRestarts",
    "Cyclic",
    "MultiStepDecay",
    "OneCycle",
    "PolynomialDecay",
    "cosine_restarts",
    "cyclic",
    "multistep_decay",
    "one_cycle",
    "polynomial_decay",
]

Rates = NDArray[np.float64]
Steps = NDArray[np.int64]


def _anneal(start: Any, end: Any, pct: Any, strategy: str) -> Any:
    if strategy == "cos":
        return end + (start - end) / 2.0 * (np.cos(math.pi * pct) + 1)
    return (end - start) * pct + start


@dataclass(frozen=True)
class OneCycle(Schedule):
    """The 1cycle policy (PyTorch's ``OneCycleLR``), see :func:`one_cycle`."""

    registry_name = "one_cycle"

    max_value: float
    total_steps: int
    pct_start: float = 0.3
    div_factor: float = 25.0
    final_div_factor: float = 1e4
    anneal_strategy: str = "cos"
    three_phase: bool = False

    def _phases(self) -> list[tuple[float, float, float]]:
        """``(end_step, start_value, end_value)`` of each phase."""
        initial = self.max_value / self.div_factor
        final = initial / self.final_div_factor
        rise = float(self.pct_start * self.total_steps) - 1
        last = float(self.total_steps - 1)
        if self.three_phase:
            fall = float(2 * self.pct_start * self.total_steps) - 2
            return [(rise, initial, self.max_value), (fall, self.max_value, initial),
                    (last, initial, final)]  # fmt: skip
        return [(rise, initial, self.max_value), (last, self.max_value, final)]

    def __call__(self, count: int) -> float:
        return float(self.values(np.array([_count(count)]))[0])

    def values(self, steps: Steps) -> Rates:
        """The rate at every step of ``steps`` (after ``total_steps - 1`` it stays at the last)."""
        t = np.minimum(steps, self.total_steps - 1).astype(np.float64)
        out = np.empty(t.shape, dtype=np.float64)
        start_step, done = 0.0, np.zeros(t.shape, dtype=bool)
        phases = self._phases()
        for i, (end_step, start, end) in enumerate(phases):
            here = ~done if i == len(phases) - 1 else ~done & (t <= end_step)
            pct = (t[here] - start_step) / (end_step - start_step)
            out[here] = _anneal(start, end, pct, self.anneal_strategy)
            done |= here
            start_step = end_step
        return out


@dataclass(frozen=True)
class Cyclic(Schedule):
    """Cyclical learning rates (PyTorch's ``CyclicLR``), see :func:`cyclic`."""

    registry_name = "cyclic"

    base_value: float
    max_value: float
    step_size_up: int = 2000
    step_size_down: int | None = None
    mode: str = "triangular"
    gamma: float = 1.0

    def __call__(self, count: int) -> float:
        return float(self.values(np.array([_count(count)]))[0])

    def values(self, steps: Steps) -> Rates:
        """The rate at every step of ``steps``."""
        down = self.step_size_up if self.step_size_down is None else self.step_size_down
        total = float(self.step_size_up + down)
        ratio = self.step_size_up / total
        t = steps.astype(np.float64)
        cycle = np.floor(1 + t / total)
        x = 1.0 + t / total - cycle
        factor = np.where(x <= ratio, x / ratio, (x - 1) / (ratio - 1))
        height = (self.max_value - self.base_value) * factor
        if self.mode == "triangular":
            scale = np.ones_like(t)
        elif self.mode == "triangular2":
            # 1 / 2 ** (c - 1), exactly, without overflowing 2 ** (c - 1) on long runs
            scale = np.ldexp(1.0, -(cycle - 1).astype(np.int64))
        else:  # exp_range scales by the step count, not the cycle
            scale = np.power(self.gamma, t)
        return self.base_value + height * scale


@dataclass(frozen=True)
class MultiStepDecay(Schedule):
    """``init_value * gamma ** (number of milestones <= t)`` (PyTorch's ``MultiStepLR``)."""

    registry_name = "multistep_decay"

    init_value: float
    milestones: tuple[int, ...]
    gamma: float = 0.1

    def __call__(self, count: int) -> float:
        passed = bisect.bisect_right(self.milestones, _count(count))
        return self.init_value * self.gamma**passed

    def values(self, steps: Steps) -> Rates:
        """The rate at every step of ``steps``."""
        passed = np.searchsorted(np.array(self.milestones, dtype=np.int64), steps, side="right")
        return self.init_value * np.float_power(float(self.gamma), passed.astype(np.float64))


@dataclass(frozen=True)
class PolynomialDecay(Schedule):
    """``init_value * (1 - min(t, T) / T) ** power`` (PyTorch's ``PolynomialLR``)."""

    registry_name = "polynomial_decay"

    init_value: float
    total_steps: int
    power: float = 1.0

    def __call__(self, count: int) -> float:
        return float(self.values(np.array([_count(count)]))[0])

    def values(self, steps: Steps) -> Rates:
        """The rate at every step of ``steps``."""
        done = np.minimum(steps, self.total_steps).astype(np.float64) / self.total_steps
        return self.init_value * np.power(1.0 - done, float(self.power))


@dataclass(frozen=True)
class CosineRestarts(Schedule):
    """Cosine annealing with warm restarts (PyTorch's ``CosineAnnealingWarmRestarts``)."""

    registry_name = "cosine_restarts"

    init_value: float
    period: int
    period_mult: int = 1
    min_value: float = 0.0

    def __call__(self, count: int) -> float:
        return float(self.values(np.array([_count(count)]))[0])

    def values(self, steps: Steps) -> Rates:
        """The rate at every step of ``steps``: cycle ``i`` lasts ``period * period_mult ** i``."""
        t_cur = np.asarray(steps, dtype=np.int64).copy()
        t_i = np.full(t_cur.shape, self.period, dtype=np.int64)
        while True:  # peel off whole cycles (log many when period_mult > 1)
            over = t_cur >= t_i
            if not np.any(over):
                break
            if self.period_mult == 1:
                t_cur[over] %= self.period
                continue
            t_cur[over] -= t_i[over]
            t_i[over] *= self.period_mult
        cosine = 1 + np.cos(math.pi * t_cur / t_i)
        return self.min_value + (self.init_value - self.min_value) * cosine / 2


def one_cycle(
    max_value: float,
    total_steps: int,
    pct_start: float = 0.3,
    div_factor: float = 25.0,
    final_div_factor: float = 1e4,
    anneal_strategy: str = "cos",
    three_phase: bool = False,
) -> OneCycle:
    """The 1cycle policy: up from ``max_value / div_factor`` to ``max_value``, then far down.

    The first ``pct_start * total_steps - 1`` updates anneal from ``initial = max_value /
    div_factor`` to ``max_value``; the rest anneal to ``initial / final_div_factor`` at update
    ``total_steps - 1`` (with ``three_phase`` back to ``initial`` over as many updates first).
    Annealing from ``a`` to ``b`` over the share ``p`` of a phase is
    ``b + (a - b) (1 + cos(pi p)) / 2`` ("cos") or ``a + (b - a) p`` ("linear"). PyTorch's
    ``OneCycleLR`` with ``max_lr=max_value``; after ``total_steps`` the rate stays at its last
    value.

    Examples
    --------
    >>> schedule = one_cycle(max_value=1.0, total_steps=100, div_factor=10.0)
    >>> schedule(0), schedule(29), schedule(99)
    (0.1, 1.0, 1e-05)
    """
    owner = "one_cycle"
    strategy = str(anneal_strategy)
    if anneal_strategy not in ("cos", "linear"):
        raise ValueError(
            f"The 'anneal_strategy' parameter of {owner} must be 'cos' or 'linear'. "
            f"Got {anneal_strategy!r} instead."
        )
    pct = _positive("pct_start", pct_start, owner)
    if pct >= 1:
        raise ValueError(f"The 'pct_start' parameter of {owner} must be in (0, 1). Got {pct!r}.")
    made = OneCycle(
        _positive("max_value", max_value, owner),
        _steps("total_steps", total_steps, owner),
        pct,
        _positive("div_factor", div_factor, owner),
        _positive("final_div_factor", final_div_factor, owner),
        strategy,
        bool(three_phase),
    )
    ends = [0.0] + [end for end, _, _ in made._phases()]
    if any(b <= a for a, b in itertools.pairwise(ends)):
        raise ValueError(
            f"{owner}: total_steps={made.total_steps} with pct_start={pct} leaves a phase without "
            "updates; raise total_steps or move pct_start away from 0 and 1."
        )
    return made


def cyclic(
    base_value: float,
    max_value: float,
    step_size_up: int = 2000,
    step_size_down: int | None = None,
    mode: str = "triangular",
    gamma: float = 1.0,
) -> Cyclic:
    """Cycle between ``base_value`` and ``max_value``: up in ``step_size_up`` updates, then down.

    With ``c = floor(1 + t / S)`` the cycle (``S`` the up plus down steps) and
    ``x = 1 + t / S - c`` the place in it, the rate is ``base + (max - base) h(x) s`` where ``h``
    rises linearly from 0 to 1 and falls back, and ``s`` is 1 ("triangular"),
    ``1 / 2 ** (c - 1)`` ("triangular2": the height halves each cycle) or ``gamma ** t``
    ("exp_range"). PyTorch's ``CyclicLR``.

    Examples
    --------
    >>> schedule = cyclic(0.0, 1.0, step_size_up=2, mode="triangular2")
    >>> [schedule(t) for t in range(7)]
    [0.0, 0.5, 1.0, 0.5, 0.0, 0.25, 0.5]
    """
    owner = "cyclic"
    if mode not in ("triangular", "triangular2", "exp_range"):
        raise ValueError(
            f"The 'mode' parameter of {owner} must be a str among {{'triangular', 'triangular2', "
            f"'exp_range'}}. Got {mode!r} instead."
        )
    down = None if step_size_down is None else _steps("step_size_down", step_size_down, owner)
    return Cyclic(
        _positive("base_value", base_value, owner, allow_zero=True),
        _positive("max_value", max_value, owner),
        _steps("step_size_up", step_size_up, owner),
        down,
        str(mode),
        _positive("gamma", gamma, owner),
    )


def multistep_decay(init_value: float, milestones: Iterable[int], gamma: float = 0.1) -> Any:
    """Multiply the rate by ``gamma`` at each of the ``milestones`` (update counts).

    ``eta_t = init_value * gamma ** k`` with ``k`` the number of milestones ``<= t`` (a repeated
    milestone counts twice): PyTorch's ``MultiStepLR``.

    Examples
    --------
    >>> schedule = multistep_decay(1.0, milestones=[2, 5], gamma=0.5)
    >>> [schedule(t) for t in range(7)]
    [1.0, 1.0, 0.5, 0.5, 0.5, 0.25, 0.25]
    """
    owner = "multistep_decay"
    try:
        points = [int(m) for m in milestones if not isinstance(m, bool) and int(m) == m]
        complete = len(points) == len(list(milestones))
    except (TypeError, ValueError):
        complete = False
    if not complete or any(m < 0 for m in points):
        raise ValueError(
            f"The 'milestones' parameter of {owner} must be a list of ints >= 0. "
            f"Got {milestones!r} instead."
        )
    return MultiStepDecay(
        _positive("init_value", init_value, owner),
        tuple(sorted(points)),
        _positive("gamma", gamma, owner),
    )


def polynomial_decay(init_value: float, total_steps: int, power: float = 1.0) -> PolynomialDecay:
    """Decay polynomially to 0 in ``total_steps`` updates: ``init (1 - min(t, T) / T) ** power``.

    PyTorch's ``PolynomialLR`` with ``total_iters=total_steps``.

    Examples
    --------
    >>> schedule = polynomial_decay(1.0, total_steps=4, power=2.0)
    >>> [schedule(t) for t in range(6)]
    [1.0, 0.5625, 0.25, 0.0625, 0.0, 0.0]
    """
    owner = "polynomial_decay"
    return PolynomialDecay(
        _positive("init_value", init_value, owner),
        _steps("total_steps", total_steps, owner),
        _positive("power", power, owner),
    )


def cosine_restarts(
    init_value: float, period: int, period_mult: int = 1, min_value: float = 0.0
) -> CosineRestarts:
    """Cosine annealing from ``init_value`` to ``min_value``, restarted after each period.

    ``eta_t = min + (init - min) (1 + cos(pi t_cur / T_i)) / 2``, ``t_cur`` the updates since the
    last restart, ``T_i = period * period_mult ** i`` the length of cycle ``i``: PyTorch's
    ``CosineAnnealingWarmRestarts(T_0=period, T_mult=period_mult, eta_min=min_value)``.

    Examples
    --------
    >>> schedule = cosine_restarts(1.0, period=2)
    >>> [round(schedule(t), 12) for t in range(5)]
    [1.0, 0.5, 1.0, 0.5, 1.0]
    """
    owner = "cosine_restarts"
    min_value = _positive("min_value", min_value, owner, allow_zero=True)
    init_value = _positive("init_value", init_value, owner)
    if min_value > init_value:
        raise ValueError(
            f"The 'min_value' parameter of {owner} must be <= init_value ({init_value!r}). "
            f"Got {min_value!r} instead."
        )
    return CosineRestarts(
        init_value,
        _steps("period", period, owner),
        _steps("period_mult", period_mult, owner),
        min_value,
    )


NAMES: dict[type, str] = {
    OneCycle: "one_cycle",
    Cyclic: "cyclic",
    MultiStepDecay: "multistep_decay",
    PolynomialDecay: "polynomial_decay",
    CosineRestarts: "cosine_restarts",
}

FACTORIES: dict[str, Any] = {
    "one_cycle": one_cycle,
    "cyclic": cyclic,
    "multistep_decay": multistep_decay,
    "polynomial_decay": polynomial_decay,
    "cosine_restarts": cosine_restarts,
}
