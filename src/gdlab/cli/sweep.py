"""``gdlab sweep``: one setting (the learning rate) swept on the user's data, all runs at once."""

from __future__ import annotations

import math
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
    FloatList,
    data_options,
    plots_option,
    training_options,
)
from gdlab.cli._output import (
    batch_text,
    console,
    fmt,
    new_figure,
    print_notes,
    write_figure,
)
from gdlab.cli._progress import (
    SweepProgress,
    progress_console,
    quiet_option,
)


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
