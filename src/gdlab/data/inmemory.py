"""A CSV or Parquet file read straight into one float64 feature matrix, for an in-memory fit.

:func:`read_xy` fills one preallocated C-ordered ``(n, d)`` float64 array (the order the
estimators fit in, so no later copy) column by column from pyarrow record batches of
:data:`BATCH_ROWS` rows; no DataFrame of the whole file is ever built. Peak memory is the
matrix, the target column and one batch (plus, for Parquet, pyarrow's read buffer of one column
chunk), where reading through pandas held the table three to four times over.

- Parquet: ``pyarrow.parquet.ParquetFile.iter_batches`` over the feature and target columns; the
  number of rows comes from the file's footer.
- CSV: ``pyarrow.csv.open_csv`` (types inferred from the first block, as pandas would infer them
  for ordinary files). The rows are counted first by counting line ends (one fast pass over the
  bytes): that count is an upper bound on the rows (a quoted line break or a blank line only makes
  fewer), and the rows of the matrix that are never written are never touched, so they cost
  address space but no memory.

Only the happy path is done here: a file with anything :func:`gdlab.data._files.split_xy` would
report or treat specially (a missing or repeated column, a column that is not plain numbers, a
missing or infinite value, too few rows, a pandas index stored in the file, a byte-order mark)
gives ``None``, and the caller reads it the old way, through pandas, which words the exact error
(or the exact result) as before. The target column goes through pandas either way (it is one
column), so the task inferred and the labels are those of :func:`gdlab.data._files.split_xy`.

Examples
--------
>>> import tempfile, pathlib
>>> path = pathlib.Path(tempfile.mkdtemp()) / "lesson.csv"
>>> _ = path.write_text("id,x,y\\n1,0,7\\n2,2,13\\n3,1,10\\n")
>>> table = read_xy(path, "y")
>>> table.X, table.names, table.id_like, table.target.tolist()
(array([[1., 0.],
       [2., 2.],
       [3., 1.]]), ['id', 'x'], ['id'], [7, 13, 10])
>>> read_xy(path, "no such column") is None  # the pandas path words the error
True
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

__all__ = ["BATCH_ROWS", "XYTable", "read_xy"]

#: Rows per pyarrow record batch while filling the matrix.
BATCH_ROWS = 65_536
_COUNT_CHUNK = 4 << 20
# pyarrow's streaming CSV reader, threaded, reads about 36 blocks ahead (145 MB of buffers with
# 4 MB blocks, 9 MB with 256 kB ones, as fast)
_CSV_BLOCK = 256 << 10


class _Unusual(Exception):
    """The file needs the pandas path (which words the error or handles the special case)."""


@dataclass
class XYTable:
    """What :func:`read_xy` read: the features, the raw target column and notes on the columns.

    Attributes
    ----------
    X : ndarray of shape (n, d), float64, C order
    target : pandas.Series
        The target column as pandas reads it (dtype and all), or ``None`` without a target.
    names : list of str
        The feature names, in the order of the columns of ``X``.
    id_like : list of str
        The integer features that count up by one like a row number
        (:func:`gdlab.data._files.id_like_columns`).
    """

    X: NDArray[np.float64]
    target: Any
    names: list[str]
    id_like: list[str]


def read_xy(
    path: str | Path,
    target: str | None,
    *,
    features: Sequence[str] | None = None,
    exclude: Sequence[str] = (),
    min_rows: int = 2,
) -> XYTable | None:
    """Read ``path`` into an :class:`XYTable`, or ``None`` when the pandas path must read it.

    Parameters
    ----------
    path : str or Path
        A CSV (optionally ``.gz``/``.bz2`` compressed) or Parquet file.
    target : str or None
        The target column (``None``: features only).
    features : sequence of str, optional
        The feature columns in this order (default: every column but the target and ``exclude``).
    exclude : sequence of str
        Columns left out of the default features.
    min_rows : int, default 2
        Fewer rows gives ``None`` (the pandas path says how many are needed).
    """
    from gdlab.data._files import table_format

    path = Path(path)
    try:
        kind = table_format(path)
        if not path.is_file() or path.stat().st_size == 0:
            return None
        reader = _ParquetColumns(path) if kind == "parquet" else _CsvColumns(path)
        return reader.read(target, features, exclude, min_rows)
    except _Unusual:
        return None
    except Exception:  # any reading problem: the pandas path words it
        return None


class _Columns:
    """Shared filling logic; subclasses give the header, a row bound and the batches."""

    path: Path
    names: list[str]
    keeps_target = True  # the target's values come from the batches

    def read(
        self,
        target: str | None,
        features: Sequence[str] | None,
        exclude: Sequence[str],
        min_rows: int,
    ) -> XYTable:
        chosen = _feature_list(self.names, target, features, exclude)
        wanted = list(dict.fromkeys([*chosen, *([target] if target is not None else [])]))
        X = np.empty((self.row_bound(), len(chosen)), dtype=np.float64)
        counting = _IdLike(chosen)
        target_chunks: list[Any] = []
        start = 0
        for batch in self.batches(wanted):
            stop = start + batch.num_rows
            if stop > X.shape[0]:
                raise _Unusual("more rows than counted")
            _fill(X[start:stop], batch, chosen, counting)
            if target is not None and self.keeps_target:
                target_chunks.append(batch.column(target))
            start = stop
        if start < max(min_rows, 1):
            raise _Unusual("too few rows")
        series = None if target is None else self.target_series(target, target_chunks)
        return XYTable(X[:start], series, chosen, counting.found(start))

    def row_bound(self) -> int:
        raise NotImplementedError

    def batches(self, columns: list[str]) -> Iterator[Any]:
        raise NotImplementedError

    def target_series(self, target: str, chunks: list[Any]) -> Any:
        raise NotImplementedError


def _feature_list(
    names: list[str], target: str | None, features: Sequence[str] | None, exclude: Sequence[str]
) -> list[str]:
    if len(set(names)) != len(names) or any(not n or n.startswith("\ufeff") for n in names):
        raise _Unusual("repeated, empty or BOM-marked column names")
    named = [*([target] if target is not None else []), *exclude, *(features or [])]
    if any(name not in names for name in named):
        raise _Unusual("a named column is missing")
    if features is None:
        left_out = {target, *exclude}
        chosen = [n for n in names if n not in left_out]
    else:
        chosen = [str(c) for c in features]
    if not chosen or target in chosen:
        raise _Unusual("no features, or the target among them")
    return chosen


def _fill(block: NDArray[np.float64], batch: Any, chosen: list[str], counting: _IdLike) -> None:
    """Write the batch's feature columns into ``block``; _Unusual on anything but numbers."""
    import pyarrow.types as pt

    check_finite = False
    for j, name in enumerate(chosen):
        column = batch.column(name)
        kind = column.type
        if column.null_count or not (
            pt.is_integer(kind) or pt.is_floating(kind) or pt.is_boolean(kind)
        ):
            raise _Unusual(f"column {name!r} is not plain numbers")
        values = column.to_numpy(zero_copy_only=False)
        block[:, j] = values
        if pt.is_floating(kind):
            check_finite = True
        elif pt.is_integer(kind):
            counting.update(j, values)
    if check_finite and not np.isfinite(block).all():
        raise _Unusual("a missing or infinite value")


