"""``gdlab compare``: optimizers or batch modes side by side on the user's data."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click

from gdlab.cli._data import Dataset
from gdlab.cli._errors import (
    EXIT_CODES_EPILOG,
    fail_if_diverged,
    verbose_option,
)
from gdlab.cli._estimator import make_estimator
from gdlab.cli._options import (
    ChoiceList,
    data_options,
    plots_option,
    training_options,
)
from gdlab.cli._output import (
    batch_text,
    console,
    esc,
    fmt,
    new_figure,
    print_notes,
    write_figure,
)
from gdlab.cli._progress import (
    EpochProgress,
    progress_console,
    quiet_option,
)
from gdlab.exceptions import DivergenceError
from gdlab.optim import OPTIMIZERS

MODES = ("batch", "sgd", "minibatch")
X_AXES = ("epoch", "updates", "samples")


@dataclass
class Run:
    """One configuration of ``gdlab compare`` and what it did."""

    label: str
    optimizer: str
    batch_size: int | None
    history: Any = None
    model: Any = None
    seconds: float = 0.0
    error: str | None = None
    diverged_in: int | None = None


@click.command(
    epilog=EXIT_CODES_EPILOG, short_help="Compare optimizers and batch/SGD/mini-batch modes."
)
@data_options
@click.option(
    "--optimizers",
    type=ChoiceList(tuple(OPTIMIZERS)),
    default=None,
    help=f"Update rules to compare, comma-separated ({', '.join(OPTIMIZERS)}). Default: "
    "sgd,momentum,adam when --modes is not given.",
)
@click.option(
    "--modes",
    type=ChoiceList(MODES),
    default=None,
    help="Batch modes to compare: batch (full batch), sgd (one row per update), minibatch "
    "(--batch-size rows).",
)
@training_options(optimizer="sgd", batch_size="32", epochs=50)
@quiet_option
@click.option(
    "--x",
    "x_axis",
    type=click.Choice(X_AXES),
    default="epoch",
    show_default=True,
    help="The figure's x axis: epochs, updates or examples seen.",
)
@plots_option
@verbose_option
def compare(
    data: Path,
    target: str,
    task: str,
    features: str | None,
    exclude: str | None,
    optimizers: list[str] | None,
    modes: list[str] | None,
    optimizer: str,
    learning_rate: float,
    batch_size: int | None,
    epochs: int,
    standardize: bool,
    seed: int,
    quiet: bool,
    x_axis: str,
    plots: Path | None,
) -> None:
    """Compare update rules (--optimizers) and/or batch modes (--modes) on DATA.

    Every run uses the same learning rate and number of epochs. --optimizers alone uses
    --batch-size; --modes alone uses --optimizer; both together try every pair. The table and
    the figure show every run; when one of them diverged the command then exits with code 1.

    \b
    Examples:
      gdlab compare houses.csv --target price --optimizers sgd,momentum,adam
      gdlab compare houses.csv --target price --modes batch,sgd,minibatch --x samples
    """
    dataset = Dataset(data, target, task, features, exclude)
    runs = _plan(optimizers, modes, optimizer, batch_size)
    out = console()
    screen = progress_console(quiet)  # per run: epoch, loss, rows/s, time left (a terminal only)
    for run in runs:
        with EpochProgress(screen, epochs, dataset.n_rows, run.label) as shown:
            _run(run, dataset, learning_rate, epochs, standardize, seed, shown if screen else None)
    out.print(_compare_table(runs, dataset, learning_rate, epochs))
    print_notes(out, dataset.notes)
    if plots is not None:
        from gdlab import viz

        histories = {run.label: run.history for run in runs if run.history is not None}
        histories = {k: h for k, h in histories.items() if len(h)}
        if histories:
            figure = new_figure()
            viz.plot_modes(
                histories, figure.add_subplot(), x=x_axis, title=_figure_title(optimizers, modes)
            )
            write_figure(out, figure, plots / "compare.png")
    failed = [run.label for run in runs if run.model is None]
    fail_if_diverged(failed, len(runs), "try a smaller --learning-rate")


def _figure_title(optimizers: list[str] | None, modes: list[str] | None) -> str:
    if modes and optimizers:
        return "Optimizers and batch modes compared"
    if modes:
        return "Batch vs stochastic vs mini-batch"
    return "Optimizers compared"


def _plan(
    optimizers: list[str] | None, modes: list[str] | None, optimizer: str, batch_size: int | None
) -> list[Run]:
    """The runs to make, in the order given on the command line."""
    minibatch = batch_size if batch_size is not None else 32
    mode_sizes = {"batch": None, "sgd": 1, "minibatch": minibatch}

    def mode_label(mode: str) -> str:
        size = {"batch": "full", "sgd": "1", "minibatch": str(minibatch)}[mode]
        name = {"batch": "batch", "sgd": "stochastic", "minibatch": "mini-batch"}[mode]
        return f"{name} ({size})"

    if modes and optimizers:
        return [
            Run(f"{name} / {mode_label(mode)}", name, mode_sizes[mode])
            for name in optimizers
            for mode in modes
        ]
    if modes:
        return [Run(mode_label(mode), optimizer, mode_sizes[mode]) for mode in modes]
    return [Run(name, name, batch_size) for name in optimizers or ["sgd", "momentum", "adam"]]


def _run(
    run: Run,
    dataset: Dataset,
    learning_rate: float,
    epochs: int,
    standardize: bool,
    seed: int,
    callback: Any = None,
) -> None:
    model = make_estimator(
        dataset.task,
        optimizer=run.optimizer,
        learning_rate=learning_rate,
        batch_size=run.batch_size,
        epochs=epochs,
        standardize=standardize,
        seed=seed,
    )
    started = time.perf_counter()
    try:
        model.fit(dataset.X, dataset.y, callback=callback)
    except DivergenceError as error:
        run.history = error.history
        run.error = str(error)
        run.diverged_in = error.epoch + 1  # counted from 1, as in the message
    else:
        run.model = model
        run.history = model.history_
    run.seconds = time.perf_counter() - started


def _compare_table(runs: list[Run], dataset: Dataset, learning_rate: float, epochs: int) -> Any:
    from rich.table import Table

    settings = [f"learning rate {learning_rate:g}", f"{epochs} epochs"]
    if len({run.optimizer for run in runs}) == 1:
        settings.insert(0, runs[0].optimizer)
    if len({run.batch_size for run in runs}) == 1:
        settings.append(f"batch size {batch_text(runs[0].batch_size)}")
    table = Table(title=f"Compared on {dataset.heading} ({', '.join(settings)})")
    score = dataset.score_name
    for name in ("run", "epochs", "updates", "final loss", score, "time", "status"):
        table.add_column(
            name, justify="left" if name in ("run", "status") else "right", no_wrap=name == "run"
        )
    scores = {id(run): run.model.score(dataset.X, dataset.y) for run in runs if run.model}
    best = max(scores.values()) if scores else None
    for run in runs:
        history = run.history
        epochs_run = len(history) if history is not None else 0
        updates = history.n_updates[-1] if history is not None and epochs_run else 0
        if run.model is None:
            loss, quality = "-", "-"
            status = f"[red]diverged in epoch {run.diverged_in}[/red]"
        else:
            loss = fmt(history.loss[-1], 5)
            quality = fmt(scores[id(run)], 4)
            status = "[green]best[/green]" if scores[id(run)] == best else "ok"
        table.add_row(
            esc(run.label),
            str(epochs_run),
            str(updates),
            loss,
            quality,
            f"{run.seconds:.2f} s",
            status,
        )
    table.caption = (
        f"final loss: the mean training loss of the last epoch; {score} and 'best': on all rows"
    )
    return table
