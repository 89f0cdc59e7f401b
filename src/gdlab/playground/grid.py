"""The runs a page holds: a grid of surfaces x starts x learning rates x optimizer settings,
each run computed by :func:`gdlab.playground.runs.trajectory` and stored compactly.

Storage of one variant (a surface with its settings): every run has the same number of steps ``S``,
so its numbers sit at a fixed offset. The float32 block holds, run after run, the path
``(S + 1) x 2``, the loss ``S + 1`` and the adaptive scale ``S x 2``; the float16 block holds the
gradient, the gradient step and the momentum term (``S x 2`` each; they are only drawn as arrows
and printed to three digits). The two blocks are concatenated and gzip-compressed (the page
inflates them with the browser's ``DecompressionStream``), then base64-encoded. Run ``r`` of the
grid is ``((start * n_rates) + rate) * n_configs + config``.
"""

from __future__ import annotations

import base64
import gzip
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from gdlab.playground.runs import OPTIMIZER_NAMES, Trajectory, trajectory
from gdlab.playground.surfaces import Surface, get_surface

__all__ = [
    "CONFIGS",
    "FILE_STEPS",
    "Variant",
    "contour",
    "encode_runs",
    "file_variants",
    "surface_meta",
]

#: Updates per run in the page's file.
FILE_STEPS = 100
#: The optimizer settings held in the page's file (the served page computes any others).
CONFIGS: tuple[tuple[str, dict[str, float]], ...] = (
    ("sgd", {}),
    ("momentum", {"momentum": 0.5}),
    ("momentum", {"momentum": 0.9}),
    ("nesterov", {"momentum": 0.5}),
    ("nesterov", {"momentum": 0.9}),
    ("adagrad", {}),
    ("rmsprop", {}),
    ("adam", {"b1": 0.5, "b2": 0.999}),
    ("adam", {"b1": 0.9, "b2": 0.999}),
    ("pid", {"ki": 0.01, "kd": 0.1}),
)
#: Contour grid resolution (values per axis).
CONTOUR_POINTS = 96
#: The mini-batch size offered for data surfaces.
MINI_BATCH = 10


@dataclass(frozen=True)
class Variant:
    """A surface with its settings, the starting points held for it and its run settings."""

    surface: Surface
    surface_settings: dict[str, Any]
    run_settings: dict[str, Any]
    starts: tuple[tuple[float, float], ...]
    restarts: tuple[int, ...] = ()  # indices into starts shown by the restarts view
    key: str = field(default="")

    def settings(self) -> dict[str, Any]:
        """The keyword arguments of :func:`~gdlab.playground.run` for this variant."""
        return {**self.surface_settings, **self.run_settings}


def variant_key(surface: str, condition: Any = None, batch_size: Any = None) -> str:
    """The page's name of a variant.

    Examples
    --------
    >>> variant_key("quadratic", 100.0), variant_key("regression", batch_size=10)
    ('quadratic|100|full', 'regression||10')
    """
    return f"{surface}|{'' if condition is None else f'{float(condition):g}'}|" + (
        "full" if batch_size is None else str(int(batch_size))
    )


def make_variant(
    surface: Surface,
    *,
    condition: float | None = None,
    batch_size: int | None = None,
    seed: int = 0,
    starts: Sequence[int] = (0,),
    with_restarts: bool = False,
) -> Variant:
    """A variant of ``surface`` holding the given starting points (indices into its starts)."""
    points = tuple(surface.starts[i] for i in starts)
    restarts: tuple[int, ...] = ()
    if with_restarts and surface.restarts:
        restarts = tuple(range(len(points), len(points) + len(surface.restarts)))
        points = points + surface.restarts
    run_settings: dict[str, Any] = {}
    if surface.n_samples > 1:
        run_settings = {"batch_size": batch_size, "seed": seed}
    surface_settings = {} if condition is None else {"condition": float(condition)}
    key = variant_key(surface.name, condition, batch_size)
    return Variant(surface, surface_settings, run_settings, points, restarts, key)


def file_variants() -> list[Variant]:
    """The variants a written page holds (about 1800 runs: the file stays under 5 MB)."""
    regression = get_surface("regression")
    variants = [
        make_variant(regression, starts=(0, 1)),
        make_variant(regression, batch_size=MINI_BATCH),
        make_variant(regression, batch_size=1),
        make_variant(get_surface("quadratic", condition=10.0), condition=10.0, starts=(0, 1)),
        make_variant(get_surface("quadratic", condition=100.0), condition=100.0),
        make_variant(get_surface("rosenbrock"), starts=(0, 1)),
        make_variant(get_surface("saddle"), starts=(0, 1)),
        make_variant(get_surface("local_minima"), with_restarts=True),
    ]
    return variants


