"""Where the time of one real ``fit`` call goes, phase by phase, as the fit runs them.

    python bench/fit_phases.py                # 200,000 x 100 float64, the four fit settings
    python bench/fit_phases.py --n 500000 --repeat 9

``bench/run.py --fixed-cost`` times each part of a fit's fixed cost alone, on one thread. This
times the same parts inside whole 1-epoch ``fit`` calls, where they run on every core: each phase
below is wrapped (``unittest.mock.patch.object``, the function itself is called) and timed by the
wall clock and by the CPU time of all threads (``time.process_time``), the least of
``--repeat`` calls per phase (the machine is shared). ``fixed`` is the call minus its compiled
epoch plus the first permutation drawn in it: what a call costs besides training.
"""

from __future__ import annotations

import argparse
import importlib
import time
import warnings
from collections.abc import Callable
from contextlib import ExitStack
from typing import Any
from unittest import mock

#: phase -> (module, attribute) of the function timed, and what it does
PHASES = {
    "validate": ("gdlab.estimators._base", "BaseGD._validate_xy", "validation (scikit-learn)"),
    "scan": ("gdlab.estimators._data_prep", "scan", "check of X (with the statistics)"),
    "epoch": ("gdlab.backends.numba_backend", "CompiledEpochs.__call__", "the compiled epoch"),
    "permutation": ("gdlab.backends.numba_backend", "epoch_order", "first permutation (in it)"),
    "final": ("gdlab.engine", "_finish", "final check (final loss, verdict)"),
}


def _clocked(function: Callable[..., Any], spent: list[float]) -> Callable[..., Any]:
    def timed(*args: Any, **kwargs: Any) -> Any:
        wall, cpu = time.perf_counter(), time.process_time()
        try:
            return function(*args, **kwargs)
        finally:
            spent[0] += time.perf_counter() - wall
            spent[1] += time.process_time() - cpu

    return timed


def _owner(module: str, path: str) -> tuple[Any, str]:
    owner: Any = importlib.import_module(module)
    *outer, attribute = path.split(".")
    for name in outer:
        owner = getattr(owner, name)
    return owner, attribute


def fit_phases(fit: Callable[[], Any], repeat: int) -> dict[str, tuple[float, float]]:
    """``phase -> (wall, CPU of all threads)`` in seconds, the least of ``repeat`` calls of
    ``fit``, with ``call`` (the whole call) and ``fixed`` (call - epoch + permutation)."""
    best: dict[str, list[float]] = {}
    for _ in range(repeat):
        spent = {name: [0.0, 0.0] for name in PHASES}
        with ExitStack() as stack:
            for name, (module, path, _) in PHASES.items():
                owner, attribute = _owner(module, path)
                timed = _clocked(getattr(owner, attribute), spent[name])
                stack.enter_context(mock.patch.object(owner, attribute, timed))
            wall, cpu = time.perf_counter(), time.process_time()
            fit()
            spent["call"] = [time.perf_counter() - wall, time.process_time() - cpu]
        spent["fixed"] = [
            spent["call"][k] - spent["epoch"][k] + spent["permutation"][k] for k in (0, 1)
        ]
        for name, (wall_s, cpu_s) in spent.items():
            old = best.setdefault(name, [wall_s, cpu_s])
            best[name] = [min(old[0], wall_s), min(old[1], cpu_s)]
    return {name: (w, c) for name, (w, c) in best.items()}


def bench_fit_phases(X: Any, y: Any, settings: dict[str, dict[str, Any]], repeat: int) -> dict:
    """:func:`fit_phases` of a 1-epoch ``GDRegressor(**s).fit(X, y)`` per named settings, with
    one read's wall and one thread's CPU (``X.sum()``) to express them in reads of X."""
    from gdlab import GDRegressor

    out: dict[str, Any] = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for name, s in settings.items():
            model = GDRegressor(max_iter=1, tol=None, random_state=0, **s)
            model.fit(X, y)  # compile or load the kernels first
            out[name] = fit_phases(lambda model=model: model.fit(X, y), repeat)
    reads_wall, reads_cpu = [], []
    for _ in range(3 * repeat):
        wall, cpu = time.perf_counter(), time.thread_time()
        X.sum()
        reads_wall.append(time.perf_counter() - wall)
        reads_cpu.append(time.thread_time() - cpu)
    out["read"] = (min(reads_wall), min(reads_cpu))
    return out


def phase_table(phases: dict[str, Any]) -> str:
    """A markdown table: per phase and setting, wall and CPU in ms and in reads of X."""
    read_wall, read_cpu = phases["read"]
    names = [name for name in phases if name != "read"]
    lines = [
        "| phase | " + " | ".join(names) + " |",
        "|---|" + "---|" * len(names),
    ]
    labels = {name: label for name, (_, _, label) in PHASES.items()}
    labels.update(call="whole 1-epoch call", fixed="fixed cost (call - epoch + permutation)")
    for phase in [*PHASES, "call", "fixed"]:
        cells = []
        for name in names:
            wall, cpu = phases[name][phase]
            if wall == 0.0 and cpu == 0.0:
                cells.append("-")
                continue
            cells.append(
                f"{wall * 1e3:.1f} ms wall ({wall / read_wall:.1f} reads), "
                f"{cpu * 1e3:.1f} ms CPU ({cpu / read_cpu:.1f})"
            )
        lines.append(f"| {labels[phase]} | " + " | ".join(cells) + " |")
    lines.append(
        f"| one read, `X.sum()` | {read_wall * 1e3:.2f} ms wall, {read_cpu * 1e3:.2f} ms CPU of "
        "one thread |" + " |" * (len(names) - 1)
    )
    return "\n".join(lines)


def main() -> None:
    from run import FIT_SETTINGS, make_data  # bench/run.py: the data and the fits it measures

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=200_000)
    parser.add_argument("--d", type=int, default=100)
    parser.add_argument("--repeat", type=int, default=6)
    args = parser.parse_args()
    X, y = make_data(args.n, args.d)
    print(f"fit phases, {args.n:,} x {args.d} float64, least of {args.repeat} 1-epoch calls")
    print(phase_table(bench_fit_phases(X, y, FIT_SETTINGS, args.repeat)))


if __name__ == "__main__":
    main()
