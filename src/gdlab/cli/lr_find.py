"""``gdlab lr-find``: the learning-rate range test on the user's data."""

from __future__ import annotations

import shlex
from pathlib import Path
from typing import Any

import click

from gdlab.cli._data import Dataset
from gdlab.cli._errors import (
    EXIT_CODES_EPILOG,
    cli_message,
    verbose_option,
)
from gdlab.cli._estimator import make_estimator
from gdlab.cli._options import (
    data_options,
    plots_option,
    training_options,
)
from gdlab.cli._output import (
    batch_text,
    console,
    esc,
    facts_table,
    new_figure,
    print_notes,
    write_figure,
)
from gdlab.cli._progress import (
    StepProgress,
    progress_console,
    quiet_option,
)


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
