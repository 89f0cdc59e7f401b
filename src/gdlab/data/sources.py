"""Data sources: blocks of rows ``(X, y)`` read from memory, Parquet files or CSV files.

A source has a :class:`~gdlab.data.layout.BlockLayout` (``layout``), the feature names, and
``group_blocks(group)``, which yields the ``(X, y)`` of each block of one group front to back:
``X`` a C-ordered float64 array of shape ``(rows, n_features)``, ``y`` the target column (or
``None`` without a target); ``group_weighted_blocks(group)`` yields ``(X, y, w)`` with ``w`` the
sample weights of a source made with a weight column (``weight=``), else ``None``. Only one
group's blocks are read at a time, so a fit's memory does not grow with the size of the data.
Parquet files are read with ``ParquetFile.iter_batches`` (one row group at a time, only the
needed columns); CSV files with ``pyarrow.csv.open_csv``.

A fit's passes over a file source go through :func:`blocks_of`: the next record batch is decoded
in a background thread while the current block is used (one batch ahead), every block is copied
into one reused buffer and, for a standardized fit, standardized as it is copied (bitwise the
standardized copy; :mod:`gdlab.data._arrow_blocks`).
"""

from __future__ import annotations

import glob
import itertools
import os
from collections.abc import Generator, Iterator, Sequence
from contextlib import closing
from typing import Any

import numpy as np
from numpy.typing import NDArray

from gdlab.data.layout import BlockLayout

Array = NDArray[np.float64]
Block = tuple[Array, Any]
#: ``(mean, scale)`` of a standardization
Scaling = tuple[NDArray[Any], NDArray[Any]]

__all__ = [
    "ArraySource",
    "FileSource",
    "blocks_of",
    "check_block_weights",
    "expand_paths",
    "weighted_blocks",
]

DEFAULT_BATCH_ROWS = 65_536


def expand_paths(path: Any, suffixes: tuple[str, ...]) -> list[str]:
    """The files of ``path``: a file, a folder (its files ending in ``suffixes``) or a glob."""
    text = os.fspath(path)
    if os.path.isdir(text):
        found = sorted(
            os.path.join(text, name)
            for name in os.listdir(text)
            if name.lower().endswith(suffixes) and not name.startswith((".", "_"))
        )
        what = f"the folder {text!r} has no {'/'.join(suffixes)} files"
    elif os.path.isfile(text):
        found, what = [text], ""
    else:
        found = sorted(p for p in glob.glob(text) if os.path.isfile(p))
        what = f"no file matches {text!r}"
    if not found:
        raise FileNotFoundError(f"No data to read: {what or repr(text)}.")
    return found


def _check_batch_rows(batch_rows: Any) -> int:
    if isinstance(batch_rows, bool) or not isinstance(batch_rows, int | np.integer):
        raise ValueError(f"batch_rows must be a positive integer. Got {batch_rows!r} instead.")
    if batch_rows < 1:
        raise ValueError(f"batch_rows must be a positive integer. Got {batch_rows!r} instead.")
    return int(batch_rows)


def weighted_blocks(source: Any, group: int) -> Iterator[tuple[Array, Any, Array | None]]:
    """``(X, y, w)`` of each block of ``group``: ``w`` the block's sample weights, or ``None``
    for a source without a weight column."""
    if getattr(source, "weight", None) is not None:
        yield from source.group_weighted_blocks(group)
        return
    for X, y in source.group_blocks(group):
        yield X, y, None


def blocks_of(
    source: Any, groups: Sequence[int], scaling: Scaling | None = None
) -> Iterator[tuple[Array, Any, Array | None]]:
    """``(X, y, w)`` of every block of ``groups`` in order, for a caller done with each block
    before it asks for the next: a file source then reads the next record batch ahead, fills one
    reused buffer and, given ``scaling`` (``(mean, scale)``, only for a source with
    ``read_blocks``), standardizes ``X`` as it copies it."""
    reader = getattr(source, "read_blocks", None)
    if reader is not None:
        return reader(groups, scaling, reuse=True)
    if scaling is not None:
        raise ValueError(f"A {type(source).__name__} does not standardize as it reads.")
    return (block for group in groups for block in weighted_blocks(source, group))


