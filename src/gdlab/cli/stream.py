"""``gdlab fit`` and ``gdlab predict`` on data read block by block (:mod:`gdlab.data`).

They stream when asked (``--stream``), when DATA is a folder or a glob of files, or when loading
the file would need more than the memory budget (``--memory``, default half of the machine's
RAM): an in-memory fit peaks at about :data:`LOAD_FACTOR` times the file's size (measured by
``bench/stream.py``), a streamed one at one block of ``--batch-rows`` rows.
"""

from __future__ import annotations

import glob
import os
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click
import numpy as np

__all__ = [
    "checkpoint_every_option",
    "parse_memory",
    "stream_options",
    "streamed_fit",
    "streamed_predict",
    "wants_stream",
]

#: peak memory of an in-memory fit over the size of the file (bench/stream.py: 1160 MB / 200 MB)
LOAD_FACTOR = 6.0
_UNITS = {"": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}


def parse_memory(text: str) -> int:
    """Bytes of a budget such as ``"4G"``, ``"512MB"`` or ``"1000000"``.

    Examples
    --------
    >>> parse_memory("4G"), parse_memory("512mb"), parse_memory("1000")
    (4294967296, 536870912, 1000)
    """
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([kmgt]?)i?b?\s*", text, flags=re.IGNORECASE)
    if not match:
        raise click.BadParameter(
            f"{text!r} is not a size; give a number of bytes with K, M, G or T (for example 4G).",
            param_hint="'--memory'",
        )
    return int(float(match.group(1)) * _UNITS[match.group(2).upper()])


