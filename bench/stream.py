"""Streaming from Parquet: peak memory against the size of the file, and the time of a streamed
full-batch epoch against pyarrow's own read of the same columns (issue 10).

    python bench/stream.py                       # 1,000,000 and 8,000,000 rows x 20 (0.17 / 1.3 GB)
    python bench/stream.py --rows 250000 2000000 --json out.json

Each measurement runs in a fresh subprocess (its peak resident memory, ``VmHWM``, is the fit's),
with one BLAS thread (OpenBLAS's per-thread buffers otherwise add tens of MB of jitter):

- ``stream fit``: ``GDRegressor(batch_size=None, optimizer="sgd", max_iter=2, standardize=True)``
  on ``gdlab.data.parquet(path, target="y")`` (a scan for the scaling, two epochs, the final
  loss check: four passes over the file);
- ``in-memory fit``: the same model on ``pq.read_table(path).to_pandas()`` (what ``gdlab fit``
  loads today), for comparison;
- ``pyarrow read``: one pass (fastest of 3) of ``ParquetFile.iter_batches`` over the same
  columns with each column turned into NumPy (the floor of any streamed epoch);
- ``streamed epoch``: one more full-batch epoch of the streamed fit, (time of ``max_iter=3`` -
  time of ``max_iter=1``) / 2, fastest of 2.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

CHILD = r"""
import json, sys, time
import numpy as np
mode, path = sys.argv[1], sys.argv[2]
from gdlab.data.synthetic import peak_rss_bytes
import gdlab
settings = dict(batch_size=None, optimizer="sgd", learning_rate=0.1, tol=None, standardize=True,
                random_state=0)
out = {}
if mode == "stream":
    gdlab.GDRegressor(max_iter=2, **settings).fit(gdlab.data.parquet(path, target="y"))
elif mode == "memory":
    import pyarrow.parquet as pq
    frame = pq.read_table(path).to_pandas()
    gdlab.GDRegressor(max_iter=2, **settings).fit(frame.drop(columns="y"), frame["y"])
elif mode == "read":
    import pyarrow.parquet as pq
    best = float("inf")
    for _ in range(3):
        start = time.perf_counter()
        handle = pq.ParquetFile(path)
        for batch in handle.iter_batches(batch_size=65536):
            for column in batch.columns:
                column.to_numpy()
        best = min(best, time.perf_counter() - start)
    out["seconds"] = best
elif mode == "epoch":
    times = {}
    for epochs in (1, 3, 1, 3):
        start = time.perf_counter()
        gdlab.GDRegressor(max_iter=epochs, **settings).fit(gdlab.data.parquet(path, target="y"))
        took = time.perf_counter() - start
        times[epochs] = min(times.get(epochs, took), took)
    out["seconds"] = (times[3] - times[1]) / 2
out["peak"] = peak_rss_bytes()
print(json.dumps(out))
"""

MB = 1 << 20


def child(mode: str, path: Path) -> dict:
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"}
    done = subprocess.run(
        [sys.executable, "-c", CHILD, mode, str(path)],
        capture_output=True,
        text=True,
        check=True,
        env=env,
    )
    return json.loads(done.stdout)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, nargs=2, default=[1_000_000, 8_000_000])
    parser.add_argument("--features", type=int, default=20)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    from gdlab.data.synthetic import write_regression_parquet

    results = []
    with tempfile.TemporaryDirectory() as folder:
        for rows in args.rows:
            path = write_regression_parquet(Path(folder) / f"{rows}.parquet", rows, args.features)
            row = {"rows": rows, "file_mb": path.stat().st_size / MB}
            row["stream_peak_mb"] = child("stream", path)["peak"] / MB
            row["memory_peak_mb"] = child("memory", path)["peak"] / MB
            row["read_s"] = child("read", path)["seconds"]
            row["epoch_s"] = child("epoch", path)["seconds"]
            results.append(row)
            print(
                f"{rows:>10,d} rows, {row['file_mb']:7.0f} MB file: streamed fit peak "
                f"{row['stream_peak_mb']:6.0f} MB, in-memory fit peak {row['memory_peak_mb']:6.0f}"
                f" MB; streamed epoch {row['epoch_s']:.3f} s = "
                f"{row['epoch_s'] / row['read_s']:.2f} x pyarrow's read ({row['read_s']:.3f} s)"
            )
    small, large = results[0], results[-1]
    growth = large["stream_peak_mb"] - small["stream_peak_mb"]
    factor = large["file_mb"] / small["file_mb"]
    print(f"file {factor:.1f}x larger: streamed peak grew by {growth:.0f} MB (bar: 64 MB)")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