def check_block_weights(weight: Array, first_row: int, column: str | None = None) -> None:
    """Refuse non-finite or negative sample weights, naming the weight column (where the
    source has one) and the first bad row and value; ``first_row`` is the block's first row in
    the data.

    Examples
    --------
    >>> check_block_weights(np.array([1.0, 0.5, -2.0]), 100, "s")
    Traceback (most recent call last):
    ...
    ValueError: The sample weights in column 's' must be >= 0; row 102 of the data has -2.
    """
    what = "The sample weights" if column is None else f"The sample weights in column {column!r}"
    finite = np.isfinite(weight)
    if not np.all(finite):
        row = first_row + int(np.argmin(finite))
        raise ValueError(
            f"{what} must be finite; row {row} of the data has {weight[row - first_row]}."
        )
    if np.any(weight < 0):
        row = first_row + int(np.argmax(weight < 0))
        raise ValueError(
            f"{what} must be >= 0; row {row} of the data has {weight[row - first_row]:g}."
        )


class _Source:
    """What every source has: float64 blocks (``dtype``) and the group reader."""

    dtype = np.dtype(np.float64)
    weight: Any = None

    def group_blocks(self, group: int) -> Iterator[Block]:
        for X, y, _ in self.group_weighted_blocks(group):
            yield X, y

    def group_weighted_blocks(self, group: int) -> Iterator[tuple[Array, Any, Array | None]]:
        raise NotImplementedError


class ArraySource(_Source):
    """In-memory ``X`` (and ``y``) seen as a source: groups of ``group_rows`` rows (default
    ``batch_rows``: every block its own group) cut into blocks of ``batch_rows`` rows.

    Use it to train in memory with the block order of a streamed fit (see
    :mod:`gdlab.data.layout`).

    Examples
    --------
    >>> import numpy as np
    >>> src = ArraySource(np.arange(10.0).reshape(5, 2), np.arange(5), batch_rows=2)
    >>> [X.shape for X, _ in src.group_blocks(2)], src.layout.n_rows
    ([(1, 2)], 5)
    """

    def __init__(
        self,
        X: Any,
        y: Any = None,
        batch_rows: int = DEFAULT_BATCH_ROWS,
        group_rows: Any = None,
        sample_weight: Any = None,
    ) -> None:
        self.X = np.ascontiguousarray(X, dtype=np.float64)
        if self.X.ndim != 2:
            raise ValueError(f"X must be a 2-D array; got shape {self.X.shape}.")
        self.y = None if y is None else np.asarray(y)
        if self.y is not None and self.y.shape[0] != self.X.shape[0]:
            raise ValueError(
                f"X has {self.X.shape[0]} rows and y has {self.y.shape[0]}: one target per row."
            )
        batch_rows = _check_batch_rows(batch_rows)
        group = batch_rows if group_rows is None else _check_batch_rows(group_rows)
        n = self.X.shape[0]
        self._starts = list(range(0, n, group))
        sizes = [min(group, n - start) for start in self._starts]
        self.layout = BlockLayout(sizes, batch_rows)
        self.feature_names = [f"x{i}" for i in range(self.X.shape[1])]
        self.n_features = self.X.shape[1]
        self.has_target = self.y is not None
        self.named = False
        if sample_weight is not None:
            self.weight = np.asarray(sample_weight, dtype=np.float64)
            if self.weight.shape != (n,):
                raise ValueError(
                    f"sample_weight.shape == {self.weight.shape}, expected ({n},): one weight per "
                    "row of X."
                )

    def group_weighted_blocks(self, group: int) -> Iterator[tuple[Array, Any, Array | None]]:
        offset = self._starts[group]
        step = self.layout.batch_rows
        for start in range(0, self.layout.group_rows[group], step):
            rows = slice(offset + start, offset + min(start + step, self.layout.group_rows[group]))
            weight = None if self.weight is None else self.weight[rows]
            yield self.X[rows], None if self.y is None else self.y[rows], weight


