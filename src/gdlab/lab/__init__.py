"""The gradient descent lab: every experiment of the two lessons, recomputed with gdlab.

:func:`run_lab` runs the experiments in order, prints their tables (rich) with a progress bar,
writes one PNG per experiment and a self-contained ``report.html`` into a folder, and returns a
:class:`LabReport` with the paths and the key numbers.

Each experiment lives in its own small module with a ``run(seed, fast)`` function that computes
(returns an :class:`~gdlab.lab.experiment.Experiment` of tables, numbers and arrays) and a ``draw``
function that makes its figure with :mod:`gdlab.viz`.

Examples
--------
>>> from gdlab.lab import run_lab
>>> report = run_lab("lab_output", quiet=True)  # doctest: +SKIP
>>> report.report  # doctest: +SKIP
PosixPath('lab_output/report.html')
"""

from __future__ import annotations

import functools
import io
import numbers
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gdlab.io import atomic_write
from gdlab.lab import (
    adaptive_estimators,
    batch_gd,
    bias_column,
    closed_form_comparison,
    control_loop,
    exploding_gradients,
    feature_scaling,
    learning_rates,
    lr_schedules,
    modes,
    multivariate,
    nonlinear,
    optimizer_paths,
    symmetry,
    vanishing_gradients,
)
from gdlab.lab.experiment import Experiment, Table

__all__ = ["EXPERIMENTS", "Experiment", "LabReport", "Table", "run_lab"]

#: The experiments, in the order they run: (key, compute function).
EXPERIMENTS: tuple[tuple[str, Callable[..., Experiment]], ...] = (
    ("01_batch_gd", batch_gd.run),
    ("02_learning_rates", learning_rates.run_sweep),
    ("03_lr_finder", learning_rates.run_finder),
    ("04_multivariate", multivariate.run),
    ("05_modes", modes.run),
    ("06_closed_form", closed_form_comparison.run),
    ("07_bias_column", bias_column.run),
    ("08_optimizers", optimizer_paths.run),
    ("09_schedules", lr_schedules.run),
    ("10_estimators", adaptive_estimators.run),
    ("11_feature_scaling", feature_scaling.run),
    ("12_control_loop", control_loop.run),
    ("13_nonlinear", nonlinear.run),
    ("14_vanishing_gradients", vanishing_gradients.run),
    ("15_exploding_gradients", exploding_gradients.run),
    ("16_symmetry", symmetry.run),
)

DPI = 100


@dataclass
class LabReport:
    """What :func:`run_lab` produced.

    Attributes
    ----------
    out_dir : Path
        The folder the files were written to.
    report : Path
        ``out_dir / "report.html"``.
    figures : dict of str to Path
        The PNG of each experiment, by experiment key.
    experiments : list of Experiment
        The computed experiments (tables, numbers, explanations).
    seed : int
    seconds : float
        Wall-clock time of the whole run.
    """

    out_dir: Path
    report: Path
    figures: dict[str, Path] = field(default_factory=dict)
    experiments: list[Experiment] = field(default_factory=list)
    seed: int = 42
    seconds: float = 0.0

    @property
    def numbers(self) -> dict[str, dict[str, float]]:
        """The key numbers of every experiment, by experiment key."""
        return {e.key: dict(e.numbers) for e in self.experiments}

    def experiment(self, key: str) -> Experiment:
        """The experiment with this key (``"06_closed_form"``)."""
        for e in self.experiments:
            if e.key == key:
                return e
        known = ", ".join(e.key for e in self.experiments)
        raise KeyError(f"No experiment {key!r}; the lab ran: {known}.")


def _check(out_dir: Any, seed: Any) -> Path:
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral):
        raise TypeError(f"seed must be an int. Got {seed!r} instead.")
    if not 0 <= int(seed) < 2**32:
        raise ValueError(f"seed must be between 0 and 2**32 - 1. Got {seed!r} instead.")
    if not isinstance(out_dir, str | Path):
        raise TypeError(f"out_dir must be a path (str or Path). Got {out_dir!r} instead.")
    path = Path(out_dir)
    if path.exists() and not path.is_dir():
        raise ValueError(f"out_dir {str(path)!r} exists and is not a folder.")
    path.mkdir(parents=True, exist_ok=True)
    return path


def _rich_table(table: Table) -> Any:
    from rich.markup import escape
    from rich.table import Table as RichTable

    rich_table = RichTable(
        title=escape(table.title),
        caption=escape(table.note) if table.note else None,
        title_justify="left",
        caption_justify="left",
    )
    for i, column in enumerate(table.columns):
        cells = [row[i] for row in table.rows if row[i] not in ("", "-")]
        numeric = i > 0 and bool(cells) and all(map(_is_number, cells))
        rich_table.add_column(escape(column), justify="right" if numeric else "left")
    for row in table.rows:
        style = "bold red" if any("DIVERGED" in cell for cell in row) else None
        rich_table.add_row(*(escape(cell) for cell in row), style=style)
    return rich_table


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _png(experiment: Experiment) -> bytes:
    figure = experiment.draw(experiment)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=DPI)
    return buffer.getvalue()


