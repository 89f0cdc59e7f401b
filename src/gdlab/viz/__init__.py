"""Plots of gradient descent: loss curves, parameter paths, landscapes, sweeps and animations.

Every ``plot_*`` function takes its data and ``ax=None`` (a new figure is made with
``plt.subplots`` when None), returns the artists it drew, and never calls ``plt.show()``, so it
works with any backend, including the non-interactive ``Agg``. Importing :mod:`gdlab` does not
import matplotlib; importing :mod:`gdlab.viz` does.

Computing is kept apart from drawing: :func:`landscape_grid`, :func:`contour_levels`,
:func:`mse_landscape`, :func:`loss_series` and :func:`schedule_values` return arrays, the
``plot_*`` functions draw them.

Examples
--------
>>> import numpy as np
>>> from gdlab.viz import plot_loss_curve
>>> lines = plot_loss_curve(np.geomspace(100.0, 1.0, 50), ylabel="MSE loss")
>>> lines[0].axes.get_yscale()
'log'
"""

from gdlab.viz.animation import animate_path, frame_iterations
from gdlab.viz.control import plot_poles, plot_step_responses
from gdlab.viz.curves import (
    as_path,
    loss_series,
    plot_fit_snapshots,
    plot_loss_curve,
    plot_modes,
    plot_params,
)
from gdlab.viz.landscape import contour_levels, landscape_grid, mse_landscape, plot_landscape
from gdlab.viz.lr_find import plot_lr_find
from gdlab.viz.sweeps import plot_lr_sweep, plot_schedules, schedule_values, sweep_runs

__all__ = [
    "animate_path",
    "as_path",
    "contour_levels",
    "frame_iterations",
    "landscape_grid",
    "loss_series",
    "mse_landscape",
    "plot_fit_snapshots",
    "plot_landscape",
    "plot_loss_curve",
    "plot_lr_find",
    "plot_lr_sweep",
    "plot_modes",
    "plot_params",
    "plot_poles",
    "plot_schedules",
    "plot_step_responses",
    "schedule_values",
    "sweep_runs",
]
