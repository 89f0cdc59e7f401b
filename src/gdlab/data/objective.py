"""The objective of a linear model over a data source, read block by block.

:class:`BlockObjective` offers the engine (:func:`gdlab.engine.train`) the same protocol as
:class:`~gdlab._objectives.LinearObjective` plus ``epoch_batches``: the engine's one training loop
asks it for the batches of an epoch, and it yields, block after block in the order of
:mod:`gdlab.data.layout`, a :class:`~gdlab._objectives.LinearObjective` over the block's rows with
the rows of each mini-batch. A full-batch epoch (``batch_size=None``) is one update whose loss and
gradient are the row-weighted sums of the blocks' means,

    L(theta) = sum_b n_b L_b(theta) / n + alpha R(W),

so that only one block is ever in memory. With a weight column (``weight=`` of the source) ``n_b``
is the sum of the block's weights and ``L_b`` its weighted mean loss, and a mini-batch's share is
``sum_B w_i loss_i / (|B| mean(w))`` with ``mean(w)`` over all rows: the in-memory
``sample_weight`` rule of :class:`~gdlab._objectives.LinearObjective`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from gdlab import losses
from gdlab._batching import batches, resolve_batch_size
from gdlab._objectives import LinearObjective
from gdlab.data.layout import validation_rows
from gdlab.data.sources import blocks_of

Array = NDArray[np.floating[Any]]
Transform = Callable[[Array, Any], tuple[Array, Array]]
#: where an epoch stands between two blocks, as plain data (see BlockObjective.epoch_batches)
Cursor = dict[str, Any]

__all__ = ["BlockObjective", "BlockTransform", "RowSplit", "weighted_part"]


@dataclass(frozen=True)
class BlockTransform:
    """An estimator's ``transform`` of a block: ``(features(X), targets(y))``.

    ``scaling`` is what ``features`` does, as data: ``(mean, scale)`` when it standardizes
    (``(X - mean) / scale`` as the standardized copy rounds it), ``None`` when it returns ``X`` as
    it is. A file source then standardizes each block as it copies it
    (:meth:`gdlab.data.sources.FileSource.read_blocks`), and only ``targets`` is left to do.

    Examples
    --------
    >>> import numpy as np
    >>> t = BlockTransform(lambda X: X - 1.0, lambda y: 2.0 * y, (np.ones(1), np.ones(1)))
    >>> t(np.array([[3.0]]), np.array([1.0]))
    (array([[2.]]), array([2.]))
    """

    features: Callable[[Array], Array]
    targets: Callable[[Any], Array]
    scaling: tuple[Array, Array] | None = None

    def __call__(self, X: Array, y: Any) -> tuple[Array, Array]:
        return self.features(X), self.targets(y)


class BlockObjective:
    """Mean loss of ``z = X @ W + b`` over every row of ``source``, plus a penalty.

    Parameters
    ----------
    source
        A data source (:mod:`gdlab.data.sources`) with a target.
    transform : callable
        ``transform(X, y) -> (features, targets)`` for one block: the estimator's scaling and
        target encoding.
    loss, penalty, fit_intercept
        As :class:`~gdlab._objectives.LinearObjective`.
    n_outputs : int
    rows : RowSplit, optional
        Only these rows of a validation split (the training or the validation rows); default all.
    weight_sum : float, optional
        The sum of the chosen rows' weights when the source has a weight column and the scan
        found it (else one pass over the source finds it).
    """

    def __init__(
        self,
        source: Any,
        transform: Transform,
        loss: losses.Loss,
        penalty: losses.Penalty,
        fit_intercept: bool,
        n_outputs: int,
        rows: RowSplit | None = None,
        weight_sum: float | None = None,
    ) -> None:
        self.source = source
        self.layout = source.layout
        self.transform = transform
        self.loss_fn = loss
        self.penalty = penalty
        self.fit_intercept = fit_intercept
        self.sample_weight = None
        self.rows = rows
        self.n_samples = self.layout.n_rows if rows is None else rows.count(self.layout.n_rows)
        self.n_features = source.n_features
        self.n_outputs = n_outputs
        shape = (0,) if n_outputs == 1 else (0, n_outputs)
        self._template = LinearObjective(
            np.empty((0, self.n_features)), np.empty(shape), loss, penalty, fit_intercept
        )
        self.n_weights = self._template.n_weights
        self.n_params = self._template.n_params
        self._no_penalty = losses.get_penalty(None)
        self.target_mean: Array | None = None  # set by the scanning pass when known
        #: what the loss sums divide by: the rows, or the sum of their weights
        self.total_weight: float = float(self.n_samples)
        self.weighted = getattr(source, "weight", None) is not None
        if self.weighted:
            self.total_weight = self._weight_sum() if weight_sum is None else weight_sum

    def split(self, theta: Array) -> tuple[Array, Array | float]:
        return self._template.split(theta)

    def pack(self, weights: Array, intercept: Array | float) -> Array:
        return self._template.pack(weights, intercept).astype(np.float64)

    def _chosen_blocks(
        self, groups: list[int], scaling: tuple[Array, Array] | None = None
    ) -> Iterator[tuple[Array, Any, Array | None]]:
        """``(X, y, w)`` of every block of ``groups``, only the chosen rows (maybe none); given
        ``scaling`` (a file source only) ``X`` comes standardized. Each ``X`` is valid until the
        next block is asked for (a file source fills one buffer)."""
        starts = self.layout.group_starts
        group_of = iter(groups)
        group, start, left = -1, 0, 0
        for X, y, weight in blocks_of(self.source, groups, scaling):
            n = X.shape[0]
            while left <= 0:  # the blocks of each group follow each other, front to back
                group = next(group_of)
                start, left = starts[group], self.layout.group_rows[group]
            if self.rows is not None:
                keep = self.rows.keep(start, start + n)
                X, y = X[keep], None if y is None else y[keep]
                weight = None if weight is None else weight[keep]
            start += n
            left -= n
            yield X, y, weight

    def _fused_transform(self) -> BlockTransform | None:
        """The estimator's :class:`BlockTransform` when the source applies its scaling as it
        reads (a file source), so that only its ``targets`` are left to do here; else ``None``."""
        if isinstance(self.transform, BlockTransform) and hasattr(self.source, "read_blocks"):
            return self.transform
        return None

    def _weight_sum(self) -> float:
        """The sum of the chosen rows' weights (one pass over the source; where the partitions
        live for a Dask source)."""
        if hasattr(self.source, "map_groups"):
            found = self.source.map_groups(_weight_of, self.transform, 0, self.rows)
        else:
            groups = list(range(len(self.layout.group_rows)))
            found = [_weight_of(X, y, weight) for X, y, weight in self._chosen_blocks(groups)]
        total = 0.0
        for weight_sum in found:
            total += weight_sum
        return total

    def _group_objectives(
        self, groups: list[int], penalty: Any, skip: int = 0
    ) -> Iterator[LinearObjective]:
        """A LinearObjective per block of ``groups`` (over the chosen rows: it may have none),
        less the first ``skip`` (read, not transformed)."""
        fused = self._fused_transform()
        scaling = None if fused is None else fused.scaling
        for index, (X, y, weight) in enumerate(self._chosen_blocks(groups, scaling)):
            if index < skip:
                continue
            if fused is not None:  # X is standardized already (or needs no scaling)
                features, targets = X, fused.targets(y)
            else:
                features, targets = self.transform(X, y)
            part = LinearObjective(features, targets, self.loss_fn, penalty, self.fit_intercept)
            yield weighted_part(part, weight, self.total_weight / self.n_samples)

    def block_objectives(self, penalty: Any = None) -> Iterator[LinearObjective]:
        """A :class:`LinearObjective` per block, in the natural order (unpenalised by default)."""
        groups = list(range(len(self.layout.group_rows)))
        return self._group_objectives(groups, self._no_penalty if penalty is None else penalty)

    def epoch_batches(
        self,
        batch_size: int | None,
        shuffle: bool,
        seed: int,
        epoch: int,
        start: Cursor | None = None,
        report: Callable[[Cursor], Any] | None = None,
    ) -> Iterator[tuple[Any, Any]]:
        """``(objective, rows)`` for every update of epoch ``epoch``.

        The epoch can stop and go on between blocks (a mid-epoch checkpoint):
        ``report(position)``, when given, is called after each block of the epoch's order, with
        ``position = {"block": k, "blocks": n}``, the blocks done of the ``n`` of an epoch; a
        full-batch epoch's one update comes after all blocks, so its position holds the partial
        sums too, ``loss_sum`` and ``grad_sum`` (the row-weighted losses and gradients of the
        blocks done; what they are divided by is known before the pass). ``start`` (a position
        reported before, with anything else the epoch function put in the cursor) resumes the
        epoch there: the groups done are not read, the blocks done of a group partly done are
        read and dropped, and the updates and sums are those of an epoch that never stopped. (A
        Dask source's full-batch pass computes its partitions in parallel on the workers and
        adds them on the client in partition order: with ``report`` it gathers them in that
        order as they come and reports after each; from ``start`` it computes only the
        partitions after ``block``.)
        """
        full = batch_size is None or batch_size >= self.n_samples
        done = self.check_cursor(start, full)
        if full:
            yield (self if start is None and report is None else _Pass(self, start, report)), None
            return
        order = self.layout.epoch_blocks(shuffle, seed, epoch)[done:]
        groups = list(dict.fromkeys(block.group for block in order))
        skip = order[0].start // self.layout.batch_rows if order else 0  # done in its group
        parts = self._group_objectives(groups, self.penalty, skip)
        for position, (block, part) in enumerate(zip(order, parts, strict=True), start=done):
            if part.n_samples:  # else every row of the block is a validation row
                rows = None
                if shuffle and resolve_batch_size(batch_size, part.n_samples) < part.n_samples:
                    rows = self.layout.row_order(block, shuffle, seed, epoch, part.n_samples)
                for batch in batches(part.n_samples, batch_size, rows):
                    yield part, batch
            if report is not None:
                report(self.position(position + 1))

    def position(self, done: int) -> Cursor:
        """The cursor after the first ``done`` blocks of an epoch's order: ``block`` (the blocks
        done) and what identifies the layout: ``blocks`` (how many), ``group_rows`` and
        ``block_rows`` (the rows of each group and of each block, float arrays: plain data)."""
        return {
            "block": done,
            "blocks": len(self.layout.blocks),
            "group_rows": np.asarray(self.layout.group_rows, dtype=np.float64),
            "block_rows": np.array([b.n_rows for b in self.layout.blocks], dtype=np.float64),
        }

    def check_cursor(self, start: Cursor | None, full: bool) -> int:
        """The blocks done of the cursor ``start`` (0 without one), checked against this
        source's blocks and the kind of epoch."""
        if start is None:
            return 0
        done, n_blocks = int(start["block"]), len(self.layout.blocks)
        other = int(start.get("blocks", n_blocks)) != n_blocks
        if other or not 0 <= done <= n_blocks or full != ("loss_sum" in start):
            kind = "full-batch" if "loss_sum" in start else "mini-batch"
            raise ValueError(
                f"The block cursor (a {kind} epoch after {done} blocks) does not fit this "
                f"{'full-batch' if full else 'mini-batch'} fit on {n_blocks} blocks: continue a "
                "run stopped between two blocks on the same source, with the same batch_size."
            )
        self._check_layout(start)
        return done

    def _check_layout(self, start: Cursor) -> None:
        """Refuse a cursor made on other groups or blocks of rows (cursors saved before the
        layout was noted have neither: only the number of blocks is checked then)."""
        blocks = [b.n_rows for b in self.layout.blocks]
        for key, what, here in (
            ("group_rows", "groups", self.layout.group_rows),
            ("block_rows", "blocks", blocks),
        ):
            if start.get(key) is None:
                continue
            saved = [int(n) for n in np.asarray(start[key]).ravel()]
            if saved != here:
                raise ValueError(
                    f"The block cursor was made on {sum(saved)} rows in {what} of {_rows(saved)} "
                    f"rows, and this source has {sum(here)} rows in {what} of {_rows(here)}: "
                    "continue a run stopped between two blocks on the same source, cut into the "
                    f"same {what}."
                )

    def loss_and_grad(self, theta: Array, rows: Any = None) -> tuple[float, Array]:
        """The penalised mean loss over all rows and its gradient (one pass over the source)."""
        if rows is not None:
            raise ValueError("A BlockObjective evaluates all rows; its batches come in blocks.")
        return self.resumable_loss_and_grad(theta)

    def resumable_loss_and_grad(
        self,
        theta: Array,
        start: Cursor | None = None,
        report: Callable[[Cursor], Any] | None = None,
    ) -> tuple[float, Array]:
        """:meth:`loss_and_grad` from the partial sums of ``start`` (its first ``block`` blocks
        in the natural order), reporting the partial sums after each block (see
        :meth:`epoch_batches`)."""
        done = 0 if start is None else int(start["block"])
        total = 0.0 if start is None else float(start["loss_sum"])
        grad = np.zeros_like(theta)
        if start is not None:
            grad[...] = start["grad_sum"]
        sums = _BlockSums(self, theta, gradient=True)
        if hasattr(self.source, "map_groups"):
            # a Dask source: the blocks after ``done`` computed in parallel where they live (of
            # their chosen rows), in partition order; one by one as they come when reported
            each = self.source.map_groups if report is None else self.source.each_group
            found: Any = each(sums.of_transformed, self.transform, done, self.rows)
        else:
            found = (sums.of(part) if _mass(part) else None for part in self._from_block(done))
        for position, block_sums in enumerate(found, start=done):
            if block_sums is not None:  # else no rows (validation rows only) or no weight
                total += block_sums[0]
                grad += block_sums[1]
            if report is not None:
                report({**self.position(position + 1), "loss_sum": total, "grad_sum": grad.copy()})
        value = total / self.total_weight
        grad /= self.total_weight
        if self.penalty.active:
            weights, _ = self.split(theta)
            value += self.penalty.value(weights)
            grad[: self.n_weights] += np.ravel(self.penalty.gradient(weights))
        return value, grad

    def _from_block(self, done: int) -> Iterator[LinearObjective]:
        """The unpenalised :class:`LinearObjective` of every block after the first ``done``, in
        the natural order (the groups done are not read)."""
        blocks = self.layout.blocks[done:]
        groups = list(dict.fromkeys(block.group for block in blocks))
        skip = blocks[0].start // self.layout.batch_rows if blocks else 0
        return self._group_objectives(groups, self._no_penalty, skip)

    def loss(self, theta: Array, rows: Any = None) -> float:
        """The penalised mean loss over all rows."""
        total = 0.0
        for value, _ in self._block_sums(theta, gradient=False):
            total += value
        weights, _ = self.split(theta)
        return total / self.total_weight + self.penalty.value(weights)

    def _block_sums(self, theta: Array, gradient: bool) -> list[tuple[float, Any]]:
        """``(n_b L_b, n_b grad L_b)`` of every block in order (unpenalised); computed where the
        data lives for a source with ``map_groups`` (a Dask source), else block by block here."""
        sums = _BlockSums(self, theta, gradient)
        if hasattr(self.source, "map_groups"):
            found = self.source.map_groups(sums.of_transformed, self.transform, 0, self.rows)
            return [block_sums for block_sums in found if block_sums is not None]
        return [sums.of(part) for part in self.block_objectives() if _mass(part)]

    def mean_residual(self, weights: Array) -> Array:
        """``mean(targets - features @ weights)`` per output (one pass unless ``weights == 0``
        and the scan already found the mean target)."""
        if self.target_mean is not None and not np.any(weights):
            return np.array(self.target_mean, dtype=np.float64)
        residuals = _Residuals(weights)
        if hasattr(self.source, "map_groups"):  # where the partitions live
            found = self.source.map_groups(residuals, self.transform, 0, self.rows)
        else:
            found = [residuals.of(part.X, part.targets, part.sample_weight)
                     for part in self.block_objectives()]  # fmt: skip
        total = np.zeros(self.n_outputs)
        for block_total in found:
            if block_total is not None:  # else the block has no chosen rows
                total += block_total
        return total / self.total_weight

    def lipschitz_constant(self, batch_size: int | None = None) -> float | None:
        return None

    def scale_spread(self) -> float:
        return 1.0


