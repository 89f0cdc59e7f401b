"""The NumPy reference epoch: one pass over the rows, one update per batch, for any objective.

:func:`run_epoch` is the epoch function of ``backend="numpy"`` (and the fallback of ``"auto"``)
in the one training loop (:func:`gdlab.engine.train`): it runs anything (any objective, any
optimizer chain, a schedule that returns one rate per run). It advances ``state`` (a
:class:`gdlab.engine.TrainState`: parameters, optimizer state, step and sample counters) and
returns the epoch's mean loss and mean gradient norm; the compiled epochs
(:mod:`gdlab.backends.numba_backend`) keep the same contract.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

from gdlab._batching import batches, row_count, update_order
from gdlab.divergence import is_divergent

__all__ = ["epoch_batches", "run_epoch"]


def run_epoch(
    objective: Any,
    optimizer: Any,
    state: Any,
    config: Any,
    history: Any,
    on_block: Callable[[Any], Any] | None = None,
) -> tuple[float, float]:
    """One pass over the rows with the NumPy reference path; returns (mean loss, mean grad norm).

    Over a data source (an objective that plans its own blocks, :mod:`gdlab.data`) the epoch can
    stop and go on between blocks: with ``on_block``, after each block ``state`` holds the
    parameters and optimizer state so far and ``state.cursor`` where the epoch stands (the
    objective's block position, and this epoch's running sums: ``loss``, ``rows``, ``norm``,
    ``updates`` and the divergence ``reference``), and ``on_block(state)`` is called; an epoch
    that starts from a state with a cursor goes on from there, as if it had never stopped.
    """
    cursor = state.cursor or {}
    total_loss = float(cursor.get("loss", 0.0))
    total_norm = float(cursor.get("norm", 0.0))
    total_rows = int(cursor.get("rows", 0))
    n_updates = int(cursor.get("updates", 0))
    reference = cursor.get("reference", state.first_loss)
    params, opt_state = state.params, state.opt_state

    def report(position: dict[str, Any]) -> None:  # the objective finished a block
        assert on_block is not None
        state.params, state.opt_state = params, opt_state
        sums = {"loss": total_loss, "rows": total_rows, "norm": total_norm, "updates": n_updates}
        state.cursor = {**position, **sums, "reference": reference}
        on_block(state)

    hook = None if on_block is None else report
    for batch_objective, rows in epoch_batches(objective, config, state.epoch, state.cursor, hook):
        loss, grad = batch_objective.loss_and_grad(params, rows)  # once per batch, also for gtol
        if reference is None:
            reference = loss
        if is_divergent(loss, reference, config.divergence_factor):
            state.params, state.opt_state, state.cursor = params, opt_state, None
            return loss, math.nan
        size = row_count(rows, batch_objective.n_samples)
        total_loss += loss * size
        total_rows += size
        total_norm += float(np.sqrt(np.sum(grad * grad)))
        if config.gtol is not None and config.batch_size is None and total_norm <= config.gtol:
            state.cursor = None
            return loss, total_norm  # converged: no update, state unchanged
        if config.record_steps:
            history.step_loss.append(loss)
        updates, opt_state = optimizer.update(grad, opt_state, params)  # a plateau scale too
        params = (params + updates).astype(params.dtype, copy=False)
        n_updates += 1
    state.params, state.opt_state, state.cursor = params, opt_state, None
    state.step += n_updates
    state.samples_seen += total_rows
    return total_loss / total_rows, total_norm / n_updates


def epoch_batches(
    objective: Any,
    config: Any,
    epoch: int,
    start: dict[str, Any] | None = None,
    report: Callable[[dict[str, Any]], Any] | None = None,
) -> Iterator[tuple[Any, Any]]:
    """``(objective, rows)`` of each update of an epoch.

    An objective over a data source (:mod:`gdlab.data`) plans its own blocks with
    ``epoch_batches`` (from the block cursor ``start``, calling ``report(position)`` after each
    block when given); otherwise the rows come from :func:`gdlab._batching.update_order`.
    """
    plan = getattr(objective, "epoch_batches", None)
    if plan is not None:
        where = {} if start is None and report is None else {"start": start, "report": report}
        yield from plan(config.batch_size, config.shuffle, config.seed, epoch, **where)
        return
    order = update_order(objective.n_samples, config.batch_size, config.shuffle, config.seed, epoch)
    for rows in batches(objective.n_samples, config.batch_size, order):
        yield objective, rows
