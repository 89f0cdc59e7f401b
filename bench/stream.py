"""Streaming from Parquet: peak memory against the size of the file, and the time of a streamed
full-batch epoch against pyarrow's own read of the same columns; loading a file for an in-memory
fit: peak memory against the size of the numbers (issue 10).

    python bench/stream.py           # 2,400,000 and 19,200,000 rows x 20 (0.4 / 3.2 GB); loads of
                                     # 5,000,000 x 20 (Parquet) and 2,000,000 x 20 (CSV)
    python bench/stream.py --rows 250000 2000000 --load-rows 500000 --csv-rows 200000 --json o.json
    python bench/stream.py --epochs-only --repeats 3 --before /tmp/old/src   # the timed pair only

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
  time of ``max_iter=1``) / 2, fastest of 2 (on the smaller file only: the time bar is a ratio);
  with ``--epochs-only``, instead, each epoch of a 7-epoch fit timed inside the fit (the gaps
  between its epoch callbacks: median, fastest, and the median CPU time of the process, reading
  thread included), next to pyarrow's read (wall and CPU), ``--repeats`` times; ``--before SRC``
  times the same epochs with the gdlab package of another ``src`` folder (``PYTHONPATH``);
- ``load``: what ``gdlab fit FILE --target y`` does before training (``Dataset``: one float64
  matrix filled straight from pyarrow, :mod:`gdlab.data.inmemory`), and ``load (pandas)``: the
  pandas path it replaced (``read_table`` + ``split_xy``), for Parquet and CSV; the peak is the
  growth of the peak resident memory over the one after the imports, divided by the bytes of the
  numbers (``X`` and ``y``).

The in-memory fit is left out for files above ``--memory-fit-max-rows`` (it needs about 8x the
file). Files go to a temporary folder (``TMPDIR``) and are deleted after their measurements.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

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
    best = cpu = float("inf")
    for _ in range(3):
        start, used = time.perf_counter(), time.process_time()
        handle = pq.ParquetFile(path)
        for batch in handle.iter_batches(batch_size=65536):
            for column in batch.columns:
                column.to_numpy()
        best = min(best, time.perf_counter() - start)
        cpu = min(cpu, time.process_time() - used)
    out["seconds"], out["cpu"] = best, cpu
elif mode == "epochs":  # each epoch timed inside one fit: the gaps between the epoch callbacks
    marks = []
    def mark(snapshot):
        marks.append((time.perf_counter(), time.process_time()))
    gdlab.GDRegressor(max_iter=7, **settings).fit(
        gdlab.data.parquet(path, target="y"), callback=mark
    )
    walls = sorted(b[0] - a[0] for a, b in zip(marks, marks[1:]))
    cpus = sorted(b[1] - a[1] for a, b in zip(marks, marks[1:]))
    out["seconds"], out["fastest"] = walls[len(walls) // 2], walls[0]
    out["cpu"] = cpus[len(cpus) // 2]
elif mode == "epoch":
    times = {}
    for epochs in (1, 3, 1, 3):
        start = time.perf_counter()
        gdlab.GDRegressor(max_iter=epochs, **settings).fit(gdlab.data.parquet(path, target="y"))
        took = time.perf_counter() - start
        times[epochs] = min(times.get(epochs, took), took)
    out["seconds"] = (times[3] - times[1]) / 2
elif mode in ("load", "load-pandas"):
    from pathlib import Path
    import pyarrow.parquet, pyarrow.csv, pandas
    from gdlab.cli._data import Dataset
    from gdlab.data._files import read_table, split_xy
    out["base"] = peak_rss_bytes()
    start = time.perf_counter()
    if mode == "load":
        data = Dataset(Path(path), "y")
        X, y = data.X, data.y
    else:
        X, y, _ = split_xy(read_table(path), "y", "regression")
    out["seconds"] = time.perf_counter() - start
    out["numbers"] = X.nbytes + y.nbytes
out["peak"] = peak_rss_bytes()
print(json.dumps(out))
"""

MB = 1 << 20


def child(mode: str, path: Path, code: Path | None = None) -> dict:
    """Run ``mode`` in a fresh process; ``code``: a ``src`` folder to import gdlab from instead
    (the code before a change, for a before/after in the same run)."""
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"}
    if code is not None:
        env["PYTHONPATH"] = str(code)
    done = subprocess.run(
        [sys.executable, "-c", CHILD, mode, str(path)],
        capture_output=True,
        text=True,
        check=True,
        env=env,
    )
    return json.loads(done.stdout)


