"""The plateau rule: shrink the learning rate when the monitored loss stops improving.

PyTorch's ``ReduceLROnPlateau`` (and scikit-learn's ``learning_rate="adaptive"``) react to the
loss, not to the step count, so they are not schedules. As Optax's ``reduce_on_plateau``, the rule
is a gradient transformation, :func:`scale_by_plateau`, chained after any optimizer: its state (a
:class:`PlateauState`) holds the scale and the rule's counters, its ``update`` multiplies the
updates by the scale, and its rate (``rate(state)`` of the chain) includes it.

The loss is known only at the end of an epoch, so it does not go through ``update`` (Optax's
``value=loss``): the training engine (:func:`gdlab.engine.train`) calls the chain's ``observe``
hook once per epoch with the monitored loss, ``observe(state, loss) -> (state, exhausted)``;
:func:`observe` does it for any transformation. ``exhausted`` is ``None``, or, when the rule is
exhausted (:meth:`PlateauRule.step`), its ``min_scale``: training then stops, converged.
:func:`reduce_on_plateau` (the rule alone) is also offered as
:func:`gdlab.schedules.reduce_on_plateau`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields
from dataclasses import replace as _replace
from typing import Any, NamedTuple

import numpy as np

from gdlab._schedule_base import _positive, _steps
from gdlab.optim.base import GradientTransformation, chain
from gdlab.optim.kernel import Block

__all__ = [
    "PlateauRule",
    "PlateauState",
    "find_state",
    "observe",
    "reduce_on_plateau",
    "scale_by_plateau",
    "with_plateau",
]


class PlateauState(NamedTuple):
    """What :class:`PlateauRule` remembers between epochs."""

    scale: float
    best_loss: float
    bad_epochs: int


@dataclass(frozen=True)
class PlateauRule:
    """Multiply the learning rate by ``factor`` when the loss stops improving.

    An epoch *improves* when ``is_better(loss, best)``: with ``threshold_mode="rel"``
    ``loss < best * (1 - threshold)``, with ``"abs"`` ``loss < best - threshold`` (PyTorch's two
    modes for ``mode="min"``). The engine multiplies the optimizer's updates by ``state.scale``.

    ``semantics="torch"`` (what :func:`reduce_on_plateau` builds) is PyTorch's
    ``ReduceLROnPlateau``: ``best`` is updated only by an improving epoch, any other epoch is
    *bad*, and the scale shrinks once there are *more than* ``patience`` bad epochs in a row
    (``patience=2``: on the third), after which the count starts again (``cooldown=0``;
    ``min_scale`` plays ``min_lr / initial_lr``).

    ``semantics="sklearn"`` is scikit-learn's ``learning_rate="adaptive"`` (``schedule="adaptive"``
    in the estimators): ``best`` is the lowest loss so far, and the scale shrinks once ``patience``
    (``n_iter_no_change``) epochs in a row did not beat ``best - tol``.
    """

    factor: float = 0.1
    patience: int = 10
    threshold: float = 1e-4
    min_scale: float = 1e-6
    threshold_mode: str = "rel"
    semantics: str = "torch"

    def init(self) -> PlateauState:
        """The state before the first epoch."""
        return PlateauState(scale=1.0, best_loss=math.inf, bad_epochs=0)

    def is_better(self, loss: float, best: float) -> bool:
        """Whether ``loss`` improves on ``best`` by the threshold (see the class docstring).

        scikit-learn counts an epoch as bad when ``loss > best - tol``, so there a loss exactly
        ``tol`` below the best still improves; PyTorch needs strictly more.
        """
        if self.semantics == "sklearn":
            return not loss > best - self.threshold
        if self.threshold_mode == "rel":
            return loss < best * (1.0 - self.threshold)
        return loss < best - self.threshold

    def update(self, state: PlateauState, loss: float) -> PlateauState:
        """The state after an epoch whose loss was ``loss``."""
        better = self.is_better(loss, state.best_loss)
        bad_epochs = 0 if better else state.bad_epochs + 1
        if self.semantics == "sklearn":
            best = min(state.best_loss, loss)
            due = bad_epochs >= self.patience
        else:
            best = loss if better else state.best_loss
            due = bad_epochs > self.patience
        if due:
            return PlateauState(max(state.scale * self.factor, self.min_scale), best, 0)
        return PlateauState(state.scale, best, bad_epochs)

    def step(self, state: PlateauState, loss: float) -> tuple[PlateauState, bool]:
        """The state after an epoch whose monitored loss was ``loss``, and whether the rule is
        exhausted: the epoch did not improve and brought a reduction while the scale was
        already at ``min_scale`` (training then stops, converged).

        Examples
        --------
        >>> rule = reduce_on_plateau(factor=0.5, patience=1, min_scale=0.5)
        >>> state = rule.init()
        >>> for loss in [1.0, 1.0, 1.0, 1.0, 1.0]:  # halved on the 2nd bad epoch, then exhausted
        ...     state, exhausted = rule.step(state, loss)
        ...     print(state.scale, exhausted, end="; ")
        1.0 False; 1.0 False; 0.5 False; 0.5 False; 0.5 True;
        """
        new = self.update(state, loss)
        reduced_again = not self.is_better(loss, state.best_loss) and new.bad_epochs == 0
        return new, reduced_again and state.scale <= self.min_scale

    def to_dict(self) -> dict[str, Any]:
        """The rule as plain data."""
        return {
            "name": "reduce_on_plateau",
            **{f.name: getattr(self, f.name) for f in fields(self)},
        }


def reduce_on_plateau(
    factor: float = 0.1,
    patience: int = 10,
    threshold: float = 1e-4,
    min_scale: float = 1e-6,
    *,
    threshold_mode: str = "rel",
    semantics: str = "torch",
) -> PlateauRule:
    """PyTorch's ``ReduceLROnPlateau(mode="min")``: shrink the rate by ``factor`` once more than
    ``patience`` epochs in a row failed to improve on the best loss.

    The defaults are PyTorch's (``factor=0.1, patience=10, threshold=1e-4,
    threshold_mode="rel"``): an epoch improves when ``loss < best * (1 - threshold)`` (relative
    mode) or ``loss < best - threshold`` (``threshold_mode="abs"``). ``min_scale`` is the
    smallest scale of the initial rate (PyTorch's ``min_lr / lr``); ``semantics="sklearn"`` gives
    scikit-learn's adaptive rule instead (see :class:`PlateauRule`).

    Examples
    --------
    >>> rule = reduce_on_plateau(factor=0.5, patience=2, threshold=0.1, threshold_mode="abs")
    >>> state = rule.init()
    >>> for loss in [1.0, 0.95, 0.97, 0.96]:   # none beats the best (1.0) by 0.1
    ...     state = rule.update(state, loss)
    ...     print(state.scale, end=" ")         # more than 2 bad epochs: halved on the third
    1.0 1.0 1.0 0.5
    """
    factor = _positive("factor", factor, "reduce_on_plateau")
    if factor >= 1:
        raise ValueError(f"The 'factor' parameter of reduce_on_plateau must be < 1. Got {factor}.")
    min_scale = _positive("min_scale", min_scale, "reduce_on_plateau")
    if min_scale > 1:
        raise ValueError(
            f"The 'min_scale' parameter of reduce_on_plateau must be <= 1. Got {min_scale}."
        )
    for name, value, options in (
        ("threshold_mode", threshold_mode, ("rel", "abs")),
        ("semantics", semantics, ("torch", "sklearn")),
    ):
        if value not in options:
            raise ValueError(
                f"The {name!r} parameter of reduce_on_plateau must be a str among "
                f"{{{', '.join(repr(o) for o in options)}}}. Got {value!r} instead."
            )
    return PlateauRule(
        factor,
        _steps("patience", patience, "reduce_on_plateau"),
        _positive("threshold", threshold, "reduce_on_plateau", allow_zero=True),
        min_scale,
        threshold_mode,
        semantics,
    )


def scale_by_plateau(rule: PlateauRule | None = None) -> GradientTransformation:
    """The plateau rule as a transformation: ``u = scale * g``, the scale kept in its state.

    ``rule`` defaults to :func:`reduce_on_plateau` with PyTorch's defaults. Chain it after an
    optimizer (:func:`with_plateau` keeps the optimizer's name); the training engine tells it
    the loss of every epoch through ``observe`` (see the module docstring), which updates the
    scale as :meth:`PlateauRule.step`.

    Examples
    --------
    >>> import numpy as np
    >>> from gdlab import optim
    >>> tx = optim.chain(optim.sgd(0.1), scale_by_plateau(reduce_on_plateau(0.5, patience=1)))
    >>> state = tx.init(np.zeros(1))
    >>> for loss in [1.0, 1.0, 1.0]:          # the 2nd bad epoch halves the scale
    ...     state, exhausted = tx.observe(state, loss)
    >>> tx.rate(state), tx.update(np.array([1.0]), state)[0]
    (0.05, array([-0.05]))
    """
    rule = reduce_on_plateau() if rule is None else rule

    def init(params: Any) -> PlateauState:
        return rule.init()

    def update(grads: Any, state: PlateauState, params: Any = None) -> tuple[Any, PlateauState]:
        return (grads if state.scale == 1.0 else grads * state.scale), state

    def observe_loss(state: PlateauState, loss: float) -> tuple[PlateauState, float | None]:
        new, exhausted = rule.step(state, loss)
        return new, (rule.min_scale if exhausted else None)

    return GradientTransformation(
        init,
        update,
        name="scale_by_plateau",
        kernel=Block("scale_by_plateau", rule.to_dict(), PlateauState),
        rate=lambda state: state.scale,
        observe=observe_loss,
    )


def with_plateau(optimizer: GradientTransformation, rule: PlateauRule) -> GradientTransformation:
    """``chain(optimizer, scale_by_plateau(rule))`` under the optimizer's name and
    hyperparameters (what the estimators' ``schedule="adaptive"`` trains with)."""
    return _replace(
        chain(optimizer, scale_by_plateau(rule)),
        name=optimizer.name,
        hyperparams=optimizer.hyperparams,
    )


def find_state(opt_state: Any) -> PlateauState | None:
    """The first :class:`PlateauState` in an optimizer state (tuples walked depth first)."""
    if isinstance(opt_state, PlateauState):
        return opt_state
    if isinstance(opt_state, tuple):
        for child in opt_state:
            found = find_state(child)
            if found is not None:
                return found
    return None


def observe(
    optimizer: GradientTransformation, opt_state: Any, loss: float
) -> tuple[Any, float | None]:
    """Tell ``optimizer``'s plateau rule (if any) the loss of an epoch: ``(state, exhausted)``.

    ``exhausted`` is ``None`` or the rule's ``min_scale`` once the rule is exhausted; a
    transformation without a rule returns its state unchanged and ``None``.
    """
    if optimizer.observe is None:
        return opt_state, None
    return optimizer.observe(opt_state, float(np.asarray(loss)))
