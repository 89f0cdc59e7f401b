"""Translate a linear objective and a named optimizer into the flat inputs of the compiled kernels.

The kernels know the losses, penalties and named optimizers of gdlab by number; their state lives
in three arrays ``s1, s2, s3`` of the parameters' length plus step counters. :func:`pack_state`
copies an optimizer state (the NamedTuples of :mod:`gdlab.optim.transforms`) into those arrays and
:func:`unpack_state` builds the same NamedTuple structure back, so that the NumPy path and the
compiled path can take turns on one run (and a saved state resumes on either).

Nothing here imports Numba.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from gdlab import losses
from gdlab.optim import GradientTransformation
from gdlab.optim.base import EmptyState
from gdlab.optim.transforms import (
    AccumulatorState,
    AdamState,
    CountState,
    PidState,
    RmsState,
    TraceState,
)

__all__ = [
    "LOSS_CODES",
    "OPTIMIZER_CODES",
    "OptimizerPlan",
    "PackedState",
    "Unsupported",
    "loss_code",
    "optimizer_plan",
    "pack_state",
    "unpack_state",
]

Array = NDArray[np.floating[Any]]

#: loss name -> kernel code
LOSS_CODES = {
    "squared_error": 0,
    "huber": 1,
    "log_loss": 2,
    "softmax": 3,
    "hinge": 4,
    "modified_huber": 5,
    "squared_hinge": 6,
    "perceptron": 7,
    "epsilon_insensitive": 8,
    "squared_epsilon_insensitive": 9,
    "poisson": 10,
}
#: named optimizer -> kernel code
OPTIMIZER_CODES = {"sgd": 0, "adagrad": 1, "rmsprop": 2, "adam": 3, "adamw": 4, "pid": 5}

_LOSS_TYPES: dict[type, str] = {
    losses.SquaredError: "squared_error",
    losses.Huber: "huber",
    losses.LogLoss: "log_loss",
    losses.SoftmaxCrossEntropy: "softmax",
    losses.Hinge: "hinge",
    losses.ModifiedHuber: "modified_huber",
    losses.SquaredHinge: "squared_hinge",
    losses.Perceptron: "perceptron",
    losses.EpsilonInsensitive: "epsilon_insensitive",
    losses.SquaredEpsilonInsensitive: "squared_epsilon_insensitive",
    losses.Poisson: "poisson",
}


class Unsupported(ValueError):
    """The run uses something the compiled kernels do not implement."""


def loss_code(loss: losses.Loss) -> tuple[int, float]:
    """``(code, parameter)`` of a built-in loss (Huber's ``delta`` or ``epsilon``)."""
    name = _LOSS_TYPES.get(type(loss))
    if name is None:
        raise Unsupported(f"the loss {loss!r} is not one of gdlab's built-in losses")
    delta = float(getattr(loss, "delta", getattr(loss, "epsilon", 0.0)))
    return LOSS_CODES[name], delta


@dataclass(frozen=True)
class OptimizerPlan:
    """A named optimizer as the kernels see it.

    ``hyper`` holds, by optimizer: sgd ``(momentum, nesterov)``; adagrad ``(eps,)``; rmsprop
    ``(decay, eps, momentum, centered)``; adam and adamw ``(b1, b2, eps, weight_decay)``; pid
    ``(kp, ki, kd)``. ``clip_norm`` is 0 without clipping.
    """

    name: str
    code: int
    hyper: NDArray[np.float64]
    clip_norm: float
    learning_rate: Any
    layout: tuple[type, ...]


def _hyper(optimizer: GradientTransformation, *keys: str) -> list[float]:
    try:
        return [float(optimizer.hyperparams[key]) for key in keys]
    except (KeyError, TypeError, ValueError) as error:
        raise Unsupported(
            f"the optimizer {optimizer.name!r} lacks hyperparameter {error}"
        ) from None


def optimizer_plan(optimizer: GradientTransformation) -> OptimizerPlan:
    """The kernel form of a named optimizer (optionally clipped by global norm).

    Raises
    ------
    Unsupported
        For a custom chain, an unknown name, or one learning rate per run.
    """
    name = optimizer.name
    if name not in OPTIMIZER_CODES:
        raise Unsupported(
            f"the optimizer {name!r} is not a named gdlab optimizer "
            f"({', '.join(OPTIMIZER_CODES)}), optionally with clip_norm"
        )
    rate = optimizer.hyperparams.get("learning_rate")
    if rate is None or (not callable(rate) and np.ndim(rate) != 0):
        raise Unsupported("one learning rate per run (an array) needs the NumPy path")
    layout: tuple[type, ...]
    if name == "sgd":
        hyper = _hyper(optimizer, "momentum", "nesterov")
        layout = (TraceState, CountState) if hyper[0] else (CountState,)
    elif name == "adagrad":
        hyper = _hyper(optimizer, "eps")
        layout = (AccumulatorState, CountState)
    elif name == "rmsprop":
        hyper = _hyper(optimizer, "decay", "eps", "momentum", "centered")
        layout = (RmsState, TraceState, CountState) if hyper[2] else (RmsState, CountState)
    elif name in ("adam", "adamw"):
        hyper = _hyper(optimizer, "b1", "b2", "eps")
        if name == "adamw":
            hyper += _hyper(optimizer, "weight_decay")
            layout = (AdamState, EmptyState, CountState)
        else:
            hyper.append(0.0)
            layout = (AdamState, CountState)
    else:
        hyper = _hyper(optimizer, "kp", "ki", "kd")
        layout = (PidState, CountState)
    clip = optimizer.hyperparams.get("clip_norm")
    values = np.zeros(8, dtype=np.float64)
    values[: len(hyper)] = hyper
    return OptimizerPlan(
        name=name,
        code=OPTIMIZER_CODES[name],
        hyper=values,
        clip_norm=0.0 if clip is None else float(clip),
        learning_rate=rate,
        layout=layout,
    )


@dataclass
class PackedState:
    """An optimizer state as kernel arrays: ``s1, s2, s3`` and the counters of each block."""

    s1: Array
    s2: Array
    s3: Array
    counts: list[int]

    @property
    def block_count(self) -> int:
        """The count of the first block (momentum start, bias correction, PID derivative)."""
        return self.counts[0]

    @property
    def rate_count(self) -> int:
        """The count of the learning-rate block: the schedule's argument for the next update."""
        return self.counts[-1]


def _inner(plan: OptimizerPlan, opt_state: Any) -> tuple[Any, ...]:
    state = opt_state
    if plan.clip_norm:
        if not (isinstance(state, tuple) and len(state) == 2 and type(state[0]) is EmptyState):
            raise Unsupported("the optimizer state does not match a clipped optimizer")
        state = state[1]
    if not isinstance(state, tuple) or tuple(type(s) for s in state) != plan.layout:
        raise Unsupported(
            f"the optimizer state {type(state).__name__} does not match the {plan.name!r} layout"
        )
    return state


def _array(value: Any, n_params: int, dtype: np.dtype[Any]) -> Array:
    array = np.asarray(value)
    if array.shape != (n_params,) or array.dtype != dtype:
        raise Unsupported(
            f"an optimizer state array has shape {array.shape} and dtype {array.dtype}; the "
            f"compiled path needs ({n_params},) {dtype} like the parameters"
        )
    return np.array(array, copy=True)


def pack_state(
    plan: OptimizerPlan, opt_state: Any, n_params: int, dtype: np.dtype[Any]
) -> PackedState:
    """Copy ``opt_state`` into fresh kernel arrays (the caller's state is never modified)."""
    inner = _inner(plan, opt_state)
    zeros = np.zeros(n_params, dtype=dtype)
    s1, s2, s3 = zeros, zeros.copy(), zeros.copy()
    first = inner[0]
    if isinstance(first, TraceState):
        s1 = _array(first.trace, n_params, dtype)
    elif isinstance(first, AccumulatorState):
        s1 = _array(first.sum_of_squares, n_params, dtype)
    elif isinstance(first, RmsState):
        s1 = _array(first.square_avg, n_params, dtype)
        s2 = _array(first.grad_avg, n_params, dtype)
        if isinstance(inner[1], TraceState):
            s3 = _array(inner[1].trace, n_params, dtype)
    elif isinstance(first, AdamState):
        s1 = _array(first.mu, n_params, dtype)
        s2 = _array(first.nu, n_params, dtype)
    elif isinstance(first, PidState):
        s1 = _array(first.integral, n_params, dtype)
        s2 = _array(first.previous, n_params, dtype)
    counts = [int(s.count) for s in inner if not isinstance(s, EmptyState)]
    return PackedState(s1, s2, s3, counts)


def unpack_state(plan: OptimizerPlan, packed: PackedState, n_updates: int) -> Any:
    """The NamedTuple state after ``n_updates`` more updates, with the kernel's arrays."""
    counts = iter(c + n_updates for c in packed.counts)
    members: list[Any] = []
    for kind in plan.layout:
        if kind is EmptyState:
            members.append(EmptyState())
        elif kind is CountState:
            members.append(CountState(count=next(counts)))
        elif kind is TraceState:
            trace = packed.s3 if kind is plan.layout[1] and plan.name == "rmsprop" else packed.s1
            members.append(TraceState(count=next(counts), trace=trace))
        elif kind is AccumulatorState:
            members.append(AccumulatorState(count=next(counts), sum_of_squares=packed.s1))
        elif kind is RmsState:
            members.append(RmsState(next(counts), square_avg=packed.s1, grad_avg=packed.s2))
        elif kind is AdamState:
            members.append(AdamState(count=next(counts), mu=packed.s1, nu=packed.s2))
        else:
            members.append(PidState(count=next(counts), integral=packed.s1, previous=packed.s2))
    inner = tuple(members)
    return (EmptyState(), inner) if plan.clip_norm else inner