def default_budget() -> int:
    """Half of the machine's physical memory."""
    try:
        return int(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")) // 2
    except (ValueError, OSError, AttributeError):
        return 4 << 30


def stream_options(f: Callable[..., Any]) -> Callable[..., Any]:
    """``--stream``, ``--memory`` and ``--batch-rows``."""
    options = [
        click.option(
            "--stream",
            is_flag=True,
            help="Read DATA block by block instead of loading it (automatic for a folder or a "
            "glob of files, or when loading it would exceed --memory).",
        ),
        click.option(
            "--memory",
            metavar="SIZE",
            default=None,
            help="Memory budget for loading DATA, e.g. 8G (default: half of the RAM); larger "
            "data is streamed.",
        ),
        click.option(
            "--batch-rows",
            type=click.IntRange(min=1),
            default=65_536,
            show_default=True,
            help="Rows per block when streaming.",
        ),
    ]
    for option in reversed(options):
        f = option(f)
    return f


def checkpoint_every_option(f: Callable[..., Any]) -> Callable[..., Any]:
    """``--checkpoint-every SECONDS`` of ``gdlab fit`` (the rule: :mod:`gdlab.cli._checkpoint`)."""
    from gdlab.cli._checkpoint import CHECKPOINT_EVERY

    return click.option(
        "--checkpoint-every",
        metavar="SECONDS",
        type=click.FloatRange(min=0),
        default=CHECKPOINT_EVERY,
        show_default=True,
        help="With --checkpoint, a streamed or Dask fit also writes one between two blocks of "
        "an epoch once this many seconds have passed since the last (0: after every block); "
        "--resume goes on from that block.",
    )(f)


def _files(data: Path) -> list[str]:
    from gdlab.data.sources import expand_paths

    try:
        return expand_paths(data, (".parquet", ".pq", ".csv"))
    except FileNotFoundError as error:
        raise click.BadParameter(str(error), param_hint="'DATA'") from None


def input_files(data: Path) -> list[Path]:
    """The files DATA names (itself, or those of a folder or glob), for the outputs to spare."""
    if data.is_file():
        return [data]
    try:
        return [Path(name) for name in _files(data)]
    except click.BadParameter:
        return [data]  # the loader names the missing file


def wants_stream(data: Path, stream: bool, memory: str | None) -> bool:
    """Whether to stream DATA (see the module's description)."""
    budget = default_budget() if memory is None else parse_memory(memory)  # checked first
    if stream or data.is_dir() or (not data.exists() and glob.has_magic(str(data))):
        return True
    if not data.is_file():
        return False  # the loader names the missing file
    return LOAD_FACTOR * data.stat().st_size > budget


def make_source(
    data: Path,
    target: str | None,
    features: list[str] | None,
    batch_rows: int,
    weight: str | None = None,
) -> Any:
    """The Parquet or CSV source of DATA (the kind from the files' ending); ``weight`` names a
    column of sample weights (``--sample-weight``)."""
    import gdlab.data

    files = _files(data)
    kinds = {"csv" if f.lower().endswith(".csv") else "parquet" for f in files}
    if len(kinds) > 1:
        raise click.BadParameter(
            f"{data} mixes CSV and Parquet files; stream one kind at a time.", param_hint="'DATA'"
        )
    make = gdlab.data.csv if kinds == {"csv"} else gdlab.data.parquet
    pattern = str(data) if len(files) > 1 or not Path(files[0]).samefile(data) else files[0]
    try:
        return make(pattern, target=target, features=features, batch_rows=batch_rows, weight=weight)
    except ValueError as error:
        hint = "'--sample-weight'" if "weight column" in str(error) else "'DATA'"
        raise click.BadParameter(str(error), param_hint=hint) from None


def _columns(text: str | None) -> list[str] | None:
    return None if text is None else [c.strip() for c in text.split(",") if c.strip()]


def stream_task(source: Any, task: str) -> tuple[str, str]:
    """``(task, reason)``: ``--task`` or the rule of ``gdlab fit`` on the first block's target."""
    if task != "auto":
        return task, "--task"
    import pandas as pd

    from gdlab.data._files import infer_task

    first = next(source.group_blocks(0))[1]
    found, reason = infer_task(pd.Series(first))
    return found, f"{reason}, from the first block"


def streamed_fit(
    data: Path,
    target: str,
    task: str,
    features: str | None,
    exclude: str | None,
    batch_rows: int,
    model_factory: Callable[[str], Any],
    model_out: Path | None,
    out: Any,
    quiet: bool = False,
    checkpoint: Path | None = None,
    resume: bool = False,
    weight: str | None = None,
    every: float | None = None,
) -> Any:
    """Fit ``model_factory(task)`` on DATA streamed; print a summary; save the model.

    On a terminal (and without ``quiet``) a progress line shows the epoch, the loss and rows/s.
    With ``checkpoint`` a checkpoint is written after every epoch, and between two blocks every
    ``every`` seconds; ``resume`` continues it. ``weight`` is the ``--sample-weight`` column,
    read with each block."""
    names = _columns(features)
    source = make_source(data, target, names, batch_rows, weight)
    if exclude:
        left = [c for c in source.feature_names if c not in set(_columns(exclude) or [])]
        source = make_source(data, target, left, batch_rows, weight)
    task, reason = stream_task(source, task)
    model = model_factory(task)
    from gdlab.cli._progress import StreamProgress, progress_console

    screen = progress_console(quiet)  # None when piped: no per-epoch hook at all
    shown = None if screen is None else StreamProgress(screen, model.max_iter, source.layout.n_rows)

    from gdlab.cli._checkpoint import fit_source

    model, seconds = fit_source(
        model, source, shown, checkpoint, resume=resume, out=out, every=every
    )
    out.print(_summary(source, model, task, reason, seconds))
    from gdlab.cli._checkpoint import save_fitted

    save_fitted(model, model_out, {"target": target, "task": task, "data": data.name}, out)
    return model


def _summary(source: Any, model: Any, task: str, reason: str, seconds: float) -> Any:
    from gdlab.cli._fit_options import add_model_rows
    from gdlab.cli._output import esc, facts_table, features_text, fmt

    layout = source.layout
    table = facts_table(f"gdlab fit (streamed): {esc(', '.join(source.paths[:3]))}")
    table.add_row("task", f"{task} ({esc(reason)})")
    add_model_rows(table, model, task)
    held = (
        f"about {model.validation_fraction:.0%} held out for early stopping, by a seeded hash "
        "of the row number"
        if model.early_stopping
        else "no rows held out when streaming"
    )
    table.add_row(
        "rows",
        f"{layout.n_rows} in {len(source.paths)} file(s), {len(layout.blocks)} blocks of up to "
        f"{layout.batch_rows} rows ({held})",
    )
    table.add_row("features", features_text(source.feature_names))
    if source.weight is not None:
        table.add_row("sample weights", f"from the column {esc(source.weight)}, read per block")
    table.add_row("epochs run", f"{model.n_iter_} of {model.max_iter}")
    table.add_row("final training loss", fmt(model.history_.loss[-1]))
    if model.early_stopping:
        table.add_row("best validation loss", fmt(min(model.history_.val_loss)))
    score = "accuracy" if task == "classification" else "R^2"
    table.add_row(f"training {score}", fmt(model.score(source), 4))
    table.add_row("time", f"{seconds:.3f} s")
    return table


def streamed_predict(model: Any, data: Path, out: Path, batch_rows: int) -> int:
    """Write DATA's feature columns' predictions to ``out`` (.parquet or .csv), block by block,
    atomically; returns the number of rows."""
    import pandas as pd
    import pyarrow as pa

    from gdlab.io import atomic_write

    names = getattr(model, "feature_names_in_", None)
    source = make_source(data, None, None if names is None else list(names), batch_rows)
    if out.resolve() in {Path(p).resolve() for p in source.paths}:
        raise click.BadParameter(f"{out} is an input file; choose another.", param_hint="'--out'")
    rows = 0

    def write(handle: Any) -> None:
        nonlocal rows
        writer = None
        for group in range(len(source.layout.group_rows)):
            for X, _ in source.group_blocks(group):
                frame = X if names is None else pd.DataFrame(X, columns=list(names))
                table = pa.table({"prediction": np.asarray(model.predict(frame))})
                if writer is None:
                    writer = _writer(out, handle, table.schema)
                writer.write_table(table)
                rows += table.num_rows
        if writer is not None:
            writer.close()

    atomic_write(out, write)
    return rows


def _writer(out: Path, handle: Any, schema: Any) -> Any:
    if out.suffix.lower() == ".csv":
        import pyarrow.csv as pcsv

        return pcsv.CSVWriter(handle, schema)
    import pyarrow.parquet as pq

    return pq.ParquetWriter(handle, schema)
