"""``gdlab predict``: apply a saved model to a CSV or Parquet file."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click
import numpy as np

from gdlab.cli._dask import scheduler_option
from gdlab.cli._errors import EXIT_CODES_EPILOG, verbose_option
from gdlab.cli._options import path_option
from gdlab.cli._output import console, esc, fmt, refuse_overwriting_inputs
from gdlab.cli._progress import RowProgress, progress_console, quiet_option, spinner
from gdlab.cli.stream import stream_options, streamed_predict, wants_stream
from gdlab.exceptions import DataError

HEAD_ROWS = 10

#: rows per model call, on a terminal or not, so the written file never depends on whether the
#: progress display is shown. Each row's prediction does not depend on the others, but BLAS may
#: sum a chunk's products in another order than one call over every row would, so the values can
#: differ from ``model.predict(X)`` in the last bits (about 1e-15 relative).
CHUNK_ROWS = 65_536


@click.command(
    epilog=EXIT_CODES_EPILOG, short_help="Predict with a saved model on a CSV/Parquet file."
)
@click.argument("model_path", metavar="MODEL", type=click.Path(path_type=Path))
@click.argument("data", type=click.Path(path_type=Path))
@path_option(
    "-o",
    "--out",
    help="Write the rows with their predictions here (.csv or .parquet); without it the first "
    f"{HEAD_ROWS} are printed.",
)
@click.option(
    "--proba",
    is_flag=True,
    help="Also give the class probabilities (classifiers with log_loss or modified_huber).",
)
@quiet_option
@stream_options
@scheduler_option
@verbose_option
def predict(
    model_path: Path,
    data: Path,
    out: Path | None,
    proba: bool,
    quiet: bool,
    stream: bool = False,
    memory: str | None = None,
    batch_rows: int = 65_536,
    scheduler: str | None = None,
) -> None:
    """Predict with a MODEL saved by 'gdlab fit --model-out' on the rows of DATA.

    The feature columns must be those the model was trained on (extra columns, such as the
    target, are ignored). The output is DATA with a 'prediction' column added.

    With --stream (automatic for a folder or glob of files, or data larger than --memory) the
    rows are read block by block and --out gets one 'prediction' column per row, in order.

    \b
    Example:
      gdlab predict model.npz new_houses.csv --out predictions.csv
      gdlab predict model.npz 'events/*.parquet' --stream --out predictions.parquet
      gdlab predict model.npz 'events/*.parquet' --scheduler local --out predictions.parquet
    """
    from gdlab.data._files import feature_matrix, read_table, table_format

    if out is not None:
        table_format(out)  # an unknown ending fails before any work
        refuse_overwriting_inputs([data, model_path], {"--out": out})
    from gdlab.io import load_checkpoint

    if not model_path.exists():
        raise DataError(f"{model_path}: no such model file.")
    model, metadata = load_checkpoint(model_path)
    if scheduler is not None:  # computed on a Dask cluster (gdlab.cli._dask)
        from gdlab.cli._dask import dask_predict

        if out is None or proba:
            raise click.UsageError("A predict on Dask needs --out FILE and takes no --proba.")
        rows = dask_predict(model, data, out, scheduler)
        console().print(f"Wrote {rows} predictions to {esc(out)} (on Dask, {esc(scheduler)})")
        return
    if wants_stream(data, stream, memory):
        if out is None or proba:
            raise click.UsageError("A streamed predict needs --out FILE and takes no --proba.")
        rows = streamed_predict(model, data, out, batch_rows)
        console().print(f"Wrote {rows} predictions to {esc(out)} (streamed)")
        return
    target = metadata.get("target") if isinstance(metadata.get("target"), str) else None
    if proba and not hasattr(model, "predict_proba"):
        raise click.BadParameter(
            f"{type(model).__name__} with loss={getattr(model, 'loss', '?')!r} gives no "
            "probabilities.",
            param_hint="'--proba'",
        )
    with spinner(console(), f"Reading {data.name}", quiet):
        frame = read_table(data)
        names = _feature_names(model, frame, data)
        X = feature_matrix(frame, names, source=str(data))
    shown = RowProgress(progress_console(quiet), X.shape[0])  # draws on a terminal only
    predictions, probabilities = _predict_in_chunks(model, X, names, proba, shown)
    result = frame.copy()
    several = np.ndim(predictions) == 2  # a multi-output model: one column per target
    if several:
        labels = (target or "").split(",")
        if len(labels) != predictions.shape[1]:
            labels = [str(k) for k in range(predictions.shape[1])]
        for k, label in enumerate(labels):
            result[_free_name(result, f"prediction_{label}")] = predictions[:, k]
        column = f"prediction_{labels[0]}"
        target = None
    else:
        column = _free_name(result, "prediction")
        result[column] = predictions
    if probabilities is not None:
        for k, label in enumerate(model.classes_):
            result[_free_name(result, f"proba_{label}")] = probabilities[:, k]
    terminal = console()
    if out is not None:
        from gdlab.data._files import write_table

        write_table(result, out)
        terminal.print(f"Wrote {len(result)} rows with predictions to {esc(out)}")
        return
    actual = target if target in frame.columns and target not in names else None
    terminal.print(_head(result, column, proba or several, actual))


def _feature_names(model: Any, frame: Any, data: Path) -> list[str]:
    """The columns to feed the model; a DataError says what does not match."""
    columns = [str(c) for c in frame.columns]
    expected = getattr(model, "feature_names_in_", None)
    n_features = int(getattr(model, "n_features_in_", 0))
    if expected is not None:
        names = [str(n) for n in expected]
        missing = [n for n in names if n not in columns]
        if missing:
            shown = ", ".join(repr(n) for n in missing)
            raise DataError(
                f"{data}: the model was trained on {len(names)} features and "
                f"{len(missing)} of them are missing here: {shown}. The file's columns are: "
                f"{', '.join(repr(c) for c in columns)}."
            )
        return names
    if len(columns) != n_features:
        raise DataError(
            f"{data}: the model expects {n_features} features (it was saved without their "
            f"names) but the file has {len(columns)} columns; give exactly the feature columns "
            "in training order."
        )
    return columns


def _frame(X: Any, names: list[str]) -> Any:
    import pandas as pd

    return pd.DataFrame(X, columns=names)


def _predict(model: Any, X: Any, names: list[str]) -> Any:
    if getattr(model, "feature_names_in_", None) is not None:
        return model.predict(_frame(X, names))
    return model.predict(X)


def _predict_in_chunks(
    model: Any, X: Any, names: list[str], proba: bool, shown: RowProgress
) -> tuple[Any, Any]:
    """The predictions (and the class probabilities if ``proba``, else ``None``), computed
    :data:`CHUNK_ROWS` rows at a time whatever the display, telling ``shown`` the rows done."""
    predictions, probabilities = [], []
    with shown:
        for start in range(0, max(X.shape[0], 1), CHUNK_ROWS):
            rows = X[start : start + CHUNK_ROWS]
            predictions.append(_predict(model, rows, names))
            if proba:
                probabilities.append(model.predict_proba(_frame(rows, names)))
            shown(min(start + CHUNK_ROWS, X.shape[0]))
    return np.concatenate(predictions), np.concatenate(probabilities) if proba else None


def _free_name(frame: Any, name: str) -> str:
    candidate, k = name, 1
    while candidate in frame.columns:
        candidate, k = f"{name}_{k}", k + 1
    return candidate


def _head(result: Any, column: str, proba: bool, actual: str | None) -> Any:
    """The first rows: row number, the true target when the file has it, the prediction."""
    from rich.table import Table

    shown = result.head(HEAD_ROWS)
    extra = [c for c in result.columns[list(result.columns).index(column) + 1 :]] if proba else []
    columns = [*([actual] if actual else []), column, *extra]
    table = Table(
        title=f"Predictions: first {len(shown)} of {len(result)} rows",
        caption="write every row with --out FILE.csv" if len(result) > len(shown) else None,
        min_width=44,
    )
    table.add_column("row", justify="right")
    for name in columns:
        label = f"{name} (in the file)" if name == actual else name
        table.add_column(esc(label), justify="right")
    for position in range(len(shown)):
        values = [shown[c].iloc[position] for c in columns]
        cells = [esc(fmt(v.item() if isinstance(v, np.generic) else v)) for v in values]
        table.add_row(str(position + 1), *cells)
    return table
