"""``gdlab fit``: train a model on a CSV or Parquet file and report how it did."""

from __future__ import annotations

import contextlib
import functools
import math
import time
import warnings
from pathlib import Path
from typing import Any

import click
import numpy as np

from gdlab.cli._dask import scheduler_option
from gdlab.cli._data import Dataset
from gdlab.cli._errors import (
    EXIT_BAD_INPUT,
    EXIT_CODES_EPILOG,
    CommandFailure,
    cli_message,
    verbose_option,
)
from gdlab.cli._estimator import make_estimator
from gdlab.cli._fit_options import (
    FitData,
    add_model_rows,
    estimator_settings,
    model_options,
    task_for_loss,
)
from gdlab.cli._mlp_options import (
    NETWORK_OPTIONS,
    describe_model,
    is_network,
    layer_table,
    mlp_estimator,
    mlp_options,
)
from gdlab.cli._options import clip_norm_option, data_options, path_option, training_options
from gdlab.cli._output import (
    console,
    esc,
    facts_table,
    features_text,
    fmt,
    new_figure,
    print_notes,
    refuse_overwriting_inputs,
    write_figure,
)
from gdlab.cli._progress import EpochProgress, progress_console
from gdlab.cli.stream import (
    checkpoint_every_option,
    input_files,
    stream_options,
    streamed_fit,
    wants_stream,
)

LOSSES = (
    "squared_error",
    "huber",
    "epsilon_insensitive",
    "squared_epsilon_insensitive",
    "poisson",
    "log_loss",
    "hinge",
    "modified_huber",
    "squared_hinge",
    "perceptron",
)
STILL_FALLING = "the loss was still falling"
#: the library's warnings that the steps were too large (gdlab.divergence): their advice is shown
UNSETTLED = "without converging"
UPHILL = "ended worse than it started"


