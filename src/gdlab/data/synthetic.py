"""Synthetic Parquet files for the memory tests and ``bench/stream.py``, written chunk by chunk.

``y = X @ w + 0.5 + noise`` with ``X ~ N(0, 1)`` (float64) and ``w_j = (-1)^j / (j + 1)``; the
file is written in row groups of ``row_group_rows`` without ever holding more than one chunk.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["peak_rss_bytes", "write_regression_parquet"]


def write_regression_parquet(
    path: Any, n_rows: int, n_features: int = 20, row_group_rows: int = 65_536, seed: int = 0
) -> Path:
    """Write the file and return its path (columns ``x0..x{d-1}`` and ``y``).

    Examples
    --------
    >>> import tempfile, pyarrow.parquet as pq
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     path = write_regression_parquet(Path(folder) / "d.parquet", 1000, 3, 256)
    ...     pq.ParquetFile(path).metadata.num_row_groups
    4
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = Path(path)
    rng = np.random.default_rng(seed)
    w = np.array([(-1) ** j / (j + 1) for j in range(n_features)])
    names = [f"x{j}" for j in range(n_features)] + ["y"]
    schema = pa.schema([(name, pa.float64()) for name in names])
    with pq.ParquetWriter(path, schema, compression="none") as writer:
        for start in range(0, n_rows, row_group_rows):
            rows = min(row_group_rows, n_rows - start)
            X = rng.normal(size=(rows, n_features))
            y = X @ w + 0.5 + 0.1 * rng.normal(size=rows)
            columns = [pa.array(X[:, j]) for j in range(n_features)] + [pa.array(y)]
            writer.write_table(pa.Table.from_arrays(columns, schema=schema))
    return path


def peak_rss_bytes() -> int:
    """This process's peak resident memory (``VmHWM`` of ``/proc/self/status``, else
    ``ru_maxrss``)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    import resource

    return int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss) * 1024
