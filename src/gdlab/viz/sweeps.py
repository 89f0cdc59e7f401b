"""Comparisons across runs: a learning-rate sweep and a preview of learning-rate schedules."""

from __future__ import annotations

import numbers
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

from gdlab.viz.curves import loss_series
from gdlab.viz.style import DIVERGED_COLOR, finish_axes, get_axes, series_color, set_log_scale

if TYPE_CHECKING:
    from matplotlib.artist import Artist
    from matplotlib.axes import Axes
    from matplotlib.lines import Line2D

__all__ = ["plot_lr_sweep", "plot_schedules", "schedule_values", "sweep_runs"]

Array = NDArray[np.float64]


def sweep_runs(result: Any) -> list[dict[str, Any]]:
    """One dict per run of a sweep: ``value``, ``label``, ``epochs``, ``losses``, ``final_loss``,
    ``diverged``.

    ``result`` is anything with the :class:`gdlab.sweep` result's fields ``param``, ``values``,
    ``histories`` (History or None each), ``final_loss`` and ``diverged``.

    Examples
    --------
    >>> from types import SimpleNamespace
    >>> r = SimpleNamespace(param="learning_rate", values=[0.1], histories=[None],
    ...                     final_loss=[float("nan")], diverged=[True])
    >>> sweep_runs(r)[0]["label"]
    'learning_rate = 0.1 (diverged)'
    """
    missing = [
        f
        for f in ("param", "values", "histories", "final_loss", "diverged")
        if not hasattr(result, f)
    ]
    if missing:
        raise TypeError(
            f"plot_lr_sweep needs a sweep result (gdlab.sweep); {type(result).__name__} has no "
            f"{', '.join(missing)}."
        )
    values = list(result.values)
    fields = {
        "histories": result.histories,
        "final_loss": result.final_loss,
        "diverged": result.diverged,
    }
    for field, seq in fields.items():
        if len(seq) != len(values):
            raise ValueError(
                f"The sweep result has {len(values)} values but {len(seq)} entries in {field!r}."
            )
    if not values:
        raise ValueError("The sweep result has no runs to plot.")
    runs = []
    for value, history, final, diverged in zip(
        values, result.histories, result.final_loss, result.diverged, strict=True
    ):
        if history is None or len(history.loss) == 0:
            epochs, losses = np.empty(0), np.empty(0)
        else:
            epochs, losses = loss_series(history, "epoch")
        value_text = f"{value:g}" if isinstance(value, numbers.Real) else str(value)
        label = f"{result.param} = {value_text}" + (" (diverged)" if diverged else "")
        runs.append(
            {
                "value": value,
                "value_text": value_text,
                "label": label,
                "epochs": epochs,
                "losses": losses,
                "final_loss": float(final),
                "diverged": bool(diverged),
            }
        )
    return runs


def _as_axes_list(axes: Any) -> list[Axes] | None:
    """None, a single Axes (-> None: overlay mode is decided by the caller) or a flat list."""
    from matplotlib.axes import Axes

    if axes is None or isinstance(axes, Axes):
        return None
    return list(np.asarray(axes, dtype=object).ravel())


def plot_lr_sweep(
    result: Any,
    axes: Any = None,
    *,
    log: bool = True,
    title: str | None = "Effect of the learning rate on training",
    ylabel: str = "Loss",
) -> list[Artist]:
    """Draw the loss curve of every run of a sweep, marking the runs that diverged in red.

    With ``axes`` None or one Axes, all runs share one axes (one curve per value, log y);
    diverged runs are red, labelled "(diverged)", and listed in the title. With a sequence (or
    array) of Axes, each run gets its own panel, like the lesson's 2 x 2 grid, whose title gives
    the final loss or says it diverged (in red).

    Parameters
    ----------
    result : SweepResult
        From :func:`gdlab.sweep` (fields ``param, values, histories, final_loss, diverged``).
    axes : Axes or sequence of Axes, optional
        Where to draw; a new figure is made when None.
    log : bool, default True
        Log-scaled y axis.

    Returns
    -------
    list of Artist
        One Line2D per run (empty for a run without a history), in the order of ``values``.

    Examples
    --------
    >>> from types import SimpleNamespace
    >>> from gdlab.history import History
    >>> ok = History(epoch=[0, 1], loss=[4.0, 1.0], n_updates=[1, 2], n_samples_seen=[9, 18])
    >>> bad = History(epoch=[0, 1], loss=[4.0, 1e12], n_updates=[1, 2], n_samples_seen=[9, 18])
    >>> r = SimpleNamespace(param="learning_rate", values=[0.01, 0.1], histories=[ok, bad],
    ...                     final_loss=[1.0, float("nan")], diverged=[False, True])
    >>> [line.get_color() for line in plot_lr_sweep(r)]
    ['steelblue', 'red']
    """
    runs = sweep_runs(result)
    panels = _as_axes_list(axes)
    if panels is None:
        ax = get_axes(axes)
        return _plot_overlay(ax, runs, str(result.param), log=log, title=title, ylabel=ylabel)
    return _plot_panels(panels, runs, str(result.param), log=log, title=title, ylabel=ylabel)


_DIVERGED_STYLES = ("--", ":", "-.")


