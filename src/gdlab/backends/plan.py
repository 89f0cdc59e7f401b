"""Translate a linear objective and an optimizer into the flat inputs of the compiled kernels.

The kernels know the losses, penalties and named optimizers of gdlab by number; their state lives
in three arrays ``s1, s2, s3`` of the parameters' length plus step counters. An optimizer says
what it is through its compiled-kernel description (:mod:`gdlab.optim.kernel`): the blocks of its
chain, matched here against the forms the named optimizers declare
(:data:`gdlab.optim.named.KERNEL_FORMS`), so a chain built by hand from the same blocks compiles
like the named optimizer. :func:`pack_state` copies an optimizer state (the NamedTuples of
:mod:`gdlab.optim.transforms`) into the kernel's arrays and :func:`unpack_state` builds the same
structure back, so that the NumPy path and the compiled path can take turns on one run (and a
saved state resumes on either).

Nothing here imports Numba.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from gdlab import losses
from gdlab.optim import GradientTransformation
from gdlab.optim.base import EmptyState
from gdlab.optim.kernel import Block, Kernel, KernelForm, blocks
from gdlab.optim.named import KERNEL_FORMS, kernel_of

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
#: named optimizer -> kernel code (declared by each optimizer's form)
OPTIMIZER_CODES = {form.name: form.code for form in KERNEL_FORMS}

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
    """An optimizer as the kernels see it: the named optimizer's form its blocks match.

    ``hyper`` holds, by optimizer: sgd ``(momentum, nesterov)``; adagrad ``(eps,)``; rmsprop
    ``(decay, eps, momentum, centered)``; adam and adamw ``(b1, b2, eps, weight_decay)``; pid
    ``(kp, ki, kd)`` (each form of :data:`gdlab.optim.named.KERNEL_FORMS` declares its own).
    ``clip_norm`` is 0 without clipping. ``kernel`` is the optimizer's description, whose state
    :func:`pack_state` and :func:`unpack_state` read and rebuild; ``offset`` is 1 when its first
    block is the clipping; ``recipe`` says how to rebuild each block's state. ``plateau`` is true
    when the last block is :func:`gdlab.optim.plateau.scale_by_plateau`: the kernels multiply
    every update by its scale (:attr:`PackedState.scale`) and leave its state as it is (the
    training engine updates it once per epoch).
    """

    name: str
    code: int
    hyper: NDArray[np.float64]
    clip_norm: float
    learning_rate: Any
    form: KernelForm
    kernel: Kernel
    offset: int
    recipe: tuple[Any, ...]
    plateau: bool = False


def _known() -> str:
    return ", ".join(dict.fromkeys(form.name for form in KERNEL_FORMS))


def optimizer_plan(optimizer: GradientTransformation) -> OptimizerPlan:
    """The kernel form of an optimizer: a named one, or a chain of the same blocks, each
    optionally after ``clip_by_global_norm``.

    Raises
    ------
    Unsupported
        For a transformation without a compiled description, a chain of blocks that matches no
        form, or one learning rate per run.
    """
    kernel = kernel_of(optimizer)
    if kernel is None:
        raise Unsupported(
            f"the optimizer {optimizer.name!r} is not a named gdlab optimizer ({_known()}) or a "
            "chain of their building blocks, optionally with clip_norm"
        )
    found = blocks(kernel)
    offset = int(bool(found) and found[0].kind == "clip_by_global_norm")
    tail = int(len(found) > offset and found[-1].kind == "scale_by_plateau")
    found = found[: len(found) - tail]
    kinds = tuple(block.kind for block in found[offset:])
    form = next((f for f in KERNEL_FORMS if f.blocks == kinds), None)
    if form is None:
        raise Unsupported(
            f"the chain of {', '.join(kinds) or 'no blocks'} is not the chain of a named gdlab "
            f"optimizer ({_known()}), optionally after clip_by_global_norm"
        )
    members = found[offset:]
    rate = members[-1].hyper.get("learning_rate")
    if rate is None or (not callable(rate) and np.ndim(rate) != 0):
        raise Unsupported("one learning rate per run (an array) needs the NumPy path")
    hyper = [
        float(item) if not isinstance(item, tuple) else float(members[item[0]].hyper[item[1]])
        for item in form.hyper
    ]
    values = np.zeros(8, dtype=np.float64)
    values[: len(hyper)] = hyper
    return OptimizerPlan(
        name=form.name,
        code=form.code,
        hyper=values,
        clip_norm=float(found[0].hyper["max_norm"]) if offset else 0.0,
        learning_rate=rate,
        form=form,
        kernel=kernel,
        offset=offset,
        recipe=_recipe(kernel, form, offset),
        plateau=bool(tail),
    )


@dataclass
class PackedState:
    """An optimizer state as kernel arrays: ``s1, s2, s3`` and the counters of each block, and
    the state of a trailing plateau block (``None`` without one), whose ``scale`` multiplies the
    updates."""

    s1: Array
    s2: Array
    s3: Array
    counts: list[int]
    plateau: Any = None

    @property
    def scale(self) -> float:
        """The plateau scale of the updates (1 without a plateau block)."""
        return 1.0 if self.plateau is None else float(self.plateau.scale)

    @property
    def block_count(self) -> int:
        """The count of the first block (momentum start, bias correction, PID derivative)."""
        return self.counts[0]

    @property
    def rate_count(self) -> int:
        """The count of the learning-rate block: the schedule's argument for the next update."""
        return self.counts[-1]


