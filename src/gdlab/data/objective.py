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

__all__ = ["BlockObjective", "BlockTransform", "RowSplit"]


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
        """The sum of the chosen rows' weights (one pass over the source)."""
        groups = list(range(len(self.layout.group_rows)))
        total = 0.0
        for _, _, weight in self._chosen_blocks(groups):
            total += 0.0 if weight is None else float(np.sum(weight))
        return total

    def _group_objectives(self, groups: list[int], penalty: Any) -> Iterator[LinearObjective]:
        """A LinearObjective per block of ``groups`` (over the chosen rows: it may have none)."""
        fused = self._fused_transform()
        scaling = None if fused is None else fused.scaling
        for X, y, weight in self._chosen_blocks(groups, scaling):
            if fused is not None:  # X is standardized already (or needs no scaling)
                features, targets = X, fused.targets(y)
            else:
                features, targets = self.transform(X, y)
            part = LinearObjective(features, targets, self.loss_fn, penalty, self.fit_intercept)
            if weight is not None:  # as LinearObjective(..., weight) with mean(w) over all rows
                part.sample_weight = weight
                part._mean_weight = self.total_weight / self.n_samples
            yield part

    def block_objectives(self, penalty: Any = None) -> Iterator[LinearObjective]:
        """A :class:`LinearObjective` per block, in the natural order (unpenalised by default)."""
        groups = list(range(len(self.layout.group_rows)))
        return self._group_objectives(groups, self._no_penalty if penalty is None else penalty)

    def epoch_batches(
        self, batch_size: int | None, shuffle: bool, seed: int, epoch: int
    ) -> Iterator[tuple[Any, Any]]:
        """``(objective, rows)`` for every update of epoch ``epoch``."""
        if batch_size is None or batch_size >= self.n_samples:
            yield self, None
            return
        order = self.layout.epoch_blocks(shuffle, seed, epoch)
        groups = list(dict.fromkeys(block.group for block in order))
        blocks = iter(order)
        for part in self._group_objectives(groups, self.penalty):
            block = next(blocks)
            if part.n_samples == 0:  # every row of the block is a validation row
                continue
            rows = None
            if shuffle and resolve_batch_size(batch_size, part.n_samples) < part.n_samples:
                rows = self.layout.row_order(block, shuffle, seed, epoch, part.n_samples)
            for batch in batches(part.n_samples, batch_size, rows):
                yield part, batch

    def loss_and_grad(self, theta: Array, rows: Any = None) -> tuple[float, Array]:
        """The penalised mean loss over all rows and its gradient (one pass over the source)."""
        if rows is not None:
            raise ValueError("A BlockObjective evaluates all rows; its batches come in blocks.")
        total = 0.0
        grad = np.zeros_like(theta)
        for value, block_grad in self._block_sums(theta, gradient=True):
            total += value
            grad += block_grad
        value = total / self.total_weight
        grad /= self.total_weight
        if self.penalty.active:
            weights, _ = self.split(theta)
            value += self.penalty.value(weights)
            grad[: self.n_weights] += np.ravel(self.penalty.gradient(weights))
        return value, grad

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
        if hasattr(self.source, "map_groups") and self.rows is None:
            return self.source.map_groups(sums.of_transformed, self.transform)
        return [sums.of(part) for part in self.block_objectives() if _mass(part)]

    def mean_residual(self, weights: Array) -> Array:
        """``mean(targets - features @ weights)`` per output (one pass unless ``weights == 0``
        and the scan already found the mean target)."""
        if self.target_mean is not None and not np.any(weights):
            return np.array(self.target_mean, dtype=np.float64)
        total = np.zeros(self.n_outputs)
        for part in self.block_objectives():
            if not part.n_samples:
                continue
            residual = part.targets - part.X @ weights if np.any(weights) else part.targets
            residual = residual.reshape(part.n_samples, -1)
            if part.sample_weight is None:
                total += np.sum(residual, axis=0)
            else:
                total += part.sample_weight @ residual
        return total / self.total_weight

    def lipschitz_constant(self, batch_size: int | None = None) -> float | None:
        return None

    def scale_spread(self) -> float:
        return 1.0


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

    def of(self, part: LinearObjective) -> tuple[float, Any]:
        mass = _mass(part)
        if self.gradient:
            value, grad = part.loss_and_grad(self.theta)
            return value * mass, grad * mass
        return part.loss(self.theta) * mass, None

    def of_transformed(self, features: Array, targets: Array) -> tuple[float, Any]:
        """:meth:`of` a block already scaled and encoded by the objective's ``transform``."""
        part = LinearObjective(features, targets, self.loss_fn, self.penalty, self.fit_intercept)
        return self.of(part)


def _mass(part: LinearObjective) -> float:
    """What a block's mean loss is weighted by: its rows, or the sum of its weights."""
    if part.sample_weight is None:
        return part.n_samples
    return float(np.sum(part.sample_weight))
