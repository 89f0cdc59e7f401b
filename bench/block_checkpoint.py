"""What mid-epoch checkpoints cost a streamed fit: the same Parquet fit without checkpoints, with
the per-block hook only (``gdlab fit --checkpoint``'s default: a checkpoint every 60 s, so none
between blocks in a short run), and with a checkpoint written after every block
(``--checkpoint-every 0``), in the same run, as ratios.

    .venv/bin/python bench/block_checkpoint.py [--rows 400000] [--batch-rows 16384] [--repeats 3]
    .venv/bin/python bench/block_checkpoint.py --dask   # also a Dask mini-batch fit with the hook

With ``--dask``: the same data as a persisted dask array (partitions of ``--batch-rows``) on a
``LocalCluster`` of 2 single-threaded workers, a mini-batch fit without and with the per-block
hook (the carried state gathered after each partition), and a full-batch fit (20 epochs) without
the hook (the partitions' sums gathered at once), with it (gathered in partition order, a cursor
after each) and with a checkpoint written after every partition.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

import gdlab
from gdlab.io import save_checkpoint


def _data(folder: Path, rows: int, batch_rows: int) -> Path:
    rng = np.random.default_rng(0)
    X = rng.normal(size=(rows, 20))
    y = X @ rng.normal(size=20) + 0.5 + 0.1 * rng.normal(size=rows)
    table = pa.table({**{f"x{j}": X[:, j] for j in range(20)}, "y": y})
    path = folder / "data.parquet"
    pq.write_table(table, path, row_group_size=batch_rows)
    return path


def _timed_fit(model: Any, data: tuple[Any, ...], hook: str, checkpoint: Path) -> float:
    """Seconds of ``model.fit(*data)`` with ``hook``: none, a block callback that does nothing,
    or one that saves a checkpoint to ``checkpoint`` after every block."""
    options = {}
    if hook == "hook":
        options["block_callback"] = lambda snapshot: None
    elif hook == "every block":
        options["block_callback"] = lambda snapshot: save_checkpoint(snapshot, checkpoint)
    started = time.perf_counter()
    model.fit(*data, **options)
    return time.perf_counter() - started


def _fit(path: Path, batch_rows: int, batch_size: int | None, hook: str, folder: Path) -> float:
    source = gdlab.data.parquet(path, target="y", batch_rows=batch_rows)
    model = gdlab.GDRegressor(optimizer="adam", batch_size=batch_size, max_iter=3, tol=None)
    return _timed_fit(model, (source,), hook, folder / "c.ckpt")


def _report(label: str, times: dict[str, list[float]]) -> None:
    base = times["none"]
    for hook, seconds in times.items():
        print(
            f"{label:>10} | {hook:>11}: median {statistics.median(seconds):.3f} s, "
            f"fastest {min(seconds):.3f} s; ratio to none: median "
            f"{statistics.median(seconds) / statistics.median(base):.3f}, fastest "
            f"{min(seconds) / min(base):.3f}"
        )


def _dask_fit(dX: object, dy: object, batch_size: int | None, hook: str, folder: Path) -> float:
    epochs = 3 if batch_size else 20  # a full-batch epoch is one update: more of them
    model = gdlab.GDRegressor(optimizer="adam", batch_size=batch_size, max_iter=epochs, tol=None)
    return _timed_fit(model, (dX, dy), hook, folder / "d.ckpt")


def _dask(rows: int, batch_rows: int, repeats: int, folder: Path) -> None:
    import dask.array as da
    import distributed

    rng = np.random.default_rng(0)
    X = rng.normal(size=(rows, 20))
    y = X @ rng.normal(size=20) + 0.5
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False)
    with cluster, distributed.Client(cluster):
        dX = da.from_array(X, chunks=(batch_rows, 20)).persist()
        dy = da.from_array(y, chunks=batch_rows).persist()
        for batch_size in (256, None):
            times: dict[str, list[float]] = {"none": [], "hook": [], "every block": []}
            if batch_size is not None:
                del times["every block"]
            for _ in range(repeats):  # interleaved, so that the load hits all alike
                for hook in times:
                    times[hook].append(_dask_fit(dX, dy, batch_size, hook, folder))
            label = "dask full batch, 20 epochs" if batch_size is None else "dask 256"
            _report(label, times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=400_000)
    parser.add_argument("--batch-rows", type=int, default=16_384)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--dask", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        path = _data(folder, args.rows, args.batch_rows)
        blocks = -(-args.rows // args.batch_rows)
        print(f"{args.rows} rows x 20 in {blocks} blocks, 3 epochs of Adam; {args.repeats} runs")
        for batch_size in (256, None):
            times: dict[str, list[float]] = {"none": [], "hook": [], "every block": []}
            for _ in range(args.repeats):  # interleaved, so that the load hits all alike
                for hook in times:
                    times[hook].append(_fit(path, args.batch_rows, batch_size, hook, folder))
            _report("full batch" if batch_size is None else f"batch {batch_size}", times)
        if args.dask:
            _dask(args.rows, args.batch_rows, args.repeats, folder)


if __name__ == "__main__":
    main()