def _leaves(kernel: Kernel, state: Any) -> list[Any]:
    """The states of the blocks of ``kernel``, in order, checked against their declared types."""
    if isinstance(kernel, Block):
        if type(state) is not kernel.state:
            raise Unsupported(
                f"the optimizer state {type(state).__name__} does not match the "
                f"{kernel.kind!r} block ({kernel.state.__name__})"
            )
        return [state]
    if type(state) is not tuple or len(state) != len(kernel):
        raise Unsupported(
            f"the optimizer state {type(state).__name__} does not match a chain of "
            f"{len(kernel)} transformations"
        )
    return [
        leaf for member, sub in zip(kernel, state, strict=True) for leaf in _leaves(member, sub)
    ]


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
    leaves = _leaves(plan.kernel, opt_state)[plan.offset :]
    plateau = leaves.pop() if plan.plateau else None
    arrays = [np.zeros(n_params, dtype=dtype) for _ in range(3)]
    for index, name, slot in plan.form.slots:
        arrays[slot] = _array(getattr(leaves[index], name), n_params, dtype)
    counts = [int(leaf.count) for leaf in leaves if not isinstance(leaf, EmptyState)]
    return PackedState(arrays[0], arrays[1], arrays[2], counts, plateau)


def _recipe(kernel: Kernel, form: KernelForm, offset: int) -> tuple[Any, ...]:
    """Per block, ``None`` for an empty state, else its type and the kernel array of each field
    after ``count`` (in field order): how :func:`unpack_state` rebuilds it."""
    where = {(index + offset, name): slot for index, name, slot in form.slots}
    recipe: list[Any] = []
    for index, block in enumerate(blocks(kernel)):
        if block.kind == "scale_by_plateau":
            recipe.append("plateau")  # kept as it is: the engine updates it per epoch
            continue
        names: tuple[str, ...] = getattr(block.state, "_fields", ())
        slots = tuple(where[index, name] for name in names if name != "count")
        recipe.append(None if block.state is EmptyState else (block.state, slots))
    return tuple(recipe)


def _nest(kernel: Kernel, made: Iterator[Any]) -> Any:
    return next(made) if isinstance(kernel, Block) else tuple(_nest(m, made) for m in kernel)


def unpack_state(plan: OptimizerPlan, packed: PackedState, n_updates: int) -> Any:
    """The state after ``n_updates`` more updates, with the kernel's arrays, in the structure
    of ``plan``'s optimizer (its NamedTuples nested as its chains are)."""
    arrays = (packed.s1, packed.s2, packed.s3)
    counts = iter(packed.counts)
    made = [
        packed.plateau
        if step == "plateau"
        else EmptyState()
        if step is None
        else step[0](next(counts) + n_updates, *(arrays[s] for s in step[1]))
        for step in plan.recipe
    ]
    return _nest(plan.kernel, iter(made))