def _streaming(rows: int, folder: Path, args: argparse.Namespace, timed: bool) -> dict:
    from gdlab.data.synthetic import write_regression_parquet

    path = write_regression_parquet(folder / f"{rows}.parquet", rows, args.features)
    row = {"rows": rows, "file_mb": path.stat().st_size / MB}
    row["stream_peak_mb"] = child("stream", path)["peak"] / MB
    if rows <= args.memory_fit_max_rows:
        row["memory_peak_mb"] = child("memory", path)["peak"] / MB
    if timed:
        row["read_s"] = child("read", path)["seconds"]
        row["epoch_s"] = child("epoch", path)["seconds"]
    path.unlink()
    line = f"{rows:>10,d} rows, {row['file_mb']:7.0f} MB file: streamed fit peak "
    line += f"{row['stream_peak_mb']:6.0f} MB"
    if "memory_peak_mb" in row:
        line += f", in-memory fit peak {row['memory_peak_mb']:6.0f} MB"
    if timed:
        line += (
            f"; streamed epoch {row['epoch_s']:.3f} s = {row['epoch_s'] / row['read_s']:.2f} x "
            f"pyarrow's read ({row['read_s']:.3f} s)"
        )
    print(line, flush=True)
    return row


def _loads(kind: str, rows: int, folder: Path, features: int) -> dict:
    from gdlab.data.synthetic import write_regression_parquet

    path = write_regression_parquet(folder / f"load{rows}.parquet", rows, features)
    if kind == "csv":
        import pyarrow.csv as pcsv
        import pyarrow.parquet as pq

        with pcsv.CSVWriter(folder / f"load{rows}.csv", pq.ParquetFile(path).schema_arrow) as w:
            for batch in pq.ParquetFile(path).iter_batches(batch_size=65_536):
                w.write_batch(batch)
        path.unlink()
        path = folder / f"load{rows}.csv"
    row: dict = {"kind": kind, "rows": rows, "file_mb": path.stat().st_size / MB}
    for mode in ("load", "load-pandas"):
        got = child(mode, path)
        row[mode] = (got["peak"] - got["base"]) / got["numbers"]
        row[mode + "_s"] = got["seconds"]
    path.unlink()
    print(
        f"load {kind:7s} {rows:>10,d} rows ({row['file_mb']:6.0f} MB file): peak "
        f"{row['load']:.2f} x the numbers in {row['load_s']:.1f} s (pandas path: "
        f"{row['load-pandas']:.2f} x in {row['load-pandas_s']:.1f} s)",
        flush=True,
    )
    return row


def _epochs(rows: int, folder: Path, args: argparse.Namespace) -> list[dict]:
    """The timed pair only, ``--repeats`` times: pyarrow's read, then the streamed epoch (each
    epoch of a 7-epoch fit timed inside the fit: median and fastest of the 6 gaps between epoch
    callbacks, and the median CPU time of the process, both threads), then the same with
    ``--before``'s code."""
    from gdlab.data.synthetic import write_regression_parquet

    path = write_regression_parquet(folder / f"{rows}.parquet", rows, args.features)
    found = []
    for repeat in range(args.repeats):
        row: dict[str, Any] = {"repeat": repeat + 1, "load": os.getloadavg()[0]}
        row["read"] = child("read", path)
        read = row["read"]
        row["epoch"] = epoch = child("epochs", path)
        line = (
            f"repeat {repeat + 1} (load {row['load']:.1f}): pyarrow's read "
            f"{read['seconds']:.3f} s (cpu {read['cpu']:.3f} s); streamed epoch "
            f"{epoch['seconds']:.3f} s = {epoch['seconds'] / read['seconds']:.2f} x (fastest "
            f"{epoch['fastest']:.3f} s; cpu {epoch['cpu']:.3f} s = "
            f"{epoch['cpu'] / read['cpu']:.2f} x)"
        )
        if args.before is not None:
            row["before"] = before = child("epochs", path, args.before)
            line += (
                f"; before: {before['seconds']:.3f} s = "
                f"{before['seconds'] / read['seconds']:.2f} x (cpu {before['cpu']:.3f} s)"
            )
        print(line, flush=True)
        found.append(row)
    path.unlink()
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, nargs=2, default=[2_400_000, 19_200_000])
    parser.add_argument("--features", type=int, default=20)
    parser.add_argument("--memory-fit-max-rows", type=int, default=2_400_000)
    parser.add_argument("--load-rows", type=int, default=5_000_000)
    parser.add_argument("--csv-rows", type=int, default=2_000_000)
    parser.add_argument("--json", type=Path)
    parser.add_argument(
        "--epochs-only", action="store_true", help="only the timed pair, on the smaller file"
    )
    parser.add_argument("--repeats", type=int, default=3, help="repeats of --epochs-only")
    parser.add_argument(
        "--before", type=Path, help="a src folder of older gdlab code to time the epoch with too"
    )
    args = parser.parse_args()
    results: dict = {"streaming": [], "loading": []}
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        if args.epochs_only:
            results["epochs"] = _epochs(args.rows[0], folder, args)
            if args.json:
                args.json.write_text(json.dumps(results, indent=2))
            return
        for k, rows in enumerate(args.rows):
            results["streaming"].append(_streaming(rows, folder, args, timed=k == 0))
        small, large = results["streaming"]
        growth = large["stream_peak_mb"] - small["stream_peak_mb"]
        factor = large["file_mb"] / small["file_mb"]
        print(f"file {factor:.1f}x larger: streamed peak grew by {growth:.0f} MB (bar: 64 MB)")
        results["loading"].append(_loads("parquet", args.load_rows, folder, args.features))
        results["loading"].append(_loads("csv", args.csv_rows, folder, args.features))
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