class _IdLike:
    """Tracks, across batches, which integer columns count up by one."""

    def __init__(self, names: list[str]) -> None:
        self.names = names
        self.state: dict[int, tuple[bool, int]] = {}  # column -> (still counting, last value)
        self.integer: set[int] = set()

    def update(self, j: int, values: NDArray[Any]) -> None:
        if values.size == 0:
            return
        counting, last = self.state.get(j, (True, int(values[0]) - 1))
        if counting:
            counting = int(values[0]) == last + 1 and bool(np.all(np.diff(values) == 1))
        self.state[j] = (counting, int(values[-1]))

    def found(self, n_rows: int) -> list[str]:
        if n_rows < 3:
            return []
        return [self.names[j] for j, (counting, _) in sorted(self.state.items()) if counting]


class _ParquetColumns(_Columns):
    def __init__(self, path: Path) -> None:
        import pyarrow.parquet as pq

        self.path = path
        # no pre-buffering: the reader holds a bounded buffer, not whole column chunks
        self.file = pq.ParquetFile(path, pre_buffer=False, buffer_size=1 << 20)
        schema = self.file.schema_arrow
        metadata = schema.pandas_metadata or {}
        if any(isinstance(index, str) for index in metadata.get("index_columns", [])):
            raise _Unusual("a pandas index stored as a column")
        self.names = list(schema.names)

    keeps_target = False

    def row_bound(self) -> int:
        return int(self.file.metadata.num_rows)

    def batches(self, columns: list[str]) -> Iterator[Any]:
        metadata = self.file.metadata
        return (
            _RowGroup(self.file, group, metadata.row_group(group).num_rows)
            for group in range(metadata.num_row_groups)
        )

    def target_series(self, target: str, chunks: list[Any]) -> Any:
        # read the one column again with the pandas metadata: the dtype pd.read_parquet gives
        table = self.file.read(columns=[target], use_pandas_metadata=True)
        return table.to_pandas()[target]


