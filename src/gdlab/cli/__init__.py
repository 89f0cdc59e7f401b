"""The ``gdlab`` command line: thin commands over the library (options -> call -> tables, files).

Exit codes: 0 success, 1 training diverged, 2 bad input, 130 interrupted (Ctrl-C). Every error
ends with one line ``gdlab: error: <what>`` on stderr; ``--verbose`` adds the traceback.

Examples
--------
>>> from click.testing import CliRunner
>>> result = CliRunner().invoke(cli, ["--help"])
>>> result.exit_code, "lr-find" in result.output
(0, True)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import click

from gdlab.cli._errors import EXIT_CODES_EPILOG, GDLabGroup, verbose_option
from gdlab.cli.compare import compare
from gdlab.cli.fit import fit
from gdlab.cli.info import info
from gdlab.cli.lab import lab
from gdlab.cli.landscape import landscape
from gdlab.cli.lr_find import lr_find
from gdlab.cli.playground import playground
from gdlab.cli.predict import predict
from gdlab.cli.sweep import sweep

__all__ = ["cli", "main"]

_HELP = """Gradient descent you can see: the lab, and gradient descent on your own data.

\b
Examples:
  gdlab lab --out gdlab-lab                 run every lesson experiment, write report.html
  gdlab fit data.csv --target y --plots out/ --model-out model.npz
  gdlab predict model.npz new.csv --out predictions.csv
  gdlab sweep data.csv --target y --learning-rates 0.0001,0.01,0.05,0.1
  gdlab compare data.csv --target y --optimizers sgd,momentum,adam
  gdlab compare data.csv --target y --modes batch,sgd,minibatch --x samples
  gdlab landscape --function rosenbrock --optimizers sgd,momentum,adam --animate paths.gif
  gdlab lr-find data.csv --target y
  gdlab playground --out playground.html   steer gradient descent in a browser (or --serve)
  gdlab info

DATA is a CSV or Parquet file; every column but --target is a feature unless --features or
--exclude say otherwise. Run 'gdlab COMMAND --help' for a command's options.
"""


@click.group(name="gdlab", cls=GDLabGroup, help=_HELP, epilog=EXIT_CODES_EPILOG)
@click.version_option(package_name="gdlab", prog_name="gdlab")
@verbose_option
def cli() -> None:
    """The ``gdlab`` command group."""


for _command in (lab, fit, predict, sweep, compare, landscape, lr_find, info, playground):
    cli.add_command(_command)


def main(args: Sequence[str] | None = None) -> Any:
    """Run the command line (the ``gdlab`` console script); exits with the command's code."""
    return cli.main(args=list(args) if args is not None else None, prog_name="gdlab")
