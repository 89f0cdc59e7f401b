"""Data files for the command line: CSV or Parquet in, a float feature matrix and a target out.

Every problem is reported as a :class:`~gdlab.exceptions.DataError` (a ``ValueError``) whose
message starts with the file name and names the column and the row, so that a user can open the
file and fix it. Rows are counted from 1 in the order they appear in the file (the header of a CSV
file is not a row).

pandas and pyarrow are imported when a file is read, never when ``gdlab`` is imported.

Examples
--------
>>> import pandas as pd
>>> frame = pd.DataFrame({"x": [0.0, 1.0, 2.0], "y": [7.0, 10.0, 13.0]})
>>> X, y, names = split_xy(frame, "y")
>>> X.ravel(), y, names
(array([0., 1., 2.]), array([ 7., 10., 13.]), ['x'])
"""

from __future__ import annotations

import csv
import difflib
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

from gdlab.exceptions import DataError

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

__all__ = [
    "CSV_SUFFIXES",
    "MAX_AUTO_CLASSES",
    "PARQUET_SUFFIXES",
    "feature_matrix",
    "id_like_columns",
    "infer_task",
    "read_table",
    "split_xy",
    "table_format",
    "write_table",
]

#: File endings read as comma- (or tab-, semicolon-) separated text.
CSV_SUFFIXES = (".csv", ".tsv", ".txt")
#: File endings read as Parquet.
PARQUET_SUFFIXES = (".parquet", ".pq", ".parq")
_COMPRESSION = (".gz", ".bz2", ".xz", ".zip", ".zst")
#: ``task="auto"`` treats an integer target with at most this many distinct values as classes.
MAX_AUTO_CLASSES = 20
_PARQUET_MAGIC = b"PAR1"
_SNIFF_BYTES = 64 * 1024


def _show(value: Any, width: int = 40) -> str:
    text = repr(value.item() if isinstance(value, np.generic) else value)
    return text if len(text) <= width else text[: width - 3] + "..."


def _prefix(source: str | None) -> str:
    return f"{source}: " if source else ""


def table_format(path: str | Path) -> str:
    """``"csv"`` or ``"parquet"`` from a file name's ending; :class:`DataError` otherwise.

    Examples
    --------
    >>> table_format("data.csv.gz"), table_format("data.parquet")
    ('csv', 'parquet')
    """
    suffixes = [s.lower() for s in Path(path).suffixes]
    if suffixes and suffixes[-1] in _COMPRESSION:
        suffixes = suffixes[:-1]
    last = suffixes[-1] if suffixes else ""
    if last in CSV_SUFFIXES:
        return "csv"
    if last in PARQUET_SUFFIXES:
        return "parquet"
    known = ", ".join((*CSV_SUFFIXES, *PARQUET_SUFFIXES))
    shown = f"{last!r}" if last else "no extension"
    raise DataError(
        f"{path}: unknown file type ({shown}); gdlab reads and writes CSV and Parquet files "
        f"ending in {known}."
    )


def _delimiter(head: bytes, suffix: str) -> str:
    if suffix == ".tsv":
        return "\t"
    text = head.decode("utf-8", errors="replace")
    lines = text.splitlines()[:20]
    if not lines:
        return ","
    try:
        return csv.Sniffer().sniff("\n".join(lines), delimiters=",;\t|").delimiter
    except csv.Error:
        return ","


