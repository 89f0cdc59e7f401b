"""The playground: gradient descent you can steer in the browser.

Every path the page draws is computed here, by gdlab's own optimizers through the one training
loop; the page only draws and plays back. :func:`run` gives the path of one run;
:func:`build_page` writes the self-contained page, :func:`serve` runs it with exact runs on demand,
:func:`show` displays it in a notebook.

Examples
--------
>>> from gdlab import playground
>>> playground.run("rosenbrock", "momentum", start=[-1.5, 2.0], steps=200,
...                learning_rate=1e-3, momentum=0.9).shape
(201, 2)
"""

from __future__ import annotations

from gdlab.playground.runs import OPTIMIZER_NAMES, Trajectory, run, trajectory
from gdlab.playground.surfaces import SURFACE_NAMES, Surface, from_data, get_surface

__all__ = [
    "OPTIMIZER_NAMES",
    "SURFACE_NAMES",
    "Surface",
    "Trajectory",
    "from_data",
    "get_surface",
    "run",
    "trajectory",
]
