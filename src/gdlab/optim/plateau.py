"""The plateau rule: shrink the learning rate when the monitored loss stops improving.

PyTorch's ``ReduceLROnPlateau`` (and scikit-learn's ``learning_rate="adaptive"``) react to the
loss, not to the step count, so they are not schedules: the training engine
(:func:`gdlab.engine.train`) gives the rule the monitored loss of every epoch
(:meth:`PlateauRule.step`), keeps its :class:`PlateauState` in the training state, multiplies every
update by ``state.scale`` and ends the run when the rule is exhausted. Everything the rule decides
lives here; :func:`reduce_on_plateau` is also offered as :func:`gdlab.schedules.reduce_on_plateau`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields
from typing import Any, NamedTuple

from gdlab._schedule_base import _positive, _steps

__all__ = ["PlateauRule", "PlateauState", "reduce_on_plateau"]


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
