"""``gdlab fit --scheduler ADDRESS`` and ``gdlab predict --scheduler ADDRESS``: run on Dask.

DATA (a file, a folder or a glob of Parquet or CSV files) is read as a dask DataFrame
(``dask.dataframe.read_parquet`` / ``read_csv``) on the cluster whose scheduler is at ADDRESS
(``tcp://host:8786``), or on a new in-process cluster for ``local`` (one single-threaded worker
per core), and kept there (``persist``) for the epochs. Training follows
:mod:`gdlab.data.dask_source`: full-batch gradients summed per partition in partition order,
mini-batch epochs run where the partitions live. Without Dask, or when ADDRESS cannot be
reached, the command stops with one line and exit code 2.
"""

from __future__ import annotations

import contextlib
import functools
import os
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import click
import numpy as np

from gdlab.cli._errors import EXIT_BAD_INPUT, CommandFailure
from gdlab.cli._output import esc

__all__ = ["dask_fit", "dask_predict", "scheduler_option"]

#: seconds to wait for a scheduler before saying it cannot be reached
CONNECT_TIMEOUT = 10


def scheduler_option(f: Callable[..., Any]) -> Callable[..., Any]:
    """``--scheduler ADDRESS``."""
    return click.option(
        "--scheduler",
        metavar="ADDRESS",
        default=None,
        help="Run on the Dask cluster whose scheduler is at ADDRESS (e.g. tcp://10.0.0.5:8786), "
        "or 'local' for a cluster in this process; DATA is read as a dask DataFrame.",
    )(f)


def one_partition_per_file() -> Any:
    """A context in which dask reads DATA in the partitions of its files, whichever columns are
    used: one per file, a large file split by dask's ``blocksize`` (a Parquet file of more than
    twice 256 MiB between row groups, a CSV file in blocks of 64 MB).

    Without it dask's partition tuning merges the partitions of Parquet files read for a few of
    their columns, differently for each projection (the features, the target), and
    ``to_dask_array(lengths=True)`` counts the rows of other partitions than it builds ("lengths
    3 != 5", "lost dependencies")."""
    import dask

    return dask.config.set({"optimization.tune.active": False})


@contextlib.contextmanager
def connected(address: str) -> Iterator[Any]:
    """A ``distributed.Client`` of the cluster at ``address`` (``local``: a new one here), with
    DATA read :func:`one_partition_per_file`."""
    try:
        import dask.dataframe  # noqa: F401
        import distributed
    except ImportError as error:
        raise CommandFailure(
            f"--scheduler needs Dask, which is not installed ({error}): pip install 'gdlab[dask]'.",
            EXIT_BAD_INPUT,
        ) from None
    with contextlib.ExitStack() as stack:
        stack.enter_context(warnings.catch_warnings())
        stack.enter_context(one_partition_per_file())
        # dask's own use of pandas (not the user's data) warns of pandas deprecations
        warnings.filterwarnings("ignore", message="The inplace keyword in DataFrame")
        if address == "local":
            cluster = distributed.LocalCluster(  # one single-threaded worker per core
                n_workers=os.cpu_count() or 1, processes=False, threads_per_worker=1,
                dashboard_address=None,
            )  # fmt: skip
            target: Any = stack.enter_context(cluster)
        else:
            target = address
        try:
            client = distributed.Client(target, timeout=CONNECT_TIMEOUT, set_as_default=True)
        except (OSError, TimeoutError, ValueError) as error:
            reason = str(error).splitlines()[0] if str(error) else type(error).__name__
            raise CommandFailure(
                f"--scheduler {address}: cannot reach a Dask scheduler there ({reason}); check "
                "the address (tcp://HOST:8786) or use --scheduler local.",
                EXIT_BAD_INPUT,
            ) from None
        with client:
            yield client


def read_frame(data: Path) -> Any:
    """DATA's files as one dask DataFrame (the kind from the files' ending)."""
    import dask.dataframe as dd

    from gdlab.cli.stream import _files

    files = _files(data)
    kinds = {"csv" if f.lower().endswith(".csv") else "parquet" for f in files}
    if len(kinds) > 1:
        raise click.BadParameter(
            f"{data} mixes CSV and Parquet files; use one kind at a time.", param_hint="'DATA'"
        )
    return dd.read_csv(files) if kinds == {"csv"} else dd.read_parquet(files)


def _missing(frame: Any, data: Path, name: str, option: str) -> click.BadParameter:
    """The error for a column ``name`` (of ``option``) that DATA lacks."""
    return click.BadParameter(
        f"{data} has no column {name!r}{option and f' for {option}'}; its columns are "
        f"{', '.join(map(str, frame.columns))}.",
        param_hint=f"'{option or 'DATA'}'",
    )