class _Pass:
    """The one full-batch update of an epoch that may stop and go on between blocks: a
    :class:`BlockObjective` whose loss and gradient start from a cursor and report one."""

    def __init__(
        self,
        objective: BlockObjective,
        start: Cursor | None,
        report: Callable[[Cursor], Any] | None,
    ) -> None:
        self.objective, self.start, self.report = objective, start, report
        self.n_samples = objective.n_samples

    def loss_and_grad(self, theta: Array, rows: Any = None) -> tuple[float, Array]:
        return self.objective.resumable_loss_and_grad(theta, self.start, self.report)


class RowSplit:
    """The training (``validation=False``) or validation rows of the split
    :func:`gdlab.data.layout.validation_rows` draws from ``(seed, fraction)``.

    Examples
    --------
    >>> train, held = RowSplit(0, 0.25, False), RowSplit(0, 0.25, True)
    >>> train.count(1000) + held.count(1000), bool((train.keep(0, 9) != held.keep(0, 9)).all())
    (1000, True)
    """

    CHUNK = 1 << 20

    def __init__(self, seed: int, fraction: float, validation: bool) -> None:
        self.seed, self.fraction, self.validation = seed, fraction, validation

    def keep(self, start: int, stop: int) -> NDArray[np.bool_]:
        """Which of the rows ``start:stop`` are chosen."""
        held = validation_rows(self.seed, self.fraction, start, stop)
        return held if self.validation else ~held

    def count(self, n_rows: int) -> int:
        """How many of the first ``n_rows`` rows are chosen (computed, not read)."""
        return sum(
            int(np.count_nonzero(self.keep(start, min(start + self.CHUNK, n_rows))))
            for start in range(0, n_rows, self.CHUNK)
        )


