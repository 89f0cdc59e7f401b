"""``gdlab landscape``: optimizers racing over a two-dimensional test function."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import click
import numpy as np

from gdlab.cli._errors import EXIT_CODES_EPILOG, verbose_option
from gdlab.cli._options import ChoiceList, FloatList, clip_norm_option, path_option
from gdlab.cli._output import console, esc, fmt, new_figure, print_notes, write_figure
from gdlab.exceptions import DivergenceError
from gdlab.optim import OPTIMIZERS
from gdlab.testfunctions import TEST_FUNCTIONS

#: Default learning rates of the rules whose step is proportional to the gradient (sgd,
#: momentum, nesterov, pid), per function: stable from the function's default start, where the
#: curvature bounds the rate (Rosenbrock's valley needs a small one).
GRADIENT_RATES = {
    "quadratic": 0.05,
    "rosenbrock": 1e-3,
    "himmelblau": 0.01,
    "saddle": 0.05,
    "wavy_bowl": 0.05,
    "quartic": 0.01,
}
#: Default learning rates of the adaptive rules, which move about ``learning_rate`` per step
#: whatever the gradient's size.
ADAPTIVE_RATES = {"adagrad": 0.5, "rmsprop": 0.01, "adam": 0.05, "adamw": 0.05}


def default_rate(function: str, optimizer: str) -> float:
    """The learning rate ``gdlab landscape`` uses when --learning-rate is not given.

    Examples
    --------
    >>> default_rate("rosenbrock", "momentum"), default_rate("rosenbrock", "adam")
    (0.001, 0.05)
    """
    return ADAPTIVE_RATES.get(optimizer, GRADIENT_RATES.get(function, 0.01))


#: Functions whose values span many orders of magnitude get log-spaced contour levels.
LOG_LEVELS = ("rosenbrock", "himmelblau", "quartic")


@click.command(
    epilog=EXIT_CODES_EPILOG, short_help="Race optimizers over a test function; PNG and GIF."
)
@click.option(
    "--function",
    "function_name",
    type=click.Choice(tuple(TEST_FUNCTIONS)),
    default="rosenbrock",
    show_default=True,
    help="The test function.",
)
@click.option(
    "--optimizers",
    type=ChoiceList(tuple(OPTIMIZERS)),
    default="sgd,momentum,adam",
    show_default=True,
    help=f"Update rules to race, comma-separated ({', '.join(OPTIMIZERS)}).",
)
@click.option(
    "--learning-rate",
    "learning_rate",
    type=click.FloatRange(min=0.0, min_open=True),
    default=None,
    help="One step size for every optimizer (default: chosen per function and optimizer, "
    "stable from the function's usual start).",
)
@click.option(
    "--steps", type=click.IntRange(min=1), default=500, show_default=True, help="Updates per run."
)
@click.option(
    "--start",
    type=FloatList(count=2, positive=False),
    default=None,
    metavar="X,Y",
    help="Starting point (default: the function's usual start).",
)
@clip_norm_option("Clip every gradient to this norm (tames exploding gradients).")
@path_option(
    "-o", "--out", metavar="FILE.png", help="The PNG to write (default: landscape-FUNCTION.png)."
)
@path_option("--animate", metavar="FILE.gif", help="Also write an animation of the paths as a GIF.")
@verbose_option
def landscape(
    function_name: str,
    optimizers: list[str],
    learning_rate: float | None,
    steps: int,
    start: list[float] | None,
    clip_norm: float | None,
    out: Path | None,
    animate: Path | None,
) -> None:
    """Race optimizers over a test function and draw their paths on its contour plot.

    \b
    Functions:
      quadratic   a narrow bowl
      rosenbrock  a curved valley
      himmelblau  four minima
      saddle      a saddle point
      wavy_bowl   many local minima
      quartic     exploding gradients (try a large --learning-rate, then --clip-norm 1)

    \b
    Example:
      gdlab landscape --function rosenbrock --optimizers sgd,momentum,adam --start -1.5,2 \\
        --animate paths.gif
    """
    if animate is not None and animate.suffix.lower() != ".gif":
        raise click.BadParameter(f"{animate} must end in .gif.", param_hint="'--animate'")
    out = out if out is not None else Path(f"landscape-{function_name}.png")
    if out.suffix.lower() not in (".png", ".svg", ".pdf", ".jpg", ".jpeg"):
        raise click.BadParameter(
            f"{out} must end in .png (or .svg, .pdf, .jpg).", param_hint="'--out'"
        )
    function = TEST_FUNCTIONS[function_name]
    x0 = np.asarray(start if start is not None else function.start, dtype=float)
    rows, paths = [], {}
    for name in optimizers:
        rate = learning_rate if learning_rate is not None else default_rate(function_name, name)
        row, path = _race(function, name, rate, steps, x0, clip_norm)
        rows.append(row)
        if path is not None and len(path):
            label = f"{name} ({rate:g})" + (" diverged" if row["status"] == "diverged" else "")
            paths[label] = path
    terminal = console()
    terminal.print(_table(function, rows, x0, clip_norm))
    diverged = [row["optimizer"] for row in rows if row["status"] == "diverged"]
    if diverged:
        advice = "a smaller --learning-rate" + ("" if clip_norm else " or --clip-norm 1")
        print_notes(terminal, [f"{', '.join(diverged)} diverged: try {advice}."])
    figure = new_figure(7.0, 6.0)
    xlim, ylim = _window(function, paths)
    from gdlab import viz

    viz.plot_landscape(
        function,
        figure.add_subplot(),
        xlim=xlim,
        ylim=ylim,
        paths=paths,
        log_scale=function_name in LOG_LEVELS,
        title=f"{function_name}: {', '.join(optimizers)} from ({x0[0]:g}, {x0[1]:g})",
    )
    write_figure(terminal, figure, out)
    if animate is not None:
        written = viz.animate_path(
            function,
            paths,
            animate,
            xlim=xlim,
            ylim=ylim,
            log_scale=function_name in LOG_LEVELS,
            title=f"{function_name}: {', '.join(optimizers)}",
        )
        terminal.print(f"Animation written to {esc(written)}")


def _race(
    function: Any, name: str, rate: float, steps: int, x0: Any, clip_norm: float | None
) -> tuple[dict[str, Any], Any]:
    """Minimise ``function`` with one optimizer; returns its table row and its path."""
    from gdlab import optim
    from gdlab._minimizer import minimize

    tx = optim.get(name, rate)
    if clip_norm is not None:
        tx = optim.chain(optim.clip_by_global_norm(clip_norm), tx)
    row: dict[str, Any] = {"optimizer": name, "rate": rate}
    try:
        result = minimize(
            function.fun, x0, jac=function.grad, optimizer=tx, max_iter=steps, tol=1e-8
        )
    except DivergenceError as error:
        history = error.history
        path = history.param_path() if history is not None and history.params else None
        row.update(status="diverged", steps=0 if path is None else len(path) - 1)
        row.update(x=None, value=None, distance=None)
        return row, None if path is None else _finite(path)
    path = result.history.param_path()
    row.update(
        status="converged" if result.success else "ok",
        steps=int(result.nit),
        x=result.x,
        value=float(result.fun),
        distance=_distance(result.x, function.minima),
    )
    return row, path


def _finite(path: Any) -> Any:
    keep = np.all(np.isfinite(path), axis=1) & np.all(np.abs(path) < 1e6, axis=1)
    return path[: int(np.argmin(keep)) if not keep.all() else len(path)]


def _distance(x: Any, minima: Any) -> float:
    return min(math.dist(x, m) for m in minima) if minima else math.nan


def _window(function: Any, paths: dict[str, Any]) -> tuple[Any, Any]:
    """The function's window, grown to show the paths that leave it, by at most half its size on
    each side (a diverging path runs off the figure)."""
    limits = []
    for axis, (low, high) in enumerate((function.xlim, function.ylim)):
        span = high - low
        points = [p[:, axis] for p in paths.values()]
        lowest = min((float(v.min()) for v in points), default=low)
        highest = max((float(v.max()) for v in points), default=high)
        pad = 0.05 * span
        limits.append(
            (
                max(min(low, lowest - pad), low - span / 2),
                min(max(high, highest + pad), high + span / 2),
            )
        )
    return limits[0], limits[1]


def _coordinate(value: float) -> str:
    return "0" if abs(value) < 5e-5 else f"{value:.3g}"


def _table(function: Any, rows: list[dict[str, Any]], x0: Any, clip_norm: float | None) -> Any:
    from rich.table import Table

    clip = f", gradients clipped to norm {clip_norm:g}" if clip_norm else ""
    table = Table(title=f"{function.name} from ({x0[0]:g}, {x0[1]:g}){clip}")
    table.caption = function.description
    for name in ("optimizer", "rate", "steps", "end point", "f(end)", "to min"):
        table.add_column(
            name,
            justify="left" if name == "optimizer" else "right",
            no_wrap=name in ("optimizer", "end point", "f(end)"),
        )
    table.add_column("status", no_wrap=True)
    for row in rows:
        end = (
            "-" if row["x"] is None else f"({_coordinate(row['x'][0])}, {_coordinate(row['x'][1])})"
        )
        status = row["status"]
        if status == "diverged":
            status = "[red]diverged[/red]"
        table.add_row(
            row["optimizer"],
            fmt(row["rate"]),
            str(row["steps"]),
            end,
            fmt(row["value"], 3),
            fmt(row["distance"], 3),
            status,
        )
    return table
