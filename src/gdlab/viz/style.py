"""Shared look and small drawing helpers for :mod:`gdlab.viz`.

Everything here is about appearance (colours, grid, labels) and checking the arguments of the
plot functions; no numbers are computed.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = [
    "DIVERGED_COLOR",
    "GRID_ALPHA",
    "SERIES_COLORS",
    "X_LABELS",
    "check_choice",
    "finish_axes",
    "get_axes",
    "one_feature",
    "series_color",
    "set_log_scale",
]

GRID_ALPHA = 0.3
"""Transparency of the grid lines on every plot."""

DIVERGED_COLOR = "red"
"""Colour reserved for runs that diverged."""

SERIES_COLORS: tuple[str, ...] = (
    "steelblue",
    "darkorange",
    "seagreen",
    "purple",
    "saddlebrown",
    "deeppink",
    "olive",
    "teal",
    "slategray",
    "goldenrod",
)
"""Colours for successive series (no pure red, which marks divergence)."""

X_LABELS: dict[str, str] = {
    "epoch": "Epoch",
    "updates": "Updates (parameter steps)",
    "samples": "Examples seen",
}
"""Axis label for each choice of ``x`` in the curve plots."""


def series_color(index: int) -> str:
    """The colour of the ``index``-th series (cycling through :data:`SERIES_COLORS`)."""
    return SERIES_COLORS[index % len(SERIES_COLORS)]


def get_axes(ax: Axes | None, *, figsize: tuple[float, float] = (7.0, 4.5)) -> Axes:
    """Return ``ax``, or the axes of a new figure made with ``plt.subplots`` when it is None."""
    if ax is not None:
        return ax
    import matplotlib.pyplot as plt

    _, new_ax = plt.subplots(figsize=figsize)
    return new_ax


def finish_axes(
    ax: Axes,
    *,
    title: str | None,
    xlabel: str | None,
    ylabel: str | None,
    legend: bool,
    legend_kw: dict[str, Any] | None = None,
) -> None:
    """Set the title, axis labels, grid (alpha 0.3) and, when asked, the legend.

    A log-scaled y axis spanning at most two decades also gets a fainter grid on its minor ticks.
    """
    if title is not None:
        ax.set_title(title)
    if xlabel is not None:
        ax.set_xlabel(xlabel)
    if ylabel is not None:
        ax.set_ylabel(ylabel)
    ax.grid(True, alpha=GRID_ALPHA)
    if ax.get_yscale() == "log":
        low, high = ax.get_ylim()
        if 0 < low < high <= low * 1e2:  # a short log axis has no decade line: grid the minor ticks
            ax.grid(True, which="minor", axis="y", alpha=GRID_ALPHA / 2)
    if legend:
        ax.legend(**(legend_kw or {}))


def check_choice(name: str, value: Any, choices: Sequence[str]) -> str:
    """Return ``value`` if it is one of ``choices``, else raise a ValueError naming ``name``."""
    if not isinstance(value, str) or value not in choices:
        options = ", ".join(repr(c) for c in choices)
        raise ValueError(f"The {name!r} parameter must be one of {options}. Got {value!r} instead.")
    return value


def one_feature(
    x: Any, y: Any, requirement: str
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """``x`` as a vector (shape ``(n,)``, or ``(n, 1)`` flattened) and ``y`` of the same length.

    Anything else raises a ValueError that starts with ``requirement`` and gives both shapes.

    Examples
    --------
    >>> xv, yv = one_feature([[1.0], [2.0]], [3.0, 4.0], "x must be one feature")
    >>> xv.shape, yv.shape
    ((2,), (2,))
    """
    xv = np.asarray(x, dtype=float)
    if xv.ndim == 2 and xv.shape[1] == 1:
        xv = xv[:, 0]
    yv = np.asarray(y, dtype=float).ravel()
    if xv.ndim != 1 or xv.shape != yv.shape or xv.size == 0:
        raise ValueError(f"{requirement}; got shapes {np.shape(x)} and {np.shape(y)}.")
    return xv, yv


def set_log_scale(ax: Axes, axis: str = "y") -> None:
    """Log-scale one axis, labelled with plain numbers (60, 0.5) when it spans 1e-3..1e4.

    Matplotlib's default labels a short log axis ``6 x 10^1``; the lessons' loss curves read better
    as ``60``. Wide axes keep the ``10^k`` labels.
    """
    from matplotlib.ticker import LogFormatterSciNotation

    class PlainLogFormatter(LogFormatterSciNotation):
        def __call__(self, x: float, pos: int | None = None) -> str:
            text = str(super().__call__(x, pos))
            if not text or self.axis is None:
                return text
            low, high = sorted(self.axis.get_view_interval())
            return f"{x:.4g}" if low >= 1e-3 and high <= 1e4 else text

    check_choice("axis", axis, ("x", "y"))
    if axis == "y":
        ax.set_yscale("log")
    else:
        ax.set_xscale("log")
    target: Any = ax.yaxis if axis == "y" else ax.xaxis
    target.set_major_formatter(PlainLogFormatter(base=10.0))
    target.set_minor_formatter(PlainLogFormatter(base=10.0, labelOnlyBase=False))
