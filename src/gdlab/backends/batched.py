"""Many runs of one linear model trained together: parameters as the columns of one matrix.

A learning-rate sweep trains ``R`` copies of the same model that differ only in a per-run scalar.
Here their parameters are the columns of ``Theta`` (shape ``(n_params, R)``): every batch computes
``Z = X_B @ W + b`` and ``X_B.T @ dZ`` for all runs at once (matrix products instead of ``R``
matrix-vector products), so each epoch reads ``X`` once for all runs instead of ``R`` times. A
full batch is processed in blocks of rows that stay in cache between the two products.

:class:`BatchedEpochs` is an epoch function of the one training loop: the engine
(:func:`gdlab.engine.train_runs`) drives the runs with the bookkeeping of a single run (records,
stopping rules, divergence detection, final check), so each run's result equals that of its own
``fit`` to rounding. The optimizer is a gdlab transformation built with one learning rate per run
(an array), which the optimizer blocks broadcast over the columns; gradient clipping must be per
column (``clip_by_global_norm(axis=0)``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray

from gdlab import losses
from gdlab._batching import batches, row_count, update_order
from gdlab.divergence import is_divergent

__all__ = ["BLOCK_ROWS", "BatchedEpochs", "NotBatchable", "batched_loss", "batched_loss_and_grad"]

Array = NDArray[np.floating[Any]]

#: rows per block of a full-batch epoch: the block stays in cache between ``X_B @ W`` and
#: ``X_B.T @ dZ``
BLOCK_ROWS = 4096


class NotBatchable(RuntimeError):
    """The runs cannot be trained together exactly as they would be alone."""


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

    The same quantities as :meth:`gdlab._objectives.LinearObjective.loss_and_grad` for each
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


class BatchedEpochs:
    """The epoch function of ``R`` runs trained together (the columns of ``Theta``).

    The engine (:func:`gdlab.engine.train_runs`) calls it with the runs that have not ended; each
    run has a ``state`` (a :class:`gdlab.engine.TrainState`), a ``history`` and an ``index`` (its
    column). Every epoch updates all columns, ended runs' too (their columns change nothing for
    the others, and the matrix products keep one shape); the active runs' states get their
    column of the parameters and of the optimizer state, and the shared step and sample counts.

    Parameters
    ----------
    objective : LinearObjective
        A single-output linear model.
    optimizer : GradientTransformation
        Built with one learning rate per run (an array of ``R``); its state covers ``Theta``.
        Gradient clipping must be per column (``clip_by_global_norm(axis=0)``).
    Theta : array of shape (n_params, R)
        The runs' initial parameters (copied).
    config : TrainConfig
        As for :func:`gdlab.engine.train`, without validation, ``gtol``, plateau or callbacks.
    """

    name = "batched"

    def __init__(self, objective: Any, optimizer: Any, Theta: Array, config: Any) -> None:
        self.objective, self.optimizer, self.config = objective, optimizer, config
        self.Theta = np.array(Theta, copy=True)
        self.opt_state = optimizer.init(self.Theta)
        self.epoch = 0
        self.step = 0
        self.samples = 0

    def __call__(self, runs: Sequence[Any]) -> list[tuple[float, float, bool]]:
        """One epoch of every column; per active run ``(mean loss, mean grad norm, stranded)``.

        A run whose loss becomes divergent within the epoch keeps the parameters and optimizer
        state it had at that batch (as the reference epoch would), with its loss there, a ``nan``
        gradient norm and ``stranded=True``: its column goes on with the others, so the run
        cannot continue from that batch alone.
        """
        objective, config = self.objective, self.config
        n, R = objective.n_samples, self.Theta.shape[1]
        order = update_order(n, config.batch_size, config.shuffle, config.seed, self.epoch)
        total_loss, total_norm = np.zeros(R), np.zeros(R)
        rows_seen = n_updates = 0
        failed: dict[int, float] = {}
        for rows in batches(n, config.batch_size, order):
            values, grads = batched_loss_and_grad(objective, self.Theta, rows)
            if n_updates == 0:  # the engine's reference: the first loss, or this batch's
                references = {run.index: _reference(run, values) for run in runs}
            for run in runs:
                r = run.index
                if r not in failed and is_divergent(
                    float(values[r]), references[r], config.divergence_factor
                ):
                    failed[r] = float(values[r])
                    run.state.params = self.Theta[:, r].copy()
                    run.state.opt_state = _column_state(self.opt_state, r)
            size = row_count(rows, n)
            total_loss += values * size
            total_norm += np.sqrt(np.sum(grads * grads, axis=0))
            rows_seen += size
            if config.record_steps:
                for run in runs:
                    if run.index not in failed:
                        run.history.step_loss.append(float(values[run.index]))
            updates, self.opt_state = self.optimizer.update(grads, self.opt_state, self.Theta)
            self.Theta = (self.Theta + updates).astype(self.Theta.dtype, copy=False)
            n_updates += 1
        self.epoch += 1
        self.step += n_updates
        self.samples += rows_seen
        measured = []
        for run in runs:
            r = run.index
            if r in failed:
                measured.append((failed[r], math.nan, True))
                continue
            state = run.state
            state.params = self.Theta[:, r].copy()
            state.opt_state = _column_state(self.opt_state, r)
            state.step, state.samples_seen = self.step, self.samples
            loss, grad_norm = total_loss[r] / rows_seen, total_norm[r] / n_updates
            measured.append((float(loss), float(grad_norm), False))
        return measured

    def column_state(self, r: int) -> Any:
        """Run ``r``'s optimizer state now: column ``r`` of every array, counts unchanged."""
        return _column_state(self.opt_state, r)

    def final_losses(self, runs: Sequence[Any]) -> list[float]:
        """The loss of each given run at its current column (one pass over ``X`` for all)."""
        values = batched_loss(self.objective, self.Theta)
        return [float(values[run.index]) for run in runs]


def _reference(run: Any, values: Array) -> float:
    """The divergence reference of a run: its first loss, or this batch's loss."""
    first = run.state.first_loss
    return float(values[run.index]) if first is None else first


def _column_state(state: Any, r: int) -> Any:
    """Run ``r``'s optimizer state: column ``r`` of every array, counts unchanged."""
    if isinstance(state, np.ndarray):
        return np.array(state[..., r], copy=True) if state.ndim == 2 else state
    if isinstance(state, tuple):
        members = [_column_state(member, r) for member in state]
        return type(state)(*members) if hasattr(state, "_fields") else tuple(members)
    return state
