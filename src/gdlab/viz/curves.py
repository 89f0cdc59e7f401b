"""Training curves: loss against epochs/updates/examples, parameter paths, line-fit snapshots.

The ``loss_series``/``as_path`` helpers turn a :class:`~gdlab.history.History` (or plain arrays)
into the numbers to draw; the ``plot_*`` functions only draw them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

from gdlab.viz.style import (
    X_LABELS,
    check_choice,
    finish_axes,
    get_axes,
    one_feature,
    series_color,
    set_log_scale,
)

if TYPE_CHECKING:
    from matplotlib.artist import Artist
    from matplotlib.axes import Axes
    from matplotlib.lines import Line2D

__all__ = [
    "as_path",
    "loss_series",
    "plot_fit_snapshots",
    "plot_loss_curve",
    "plot_modes",
    "plot_params",
]

Array = NDArray[np.float64]
X_CHOICES = tuple(X_LABELS)


def _is_history(obj: Any) -> bool:
    return hasattr(obj, "loss") and hasattr(obj, "n_updates") and hasattr(obj, "epoch")


def _history_x(history: Any, x: str, n: int) -> Array:
    """The x values of a history's ``n`` epochs for the choice ``x``."""
    source = {"epoch": "epoch", "updates": "n_updates", "samples": "n_samples_seen"}[x]
    values = np.asarray(getattr(history, source), dtype=float)
    if values.shape != (n,):
        if x == "epoch" and values.size == 0:
            return np.arange(n, dtype=float)
        raise ValueError(
            f"The history has {n} losses but {values.size} entries in {source!r}: cannot plot "
            f"against x={x!r}."
        )
    return values


def loss_series(history_or_losses: Any, x: str = "epoch") -> tuple[Array, Array]:
    """The ``(x, loss)`` arrays to draw for a history or a plain sequence of losses.

    Parameters
    ----------
    history_or_losses : History or sequence of float
        A training record, or the losses per epoch.
    x : {"epoch", "updates", "samples"}
        What the x axis counts: the epoch number, the cumulative number of parameter updates at the
        end of each epoch (``History.n_updates``), or the cumulative number of examples seen
        (``History.n_samples_seen``). Plain losses can only be drawn against epochs.

    Returns
    -------
    x_values, losses : ndarray
        Non-finite losses (a diverged run) are returned as NaN, which is drawn as a gap.

    Examples
    --------
    >>> loss_series([4.0, 2.0, 1.0])
    (array([0., 1., 2.]), array([4., 2., 1.]))
    """
    check_choice("x", x, X_CHOICES)
    if _is_history(history_or_losses):
        losses = np.asarray(history_or_losses.loss, dtype=float)
        xs = _history_x(history_or_losses, x, losses.size)
    else:
        losses = np.asarray(history_or_losses, dtype=float)
        if losses.ndim != 1:
            raise ValueError(
                f"The losses must be a 1-D sequence (one per epoch). Got shape {losses.shape}."
            )
        if x != "epoch":
            raise ValueError(
                f"x={x!r} needs a History (with n_updates and n_samples_seen); plain losses can "
                "only be drawn against x='epoch'."
            )
        xs = np.arange(losses.size, dtype=float)
    if losses.size == 0:
        raise ValueError("There are no losses to plot (the history is empty).")
    return xs, np.where(np.isfinite(losses), losses, np.nan)


def plot_loss_curve(
    history_or_losses: Any,
    ax: Axes | None = None,
    *,
    x: str = "epoch",
    label: str | None = None,
    log: bool = True,
    validation: bool = True,
    title: str | None = "Training loss",
    ylabel: str = "Loss",
    **line_kw: Any,
) -> list[Line2D]:
    """Draw the loss per epoch against epochs, updates or examples seen.

    Parameters
    ----------
    history_or_losses : History or sequence of float
        A fitted model's ``history_`` (or ``result.history``), or the losses themselves.
    ax : matplotlib Axes, optional
        Where to draw; a new figure is made when None.
    x : {"epoch", "updates", "samples"}, default "epoch"
        The x axis (see :func:`loss_series`).
    label : str, optional
        Legend label of the training curve.
    log : bool, default True
        Log-scaled y axis, which shows both the fast early drop and the slow end of training.
    validation : bool, default True
        Also draw the validation loss (dashed) when the history has one.
    title, ylabel : str
        Title and y-axis label (for example ``ylabel="MSE loss"``).
    **line_kw
        Passed to ``Axes.plot`` for the training curve.

    Returns
    -------
    list of Line2D
        The training curve, then the validation curve when drawn.

    Examples
    --------
    >>> lines = plot_loss_curve([4.0, 2.0, 1.0], ylabel="MSE loss")
    >>> lines[0].get_ydata().tolist()
    [4.0, 2.0, 1.0]
    """
    xs, losses = loss_series(history_or_losses, x)
    ax = get_axes(ax)
    line_kw.setdefault("linewidth", 2)
    val = None
    if validation and _is_history(history_or_losses):
        raw = [np.nan if v is None else v for v in history_or_losses.val_loss]
        if len(raw) == losses.size and not np.all(np.isnan(np.asarray(raw, dtype=float))):
            val = np.asarray(raw, dtype=float)
    if label is None and val is not None:
        label = "Training loss"
    lines = ax.plot(xs, losses, label=label, **line_kw)
    if val is not None:
        lines += ax.plot(
            xs, val, linestyle="--", linewidth=line_kw["linewidth"], label="Validation loss"
        )
    if log:
        set_log_scale(ax)
    finish_axes(ax, title=title, xlabel=X_LABELS[x], ylabel=ylabel, legend=label is not None)
    return list(lines)