class _BlockSums:
    """The unpenalised loss (and gradient) sums of one block, as a picklable callable."""

    def __init__(self, objective: BlockObjective, theta: Array, gradient: bool) -> None:
        self.loss_fn = objective.loss_fn
        self.penalty = objective._no_penalty
        self.fit_intercept = objective.fit_intercept
        self.theta = theta
        self.gradient = gradient
        self.mean_weight = objective.total_weight / objective.n_samples

    def of(self, part: LinearObjective) -> tuple[float, Any]:
        mass = _mass(part)
        if self.gradient:
            value, grad = part.loss_and_grad(self.theta)
            return value * mass, grad * mass
        return part.loss(self.theta) * mass, None

    def of_transformed(
        self, features: Array, targets: Array, weight: Array | None = None
    ) -> tuple[float, Any] | None:
        """:meth:`of` a block already scaled and encoded by the objective's ``transform``, with
        its sample weights if any; ``None`` for a block of no rows or of weights summing to 0."""
        part = weighted_part(
            LinearObjective(features, targets, self.loss_fn, self.penalty, self.fit_intercept),
            weight,
            self.mean_weight,
        )
        return self.of(part) if _mass(part) else None


def _weight_of(features: Array, targets: Array, weight: Array | None = None) -> float:
    """The sum of a block's sample weights (0 without)."""
    return 0.0 if weight is None else float(np.sum(weight))


