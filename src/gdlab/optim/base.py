"""The one abstraction of :mod:`gdlab.optim`: a gradient transformation.

A gradient transformation is a pair of pure functions over NumPy arrays::

    state = tx.init(params)
    updates, state = tx.update(grads, state, params)
    params = apply_updates(params, updates)

``init`` builds the optimizer state (plain arrays and integers, so that it can be saved as data) and
``update`` turns gradients into the *updates* that are added to the parameters. Neither function
mutates its inputs. Transformations compose with :func:`chain`, which feeds the updates of one
into the next, as in Optax.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import numpy as np
from numpy.typing import NDArray

from gdlab.optim.kernel import Kernel

Array = NDArray[np.floating[Any]]
OptState = Any
Schedule = Callable[[int], Any]
ScalarOrSchedule = float | Schedule


@dataclass(frozen=True)
class GradientTransformation:
    """An optimizer (or a building block of one) as a pair of pure functions.

    Parameters
    ----------
    init : callable
        ``init(params) -> state``.
    update : callable
        ``update(grads, state, params=None) -> (updates, state)``.
    name : str, optional
        The registry name of a named optimizer (``"adam"``), or the building block's name.
    hyperparams : mapping, optional
        The hyperparameters the transformation was built with (``learning_rate`` among them),
        read to advise on divergence (the engine reads the rate through ``rate``).
    kernel : Block or tuple, optional
        The compiled-kernel description (:mod:`gdlab.optim.kernel`): a block's kind,
        hyperparameters and state type, or a chain's members'; ``None`` for a transformation the
        compiled kernels do not know (it runs on the NumPy path).
    rate : callable, optional
        ``rate(state) -> step size`` of the next update, read from the state (a float, or an
        array of one rate per run); ``None`` for a block without a step size. The training
        engine records it every epoch; :func:`scale_by_learning_rate` gives it, :func:`chain`
        and the named optimizers pass it on (a chain's rate is the product of its members').
    observe : callable, optional
        ``observe(state, loss) -> (state, exhausted)``: the hook through which the training
        engine tells a loss-driven block (:func:`gdlab.optim.plateau.scale_by_plateau`) the
        monitored loss of each epoch; ``exhausted`` is ``None`` or the rule's minimal scale once
        it can shrink no more. ``None`` for a transformation that ignores the loss; :func:`chain`
        passes its members' on.

    Examples
    --------
    >>> import numpy as np
    >>> from gdlab import optim
    >>> tx = optim.sgd(learning_rate=0.1)
    >>> params = np.array([1.0, -2.0])
    >>> state = tx.init(params)
    >>> updates, state = tx.update(np.array([0.5, 0.5]), state, params)
    >>> optim.apply_updates(params, updates)
    array([ 0.95, -2.05])
    """

    init: Callable[[Array], OptState]
    update: Callable[..., tuple[Array, OptState]]
    name: str = ""
    hyperparams: Mapping[str, Any] = field(default_factory=dict)
    kernel: Kernel | None = None
    rate: Callable[[OptState], Any] | None = None
    observe: Callable[[OptState, float], tuple[OptState, float | None]] | None = None

    @property
    def learning_rate(self) -> ScalarOrSchedule | None:
        """The step size (a float or a schedule), or ``None`` for a block without one."""
        return self.hyperparams.get("learning_rate")


class EmptyState(NamedTuple):
    """State of a transformation that keeps nothing between steps."""


def apply_updates(params: Array, updates: Array) -> Array:
    """Return ``params + updates`` as a new array in the dtype of ``params``.

    Floating parameters keep their dtype (float32 stays float32); integer parameters give a
    float64 result rather than a silently truncated one.

    Examples
    --------
    >>> import numpy as np
    >>> apply_updates(np.array([1.0, 2.0]), np.array([-0.5, 0.5]))
    array([0.5, 2.5])
    >>> apply_updates(np.array([1, 2]), np.array([-0.5, 0.5]))
    array([0.5, 2.5])
    """
    params = np.asarray(params)
    dtype = params.dtype if np.issubdtype(params.dtype, np.floating) else np.dtype(np.float64)
    return (params + updates).astype(dtype, copy=False)


def identity() -> GradientTransformation:
    """A transformation that returns the gradients unchanged (``u = g``)."""

    def init(params: Array) -> EmptyState:
        return EmptyState()

    def update(grads: Array, state: EmptyState, params: Array | None = None):
        return grads, state

    return GradientTransformation(init, update, name="identity")


def chain(*transformations: GradientTransformation) -> GradientTransformation:
    """Apply transformations one after the other: the updates of one are the input of the next.

    The state of the chain is the tuple of the members' states.

    Examples
    --------
    >>> import numpy as np
    >>> from gdlab import optim
    >>> tx = optim.chain(optim.clip_by_global_norm(1.0), optim.sgd(learning_rate=0.5))
    >>> state = tx.init(np.zeros(2))
    >>> updates, state = tx.update(np.array([3.0, 4.0]), state)
    >>> updates
    array([-0.3, -0.4])
    """
    if not transformations:
        return identity()
    for position, tx in enumerate(transformations):
        if not isinstance(tx, GradientTransformation):
            raise TypeError(
                f"chain() takes GradientTransformation objects; argument {position} is "
                f"{type(tx).__name__}."
            )

    def init(params: Array) -> tuple[OptState, ...]:
        return tuple(tx.init(params) for tx in transformations)

    def update(grads: Array, state: tuple[OptState, ...], params: Array | None = None):
        new_states = []
        updates = grads
        for tx, sub_state in zip(transformations, state, strict=True):
            updates, new_state = tx.update(updates, sub_state, params)
            new_states.append(new_state)
        return updates, tuple(new_states)

    hyperparams: dict[str, Any] = {}
    for tx in transformations:
        for key, value in tx.hyperparams.items():
            hyperparams.setdefault(key, value)
    names = [tx.name for tx in transformations]
    kernels = tuple(tx.kernel for tx in transformations)
    return GradientTransformation(
        init,
        update,
        name="chain(" + ", ".join(names) + ")",
        hyperparams=hyperparams,
        kernel=None if any(k is None for k in kernels) else kernels,  # type: ignore[arg-type]
        rate=_member_rate(transformations),
        observe=_member_observe(transformations),
    )


def _member_rate(
    transformations: tuple[GradientTransformation, ...],
) -> Callable[[tuple[OptState, ...]], Any] | None:
    """The step size of a chain: that of its first member with one, read from its state, times
    the rates of the later members with one (a plateau scale)."""
    rated = [(position, tx.rate) for position, tx in enumerate(transformations) if tx.rate]
    if not rated:
        return None
    if len(rated) == 1:
        position, member_rate = rated[0]
        return lambda state: member_rate(state[position])

    def rate(state: tuple[OptState, ...]) -> Any:
        value = rated[0][1](state[rated[0][0]])
        value = float(value) if np.ndim(value) == 0 else value
        for position, member_rate in rated[1:]:
            value = value * member_rate(state[position])
        return value

    return rate


def _member_observe(
    transformations: tuple[GradientTransformation, ...],
) -> Callable[[tuple[OptState, ...], float], tuple[tuple[OptState, ...], float | None]] | None:
    """The ``observe`` hook of a chain: each member's with one, on its part of the state."""
    hooks = [(position, tx.observe) for position, tx in enumerate(transformations) if tx.observe]
    if not hooks:
        return None

    def observe(state: tuple[OptState, ...], loss: float) -> tuple[Any, float | None]:
        states, exhausted = list(state), None
        for position, hook in hooks:
            states[position], done = hook(states[position], loss)
            exhausted = done if done is not None else exhausted
        return tuple(states), exhausted

    return observe


def evaluate(value: ScalarOrSchedule, count: int) -> Any:
    """The value of a constant or a schedule at step ``count`` (0 for the first update)."""
    return value(count) if callable(value) else value