class FileSource(_Source):
    """Parquet or CSV files read block by block (made by :func:`gdlab.data.parquet` and
    :func:`gdlab.data.csv`).

    Parameters
    ----------
    paths : list of str
    kind : {"parquet", "csv"}
    target : str or None
        The target column; ``None`` for features only (prediction).
    features : list of str or None
        The feature columns (default: every column but the target).
    batch_rows : int
        Rows per block.
    weight : str or None
        A column of sample weights (read per block, used as ``fit(..., sample_weight=...)``).
    """

    def __init__(
        self,
        paths: list[str],
        kind: str,
        target: str | None,
        features: list[str] | None,
        batch_rows: int,
        csv_options: dict[str, Any] | None = None,
        weight: str | None = None,
    ) -> None:
        try:
            import pyarrow  # noqa: F401
        except ImportError:
            raise ImportError(
                f"gdlab.data.{kind} reads files with pyarrow, which is not installed: "
                "pip install 'gdlab[cli]' (or pyarrow)."
            ) from None
        self.paths = paths
        self.kind = kind
        self.target = target
        self.batch_rows = _check_batch_rows(batch_rows)
        self.csv_options = dict(csv_options or {})
        columns = self._schema_names(paths[0])
        if target is not None and target not in columns:
            raise ValueError(
                f"The target column {target!r} is not in {paths[0]}; its columns are {columns}."
            )
        if weight is not None and weight not in columns:
            raise ValueError(
                f"The weight column {weight!r} is not in {paths[0]}; its columns are {columns}."
            )
        if weight is not None and weight == target:
            raise ValueError(f"The weight column {weight!r} is also the target column.")
        self.weight = weight
        if features is None:
            features = [c for c in columns if c not in (target, weight)]
        features = [str(f) for f in features]
        missing = [f for f in features if f not in columns]
        if missing:
            raise ValueError(f"The feature columns {missing} are not in {paths[0]}.")
        if weight is not None and weight in features:
            raise ValueError(f"The weight column {weight!r} is also a feature column.")
        if not features:
            raise ValueError(f"{paths[0]} has no feature columns besides the target {target!r}.")
        self.feature_names = features
        self.n_features = len(features)
        self.has_target = target is not None
        self.named = True
        self._groups: list[tuple[str, int]] = []
        self._layout: BlockLayout | None = None

    @property
    def columns(self) -> list[str]:
        extra = [c for c in (self.target, self.weight) if c is not None]
        return self.feature_names + extra

    def _schema_names(self, path: str) -> list[str]:
        if self.kind == "parquet":
            import pyarrow.parquet as pq

            return list(pq.ParquetFile(path).schema_arrow.names)
        reader = self._open_csv(path, None)
        try:
            return list(reader.schema.names)
        finally:
            reader.close()

    @property
    def layout(self) -> BlockLayout:
        """The groups (Parquet row groups, CSV files); counting a CSV file's rows reads it."""
        if self._layout is None:
            sizes = []
            for path in self.paths:
                if self.kind == "parquet":
                    import pyarrow.parquet as pq

                    meta = pq.ParquetFile(path).metadata
                    for g in range(meta.num_row_groups):
                        self._groups.append((path, g))
                        sizes.append(meta.row_group(g).num_rows)
                else:
                    self._groups.append((path, -1))
                    sizes.append(sum(len(t) for t in self._csv_batches(path, [self.columns[0]])))
            self._layout = BlockLayout(sizes, self.batch_rows)
        return self._layout

    def _open_csv(self, path: str, columns: list[str] | None) -> Any:
        from pyarrow import csv

        convert = csv.ConvertOptions(include_columns=columns) if columns else None
        read = csv.ReadOptions(block_size=self.csv_options.get("block_size", 1 << 22))
        parse = csv.ParseOptions(delimiter=self.csv_options.get("delimiter", ","))
        return csv.open_csv(path, read_options=read, parse_options=parse, convert_options=convert)

    def _csv_batches(self, path: str, columns: list[str]) -> Iterator[Any]:
        reader = self._open_csv(path, columns)
        try:
            yield from reader
        finally:
            reader.close()

    def _record_batches(self, group: int, handles: dict[str, Any]) -> Iterator[Any]:
        """The record batches of ``group``; ``handles`` keeps the open Parquet file of a pass
        (its footer is read once, not once per row group)."""
        path, row_group = self._groups[group]
        if self.kind == "csv":
            return self._csv_batches(path, self.columns)
        import pyarrow.parquet as pq

        if path not in handles:
            handles.clear()  # one file open at a time
            handles[path] = pq.ParquetFile(path, buffer_size=1 << 20)
        return handles[path].iter_batches(
            batch_size=self.batch_rows,
            row_groups=[row_group],
            columns=self.columns,
            # one decoding thread (the reading-ahead thread): pyarrow's pool made the peak
            # resident memory jitter by +-25 MB from run to run (bench/README.md)
            use_threads=False,
        )

    def group_weighted_blocks(self, group: int) -> Iterator[tuple[Array, Any, Array | None]]:
        """The blocks of ``group`` front to back, re-cut to exactly ``batch_rows`` rows."""
        return self.read_blocks([group], ahead=False)

    def _group_batches(self, groups: Sequence[int]) -> Generator[tuple[int, Any], None, None]:
        """``(group, record batch)`` of every group in turn, ``(group, None)`` at each end."""
        handles: dict[str, Any] = {}
        for group in groups:
            for batch in self._record_batches(group, handles):
                yield group, batch
            yield group, None

    def read_blocks(
        self,
        groups: Sequence[int],
        scaling: Scaling | None = None,
        *,
        reuse: bool = False,
        ahead: bool = True,
    ) -> Iterator[tuple[Array, Any, Array | None]]:
        """``(X, y, w)`` of every block of ``groups``, in order.

        Parameters
        ----------
        groups : sequence of int
        scaling : (mean, scale), optional
            Standardize ``X`` as it is copied: ``(x - mean) / scale``, bitwise NumPy's
            (:func:`gdlab.data._arrow_blocks.fill_block`).
        reuse : bool, default False
            Fill one buffer for every block: a block's ``X`` is then overwritten when the next
            block is asked for (for callers done with a block before the next).
        ahead : bool, default True
            Decode the next record batch in a background thread while this block is used
            (:func:`gdlab.data._arrow_blocks.read_ahead`).
        """
        from gdlab.data._arrow_blocks import read_ahead, recut

        self.layout  # noqa: B018 - lists the groups (here, not in the reading thread)
        batches = self._group_batches(groups)
        buffer: Array | None = None
        with closing(read_ahead(batches, _is_batch) if ahead else batches) as items:
            for group, pieces in recut(items, self.batch_rows):
                n = sum(piece.num_rows for piece in pieces)
                if not reuse:
                    out = np.empty((n, self.n_features), dtype=np.float64)
                else:
                    if buffer is None:
                        buffer = np.empty((self.batch_rows, self.n_features), dtype=np.float64)
                    out = buffer[:n]
                yield self._block(pieces, out, scaling, self._groups[group][0])

    def _block(
        self, pieces: list[Any], X: Array, scaling: Scaling | None, path: str
    ) -> tuple[Array, Any, Array | None]:
        """``(X, y, w)`` of a block from its record batches, ``X`` filled in place."""
        from gdlab.data._arrow_blocks import fill_block

        columns = []
        for name in self.feature_names:
            parts = [piece.column(name) for piece in pieces]
            _check_feature(parts, name, path)
            columns.append([_floats(part) for part in parts])
        flat = [column[s] for s in range(len(pieces)) for column in columns]
        starts = [0, *itertools.accumulate(piece.num_rows for piece in pieces)]
        if scaling is None:
            fill_block(X, flat, starts)
        elif not fill_block(X, flat, starts, *scaling):
            # as the standardized copy where x - mean overflows: x / scale - mean / scale
            mean, scale = scaling
            fill_block(X, flat, starts)
            with np.errstate(over="ignore", invalid="ignore"):
                X[...] = X / scale - mean / scale
        y = None
        if self.target is not None:
            y = _chunked(pieces, self.target).to_numpy(zero_copy_only=False)
        weight = None
        if self.weight is not None:
            column = _chunked(pieces, self.weight)
            if column.null_count:
                raise ValueError(
                    f"The weight column {self.weight!r} of {path} has {column.null_count} missing "
                    "values in one block; fill or drop them first."
                )
            weight = _column_floats(column, self.weight, path)
        return X, y, weight


