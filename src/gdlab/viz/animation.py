"""An animated GIF of optimizer paths moving over a loss landscape."""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from gdlab.viz.landscape import as_paths, plot_landscape
from gdlab.viz.style import series_color

if TYPE_CHECKING:
    from matplotlib.artist import Artist
    from matplotlib.figure import Figure
    from PIL import Image

__all__ = ["animate_path", "frame_iterations"]


def frame_iterations(n_points: int, max_frames: int = 120) -> list[int]:
    """The iteration shown in each frame: all of them, or ``max_frames`` evenly spread ones.

    The first frame shows the start (iteration 0) and the last the end (``n_points - 1``).

    Examples
    --------
    >>> frame_iterations(4)
    [0, 1, 2, 3]
    >>> frame_iterations(1001, max_frames=5)
    [0, 250, 500, 750, 1000]
    """
    if isinstance(max_frames, bool) or not isinstance(max_frames, int) or max_frames < 2:
        raise ValueError(f"max_frames must be an int >= 2. Got {max_frames!r}.")
    if n_points <= max_frames:
        return list(range(n_points))
    return [int(v) for v in np.unique(np.round(np.linspace(0, n_points - 1, max_frames)))]


def animate_path(
    fun: Any,
    paths: Any,
    out_path: str | os.PathLike[str],
    *,
    xlim: Sequence[float] | None = None,
    ylim: Sequence[float] | None = None,
    fps: int = 15,
    max_frames: int = 120,
    hold_frames: int | None = None,
    minima: Any = None,
    levels: int | Sequence[float] = 30,
    log_scale: bool = False,
    resolution: int = 150,
    dpi: int = 80,
    figsize: tuple[float, float] = (6.0, 5.0),
    title: str | None = None,
    xlabel: str = "x",
    ylabel: str = "y",
    step_name: str = "iteration",
) -> Path:
    """Write a GIF of one or several optimizer paths moving over the function's contour plot.

    Each frame draws every path up to the same iteration, with a marker at its current point; long
    paths are subsampled to at most ``max_frames`` frames, and the last frame is shown
    ``1 + hold_frames`` times as long (one second more by default). The contours are drawn once and
    only the moving parts per frame (blitting); the frames are written as a looping GIF by Pillow.

    Parameters
    ----------
    fun : TestFunction or callable
        As for :func:`~gdlab.viz.plot_landscape` (a TestFunction supplies window and minima).
    paths : array of shape (n, 2) or dict of str to such arrays
        The iterates of each optimizer (for example ``result.history.param_path()``).
    out_path : str or Path
        The ``.gif`` file to write (its folder is created when missing).
    xlim, ylim : (float, float), optional
        The window (required for a plain callable).
    fps : int, default 15
        Frames per second.
    hold_frames : int, optional
        How many frame durations the last frame is held for (default ``fps``: one second).
    max_frames : int, default 120
        Most frames drawn for the paths.
    minima, levels, log_scale, resolution
        As for :func:`~gdlab.viz.plot_landscape`.
    dpi, figsize
        Size of the frames.
    step_name : str, default "iteration"
        What one point of a path is, shown in the title ("iteration 40 of 200"; "epoch" for a
        fitted model's ``History.param_path()``).

    Returns
    -------
    Path
        The file written.

    Examples
    --------
    >>> import tempfile
    >>> from gdlab.testfunctions import get
    >>> out = animate_path(get("quadratic"), [[-4, 1.5], [-2, 0.5], [0, 0]],
    ...                    Path(tempfile.mkdtemp()) / "path.gif", resolution=30)
    >>> out.suffix
    '.gif'
    """
    out = Path(out_path)
    arrays, hold = _checked(out, paths, fps, hold_frames)
    longest = max(a.shape[0] for a in arrays.values())
    fig, ax, art = _landscape_figure(
        fun,
        figsize,
        dpi,
        {
            "xlim": xlim, "ylim": ylim, "minima": minima, "levels": levels,
            "log_scale": log_scale, "resolution": resolution, "xlabel": xlabel,
            "ylabel": ylabel, "title": title,
        },
    )  # fmt: skip
    base_title = ax.get_title()
    trails, heads = _path_artists(ax, arrays, art["minima"])
    ax.set_title(f"{base_title}\n{step_name} {longest - 1} of {longest - 1}")  # room for 2 lines
    fig.tight_layout()

    def update(t: int) -> None:
        for path, trail, head in zip(arrays.values(), trails, heads, strict=True):
            k = min(t, path.shape[0] - 1)
            trail.set_data(path[: k + 1, 0], path[: k + 1, 1])
            head.set_data([path[k, 0]], [path[k, 1]])
        ax.set_title(f"{base_title}\n{step_name} {t} of {longest - 1}")

    # moving artists in drawing order: the paths, then what must stay on top of them
    on_top = [a for a in (art["minima"], ax.get_legend(), ax.title) if a is not None]
    iterations = frame_iterations(longest, max_frames)
    frames = _blit_frames(fig, [*trails, *heads, *on_top], update, iterations)
    durations = [round(1000 / fps)] * len(frames)
    durations[-1] *= 1 + hold
    _write_gif(out, frames, durations)
    return out