@click.command(
    epilog=EXIT_CODES_EPILOG,
    short_help="Fit a model on a CSV/Parquet file; scores, closed form, plot.",
)
@data_options
@training_options(optimizer="adam", learning_rate=0.03, batch_size="32", epochs=200)
@click.option(
    "--loss",
    type=click.Choice(LOSSES),
    default=None,
    help="Default: squared_error for regression, log_loss for classification. "
    "Example: --loss poisson (counts, log link)",
)
@click.option(
    "--tol",
    type=click.FloatRange(min=0.0),
    default=1e-4,
    show_default=True,
    help="Stop when the loss improves by less than this for 5 epochs in a row (0: never).",
)
@clip_norm_option("Clip each update's gradient to this norm.")
@click.option(
    "--validation-fraction",
    type=click.FloatRange(min=0.0, max=1.0, max_open=True),
    default=0.2,
    show_default=True,
    help="Share of the rows held out to score the model (0: score on the training rows only).",
)
@path_option(
    "--model-out",
    help="Save the fitted model here (a .npz file of JSON and plain arrays, never pickle).",
)
@path_option("--plots", folder=True, help="Write the loss curve (loss_curve.png) into this folder.")
@path_option(
    "--checkpoint",
    help="Write a checkpoint here after every epoch (atomically: a kill leaves a valid one).",
)
@click.option(
    "--resume",
    is_flag=True,
    help="Continue the run in --checkpoint FILE (same data and options) up to --epochs; a "
    "finished run continues with a larger --epochs.",
)
@model_options
@mlp_options
@stream_options
@checkpoint_every_option
@scheduler_option
@verbose_option
def fit(
    data: Path,
    target: str,
    task: str,
    features: str | None,
    exclude: str | None,
    optimizer: str,
    learning_rate: float,
    batch_size: int | None,
    epochs: int,
    standardize: bool,
    seed: int,
    loss: str | None,
    tol: float,
    clip_norm: float | None,
    validation_fraction: float,
    model_out: Path | None,
    plots: Path | None,
    checkpoint: Path | None,
    resume: bool,
    **options: Any,
) -> None:
    """Fit a linear model (--model mlp: a neural network) on DATA (CSV or Parquet) by gradient
    descent and report how it did.

    Prints the training and validation scores (R^2 for regression, accuracy for
    classification), the epochs run and the final loss; for squared error also the exact
    least-squares solution next to the gradient-descent one.

    --target a,b fits one model to several target columns (multi-output regression).

    DATA may be a folder or a glob of Parquet/CSV files; those, data larger than --memory and
    --stream are read block by block (gdlab.data) and trained without loading them.

    \b
    Example:
      gdlab fit houses.csv --target price --optimizer adam --epochs 100 --plots out/
      gdlab fit houses.csv --target price --penalty l2 --alpha 0.01 --schedule one_cycle
      gdlab fit 'events/*.parquet' --target clicked --stream --model-out model.npz
      gdlab fit 'events/*.parquet' --target clicked --scheduler tcp://10.0.0.5:8786
    """
    out = console()
    batch_rows = options.pop("batch_rows")
    every = options.pop("checkpoint_every")  # streamed and Dask fits: between blocks
    scheduler = options.pop("scheduler")
    _check_files(data, model_out, checkpoint, plots, resume)
    implied = task_for_loss(task, loss)

    def factory(found: str, n_targets: int = 1) -> Any:
        """The linear estimator of the command's options for the task ``found``."""
        return make_estimator(
            found,
            optimizer=optimizer,
            learning_rate=learning_rate,
            batch_size=batch_size,
            epochs=epochs,
            standardize=standardize,
            seed=seed,
            tol=tol or None,
            loss=loss,
            clip_norm=clip_norm,
            extra=estimator_settings(options, found, n_targets),
        )

    streamed = scheduler is None and wants_stream(
        data, options.pop("stream"), options.pop("memory")
    )
    if scheduler is not None or streamed:
        _check_streamable(plots, options, on_dask=scheduler is not None)
        _check_outputs(factory(implied), model_out)
        where = dict(quiet=options["quiet"], checkpoint=checkpoint, resume=resume, every=every)
        if scheduler is not None:  # on a Dask cluster (gdlab.cli._dask)
            from gdlab.cli._dask import dask_fit

            dask_fit(
                data, scheduler, target, implied, (features, exclude), factory, model_out, out,
                **where, weight=options["sample_weight"],
            )  # fmt: skip
        else:  # a streamed file's weights are read with each block
            streamed_fit(
                data, target, implied, features, exclude, batch_rows, factory, model_out, out,
                **where, weight=options["sample_weight"],
            )  # fmt: skip
        return
    dataset = FitData(data, target, implied, features, exclude, options["sample_weight"])
    if implied != task:
        dataset.task_reason = f"--loss {loss}"
    model = factory(dataset.task, len(dataset.targets))
    model = mlp_estimator(model, **{name: options.pop(name) for name in NETWORK_OPTIONS})
    _check_outputs(model, model_out)
    train_rows, val_rows = _split(dataset, validation_fraction, seed)
    started = time.perf_counter()
    model, notes = _train_rows(
        model, dataset, train_rows, epochs, checkpoint, resume, options["quiet"], out
    )
    seconds = time.perf_counter() - started
    out.print(_summary(dataset, model, train_rows, val_rows, seconds))
    _report(out, dataset, model, train_rows, notes, plots, model_out)


def _report(
    out: Any,
    dataset: FitData,
    model: Any,
    train_rows: Any,
    notes: list[str],
    plots: Path | None,
    model_out: Path | None,
) -> None:
    """The model's table and notes, then the figure and the model file when asked."""
    notes, exact = _report_model(out, dataset, model, train_rows, notes)
    print_notes(out, [*dataset.notes, *notes])
    if plots is not None:
        write_figure(
            out, _loss_figure(model, dataset, exact), plots / "loss_curve.png", "Loss curve"
        )
    if model_out is not None:
        from gdlab.io import save

        metadata = {"target": dataset.target, "task": dataset.task, "data": dataset.path.name}
        save(model, model_out, metadata=metadata)
        out.print(f"Model saved to {esc(model_out)}")


def _check_files(
    data: Path, model_out: Path | None, checkpoint: Path | None, plots: Path | None, resume: bool
) -> None:
    """Exit 2 before any work on an output over an input, or ``--resume`` without a file."""
    if resume and checkpoint is None:
        raise click.UsageError("--resume needs --checkpoint FILE, the checkpoint to continue.")
    inputs = input_files(data)  # every file a folder or glob names, too
    refuse_overwriting_inputs(inputs, {"--model-out": model_out, "--checkpoint": checkpoint})
    if plots is not None:
        refuse_overwriting_inputs(inputs, {"--plots": plots / "loss_curve.png"})


