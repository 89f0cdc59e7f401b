"""The one training loop shared by :func:`gdlab.minimize`, the estimators and the sweeps.

Data flows one way: batch plan -> loss and gradient -> optimizer update -> history -> stopping
rules. One epoch is one pass over the training rows; ``batch_size=None`` makes it one full-batch
update. Everything that training needs to continue exactly where it stopped lives in
:class:`TrainState` (parameters, optimizer state, epoch and step counters and the stopping rules'
counters), so that a resumed run is the same as an uninterrupted one. The plateau rule is a block
of the optimizer (:func:`gdlab.optim.plateau.scale_by_plateau`): its scale lives in the optimizer
state, and the loop tells it each epoch's monitored loss through the optimizer's ``observe`` hook.

The loop drives one run (:func:`train`) or a vector of runs (:func:`train_runs`, the batched
learning-rate sweep) with the same per-epoch bookkeeping: the record, the divergence test, the
stopping rules and the final check exist once, per :class:`Run`. What differs is only the *epoch
function* that advances the runs (:mod:`gdlab.backends`): the NumPy reference
(:func:`_run_epoch`) or the compiled one for one run, the batched one for many runs at once, as
PyTorch's ``_single_tensor_*`` and ``_multi_tensor_*`` implementations share one ``step``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
from numpy.typing import NDArray

from gdlab._final_check import final_loss as _final_loss
from gdlab._final_check import loss_at_start, start_loss
from gdlab._stopping import print_epoch, should_stop
from gdlab.backends import epoch_runner
from gdlab.backends.batched import NotBatchable
from gdlab.backends.reference import run_epoch as _run_epoch
from gdlab.divergence import DIVERGENCE_FACTOR, divergence_error, verdict
from gdlab.exceptions import DivergenceError
from gdlab.history import EpochRecord, History
from gdlab.objective import Objective
from gdlab.optim import GradientTransformation
from gdlab.optim.plateau import PlateauRule, PlateauState, find_state, with_plateau

Array = NDArray[np.floating[Any]]
Callback = Callable[[EpochRecord], Any]
BlockHook = Callable[["TrainState", History], Any]

__all__ = ["Run", "TrainConfig", "TrainResult", "TrainState", "init_state", "train", "train_runs"]


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
        Shorthand for training ``with_plateau(optimizer, plateau)``
        (:func:`gdlab.optim.plateau.with_plateau`; an optimizer that already has a plateau block is
        not wrapped again): shrink the learning rate when the loss stalls.
    adapt : bool
        Tell the optimizer's plateau block (if any) the monitored loss of every epoch; it then
        replaces the ``tol`` rule and training stops when its scale can shrink no more. ``False``
        (``partial_fit``) keeps the scale as it is.
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
    adapt: bool = True
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
    best_loss: float = math.inf
    bad_epochs: int = 0
    first_loss: float | None = None
    best_params: Array | None = None
    samples_seen: int = 0
    #: where an unfinished epoch stands (``None`` at an epoch boundary): the block cursor of a
    #: data source's epoch, as plain data (see :mod:`gdlab.data.objective`); set only in the
    #: states an ``on_block`` hook sees, and resumed from by the next epoch
    cursor: dict[str, Any] | None = None

    @property
    def plateau_state(self) -> PlateauState | None:
        """The plateau block's state (its scale and counters) in the optimizer state, if any."""
        return find_state(self.opt_state)


@dataclass
class TrainResult:
    """What :func:`train` returns.

    ``final_loss`` is the loss at the returned parameters from the final check (in the units the
    objective trains in), or ``None`` where there was none (``check_final`` off, or the best
    parameters of early stopping returned instead). ``start_loss`` is the loss at the parameters
    the run started from where it is known: from the targets alone at a fresh start with zero
    weights (the estimators' start), or the first epoch's loss of a full-batch run (measured
    before its update); else ``None`` (a mini-batch epoch's loss is a mean over its steps).
    ``final_loss`` may be an upper bound of the exact value
    (:func:`gdlab._final_check.final_loss`), but not where it is above ``start_loss``: a run
    known to have ended above its start always has its exact final loss here.
    """

    state: TrainState
    history: History
    n_epochs: int
    converged: bool
    message: str
    extra: dict[str, Any] = field(default_factory=dict)
    final_loss: float | None = None
    start_loss: float | None = None