def _numeric(dtype: Any) -> bool:
    """Whether a column of ``dtype`` holds real numbers (or booleans): not text, categories,
    dates or complex numbers."""
    from pandas.api import types

    return bool(types.is_numeric_dtype(dtype) and not types.is_complex_dtype(dtype))


def _feature_columns(frame: Any, data: Path, wanted: list[str]) -> Any:
    """``frame[wanted]``, after checking that every column is there and numeric."""
    missing = [c for c in wanted if c not in frame.columns]
    if missing:
        raise _missing(frame, data, missing[0], "")
    for name, dtype in frame[wanted].dtypes.items():
        if not _numeric(dtype):
            raise click.BadParameter(
                f"{data}: the feature column {name!r} is not numeric ({dtype}); leave it out "
                "with --exclude.",
                param_hint="'DATA'",
            )
    return frame[wanted]


def _columns(text: str | None) -> list[str]:
    return [] if text is None else [c.strip() for c in text.split(",") if c.strip()]


def _weight_column(frame: Any, data: Path, weight: str, target: str) -> None:
    """Check the ``--sample-weight`` column's name and kind (its values are checked on the
    cluster by :func:`_check_weights`)."""
    if weight not in frame.columns:
        raise _missing(frame, data, weight, "--sample-weight")
    if weight == target:
        raise click.BadParameter(
            f"the column {weight!r} cannot be both the target and the sample weights.",
            param_hint="'--sample-weight'",
        )
    if not _numeric(frame[weight].dtype):
        raise click.BadParameter(
            f"{data}: the weight column {weight!r} is not numeric ({frame[weight].dtype}).",
            param_hint="'--sample-weight'",
        )


def _check_weights(source: Any, data: Path, weight: str) -> None:
    """Refuse, naming the column and the first bad row, weights that are not finite and >= 0
    with a positive sum (one pass over the weight column, where it lives)."""
    import dask
    import dask.array as da

    w = source.weight
    bad = ~(da.isfinite(w) & (w >= 0))
    first, any_bad, total = dask.compute(da.argmax(bad), bad.any(), w.sum())
    if any_bad or not total > 0:
        where = f"; row {int(first) + 1} holds {float(w[int(first)].compute())}" if any_bad else ""
        raise click.BadParameter(
            f"{data}: the weights in column {weight!r} must be finite and >= 0 with a positive "
            f"sum{where}.",
            param_hint="'--sample-weight'",
        )


def dask_source(
    data: Path, target: str, features: str | None, exclude: str | None, weight: str | None = None
) -> Any:
    """DATA on the cluster as a :class:`~gdlab.data.dask_source.DaskSource` (persisted), with
    the column ``weight`` as its sample weights (``--sample-weight``; not a feature).

    The partitions are the files' (:func:`one_partition_per_file`, the context of
    :func:`connected`): the columns used are read once, as one DataFrame, persisted, and only
    then split into the features, the target and the weights, so that they have the same
    partitions.
    """
    from gdlab.data.dask_source import DaskSource

    frame = read_frame(data)
    if target not in frame.columns:
        raise _missing(frame, data, target, "--target")
    if weight is not None:
        _weight_column(frame, data, weight, target)
    left_out = {target, *_columns(exclude), *([weight] if weight else [])}
    names = _columns(features) or [str(c) for c in frame.columns if c not in left_out]
    _feature_columns(frame, data, names)
    if weight in names:
        raise click.BadParameter(
            f"the column {weight!r} cannot be both a feature and the sample weights.",
            param_hint="'--sample-weight'",
        )
    used = list(dict.fromkeys([*names, target, *([weight] if weight else [])]))
    frame = frame[used].persist()
    weights = None if weight is None else frame[weight]
    source = DaskSource(frame[names], frame[target], weights)
    if weight is not None:
        _check_weights(source, data, weight)
    return source