def as_path(history_or_path: Any) -> Array:
    """The parameter path as a ``(n_points, n_params)`` float array.

    Accepts a :class:`~gdlab.history.History` recorded with ``record_params=True`` (its
    :meth:`~gdlab.history.History.param_path`) or an array; a 1-D array is one parameter.

    Examples
    --------
    >>> as_path([1.0, 2.0]).shape
    (2, 1)
    """
    if hasattr(history_or_path, "param_path"):
        path = np.asarray(history_or_path.param_path(), dtype=float)
    else:
        path = np.asarray(history_or_path, dtype=float)
    if path.ndim == 1:
        path = path[:, None]
    if path.ndim != 2 or path.shape[0] == 0:
        raise ValueError(
            "The parameter path must be a 2-D array (n_points, n_params) with at least one point. "
            f"Got shape {path.shape}."
        )
    return path


def _targets_list(targets: Any, names: Sequence[str]) -> list[float | None]:
    if targets is None:
        return [None] * len(names)
    if isinstance(targets, Mapping):
        unknown = set(targets) - set(names)
        if unknown:
            raise ValueError(f"targets names {sorted(unknown)} are not among names {list(names)}.")
        return [None if targets.get(n) is None else float(targets[n]) for n in names]
    values = list(np.ravel(np.asarray(targets, dtype=object)))
    if len(values) != len(names):
        raise ValueError(
            f"targets has {len(values)} values but there are {len(names)} parameters {list(names)}."
        )
    return [None if v is None else float(v) for v in values]


def plot_params(
    history_or_path: Any,
    ax: Axes | None = None,
    *,
    names: Sequence[str] = ("w", "b"),
    targets: Any = None,
    epochs: Sequence[float] | None = None,
    target_label: str = "target",
    title: str | None = "Parameters over training",
    ylabel: str = "Parameter value",
) -> list[Line2D]:
    """Draw each parameter against the epoch, with dashed lines at the values it should reach.

    Parameters
    ----------
    history_or_path : History or array of shape (n_points, n_params)
        The path: the start, then the parameters after each epoch.
    ax : matplotlib Axes, optional
        Where to draw; a new figure is made when None.
    names : sequence of str, default ("w", "b")
        One name per column of the path.
    targets : sequence or dict, optional
        The true or exact value of each parameter (None to skip one), drawn as dashed lines.
    epochs : sequence of float, optional
        The x value of each point; ``0, 1, ..., n_points - 1`` by default (0 is the start).
    target_label : str, default "target"
        Word used in the legend for the dashed lines (for example "exact" or "true").

    Returns
    -------
    list of Line2D
        The parameter curves, then the target lines.

    Examples
    --------
    >>> lines = plot_params([[0.0, 0.0], [2.0, 5.0], [3.0, 7.0]], targets=(3, 7))
    >>> [line.get_label() for line in lines]
    ['w (final: 3.000)', 'b (final: 7.000)', 'w target: 3.000', 'b target: 7.000']
    """
    path = as_path(history_or_path)
    names = list(names)
    if len(names) != path.shape[1]:
        raise ValueError(
            f"names has {len(names)} entries {names} but the path has {path.shape[1]} parameters "
            "per point; pass one name per parameter."
        )
    xs = np.arange(path.shape[0], dtype=float) if epochs is None else np.asarray(epochs, float)
    if xs.shape != (path.shape[0],):
        raise ValueError(f"epochs has {xs.size} values but the path has {path.shape[0]} points.")
    goals = _targets_list(targets, names)
    ax = get_axes(ax)
    lines: list[Line2D] = []
    for j, name in enumerate(names):
        (line,) = ax.plot(
            xs,
            path[:, j],
            color=series_color(j),
            linewidth=2,
            label=f"{name} (final: {path[-1, j]:.3f})",
        )
        lines.append(line)
    for j, (name, goal) in enumerate(zip(names, goals, strict=True)):
        if goal is not None:
            lines.append(
                ax.axhline(
                    goal,
                    color=series_color(j),
                    linestyle="--",
                    alpha=0.5,
                    label=f"{name} {target_label}: {goal:.3f}",
                )
            )
    finish_axes(ax, title=title, xlabel="Epoch", ylabel=ylabel, legend=True)
    return lines