def grid_runs(variant: Variant, steps: int = FILE_STEPS) -> Iterator[Trajectory]:
    """Every run of the variant's grid, in storage order."""
    for start in variant.starts:
        for rate in variant.surface.learning_rates:
            for optimizer, settings in CONFIGS:
                yield trajectory(
                    variant.surface,
                    optimizer,
                    start,
                    steps,
                    learning_rate=rate,
                    **settings,
                    **variant.run_settings,
                )


def _b64_gzip(data: bytes) -> str:
    return base64.b64encode(gzip.compress(data, compresslevel=9, mtime=0)).decode("ascii")


def _float16(values: NDArray[Any]) -> NDArray[np.float16]:
    with np.errstate(over="ignore", invalid="ignore"):
        return np.asarray(values, dtype=np.float64).astype(np.float16)


def encode_runs(runs: Sequence[Trajectory]) -> dict[str, Any]:
    """The runs as the page stores them: one compressed blob, the stops and the messages.

    Examples
    --------
    >>> from gdlab.playground import trajectory
    >>> stored = encode_runs([trajectory("saddle", "sgd", [1.0, 0.5], 4)])
    >>> stored["n_runs"], stored["bytes32"], stored["stops"]   # (5*2 + 5 + 4*2) float32
    (1, 92, [-1])
    """
    wide = [np.concatenate([t.path.ravel(), t.loss, t.scale.ravel()]) for t in runs]
    narrow = [
        np.concatenate([t.grad.ravel(), t.gradient_step.ravel(), t.momentum.ravel()]) for t in runs
    ]
    with np.errstate(over="ignore", invalid="ignore"):
        block32 = np.concatenate(wide).astype("<f4").tobytes()
    block16 = _float16(np.concatenate(narrow)).astype("<f2").tobytes()
    stops = [-1 if t.diverged_at is None else t.diverged_at for t in runs]
    messages = {str(i): t.message.split(" Try:")[0] for i, t in enumerate(runs) if t.message}
    return {
        "n_runs": len(runs),
        "bytes32": len(block32),
        "data": _b64_gzip(block32 + block16),
        "stops": stops,
        "messages": messages,
    }


def contour(surface: Surface, points: int = CONTOUR_POINTS) -> dict[str, Any]:
    """The surface's values on a ``points x points`` grid over its window (row = y, column = x)."""
    xs = np.linspace(*surface.xlim, points)
    ys = np.linspace(*surface.ylim, points)
    grid = np.stack(np.meshgrid(xs, ys))
    with np.errstate(all="ignore"):
        values = np.asarray(surface.value(grid), dtype=np.float64)
    return {"nx": points, "ny": points, "data": _b64_gzip(values.astype("<f4").tobytes())}


def surface_meta(surface: Surface) -> dict[str, Any]:
    """What the page shows about a surface (titles, window, minima, learning rates, 2/L)."""
    return {
        "name": surface.name,
        "title": surface.title,
        "description": surface.description,
        "axes": list(surface.axes),
        "xlim": list(surface.xlim),
        "ylim": list(surface.ylim),
        "minima": [list(m) for m in surface.minima],
        "learning_rates": list(surface.learning_rates),
        "default_learning_rate": surface.default_learning_rate,
        "adaptive_learning_rate": surface.adaptive_learning_rate,
        "two_over_l": surface.two_over_l,
        "two_over_l_where": surface.two_over_l_where,
        "n_samples": surface.n_samples,
    }


def variant_data(variant: Variant, *, with_runs: bool, steps: int = FILE_STEPS) -> dict[str, Any]:
    """One variant as the page's JSON: meta, contour, starting points and (optionally) its runs."""
    data: dict[str, Any] = {
        "key": variant.key,
        "surface": surface_meta(variant.surface),
        "surface_settings": variant.surface_settings,
        "run_settings": variant.run_settings,
        "starts": [list(s) for s in variant.starts],
        "restarts": list(variant.restarts),
        "contour": contour(variant.surface),
    }
    if with_runs:
        data["runs"] = encode_runs(list(grid_runs(variant, steps)))
    return data


def page_data(variants: Sequence[Variant], *, mode: str, steps: int = FILE_STEPS) -> dict[str, Any]:
    """Everything the page needs, as one JSON-ready dict."""
    return {
        "mode": mode,
        "steps": steps,
        "optimizers": list(OPTIMIZER_NAMES),
        "adaptive": ["adagrad", "rmsprop", "adam"],
        "configs": [{"optimizer": o, "settings": s} for o, s in CONFIGS],
        "variants": [variant_data(v, with_runs=mode == "file", steps=steps) for v in variants],
    }
