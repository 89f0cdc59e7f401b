"""The command group, its error handling and the pieces the commands share.

Exit codes: 0 success, 1 training diverged (or an unexpected internal error), 2 bad input (a bad
option, file, column or value), 130 interrupted by Ctrl-C. Every error ends with one line
``gdlab: error: <what>`` on stderr; ``--verbose`` prints the traceback above it.
"""

from __future__ import annotations

import shlex
import sys
import traceback
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
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


# ---- parameter types ---------------------------------------------------------------------------


class BatchSize(click.ParamType):
    """A positive int, or ``full`` for full-batch gradient descent (``None``)."""

    name = "N|full"

    def convert(self, value: Any, param: Any, ctx: Any) -> int | None:
        if value is None or (isinstance(value, int) and not isinstance(value, bool)):
            if value is not None and value < 1:
                self.fail(f"{value!r} is not a positive integer or 'full'.", param, ctx)
            return value
        text = str(value).strip().lower()
        if text in ("full", "all", "none", "batch"):
            return None
        try:
            number = int(text)
        except ValueError:
            self.fail(f"{value!r} is not a positive integer or 'full'.", param, ctx)
        if number < 1:
            self.fail(f"{value!r} is not a positive integer or 'full'.", param, ctx)
        return number


class FloatList(click.ParamType):
    """Comma-separated positive floats, e.g. ``0.0001,0.01,0.1``."""

    name = "X,Y,..."

    def __init__(self, count: int | None = None, positive: bool = True) -> None:
        self.count = count
        self.positive = positive

    def convert(self, value: Any, param: Any, ctx: Any) -> list[float]:
        if isinstance(value, list | tuple):
            return [float(v) for v in value]
        items = [item.strip() for item in str(value).split(",") if item.strip()]
        if not items:
            self.fail("expected comma-separated numbers, got nothing.", param, ctx)
        numbers: list[float] = []
        for item in items:
            try:
                number = float(item)
            except ValueError:
                self.fail(f"{item!r} is not a number (in {value!r}).", param, ctx)
            if number != number or number in (float("inf"), float("-inf")):
                self.fail(f"{item!r} is not a finite number.", param, ctx)
            if self.positive and not number > 0:
                self.fail(f"{item!r} must be > 0.", param, ctx)
            numbers.append(number)
        if self.count is not None and len(numbers) != self.count:
            self.fail(f"expected {self.count} comma-separated numbers, got {value!r}.", param, ctx)
        return numbers


class ChoiceList(click.ParamType):
    """Comma-separated names, each one of ``choices``."""

    name = "A,B,..."

    def __init__(self, choices: Sequence[str]) -> None:
        self.choices = tuple(choices)

    def convert(self, value: Any, param: Any, ctx: Any) -> list[str]:
        if isinstance(value, list | tuple):
            return list(value)
        items = [item.strip().lower() for item in str(value).split(",") if item.strip()]
        if not items:
            self.fail("expected a comma-separated list, got nothing.", param, ctx)
        for item in items:
            if item not in self.choices:
                known = ", ".join(self.choices)
                self.fail(f"{item!r} is not one of {known}.", param, ctx)
        if len(set(items)) != len(items):
            self.fail(f"{value!r} names a value twice.", param, ctx)
        return items


def batch_text(batch_size: int | None) -> str:
    """A batch size as the command line writes it: ``full`` for full-batch, else the number."""
    return "full" if batch_size is None else str(batch_size)


def column_list(value: str | None) -> list[str] | None:
    """``"a,b"`` -> ``["a", "b"]``; ``None`` stays ``None``."""
    if value is None:
        return None
    return [item.strip() for item in value.split(",") if item.strip()]


# ---- shared options -----------------------------------------------------------------------------

TASKS = ("auto", "regression", "classification")


def data_options(f: Callable[..., Any]) -> Callable[..., Any]:
    """DATA, --target, --task, --features and --exclude."""
    options = [
        click.argument("data", type=click.Path(dir_okay=True, path_type=Path)),
        click.option("-t", "--target", required=True, metavar="COL", help="The column to predict."),
        click.option(
            "--task",
            type=click.Choice(TASKS),
            default="auto",
            show_default=True,
            help="auto: classification when the target is text, boolean or an integer with at "
            "most 20 distinct values; regression otherwise.",
        ),
        click.option(
            "--features",
            metavar="A,B,...",
            default=None,
            help="Feature columns to use (default: every column except the target).",
        ),
        click.option(
            "--exclude",
            metavar="A,B,...",
            default=None,
            help="Columns to leave out (an id column, for example).",
        ),
    ]
    for option in reversed(options):
        f = option(f)
    return f


