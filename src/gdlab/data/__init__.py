"""Data sources for data larger than memory: Parquet and CSV files read block by block.

The estimators take a source in place of ``X, y``::

    src = gdlab.data.parquet("events/", target="clicked", batch_rows=65_536)
    model = gdlab.GDClassifier(batch_size=256).fit(src)      # streamed
    model.predict(src), model.score(src)                      # streamed too

A path is a file, a folder (its ``.parquet``/``.csv`` files, sorted by name) or a glob. Only one
block of ``batch_rows`` rows (with the next record batch, decoded ahead in a background thread,
and pyarrow's read buffer) is in memory at a time; statistics for
``standardize=True``, the classes of a classifier and the starting intercept of a regressor come
from one streaming pass before training. The order of the updates is the documented function of
``(random_state, epoch, block)`` in :mod:`gdlab.data.layout`; :func:`arrays` gives in-memory data
the same block order, so a streamed fit and an in-memory fit with the same layout are bit for bit
the same.

Examples
--------
>>> import numpy as np, gdlab
>>> X = np.random.default_rng(0).normal(size=(300, 2)); y = X @ [2.0, -1.0] + 5
>>> model = gdlab.GDRegressor(random_state=0).fit(gdlab.data.arrays(X, y, batch_rows=64))
>>> model.coef_.round(2), model.intercept_.round(2)
(array([ 2., -1.]), array([5.]))
"""

from __future__ import annotations

from typing import Any

from gdlab.data.sources import DEFAULT_BATCH_ROWS, ArraySource, FileSource, expand_paths

__all__ = ["arrays", "csv", "parquet"]


def parquet(
    path: Any,
    target: str | None = None,
    features: list[str] | None = None,
    batch_rows: int = DEFAULT_BATCH_ROWS,
    weight: str | None = None,
) -> FileSource:
    """A source over Parquet files, read with ``pyarrow.parquet.ParquetFile.iter_batches``.

    Parameters
    ----------
    path : str or path
        A ``.parquet`` file, a folder of them or a glob.
    target : str or None
        The target column (``None`` for prediction only).
    features : list of str or None
        The feature columns (default: every other column); only these are read.
    batch_rows : int, default 65536
        Rows per block. Each row group is cut into blocks; files written with
        ``row_group_size=batch_rows`` make every block a group, so shuffling permutes the blocks.
    weight : str or None
        A column of non-negative sample weights, read with each block and used exactly as
        ``fit(X, y, sample_weight=...)`` in memory (not a feature).
    """
    files = expand_paths(path, (".parquet", ".pq"))
    return FileSource(files, "parquet", target, features, batch_rows, weight=weight)


def csv(
    path: Any,
    target: str | None = None,
    features: list[str] | None = None,
    batch_rows: int = DEFAULT_BATCH_ROWS,
    delimiter: str = ",",
    weight: str | None = None,
) -> FileSource:
    """A source over CSV files (header row first), read with ``pyarrow.csv.open_csv``.

    Each file is one group (read front to back), cut into blocks of ``batch_rows`` rows; with
    shuffling the files come in a seeded order and the rows of each block are shuffled. Counting a
    file's rows takes one extra pass when the source is first used. ``weight`` names a column of
    sample weights, as :func:`parquet`.
    """
    options = {"delimiter": delimiter}
    files = expand_paths(path, (".csv",))
    return FileSource(files, "csv", target, features, batch_rows, options, weight=weight)


def arrays(
    X: Any,
    y: Any = None,
    batch_rows: int = DEFAULT_BATCH_ROWS,
    group_rows: int | None = None,
    sample_weight: Any = None,
) -> ArraySource:
    """In-memory ``X, y`` as a source: training sees the blocks of a streamed fit.

    ``group_rows`` (default ``batch_rows``) plays the part of a Parquet file's row groups;
    ``sample_weight`` plays the part of a source's weight column.
    """
    return ArraySource(X, y, batch_rows, group_rows, sample_weight)