@dataclass
class Run:
    """One run in the loop: its state and record, its own optimizer, and how it ended.

    ``optimizer`` is the run's own transformation (its recorded learning rate and the advice of a
    divergence error), also when an epoch function trains several runs with a joint one; ``index``
    is the run's position among the runs trained together. A run is done once ``result`` or
    ``error`` is set.
    """

    state: TrainState
    history: History
    optimizer: GradientTransformation
    index: int = 0
    epochs_run: int = 0
    start_loss: float | None = None
    result: TrainResult | None = None
    error: DivergenceError | None = None

    @property
    def done(self) -> bool:
        """Whether the run has ended (a result or a divergence)."""
        return self.result is not None or self.error is not None


#: an epoch function of the loop: advances the active runs by one epoch and returns, per run,
#: ``(mean loss, mean gradient norm, stranded)``; ``stranded`` marks a run whose epoch stopped at
#: a divergent batch while the function cannot continue it alone (the batched sweep)
EpochFunction = Callable[[Sequence[Run]], list[tuple[float, float, bool]]]
#: the loss of each given run at its parameters (the final check of runs that end)
FinalLosses = Callable[[Sequence[Run]], list[float]]


@dataclass(frozen=True)
class _Hooks:
    """What the caller of the loop sees after each epoch."""

    validation: Any = None
    callback: Callback | None = None
    on_epoch_end: Callable[[TrainState, History], Any] | None = None
    on_epoch: Callable[[int, Array], Any] | None = None


def init_state(
    params: Array, optimizer: GradientTransformation, plateau: PlateauRule | None = None
) -> TrainState:
    """A fresh state at ``params`` with the optimizer's initial state (that of
    ``with_plateau(optimizer, plateau)`` with a ``plateau`` rule, as :func:`train` trains with
    ``TrainConfig(plateau=...)``)."""
    params = np.array(params, copy=True)
    return TrainState(params=params, opt_state=_with_rule(optimizer, plateau).init(params))


def _with_rule(
    optimizer: GradientTransformation, plateau: PlateauRule | None
) -> GradientTransformation:
    """The optimizer that trains with the rule ``plateau`` (unchanged without one, or when it
    already has a loss-driven block)."""
    if plateau is None or optimizer.observe is not None:
        return optimizer
    return with_plateau(optimizer, plateau)


def _rate_at(optimizer: GradientTransformation, state: TrainState) -> float | None:
    """The step size of the run's next update, read from its optimizer state (a plateau block's
    scale included); ``None`` for a transformation without one or with one rate per run. In an
    epoch resumed from its block cursor: the rate at the start of that epoch, as it was saved."""
    if state.cursor is not None and "rate" in state.cursor:
        rate: float | None = state.cursor["rate"]
        return rate
    if optimizer.rate is None:
        return None
    value = optimizer.rate(state.opt_state)
    if np.ndim(value) != 0:
        return None
    return float(value)


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
    on_block: BlockHook | None = None,
) -> TrainResult:
    """Run up to ``config.max_epochs`` epochs from ``state``.

    ``callback(record)`` and ``on_epoch_end(state, history)`` are called after every epoch, once
    the stopping rules have been updated (``history.stop_reason`` is set when training stops
    there); either returning a true value stops training. ``on_epoch_end`` sees the complete
    training state, for checkpoints.

    ``on_block(state, history)`` is called inside an epoch over a data source (streamed or Dask,
    :mod:`gdlab.data`) after each of its blocks: ``state`` is the training state in the middle
    of the epoch, its ``cursor`` (plain data) saying where; a state with a cursor resumes there
    (mid-epoch checkpoints); what it returns is ignored. Other objectives have no blocks and
    never call it.

    Raises
    ------
    DivergenceError
        When the loss becomes non-finite or explodes; its ``history`` holds what was recorded.
    """
    history = history if history is not None else History()
    if state.cursor is not None and not hasattr(objective, "epoch_batches"):
        raise ValueError(
            f"This training state stopped in the middle of epoch {state.epoch + 1}, after "
            f"{state.cursor.get('block')} blocks of a data source; only that source, with the "
            "same blocks, can continue it (fit(source) with warm_start=True)."
        )
    optimizer = _with_rule(optimizer, config.plateau)
    run_epoch, history.backend = epoch_runner(objective, optimizer, state, config, _run_epoch)
    run = Run(
        replace(state), history, optimizer, start_loss=loss_at_start(objective, state, config)
    )

    blocked = on_block if hasattr(objective, "epoch_batches") else None  # a data source's

    def epoch(runs: Sequence[Run]) -> list[tuple[float, float, bool]]:
        blocks = {} if blocked is None else {"on_block": _block_hook(runs[0], blocked)}
        loss, grad_norm = run_epoch(
            objective, optimizer, runs[0].state, config, runs[0].history, **blocks
        )
        return [(loss, grad_norm, False)]

    def final_losses(runs: Sequence[Run]) -> list[float]:
        return [_final_loss(objective, run, config) for run in runs]

    hooks = _Hooks(validation, callback, on_epoch_end)
    _loop([run], epoch, final_losses, objective, config, hooks)
    if run.error is not None:
        raise run.error
    assert run.result is not None  # _loop ends every run
    return run.result