def _plot_overlay(
    ax: Axes, runs: list[dict[str, Any]], param: str, *, log: bool, title: str | None, ylabel: str
) -> list[Artist]:
    """All runs on one axes; diverged ones red (dashed, dotted...), the view capped above the
    stable runs so that they stay readable while the diverged curves leave through the top."""
    lines: list[Artist] = []
    n_stable = n_diverged = 0
    for run in runs:
        style: dict[str, Any]
        if run["diverged"]:
            style = {
                "color": DIVERGED_COLOR,
                "linestyle": _DIVERGED_STYLES[n_diverged % len(_DIVERGED_STYLES)],
                "marker": "x",
                "markersize": 5,
            }
            n_diverged += 1
        else:
            style = {"color": series_color(n_stable), "linestyle": "-"}
            n_stable += 1
        lines += ax.plot(run["epochs"], run["losses"], linewidth=2, label=run["label"], **style)
    diverged = [run["value_text"] for run in runs if run["diverged"]]
    full_title = title
    if diverged:
        note = f"diverged: {param} = {', '.join(diverged)}"
        full_title = f"{title}\n({note})" if title else note
    if log:
        set_log_scale(ax)
    stable = [
        np.nanmax(run["losses"]) for run in runs if not run["diverged"] and run["losses"].size
    ]
    if diverged and stable and np.isfinite(np.nanmax(stable)):
        top = float(np.nanmax(stable))
        low, high = ax.get_ylim()
        cap = top * 1e3 if log and top > 0 else top + 0.5 * (top - low)
        if high > cap:
            ax.set_ylim(low, cap)
    finish_axes(ax, title=full_title, xlabel="Epoch", ylabel=ylabel, legend=True)
    return lines


def _plot_panels(
    panels: list[Axes],
    runs: list[dict[str, Any]],
    param: str,
    *,
    log: bool,
    title: str | None,
    ylabel: str,
) -> list[Artist]:
    """One panel per run, titled with its final loss or, in red, that it diverged."""
    if len(panels) < len(runs):
        raise ValueError(f"axes has {len(panels)} panels but the sweep has {len(runs)} runs.")
    lines: list[Artist] = []
    for ax, run in zip(panels, runs, strict=False):
        color = DIVERGED_COLOR if run["diverged"] else "steelblue"
        lines += ax.plot(run["epochs"], run["losses"], color=color, linewidth=2, label=run["label"])
        if run["diverged"]:
            panel_title = f"{param} = {run['value_text']}: DIVERGED"
        else:
            panel_title = f"{param} = {run['value_text']}: final loss = {run['final_loss']:.4g}"
        if log and np.any(run["losses"] > 0):
            set_log_scale(ax)
        finish_axes(ax, title=panel_title, xlabel="Epoch", ylabel=ylabel, legend=False)
        if run["diverged"]:
            ax.title.set_color(DIVERGED_COLOR)
    for ax in panels[len(runs) :]:
        ax.set_visible(False)
    if title:
        panels[0].figure.suptitle(title)
    return lines


def schedule_values(schedule: Callable[[int], Any], n_steps: int) -> Array:
    """The learning rate ``schedule(t)`` for ``t = 0, 1, ..., n_steps - 1``.

    Examples
    --------
    >>> from gdlab import schedules
    >>> schedule_values(schedules.step_decay(1.0, step_size=2, gamma=0.5), 5).tolist()
    [1.0, 1.0, 0.5, 0.5, 0.25]
    """
    if isinstance(n_steps, bool) or not isinstance(n_steps, int | np.integer) or n_steps < 1:
        raise ValueError(f"n_steps must be a positive int. Got {n_steps!r}.")
    if not callable(schedule):
        raise TypeError(f"A schedule must be callable as schedule(step); got {schedule!r}.")
    return np.array([float(schedule(t)) for t in range(int(n_steps))])


def plot_schedules(
    schedules: Mapping[str, Callable[[int], Any]],
    n_steps: int,
    ax: Axes | None = None,
    *,
    log: bool = False,
    title: str | None = "Learning-rate schedules",
) -> list[Line2D]:
    """Draw the learning rate against the step for each schedule.

    Parameters
    ----------
    schedules : dict of str to callable
        Name (legend label) -> schedule, a function of the update count ``t`` (0 for the first).
    n_steps : int
        Number of steps to draw.
    ax : matplotlib Axes, optional
        Where to draw; a new figure is made when None.
    log : bool, default False
        Log-scaled y axis.

    Returns
    -------
    list of Line2D
        One line per schedule.

    Examples
    --------
    >>> from gdlab import schedules
    >>> lines = plot_schedules({"cosine": schedules.cosine_decay(0.1, decay_steps=10)}, 11)
    >>> round(float(lines[0].get_ydata()[-1]), 12)
    0.0
    """
    if not isinstance(schedules, Mapping) or not schedules:
        raise ValueError("schedules must be a non-empty dict of name -> schedule.")
    values = {}
    for name, schedule in schedules.items():
        try:
            values[name] = schedule_values(schedule, n_steps)
        except TypeError as exc:
            raise TypeError(f"schedules[{name!r}]: {exc}") from exc
    ax = get_axes(ax)
    steps = np.arange(int(n_steps))
    lines: list[Line2D] = []
    for i, (name, rates) in enumerate(values.items()):
        (line,) = ax.plot(
            steps, rates, color=series_color(i), linewidth=2, drawstyle="steps-post", label=name
        )
        lines.append(line)
    if log:
        set_log_scale(ax)
    finish_axes(ax, title=title, xlabel="Step (updates)", ylabel="Learning rate", legend=True)
    return lines