def path_option(
    *decls: str,
    folder: bool = False,
    metavar: str | None = None,
    default: Path | None = None,
    help: str,
    **extra: Any,
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """An option naming a file (a folder with ``folder=True``) as a :class:`~pathlib.Path`."""
    return click.option(
        *decls,
        type=click.Path(file_okay=not folder, dir_okay=folder, path_type=Path),
        metavar=metavar or ("DIR" if folder else "FILE"),
        default=default,
        help=help,
        **extra,
    )


def clip_norm_option(help: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """``--clip-norm``: a positive float, default None (no clipping)."""
    return click.option(
        "--clip-norm", type=click.FloatRange(min=0.0, min_open=True), default=None, help=help
    )


def console() -> Any:
    """A rich console on stdout (colours only on a terminal)."""
    from rich.console import Console

    return Console(highlight=False)


def fmt(value: Any, digits: int = 6) -> str:
    """A number for a table: ``g`` format, or ``-`` for None."""
    if value is None:
        return "-"
    if isinstance(value, float | int) and not isinstance(value, bool):
        return f"{value:.{digits}g}"
    return str(value)


def new_figure(width: float = 7.0, height: float = 4.5) -> Any:
    """A matplotlib Figure that belongs to no window (no pyplot state)."""
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), layout="constrained")


def facts_table(title: str) -> Any:
    """A rich table of two columns without a header: what (bold) and its value."""
    from rich.table import Table

    table = Table(title=title, show_header=False)
    table.add_column("what", style="bold")
    table.add_column("value")
    return table


def write_figure(out: Any, figure: Any, path: Path, what: str = "Figure") -> None:
    """Write ``figure`` to ``path`` atomically (folders made as needed) and print where it is."""
    from gdlab.atomic import atomic_write

    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(path, lambda handle: figure.savefig(handle, dpi=120, format=path.suffix[1:]))
    out.print(f"{what} written to {esc(path)}")


def refuse_overwriting_inputs(inputs: Sequence[Path], outputs: dict[str, Path | None]) -> None:
    """Exit 2 before any work when an output option names one of the input files.

    ``outputs`` maps an option (``"--out"``) to its path or ``None``; a path that is the same
    file as an input (same name once resolved, or the same file through a link) is refused.
    """
    import os

    for option, output in outputs.items():
        if output is None or not output.exists():
            continue
        for source in inputs:
            if source.exists() and os.path.samefile(output, source):
                raise CommandFailure(
                    f"{option} {output} is the input file {source}: writing there would destroy "
                    "it; choose another file name.",
                    EXIT_BAD_INPUT,
                )


# ---- data and models ----------------------------------------------------------------------------


class Dataset:
    """A table read from DATA and split into features and target, with the task resolved."""

    def __init__(
        self,
        path: Path,
        target: str,
        task: str = "auto",
        features: str | None = None,
        exclude: str | None = None,
        min_rows: int = 2,
    ) -> None:
        from gdlab.data.inmemory import read_xy

        self.path = path
        self.target = target
        table = read_xy(
            path,
            target,
            features=column_list(features),
            exclude=column_list(exclude) or (),
            min_rows=min_rows,
        )
        if table is None:  # anything unusual: pandas reads it and words any error
            self._read_frame(path, target, task, features, exclude, min_rows)
            return
        from gdlab.datafiles import _target, infer_task

        if task == "auto":
            self.task, self.task_reason = infer_task(table.target)
        else:
            self.task, self.task_reason = task, "chosen with --task"
        self.y = _target(table.target, target, self.task, str(path))
        self.X, self.feature_names = table.X, table.names
        self.notes = _id_notes(table.id_like)

    def _read_frame(
        self,
        path: Path,
        target: str,
        task: str,
        features: str | None,
        exclude: str | None,
        min_rows: int,
    ) -> None:
        from gdlab.datafiles import id_like_columns, infer_task, read_table, split_xy

        frame = read_table(path)
        source = str(path)
        if target not in frame.columns:
            # let split_xy word the error (it lists the columns there are)
            split_xy(frame, target, source=source)
        if task == "auto":
            self.task, self.task_reason = infer_task(frame[target])
        else:
            self.task, self.task_reason = task, "chosen with --task"
        self.X, self.y, self.feature_names = split_xy(
            frame,
            target,
            self.task,
            features=column_list(features),
            exclude=column_list(exclude) or (),
            min_rows=min_rows,
            source=source,
        )
        self.notes = _id_notes(id_like_columns(frame, self.feature_names))

    @property
    def n_rows(self) -> int:
        return int(self.X.shape[0])

    @property
    def heading(self) -> str:
        """``file -> target`` for a table title (escaped for rich markup)."""
        return f"{esc(self.path.name)} -> {esc(self.target)}"

    @property
    def score_name(self) -> str:
        """What ``model.score`` measures for the task: accuracy or R^2."""
        return "accuracy" if self.task == "classification" else "R^2"

    def frame(self, X: Any = None) -> Any:
        """``X`` (default all rows) as a DataFrame with the feature names as columns."""
        import pandas as pd

        return pd.DataFrame(self.X if X is None else X, columns=self.feature_names)


