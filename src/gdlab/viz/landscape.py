"""Loss landscapes: a function evaluated on a grid, drawn as contours with optimizer paths on top.

:func:`landscape_grid` and :func:`contour_levels` compute; :func:`plot_landscape` draws.
:func:`mse_landscape` builds the mean-squared-error surface of a line fit over ``(w, b)``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

from gdlab.viz.style import finish_axes, get_axes, one_feature, series_color

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = [
    "as_paths",
    "contour_levels",
    "landscape_grid",
    "mse_landscape",
    "plot_landscape",
    "resolve_function",
]

Array = NDArray[np.float64]


def _limits(name: str, value: Any) -> tuple[float, float]:
    try:
        lo, hi = (float(v) for v in value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a pair (low, high) of numbers. Got {value!r}.") from None
    if not (np.isfinite(lo) and np.isfinite(hi) and lo < hi):
        raise ValueError(f"{name} must be finite with low < high. Got {value!r}.")
    return lo, hi


def resolve_function(
    fun: Any, xlim: Any, ylim: Any, minima: Any
) -> tuple[Callable[[Array], Any], tuple[float, float], tuple[float, float], Array, str | None]:
    """Fill ``xlim``, ``ylim`` and ``minima`` from a TestFunction when they are not given.

    Returns ``(callable, xlim, ylim, minima as (k, 2) array, name or None)``.
    """
    name = getattr(fun, "name", None) if hasattr(fun, "minima") else None
    if xlim is None:
        xlim = getattr(fun, "xlim", None)
    if ylim is None:
        ylim = getattr(fun, "ylim", None)
    if minima is None:
        minima = getattr(fun, "minima", ())
    if xlim is None or ylim is None:
        raise ValueError("xlim and ylim are required unless fun is a gdlab TestFunction.")
    if not callable(fun):
        raise TypeError(f"fun must be callable on points (2, ...); got {type(fun).__name__}.")
    mins = np.asarray(minima, dtype=float).reshape(-1, 2) if len(minima) else np.empty((0, 2))
    return fun, _limits("xlim", xlim), _limits("ylim", ylim), mins, name


def landscape_grid(
    fun: Callable[[Array], Any],
    xlim: Sequence[float],
    ylim: Sequence[float],
    resolution: int = 200,
) -> tuple[Array, Array, Array]:
    """Evaluate ``fun`` on a regular ``resolution x resolution`` grid.

    ``fun`` is called once on the stacked grid ``np.stack([X, Y])`` of shape ``(2, H, W)``
    (vectorised); if that fails or gives the wrong shape it is called point by point.

    Parameters
    ----------
    fun : callable
        ``fun(p)`` with ``p[0]`` the x and ``p[1]`` the y coordinate.
    xlim, ylim : (float, float)
        The window.
    resolution : int, default 200
        Number of grid points along each axis.

    Returns
    -------
    X, Y, Z : ndarray of shape (resolution, resolution)
        The coordinates and the function's values (non-finite values become NaN).

    Examples
    --------
    >>> X, Y, Z = landscape_grid(lambda p: p[0] ** 2 + p[1] ** 2, (-1, 1), (-1, 1), resolution=3)
    >>> Z.tolist()
    [[2.0, 1.0, 2.0], [1.0, 0.0, 1.0], [2.0, 1.0, 2.0]]
    """
    if isinstance(resolution, bool) or not isinstance(resolution, int | np.integer):
        raise TypeError(f"resolution must be an int >= 2. Got {resolution!r}.")
    if resolution < 2:
        raise ValueError(f"resolution must be an int >= 2. Got {resolution}.")
    (x0, x1), (y0, y1) = _limits("xlim", xlim), _limits("ylim", ylim)
    X, Y = np.meshgrid(np.linspace(x0, x1, resolution), np.linspace(y0, y1, resolution))
    grid = np.stack([X, Y])
    Z: Array | None = None
    with np.errstate(all="ignore"):
        try:
            out = np.asarray(fun(grid), dtype=float)
            if out.shape == X.shape:
                Z = out
        except (TypeError, ValueError, IndexError):
            Z = None
        if Z is None:
            flat = grid.reshape(2, -1).T
            Z = np.array([float(fun(point)) for point in flat]).reshape(X.shape)
    return X, Y, np.where(np.isfinite(Z), Z, np.nan)


def contour_levels(Z: Array, n: int = 30, *, log_scale: bool = False) -> Array:
    """Contour levels for ``Z``: ``n`` evenly spaced values, or log-spaced above the minimum.

    Log spacing (for steep functions such as Rosenbrock) puts levels at
    ``min(Z) + geomspace(d, max(Z) - min(Z), n)``, with ``d`` the smallest positive height above the
    minimum, so the flat valley floor gets as many lines as the steep walls.

    Examples
    --------
    >>> contour_levels(np.array([[0.0, 1.0], [10.0, 100.0]]), 3, log_scale=True).tolist()
    [1.0, 10.0, 100.0]
    """
    if isinstance(n, bool) or not isinstance(n, int | np.integer) or n < 1:
        raise ValueError(f"levels must be a positive int or a sequence of values. Got {n!r}.")
    finite = Z[np.isfinite(Z)]
    if finite.size == 0:
        raise ValueError("The function is not finite anywhere in the window: nothing to draw.")
    lo, hi = float(finite.min()), float(finite.max())
    if hi <= lo:
        return np.array([lo])
    if not log_scale:
        return np.linspace(lo, hi, n)
    heights = finite - lo
    positive = heights[heights > 0]
    first = max(float(positive.min()), (hi - lo) * 1e-9)
    return np.asarray(lo + np.geomspace(first, hi - lo, n))


def mse_landscape(x: Any, y: Any) -> Callable[[Array], Any]:
    """The mean squared error of the line ``w x + b`` as a function of ``p = (w, b)``.

    ``MSE(w, b) = mean((y - w x - b)^2)``, evaluated from the data's moments
    ``mean(y^2) - 2 w mean(x y) - 2 b mean(y) + w^2 mean(x^2) + 2 w b mean(x) + b^2``, so a whole
    grid ``p`` of shape ``(2, H, W)`` costs no more than one point (no loop over the data).

    Parameters
    ----------
    x, y : array-like of shape (n_samples,)
        One feature (or shape (n, 1)) and the target.

    Returns
    -------
    callable
        ``f(p)`` for ``p`` of shape ``(2, ...)``, usable by :func:`plot_landscape`.

    Examples
    --------
    >>> f = mse_landscape([0.0, 1.0, 2.0], [1.0, 3.0, 5.0])
    >>> float(f(np.array([2.0, 1.0]))), float(f(np.array([0.0, 0.0])))
    (0.0, 11.666666666666666)
    """
    xv, yv = one_feature(
        x, y, "mse_landscape needs one feature x (shape (n,) or (n, 1)) and y of the same length"
    )
    if not (np.all(np.isfinite(xv)) and np.all(np.isfinite(yv))):
        raise ValueError("x and y must be finite (no NaN or infinity).")
    # Centre the data first: the moments then stay small and the sum loses no precision.
    xm, ym = float(xv.mean()), float(yv.mean())
    xc, yc = xv - xm, yv - ym
    sxx, sxy, syy = float(np.mean(xc * xc)), float(np.mean(xc * yc)), float(np.mean(yc * yc))

    def mse(p: Array) -> Any:
        p = np.asarray(p, dtype=float)
        w, b = p[0], p[1]
        # residual y - w x - b = (yc - w xc) + (ym - w xm - b); the cross term averages to zero.
        offset = ym - w * xm - b
        return syy - 2.0 * w * sxy + w * w * sxx + offset * offset

    return mse


def as_paths(paths: Any) -> dict[str, Array]:
    """Normalise ``paths`` (None, one (n, 2) array or a dict label -> array) to a dict of arrays."""
    if paths is None:
        return {}
    if not isinstance(paths, Mapping):
        paths = {"Path": paths}
    out: dict[str, Array] = {}
    for label, path in paths.items():
        arr = np.asarray(path.param_path() if hasattr(path, "param_path") else path, dtype=float)
        if arr.ndim != 2 or arr.shape[1] != 2 or arr.shape[0] == 0:
            raise ValueError(
                f"paths[{label!r}] must be an array of shape (n_points, 2); got shape {arr.shape}."
            )
        out[str(label)] = arr
    return out


def _draw_paths(
    ax: Axes, paths: dict[str, Array], start_marker: bool
) -> tuple[dict[str, Any], list[Any], dict[str, Any], list[Any]]:
    """Draw each path (line with markers), its start (green circle) and its end (star).

    Returns the path lines, start markers, end markers and the legend handles in order: the paths,
    then "Start", then "End" (a neutral star standing for all ends when there are several paths).
    """
    from matplotlib.lines import Line2D

    lines: dict[str, Any] = {}
    starts: list[Any] = []
    ends: dict[str, Any] = {}
    colors = {label: "red" if len(paths) == 1 else series_color(i) for i, label in enumerate(paths)}
    for label, path in paths.items():
        (lines[label],) = ax.plot(
            path[:, 0],
            path[:, 1],
            ".-",
            color=colors[label],
            markersize=3 if path.shape[0] <= 200 else 1.5,
            linewidth=1.2,
            alpha=0.8,
            label=label,
        )
    handles: list[Any] = list(lines.values())
    for label, path in paths.items():
        if start_marker:
            starts.append(
                ax.plot(path[0, 0], path[0, 1], "o", color="green", markersize=9, zorder=4)[0]
            )
        (ends[label],) = ax.plot(
            path[-1, 0],
            path[-1, 1],
            "*",
            color=colors[label],
            markeredgecolor="black",
            markersize=15,
            zorder=5,
        )
    if starts:
        starts[0].set_label("Start")
        handles.append(starts[0])
    if len(ends) == 1:
        end = next(iter(ends.values()))
        end.set_label("End")
        handles.append(end)
    elif ends:
        proxy = Line2D([], [], color="lightgray", marker="*", markersize=15, linestyle="none")
        proxy.set_markeredgecolor("black")
        proxy.set_label("End (path colour)")
        handles.append(proxy)
    return lines, starts, ends, handles


def plot_landscape(
    fun: Any,
    ax: Axes | None = None,
    *,
    xlim: Sequence[float] | None = None,
    ylim: Sequence[float] | None = None,
    paths: Any = None,
    minima: Any = None,
    start_marker: bool = True,
    levels: int | Sequence[float] = 30,
    log_scale: bool = False,
    resolution: int = 200,
    filled: bool = False,
    colorbar: bool = False,
    title: str | None = None,
    xlabel: str = "x",
    ylabel: str = "y",
    minimum_label: str | None = None,
) -> dict[str, Any]:
    """Draw a function's contours with optimizer paths, their start and end, and the minima.

    Parameters
    ----------
    fun : TestFunction or callable
        The function of ``p = (x, y)``, evaluated on grids of shape ``(2, H, W)`` (see
        :func:`landscape_grid`). A :class:`gdlab.testfunctions.TestFunction` also supplies the
        window, its minima and the title.
    ax : matplotlib Axes, optional
        Where to draw; a new figure is made when None.
    xlim, ylim : (float, float)
        The window (required for a plain callable).
    paths : dict of str to array of shape (n, 2), or one array, optional
        Optimizer paths: each drawn as a line with markers, the start as a green circle and the
        end as a star in the path's colour.
    minima : sequence of (x, y), optional
        Known minima, drawn as black crosses (default: the TestFunction's; ``()`` for none).
    levels : int or sequence of float, default 30
        Number of contour levels, or the levels themselves.
    log_scale : bool, default False
        Log-spaced levels (see :func:`contour_levels`), for steep functions such as Rosenbrock.
    resolution : int, default 200
        Grid points per axis.
    filled, colorbar : bool
        Filled contours and a colour bar.
    minimum_label : str, optional
        Legend label of the minima: "Exact minimum" for one, "Minima" for several by default.

    Returns
    -------
    dict
        ``"contour"`` (the ContourSet), ``"paths"`` and ``"ends"`` (label -> Line2D),
        ``"starts"`` (list of Line2D), ``"minima"`` (Line2D or None), ``"legend"`` (or None) and
        ``"grid"`` (the ``(X, Y, Z)`` arrays drawn).

    Examples
    --------
    >>> from gdlab.testfunctions import get
    >>> art = plot_landscape(get("quadratic"), paths={"GD": [[-4, 1.5], [-3, 0.5], [-2, 0.0]]})
    >>> art["ends"]["GD"].get_xydata().tolist()
    [[-2.0, 0.0]]
    """
    fn, (x0, x1), (y0, y1), mins, name = resolve_function(fun, xlim, ylim, minima)
    path_arrays = as_paths(paths)
    X, Y, Z = landscape_grid(fn, (x0, x1), (y0, y1), resolution)
    if isinstance(levels, int | np.integer) and not isinstance(levels, bool):
        level_values = contour_levels(Z, int(levels), log_scale=log_scale)
    else:
        level_values = np.sort(np.asarray(levels, dtype=float))
    ax = get_axes(ax, figsize=(7.0, 6.0))
    draw = ax.contourf if filled else ax.contour
    contour = draw(X, Y, np.ma.masked_invalid(Z), levels=level_values, cmap="viridis", alpha=0.6)
    if colorbar:
        ax.figure.colorbar(contour, ax=ax, label="Loss" if name is None else f"{name}(x, y)")
    out: dict[str, Any] = {"contour": contour}
    out["paths"], out["starts"], out["ends"], handles = _draw_paths(ax, path_arrays, start_marker)
    out["minima"] = _draw_minima(ax, mins, minimum_label)
    if out["minima"] is not None:
        handles.append(out["minima"])
    ax.set_xlim(x0, x1)
    ax.set_ylim(y0, y1)
    finish_axes(
        ax,
        title=_landscape_title(name, log_scale) if title is None else title,
        xlabel=xlabel,
        ylabel=ylabel,
        legend=bool(handles),
        legend_kw={"handles": handles, "fontsize": 8},
    )
    out["legend"] = ax.get_legend()
    out["grid"] = (X, Y, Z)
    return out


def _draw_minima(ax: Any, mins: Any, label: str | None) -> Any:
    """Black crosses at the known minima (None when there are none)."""
    if not mins.shape[0]:
        return None
    if label is None:
        label = "Exact minimum" if mins.shape[0] == 1 else "Minima"
    (marker,) = ax.plot(
        mins[:, 0],
        mins[:, 1],
        "x",
        color="black",
        markersize=11,
        markeredgewidth=2.5,
        zorder=6,
        linestyle="none",
        label=label,
    )
    return marker


def _landscape_title(name: str | None, log_scale: bool) -> str:
    """The default title: the function's name and how its contours are spaced."""
    title = "Loss landscape" if name is None else f"{name.replace('_', ' ').capitalize()} landscape"
    return title + (" (log-spaced contours)" if log_scale else "")
