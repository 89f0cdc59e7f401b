"""A progress display for long commands: epoch, loss, rows per second and time left.

Shown on standard error only when it is a terminal (nothing extra when piped or redirected) and not
silenced with ``-q``. :class:`EpochProgress` is a ``fit(callback=...)`` hook: called with the
snapshot of each finished epoch, it never stops training (it returns ``None``);
:class:`SweepProgress` and :class:`StepProgress` are the hooks of :func:`gdlab.sweep` and
:func:`gdlab.lr_find`; :class:`StreamProgress` also moves inside the epochs of a streamed fit, block
by block.
"""

from __future__ import annotations

import contextlib
import time
from typing import Any

import click

__all__ = [
    "EpochProgress",
    "RowProgress",
    "StepProgress",
    "StreamProgress",
    "SweepProgress",
    "progress_console",
    "quiet_option",
    "spinner",
]

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


def _epoch_of(snapshot: Any) -> int:
    """The epochs ``snapshot`` (a fit's epoch snapshot) has been trained for, over all the
    warm-started fits it continues (a resumed run counts the epochs before the interruption):
    ``loss_curve_`` holds one training loss per epoch. ``n_iter_`` counts this fit's only.

    Examples
    --------
    >>> import numpy as np
    >>> from gdlab import GDRegressor
    >>> X = np.arange(8.0).reshape(4, 2); y = X @ [1.0, 2.0]
    >>> model = GDRegressor(max_iter=2, tol=None, warm_start=True, random_state=0)
    >>> model = model.fit(X, y).fit(X, y)
    >>> _epoch_of(model), model.n_iter_
    (4, 2)
    """
    return len(snapshot.loss_curve_)


class _Display:
    """A transient bar on ``console`` (none when it is ``None``): what it has done and its time
    left, with a status line from :meth:`show`."""

    def __init__(self, console: Any, total: int, rows: int, what: str) -> None:
        self.console = console
        self.total = int(total)
        self.rows = int(rows)
        self.what = what
        self._progress: Any = None
        self._task: Any = None
        self._started = 0.0

    def __enter__(self) -> Any:
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
            self._task = self._progress.add_task(self.what, total=self.total, status="")
        self._started = time.perf_counter()
        return self

    def __exit__(self, *exc: Any) -> None:
        if self._progress is not None:
            self._progress.stop()

    def rate(self, rows: int) -> str:
        """``R rows/s``, ``rows`` rows processed since the start."""
        seconds = max(time.perf_counter() - self._started, 1e-9)
        return f"{rows / seconds:,.0f} rows/s"

    def show(self, completed: int, position: str, loss: float, rows: int, extra: str = "") -> None:
        """Draw ``position  loss L<extra>  R rows/s``, ``rows`` rows processed so far."""
        status = f"{position}  loss {loss:.4g}{extra}  {self.rate(rows)}"
        self._progress.update(self._task, completed=completed, status=status)


class EpochProgress(_Display):
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
        super().__init__(console, epochs, rows, what)
        self.epochs = int(epochs)
        self._first_epoch: int | None = None

    def watch(self, source: Any) -> Any:
        """The data to fit: ``source`` itself (a streamed fit's display also watches its
        blocks, :meth:`StreamProgress.watch`)."""
        return source

    def __call__(self, snapshot: Any) -> None:
        if self._progress is None:
            return
        epoch = _epoch_of(snapshot)
        if self._first_epoch is None:
            self._first_epoch = epoch - 1
        done = epoch - self._first_epoch
        loss = snapshot.loss_curve_[-1]
        self.show(epoch, f"epoch {epoch}/{self.epochs}", loss, done * self.rows)


