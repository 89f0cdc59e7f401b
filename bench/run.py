"""gdlab's benchmark suite: gdlab against scikit-learn and PyTorch CPU, same data, same run.

    python bench/run.py                 # n = 200,000 and 1,000,000, d = 100, float64
    python bench/run.py --quick         # n = 200,000 only, fewer repeats
    python bench/run.py --quick --fixed-cost   # a fit call's fixed cost and its parts, 15 repeats
    python bench/run.py --n 500000 --d 50 --torch-python /path/to/python-with-torch

Measures, per n, and prints as ratios (lower is better; the bar of issue 4 beside each):

- per-sample SGD epoch: gdlab (batch_size=1, shuffled) / scikit-learn SGDRegressor, with the final
  training MSE of both (same constant step: gdlab's ``learning_rate = eta0 / 2`` because its
  squared error is twice scikit-learn's);
- mini-batch Adam epoch at batch 256 and 4096: gdlab / PyTorch CPU (torch.nn.Linear + Adam);
- full-batch epoch: gdlab / one read of X (the memory floor: the faster of ``X.sum()`` and
  ``ones @ X``);
- 64-rate sweep: gdlab.sweep time per rate and epoch / one read of X (and the same sweep one fit
  after another, for scale);
- peak memory of a fit: extra resident memory of ``GDRegressor.fit`` / size of X (subprocess);
- a fit call's fixed cost (a 1-epoch call minus its marginal epoch) and where it goes: the CPU
  time of each part on one thread (``time.thread_time``, robust to other processes' load) against
  one read's, beside the wall time of each pass as a fit runs it, and each phase timed inside
  real 1-epoch calls, wall and CPU of all threads (``bench/fit_phases.py``; ``--fixed-cost``:
  these only);
- ``import gdlab`` (subprocess), first fit with a cold Numba cache (compile) and in a second
  session (cache load).

Epoch times are the fastest of ``--repeat`` runs of gdlab's own training loop
(:func:`gdlab.engine.train`, the loop every estimator uses). The machine is shared, so the fastest
run is the least disturbed one. OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE slow NumPy down: when either
is set, this script re-runs itself without them (``--keep-env`` to keep them); it prints which BLAS
kernel runs (threadpoolctl).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import tempfile
import time
import warnings
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).resolve().parent
BLAS_VARS = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")


# ---- helpers ------------------------------------------------------------------------------------


def fastest(fn: Callable[[], Any], repeat: int) -> float:
    """The fastest of ``repeat`` timed calls."""
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def make_data(n: int, d: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d))
    y = X @ rng.standard_normal(d) + 0.5 + 0.1 * rng.standard_normal(n)
    return X, y


def mse(X: np.ndarray, y: np.ndarray, coef: np.ndarray, intercept: float) -> float:
    return float(np.mean((X @ coef + intercept - y) ** 2))


def floor_read(X: np.ndarray, repeat: int) -> float:
    """One read of X: the faster of a pairwise sum and a BLAS matrix-vector product."""
    ones = np.ones(X.shape[0])
    return min(fastest(X.sum, repeat), fastest(lambda: ones @ X, repeat))


def engine_epoch(X, y, optimizer, batch_size, shuffle, epochs, repeat, backend="auto"):
    """Seconds per epoch of gdlab's training loop, its backend and final training MSE.

    The epoch time is the difference between a run of ``epochs`` epochs and a run of one,
    divided by ``epochs - 1`` (fastest of ``repeat`` runs each): what one more epoch costs, without
    the fixed costs of a call (set-up, the first permutation, the final loss check).
    """
    from gdlab import losses
    from gdlab._objectives import LinearObjective
    from gdlab.engine import TrainConfig, init_state, train

    objective = LinearObjective(X, y, losses.squared_error, losses.get_penalty(None), True)
    config = TrainConfig(batch_size=batch_size, max_epochs=1, shuffle=shuffle, seed=0)
    config = replace(config, backend=backend)
    small = LinearObjective(X[:2000], y[:2000], losses.squared_error, losses.get_penalty(None))
    train(small, optimizer, init_state(np.zeros(X.shape[1] + 1), optimizer), config)  # warm-up
    results = []

    def run(n_epochs: int) -> Callable[[], None]:
        def go() -> None:
            state = init_state(np.zeros(X.shape[1] + 1), optimizer)
            results.append(train(objective, optimizer, state, replace(config, max_epochs=n_epochs)))

        return go

    one = fastest(run(1), repeat)
    seconds = (fastest(run(epochs), repeat) - one) / (epochs - 1)
    result = results[-1]
    params = result.state.params
    return seconds, result.history.backend, mse(X, y, params[:-1], params[-1])


# ---- the measurements ---------------------------------------------------------------------------


def bench_sgd(X, y, repeat, epochs) -> dict[str, Any]:
    from sklearn.linear_model import SGDRegressor

    from gdlab import optim

    eta0 = 1e-3
    gd_seconds, backend, gd_loss = engine_epoch(
        X, y, optim.sgd(eta0 / 2), 1, True, epochs, repeat + 2
    )
    models = []

    def sk(n_epochs: int = epochs) -> None:
        model = SGDRegressor(
            penalty=None,
            learning_rate="constant",
            eta0=eta0,
            max_iter=n_epochs,
            tol=None,
            shuffle=True,
            random_state=0,
        )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            models.append(model.fit(X, y))

    sk_seconds = fastest(sk, max(1, repeat - 1))
    sk_loss = mse(X, y, models[-1].coef_, models[-1].intercept_[0])
    sk_one = fastest(lambda: sk(1), max(1, repeat - 1))
    sk_seconds = (sk_seconds - sk_one) / (epochs - 1)
    return {
        "gdlab": gd_seconds,
        "sklearn": sk_seconds,
        "ratio": gd_seconds / sk_seconds,
        "gdlab_loss": gd_loss,
        "sklearn_loss": sk_loss,
        "backend": backend,
    }


#: the fits whose fixed cost is measured: per-sample SGD as scikit-learn's, and GDRegressor()
FIT_SETTINGS = {
    "sgd": {"optimizer": "sgd", "learning_rate": 5e-4, "batch_size": 1, "standardize": False},
    "sgd_std": {"optimizer": "sgd", "learning_rate": 5e-4, "batch_size": 1},
    "default_raw": {"standardize": False},
    "default": {},
}


def bench_fit_calls(X, y, repeat, floor) -> dict[str, Any]:
    """Whole ``fit`` calls at 1 and 5 epochs, gdlab vs scikit-learn's SGDRegressor.fit, and the
    fixed cost of a call of each of :data:`FIT_SETTINGS`.

    ``sgd`` is the per-sample SGD of :func:`bench_sgd` on the data as given (as scikit-learn
    trains); ``sgd_std`` the same with gdlab's default ``standardize=True``; ``default`` is
    ``GDRegressor()`` (Adam, batches of 32, standardized), ``default_raw`` that without
    standardization. The fixed cost of a call is a 1-epoch call minus the marginal epoch of the
    same settings, ``t1 - (t5 - t1) / 4``: what a call costs besides its epochs (checks of X,
    set-up, the final loss), in reads of X.
    """
    from sklearn.linear_model import SGDRegressor

    from gdlab import GDRegressor

    def ours(epochs: int, settings: dict[str, Any]) -> Callable[[], Any]:
        model = GDRegressor(max_iter=epochs, tol=None, random_state=0, **settings)
        return lambda: model.fit(X, y)

    def theirs(epochs: int) -> Callable[[], Any]:
        model = SGDRegressor(
            penalty=None, learning_rate="constant", eta0=1e-3, max_iter=epochs, tol=None,
            shuffle=True, random_state=0,
        )  # fmt: skip
        return lambda: model.fit(X, y)

    out: dict[str, Any] = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for settings in FIT_SETTINGS.values():
            ours(1, settings)()  # load the compiled kernels
        for epochs in (1, 5):
            row = {name: fastest(ours(epochs, s), repeat) for name, s in FIT_SETTINGS.items()}
            row["sklearn"] = fastest(theirs(epochs), max(1, repeat - 1))
            row["gdlab"], row["gdlab_default"] = row["sgd"], row["sgd_std"]
            row["ratio"] = row["gdlab"] / row["sklearn"]
            row["ratio_default"] = row["gdlab_default"] / row["sklearn"]
            out[epochs] = row
        read_cpu = least_cpu(X.sum, 3 * repeat)
        cpu = {
            epochs: {
                name: least_cpu(ours(epochs, s), repeat, time.process_time)
                for name, s in FIT_SETTINGS.items()
            }
            for epochs in (1, 5)
        }
    out["fixed_reads"] = {
        name: (out[1][name] - (out[5][name] - out[1][name]) / 4) / floor for name in FIT_SETTINGS
    }
    out["fixed_cpu_reads"] = {  # all threads' CPU against one read's CPU
        name: (cpu[1][name] - (cpu[5][name] - cpu[1][name]) / 4) / read_cpu for name in FIT_SETTINGS
    }
    return out


def least_cpu(
    fn: Callable[[], Any], repeat: int, clock: Callable[[], float] = time.thread_time
) -> float:
    """The least CPU time over ``repeat`` calls, of this thread (``time.thread_time``) or of the
    whole process (``clock=time.process_time``, every thread): robust to other processes' load,
    unlike wall time."""
    best = float("inf")
    for _ in range(repeat):
        start = clock()
        fn()
        best = min(best, clock() - start)
    return best


def bench_fixed_parts(X, repeat) -> dict[str, Any]:
    """Where a fit call's fixed cost goes: the CPU time of each part run on ONE thread over all
    rows (the fit splits the passes over the cores), in seconds and in reads of ``X`` (the CPU
    time of ``X.sum()``), with the wall time of each pass as a fit runs it (all cores).

    Parts: the check of ``X`` without and with the statistics (``check_block``, ``scan_block``),
    the exact final loss's ``X @ w`` as given and standardized on read (``dot_block``,
    ``scaled_dot_block``: what the final check runs only where the bound does not clear the run),
    the bound of the final loss that clears a squared-error fit in one read that stores nothing
    (``residual_square_block`` of ``X`` as given with ``w / scale``; as a fit runs it,
    :func:`~gdlab._final_loss_bound.squared_error_upper_bound`), and the first
    epoch's permutation (``epoch_order``).
    """
    from gdlab._batching import epoch_order
    from gdlab._final_loss_bound import squared_error_upper_bound
    from gdlab.backends import _scan_kernels as k
    from gdlab.backends import scan as s

    n = X.shape[0]
    shift, mean, scale = np.array(X[0]), X.mean(axis=0), X.std(axis=0)
    weights, out, no_weight = np.linspace(-1.0, 1.0, X.shape[1]), np.empty(n), np.ones(0)
    max_abs, targets = np.abs(X).max(axis=0), np.zeros(n)
    parts: dict[str, tuple[Callable[[], Any], Callable[[], Any] | None]] = {
        "check": (lambda: k.check_block(X, 0, n), lambda: s.scan(X, statistics=False)),
        "check_statistics": (
            lambda: k.scan_block(X, no_weight, shift, 0, n),
            lambda: s.scan(X, statistics=True),
        ),
        "final_loss": (lambda: k.dot_block(X, weights, out, 0, n), lambda: s.row_dot(X, weights)),
        "final_loss_standardized": (
            lambda: k.scaled_dot_block(X, mean, scale, weights, out, 0, n),
            lambda: s.scaled_row_dot(X, mean, scale, weights),
        ),
        "final_loss_bound": (
            lambda: k.residual_square_block(X, weights / scale, 0.0, targets, no_weight, 0, n),
            lambda: squared_error_upper_bound(X, mean, scale, max_abs, targets, None, weights, 0.0),
        ),
        "first_permutation": (lambda: epoch_order(n, True, 0, 0), None),
    }
    read = least_cpu(X.sum, 3 * repeat)
    result: dict[str, Any] = {"read_cpu": read}
    for name, (one_thread, as_fit) in parts.items():
        one_thread()  # load the compiled kernel
        cpu = least_cpu(one_thread, 3 * repeat)
        wall = fastest(as_fit, 3 * repeat) if as_fit is not None else None
        result[name] = {"cpu": cpu, "reads": cpu / read, "wall": wall}
    return result


def bench_adam(X, y, repeat, epochs, torch_python, workdir) -> dict[str, Any]:
    from gdlab import optim

    out: dict[str, Any] = {}
    for batch in (256, 4096):
        seconds, backend, loss = engine_epoch(X, y, optim.adam(1e-3), batch, True, epochs, repeat)
        out[batch] = {"gdlab": seconds, "gdlab_loss": loss, "backend": backend}
    torch = run_torch(X, y, epochs, torch_python, workdir)
    for batch in (256, 4096):
        reference = torch.get(str(batch)) if torch else None
        if reference:
            out[batch]["torch"] = reference["epoch_seconds"]
            out[batch]["torch_loss"] = reference["final_loss"]
            out[batch]["ratio"] = out[batch]["gdlab"] / reference["epoch_seconds"]
    out["torch_info"] = None if torch is None else {"version": torch.get("torch")}
    return out


def run_torch(X, y, epochs, torch_python, workdir) -> dict[str, Any] | None:
    """PyTorch's epochs on the same arrays, in a subprocess (torch need not be in this venv)."""
    python = torch_python
    if python is None:  # the interpreter running this script, if it has PyTorch
        import importlib.util

        python = sys.executable if importlib.util.find_spec("torch") is not None else None
    if python is None:
        print("  (PyTorch not found: install it here or pass --torch-python; rows skipped)")
        return None
    path = Path(workdir) / "data.npz"
    np.savez(path, X=X, y=y)
    command = [python, str(HERE / "torch_adam.py"), str(path), "--batch", "256", "4096"]
    command += ["--epochs", str(epochs), "--threads", str(len(os.sched_getaffinity(0)))]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    path.unlink()
    if done.returncode != 0:
        print("  (PyTorch run failed:", done.stderr.strip()[-300:], ")")
        return None
    return json.loads(done.stdout.strip().splitlines()[-1])


