"""Mini-batch and stochastic epochs on Dask: the optimizer state travels to the data.

A mini-batch (or per-sample) epoch over a :class:`~gdlab.data.dask_source.DaskSource` visits the
partitions in the order of :mod:`gdlab.data.layout`, a documented function of
``(random_state, epoch, block)``: the partitions in the permutation
``default_rng([seed, epoch]).permutation(n_partitions)`` and, inside partition ``b``, the rows in
the permutation ``default_rng([seed, epoch, n_partitions + b])`` draws, cut into mini-batches.

Each partition is one task that runs where the partition lives (as dask-ml's ``Incremental``
does): it takes the current parameters and optimizer state (a few vectors), runs the engine's
NumPy reference epoch function (``reference``, handed over by
:func:`gdlab.backends.epoch_runner`) over that partition's mini-batches, and returns the new
parameters and state with each update's ``(loss, rows, gradient norm)``. The tasks of an epoch
form one chain, each taking the state the previous one returned, so the partitions never move and
the epoch is one graph. The client then adds the updates' losses and norms in update order, as
the engine does in memory, so that the fit equals, bit for bit, a fit of
:func:`gdlab.data.arrays` with the same blocks (every optimizer, schedule, loss, penalty and
softmax multi-class), whatever the number of workers. Divergence stops the chain where the
engine would stop: the tasks after it hand the state on untouched. With early stopping each
task first keeps its partition's training rows (the seeded hash of their row numbers,
:class:`~gdlab.data.objective.RowSplit`), drawn on the worker, and shuffles only those, as
:meth:`~gdlab.data.objective.BlockObjective.epoch_batches` does for a streamed block.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
from numpy.typing import NDArray

from gdlab._batching import batches, resolve_batch_size, row_count
from gdlab._objectives import LinearObjective
from gdlab.data._aligned import aligned, realigned
from gdlab.data.objective import weighted_part
from gdlab.history import History

__all__ = ["DaskEpochs"]

Array = NDArray[np.floating[Any]]


@dataclass
class _Carry:
    """What travels from one partition's task to the next: the training state's small part."""

    params: Array
    opt_state: Any
    first_loss: float | None  # the divergence test's reference (the first loss of the run)
    diverged: float | None = None  # the loss that diverged, once one has


@dataclass
class _Updates:
    """The updates of one partition: losses, rows and gradient norms, in order."""

    loss: list[float]
    rows: list[int]
    norm: list[float]


@dataclass(frozen=True)
class _Plan:
    """What every task of an epoch needs besides the partition and the carried state."""

    loss_fn: Any
    penalty: Any
    fit_intercept: bool
    layout: Any
    optimizer: Any
    config: Any
    state: Any  # the engine's TrainState at the start of the epoch (copied per task)
    reference: Any  # the engine's NumPy epoch function
    mean_weight: float = 1.0  # mean(w) over all rows, with sample weights
    rows: Any = None  # the RowSplit of the training rows with early stopping (else all rows)


class _Recorded:
    """A partition's :class:`LinearObjective` that notes each update's loss and gradient norm."""

    def __init__(self, part: LinearObjective, updates: _Updates) -> None:
        self.part = part
        self.n_samples = part.n_samples
        self.updates = updates

    def loss_and_grad(self, theta: Array, rows: Any = None) -> tuple[float, Array]:
        loss, grad = self.part.loss_and_grad(theta, rows)
        self.updates.loss.append(loss)
        self.updates.rows.append(row_count(rows, self.n_samples))
        self.updates.norm.append(float(np.sqrt(np.sum(grad * grad))))  # as the engine sums it
        return loss, grad


class _PartitionBatches:
    """The mini-batches of one partition (block ``block`` of the layout) in epoch ``epoch``:
    what :class:`~gdlab.data.objective.BlockObjective` yields for that block."""

    def __init__(self, part: _Recorded, layout: Any, block: Any) -> None:
        self.part, self.layout, self.block = part, layout, block
        self.n_samples = part.n_samples

    def epoch_batches(self, batch_size: int | None, shuffle: bool, seed: int, epoch: int) -> Any:
        rows = None
        if shuffle and resolve_batch_size(batch_size, self.n_samples) < self.n_samples:
            rows = self.layout.row_order(self.block, shuffle, seed, epoch, self.n_samples)
        for batch in batches(self.n_samples, batch_size, rows):
            yield self.part, batch


def _partition_epoch(prepared: Any, carry: _Carry, plan: _Plan, block: Any) -> Any:
    """Run one partition's updates from ``carry`` (on the worker that holds the partition, whose
    features and targets the fit's transform has prepared there once)."""
    updates = _Updates([], [], [])
    if carry.diverged is not None:
        return carry, updates
    # it may have moved here from another worker; its sample weights come third, if any
    features, targets, *weight = _chosen(realigned(prepared), plan, block)
    if not features.shape[0]:  # every row of the partition is a validation row
        return carry, updates
    part = LinearObjective(features, targets, plan.loss_fn, plan.penalty, plan.fit_intercept)
    part = weighted_part(part, weight[0] if weight else None, plan.mean_weight)
    batches_of = _PartitionBatches(_Recorded(part, updates), plan.layout, block)
    state = replace(
        plan.state, params=carry.params, opt_state=carry.opt_state, first_loss=carry.first_loss
    )
    loss, norm = plan.reference(batches_of, plan.optimizer, state, plan.config, History())
    first = carry.first_loss if carry.first_loss is not None else updates.loss[0]
    diverged = None
    if math.isnan(norm) and updates.loss:  # the last update noted was not made
        diverged = loss
        for noted in (updates.loss, updates.rows, updates.norm):
            noted.pop()
    return _Carry(state.params, state.opt_state, first, diverged), updates


