"""``gdlab sweep``, ``gdlab compare`` and ``gdlab lr-find``: experiments on the user's data."""

from __future__ import annotations

import math
import shlex
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click

from gdlab.cli._app import (
    EXIT_CODES_EPILOG,
    EXIT_DIVERGED,
    ChoiceList,
    CommandFailure,
    Dataset,
    FloatList,
    batch_text,
    cli_message,
    console,
    data_options,
    esc,
    facts_table,
    fmt,
    make_estimator,
    new_figure,
    path_option,
    print_notes,
    training_options,
    verbose_option,
    write_figure,
)
from gdlab.cli._progress import (
    EpochProgress,
    StepProgress,
    SweepProgress,
    progress_console,
    quiet_option,
)
from gdlab.exceptions import DivergenceError
from gdlab.optim import OPTIMIZERS

MODES = ("batch", "sgd", "minibatch")
X_AXES = ("epoch", "updates", "samples")

plots_option = path_option("--plots", folder=True, help="Write the figure (PNG) into this folder.")


# ---- sweep ---------------------------------------------------------------------------------------


@click.command(
    epilog=EXIT_CODES_EPILOG, short_help="Train one model per learning rate; mark divergence."
)
@data_options
@click.option(
    "--learning-rates",
    "learning_rates",
    type=FloatList(),
    default="0.0001,0.01,0.05,0.1",
    show_default=True,
    help="The learning rates to try, comma-separated.",
)
@training_options(optimizer="sgd", batch_size="full", epochs=100, skip=("learning_rate",))
@quiet_option
@plots_option
@verbose_option
def sweep(
    data: Path,
    target: str,
    task: str,
    features: str | None,
    exclude: str | None,
    learning_rates: list[float],
    optimizer: str,
    batch_size: int | None,
    epochs: int,
    standardize: bool,
    seed: int,
    quiet: bool,
    plots: Path | None,
) -> None:
    """Train one model per learning rate on DATA and compare their losses.

    Every run trains for the same number of epochs; a run whose loss explodes is marked
    'diverged' and the sweep goes on. The table and the figure show every run; when one of them
    diverged the command then exits with code 1.

    \b
    Example:
      gdlab sweep houses.csv --target price --learning-rates 0.0001,0.01,0.05,0.1
    """
    import gdlab

    dataset = Dataset(data, target, task, features, exclude)
    model = make_estimator(
        dataset.task,
        optimizer=optimizer,
        learning_rate=learning_rates[0],
        batch_size=batch_size,
        epochs=epochs,
        standardize=standardize,
        seed=seed,
    )
    out = console()
    screen = progress_console(quiet)  # epoch, loss, rows/s, time left (a terminal only)
    with SweepProgress(screen, epochs, dataset.n_rows, learning_rates) as shown:
        result = gdlab.sweep(
            model, dataset.X, dataset.y, "learning_rate", learning_rates,
            on_epoch=None if screen is None else shown,
        )  # fmt: skip
    out.print(_sweep_table(result, dataset, model))
    print_notes(out, dataset.notes)
    if plots is not None:
        from gdlab import viz

        figure = new_figure()
        viz.plot_lr_sweep(result, figure.add_subplot())
        write_figure(out, figure, plots / "lr_sweep.png")
    failed = [
        f"learning rate {v:g}" for v, d in zip(result.values, result.diverged, strict=True) if d
    ]
    fail_if_diverged(failed, len(result.values), "try smaller learning rates")


def fail_if_diverged(failed: list[str], total: int, advice: str) -> None:
    """Exit with code 1 (training diverged) once the table and figure are out, naming the runs.

    ``gdlab sweep`` and ``gdlab compare`` show every run first (a partial result is worth
    seeing), then end with this error when any run diverged, as ``EXIT_CODES_EPILOG`` says.
    """
    if failed:
        raise CommandFailure(
            f"{len(failed)} of {total} runs diverged ({', '.join(failed)}); the table above shows "
            f"every run: {advice}.",
            EXIT_DIVERGED,
        )


def _sweep_table(result: Any, dataset: Dataset, model: Any) -> Any:
    from rich.table import Table

    table = Table(
        title=f"Learning-rate sweep: {dataset.heading} "
        f"({model.optimizer}, batch size {batch_text(model.batch_size)}, {model.max_iter} epochs)"
    )
    table.add_column("learning rate", justify="right")
    table.add_column("final loss", justify="right")
    table.add_column("epochs", justify="right")
    table.add_column("status")
    best = result.best_index
    for k, row in enumerate(result.rows()):
        if row["diverged"]:
            status = f"[red]diverged in epoch {row['diverged_in']}[/red]"
        else:
            status = "[green]best[/green]" if k == best else "ok"
        loss = "-" if math.isnan(row["final_loss"]) else fmt(row["final_loss"])
        table.add_row(fmt(row["learning_rate"]), loss, str(row["epochs"]), status)
    if best is None:
        table.caption = "every run diverged: try smaller learning rates"
    else:
        table.caption = f"lowest final loss with learning rate {result.values[best]:g}"
    return table


# ---- compare -------------------------------------------------------------------------------------


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


# ---- lr-find -------------------------------------------------------------------------------------