def _train_rows(
    model: Any,
    dataset: FitData,
    train_rows: Any,
    epochs: int,
    checkpoint: Path | None,
    resume: bool,
    quiet: bool,
    out: Any,
) -> tuple[Any, list[str]]:
    """Fit ``model`` on the training rows (with a checkpoint file when asked); its notes."""
    X_train, y_train = dataset.frame(dataset.X[train_rows]), dataset.y[train_rows]
    weight = None if dataset.sample_weight is None else dataset.sample_weight[train_rows]
    screen = progress_console(quiet)  # None when piped: no per-epoch hook at all
    shown = None if screen is None else EpochProgress(screen, epochs, len(train_rows))
    train = functools.partial(_train, sample_weight=weight, progress=shown)
    from gdlab.cli._checkpoint import fit_and_checkpoint

    return fit_and_checkpoint(
        model, X_train, y_train, checkpoint, resume=resume, epochs=epochs, train=train, out=out
    )


def _report_model(
    out: Any, dataset: FitData, model: Any, train_rows: Any, notes: list[str]
) -> tuple[list[str], float | None]:
    """Print the model's own table (layers, the closed-form comparison or the coefficients);
    the notes to show and the exact least-squares loss (``None`` when not computed)."""
    if is_network(model):
        out.print(layer_table(model))
        return notes, None
    if model.loss != "squared_error" or model.penalty is not None or len(dataset.targets) != 1:
        out.print(_coefficient_table(dataset, model))
        return notes, None
    comparison = _closed_form(dataset, model, train_rows)
    out.print(_closed_form_table(dataset, comparison))
    too_large = any(UPHILL in note or UNSETTLED in note for note in notes)
    gap = _gap_note(model, comparison, steps_too_large=too_large)
    if gap:  # says the same as the note that the loss was still falling, with numbers
        notes = [n for n in notes if not n.startswith(STILL_FALLING)]
    notes = [*notes, *gap, *(f"closed form: {note}." for note in comparison.exact.warnings)]
    return notes, comparison.exact.loss


def _check_streamable(plots: Path | None, options: dict, on_dask: bool) -> None:
    """Refuse, by name, the options a streamed fit or a fit on a Dask cluster does not take yet
    (sample weights are read with each block or partition, and a streamed file's class weights
    with each block)."""
    refused = {
        "--plots": plots is not None,
        "--model mlp": options.get("model_kind") == "mlp",
    }
    where = "on a Dask cluster (--scheduler)" if on_dask else "when the data is streamed"
    for name, given in refused.items():
        if given:
            raise click.UsageError(f"{name} is not supported {where} (yet).")


def _check_outputs(model: Any, model_out: Path | None) -> None:
    """Fail before training when the model could not be saved where asked."""
    if model_out is None:
        return
    if not callable(getattr(model, "save", None)):
        raise CommandFailure(
            "--model-out needs gdlab's model files (gdlab.io), which this installation lacks.",
            EXIT_BAD_INPUT,
        )
    if model_out.suffix.lower() != ".npz":
        raise click.BadParameter(
            f"{model_out}: a model file must end in .npz (gdlab's format: JSON and arrays in one "
            f"NumPy archive); for example {model_out.with_suffix('.npz')}.",
            param_hint="'--model-out'",
        )
    parent = model_out.parent
    if not parent.is_dir():
        raise click.BadParameter(
            f"{model_out}: the folder {parent} does not exist.", param_hint="'--model-out'"
        )


