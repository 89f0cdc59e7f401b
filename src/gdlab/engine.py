"""The one training loop shared by :func:`gdlab.minimize`, the estimators and the sweeps.

Data flows one way: batch plan -> loss and gradient -> optimizer update -> history -> stopping
rules. One epoch is one pass over the training rows; ``batch_size=None`` makes it one full-batch
update. Everything that training needs to continue exactly where it stopped lives in
:class:`TrainState` (parameters, optimizer state, epoch and step counters, the plateau rule's state
and the stopping rules' counters), so that a resumed run is the same as an uninterrupted one.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
from numpy.typing import NDArray

from gdlab.backends import epoch_runner
from gdlab.batching import batches, row_count, update_order
from gdlab.divergence import DIVERGENCE_FACTOR, divergence_error, is_divergent, verdict
from gdlab.history import EpochRecord, History
from gdlab.objective import Objective, Rows
from gdlab.optim import GradientTransformation
from gdlab.optim.base import evaluate
from gdlab.schedules import PlateauRule, PlateauState

Array = NDArray[np.floating[Any]]
Callback = Callable[[EpochRecord], Any]

__all__ = ["TrainConfig", "TrainResult", "TrainState", "init_state", "train"]


@dataclass(frozen=True)
class TrainConfig:
    """How to train.

    Parameters
    ----------
    batch_size : int or None
        ``None`` full batch, ``1`` stochastic, ``k`` mini-batch.
    max_epochs : int
        Upper bound on the epochs run by one call of :func:`train`.
    shuffle : bool
        Shuffle the rows every epoch (order drawn from ``(seed, epoch)``).
    seed : int
        Seed of the shuffling.
    tol : float or None
        Improvement that counts: an epoch whose loss (validation loss with early stopping) is not
        below ``best - tol`` is a bad epoch; ``n_iter_no_change`` bad epochs in a row stop
        training. ``None`` disables this rule.
    n_iter_no_change : int
        Patience of the ``tol`` rule.
    gtol : float or None
        Full batch only: stop, successfully, when the gradient at the start of an epoch has a norm
        of at most ``gtol``; that epoch then makes no update (its gradient is computed once, for
        the test and the update alike, so :func:`gdlab.minimize` calls ``jac`` once per
        iteration).
    plateau : PlateauRule or None
        Shrink the learning rate when the loss stalls (replaces the ``tol`` rule; training stops
        when the rate scale reaches its minimum).
    record_params : bool
        Record the parameters after every epoch (for landscape plots).
    record_steps : bool
        Record the loss of every update.
    divergence_factor : float
        A loss above ``divergence_factor * max(1, |first loss|)`` counts as divergence.
    restore_best : bool
        With a validation objective, return the parameters of the best validation epoch.
    verbose : int
        Print a line per epoch when > 0.
    unit : str
        What one pass is called in messages: "epoch", or "iteration" for :func:`gdlab.minimize`.
    loss_scale : float
        Messages show losses times this (the estimators' target scaling: the units of ``y``).
    check_final : bool
        Evaluate the loss once more at the returned parameters (one forward pass) so that a
        divergence in the last epoch is not silent; ``partial_fit`` leaves it to the next call.
    backend : {"auto", "numpy", "numba"}
        The implementation of the epochs (:mod:`gdlab.backends`): ``"numpy"`` is the reference,
        ``"numba"`` runs whole epochs of a linear model in compiled code, ``"auto"`` picks the
        compiled path when it is installed, supports the run and is expected to be faster.
    """

    batch_size: int | None = None
    max_epochs: int = 200
    shuffle: bool = False
    seed: int = 0
    tol: float | None = None
    n_iter_no_change: int = 5
    gtol: float | None = None
    plateau: PlateauRule | None = None
    record_params: bool = False
    record_steps: bool = False
    divergence_factor: float = DIVERGENCE_FACTOR
    restore_best: bool = True
    verbose: int = 0
    backend: str = "auto"
    check_final: bool = True
    unit: str = "epoch"
    loss_scale: float = 1.0


@dataclass
class TrainState:
    """Everything needed to continue training exactly where it stopped."""

    params: Array
    opt_state: Any
    epoch: int = 0
    step: int = 0
    plateau_state: PlateauState | None = None
    best_loss: float = math.inf
    bad_epochs: int = 0
    first_loss: float | None = None
    best_params: Array | None = None
    samples_seen: int = 0


@dataclass
class TrainResult:
    """What :func:`train` returns."""

    state: TrainState
    history: History
    n_epochs: int
    converged: bool
    message: str
    extra: dict[str, Any] = field(default_factory=dict)


def init_state(
    params: Array, optimizer: GradientTransformation, plateau: PlateauRule | None = None
) -> TrainState:
    """A fresh state at ``params`` with the optimizer's initial state."""
    params = np.array(params, copy=True)
    return TrainState(
        params=params,
        opt_state=optimizer.init(params),
        plateau_state=plateau.init() if plateau is not None else None,
    )


def _rate_at(optimizer: GradientTransformation, step: int, scale: float) -> float | None:
    rate = optimizer.learning_rate
    if rate is None:
        return None
    value = evaluate(rate, step)
    if np.ndim(value) != 0:
        return None
    return float(value) * scale


def _run_epoch(
    objective: Objective,
    optimizer: GradientTransformation,
    state: TrainState,
    config: TrainConfig,
    history: History,
) -> tuple[float, float]:
    """One pass over the rows with the NumPy reference path; returns (mean loss, mean grad norm)."""
    scale = state.plateau_state.scale if state.plateau_state is not None else 1.0
    total_loss = 0.0
    total_norm = 0.0
    total_rows = 0
    n_updates = 0
    reference = state.first_loss
    params, opt_state = state.params, state.opt_state
    for batch_objective, rows in _epoch_batches(objective, config, state.epoch):
        loss, grad = batch_objective.loss_and_grad(params, rows)  # once per batch, also for gtol
        if reference is None:
            reference = loss
        if is_divergent(loss, reference, config.divergence_factor):
            state.params, state.opt_state = params, opt_state
            return loss, math.nan
        size = row_count(rows, batch_objective.n_samples)
        total_loss += loss * size
        total_rows += size
        total_norm += float(np.sqrt(np.sum(grad * grad)))
        if config.gtol is not None and config.batch_size is None and total_norm <= config.gtol:
            return loss, total_norm  # converged: no update, state unchanged
        if config.record_steps:
            history.step_loss.append(loss)
        updates, opt_state = optimizer.update(grad, opt_state, params)
        if scale != 1.0:
            updates = updates * scale
        params = (params + updates).astype(params.dtype, copy=False)
        n_updates += 1
    state.params, state.opt_state = params, opt_state
    state.step += n_updates
    state.samples_seen += total_rows
    return total_loss / total_rows, total_norm / n_updates


def _epoch_batches(
    objective: Objective, config: TrainConfig, epoch: int
) -> Iterator[tuple[Objective, Rows]]:
    """``(objective, rows)`` of each update of an epoch.

    An objective over a data source (:mod:`gdlab.data`) plans its own blocks with
    ``epoch_batches``; otherwise the rows come from :func:`gdlab.batching.update_order`.
    """
    plan = getattr(objective, "epoch_batches", None)
    if plan is not None:
        yield from plan(config.batch_size, config.shuffle, config.seed, epoch)
        return
    order = update_order(objective.n_samples, config.batch_size, config.shuffle, config.seed, epoch)
    for rows in batches(objective.n_samples, config.batch_size, order):
        yield objective, rows


def train(
    objective: Objective,
    optimizer: GradientTransformation,
    state: TrainState,
    config: TrainConfig,
    *,
    validation: Any = None,
    callback: Callback | None = None,
    history: History | None = None,
    on_epoch_end: Callable[[TrainState, History], Any] | None = None,
) -> TrainResult:
    """Run up to ``config.max_epochs`` epochs from ``state``.

    ``callback(record)`` and ``on_epoch_end(state, history)`` are called after every epoch, once
    the stopping rules have been updated (``history.stop_reason`` is set when training stops
    there); either returning a true value stops training. ``on_epoch_end`` sees the complete
    training state, for checkpoints.

    Raises
    ------
    DivergenceError
        When the loss becomes non-finite or explodes; its ``history`` holds what was recorded.
    """
    history = history if history is not None else History()
    run_epoch, history.backend = epoch_runner(objective, optimizer, state, config, _run_epoch)
    state = replace(state)
    if config.record_params and not history.params:
        history.params.append(np.array(state.params, copy=True))
    converged = False
    message = f"Reached max_iter={config.max_epochs} {config.unit}s."
    epochs_run = 0
    with np.errstate(over="ignore", invalid="ignore", divide="ignore", under="ignore"):
        for _ in range(config.max_epochs):
            steps_before = state.step
            rate = _rate_at(
                optimizer,
                state.step,
                state.plateau_state.scale if state.plateau_state is not None else 1.0,
            )
            loss, grad_norm = run_epoch(objective, optimizer, state, config, history)
            if state.first_loss is None:
                state.first_loss = loss
            if config.gtol is not None and grad_norm <= config.gtol and state.step == steps_before:
                converged = True
                message = f"The gradient norm fell to gtol={config.gtol:g} or below."
                break
            # divergence first, on the whole history, before any stopping rule can end the run
            losses = [*history.loss, loss]
            reason = verdict(
                losses, factor=config.divergence_factor, unit=config.unit,
                display_scale=config.loss_scale,
            )  # fmt: skip
            if reason is not None:
                history.stop_reason = "diverged"
                raise divergence_error(
                    state.epoch, losses, optimizer, objective, history, config.batch_size, reason,
                    unit=config.unit, display_scale=config.loss_scale,
                )  # fmt: skip
            val_loss = None if validation is None else float(validation.loss(state.params))
            record = EpochRecord(
                epoch=state.epoch,
                loss=float(loss),
                val_loss=val_loss,
                learning_rate=rate,
                grad_norm=grad_norm,
                n_updates=state.step,
                n_samples_seen=state.samples_seen,
                params=state.params,
            )
            history.append(record)
            if config.record_params:
                history.params.append(np.array(state.params, copy=True))
            if config.verbose:
                _print_epoch(record)
            state.epoch += 1
            epochs_run += 1
            stop, converged, why = _should_stop(state, config, record, validation is not None)
            if callback is not None and callback(record):
                stop, why = True, "Stopped by the callback."
            if on_epoch_end is not None:
                history.stop_reason = why if stop else ""
                if on_epoch_end(state, history) and not stop:
                    stop, why = True, "Stopped by the callback."
            if stop:
                message = why
                break
        if state.first_loss is not None:
            _check_end(objective, optimizer, state, config, history)
    if validation is not None and config.restore_best and state.best_params is not None:
        state.params = np.array(state.best_params, copy=True)
    history.stop_reason = message
    return TrainResult(state, history, epochs_run, converged, message)


def _check_end(
    objective: Objective,
    optimizer: GradientTransformation,
    state: TrainState,
    config: TrainConfig,
    history: History,
) -> None:
    """Raise if the run, now stopping for whatever reason, diverged by :func:`verdict`'s rules.

    With ``config.check_final`` the loss is evaluated once more at the returned parameters: the
    epoch losses are measured before each update, so without it a run that blows up in its final
    epoch would return its parameters silently. The whole history and that final loss then go
    through the divergence rule, including "ended far above its start".

    Without ``check_final`` (``partial_fit``: one epoch per call, each call possibly on other
    rows, so that losses of different calls need not be comparable) the run is not ending here
    and only the per-epoch rules, already applied, hold.
    """
    if not config.check_final:
        return
    evaluate = getattr(objective, "loss_without_blas", objective.loss)
    final = float(evaluate(state.params)) if np.all(np.isfinite(state.params)) else math.inf
    losses = [*history.loss, final]
    reason = verdict(
        losses, finished=True, factor=config.divergence_factor, unit=config.unit,
        display_scale=config.loss_scale,
    )  # fmt: skip
    if reason is not None:
        history.stop_reason = "diverged"
        raise divergence_error(
            state.epoch - 1, losses, optimizer, objective, history, config.batch_size, reason,
            unit=config.unit, display_scale=config.loss_scale,
        )  # fmt: skip


def _should_stop(
    state: TrainState, config: TrainConfig, record: EpochRecord, early_stopping: bool
) -> tuple[bool, bool, str]:
    """Update the stopping counters; return (stop, converged, reason)."""
    monitored = record.val_loss if early_stopping and record.val_loss is not None else record.loss
    what = "validation loss" if early_stopping else "training loss"
    if early_stopping and monitored < state.best_loss:
        state.best_params = np.array(state.params, copy=True)
    if config.plateau is not None and state.plateau_state is not None:
        before = state.plateau_state
        state.plateau_state = config.plateau.update(before, monitored)
        state.best_loss = min(state.best_loss, monitored)
        stalled = not config.plateau.is_better(monitored, before.best_loss)
        reduced_again = stalled and state.plateau_state.bad_epochs == 0
        if reduced_again and before.scale <= config.plateau.min_scale:
            return (
                True,
                True,
                (
                    f"The {what} stopped improving with the learning rate already at its minimum "
                    f"({config.plateau.min_scale:g} times the initial rate)."
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


def _print_epoch(record: EpochRecord) -> None:
    parts = [f"Epoch {record.epoch + 1:>4d}", f"loss={record.loss:.6g}"]
    if record.val_loss is not None:
        parts.append(f"val_loss={record.val_loss:.6g}")
    if record.learning_rate is not None:
        parts.append(f"lr={record.learning_rate:.4g}")
    parts.append(f"|grad|={record.grad_norm:.4g}")
    print(", ".join(parts))
