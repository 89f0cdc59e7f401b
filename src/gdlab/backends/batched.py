"""Many runs of one linear model trained together: parameters as the columns of one matrix.

A learning-rate sweep trains ``R`` copies of the same model that differ only in a per-run scalar.
Here their parameters are the columns of ``Theta`` (shape ``(n_params, R)``): every batch computes
``Z = X_B @ W + b`` and ``X_B.T @ dZ`` for all runs at once (matrix products instead of ``R``
matrix-vector products), so each epoch reads ``X`` once for all runs instead of ``R`` times. A
full batch is processed in blocks of rows that stay in cache between the two products.

:func:`train_runs` mirrors :func:`gdlab.engine.train` run by run (same batches, stopping rules,
divergence detection and history records), so each run's result equals that of its own ``fit`` to
rounding. The optimizer is a gdlab transformation built with one learning rate per run (an
array), which the optimizer blocks broadcast over the columns; gradient clipping must be per
column (``clip_by_global_norm(axis=0)``).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from gdlab import losses
from gdlab.batching import batches, row_count, update_order
from gdlab.divergence import divergence_error, is_divergent, verdict
from gdlab.exceptions import DivergenceError
from gdlab.history import EpochRecord, History

__all__ = ["BLOCK_ROWS", "NotBatchable", "RunOutcome", "batched_loss_and_grad", "train_runs"]

Array = NDArray[np.floating[Any]]

#: rows per block of a full-batch epoch: the block stays in cache between ``X_B @ W`` and
#: ``X_B.T @ dZ``
BLOCK_ROWS = 4096


class NotBatchable(RuntimeError):
    """The runs cannot be trained together exactly as they would be alone."""


@dataclass
class RunOutcome:
    """What one run of :func:`train_runs` ended with: a training result or a divergence."""

    result: Any = None
    error: DivergenceError | None = None


def batched_loss(objective: Any, Theta: Array) -> Array:
    """The penalised loss over all rows of every run (shape ``(R,)``), without gradients.

    One read of ``X`` in blocks, one matrix product per block: the final check of runs that end.
    """
    n, n_weights = objective.n_samples, objective.n_weights
    W = Theta[:n_weights]
    b = Theta[n_weights:] if objective.fit_intercept else 0.0
    total = np.zeros(W.shape[1])
    for start in range(0, n, BLOCK_ROWS):
        rows = slice(start, start + BLOCK_ROWS)
        y = objective.targets[rows]
        Z = objective.X[rows] @ W + b
        per_sample = objective.loss_fn.per_sample(y[:, None], Z)
        weight = None if objective.sample_weight is None else objective.sample_weight[rows]
        total += per_sample.sum(axis=0) if weight is None else weight @ per_sample
    weight_sum = float(n if objective.sample_weight is None else np.sum(objective.sample_weight))
    values = total / weight_sum
    penalty = objective.penalty
    if penalty.active:
        values = values + penalty.column_values(W)
    return values


def _block_terms(
    objective: Any, W: Array, b: Any, rows: Any, work: dict[str, Array]
) -> tuple[Array, Array, Array, float]:
    """``(sum_i w_i loss_i, X_B.T @ (w_i dloss_i), sum_i w_i dloss_i)`` per run, and the weight
    sum, over ``rows`` (unscaled).

    The squared error, the common case, is computed in place in a reused buffer: ``Z`` becomes
    the residual, then the gradient ``2 r``, with no temporary of the block's size.
    """
    X = objective.X[rows]
    y = objective.targets[rows]
    weight = None if objective.sample_weight is None else objective.sample_weight[rows]
    shape = (X.shape[0], W.shape[1])
    if work.get("Z") is None or work["Z"].shape[1] != shape[1] or work["Z"].shape[0] < shape[0]:
        work["Z"] = np.empty(shape, dtype=np.result_type(X, W))
    Z = np.matmul(X, W, out=work["Z"][: shape[0]])
    if objective.fit_intercept:
        Z += b
    if type(objective.loss_fn) is losses.SquaredError:
        Z -= y[:, None]  # the residual z - y
        if weight is None:
            total = np.einsum("ij,ij->j", Z, Z)
        else:
            total = np.einsum("i,ij,ij->j", weight, Z, Z)
            Z *= weight[:, None]
        Z *= 2.0
        grad = Z
    else:
        per_sample = objective.loss_fn.per_sample(y[:, None], Z)
        grad = objective.loss_fn.per_sample_gradient(y[:, None], Z)
        if weight is None:
            total = per_sample.sum(axis=0)
        else:
            total = weight @ per_sample
            grad = grad * weight[:, None]
    count = float(X.shape[0]) if weight is None else float(np.sum(weight))
    return total, X.T @ grad, grad.sum(axis=0), count


def batched_loss_and_grad(objective: Any, Theta: Array, rows: Any) -> tuple[Array, Array]:
    """The penalised batch loss of every run (shape ``(R,)``) and the gradients ``(P, R)``.

    The same quantities as :meth:`gdlab.objectives.LinearObjective.loss_and_grad` for each
    column, for a single-output model. A full batch (``rows`` a slice of all rows) is processed
    in blocks of :data:`BLOCK_ROWS` rows, so ``X`` is read once.
    """
    n = objective.n_samples
    n_weights = objective.n_weights
    W = Theta[:n_weights]
    b = Theta[n_weights:] if objective.fit_intercept else 0.0
    count = row_count(rows, n)
    if count == n:  # a full batch: its gradient does not depend on the row order
        work: dict[str, Array] = {}
        total, grad_w, grad_b, weight_sum = _block_terms(
            objective, W, b, slice(0, BLOCK_ROWS), work
        )
        for start in range(BLOCK_ROWS, n, BLOCK_ROWS):
            block = _block_terms(objective, W, b, slice(start, start + BLOCK_ROWS), work)
            total, grad_w, grad_b = total + block[0], grad_w + block[1], grad_b + block[2]
            weight_sum += block[3]
    else:
        total, grad_w, grad_b, weight_sum = _block_terms(objective, W, b, rows, {})
    factor = 1.0
    if objective.sample_weight is not None:
        if weight_sum == 0.0:
            total, grad_w, grad_b = (
                np.zeros_like(total),
                np.zeros_like(grad_w),
                np.zeros_like(grad_b),
            )
            weight_sum = 1.0
        factor = weight_sum / (count * float(np.mean(objective.sample_weight)))
    values = factor * (total / weight_sum)
    grads = np.empty_like(Theta)
    grads[:n_weights] = grad_w * (factor / weight_sum)
    if objective.fit_intercept:
        grads[n_weights:] = grad_b * (factor / weight_sum)
    penalty = objective.penalty
    if penalty.active:
        values = values + penalty.column_values(W)
        grads[:n_weights] += penalty.gradient(W)
    return values, grads


@dataclass
class _Run:
    """One run's bookkeeping (the engine's TrainState fields that matter here)."""

    state: Any
    history: History
    epochs_run: int = 0
    done: bool = False


def train_runs(
    objective: Any,
    optimizer: Any,
    Theta: Array,
    config: Any,
    scalar_optimizers: Sequence[Any],
    make_state: Callable[[Array, Any], Any],
    backend: str = "batched",
    on_epoch: Callable[[int, Array], Any] | None = None,
) -> list[RunOutcome]:
    """Train ``R`` runs (the columns of ``Theta``) together for up to ``config.max_epochs``.

    Parameters
    ----------
    objective : LinearObjective
        A single-output linear model.
    optimizer : GradientTransformation
        Built with one learning rate per run (an array of ``R``); its state covers ``Theta``.
    Theta : array of shape (n_params, R)
        The runs' initial parameters.
    config : TrainConfig
        As for :func:`gdlab.engine.train`, without validation, ``gtol``, plateau or callbacks.
    scalar_optimizers : sequence of GradientTransformation
        Each run's own optimizer (for the recorded learning rate and divergence advice).
    make_state : callable
        ``make_state(params, opt_state) -> TrainState`` for a run's result.
    backend : str
        Recorded in every run's ``history.backend``.
    on_epoch : callable, optional
        ``on_epoch(epoch, losses)`` after every epoch: ``epoch`` counts from 1, ``losses``
        (shape ``(R,)``) is each run's training loss in it as its ``history_`` records it,
        ``nan`` for a run that did not train in it (it had finished) or diverged in it. Its
        return value is ignored; without it nothing per epoch is added.

    Returns
    -------
    list of RunOutcome
        Per run, the :class:`~gdlab.engine.TrainResult` its own ``train`` call would return, or
        the :class:`~gdlab.DivergenceError` it would raise.
    """
    from gdlab.engine import TrainResult, _rate_at, _should_stop

    R = Theta.shape[1]
    Theta = np.array(Theta, copy=True)
    opt_state = optimizer.init(Theta)
    runs = [_Run(make_state(Theta[:, r].copy(), None), History(backend=backend)) for r in range(R)]
    if config.record_params:
        for r, run in enumerate(runs):
            run.history.params.append(Theta[:, r].copy())
    outcomes: list[RunOutcome | None] = [None] * R
    step = 0
    samples = 0
    n = objective.n_samples
    with np.errstate(over="ignore", invalid="ignore", divide="ignore", under="ignore"):
        for epoch in range(config.max_epochs):
            active = [r for r in range(R) if not runs[r].done]
            if not active:
                break
            rates = [_rate_at(scalar_optimizers[r], step, 1.0) for r in range(R)]
            order = update_order(n, config.batch_size, config.shuffle, config.seed, epoch)
            total_loss = np.zeros(R)
            total_norm = np.zeros(R)
            rows_seen = 0
            n_updates = 0
            failed: dict[int, float] = {}
            for rows in batches(n, config.batch_size, order):
                values, grads = batched_loss_and_grad(objective, Theta, rows)
                if n_updates == 0:  # the engine's reference: the first loss, or this batch's
                    references = [
                        float(values[r])
                        if runs[r].state.first_loss is None
                        else runs[r].state.first_loss
                        for r in range(R)
                    ]
                for r in active:
                    if r in failed:
                        continue
                    if is_divergent(float(values[r]), references[r], config.divergence_factor):
                        failed[r] = float(values[r])
                        runs[r].state.params = Theta[:, r].copy()
                        runs[r].state.opt_state = _column_state(opt_state, r)
                size = row_count(rows, n)
                total_loss += values * size
                total_norm += np.sqrt(np.sum(grads * grads, axis=0))
                rows_seen += size
                if config.record_steps:
                    for r in active:
                        if r not in failed:
                            runs[r].history.step_loss.append(float(values[r]))
                updates, opt_state = optimizer.update(grads, opt_state, Theta)
                Theta = (Theta + updates).astype(Theta.dtype, copy=False)
                n_updates += 1
            step += n_updates
            samples += rows_seen
            final_losses: Array | None = None
            shown = np.full(R, math.nan) if on_epoch is not None else None
            for r in active:
                run = runs[r]
                state = run.state
                if r in failed:
                    loss, grad_norm = failed[r], math.nan
                else:
                    state.params = Theta[:, r].copy()
                    state.opt_state = _column_state(opt_state, r)
                    state.step, state.samples_seen = step, samples
                    loss, grad_norm = total_loss[r] / rows_seen, total_norm[r] / n_updates
                    loss, grad_norm = float(loss), float(grad_norm)
                if state.first_loss is None:
                    state.first_loss = loss
                losses = [*run.history.loss, loss]
                reason = verdict(
                    losses, factor=config.divergence_factor, display_scale=config.loss_scale
                )
                if r in failed and reason is None:
                    # the engine would go on alone from the divergent batch: not batchable
                    raise NotBatchable("a run exploded within its first epoch without overflowing")
                if reason is not None:
                    run.history.stop_reason = "diverged"
                    error = divergence_error(
                        state.epoch,
                        losses,
                        scalar_optimizers[r],
                        objective,
                        run.history,
                        config.batch_size,
                        reason,
                        display_scale=config.loss_scale,
                    )
                    outcomes[r] = RunOutcome(error=error)
                    run.done = True
                    continue
                record = EpochRecord(
                    epoch=state.epoch,
                    loss=loss,
                    val_loss=None,
                    learning_rate=rates[r],
                    grad_norm=grad_norm,
                    n_updates=state.step,
                    n_samples_seen=state.samples_seen,
                    params=state.params,
                )
                run.history.append(record)
                if shown is not None:
                    shown[r] = loss * config.loss_scale  # in the units of y, as history_
                if config.record_params:
                    run.history.params.append(np.array(state.params, copy=True))
                state.epoch += 1
                run.epochs_run += 1
                stop, converged, why = _should_stop(state, config, record, False)
                last = run.epochs_run == config.max_epochs
                if (stop or last) and config.check_final:
                    # the engine's end check (gdlab.engine._check_end), per run
                    if final_losses is None:  # one pass over X for every run finishing now
                        final_losses = batched_loss(objective, Theta)
                    finite = np.all(np.isfinite(state.params))
                    losses = [*run.history.loss, float(final_losses[r]) if finite else math.inf]
                    reason = verdict(
                        losses,
                        finished=True,
                        factor=config.divergence_factor,
                        display_scale=config.loss_scale,
                    )
                    if reason is not None:
                        run.history.stop_reason = "diverged"
                        outcomes[r] = RunOutcome(
                            error=divergence_error(
                                state.epoch - 1,
                                losses,
                                scalar_optimizers[r],
                                objective,
                                run.history,
                                config.batch_size,
                                reason,
                                display_scale=config.loss_scale,
                            )
                        )
                        run.done = True
                        continue
                if stop or last:
                    message = why if stop else f"Reached max_iter={config.max_epochs} epochs."
                    run.history.stop_reason = message
                    outcomes[r] = RunOutcome(
                        result=TrainResult(state, run.history, run.epochs_run, converged, message)
                    )
                    run.done = True
            if on_epoch is not None and shown is not None:
                on_epoch(epoch + 1, shown)
    return [outcome if outcome is not None else RunOutcome() for outcome in outcomes]


def _column_state(state: Any, r: int) -> Any:
    """Run ``r``'s optimizer state: column ``r`` of every array, counts unchanged."""
    if isinstance(state, np.ndarray):
        return np.array(state[..., r], copy=True) if state.ndim == 2 else state
    if isinstance(state, tuple):
        members = [_column_state(member, r) for member in state]
        return type(state)(*members) if hasattr(state, "_fields") else tuple(members)
    return state
