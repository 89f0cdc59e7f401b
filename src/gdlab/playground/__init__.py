"""The playground: gradient descent you can steer in the browser.

Every path the page draws is computed here, by gdlab's own optimizers through the one training
loop; the page only draws and plays back. :func:`run` gives the path of one run;
:func:`write_page` writes the self-contained page, :func:`serve` runs it with exact runs on demand,
:func:`show` displays it in a notebook.

Examples
--------
>>> from gdlab import playground
>>> playground.run("rosenbrock", "momentum", start=[-1.5, 2.0], steps=200,
...                learning_rate=1e-3, momentum=0.9).shape
(201, 2)
"""

from __future__ import annotations

from typing import Any

from gdlab.playground.page import build_page, write_page
from gdlab.playground.runs import OPTIMIZER_NAMES, Trajectory, run, trajectory
from gdlab.playground.surfaces import SURFACE_NAMES, Surface, from_data, get_surface

__all__ = [
    "OPTIMIZER_NAMES",
    "SURFACE_NAMES",
    "Surface",
    "Trajectory",
    "build_page",
    "from_data",
    "get_surface",
    "run",
    "serve",
    "show",
    "trajectory",
    "write_page",
]


def show(surfaces: Any = None, *, height: int = 1300) -> Any:
    """Display the playground inline in a notebook (see :func:`gdlab.playground.notebook.show`)."""
    from gdlab.playground.notebook import show as _show

    return _show(surfaces, height=height)


def serve(port: int = 0, data: Surface | None = None) -> Any:
    """Start the served playground in a background thread; returns the running server.

    ``data`` is a surface from :func:`from_data`, offered first. Stop it with ``server.stop()``.
    """
    from gdlab.playground.server import PlaygroundServer, server_variants

    return PlaygroundServer(server_variants(data), port=port).start()
