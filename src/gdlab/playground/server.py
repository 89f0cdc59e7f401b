"""``gdlab playground --serve``: the page from a local server that computes exact runs on demand.

Standard library only (:mod:`http.server`), bound to ``127.0.0.1``: nothing is opened to the
network. ``GET /`` sends the page (surfaces and contours only); ``POST /api/run`` with
``{"key": variant, "steps": n, "runs": [{"optimizer", "start", "settings"}]}`` answers
``{"runs": [{"path", "loss", "grad", "gradient_step", "momentum", "scale", "diverged_at",
"message"}]}`` computed by :func:`gdlab.playground.runs.trajectory` (NaN written as ``null``).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Sequence
from dataclasses import replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import numpy as np

from gdlab.playground.grid import FILE_STEPS, MINI_BATCH, Variant, make_variant
from gdlab.playground.page import build_page
from gdlab.playground.runs import Trajectory, trajectory
from gdlab.playground.surfaces import Surface, get_surface, learning_rate_grid

__all__ = ["HOST", "PlaygroundServer", "server_variants"]

HOST = "127.0.0.1"
#: The most runs and steps one request may ask for (keeps one request under a few seconds).
MAX_RUNS_PER_REQUEST = 32
MAX_SERVER_STEPS = 1000
MAX_BODY_BYTES = 1_000_000
SERVER_CONDITIONS = (1.0, 10.0, 100.0, 1000.0)


def _fine(surface: Surface) -> Surface:
    """The surface with twelve learning rates per decade: the served slider is finer."""
    rates = surface.learning_rates
    return replace(surface, learning_rates=learning_rate_grid(rates[0], rates[-1], 12))


def _batch_variants(surface: Surface) -> list[Variant]:
    sizes: list[int | None] = [None, MINI_BATCH, 1] if surface.n_samples > MINI_BATCH else [None, 1]
    return [make_variant(surface, batch_size=size) for size in sizes]


def server_variants(data_surface: Surface | None = None) -> list[Variant]:
    """The variants the served page offers: every built-in surface (and the user's data first)."""
    variants: list[Variant] = []
    if data_surface is not None:
        variants += _batch_variants(_fine(data_surface))
    variants += _batch_variants(_fine(get_surface("regression")))
    variants += [
        make_variant(_fine(get_surface("quadratic", condition=c)), condition=c)
        for c in SERVER_CONDITIONS
    ]
    variants += [make_variant(_fine(get_surface(name))) for name in ("rosenbrock", "saddle")]
    variants.append(make_variant(_fine(get_surface("local_minima")), with_restarts=True))
    return variants


def _listed(values: Any) -> Any:
    """An array as nested lists with NaN and infinities written as ``None`` (JSON ``null``)."""
    array = np.asarray(values, dtype=float)
    listed = array.astype(object)
    listed[~np.isfinite(array)] = None
    return listed.tolist()


def trajectory_json(t: Trajectory) -> dict[str, Any]:
    """One run as the page reads it."""
    return {
        "path": _listed(t.path),
        "loss": _listed(t.loss),
        "grad": _listed(t.grad),
        "gradient_step": _listed(t.gradient_step),
        "momentum": _listed(t.momentum),
        "scale": _listed(t.scale),
        "diverged_at": t.diverged_at,
        "message": t.message.split(" Try:")[0],
    }


def answer_runs(variants: dict[str, Variant], body: Any) -> dict[str, Any]:
    """Compute the runs a page asks for; ``ValueError`` naming what is wrong with the request."""
    if not isinstance(body, dict):
        raise ValueError("The request must be a JSON object with 'key', 'steps' and 'runs'.")
    key = body.get("key")
    if key not in variants:
        raise ValueError(f"Unknown surface variant {key!r}; known: {', '.join(variants)}.")
    steps = body.get("steps", FILE_STEPS)
    if isinstance(steps, bool) or not isinstance(steps, int) or not 1 <= steps <= MAX_SERVER_STEPS:
        raise ValueError(f"'steps' must be an int in [1, {MAX_SERVER_STEPS}]. Got {steps!r}.")
    runs = body.get("runs")
    if not isinstance(runs, list) or not 1 <= len(runs) <= MAX_RUNS_PER_REQUEST:
        raise ValueError(f"'runs' must be a list of 1 to {MAX_RUNS_PER_REQUEST} runs.")
    variant = variants[key]
    answers = []
    for position, job in enumerate(runs):
        if not isinstance(job, dict) or not isinstance(job.get("settings", {}), dict):
            raise ValueError(f"Run {position} must be an object with optimizer, start, settings.")
        settings = dict(job.get("settings", {}))
        for name, value in variant.surface_settings.items():
            if settings.pop(name, value) != value:
                raise ValueError(f"Run {position}: {name!r} must be {value!r} for {key!r}.")
        if "batch_size" in settings and settings["batch_size"] != variant.run_settings.get(
            "batch_size"
        ):
            raise ValueError(f"Run {position}: 'batch_size' does not match the variant {key!r}.")
        optimizer = str(job.get("optimizer"))
        answers.append(
            trajectory_json(
                trajectory(variant.surface, optimizer, job.get("start", ()), steps, **settings)
            )
        )
    return {"runs": answers}


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        if self.server.verbose:
            super().log_message(format, *args)

    def _send(self, status: int, body: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.wfile.write(body)

    def _json(self, status: int, data: Any) -> None:
        self._send(status, json.dumps(data, allow_nan=False).encode(), "application/json")

    def do_GET(self) -> None:
        if self.path.split("?")[0].split("#")[0] in ("/", "/index.html", "/playground.html"):
            self._send(200, self.server.page, "text/html; charset=utf-8")
        else:
            self._json(404, {"error": f"Nothing at {self.path}; the page is at /."})

    def do_POST(self) -> None:
        if self.path != "/api/run":
            self._json(404, {"error": f"Nothing at {self.path}; runs are asked at /api/run."})
            return
        length = int(self.headers.get("Content-Length") or 0)
        if not 0 < length <= MAX_BODY_BYTES:
            self._json(400, {"error": f"The request body must be 1 to {MAX_BODY_BYTES} bytes."})
            return
        try:
            body = json.loads(self.rfile.read(length))
            self._json(200, answer_runs(self.server.variants, body))
        except (ValueError, TypeError) as error:
            self._json(400, {"error": " ".join(str(error).split())})


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    page: bytes
    variants: dict[str, Variant]
    verbose: bool


class PlaygroundServer:
    """The playground served from ``http://127.0.0.1:PORT/``.

    Parameters
    ----------
    variants : sequence of Variant, optional
        What the page offers (default :func:`server_variants`).
    port : int, default 0
        The port; 0 picks a free one.
    verbose : bool
        Log every request to stderr.

    Examples
    --------
    >>> import json, urllib.request
    >>> from gdlab.playground import get_surface
    >>> from gdlab.playground.grid import make_variant
    >>> server = PlaygroundServer([make_variant(get_surface("saddle"))]).start()
    >>> body = json.dumps({"key": "saddle||full", "steps": 2, "runs": [
    ...     {"optimizer": "sgd", "start": [1.0, 0.0], "settings": {"learning_rate": 0.25}}]})
    >>> with urllib.request.urlopen(server.url + "api/run", body.encode()) as answer:
    ...     json.load(answer)["runs"][0]["path"]   # x <- x - 0.25 * 2x
    [[1.0, 0.0], [0.5, 0.0], [0.25, 0.0]]
    >>> server.stop()
    """

    def __init__(
        self, variants: Sequence[Variant] | None = None, port: int = 0, verbose: bool = False
    ) -> None:
        chosen = list(variants) if variants is not None else server_variants()
        if isinstance(port, bool) or not isinstance(port, int) or not 0 <= port <= 65535:
            raise ValueError(f"The 'port' must be an int in [0, 65535]. Got {port!r} instead.")
        self.httpd = _Server((HOST, port), _Handler)
        self.httpd.page = build_page(chosen, mode="server").encode("utf-8")
        self.httpd.variants = {v.key: v for v in chosen}
        self.httpd.verbose = verbose
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        """``http://127.0.0.1:PORT/``."""
        return f"http://{HOST}:{self.httpd.server_address[1]}/"

    def start(self) -> PlaygroundServer:
        """Serve in a background thread; returns ``self``."""
        self._thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        """Serve in this thread until interrupted (Ctrl-C)."""
        try:
            self.httpd.serve_forever()
        finally:
            self.httpd.server_close()

    def stop(self) -> None:
        """Stop serving and close the socket."""
        self.httpd.shutdown()
        self.httpd.server_close()
        if self._thread is not None:
            self._thread.join()