def dask_fit(
    data: Path,
    address: str,
    target: str,
    task: str,
    columns: tuple[str | None, str | None],
    model_factory: Callable[[str], Any],
    model_out: Path | None,
    out: Any,
    quiet: bool = False,
    checkpoint: Path | None = None,
    resume: bool = False,
    every: float | None = None,
    weight: str | None = None,
) -> Any:
    """Fit ``model_factory(task)`` on DATA on the Dask cluster at ``address``; print a summary
    and save the model. ``columns`` is ``(--features, --exclude)``; ``weight`` the
    ``--sample-weight`` column, read with the partitions."""
    from gdlab.cli._progress import EpochProgress, progress_console
    from gdlab.cli.stream import stream_task

    with connected(address) as client:
        source = dask_source(data, target, *columns, weight=weight)
        task, reason = stream_task(source, task)
        model = model_factory(task)
        screen = progress_console(quiet)  # None when piped: no per-epoch hook at all
        rows = source.layout.n_rows
        shown = None if screen is None else EpochProgress(screen, model.max_iter, rows)

        from gdlab.cli._checkpoint import fit_source

        model, seconds = fit_source(
            model, source, shown, checkpoint, resume=resume, out=out, every=every
        )
        workers = len(client.scheduler_info().get("workers", {}))
        summary = _summary(data, source, model, (task, reason), address, workers, seconds, weight)
        out.print(summary)
    from gdlab.cli._checkpoint import save_fitted

    save_fitted(model, model_out, {"target": target, "task": task, "data": data.name}, out)
    return model


def _summary(
    data: Path, source: Any, model: Any, task: tuple[str, str], address: str, workers: int,
    seconds: float, weight: str | None = None,
) -> Any:  # fmt: skip
    from gdlab.cli._fit_options import add_model_rows
    from gdlab.cli._output import facts_table, features_text, fmt

    table = facts_table(f"gdlab fit (Dask): {esc(data)}")
    table.add_row("task", f"{task[0]} ({esc(task[1])})")
    table.add_row("cluster", f"{esc(address)}, {workers} worker(s)")
    add_model_rows(table, model, task[0])
    table.add_row(
        "rows",
        f"{source.layout.n_rows} in {len(source.layout.group_rows)} partitions "
        + (
            f"(about {model.validation_fraction:.0%} held out for early stopping, by a seeded "
            "hash of the row number, on the workers)"
            if model.early_stopping
            else "(no rows held out)"
        ),
    )
    table.add_row("features", features_text(source.feature_names))
    if weight is not None:
        table.add_row("sample weights", f"from the column {esc(weight)}, read per partition")
    table.add_row("epochs run", f"{model.n_iter_} of {model.max_iter}")
    table.add_row("final training loss", fmt(model.history_.loss[-1]))
    score = "accuracy" if task[0] == "classification" else "R^2"
    table.add_row(f"training {score}", fmt(model.score(source), 4))
    table.add_row("backend", model.history_.backend)
    table.add_row("time", f"{seconds:.3f} s")
    return table


def _predict_block(model: Any, names: list[str] | None, block: Any) -> Any:
    """``model.predict`` of one partition (run on a worker)."""
    if names is not None:
        import pandas as pd

        block = pd.DataFrame(block, columns=names)
    return np.asarray(model.predict(block))


def dask_predict(model: Any, data: Path, out: Path, address: str) -> int:
    """Write the predictions of ``model`` for DATA's rows to ``out`` (.parquet or .csv): computed
    on the cluster partition by partition, written in order, atomically; returns the rows."""
    import pyarrow as pa

    from gdlab.cli.stream import _writer
    from gdlab.data.dask_source import DaskSource
    from gdlab.estimators._source_prep import check_source_features
    from gdlab.io import atomic_write

    if (
        np.ndim(model.intercept_)
        and np.size(model.intercept_) > 1
        and not hasattr(model, "classes_")
    ):
        raise click.UsageError("--scheduler predicts with single-target models only.")
    from gdlab.cli.stream import input_files

    if out.resolve() in {p.resolve() for p in input_files(data)}:
        raise click.BadParameter(f"{out} is an input file; choose another.", param_hint="'--out'")
    with connected(address):
        frame = read_frame(data)
        fitted = getattr(model, "feature_names_in_", None)
        names = None if fitted is None else [str(n) for n in fitted]
        X = _feature_columns(frame, data, names or [str(c) for c in frame.columns])
        source = DaskSource(X)
        try:
            check_source_features(model, source)
        except ValueError as error:
            raise click.BadParameter(str(error), param_hint="'DATA'") from None
        kind = getattr(model, "classes_", np.zeros(0)).dtype
        predicted = source.X.map_blocks(
            functools.partial(_predict_block, model, names), drop_axis=1, dtype=kind
        )  # lazy: one block per partition, computed where the partition is
        rows = 0

        def write(handle: Any) -> None:
            nonlocal rows
            writer = None
            for block in predicted.blocks:
                table = pa.table({"prediction": block.compute()})
                writer = writer or _writer(out, handle, table.schema)
                writer.write_table(table)
                rows += table.num_rows
            if writer is not None:
                writer.close()

        atomic_write(out, write)
    return rows