def _id_notes(names: Sequence[str]) -> list[str]:
    return [
        f"column {name!r} counts up by one like a row number; if it is an id, leave it out "
        f"with --exclude {shlex.quote(name)}."
        for name in names
    ]


def print_notes(out: Any, notes: Sequence[str]) -> None:
    """Print notes for the user (things that look wrong but are not errors)."""
    for note in notes:
        out.print(f"[yellow]Note:[/yellow] {esc(note)}")


def make_estimator(
    task: str,
    *,
    optimizer: str,
    learning_rate: float,
    batch_size: int | None,
    epochs: int,
    standardize: bool,
    seed: int,
    tol: float | None = None,
    loss: str | None = None,
    clip_norm: float | None = None,
    record_params: bool = False,
    extra: dict[str, Any] | None = None,
) -> Any:
    """A GDRegressor or GDClassifier with the command's settings (``extra``: further ones)."""
    from gdlab.estimators import GDClassifier, GDRegressor

    cls = GDClassifier if task == "classification" else GDRegressor
    kwargs: dict[str, Any] = {
        "optimizer": optimizer,
        "learning_rate": learning_rate,
        "batch_size": batch_size,
        "max_iter": epochs,
        "tol": tol,
        "standardize": standardize,
        "random_state": seed,
        "clip_norm": clip_norm,
        "record_params": record_params,
    }
    if loss is not None:
        allowed = cls._losses
        if loss not in allowed:
            raise click.BadParameter(
                f"{loss!r} is not a {task} loss; choose one of {', '.join(allowed)}.",
                param_hint="'--loss'",
            )
        kwargs["loss"] = loss
    return cls(**kwargs, **(extra or {}))


def training_options(
    *,
    optimizer: str = "adam",
    learning_rate: float = 0.01,
    batch_size: str = "32",
    epochs: int = 200,
    skip: Sequence[str] = (),
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """--optimizer, --learning-rate, --batch-size, --epochs, --standardize, --seed.

    ``skip`` leaves out options by name (``"learning_rate"``, ``"epochs"``).
    """
    from gdlab.optim import OPTIMIZERS

    options = {
        "optimizer": click.option(
            "--optimizer",
            type=click.Choice(tuple(OPTIMIZERS)),
            default=optimizer,
            show_default=True,
            help="The update rule.",
        ),
        "learning_rate": click.option(
            "--learning-rate",
            "learning_rate",
            type=click.FloatRange(min=0.0, min_open=True),
            default=learning_rate,
            show_default=True,
            help="The step size.",
        ),
        "batch_size": click.option(
            "--batch-size",
            type=BatchSize(),
            metavar="N|full",
            default=batch_size,
            show_default=True,
            help="Rows per update: 'full' (batch GD), 1 (stochastic) or k (mini-batch).",
        ),
        "epochs": click.option(
            "--epochs",
            type=click.IntRange(min=1),
            default=epochs,
            show_default=True,
            help="The most passes over the data.",
        ),
        "standardize": click.option(
            "--standardize/--no-standardize",
            default=True,
            show_default=True,
            help="Train on standardized features and, for regression, a scaled target (results "
            "are reported in original units).",
        ),
        "seed": click.option("--seed", type=int, default=0, show_default=True, help="Random seed."),
    }

    def decorate(f: Callable[..., Any]) -> Callable[..., Any]:
        for name, option in reversed(options.items()):
            if name not in skip:
                f = option(f)
        return f

    return decorate


def esc(value: Any) -> str:
    """User text (file, column and class names) made safe for rich markup."""
    from rich.markup import escape

    return escape(str(value))