def _train(
    model: Any,
    X: Any,
    y: Any,
    callback: Any = None,
    sample_weight: Any = None,
    progress: EpochProgress | None = None,
) -> list[str]:
    """Fit ``model``; returns notes for the user (the place where checkpointing hooks in)."""
    from sklearn.exceptions import ConvergenceWarning

    def each_epoch(snapshot: Any) -> Any:
        if progress is not None:
            progress(snapshot)
        return None if callback is None else callback(snapshot)

    hook = each_epoch if callback is not None or progress is not None else None
    with warnings.catch_warnings(record=True) as caught, progress or contextlib.nullcontext():
        warnings.simplefilter("always", ConvergenceWarning)
        model.fit(X, y, callback=hook, sample_weight=sample_weight)
    notes = []
    for warning in caught:
        text = str(warning.message)
        if issubclass(warning.category, ConvergenceWarning) and (
            UNSETTLED in text or UPHILL in text
        ):  # stopped by --tol while oscillating or never improving, or the last steps went
            # uphill: the library's advice
            notes.append(cli_message(warning.message).replace("tol=None", "--tol 0"))
        elif issubclass(warning.category, ConvergenceWarning):
            notes.append(
                f"{STILL_FALLING} when the {model.max_iter} epochs ran out; try more "
                f"--epochs (for example {4 * model.max_iter}) or a larger --learning-rate."
            )
        else:
            notes.append(str(warning.message))
    return list(dict.fromkeys(notes))


def _split(dataset: Dataset, fraction: float, seed: int) -> tuple[Any, Any]:
    """Row indices of the training and the held-out validation part (the estimators' own split,
    :func:`~gdlab.estimators._validation_split.validation_split`, stratified for classes)."""
    from gdlab.estimators._validation_split import held_out, validation_split

    rows = np.arange(dataset.n_rows)
    if fraction <= 0:
        return rows, rows[:0]
    if dataset.n_rows - held_out(dataset.n_rows, fraction) < 2:
        raise click.BadParameter(
            f"{dataset.path}: {dataset.n_rows} rows are too few to hold out {fraction:g} of them "
            "for validation; use more rows or --validation-fraction 0.",
            param_hint="'--validation-fraction'",
        )
    stratify = dataset.y if dataset.task == "classification" else None
    train_rows, val_rows = validation_split(dataset.n_rows, fraction, seed, stratify)
    return np.sort(train_rows), np.sort(val_rows)


def _summary(dataset: Dataset, model: Any, train_rows: Any, val_rows: Any, seconds: float) -> Any:
    history = model.history_
    score_name = dataset.score_name
    table = facts_table(f"gdlab fit: {dataset.heading}")
    table.add_row("task", f"{dataset.task} ({dataset.task_reason})")
    table.add_row("model", describe_model(model))
    add_model_rows(table, model, dataset.task)
    if getattr(dataset, "sample_weight", None) is not None:
        table.add_row("sample weights", "from the column given with --sample-weight")
    table.add_row("rows", f"{len(train_rows)} training, {len(val_rows)} validation (held out)")
    table.add_row("features", features_text(dataset.feature_names))
    table.add_row("epochs run", f"{model.n_iter_} of {model.max_iter} ({_stop_reason(model)})")
    table.add_row("final training loss", fmt(history.loss[-1]))
    train_score = model.score(dataset.frame(dataset.X[train_rows]), dataset.y[train_rows])
    table.add_row(f"training {score_name}", fmt(train_score, 4))
    if len(val_rows):
        val_score = model.score(dataset.frame(dataset.X[val_rows]), dataset.y[val_rows])
        table.add_row(f"validation {score_name}", fmt(val_score, 4))
    else:
        table.add_row(f"validation {score_name}", "- (no rows held out)")
    table.add_row("backend", history.backend)
    table.add_row("time", f"{seconds:.3f} s")
    return table


def _stop_reason(model: Any) -> str:
    reason = str(model.history_.stop_reason)
    if reason.startswith("Reached max_iter"):
        return "stopped at the --epochs limit"
    return cli_message(reason.rstrip(".").replace("tol=", "--tol ")).lower()


def _closed_form(dataset: Dataset, model: Any, train_rows: Any) -> Any:
    """The fit next to the exact least-squares solution on the training rows, in the data's
    own units (``coef_`` is reported in original units also when training standardized)."""
    from gdlab._closed_form import compare

    return compare(
        model.coef_, float(model.intercept_[0]), dataset.X[train_rows], dataset.y[train_rows]
    )