def _block_hook(run: Run, on_block: BlockHook) -> Callable[[TrainState], Any]:
    """What an epoch function calls after each block: ``on_block`` with the run's history, the
    cursor completed by the learning rate at the start of the epoch (what its record shows)."""
    rate = _rate_at(run.optimizer, run.state)

    def reached(state: TrainState) -> Any:
        assert state.cursor is not None  # an epoch function reports a cursor
        state.cursor["rate"] = rate
        return on_block(state, run.history)

    return reached


def train_runs(
    objective: Objective,
    runs: Sequence[Run],
    config: TrainConfig,
    epoch: EpochFunction,
    final_losses: FinalLosses,
    *,
    on_epoch: Callable[[int, Array], Any] | None = None,
) -> None:
    """Train a vector of runs together, each as :func:`train` would train it alone.

    ``epoch`` advances the active runs (for example
    :class:`gdlab.backends.batched.BatchedEpochs`); every run then goes through the same
    bookkeeping as a single run. Each run ends with its ``result`` (the :class:`TrainResult` of
    its own ``train`` call) or its ``error`` (the :class:`~gdlab.DivergenceError` it would raise).
    No validation, callbacks or plateau rule here.

    ``on_epoch(epoch, losses)`` is called after every epoch: ``epoch`` counts from 1, ``losses``
    (shape ``(R,)``) is each run's training loss in it as its ``history_`` records it (times
    ``config.loss_scale``), ``nan`` for a run that did not train in it or diverged in it.

    Raises
    ------
    NotBatchable
        When a run's epoch stopped at a divergent batch that is not a divergence of the run: alone
        it would go on from that batch, which ``epoch`` cannot do.
    """
    _loop(runs, epoch, final_losses, objective, config, _Hooks(on_epoch=on_epoch))


def _loop(
    runs: Sequence[Run],
    epoch: EpochFunction,
    final_losses: FinalLosses,
    objective: Objective,
    config: TrainConfig,
    hooks: _Hooks,
) -> None:
    """THE training loop: up to ``config.max_epochs`` epochs of every run that has not ended.

    Every run ends with its ``result`` or its ``error``.
    """
    if config.record_params:
        for run in runs:
            if not run.history.params:
                run.history.params.append(np.array(run.state.params, copy=True))
    with np.errstate(over="ignore", invalid="ignore", divide="ignore", under="ignore"):
        for index in range(config.max_epochs):
            active = [run for run in runs if not run.done]
            if not active:
                break
            before = [(_rate_at(run.optimizer, run.state), run.state.step) for run in active]
            shown = np.full(len(runs), math.nan)
            ending: list[tuple[Run, bool, str]] = []
            for run, (rate, steps_before), (loss, grad_norm, stranded) in zip(
                active, before, epoch(active), strict=True
            ):
                record, end = _close_epoch(
                    run, (loss, grad_norm, rate), steps_before, stranded, objective, config, hooks
                )
                if record is not None:
                    shown[run.index] = record.loss * config.loss_scale  # in the units of y
                if end is not None:
                    ending.append((run, *end))
            _finish(ending, final_losses, objective, config, hooks)
            if hooks.on_epoch is not None:
                hooks.on_epoch(index + 1, shown)
        reached = f"Reached max_iter={config.max_epochs} {config.unit}s."
        left = [(run, False, reached) for run in runs if not run.done]
        _finish(left, final_losses, objective, config, hooks)