class StreamProgress(EpochProgress):
    """:class:`EpochProgress` for a streamed fit, which also moves while an epoch reads its blocks:
    ``epoch e/E  loss L  r/N rows  R rows/s  T left``.

    :meth:`watch` wraps the data source so that every block read counts (the first pass, before
    epoch 1, finds the scaling; an epoch may read the data more than once: the updates, the
    validation rows, the loss). The bar advances by the share of the epoch's rows read so far.
    """

    def __init__(self, console: Any, epochs: int, rows: int) -> None:
        super().__init__(console, epochs, rows)
        self._epoch = 0
        self._loss = float("nan")
        self._read = 0  # rows read since the last finished epoch
        self._total = 0  # rows read in all

    def watch(self, source: Any) -> Any:
        """``source`` with a ``group_blocks`` that reports each block here (itself when nothing is
        drawn)."""
        return source if self.console is None else _WatchedSource(source, self)

    def read(self, rows: int) -> None:
        self._read += rows
        self._total += rows
        if self._progress is None:
            return
        share = min(self._read / max(self.rows, 1), 0.99)
        position = f"epoch {self._epoch + 1}/{self.epochs}"
        if not self._epoch:
            position = "first pass"  # the scan for the scaling, before epoch 1
        elif self._epoch >= self.epochs:
            position = f"epoch {self._epoch}/{self.epochs}, final loss"
        rows_text = f"  {self._read:,}/{self.rows:,} rows"
        status = f"{position}  loss {self._loss:.4g}{rows_text}  {self.rate(self._total)}"
        self._progress.update(self._task, completed=self._epoch + share, status=status)

    def __call__(self, snapshot: Any) -> None:
        self._epoch = _epoch_of(snapshot)
        self._loss = float(snapshot.loss_curve_[-1])
        self._read = 0
        if self._progress is not None:
            position = f"epoch {self._epoch}/{self.epochs}"
            self.show(self._epoch, position, self._loss, self._total)


class _WatchedSource:
    """A data source whose blocks are counted by a :class:`StreamProgress` as they are read."""

    def __init__(self, source: Any, progress: StreamProgress) -> None:
        self._source = source
        self._progress = progress

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):  # also keeps copy and pickle off an unset _source
            raise AttributeError(name)
        found = getattr(self._source, name)
        if name == "read_blocks":  # a file source's passes (gdlab.data.sources.blocks_of)
            return self._counted(found)
        return found

    def _counted(self, read_blocks: Any) -> Any:
        def counted(*args: Any, **options: Any) -> Any:
            for X, y, weight in read_blocks(*args, **options):
                self._progress.read(X.shape[0])
                yield X, y, weight

        return counted

    def group_blocks(self, group: int) -> Any:
        for X, y in self._source.group_blocks(group):
            self._progress.read(X.shape[0])
            yield X, y

    def group_weighted_blocks(self, group: int) -> Any:
        for X, y, weight in self._source.group_weighted_blocks(group):
            self._progress.read(X.shape[0])
            yield X, y, weight


class SweepProgress(_Display):
    """Draw ``epoch e/E  rate r  loss L  R rows/s  T left`` for :func:`gdlab.sweep`'s
    ``on_epoch``.

    The bar counts run-epochs (``len(rates) * epochs`` in all), so it moves the same whether the
    runs train together or one after another. With one run in the epoch its learning rate is
    shown, with several their number and the lowest loss; the rate counts every run's rows.
    """

    def __init__(self, console: Any, epochs: int, rows: int, rates: list[float]) -> None:
        super().__init__(console, epochs * len(rates), rows, "sweep")
        self.epochs = int(epochs)
        self.rates = list(rates)
        self._done = 0

    def __call__(self, epoch: int, losses: Any) -> None:
        if self._progress is None:
            return
        import numpy as np

        losses = np.asarray(losses, dtype=float)
        trained = np.flatnonzero(np.isfinite(losses))
        self._done += int(trained.size)
        which = f"rate {self.rates[trained[0]]:g}" if trained.size == 1 else f"{trained.size} runs"
        best = float(losses[trained].min()) if trained.size else float("nan")
        position = f"epoch {epoch}/{self.epochs}  {which}"
        self.show(self._done, position, best, self._done * self.rows)


class StepProgress(_Display):
    """Draw ``step s/S  loss L  rate r  R rows/s  T left`` for :func:`gdlab.lr_find`'s
    ``on_step`` (``rows`` rows per update)."""

    def __init__(self, console: Any, steps: int, rows: int) -> None:
        super().__init__(console, steps, rows, "lr-find")

    def __call__(self, steps: int, loss: float, rate: float) -> None:
        if self._progress is not None:
            position = f"step {steps}/{self.total}"
            self.show(steps, position, loss, steps * self.rows, f"  rate {rate:.3g}")


class RowProgress(_Display):
    """Draw ``r/N rows  R rows/s  T left`` while ``gdlab predict`` works through ``rows`` rows;
    called with the number of rows done."""

    def __init__(self, console: Any, rows: int, what: str = "predict") -> None:
        super().__init__(console, rows, rows, what)

    def __call__(self, done: int) -> None:
        if self._progress is not None:
            status = f"{done:,}/{self.total:,} rows  {self.rate(done)}"
            self._progress.update(self._task, completed=done, status=status)