def _landscape_figure(
    fun: Any, figsize: tuple[float, float], dpi: int, landscape: dict[str, Any]
) -> tuple[Any, Any, dict[str, Any]]:
    """A figure (no pyplot state) with the function's contours drawn once."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=figsize, dpi=dpi)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    return fig, ax, plot_landscape(fun, ax, **landscape)


def _checked(out: Path, paths: Any, fps: Any, hold_frames: Any) -> tuple[dict[str, Any], int]:
    """The paths as arrays and the hold in frames, after checking the arguments."""
    if out.suffix.lower() != ".gif":
        raise ValueError(f"out_path must end in .gif (an animated GIF). Got {str(out)!r}.")
    if isinstance(fps, bool) or not isinstance(fps, int) or not 0 < fps <= 100:
        raise ValueError(f"fps must be an int in 1..100. Got {fps!r}.")
    arrays = as_paths(paths)
    if not arrays:
        raise ValueError("paths is empty: give at least one (n_points, 2) path to animate.")
    hold = fps if hold_frames is None else int(hold_frames)
    if hold < 0:
        raise ValueError(f"hold_frames must be >= 0. Got {hold_frames!r}.")
    return arrays, hold


def _path_artists(ax: Any, arrays: dict[str, Any], minima: Any) -> tuple[list[Any], list[Any]]:
    """Empty trail and head lines for each path, the start markers and the legend."""
    trails, heads, starts = [], [], []
    for i, (label, path) in enumerate(arrays.items()):
        color = "red" if len(arrays) == 1 else series_color(i)
        starts += ax.plot(path[0, 0], path[0, 1], "o", color="green", markersize=8, zorder=4)
        (trail,) = ax.plot([], [], ".-", color=color, markersize=3, linewidth=1.2, label=label)
        (head,) = ax.plot([], [], "o", color=color, markeredgecolor="black", markersize=8, zorder=5)
        trails.append(trail)
        heads.append(head)
    starts[0].set_label("Start")
    handles = [*trails, starts[0]] + ([minima] if minima is not None else [])
    ax.legend(handles=handles, fontsize=8, loc="upper right")  # replaces plot_landscape's legend
    return trails, heads


def _write_gif(out: Path, frames: list[Any], durations: list[int]) -> None:
    """Write the frames as a looping GIF, atomically (a kill mid-write leaves the old file)."""
    from gdlab.io import atomic_write

    out.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(
        out,
        lambda handle: frames[0].save(
            handle, format="GIF", save_all=True, append_images=frames[1:],
            duration=durations, loop=0,
        ),
    )  # fmt: skip


def _blit_frames(
    fig: Figure, moving: list[Artist], update: Callable[[int], None], steps: list[int]
) -> list[Image.Image]:
    """Render one image per step, drawing the static figure once and only ``moving`` per frame.

    This is matplotlib's blitting: the contours (the costly part) are drawn once into a background
    that each frame restores before drawing the moving artists on top, about ten times faster than
    redrawing the whole figure per frame (what ``matplotlib.animation.PillowWriter`` does).
    """
    from PIL import Image

    canvas = fig.canvas
    for artist in moving:
        artist.set_animated(True)  # left out of the full draw below
    canvas.draw()
    background = canvas.copy_from_bbox(fig.bbox)  # type: ignore[attr-defined]
    frames = []
    for step in steps:
        update(step)
        canvas.restore_region(background)  # type: ignore[attr-defined]
        for artist in moving:
            fig.draw_artist(artist)
        frames.append(Image.fromarray(np.asarray(canvas.buffer_rgba()).copy(), "RGBA"))  # type: ignore[attr-defined]
    return frames