def bench_full_batch(X, y, repeat, epochs, floor) -> dict[str, Any]:
    from gdlab import optim

    fast, backend, _ = engine_epoch(X, y, optim.sgd(0.1), None, False, epochs, repeat)
    numpy_path, _, _ = engine_epoch(
        X, y, optim.sgd(0.1), None, False, epochs, max(1, repeat - 1), backend="numpy"
    )
    return {
        "gdlab": fast,
        "numpy_path": numpy_path,
        "floor": floor,
        "ratio": fast / floor,
        "backend": backend,
    }


def bench_sweep(X, y, repeat, epochs, floor, n_rates=64) -> dict[str, Any]:
    from gdlab import GDRegressor, sweep

    rates = list(np.geomspace(1e-4, 0.5, n_rates))
    results = []

    def timed(max_iter: int) -> float:
        model = GDRegressor(optimizer="sgd", batch_size=None, max_iter=max_iter, tol=None)
        return fastest(lambda: results.append(sweep(model, X, y, values=rates)), repeat)

    # like the other epoch times: the difference of a (1 + epochs)-epoch and a 1-epoch sweep, so
    # the per-sweep costs (input checks, setting up 64 estimators, the final loss check) drop out
    seconds = timed(1 + epochs)
    per_rate_epoch = (seconds - timed(1)) / (n_rates * epochs)
    one = GDRegressor(optimizer="sgd", batch_size=None, max_iter=epochs, tol=None)
    single = fastest(lambda: one.set_params(learning_rate=0.01).fit(X, y), 1) / epochs
    return {
        "gdlab_per_rate_epoch": per_rate_epoch,
        "floor": floor,
        "ratio": per_rate_epoch / floor,
        "sweep_seconds": seconds,
        "one_fit_per_rate_epoch": single,
        "backend": results[-1].backend,
        "diverged": int(sum(results[-1].diverged)),
    }


