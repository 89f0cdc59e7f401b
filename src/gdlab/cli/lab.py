"""``gdlab lab``: every experiment of the two lessons, with figures and a report."""

from __future__ import annotations

from pathlib import Path

import click

from gdlab.cli._errors import EXIT_CODES_EPILOG, verbose_option
from gdlab.cli._options import path_option
from gdlab.cli._output import console


@click.command(
    epilog=EXIT_CODES_EPILOG,
    short_help="Run every lesson experiment; write figures and report.html.",
)
@path_option(
    "-o",
    "--out",
    folder=True,
    default=Path("gdlab-lab"),
    show_default=True,
    help="Folder for the figures (PNG), report.html and playground.html.",
)
@click.option("--seed", type=int, default=42, show_default=True, help="Seed of the synthetic data.")
@click.option("-q", "--quiet", is_flag=True, help="Print only where the results are.")
@click.option(
    "--fast",
    is_flag=True,
    help="Fewer epochs and steps where that does not change what an experiment shows.",
)
@verbose_option
def lab(out: Path, seed: int, quiet: bool, fast: bool) -> None:
    """Run the gradient-descent lab: every experiment of the lessons on built-in data.

    Prints each experiment's table, writes every figure as a PNG and one self-contained
    report.html into --out, and ends by saying where they are. Needs no download.

    \b
    Example:
      gdlab lab --out gdlab-lab --seed 42
    """
    from gdlab.lab import run_lab

    report = run_lab(out, seed=seed, console=console(), quiet=quiet, fast=fast)
    if quiet:
        click.echo(f"Report: {report.report}")
        click.echo(f"Figures: {len(report.figures)} PNG files in {report.out_dir}")
        click.echo(f"Playground: {report.out_dir / 'playground.html'}")