class _RowGroup:
    """One row group of a Parquet file, each column read (and decoded) only when asked for: one
    column chunk at a time is in memory, where reading a whole group held all of them, and
    pyarrow's reader several groups' worth (4x a group of 21 columns, measured)."""

    def __init__(self, file: Any, group: int, num_rows: int) -> None:
        self.file, self.group, self.num_rows = file, group, num_rows

    def column(self, name: str) -> Any:
        return self.file.read_row_group(self.group, columns=[name], use_threads=False).column(0)


class _CsvColumns(_Columns):
    def __init__(self, path: Path) -> None:
        from gdlab.data._files import _COMPRESSION, _SNIFF_BYTES, _delimiter

        self.path = path
        compressed = path.suffix.lower() in _COMPRESSION
        if path.suffix.lower() not in (".gz", ".bz2", ".zst") and compressed:
            raise _Unusual("a compression pyarrow does not read")
        with path.open("rb") as handle:
            head = handle.read(_SNIFF_BYTES)
        if not compressed and b"\x00" in head:
            raise _Unusual("binary")
        self.delimiter = _delimiter(b"" if compressed else head, path.suffix.lower())
        self.names = list(self._open(None).schema.names)

    def _open(self, columns: list[str] | None) -> Any:
        import pyarrow as pa
        import pyarrow.csv as pcsv

        convert = pcsv.ConvertOptions(include_columns=columns) if columns else None
        return pcsv.open_csv(
            str(self.path),
            read_options=pcsv.ReadOptions(block_size=_CSV_BLOCK, use_threads=False),
            parse_options=pcsv.ParseOptions(delimiter=self.delimiter),
            convert_options=convert,
            memory_pool=pa.system_memory_pool(),  # blocks go back to the system once copied
        )

    def row_bound(self) -> int:
        import pyarrow as pa

        ends, last = 0, b"\n"
        with pa.input_stream(str(self.path), compression="detect") as stream:
            for chunk in iter(lambda: stream.read(_COUNT_CHUNK), b""):
                ends += chunk.count(b"\n")
                last = chunk[-1:]
        return ends + (last != b"\n")  # a last line without a line end is a row too

    def batches(self, columns: list[str]) -> Iterator[Any]:
        return _with_rows(self._open(columns))

    def target_series(self, target: str, chunks: list[Any]) -> Any:
        import pyarrow as pa
        import pyarrow.types as pt

        kind = chunks[0].type
        if pt.is_integer(kind) or pt.is_floating(kind) or pt.is_boolean(kind):
            return pa.chunked_array(chunks, type=kind).to_pandas()
        import pandas as pd  # text labels (or dates...): pandas' own inference, one column

        frame = pd.read_csv(self.path, sep=self.delimiter, usecols=[target], encoding="utf-8")
        return frame[target]


def _with_rows(batches: Iterable[Any]) -> Iterator[Any]:
    """The batches that hold rows (the CSV reader may give empty ones)."""
    return (batch for batch in batches if batch.num_rows)