def probe_memory(n: int, d: int) -> None:
    """(subprocess) Extra peak resident memory of one GDRegressor.fit, as JSON."""
    from gdlab import GDRegressor

    X, y = make_data(n, d)
    for optimizer, batch in (("sgd", 1), ("adam", 256), ("sgd", None)):  # load the kernels first
        GDRegressor(
            optimizer=optimizer,
            learning_rate=1e-3,
            batch_size=batch,
            max_iter=2,
            tol=None,
            backend="numba",
        ).fit(X[:5000], y[:5000])
    out = {"x_bytes": X.nbytes}
    # the training loop's memory on the data as given; "default" adds standardize=True, which
    # standardizes rows as they are read (before issue 8 point 5: a copy of X, 1.0 x its size)
    for name, batch in (("sgd", 1), ("adam256", 256), ("full", None), ("default", 32)):
        base = _rss()
        Path("/proc/self/clear_refs").write_text("5")  # reset the peak (VmHWM) to the current RSS
        optimizer = "sgd" if name in ("sgd", "full") else "adam"
        GDRegressor(
            optimizer=optimizer,
            learning_rate=1e-3,
            batch_size=batch,
            max_iter=1,
            tol=None,
            standardize=name == "default",
        ).fit(X, y)
        out[name] = _hwm() - base
    print(json.dumps(out))


