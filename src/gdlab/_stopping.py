"""The per-epoch stopping rules of the engine's loop: ``tol`` with ``n_iter_no_change``, the
plateau rule's minimum rate, and early stopping's best parameters (:func:`should_stop`); and the
line ``verbose`` prints per epoch.

A rule reads the epoch's monitored loss (the validation loss with early stopping, else the
training loss) and the counters of the :class:`~gdlab.engine.TrainState`, which it updates.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from gdlab.history import EpochRecord
from gdlab.optim import GradientTransformation
from gdlab.optim.plateau import observe

__all__ = ["print_epoch", "should_stop"]


def should_stop(
    state: Any,
    optimizer: GradientTransformation,
    config: Any,
    record: EpochRecord,
    early_stopping: bool,
) -> tuple[bool, bool, str]:
    """Update the stopping counters of ``state`` (a :class:`~gdlab.engine.TrainState`; ``config``
    its :class:`~gdlab.engine.TrainConfig`) and tell the optimizer's plateau block (if any, with
    ``config.adapt``) the monitored loss; return (stop, converged, reason)."""
    monitored = record.val_loss if early_stopping and record.val_loss is not None else record.loss
    what = "validation loss" if early_stopping else "training loss"
    if early_stopping and monitored < state.best_loss:
        state.best_params = np.array(state.params, copy=True)
    if config.adapt and optimizer.observe is not None:
        state.opt_state, min_scale = observe(optimizer, state.opt_state, monitored)
        state.best_loss = min(state.best_loss, monitored)
        if min_scale is not None:
            return (
                True,
                True,
                (
                    f"The {what} stopped improving with the learning rate already at its minimum "
                    f"({min_scale:g} times the initial rate)."
                ),
            )
        return False, False, ""
    if config.tol is None:
        state.best_loss = min(state.best_loss, monitored)
        return False, False, ""
    if monitored > state.best_loss - config.tol:
        state.bad_epochs += 1
    else:
        state.bad_epochs = 0
    state.best_loss = min(state.best_loss, monitored)
    if state.bad_epochs >= config.n_iter_no_change:
        return (
            True,
            True,
            f"The {what} improved by less than tol={config.tol:g} for "
            f"{config.n_iter_no_change} consecutive epochs.",
        )
    return False, False, ""


def print_epoch(record: EpochRecord) -> None:
    parts = [f"Epoch {record.epoch + 1:>4d}", f"loss={record.loss:.6g}"]
    if record.val_loss is not None:
        parts.append(f"val_loss={record.val_loss:.6g}")
    if record.learning_rate is not None:
        parts.append(f"lr={record.learning_rate:.4g}")
    parts.append(f"|grad|={record.grad_norm:.4g}")
    print(", ".join(parts))
