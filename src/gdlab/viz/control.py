"""Control-engineering views of an optimizer: step responses and the poles of the loop.

Examples
--------
>>> import numpy as np
>>> from gdlab.viz.control import plot_step_responses
>>> art = plot_step_responses({"P": 1 - 0.5 ** np.arange(10)})
>>> art["lines"]["P"].get_ydata()[:3].tolist()
[0.0, 0.5, 0.75]
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np

from gdlab.viz.style import finish_axes, get_axes, series_color

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = ["plot_poles", "plot_step_responses"]


def plot_step_responses(
    responses: Mapping[str, Any],
    ax: Axes | None = None,
    *,
    band: float | None = 0.02,
    setpoint: float = 1.0,
    title: str | None = "Step responses",
    xlabel: str = "step",
    ylabel: str = "progress to the exact parameters (1 = reached)",
    legend_loc: str = "best",
) -> dict[str, Any]:
    """Draw step responses (one value per step, starting at step 0) against the setpoint.

    Parameters
    ----------
    responses : dict of str to sequence of float
        Each curve, for example ``1 - e_t / e_0`` (0 at the start, 1 at the target).
    ax : matplotlib Axes, optional
        Where to draw; a new figure is made when None.
    band : float or None, default 0.02
        Shade ``setpoint +/- band`` (the settling band); None for no band.
    setpoint : float, default 1.0
        Drawn as a dashed black line.
    legend_loc : str, default "best"
        Where matplotlib puts the legend.

    Returns
    -------
    dict
        ``"lines"`` (label -> Line2D), ``"setpoint"`` (Line2D) and ``"band"`` (the shaded
        polygon or None).
    """
    ax = get_axes(ax)
    lines: dict[str, Any] = {}
    for i, (label, values) in enumerate(responses.items()):
        y = np.asarray(values, dtype=float).ravel()
        (lines[label],) = ax.plot(
            np.arange(y.size),
            y,
            ".-",
            color=series_color(i),
            linewidth=1.6,
            markersize=4,
            label=label,
        )
    shade = None
    if band is not None:
        shade = ax.axhspan(
            setpoint - band,
            setpoint + band,
            color="gray",
            alpha=0.25,
            label=f"settling band (+/-{band:.0%})",
        )
    target = ax.axhline(setpoint, color="black", linestyle="--", linewidth=1, label="target")
    finish_axes(
        ax,
        title=title,
        xlabel=xlabel,
        ylabel=ylabel,
        legend=True,
        legend_kw={"fontsize": 8, "loc": legend_loc},
    )
    return {"lines": lines, "setpoint": target, "band": shade}


def plot_poles(
    poles: Mapping[str, Any],
    ax: Axes | None = None,
    *,
    title: str | None = "Poles of the loop",
) -> dict[str, Any]:
    """Draw each loop's poles in the complex plane with the unit circle (stability boundary).

    Parameters
    ----------
    poles : dict of str to sequence of complex
        The poles of each loop.
    ax : matplotlib Axes, optional
        Where to draw; a new figure is made when None.

    Returns
    -------
    dict
        ``"points"`` (label -> the Line2D of its poles) and ``"circle"`` (the unit circle).

    Examples
    --------
    >>> art = plot_poles({"P": [0.5], "PI": [0.9 + 0.2j, 0.9 - 0.2j]})
    >>> art["points"]["PI"].get_xydata().tolist()
    [[0.9, 0.2], [0.9, -0.2]]
    """
    ax = get_axes(ax, figsize=(6.0, 6.0))
    angle = np.linspace(0.0, 2.0 * np.pi, 361)
    (circle,) = ax.plot(np.cos(angle), np.sin(angle), color="black", linewidth=1, label="|z| = 1")
    points: dict[str, Any] = {}
    markers = "osD^v<>ph*X"
    for i, (label, values) in enumerate(poles.items()):
        z = np.asarray(values, dtype=complex).ravel()
        (points[label],) = ax.plot(
            z.real,
            z.imag,
            markers[i % len(markers)],
            color=series_color(i),
            markersize=8,
            alpha=0.85,
            linestyle="none",
            label=label,
        )
    ax.axhline(0.0, color="gray", linewidth=0.6)
    ax.axvline(0.0, color="gray", linewidth=0.6)
    ax.set_aspect("equal")
    ax.set_xlim(-1.15, 1.15)
    ax.set_ylim(-1.15, 1.15)
    finish_axes(
        ax,
        title=title,
        xlabel="real part",
        ylabel="imaginary part",
        legend=True,
        legend_kw={"fontsize": 7, "loc": "center left", "bbox_to_anchor": (1.02, 0.5)},
    )
    return {"points": points, "circle": circle}