def _status(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field):
            return int(line.split()[1]) * 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def _rss() -> int:
    return _status("VmRSS:")


def _hwm() -> int:
    return _status("VmHWM:")


def bench_memory(n: int, d: int) -> dict[str, Any]:
    command = [sys.executable, str(Path(__file__).resolve()), "--probe-memory", str(n), str(d)]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        return {"error": done.stderr.strip()[-300:]}
    data = json.loads(done.stdout.strip().splitlines()[-1])
    size = data.pop("x_bytes")
    return {name: {"extra_bytes": extra, "ratio": extra / size} for name, extra in data.items()}


def probe_compile() -> None:
    """(subprocess) Seconds of the first compiled fit of this session, as JSON."""
    start = time.perf_counter()
    from gdlab import GDRegressor

    X, y = make_data(2000, 10)
    imported = time.perf_counter()
    model = GDRegressor(optimizer="adam", batch_size=32, max_iter=2, tol=None, backend="numba")
    model.fit(X, y)
    fitted = time.perf_counter()
    model.fit(X, y)
    print(
        json.dumps(
            {
                "import": imported - start,
                "first_fit": fitted - imported,
                "second_fit": time.perf_counter() - fitted,
            }
        )
    )


def bench_startup(repeat: int) -> dict[str, Any]:
    code = "import time; t = time.perf_counter(); import gdlab; print(time.perf_counter() - t)"
    times = []
    for _ in range(repeat):
        done = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, check=True
        )
        times.append(float(done.stdout.strip()))
    numba_loaded = subprocess.run(
        [sys.executable, "-c", "import sys, gdlab; print('numba' in sys.modules)"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    cache = tempfile.mkdtemp(prefix="gdlab-numba-cache-")
    env = {**os.environ, "NUMBA_CACHE_DIR": cache}
    sessions = []
    for _ in range(2):
        done = subprocess.run(
            [sys.executable, str(Path(__file__).resolve()), "--probe-compile"],
            capture_output=True,
            text=True,
            check=False,
            env=env,
        )
        sessions.append(
            json.loads(done.stdout.strip().splitlines()[-1])
            if done.returncode == 0
            else {"error": done.stderr[-300:]}
        )
    shutil.rmtree(cache, ignore_errors=True)
    return {
        "import": sorted(times)[len(times) // 2],
        "numba_imported": numba_loaded == "True",
        "cold": sessions[0],
        "cached": sessions[1],
    }


# ---- report ---------------------------------------------------------------------------------


def blas_info() -> str:
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return "threadpoolctl not installed"
    parts = [
        f"{i.get('internal_api')} {i.get('version')} {i.get('architecture', '')} "
        f"threads={i.get('num_threads')}"
        for i in threadpool_info()
        if i.get("user_api") == "blas"
    ]
    return "; ".join(parts) or "no BLAS found"


def machine() -> str:
    cpu = platform.processor() or "cpu"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return f"{cpu}, {len(os.sched_getaffinity(0))} cores, {memory:.0f} GiB, {platform.platform()}"


def verdict(value: float | None, bar: float) -> str:
    if value is None:
        return "n/a"
    return "ok" if value <= bar else "MISSED"


PART_LABELS = {
    "check": "check of X (check_block)",
    "check_statistics": "check of X with statistics (scan_block)",
    "final_loss": "exact final loss X @ w (dot_block)",
    "final_loss_standardized": "exact final loss, standardized on read (scaled_dot_block)",
    "final_loss_bound": "bound of the final loss, what a fit runs (residual_square_block)",
    "first_permutation": "first permutation (epoch_order)",
}


def parts_rows(row: Callable[..., None], n: int, parts: dict[str, Any]) -> None:
    """The rows of :func:`bench_fixed_parts`: CPU of one thread against one read's CPU."""
    read = parts["read_cpu"]
    for name, label in PART_LABELS.items():
        part = parts[name]
        wall = part["wall"]
        row(
            n,
            f"fixed-cost part: {label}, CPU of one thread vs one read of X",
            f"{part['cpu'] * 1e3:.2f} ms",
            f"{read * 1e3:.2f} ms",
            part["reads"],
            None,
            "" if wall is None else f"; wall as a fit runs it {wall * 1e3:.2f} ms",
        )


def report(results: dict[int, dict[str, Any]], startup: dict[str, Any]) -> str:
    lines = [
        "| n | measurement | gdlab | peer | ratio | bar | |",
        "|---|---|---|---|---|---|---|",
    ]

    def row(n, what, ours, peer, ratio, bar, note=""):
        text = "n/a" if ratio is None else f"{ratio:.3f}"
        judged = "-" if bar is None else verdict(ratio, bar)
        lines.append(
            f"| {n:,} | {what} | {ours} | {peer} | {text} | "
            f"{'-' if bar is None else f'<= {bar}'} | {judged}{note} |"
        )

    for n, r in results.items():
        s = r["sgd"]
        row(
            n,
            "SGD epoch (batch 1) vs sklearn SGDRegressor",
            f"{s['gdlab']:.3f} s",
            f"{s['sklearn']:.3f} s",
            s["ratio"],
            0.25,
            f"; final MSE {s['gdlab_loss']:.5f} vs {s['sklearn_loss']:.5f}",
        )
        c = r.get("calls")
        if c:
            for epochs in (1, 5):
                call = c[epochs]
                row(
                    n,
                    f"whole fit, {epochs} epoch{'s' if epochs > 1 else ''} (SGD, batch 1) vs "
                    "sklearn SGDRegressor.fit",
                    f"{call['gdlab']:.3f} s",
                    f"{call['sklearn']:.3f} s",
                    call["ratio"],
                    None,
                    f" (no bar); default settings (standardize=True) {call['gdlab_default']:.3f} s,"
                    f" ratio {call['ratio_default']:.3f}",
                )
            for name, label in (
                ("sgd", "SGD batch 1, standardize=False"),
                ("sgd_std", "SGD batch 1, standardize=True"),
                ("default_raw", "GDRegressor(standardize=False)"),
                ("default", "GDRegressor()"),
            ):
                reads = c["fixed_reads"][name]
                row(
                    n,
                    f"fixed cost of a fit call, {label} (1-epoch call - marginal epoch)",
                    f"{reads:.1f} reads of X",
                    "1 read of X",
                    reads if reads > 0 else None,  # negative: a disturbed call, not a cost
                    2,
                    f"; CPU of all threads {c['fixed_cpu_reads'][name]:.1f} reads of one thread"
                    + ("" if reads > 0 else "; negative wall time: the load, re-run"),
                )
        if r.get("parts"):
            parts_rows(row, n, r["parts"])
        if "adam" not in r:  # --fixed-cost: only the rows above
            continue
        for batch in (256, 4096):
            a = r["adam"][batch]
            bar = 0.1 if batch == 256 else 1.0
            peer = f"{a['torch']:.3f} s" if "torch" in a else "n/a"
            row(
                n,
                f"Adam epoch, batch {batch} vs PyTorch CPU",
                f"{a['gdlab']:.3f} s",
                peer,
                a.get("ratio"),
                bar,
                "" if batch == 256 else " (no bar)",
            )
        f = r["full"]
        row(
            n,
            "full-batch epoch vs one read of X",
            f"{f['gdlab']:.4f} s",
            f"{f['floor']:.4f} s",
            f["ratio"],
            1.3,
            f"; NumPy path {f['numpy_path']:.4f} s",
        )
        w = r["sweep"]
        row(
            n,
            "64-rate sweep, per rate-epoch vs one read of X",
            f"{w['gdlab_per_rate_epoch'] * 1e3:.2f} ms",
            f"{w['floor'] * 1e3:.2f} ms",
            w["ratio"],
            0.25,
            f"; one fit per rate: {w['one_fit_per_rate_epoch']:.3f} s/epoch",
        )
        for name, label in (
            ("sgd", "SGD"),
            ("adam256", "Adam b256"),
            ("full", "full batch"),
            ("default", "defaults: Adam b32, standardize=True"),
        ):
            m = r["memory"].get(name)
            if m:
                row(
                    n,
                    f"peak extra memory of a fit ({label}) vs size of X",
                    f"{m['extra_bytes'] / 2**20:.0f} MiB",
                    f"{r['x_mib']:.0f} MiB",
                    m["ratio"],
                    0.3,
                )
    if not startup:  # --fixed-cost
        return "\n".join(lines)
    cold, cached = startup["cold"], startup["cached"]
    lines.append("")
    lines.append(
        f"- `import gdlab`: {startup['import']:.3f} s (bar 0.3 s: "
        f"{verdict(startup['import'], 0.3)}); Numba imported by it: "
        f"{startup['numba_imported']}"
    )
    if "first_fit" in cold and "first_fit" in cached:
        lines.append(
            f"- first compiled fit, cold cache (compiles): {cold['first_fit']:.2f} s; "
            f"second fit in that session: {cold['second_fit']:.4f} s"
        )
        lines.append(
            f"- first compiled fit of a new session, cache warm (loads): "
            f"{cached['first_fit']:.2f} s"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, nargs="+", default=None)
    parser.add_argument("--d", type=int, default=100)
    parser.add_argument("--quick", action="store_true", help="n = 200,000 only, fewer repeats")
    parser.add_argument("--repeat", type=int, default=None)
    parser.add_argument(
        "--fixed-cost", action="store_true",
        help="only the rows of a fit call's fixed cost (SGD and fit calls, and its parts)",
    )  # fmt: skip
    parser.add_argument("--torch-python", default=None)
    parser.add_argument("--json", default=None, help="also write the numbers to this file")
    parser.add_argument("--keep-env", action="store_true", help="keep OPENBLAS_* variables")
    parser.add_argument("--probe-memory", nargs=2, type=int, help=argparse.SUPPRESS)
    parser.add_argument("--probe-compile", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.probe_memory:
        probe_memory(*args.probe_memory)
        return
    if args.probe_compile:
        probe_compile()
        return
    if not args.keep_env and any(name in os.environ for name in BLAS_VARS):
        env = {k: v for k, v in os.environ.items() if k not in BLAS_VARS}
        os.execve(sys.executable, [sys.executable, *sys.argv], env)
    sizes = args.n or ([200_000] if args.quick else [200_000, 1_000_000])
    # the fixed cost is a difference of whole calls (t1 - (t5 - t1) / 4): with 2 or 3 repeats
    # it swung by 2-4 reads between runs on the shared machine, with 15 by about one
    repeat = args.repeat or (15 if args.fixed_cost else 2 if args.quick else 3)
    print(f"gdlab benchmark — {time.strftime('%Y-%m-%d %H:%M')}")
    print(f"machine: {machine()}")
    print(f"python {platform.python_version()}, numpy {np.__version__}; BLAS: {blas_info()}")
    print(
        f"OPENBLAS_CORETYPE={os.environ.get('OPENBLAS_CORETYPE')!r}, "
        f"OPENBLAS_L2_SIZE={os.environ.get('OPENBLAS_L2_SIZE')!r}"
    )
    startup = {} if args.fixed_cost else bench_startup(5)
    results: dict[int, dict[str, Any]] = {}
    with tempfile.TemporaryDirectory(prefix="gdlab-bench-") as workdir:
        for n in sizes:
            print(f"\n== n = {n:,}, d = {args.d}, float64 ==", flush=True)
            X, y = make_data(n, args.d)
            epochs = 2 if n >= 500_000 else 3
            floor = floor_read(X, 5)
            r: dict[str, Any] = {"x_mib": X.nbytes / 2**20, "floor": floor}
            print(f"  one read of X: {floor:.4f} s", flush=True)
            r["sgd"] = bench_sgd(X, y, repeat, epochs)
            print(f"  SGD: {r['sgd']}", flush=True)
            r["calls"] = bench_fit_calls(X, y, repeat, floor)
            print(f"  fit calls: {r['calls']}", flush=True)
            r["parts"] = bench_fixed_parts(X, repeat)
            print(f"  fixed-cost parts: {r['parts']}", flush=True)
            if args.fixed_cost:
                from fit_phases import bench_fit_phases, phase_table

                r["phases"] = bench_fit_phases(X, y, FIT_SETTINGS, 3 * repeat)
                print(f"  phases of 1-epoch fit calls:\n{phase_table(r['phases'])}", flush=True)
                results[n] = r
                continue
            r["adam"] = bench_adam(X, y, repeat, epochs, args.torch_python, workdir)
            print(f"  Adam: {r['adam']}", flush=True)
            r["full"] = bench_full_batch(X, y, repeat, 5, floor)
            print(f"  full batch: {r['full']}", flush=True)
            r["sweep"] = bench_sweep(X, y, max(1, repeat - 1), 3, floor)
            print(f"  sweep: {r['sweep']}", flush=True)
            del X, y
            r["memory"] = bench_memory(n, args.d)
            print(f"  memory: {r['memory']}", flush=True)
            results[n] = r
    table = report(results, startup)
    print("\n" + table)
    if args.json:
        Path(args.json).write_text(
            json.dumps({"results": results, "startup": startup}, default=str, indent=1)
        )


if __name__ == "__main__":
    main()
