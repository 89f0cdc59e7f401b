"""What every lab experiment returns: its tables, key numbers, explanation and figure recipe.

Computing and drawing are kept apart: an experiment's ``run`` returns an :class:`Experiment` with
plain numbers and arrays, and its ``draw`` turns that into a matplotlib figure using
:mod:`gdlab.viz`. The console tables and the HTML report are both rendered from the same
:class:`Table` objects, so the terminal and the report always show the same numbers.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from gdlab.estimators._linear import GDRegressor

__all__ = [
    "Experiment",
    "Table",
    "draw_line_fit",
    "fmt",
    "fmt_vector",
    "full_batch_gd",
    "new_figure",
]


@dataclass
class Table:
    """A small table of already formatted cells.

    Attributes
    ----------
    title : str
    columns : list of str
    rows : list of list of str
        One list of cells per row, as many as ``columns``.
    note : str
        A sentence shown under the table.
    """

    title: str
    columns: list[str]
    rows: list[list[str]] = field(default_factory=list)
    note: str = ""

    def add(self, *cells: Any) -> None:
        """Append a row; every cell is converted with ``str``."""
        if len(cells) != len(self.columns):
            raise ValueError(
                f"Table {self.title!r} has {len(self.columns)} columns; got a row of {len(cells)}."
            )
        self.rows.append([str(cell) for cell in cells])


@dataclass
class Experiment:
    """One experiment of the lab, computed and ready to be drawn and reported.

    Attributes
    ----------
    key : str
        Short identifier, also the stem of the PNG file (``"01_batch_gd"``).
    title : str
        Heading in the console and the report.
    source : str
        Which lesson section it reproduces.
    explanation : list of str
        A few short paragraphs, in our own words, on what to look at.
    tables : list of Table
    numbers : dict of str to float
        The experiment's key results, for tests and for programmatic use.
    data : dict
        Arrays and objects the ``draw`` function needs (not part of the report).
    draw : callable
        ``draw(experiment) -> matplotlib Figure``.
    """

    key: str
    title: str
    source: str
    explanation: list[str]
    tables: list[Table]
    numbers: dict[str, float]
    data: dict[str, Any]
    draw: Callable[[Experiment], Any]

    @property
    def figure_name(self) -> str:
        """The PNG file name of the experiment's figure."""
        return f"{self.key}.png"


def fmt(value: Any, digits: int = 4) -> str:
    """Format a number for a table: fixed point, scientific when tiny or huge, 'nan' as '-'.

    Examples
    --------
    >>> fmt(3.14159), fmt(1e-9), fmt(float("nan")), fmt(2.5e12)
    ('3.1416', '1.000e-09', '-', '2.500e+12')
    """
    if value is None:
        return "-"
    number = float(value)
    if math.isnan(number):
        return "-"
    if math.isinf(number):
        return "inf" if number > 0 else "-inf"
    if number != 0 and (abs(number) < 10 ** (-digits) or abs(number) >= 1e7):
        return f"{number:.{max(digits - 1, 1)}e}"
    return f"{number:.{digits}f}"


def fmt_vector(values: Sequence[float] | Any, digits: int = 3) -> str:
    """Format a short vector as ``[a, b, c]``.

    Examples
    --------
    >>> fmt_vector([2.0, -1.0, 0.5])
    '[2.000, -1.000, 0.500]'
    """
    return "[" + ", ".join(fmt(v, digits) for v in list(values)) + "]"


def new_figure(nrows: int, ncols: int, figsize: tuple[float, float]) -> tuple[Any, Any]:
    """A matplotlib figure (not registered with pyplot) and its grid of axes.

    Using :class:`matplotlib.figure.Figure` directly keeps no global figure state: nothing needs
    closing and nothing leaks between experiments.
    """
    from matplotlib.figure import Figure

    figure = Figure(figsize=figsize, layout="constrained")
    axes = figure.subplots(nrows, ncols, squeeze=False)
    return figure, axes


def full_batch_gd(**params: Any) -> GDRegressor:
    """The lessons' plain gradient descent as a :class:`~gdlab.GDRegressor`.

    One full-batch update per epoch (``optimizer="sgd", batch_size=None``), rows in order
    (``shuffle=False``) and no early stop (``tol=None``), so that ``max_iter`` epochs are exactly
    the lesson's loop of ``max_iter`` updates. ``params`` sets everything else (``learning_rate``,
    ``max_iter``, ``record_params``, ...).

    Examples
    --------
    >>> model = full_batch_gd(learning_rate=0.01, max_iter=200)
    >>> model.batch_size, model.shuffle, model.tol, model.max_iter
    (None, False, None, 200)
    """
    from gdlab.estimators._linear import GDRegressor

    params.setdefault("standardize", False)  # the lessons train on the data as given
    return GDRegressor(optimizer="sgd", batch_size=None, tol=None, shuffle=False, **params)


def draw_line_fit(
    data: dict[str, Any],
    axes: Sequence[Any],
    *,
    targets: tuple[float, float],
    target_label: str,
    titles: tuple[str, str],
    epochs: Sequence[int],
) -> None:
    """The three panels of a one-feature fit: loss curve, ``(w, b)`` path and line snapshots.

    ``data`` holds the experiment's ``"x"``, ``"y"``, ``"history"`` and ``"path"``; ``axes`` are
    the three axes to draw on, ``titles`` those of the loss and the parameter panels, ``epochs``
    the snapshots of the fitted line, and ``targets`` the ``(w, b)`` the parameters approach.
    """
    from gdlab import viz

    loss_ax, params_ax, fit_ax = axes
    viz.plot_loss_curve(data["history"], loss_ax, ylabel="MSE loss", title=titles[0])
    viz.plot_params(
        data["path"], params_ax, targets=targets, target_label=target_label, title=titles[1]
    )
    viz.plot_fit_snapshots(
        data["x"],
        data["y"],
        data["path"],
        fit_ax,
        epochs=epochs,
        title="The fitted line during training",
    )