def plot_fit_snapshots(
    x: Any,
    y: Any,
    path: Any,
    ax: Axes | None = None,
    *,
    epochs: Sequence[int] = (0, 5, 20, 50, 199),
    title: str | None = "Line fit over training",
    xlabel: str = "x",
    ylabel: str = "y",
) -> list[Artist]:
    """Draw the data and the fitted line ``y = w x + b`` at a few points of training.

    Parameters
    ----------
    x, y : array-like of shape (n_samples,)
        One feature and the target.
    path : History or array of shape (n_points, 2)
        ``(w, b)`` at the start and after each epoch (``History.param_path()``).
    ax : matplotlib Axes, optional
        Where to draw; a new figure is made when None.
    epochs : sequence of int, default (0, 5, 20, 50, 199)
        Which points of the path to draw (0 is the start; negative counts from the end).

    Returns
    -------
    list of Artist
        The data scatter, then one line per snapshot (coloured from early, dark, to late, yellow).

    Examples
    --------
    >>> artists = plot_fit_snapshots([0, 1, 2], [1, 3, 5], [[0, 0], [2, 1]], epochs=(0, 1))
    >>> artists[-1].get_ydata()[[0, -1]].tolist()
    [1.0, 5.0]
    """
    xv, yv = one_feature(x, y, "x must be one feature (shape (n,) or (n, 1)) and y the same length")
    params = as_path(path)
    if params.shape[1] != 2:
        raise ValueError(f"The path must hold (w, b) pairs; got {params.shape[1]} columns.")
    n = params.shape[0]
    bad = [e for e in epochs if not -n <= int(e) < n]
    if bad:
        raise ValueError(f"epochs {bad} are outside the path, which has points 0..{n - 1}.")
    import matplotlib as mpl

    ax = get_axes(ax)
    artists: list[Artist] = [ax.scatter(xv, yv, s=12, alpha=0.35, color="gray", label="Data")]
    colors = mpl.colormaps["viridis"](np.linspace(0.0, 0.9, max(len(epochs), 1)))
    x_line = np.linspace(xv.min(), xv.max(), 100)
    for color, epoch in zip(colors, epochs, strict=False):
        index = int(epoch) % n
        w, b = params[index]
        (line,) = ax.plot(
            x_line,
            w * x_line + b,
            color=color,
            linewidth=2,
            label=f"Epoch {index}: w={w:.2f}, b={b:.2f}",
        )
        artists.append(line)
    finish_axes(
        ax, title=title, xlabel=xlabel, ylabel=ylabel, legend=True, legend_kw={"fontsize": 8}
    )
    return artists


def plot_modes(
    histories: Mapping[str, Any],
    ax: Axes | None = None,
    *,
    x: str = "epoch",
    log: bool = True,
    logx: bool = False,
    title: str | None = "Batch vs stochastic vs mini-batch",
    ylabel: str = "Loss",
) -> list[Line2D]:
    """Draw the loss of several runs (batch, stochastic, mini-batch) on one axes.

    Parameters
    ----------
    histories : dict of str to History
        The run's name (legend label) and its training record.
    ax : matplotlib Axes, optional
        Where to draw; a new figure is made when None.
    x : {"epoch", "updates", "samples"}, default "epoch"
        The x axis: epochs, cumulative parameter updates (``History.n_updates``: stochastic GD
        makes n per epoch, batch GD one) or examples seen (``History.n_samples_seen``).
    log, logx : bool
        Log-scaled y axis (default) and x axis (useful for ``x="updates"``).

    Returns
    -------
    list of Line2D
        One line per run, in the order of ``histories``.

    Examples
    --------
    >>> from gdlab.history import History
    >>> h = History(epoch=[0, 1], loss=[2.0, 1.0], n_updates=[4, 8], n_samples_seen=[100, 200])
    >>> plot_modes({"mini-batch": h}, x="updates")[0].get_xdata().tolist()
    [4.0, 8.0]
    """
    check_choice("x", x, X_CHOICES)
    if not isinstance(histories, Mapping) or not histories:
        raise ValueError("histories must be a non-empty dict of name -> History.")
    series = {}
    for name, history in histories.items():
        if not _is_history(history):
            raise TypeError(
                f"histories[{name!r}] must be a History (with loss, n_updates, n_samples_seen); "
                f"got {type(history).__name__}."
            )
        series[name] = loss_series(history, x)
    ax = get_axes(ax)
    lines: list[Line2D] = []
    for i, (name, (xs, losses)) in enumerate(series.items()):
        (line,) = ax.plot(
            xs,
            losses,
            color=series_color(i),
            linewidth=1.5,
            alpha=0.85,
            label=f"{name} (final loss {losses[-1]:.4g})",
        )
        lines.append(line)
    if log:
        set_log_scale(ax)
    if logx:
        set_log_scale(ax, "x")
    finish_axes(ax, title=title, xlabel=X_LABELS[x], ylabel=ylabel, legend=True)
    return lines