def run_lab(
    out_dir: str | Path,
    *,
    seed: int = 42,
    console: Any = None,
    quiet: bool = False,
    fast: bool = False,
) -> LabReport:
    """Run every experiment of the lessons, print the tables, write the figures and the report.

    Parameters
    ----------
    out_dir : str or Path
        Folder for the PNG files, ``report.html`` and ``playground.html`` (created if needed;
        files are overwritten).
    seed : int, default 42
        Seed of the lessons' data and random starts; 42 reproduces the lessons' numbers.
    console : rich.console.Console, optional
        Where to print; a new console on standard output by default.
    quiet : bool, default False
        Print nothing (no tables, no progress bar).
    fast : bool, default False
        Fewer epochs and steps where that does not change what the experiment shows (for tests):
        the by-epoch mode comparison, the optimizer runs, the restarts and the schedules.

    Returns
    -------
    LabReport
    """
    started = time.perf_counter()
    path = _check(out_dir, seed)
    seed = int(seed)
    if not quiet and console is None:
        from rich.console import Console

        console = Console()
    report = LabReport(out_dir=path, report=path / "report.html", seed=seed)
    images: dict[str, bytes] = {}
    with _progress(console, quiet, len(EXPERIMENTS)) as step:
        for k, (key, compute) in enumerate(EXPERIMENTS, start=1):
            where = f"experiment {k} of {len(EXPERIMENTS)}"
            step(f"{where}: computing {key}")
            experiment = compute(seed=seed, fast=fast)
            if not quiet:
                console.rule(f"[bold]{experiment.title}")
                for table in experiment.tables:
                    console.print(_rich_table(table))
            step(f"{where}: drawing {key}")
            images[key] = _png(experiment)
            figure_path = path / experiment.figure_name
            atomic_write(figure_path, functools.partial(_write_bytes, images[key]))
            report.figures[key] = figure_path
            report.experiments.append(experiment)
        step("writing report.html")
        from gdlab import __version__
        from gdlab.lab.report import render_html
        from gdlab.playground import write_page

        write_page(path / "playground.html")  # the playground beside the report, linked from it

        report.seconds = time.perf_counter() - started
        meta = f"gdlab {__version__}, seed {seed}, computed in {report.seconds:.1f} s"
        html = render_html(
            report.experiments, images, meta=meta, playground="playground.html"
        ).encode("utf-8")
        atomic_write(report.report, lambda handle: handle.write(html))
    report.seconds = time.perf_counter() - started
    if not quiet:
        _print_summary(console, report)
    return report


class _progress:
    """A rich progress bar over the lab's steps (compute, draw per experiment, then the report)."""

    def __init__(self, console: Any, quiet: bool, n_experiments: int) -> None:
        self.console = console
        self.quiet = quiet
        self.total = 2 * n_experiments + 1
        self.bar: Any = None
        self.task: Any = None
        self.started = False

    def __enter__(self) -> Callable[[str], None]:
        if not self.quiet and self.console.is_terminal:  # piped: nothing extra
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                Progress,
                TextColumn,
                TimeElapsedColumn,
                TimeRemainingColumn,
            )

            self.bar = Progress(
                TextColumn("[bold blue]lab"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                TimeRemainingColumn(),
                TextColumn("{task.description}"),
                console=self.console,
                transient=True,
            )
            self.bar.__enter__()
            self.task = self.bar.add_task("starting", total=self.total)
        return self.step

    def step(self, description: str) -> None:
        if self.bar is None:
            return
        if self.started:
            self.bar.advance(self.task)
        self.started = True
        self.bar.update(self.task, description=description)

    def __exit__(self, *exc: object) -> None:
        if self.bar is not None:
            self.bar.advance(self.task)
            self.bar.__exit__(*exc)


def _print_summary(console: Any, report: LabReport) -> None:
    from rich.markup import escape

    console.rule("[bold]Done")
    console.print(
        f"Ran {len(report.experiments)} experiments in {report.seconds:.1f} s (seed {report.seed})."
    )
    console.print(f"Figures ({len(report.figures)} PNG files) in: {escape(str(report.out_dir))}")
    for figure in report.figures.values():
        console.print(f"  {escape(figure.name)}", highlight=False)
    console.print(f"Report: [bold]{escape(str(report.report))}[/bold] (open it in a browser)")
    playground = escape(str(report.out_dir / "playground.html"))
    console.print(f"Playground: {playground} (steer gradient descent yourself)")


def _write_bytes(data: bytes, handle: Any) -> None:
    handle.write(data)
