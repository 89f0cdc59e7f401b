"""The learning-rate range test's curve, with the suggested rate and the bound 2/L."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from gdlab.viz.style import DIVERGED_COLOR, finish_axes, get_axes, series_color

if TYPE_CHECKING:
    from matplotlib.artist import Artist
    from matplotlib.axes import Axes

__all__ = ["plot_lr_find"]


def plot_lr_find(
    result: Any,
    ax: Axes | None = None,
    *,
    raw: bool = True,
    log: bool = True,
    title: str | None = "Learning-rate range test",
    ylabel: str = "Loss (smoothed)",
) -> list[Artist]:
    """Draw the range test's loss against the learning rate (log x axis).

    The smoothed loss is a solid line (the raw mini-batch losses faint behind it when ``raw``);
    the suggested rate is a dashed vertical line and, when known, the stability bound ``2/L`` a
    dotted red one.

    Parameters
    ----------
    result : LRFindResult
        From :func:`gdlab.lr_find` (fields ``rates, losses, raw_losses, suggested,
        bound_2_over_L``).
    ax : matplotlib Axes, optional
        Where to draw; a new figure is made when None.
    raw : bool, default True
        Also draw the unsmoothed losses.
    log : bool, default True
        Log-scaled y axis.

    Returns
    -------
    list of Artist
        The smoothed curve, the raw curve (when drawn), the suggestion line, the 2/L line (when
        known).

    Examples
    --------
    >>> import numpy as np
    >>> from types import SimpleNamespace
    >>> r = SimpleNamespace(rates=np.geomspace(1e-4, 1.0, 5), losses=np.array([5, 4, 2, 1, 3.0]),
    ...                     raw_losses=np.array([5, 4, 2, 1, 3.0]), suggested=1e-3,
    ...                     bound_2_over_L=0.5, method="min/10")
    >>> [a.get_label() for a in plot_lr_find(r, raw=False)]
    ['smoothed loss', 'suggested: 0.001 (min/10)', '2/L = 0.5']
    """
    missing = [f for f in ("rates", "losses", "suggested") if not hasattr(result, f)]
    if missing:
        raise TypeError(
            f"plot_lr_find needs an lr_find result (gdlab.lr_find); {type(result).__name__} has "
            f"no {', '.join(missing)}."
        )
    rates = np.asarray(result.rates, dtype=float)
    smoothed = np.asarray(result.losses, dtype=float)
    if rates.size == 0 or rates.shape != smoothed.shape:
        raise ValueError(
            f"The result has {rates.size} rates and {smoothed.size} losses; need the same "
            "positive number of each."
        )
    ax = get_axes(ax)
    artists: list[Artist] = []
    (line,) = ax.plot(rates, smoothed, color=series_color(0), linewidth=2, label="smoothed loss")
    artists.append(line)
    raw_losses = getattr(result, "raw_losses", None)
    if raw and raw_losses is not None and np.shape(raw_losses) == rates.shape:
        (faint,) = ax.plot(
            rates, raw_losses, color=series_color(0), linewidth=1, alpha=0.3, label="raw loss"
        )
        artists.append(faint)
    method = getattr(result, "method", "")
    suffix = f" ({method})" if method else ""
    if result.suggested is not None:  # None: the test was inconclusive
        artists.append(
            ax.axvline(
                float(result.suggested),
                color=series_color(2),
                linestyle="--",
                linewidth=2,
                label=f"suggested: {float(result.suggested):.3g}{suffix}",
            )
        )
    bound = getattr(result, "bound_2_over_L", None)
    if bound is not None and np.isfinite(bound):
        artists.append(
            ax.axvline(
                float(bound),
                color=DIVERGED_COLOR,
                linestyle=":",
                linewidth=2,
                label=f"2/L = {float(bound):.3g}",
            )
        )
    ax.set_xscale("log")
    if log and np.all(smoothed[np.isfinite(smoothed)] > 0):
        ax.set_yscale("log")
    finish_axes(ax, title=title, xlabel="Learning rate (log scale)", ylabel=ylabel, legend=True)
    return artists