def _gap_note(
    model: Any, comparison: Any, threshold: float = 0.05, *, steps_too_large: bool = False
) -> list[str]:
    """Advice when gradient descent ended more than ``threshold`` above the exact minimum;
    ``steps_too_large``: the library already said the run went uphill or did not settle, so the
    advice is smaller steps even when the epochs ran out."""
    exact = comparison.exact.loss
    if not (exact > 0 and comparison.relative_gap > threshold):  # nan: an exact fit exists
        return []
    advice = [] if model.standardize else ["--standardize"]
    if model.n_iter_ >= model.max_iter and not steps_too_large:  # still on its way: more time
        advice.append(f"more --epochs (for example {4 * model.max_iter})")
        advice.append("a larger --learning-rate")
    else:  # stopped early far from the minimum: the steps were too big to settle
        advice.append(f"a smaller --learning-rate (for example {model.learning_rate / 10:g})")
        advice.append("'gdlab lr-find' to choose one")
    return [
        f"gradient descent ended {100 * comparison.relative_gap:.3g}% above the exact "
        f"minimum of the MSE; try {', '.join(advice[:-1])} or {advice[-1]}."
    ]


def _closed_form_table(dataset: Dataset, result: Any) -> Any:
    """Gradient descent next to the exact least-squares solution, in the data's own units."""
    from rich.table import Table

    table = Table(
        title="Gradient descent vs the exact least-squares solution (training rows, original units)"
    )
    for name in ("parameter", "gradient descent", "closed form", "difference"):
        table.add_column(name, justify="left" if name == "parameter" else "right")
    names = [*dataset.feature_names, "intercept"]
    fitted = [*result.coef, result.intercept]
    exact = [*result.exact.coef, result.exact.intercept]
    for name, a, b in zip(names, fitted, exact, strict=True):
        table.add_row(esc(name), fmt(a), fmt(b), fmt(a - b, 3))
    table.add_row("MSE", fmt(result.loss), fmt(result.exact.loss), fmt(result.loss_gap, 3))
    relative = result.relative_gap  # never negative: the exact minimum is the lowest there is
    above = f" ({100 * relative:.2g}% above the minimum)" if math.isfinite(relative) else ""
    exact = result.exact
    table.caption = (
        f"parameter distance {result.param_distance:.3g}, largest difference "
        f"{result.max_abs_difference:.3g}, MSE gap {result.loss_gap:.3g}{above}; exact solution "
        f"by SVD (lstsq) on the {exact.n_samples} training rows, rank {exact.rank} of "
        f"{exact.n_features}, condition number {exact.condition:.3g}"
    )
    return table


def _coefficient_table(dataset: Dataset, model: Any) -> Any:
    from rich.table import Table

    coef = np.atleast_2d(model.coef_)
    if coef.shape[0] == 1 and getattr(model, "classes_", None) is not None:
        labels = [esc(f"{model.classes_[-1]} (vs {model.classes_[0]})")]
    elif getattr(model, "classes_", None) is not None:
        labels = [esc(c) for c in model.classes_]
    elif coef.shape[0] > 1:  # several targets (--target a,b)
        labels = [esc(t) for t in getattr(dataset, "targets", [])]
    else:
        labels = ["coefficient"]
    table = Table(title="Fitted coefficients (original units)")
    table.add_column("parameter")
    for label in labels:
        table.add_column(label, justify="right")
    for j, name in enumerate(dataset.feature_names):
        table.add_row(esc(name), *(fmt(v) for v in coef[:, j]))
    table.add_row("intercept", *(fmt(v) for v in np.atleast_1d(model.intercept_)))
    return table


def _loss_figure(model: Any, dataset: Dataset, exact: float | None) -> Any:
    from gdlab import viz

    figure = new_figure()
    ax = figure.add_subplot()
    loss = getattr(model, "loss", "log_loss" if hasattr(model, "classes_") else "squared_error")
    ylabel = "MSE loss" if loss == "squared_error" else f"{loss} loss"
    viz.plot_loss_curve(
        model.history_,
        ax,
        title=f"Training loss: {dataset.path.name} -> {dataset.target}",
        ylabel=ylabel,
        label="gradient descent",
    )
    if exact is not None:
        ax.axhline(exact, color="black", linestyle=":", label=f"exact minimum {exact:.4g}")
        ax.legend()
    return figure