def _chosen(arrays: list[Any], plan: _Plan, block: Any) -> list[Any]:
    """The training rows of a partition's arrays (all of them without a validation split): the
    split drawn here from the rows' numbers in the whole data set, as a streamed source draws it
    (:class:`~gdlab.data.objective.RowSplit`)."""
    if plan.rows is None:
        return arrays
    first = plan.layout.group_starts[block.group] + block.start
    keep = plan.rows.keep(first, first + arrays[0].shape[0])
    return [aligned(array[keep]) for array in arrays]


class DaskEpochs:
    """The epoch function of mini-batch and per-sample fits on a Dask source.

    Same contract as the engine's NumPy reference: advance ``state`` (parameters, optimizer
    state, step and sample counters) and return the epoch's mean loss and mean gradient norm, or
    ``(loss, nan)`` with the state before the divergent update.
    """

    name = "dask"

    def __init__(self, objective: Any, reference: Any) -> None:
        self.objective = objective
        self.reference = reference

    def __call__(
        self,
        objective: Any,
        optimizer: Any,
        state: Any,
        config: Any,
        history: Any,
        on_block: Any = None,
    ) -> tuple[float, float]:
        """One epoch; from ``state.cursor`` when the epoch was stopped between two partitions.

        Without ``on_block`` the epoch is one graph, computed at once. With it, the carried
        state also comes back to the client after each partition (:func:`_in_order`), and
        ``on_block(state)`` is called after each, with the state so far and its cursor (the
        partitions done, the running sums), as the NumPy epoch over a streamed source does
        (:func:`gdlab.backends.reference.run_epoch`).
        """
        import dask

        source = objective.source
        plan = _Plan(
            objective.loss_fn, objective.penalty, objective.fit_intercept, objective.layout,
            optimizer, config, replace(state, best_params=None, cursor=None), self.reference,
            objective.total_weight / objective.n_samples, objective.rows,
        )  # fmt: skip
        cursor = state.cursor or {}
        totals = _Totals.resume(cursor)
        first = cursor.get("reference", state.first_loss)
        carry: Any = _Carry(state.params, state.opt_state, first)
        parts = source.prepared(objective.transform)
        task = dask.delayed(_partition_epoch, nout=2, pure=False)
        order = objective.layout.epoch_blocks(config.shuffle, config.seed, state.epoch)
        done = objective.check_cursor(state.cursor, full=False)
        steps = [(parts[block.group], block) for block in order[done:]]
        if on_block is None:
            noted = []
            for part, block in steps:
                carry, updates = task(part, carry, plan, block)
                noted.append(updates)
            carry, *noted = dask.compute(carry, *noted)
            for updates in noted:
                totals.add(updates, config, history)
            return self._finish(carry, totals, state)
        done_tasks = _in_order(task, steps, carry, plan)
        for position, (carry, updates) in enumerate(done_tasks, start=done):
            totals.add(updates, config, history)
            if carry.diverged is not None:
                break
            state.params, state.opt_state = carry.params, carry.opt_state
            where = objective.position(position + 1)
            state.cursor = {**where, **totals.cursor(), "reference": carry.first_loss}
            on_block(state)
        return self._finish(carry, totals, state)

    @staticmethod
    def _finish(carry: _Carry, totals: _Totals, state: Any) -> tuple[float, float]:
        """The epoch's mean loss and norm (or the divergent loss and nan); the state advanced."""
        state.params, state.opt_state, state.cursor = carry.params, carry.opt_state, None
        if carry.diverged is not None:
            return carry.diverged, math.nan
        state.step += totals.updates
        state.samples_seen += totals.rows
        return totals.loss / totals.rows, totals.norm / totals.updates


@dataclass
class _Totals:
    """An epoch's running sums: the updates' losses times rows, rows, gradient norms, updates
    (added in update order, as the engine's epoch adds them)."""

    loss: float = 0.0
    rows: int = 0
    norm: float = 0.0
    updates: int = 0

    @classmethod
    def resume(cls, cursor: dict[str, Any]) -> _Totals:
        """The sums saved in a block cursor (zero without one)."""
        if not cursor:
            return cls()
        return cls(
            float(cursor["loss"]), int(cursor["rows"]), float(cursor["norm"]),
            int(cursor["updates"]),
        )  # fmt: skip

    def cursor(self) -> dict[str, Any]:
        return {"loss": self.loss, "rows": self.rows, "norm": self.norm, "updates": self.updates}

    def add(self, updates: _Updates, config: Any, history: Any) -> None:
        for loss, rows, norm in zip(updates.loss, updates.rows, updates.norm, strict=True):
            self.loss += loss * rows
            self.rows += rows
            self.norm += norm
            self.updates += 1
            if config.record_steps:
                history.step_loss.append(loss)


def _in_order(task: Any, steps: list[tuple[Any, Any]], carry: Any, plan: _Plan) -> Any:
    """The ``(carry, updates)`` of each partition's task of an epoch, in order, as each is done.

    On a ``distributed`` cluster the whole chain is submitted at once and runs without waiting
    for the client, which gathers each task's small outputs as they come; with the local
    scheduler the tasks are computed one after the other, each from the carry the previous one
    returned."""
    import dask

    try:
        from distributed import default_client

        client = default_client()
    except (ImportError, ValueError):  # no distributed, or no client: the local scheduler
        client = None
    if client is None:
        for part, block in steps:
            carry, updates = dask.compute(*task(part, carry, plan, block))
            yield carry, updates
        return
    carries, noted = [], []
    for part, block in steps:
        carry, updates = task(part, carry, plan, block)
        carries.append(carry)
        noted.append(updates)
    futures = zip(client.compute(carries), client.compute(noted), strict=True)
    for carry_future, updates_future in futures:
        yield carry_future.result(), updates_future.result()
