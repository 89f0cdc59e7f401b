"""Option types and the options several commands share (data, training, paths)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import click


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


def column_list(value: str | None) -> list[str] | None:
    """``"a,b"`` -> ``["a", "b"]``; ``None`` stays ``None``."""
    if value is None:
        return None
    return [item.strip() for item in value.split(",") if item.strip()]


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


plots_option = path_option("--plots", folder=True, help="Write the figure (PNG) into this folder.")