def _is_batch(item: tuple[int, Any]) -> bool:
    """Whether ``(group, batch)`` holds a record batch (not the end-of-group marker)."""
    return item[1] is not None


def _chunked(pieces: list[Any], name: str) -> Any:
    """The column ``name`` of the record batches ``pieces`` as one chunked array (no copy)."""
    import pyarrow as pa

    return pa.chunked_array([piece.column(name) for piece in pieces])


def _check_feature(parts: list[Any], name: str, path: str) -> None:
    """A feature column must hold numbers (or booleans) and no missing values."""
    import pyarrow as pa

    kind = parts[0].type
    if not (pa.types.is_integer(kind) or pa.types.is_floating(kind)) and not (
        pa.types.is_boolean(kind)
    ):
        raise ValueError(
            f"The feature column {name!r} of {path} holds {kind} values, not numbers; "
            "leave it out with features=[...] or encode it first."
        )
    missing = sum(part.null_count for part in parts)
    if missing:
        raise ValueError(
            f"The feature column {name!r} of {path} has {missing} missing values in "
            "one block; fill or drop them first."
        )


def _floats(part: Any) -> Array:
    """One Arrow array of numbers as a contiguous float64 NumPy array (a view when it is one)."""
    return np.ascontiguousarray(part.to_numpy(zero_copy_only=False), dtype=np.float64)


def _column_floats(column: Any, name: str, path: str) -> Array:
    _check_feature([column], name, path)
    return _floats(column)