@click.command(
    "lr-find",
    epilog=EXIT_CODES_EPILOG,
    short_help="Suggest a learning rate (range test, with the 2/L bound).",
)
@data_options
@training_options(optimizer="sgd", batch_size="full", skip=("learning_rate", "epochs"))
@click.option(
    "--start",
    type=click.FloatRange(min=0.0, min_open=True),
    default=1e-6,
    show_default=True,
    help="The smallest learning rate tried.",
)
@click.option(
    "--stop",
    type=click.FloatRange(min=0.0, min_open=True),
    default=10.0,
    show_default=True,
    help="The largest learning rate tried (the test stops earlier when the loss blows up).",
)
@click.option(
    "--steps",
    type=click.IntRange(min=3),
    default=100,
    show_default=True,
    help="Updates in the range test (the rate grows geometrically from --start to --stop).",
)
@quiet_option
@plots_option
@verbose_option
def lr_find(
    data: Path,
    target: str,
    task: str,
    features: str | None,
    exclude: str | None,
    optimizer: str,
    batch_size: int | None,
    standardize: bool,
    seed: int,
    start: float,
    stop: float,
    steps: int,
    quiet: bool,
    plots: Path | None,
) -> None:
    """Find a good learning rate for DATA with the range test.

    Raises the learning rate a little every update, from --start to --stop, until the loss
    blows up, and suggests a rate; when the loss shows no clear descent it says the test is
    inconclusive and suggests nothing. For squared error it also prints the largest rate at which
    full-batch gradient descent is stable, 2/L, computed from the data.

    \b
    Example:
      gdlab lr-find houses.csv --target price --optimizer sgd --batch-size full
    """
    import gdlab

    dataset = Dataset(data, target, task, features, exclude)
    model = make_estimator(
        dataset.task,
        optimizer=optimizer,
        learning_rate=start,
        batch_size=batch_size,
        epochs=1,
        standardize=standardize,
        seed=seed,
    )
    out = console()
    screen = progress_console(quiet)  # step, loss, rate, rows/s, time left (a terminal only)
    per_step = dataset.n_rows if batch_size is None else min(batch_size, dataset.n_rows)
    with StepProgress(screen, steps, per_step) as shown:
        result = gdlab.lr_find(
            model, dataset.X, dataset.y, start=start, stop=stop, n_steps=steps,
            on_step=None if screen is None else shown,
        )  # fmt: skip
    out.print(_lr_find_table(result, dataset, model))
    notes = list(dataset.notes)
    if result.diverged_at is None and len(result.rates) and result.min_loss_rate >= stop * 0.999:
        notes.append(
            f"the loss was still falling at --stop {stop:g}, so the suggestion may be too "
            f"small; try a larger --stop (for example {10 * stop:g})."
        )
    if result.suggested is None:  # no clear descent: no suggestion, no next command
        print_notes(out, [*notes, f"inconclusive: {cli_message(str(result.inconclusive))}."])
        if plots is not None:
            write_figure(out, _plot_lr_find(result), plots / "lr_find.png")
        return
    print_notes(out, notes)
    words = ["gdlab", "fit", str(dataset.path), "--target", dataset.target]
    for option, value in (("--task", task), ("--features", features), ("--exclude", exclude)):
        if value is not None and value != "auto":
            words += [option, value]
    words += ["--optimizer", optimizer, "--batch-size", batch_text(batch_size)]
    if not standardize:
        words.append("--no-standardize")
    words += ["--learning-rate", f"{result.suggested:.3g}"]
    out.print(f"Next: {esc(shlex.join(words))}", soft_wrap=True)
    if plots is not None:
        write_figure(out, _plot_lr_find(result), plots / "lr_find.png")


def _lr_find_table(result: Any, dataset: Dataset, model: Any) -> Any:
    table = facts_table(
        f"Learning-rate range test: {dataset.heading} "
        f"({model.optimizer}, batch size {batch_text(model.batch_size)})"
    )
    table.add_row(
        "suggested learning rate",
        "[yellow]inconclusive[/yellow] (no clear descent; see the note below)"
        if result.suggested is None
        else f"[green]{result.suggested:.3g}[/green] ({_rule_text(result.method)})",
    )
    table.add_row("lowest loss at rate", f"{result.min_loss_rate:.3g}")
    table.add_row("steepest descent at rate", f"{result.steepest_rate:.3g}")
    table.add_row(
        "loss blew up at rate",
        "- (never, up to --stop)" if result.diverged_at is None else f"{result.diverged_at:.3g}",
    )
    if result.bound_2_over_L is not None:
        table.add_row("stability bound 2/L (full-batch GD)", f"{result.bound_2_over_L:.3g}")
    table.add_row("updates made", str(len(result.rates)))
    return table


def _rule_text(method: str) -> str:
    if method == "min/10":
        return "a tenth of the rate with the lowest loss"
    return "where the loss falls fastest"


def _plot_lr_find(result: Any) -> Any:
    figure = new_figure()
    ax = figure.add_subplot()
    ax.plot(result.rates, result.losses, linewidth=2, label="smoothed loss")
    ax.set_xscale("log")
    if result.suggested is not None:
        ax.axvline(result.suggested, color="green", linestyle="--",
                   label=f"suggested {result.suggested:.3g}")  # fmt: skip
    if result.bound_2_over_L is not None:
        ax.axvline(result.bound_2_over_L, color="black", linestyle=":",
                   label=f"2/L = {result.bound_2_over_L:.3g}")  # fmt: skip
    if result.diverged_at is not None:
        ax.axvline(result.diverged_at, color="red", linestyle="-.",
                   label=f"blew up at {result.diverged_at:.3g}")  # fmt: skip
    ax.set_xlabel("Learning rate (log scale)")
    ax.set_ylabel("Loss")
    ax.set_title("Learning-rate range test")
    ax.legend()
    return figure