def _first_line(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    return text[0] if text else type(error).__name__


def read_table(path: str | Path) -> pd.DataFrame:
    """Read a CSV or Parquet file into a :class:`pandas.DataFrame`.

    The format follows the file name (``.csv``, ``.tsv``, ``.txt``, optionally compressed with
    ``.gz``/``.bz2``/``.xz``/``.zip``/``.zst``; ``.parquet``, ``.pq``, ``.parq``); the content is
    checked against it (a Parquet file starts with the bytes ``PAR1``, a text file has no NUL
    bytes). The delimiter of a text file (comma, semicolon, tab or bar) is detected.

    Raises
    ------
    DataError
        Naming the file: it does not exist, is a directory, is empty, has no data rows, is not
        UTF-8 text, looks binary, is not valid Parquet, has an unknown ending, or gives two
        columns the same name (pandas would silently rename the second ``y`` to ``y.1``).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "lesson.csv"
    >>> _ = path.write_text("x,y\\n0,7\\n1,10\\n")
    >>> read_table(path).shape
    (2, 2)
    """
    import pandas as pd

    path = Path(path)
    if not path.exists():
        raise DataError(f"{path}: no such file.")
    if path.is_dir():
        raise DataError(f"{path}: is a directory, not a data file.")
    kind = table_format(path)
    try:
        size = path.stat().st_size
        with path.open("rb") as handle:
            head = handle.read(_SNIFF_BYTES)
    except OSError as error:
        raise DataError(f"{path}: cannot be read ({error.strerror or error}).") from None
    if size == 0:
        raise DataError(f"{path}: the file is empty.")
    compressed = path.suffix.lower() in _COMPRESSION
    if kind == "parquet" or head.startswith(_PARQUET_MAGIC):
        frame = _read_parquet(path, head)
    elif not compressed and b"\x00" in head:
        raise DataError(
            f"{path}: looks like a binary file (it contains NUL bytes), not CSV text; gdlab reads "
            "CSV and Parquet files."
        )
    else:
        frame = _read_csv(path, head if not compressed else b"", pd)
    if frame.shape[1] == 0:
        raise DataError(f"{path}: no columns were found.")
    if frame.shape[0] == 0:
        raise DataError(f"{path}: has a header ({frame.shape[1]} columns) but no data rows.")
    frame.columns = [str(c) for c in frame.columns]
    _check_unique_names(path, list(frame.columns))
    return frame


def _check_unique_names(path: Path, names: Sequence[str]) -> None:
    """A DataError naming every column name that the header gives more than once."""
    positions: dict[str, list[int]] = {}
    for number, name in enumerate(names, start=1):
        if name:  # pandas names empty header cells "Unnamed: k", which never collide
            positions.setdefault(name, []).append(number)
    repeated = [
        f"{name!r} (columns {' and '.join(map(str, where))})"
        for name, where in positions.items()
        if len(where) > 1
    ]
    if repeated:
        raise DataError(
            f"{path}: the header gives the same name to more than one column: "
            f"{', '.join(repeated)}; give every column its own name."
        )


def _read_parquet(path: Path, head: bytes) -> pd.DataFrame:
    import pandas as pd

    if not head.startswith(_PARQUET_MAGIC):
        raise DataError(f"{path}: is not a Parquet file (it does not start with the bytes 'PAR1').")
    try:
        return pd.read_parquet(path, engine="pyarrow")
    except Exception as error:  # pyarrow raises several unrelated types for corrupt files
        raise DataError(f"{path}: cannot be read as Parquet: {_first_line(error)}") from None


def _read_csv(path: Path, head: bytes, pd: Any) -> pd.DataFrame:
    suffix = path.suffix.lower()
    separator = _delimiter(head, suffix)
    header = None
    try:
        frame = pd.read_csv(path, sep=separator, encoding="utf-8")
        if any("." in str(name) for name in frame.columns):
            # pandas renames a repeated name "y" to "y.1": read the header as written
            header = pd.read_csv(
                path,
                sep=separator,
                encoding="utf-8",
                header=None,
                nrows=1,
                dtype=str,
                keep_default_na=False,
            )
    except UnicodeDecodeError as error:
        raise DataError(
            f"{path}: is not UTF-8 text (byte {error.object[error.start : error.start + 1]!r} at "
            f"position {error.start}); save it as UTF-8 CSV."
        ) from None
    except pd.errors.EmptyDataError:
        raise DataError(f"{path}: has no columns or rows.") from None
    except (pd.errors.ParserError, ValueError, OSError, EOFError) as error:
        raise DataError(f"{path}: cannot be read as CSV: {_first_line(error)}") from None
    if header is not None:
        _check_unique_names(path, [str(name) for name in header.iloc[0]])
    return frame


def write_table(frame: pd.DataFrame, path: str | Path) -> Path:
    """Write ``frame`` as CSV or Parquet, chosen by the file name's ending; returns the path.

    The file is written atomically (:func:`gdlab.io.atomic_write`): a kill during the write
    leaves the old file or none, never a truncated one.

    Examples
    --------
    >>> import tempfile, pathlib, pandas as pd
    >>> out = write_table(pd.DataFrame({"a": [1.5]}), pathlib.Path(tempfile.mkdtemp()) / "o.csv")
    >>> out.read_text()
    'a\\n1.5\\n'
    """
    path = Path(path)
    kind = table_format(path)
    if path.parent and not path.parent.exists():
        raise DataError(f"{path}: the folder {path.parent} does not exist.")
    from gdlab.io import atomic_write

    def write(handle: Any) -> None:
        if kind == "parquet":
            frame.to_parquet(handle, engine="pyarrow", index=False)
        else:
            sep = "\t" if path.suffix.lower() == ".tsv" else ","
            handle.write(frame.to_csv(index=False, sep=sep).encode("utf-8"))

    try:
        atomic_write(path, write)
    except OSError as error:
        raise DataError(f"{path}: cannot be written ({error.strerror or error}).") from None
    return path


def infer_task(target: pd.Series) -> tuple[str, str]:
    """``("classification" | "regression", reason)`` for a target column.

    The rule: a target that is not numeric (text, categories) or boolean is classification; an
    integer target with at most :data:`MAX_AUTO_CLASSES` (20) distinct values is classification;
    any other numeric target (floating-point values, or integers with many distinct values) is
    regression.

    Examples
    --------
    >>> import pandas as pd
    >>> infer_task(pd.Series([0, 1, 1, 0]))[0], infer_task(pd.Series([0.5, 1.5]))[0]
    ('classification', 'regression')
    """
    import pandas as pd

    api = pd.api.types
    if api.is_bool_dtype(target.dtype):
        return "classification", "the target is boolean"
    if not api.is_numeric_dtype(target.dtype):
        return "classification", "the target is not numeric"
    if api.is_integer_dtype(target.dtype):
        distinct = int(target.nunique(dropna=True))
        if distinct <= MAX_AUTO_CLASSES:
            return (
                "classification",
                f"integer target with {distinct} distinct values (<= {MAX_AUTO_CLASSES})",
            )
        return (
            "regression",
            f"integer target with {distinct} distinct values (> {MAX_AUTO_CLASSES})",
        )
    return "regression", "the target has floating-point values"


def _bad_rows(mask: NDArray[np.bool_]) -> tuple[int, str]:
    """(first bad position, ``" (N rows in all)"`` or ``""``) of a mask with at least one True."""
    positions = np.flatnonzero(mask)
    more = f" ({positions.size} rows in all)" if positions.size > 1 else ""
    return int(positions[0]), more


def _coerce_numbers(column: pd.Series) -> tuple[pd.Series, NDArray[np.bool_]]:
    """The column converted to numbers, and a mask of the cells that held something else."""
    import pandas as pd

    converted = pd.to_numeric(column, errors="coerce")
    return converted, converted.isna().to_numpy() & column.notna().to_numpy()


def _numeric_column(column: pd.Series, name: str, source: str | None, role: str) -> NDArray[Any]:
    """The column as float64, or a DataError naming the column, first bad row and value."""
    import pandas as pd

    api = pd.api.types
    where = f"{_prefix(source)}{role} {name!r}"
    if api.is_bool_dtype(column.dtype):
        values = column.to_numpy(dtype=np.float64, na_value=np.nan)
    elif (
        api.is_datetime64_any_dtype(column.dtype)
        or api.is_timedelta64_dtype(column.dtype)
        or isinstance(column.dtype, pd.PeriodDtype)
    ):
        raise DataError(
            f"{where} holds dates or times, not numbers; convert it to numbers or leave it out."
        )
    elif api.is_complex_dtype(column.dtype):
        raise DataError(f"{where} holds complex numbers; gdlab needs real numbers.")
    elif api.is_numeric_dtype(column.dtype):
        values = column.to_numpy(dtype=np.float64, na_value=np.nan)
    else:
        converted, bad = _coerce_numbers(column)
        if api.is_complex_dtype(converted.dtype):
            raise DataError(f"{where} holds complex numbers; gdlab needs real numbers.")
        if bad.any():
            first, more = _bad_rows(bad)
            raise DataError(
                f"{where} is not numeric: row {first + 1} holds {_show(column.iloc[first])}"
                f"{more}. gdlab fits linear models on numbers: encode this column as numbers "
                "or leave it out."
            )
        values = converted.to_numpy(dtype=np.float64, na_value=np.nan)
    missing = np.isnan(values)
    if missing.any():
        first, more = _bad_rows(missing)
        raise DataError(
            f"{where} has a missing value (empty or NaN) in row {first + 1}{more}; fill in or "
            "drop those rows."
        )
    infinite = np.isinf(values)
    if infinite.any():
        first, more = _bad_rows(infinite)
        raise DataError(
            f"{where} has an infinite value ({_show(values[first])}) in row {first + 1}{more}."
        )
    return values


def _check_columns(
    frame: pd.DataFrame, wanted: Iterable[str], source: str | None, what: str
) -> None:
    available = [str(c) for c in frame.columns]
    missing = [c for c in wanted if c not in available]
    if missing:
        shown = ", ".join(repr(c) for c in missing)
        columns = ", ".join(repr(c) for c in available)
        plural = "s" if len(missing) > 1 else ""
        close = difflib.get_close_matches(missing[0], available, n=1)
        if not close:
            lowered = {c.lower(): c for c in available}
            close = [lowered[missing[0].lower()]] if missing[0].lower() in lowered else []
        hint = f" Did you mean {close[0]!r}?" if close else ""
        raise DataError(
            f"{_prefix(source)}{what} column{plural} {shown} not found; the columns are: "
            f"{columns}.{hint}"
        )


def feature_matrix(
    frame: pd.DataFrame, columns: Sequence[str], *, source: str | None = None
) -> NDArray[np.float64]:
    """The named columns of ``frame`` as a C-ordered float64 matrix, checked cell by cell.

    Raises
    ------
    DataError
        A column is missing, is not numeric (naming its first bad row and value), or holds a
        missing or infinite value (naming the row).

    Examples
    --------
    >>> import pandas as pd
    >>> feature_matrix(pd.DataFrame({"a": [1, 2], "b": [True, False]}), ["b", "a"])
    array([[1., 1.],
           [0., 2.]])
    """
    _check_columns(frame, columns, source, "feature")
    X = np.empty((frame.shape[0], len(columns)), dtype=np.float64)
    for j, name in enumerate(columns):
        X[:, j] = _numeric_column(frame[name], name, source, "column")
    return X


def _target(column: pd.Series, name: str, task: str, source: str | None) -> NDArray[Any]:
    import pandas as pd

    where = f"{_prefix(source)}target column {name!r}"
    if task == "regression":
        if not pd.api.types.is_numeric_dtype(column.dtype) and not pd.api.types.is_bool_dtype(
            column.dtype
        ):
            _, bad = _coerce_numbers(column)
            if bad.any():
                first, _ = _bad_rows(bad)
                raise DataError(
                    f"{where} is not numeric (row {first + 1} holds "
                    f"{_show(column.iloc[first])}), so it cannot be a regression target; use "
                    "task='classification' (--task classification) for class labels."
                )
        return _numeric_column(column, name, source, "target column")
    missing = column.isna().to_numpy()
    if missing.any():
        first, more = _bad_rows(missing)
        raise DataError(f"{where} has a missing label in row {first + 1}{more}.")
    api = pd.api.types
    if api.is_bool_dtype(column.dtype) or api.is_integer_dtype(column.dtype):
        return column.to_numpy()
    if api.is_numeric_dtype(column.dtype):
        values = column.to_numpy(dtype=np.float64)
        fractional = ~np.isfinite(values) | (values != np.round(values))
        if fractional.any():
            first, _ = _bad_rows(fractional)
            raise DataError(
                f"{where} has the non-integer value {_show(values[first])} in row {first + 1}; "
                "classification needs class labels (text or whole numbers). Use "
                "task='regression' (--task regression) to predict a number."
            )
        return values.astype(np.int64)
    return column.astype(str).to_numpy(dtype=str)


def id_like_columns(frame: pd.DataFrame, columns: Sequence[str]) -> list[str]:
    """The columns among ``columns`` that look like row numbers: whole numbers counting up by one.

    Such a column (``id``, or the ``Unnamed: 0`` that ``DataFrame.to_csv`` writes) is rarely a
    meaningful feature; the command line points it out.

    Examples
    --------
    >>> import pandas as pd
    >>> id_like_columns(pd.DataFrame({"id": [1, 2, 3], "x": [1, 3, 2]}), ["id", "x"])
    ['id']
    """
    import pandas as pd

    found = []
    for name in columns:
        column = frame[name]
        if len(column) < 3 or not pd.api.types.is_integer_dtype(column.dtype):
            continue
        steps = np.diff(column.to_numpy(dtype=np.int64))
        if np.all(steps == 1):
            found.append(str(name))
    return found


def split_xy(
    frame: pd.DataFrame,
    target: str,
    task: str = "auto",
    *,
    features: Sequence[str] | None = None,
    exclude: Sequence[str] = (),
    min_rows: int = 2,
    source: str | None = None,
) -> tuple[NDArray[np.float64], NDArray[Any], list[str]]:
    """Split a table into a float64 feature matrix ``X``, the target ``y`` and the feature names.

    Parameters
    ----------
    frame : pandas.DataFrame
    target : str
        The name of the target column.
    task : {"auto", "regression", "classification"}
        How to read the target: numbers for regression (float64), labels for classification
        (integers kept as int64, text as a NumPy string array). ``"auto"`` follows
        :func:`infer_task`.
    features : sequence of str, optional
        The feature columns, in this order (default: every column except the target and
        ``exclude``).
    exclude : sequence of str
        Columns to leave out (an id column, for example).
    min_rows : int, default 2
        Fewer rows than this is an error.
    source : str, optional
        The file name, put at the start of every error message.

    Raises
    ------
    DataError
        The target or a feature column is missing (the message lists the columns there are),
        a feature is not numeric (naming the column, its first bad row and the value), a value is
        missing or infinite (column and row), there are no feature columns or too few rows.

    Examples
    --------
    >>> import pandas as pd
    >>> frame = pd.DataFrame({"size": [1.0, 2.0, 3.0], "kind": ["a", "b", "a"]})
    >>> X, y, names = split_xy(frame, "kind")
    >>> y, names
    (array(['a', 'b', 'a'], dtype='<U1'), ['size'])
    """
    if task not in ("auto", "regression", "classification"):
        raise ValueError(f"task must be 'auto', 'regression' or 'classification'; got {task!r}.")
    target = str(target)
    _check_columns(frame, [target], source, "target")
    _check_columns(frame, exclude, source, "excluded")
    if features is None:
        left_out = {target, *exclude}
        names = [str(c) for c in frame.columns if str(c) not in left_out]
    else:
        names = [str(c) for c in features]
        if target in names:
            raise DataError(f"{_prefix(source)}the target {target!r} cannot also be a feature.")
    if not names:
        raise DataError(
            f"{_prefix(source)}no feature columns are left besides the target {target!r}."
        )
    n_rows = frame.shape[0]
    if n_rows == 0:
        raise DataError(f"{_prefix(source)}the table has no rows.")
    if n_rows < min_rows:
        raise DataError(
            f"{_prefix(source)}the table has {n_rows} row{'s' if n_rows != 1 else ''}; at least "
            f"{min_rows} are needed."
        )
    column = frame[target]
    if task == "auto":
        task = infer_task(column)[0]
    y = _target(column, target, task, source)
    X = feature_matrix(frame, names, source=source)
    return X, y, names
