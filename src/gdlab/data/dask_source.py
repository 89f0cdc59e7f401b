"""Dask arrays and DataFrames as a data source: one group per partition (chunk of rows).

``fit(X, y)`` with a ``dask.array.Array`` or a dask DataFrame/Series wraps them in
:class:`DaskSource` (unknown chunk sizes are computed first), with ``sample_weight`` (a dask
array or Series, or an array) cut into the same partitions. A full-batch epoch computes each
partition's ``(n_b L_b, n_b grad L_b)`` where the partition lives (on the workers of the current
``distributed.Client``, or the local scheduler) and adds them on the client **in partition order**,
so the result does not depend on the number of workers and equals a streamed or
:func:`gdlab.data.arrays` fit with the same blocks bit for bit. Mini-batch and stochastic epochs
visit the partitions in the seeded order of :mod:`gdlab.data.layout` and take the optimizer state
to each partition (:mod:`gdlab.data.dask_epochs`). Dask is imported only here and there
(``pip install 'gdlab[dask]'``).

What stays on the workers: the scan that sets the scaling and the target statistics runs on each
partition where it lives (only the summaries travel, merged in partition order by
:func:`gdlab.data.stats.merged`), and each partition is scaled and its labels encoded once per fit
(:meth:`DaskSource.prepared`, one more copy of the data on the workers during the fit). Every
partition is made aligned (:func:`aligned`) before any arithmetic, so the sums do not depend on
where a partition landed. With early stopping the training and validation rows of each
partition are chosen where it lives, by the seeded hash of their row numbers
(:class:`~gdlab.data.objective.RowSplit`, the ``rows`` of :meth:`DaskSource.map_groups`).
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

from gdlab.data._aligned import aligned, realigned
from gdlab.data.layout import BlockLayout

__all__ = ["DaskSource", "aligned", "is_dask", "realigned"]


def is_dask(data: Any) -> bool:
    """Whether ``data`` is a dask collection (checked without importing dask)."""
    return type(data).__module__.split(".")[0] in ("dask", "dask_expr") and hasattr(
        data, "__dask_graph__"
    )


def _transformed(transform: Callable[[Any, Any], Any], X: Any, y: Any, weight: Any = None) -> Any:
    """``transform`` of the partition ``(X, y)`` made aligned (on the worker that runs it), and
    its sample weights when there are some."""
    features, targets = transform(aligned(X, np.float64), aligned(y))
    if weight is None:
        return features, targets
    return features, targets, aligned(weight, np.float64)


def _class_weighted_rows(y: Any, weight: Any = None, *, classes: Any, weights: Any) -> Any:
    """The class-weighted sample weights of one partition (on its worker)."""
    from gdlab.data.class_weighted import row_weights

    return row_weights(classes, weights, aligned(y), aligned(weight, np.float64))


def _current_client() -> Any:
    """The ``distributed.Client`` that ``dask.compute`` would use now, or ``None``."""
    from dask.base import get_scheduler

    client = getattr(get_scheduler(), "__self__", None)
    return client if type(client).__name__ == "Client" else None


def _scan_partition(X: Any, y: Any, weight: Any, classify: bool) -> Any:
    """:func:`gdlab.data.stats.scan` of one partition alone (on its worker)."""
    from gdlab.data.sources import ArraySource
    from gdlab.data.stats import scan

    X, weight = aligned(X, np.float64), aligned(weight, np.float64)
    rows = max(X.shape[0], 1)
    source = ArraySource(X, aligned(y), batch_rows=rows, sample_weight=weight)
    return scan(source, classify, whole=False)  # its weights may sum to 0: not the whole's


def _apply(function: Callable[..., Any], part: tuple[Any, ...]) -> Any:
    """``function`` of a prepared partition, aligned again: it may have moved to this worker."""
    return function(*realigned(part))


class _OfChosen:
    """``function`` of the chosen rows (``rows``, a :class:`~gdlab.data.objective.RowSplit`) of
    a prepared partition whose first row is row ``start`` of the whole data set: the split is
    drawn where the partition lives, from the global row numbers (no pass, nothing gathered)."""

    def __init__(self, function: Callable[..., Any], rows: Any, start: int) -> None:
        self.function, self.rows, self.start = function, rows, start

    def __call__(self, *part: Any) -> Any:
        keep = self.rows.keep(self.start, self.start + part[0].shape[0])
        return self.function(*(aligned(array[keep]) for array in part))


def _submitted(client: Any, functions: list[Callable[..., Any]], parts: list[Any]) -> list[Any]:
    """The futures of each function of ``functions`` of its persisted partition of ``parts``, in
    order."""
    from distributed import futures_of

    futures = [futures_of(part)[0] for part in parts]
    return list(client.map(_apply, functions, futures, pure=False))


def _in_order(client: Any, futures: list[Any]) -> Iterator[Any]:
    """The results of ``futures``, in order, each once it and those before it are done.

    Each gather waits for the first future not yet gathered and takes with it those after it
    that are done already (``done()`` is known on the client without asking the scheduler): a
    round trip per run of finished partitions, not one per partition (about a millisecond each).
    """
    first = 0
    while first < len(futures):
        last = first + 1
        while last < len(futures) and futures[last].done():
            last += 1
        yield from client.gather(futures[first:last])
        first = last


def _as_array(data: Any) -> Any:
    import dask.array as da

    if isinstance(data, da.Array):
        return data
    return data.to_dask_array(lengths=True)  # a DataFrame or Series: computes the lengths


def _rows_like(X: Any, data: Any, name: str) -> Any:
    """``data`` (a dask collection or an array, one value per row of ``X``) as a dask array
    with the row chunks of ``X``."""
    import dask.array as da

    if is_dask(data):
        data = _as_array(data)
        if any(np.isnan(c) for c in data.chunks[0]):
            data = data.compute_chunk_sizes()
    else:
        data = np.asarray(data)
        if data.ndim == 0:  # one weight for every row
            data = np.full(X.shape[0], data, dtype=np.float64)
        data = da.from_array(data, chunks=X.chunks[0][0] if X.chunks[0] else 1)
    if data.shape[:1] != X.shape[:1]:
        raise ValueError(f"X has {X.shape[0]} rows and {name} has {data.shape[0]}.")
    return data.rechunk({0: X.chunks[0]})


class DaskSource:
    """``X``, ``y`` and the sample weights ``weight`` as dask arrays with the same row chunks
    (``X`` in one chunk of columns); the weights are used as a file source's weight column."""

    dtype = np.dtype(np.float64)
    named = False

    def __init__(self, X: Any, y: Any = None, weight: Any = None) -> None:
        names = [str(c) for c in X.columns] if hasattr(X, "columns") else None
        X = _as_array(X)
        if X.ndim != 2:
            raise ValueError(f"X must be a 2-D dask array; got {X.ndim} dimensions.")
        if any(np.isnan(c) for c in X.chunks[0]):
            X = X.compute_chunk_sizes()
        self.X = X.astype(np.float64).rechunk({1: -1})
        self.y = None if y is None else _rows_like(self.X, y, "y")
        #: the sample weights (``sample_weight`` of ``fit``) as a dask array, or ``None``
        self.weight = None
        if weight is not None:
            weight = _rows_like(self.X, weight, "sample_weight")
            if weight.ndim != 1:
                raise ValueError(
                    f"sample_weight must be 1-D, one weight per row; got {weight.ndim} dimensions."
                )
            self.weight = weight.astype(np.float64)
        rows = [int(c) for c in self.X.chunks[0]]
        self.layout = BlockLayout(rows, batch_rows=max(rows))
        self.n_features = int(self.X.shape[1])
        self.feature_names = names or [f"x{j}" for j in range(self.n_features)]
        self.named = names is not None
        self.has_target = self.y is not None
        #: (transform, weights, the partitions): the latest fit's, while its weights are these
        self._prepared: tuple[Any, Any, list[Any]] | None = None

    def partition_label_counts(self) -> list[tuple[Any, Any]]:
        """The sorted labels of each partition's target and their counts, computed where the
        partition lives, in partition order (one pass; only the counts travel)."""
        import dask

        from gdlab.data.class_weighted import block_label_counts

        task = dask.delayed(block_label_counts, pure=False)
        return list(dask.compute(*[task(y) for _, y, _ in self._partitions()]))

    def with_class_weights(self, classes: Any, weights: Any) -> DaskSource:
        """This source whose rows weigh ``weights[class of y]`` times their sample weight (see
        :func:`gdlab.data.class_weighted.row_weights`), computed where each partition lives."""
        import dask.array as da

        weighted = copy.copy(self)
        arrays = [self.y] if self.weight is None else [self.y, self.weight]
        weighted.weight = da.map_blocks(
            _class_weighted_rows, *arrays, classes=classes, weights=weights, dtype=np.float64
        )
        return weighted

    def group_blocks(self, group: int) -> Iterator[tuple[Any, Any]]:
        """Partition ``group``, fetched to the client."""
        for X, y, _ in self.group_weighted_blocks(group):
            yield X, y

    def group_weighted_blocks(self, group: int) -> Iterator[tuple[Any, Any, Any]]:
        """Partition ``group`` with its sample weights (``None`` without), fetched to the
        client."""
        import dask

        y, weight = (None if a is None else a.blocks[group] for a in (self.y, self.weight))
        X, y, weight = dask.compute(self.X.blocks[group], y, weight)
        yield aligned(X, np.float64), aligned(y), aligned(weight)

    def _partitions(self) -> list[tuple[Any, Any, Any]]:
        """``(X_b, y_b, w_b)`` of every partition as dask delayed objects (``y_b`` ``None``
        without a target, ``w_b`` without sample weights), in order."""
        parts_x = self.X.to_delayed().ravel()
        parts_y, parts_w = (
            [None] * len(parts_x) if a is None else a.to_delayed().ravel()
            for a in (self.y, self.weight)
        )
        return list(zip(parts_x, parts_y, parts_w, strict=True))

    def scan_groups(self, classify: bool) -> list[Any] | None:
        """The statistics of every partition (:func:`gdlab.data.stats.scan` of it alone),
        computed where it lives, in order; ``None`` when one fails a check (non-finite values, no
        rows), so that the caller scans on the client and names the row. Only these small
        summaries travel, not the data."""
        import dask

        task = dask.delayed(_scan_partition, pure=False)
        try:
            parts = self._partitions()
            return list(dask.compute(*[task(x, y, w, classify) for x, y, w in parts]))
        except ValueError:
            return None

    def prepared(self, transform: Callable[[Any, Any], Any]) -> list[Any]:
        """``transform(X_b, y_b)`` of every partition, as persisted dask objects in order.

        Computed once per ``transform`` (a fit's scaling and target encoding) where each
        partition lives and kept there while this source lives (the latest transform only), so
        the epochs of a fit neither rescale the features nor re-encode the labels: one more copy
        of the data on the workers, for the fit's duration.
        """
        import dask

        made = self._prepared
        if made is None or made[0] is not transform or made[1] is not self.weight:
            self._prepared = made = None  # the previous fit's partitions go first
            task = dask.delayed(_transformed, pure=False)
            parts = [task(transform, x, y, w) for x, y, w in self._partitions()]
            made = self._prepared = (transform, self.weight, list(dask.persist(*parts)))
        return made[2]

    def _functions(
        self, function: Callable[..., Any], first: int, rows: Any
    ) -> list[Callable[..., Any]]:
        """``function`` for each partition from ``first`` on; of its chosen rows only when
        ``rows`` (a :class:`~gdlab.data.objective.RowSplit`) is given."""
        starts = self.layout.group_starts[first:]
        if rows is None:
            return [function] * len(starts)
        return [_OfChosen(function, rows, start) for start in starts]

    def map_groups(
        self,
        function: Callable[..., Any],
        transform: Callable[[Any, Any], Any],
        first: int = 0,
        rows: Any = None,
    ) -> list[Any]:
        """``function(features_b, targets_b)`` (``weight_b`` third, with sample weights) of every
        partition's ``transform`` (see :meth:`prepared`) from partition ``first`` on, computed
        where the partition lives; in partition order. With ``rows`` (a
        :class:`~gdlab.data.objective.RowSplit`) only the partition's chosen rows, drawn there."""
        import dask

        parts = self.prepared(transform)[first:]
        functions = self._functions(function, first, rows)
        client = _current_client()
        if client is not None:  # straight onto the persisted partitions: no graph to build
            return client.gather(_submitted(client, functions, parts))
        task = dask.delayed(_apply, pure=False)
        pairs = zip(functions, parts, strict=True)
        return list(dask.compute(*[task(function, part) for function, part in pairs]))

    def each_group(
        self,
        function: Callable[..., Any],
        transform: Callable[[Any, Any], Any],
        first: int = 0,
        rows: Any = None,
    ) -> Iterator[Any]:
        """:meth:`map_groups` one partition at a time, in partition order: each result as soon
        as it and those before it are done (a mid-epoch checkpoint after each partition).

        On a ``distributed`` client the partitions are all submitted at once and computed in
        parallel where they live, and the client gathers them in order as the ordered prefix
        grows; with the local scheduler they are computed one after the other.
        """
        import dask

        parts = self.prepared(transform)[first:]
        functions = self._functions(function, first, rows)
        client = _current_client()
        if client is not None:
            yield from _in_order(client, _submitted(client, functions, parts))
            return
        task = dask.delayed(_apply, pure=False)
        for function, part in zip(functions, parts, strict=True):
            yield dask.compute(task(function, part))[0]

    def epoch_function(self, objective: Any, config: Any, reference: Any) -> Any:
        """The epoch function of a mini-batch or per-sample fit (run on the partitions, see
        :mod:`gdlab.data.dask_epochs`); ``None`` for full batch (sums computed by
        :meth:`map_groups`, updates on the client)."""
        if self.y is None or config.batch_size is None or config.batch_size >= objective.n_samples:
            return None
        from gdlab.data.dask_epochs import DaskEpochs

        return DaskEpochs(objective, reference)

    def decision(self, coef: Any, intercept: Any) -> Any:
        """The lazy ``X @ coef.T + intercept``, one block per partition."""
        coef = np.asarray(coef)
        drop = coef.ndim == 1
        return self.X.map_blocks(
            lambda block: aligned(block, np.float64) @ coef.T + intercept,
            dtype=np.float64,
            drop_axis=1 if drop else None,
            chunks=(self.X.chunks[0],) if drop else (self.X.chunks[0], (coef.shape[0],)),
        )