def _close_epoch(
    run: Run,
    measured: tuple[float, float, float | None],
    steps_before: int,
    stranded: bool,
    objective: Objective,
    config: TrainConfig,
    hooks: _Hooks,
) -> tuple[EpochRecord | None, tuple[bool, str] | None]:
    """One run's bookkeeping after an epoch: gtol, divergence, record, stopping rules, hooks.

    ``measured`` is the epoch's ``(mean loss, mean gradient norm, learning rate at its start)``.
    Returns the record (``None`` when none was added) and, when the run ends here,
    ``(converged, message)``; a divergence sets ``run.error`` instead.
    """
    loss, grad_norm, rate = measured
    state, history = run.state, run.history
    if state.first_loss is None:
        state.first_loss = loss
    if config.gtol is not None and grad_norm <= config.gtol and state.step == steps_before:
        return None, (True, f"The gradient norm fell to gtol={config.gtol:g} or below.")
    # divergence first, on the whole history, before any stopping rule can end the run
    losses = [*history.loss, loss]
    reason = verdict(
        losses, factor=config.divergence_factor, unit=config.unit, display_scale=config.loss_scale
    )
    if stranded and reason is None:
        # alone, the run would go on from its divergent batch: the epoch function cannot
        raise NotBatchable("a run exploded within its first epoch without overflowing")
    if reason is not None:
        history.stop_reason = "diverged"
        run.error = divergence_error(
            state.epoch, losses, run.optimizer, objective, history, config.batch_size, reason,
            unit=config.unit, display_scale=config.loss_scale,
        )  # fmt: skip
        return None, None
    val_loss = None if hooks.validation is None else float(hooks.validation.loss(state.params))
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
        print_epoch(record)
    state.epoch += 1
    run.epochs_run += 1
    stop, converged, why = should_stop(
        state, run.optimizer, config, record, hooks.validation is not None
    )
    if hooks.callback is not None and hooks.callback(record):
        stop, why = True, "Stopped by the callback."
    if hooks.on_epoch_end is not None:
        history.stop_reason = why if stop else ""
        if hooks.on_epoch_end(state, history) and not stop:
            stop, why = True, "Stopped by the callback."
    if stop:
        return record, (converged, why)
    if run.epochs_run >= config.max_epochs:
        return record, (False, f"Reached max_iter={config.max_epochs} {config.unit}s.")
    return record, None


def _finish(
    ending: Sequence[tuple[Run, bool, str]],
    final_losses: FinalLosses,
    objective: Objective,
    config: TrainConfig,
    hooks: _Hooks,
) -> None:
    """End runs with ``(converged, message)``: the final check, then the result.

    With ``config.check_final`` the loss is evaluated once more at the returned parameters: the
    epoch losses are measured before each update, so without it a run that blows up in its final
    epoch would return its parameters silently. The whole history and that final loss then go
    through the divergence rule, including "ended far above its start" (a divergence sets
    ``run.error``). The losses of all runs ending together come from one ``final_losses`` call;
    a single run's may give an upper bound of its loss instead where that bound already clears
    the run (:func:`_final_loss`): the verdict is the same.

    Without ``check_final`` (``partial_fit``: one epoch per call, each call possibly on other
    rows, so that losses of different calls need not be comparable) the run is not ending here
    and only the per-epoch rules, already applied, hold.
    """
    checked = [run for run, _, _ in ending if run.state.first_loss is not None]
    checked = checked if config.check_final else []
    finite = [run for run in checked if np.all(np.isfinite(run.state.params))]
    finals = {id(run): math.inf for run in checked}  # the loss at non-finite parameters
    finals.update(zip(map(id, finite), final_losses(finite) if finite else [], strict=True))
    for run, converged, message in ending:
        state, history = run.state, run.history
        if id(run) in finals:
            losses = [*history.loss, finals[id(run)]]
            reason = verdict(
                losses, finished=True, factor=config.divergence_factor, unit=config.unit,
                display_scale=config.loss_scale,
            )  # fmt: skip
            if reason is not None:
                history.stop_reason = "diverged"
                run.error = divergence_error(
                    state.epoch - 1, losses, run.optimizer, objective, history, config.batch_size,
                    reason, unit=config.unit, display_scale=config.loss_scale,
                )  # fmt: skip
                continue
        final = finals.get(id(run))
        if hooks.validation is not None and config.restore_best and state.best_params is not None:
            state.params = np.array(state.best_params, copy=True)
            final = None  # the loss checked was that of the last parameters, not these
        history.stop_reason = message
        run.result = TrainResult(
            state, history, run.epochs_run, converged, message,
            final_loss=final, start_loss=start_loss(run, config, objective),
        )  # fmt: skip
