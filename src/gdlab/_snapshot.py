"""Per-epoch snapshots of an estimator being fitted, for ``fit(..., callback=...)`` and checkpoints.

The engine calls ``on_epoch_end(state, history)`` after every epoch; :func:`epoch_callback` turns
that into ``callback(snapshot)`` where ``snapshot`` is a shallow copy of the estimator whose fitted
attributes (``coef_``, ``history_``, the training state...) are those at the end of that epoch, so
that it can be saved as a checkpoint and resumed with ``warm_start=True``. The estimator being
fitted is not touched until its fit ends.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import fields, replace
from typing import Any

from gdlab.averaging import fitted_params
from gdlab.history import History

__all__ = ["epoch_callback"]


def _copy_history(history: History) -> History:
    values: dict[str, Any] = {
        spec.name: list(value) if isinstance(value, list) else value
        for spec in fields(history)
        for value in [getattr(history, spec.name)]
    }
    return History(**values)


def epoch_callback(
    model: Any,
    callback: Callable[[Any], Any],
    objective: Any,
    path_mark: int,
    start_epoch: int,
) -> Callable[[Any, History], bool]:
    """An engine ``on_epoch_end`` hook that calls ``callback`` with a snapshot of ``model``.

    Parameters
    ----------
    model : BaseGD
        The estimator being fitted (its scaling and seed already set).
    callback : callable
        ``callback(snapshot) -> bool | None``; returning ``True`` (exactly) stops training.
    objective : LinearObjective
        The training objective (to convert parameters to the units of ``X``).
    path_mark : int
        Length of ``history.params`` before this call: later entries are in training units.
    start_epoch : int
        The epoch count before this call (``n_iter_`` counts from it).
    """

    def on_epoch_end(state: Any, history: History) -> bool:
        snapshot = copy.copy(model)
        recorded = _copy_history(history)
        model._to_original_units(objective, recorded, path_mark)
        snapshot._train_state = replace(state)
        snapshot.history_ = recorded
        snapshot.loss_curve_ = list(recorded.loss)
        snapshot.n_iter_ = state.epoch - start_epoch
        snapshot.t_ = state.step
        weights, intercept = model._original_units(
            objective, fitted_params(state.params, state.opt_state)
        )
        snapshot._store_coef(weights.T, intercept)
        return callback(snapshot) is True  # not any truthy value: save_checkpoint returns a path

    return on_epoch_end
