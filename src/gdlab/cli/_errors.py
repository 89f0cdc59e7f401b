"""The command group's error handling: exit codes, one-line messages, ``--verbose``.

Exit codes: 0 success, 1 training diverged (or an unexpected internal error), 2 bad input (a bad
option, file, column or value), 130 interrupted by Ctrl-C. Every error ends with one line
``gdlab: error: <what>`` on stderr; ``--verbose`` prints the traceback above it.
"""

from __future__ import annotations

import sys
import traceback
import warnings
from collections.abc import Callable, Sequence
from typing import Any

import click

from gdlab.exceptions import DivergenceError, GDLabError

VERBOSE_KEY = "gdlab.verbose"


EXIT_OK, EXIT_DIVERGED, EXIT_BAD_INPUT, EXIT_INTERRUPTED = 0, 1, 2, 130


EXIT_CODES_EPILOG = """\b
Exit codes:
  0    success
  1    training diverged (the message says what to try); sweep and compare
       show every run first, then exit 1 if any run diverged
  2    bad input: an option, file, column or value (the message names it)
  130  interrupted (Ctrl-C)"""


# Python parameter names in library messages -> the command-line options that set them.
_OPTION_NAMES = (
    ("learning_rate=", "--learning-rate "),
    ("(standardize=True)", "(--standardize)"),
    ("(clip_norm=1.0)", "(--clip-norm 1.0)"),
    (
        "(clip_norm=1.0 in the estimators, optim.clip_by_global_norm(1.0) in an optimizer chain)",
        "(--clip-norm 1.0)",
    ),
    ("task='classification'", "--task classification"),
    ("task='regression'", "--task regression"),
    ("(--task classification) ", ""),
    ("(--task regression) ", ""),
)


class CommandFailure(click.ClickException):
    """A failure already turned into its one-line message and exit code."""

    def __init__(self, message: str, exit_code: int) -> None:
        super().__init__(message)
        self.exit_code = exit_code  # type: ignore[misc]


def cli_message(error: BaseException | str) -> str:
    """The error's text on one line, with Python parameter names replaced by option names."""
    text = " ".join(str(error).split()) or type(error).__name__
    for python, option in _OPTION_NAMES:
        text = text.replace(python, option)
    return text


class GDLabGroup(click.Group):
    """A click group whose errors end in one line ``gdlab: error: ...`` and a documented code."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(self.commands)  # in the order they were added, the lab first

    def invoke(self, ctx: click.Context) -> Any:
        with warnings.catch_warnings(record=True) as caught:
            try:
                return self._invoke(ctx)
            finally:
                for message in dict.fromkeys(" ".join(str(w.message).split()) for w in caught):
                    click.echo(f"gdlab: warning: {message}", err=True)

    def _invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (click.exceptions.Exit, click.exceptions.Abort, click.ClickException):
            raise
        except KeyboardInterrupt:
            raise CommandFailure("interrupted (Ctrl-C)", EXIT_INTERRUPTED) from None
        except Exception as error:
            if ctx.meta.get(VERBOSE_KEY):
                traceback.print_exc(file=sys.stderr)
            raise _translate(error) from error

    def main(
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        **extra: Any,
    ) -> Any:
        try:
            result = super().main(
                args, prog_name or "gdlab", complete_var, standalone_mode=False, **extra
            )
            code = result if isinstance(result, int) and not isinstance(result, bool) else 0
        except click.exceptions.NoArgsIsHelpError as error:
            click.echo(error.ctx.get_help() if error.ctx else "")
            code = EXIT_OK
        except click.UsageError as error:
            where = error.ctx.command_path if error.ctx is not None else "gdlab"
            message = " ".join(error.format_message().split())
            click.echo(f"gdlab: error: {message} (see '{where} --help')", err=True)
            code = error.exit_code
        except click.ClickException as error:
            click.echo(f"gdlab: error: {error.format_message()}", err=True)
            code = error.exit_code
        except (click.exceptions.Abort, KeyboardInterrupt):
            click.echo("gdlab: error: interrupted (Ctrl-C)", err=True)
            code = EXIT_INTERRUPTED
        if standalone_mode:
            sys.exit(code)
        return code


def _translate(error: Exception) -> CommandFailure:
    if isinstance(error, DivergenceError):
        return CommandFailure(cli_message(error), EXIT_DIVERGED)
    if isinstance(error, GDLabError | ValueError | TypeError | OSError):
        return CommandFailure(cli_message(error), EXIT_BAD_INPUT)
    return CommandFailure(
        f"unexpected {type(error).__name__}: {cli_message(error)} (this is a bug in gdlab; rerun "
        "with --verbose for the traceback and report it)",
        EXIT_DIVERGED,
    )


def _set_verbose(ctx: click.Context, _param: click.Parameter, value: bool) -> bool:
    if value:
        ctx.meta[VERBOSE_KEY] = True
    return value


def verbose_option(f: Callable[..., Any]) -> Callable[..., Any]:
    """``-v/--verbose`` on a command: print the traceback of an error."""
    return click.option(
        "-v",
        "--verbose",
        is_flag=True,
        expose_value=False,
        is_eager=True,
        callback=_set_verbose,
        help="Show the full traceback when something goes wrong.",
    )(f)


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
