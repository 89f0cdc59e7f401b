"""A progress display for long commands: epoch, loss, rows per second and time left.

Shown on standard error only when it is a terminal (nothing extra when piped or redirected) and not
silenced with ``-q``. :class:`EpochProgress` is a ``fit(callback=...)`` hook: called with the
snapshot of each finished epoch, it never stops training (it returns ``None``).
"""

from __future__ import annotations

import contextlib
import time
from typing import Any

import click

__all__ = ["EpochProgress", "progress_console", "quiet_option", "spinner"]

quiet_option = click.option(
    "-q",
    "--quiet",
    is_flag=True,
    help="No progress display (it is shown only on a terminal). Example: -q",
)


def spinner(out: Any, text: str, quiet: bool) -> Any:
    """A spinner with ``text`` while work runs (rich shows it on a terminal only); none if
    ``quiet``."""
    return contextlib.nullcontext() if quiet else out.status(text, spinner="dots")


def progress_console(quiet: bool, console: Any = None) -> Any:
    """The console to draw on (standard error), or ``None`` when piped or ``quiet``."""
    if quiet:
        return None
    if console is None:
        from rich.console import Console

        console = Console(stderr=True)
    return console if console.is_terminal else None


class EpochProgress:
    """Draw ``epoch e/E  loss L  R rows/s  T left`` after each epoch of a fit.

    Parameters
    ----------
    console : rich Console or None
        Where to draw; ``None`` draws nothing (see :func:`progress_console`).
    epochs : int
        The planned number of epochs (the bar's total).
    rows : int
        Training rows per epoch (for the rate).
    what : str
        The label in front of the bar.
    """

    def __init__(self, console: Any, epochs: int, rows: int, what: str = "fit") -> None:
        self.console = console
        self.epochs = int(epochs)
        self.rows = int(rows)
        self.what = what
        self._progress: Any = None
        self._task: Any = None
        self._started = 0.0
        self._first_epoch: int | None = None

    def __enter__(self) -> EpochProgress:
        if self.console is not None:
            from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

            self._progress = Progress(
                TextColumn("{task.description}"),
                BarColumn(),
                TextColumn("{task.fields[status]}"),
                TimeRemainingColumn(),
                console=self.console,
                transient=True,
            )
            self._progress.start()
            self._task = self._progress.add_task(self.what, total=self.epochs, status="")
        self._started = time.perf_counter()
        return self

    def __exit__(self, *exc: Any) -> None:
        if self._progress is not None:
            self._progress.stop()

    def __call__(self, snapshot: Any) -> None:
        if self._progress is None:
            return
        epoch = int(snapshot._train_state.epoch)
        if self._first_epoch is None:
            self._first_epoch = epoch - 1
        done = epoch - self._first_epoch
        seconds = max(time.perf_counter() - self._started, 1e-9)
        status = (
            f"epoch {epoch}/{self.epochs}  loss {snapshot.loss_curve_[-1]:.4g}  "
            f"{done * self.rows / seconds:,.0f} rows/s"
        )
        self._progress.update(
            self._task, completed=epoch, description=f"{self.what}", status=status
        )