class _Residuals:
    """``sum(targets - features @ weights)`` per output of a block (weighted with sample
    weights), ``None`` for a block of no rows; a picklable callable."""

    def __init__(self, weights: Array) -> None:
        self.weights = weights

    def __call__(self, features: Array, targets: Array, weight: Array | None = None) -> Any:
        return self.of(features, targets, weight)

    def of(self, features: Array, targets: Array, weight: Array | None) -> Array | None:
        n = features.shape[0]
        if not n:
            return None
        residual = targets - features @ self.weights if np.any(self.weights) else targets
        residual = residual.reshape(n, -1)
        return np.sum(residual, axis=0) if weight is None else weight @ residual


def weighted_part(part: LinearObjective, weight: Array | None, mean_weight: float) -> Any:
    """``part`` with the sample weights ``weight`` of its rows (none when ``None``): as
    ``LinearObjective(..., sample_weight)``, but with ``mean(w)`` over all the rows of the source,
    ``mean_weight``, so that a mini-batch's share is that of the in-memory fit."""
    if weight is not None:
        part.sample_weight = weight
        part._mean_weight = mean_weight
    return part


def _rows(counts: list[int]) -> str:
    """``counts`` as text, the middle left out when there are many."""
    shown = counts if len(counts) <= 6 else [*counts[:3], "...", *counts[-2:]]
    return "[" + ", ".join(str(n) for n in shown) + "]"


def _mass(part: LinearObjective) -> float:
    """What a block's mean loss is weighted by: its rows, or the sum of its weights."""
    if part.sample_weight is None:
        return part.n_samples
    return float(np.sum(part.sample_weight))
