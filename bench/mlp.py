"""gdlab's MLPs against scikit-learn's MLP and PyTorch CPU eager, in the same run, as ratios.

    python bench/mlp.py                 # both data sets (a few minutes on 2 cores)
    python bench/mlp.py --quick         # fewer repeats and epochs
    python bench/mlp.py --torch-python /path/to/python --json results.json

Measured, float64, the same architecture, batch size, optimizer (Adam, rate 1e-3) and epochs:

* digits (1,797 x 64, features / 16), hidden (100,), batch 200, classification;
* synthetic 100,000 x 100 (``X ~ N(0, 1)``, ``y = sum_j tanh(x_j), j < 5``, plus noise), hidden
  (64, 64), batch 256, regression.

Epoch time is what one more epoch costs: (fastest fit of E epochs - fastest fit of 1 epoch) /
(E - 1) for gdlab and scikit-learn (fixed costs of a call, input validation and set-up, cancel);
PyTorch's fastest epoch is timed inside its loop (``bench/torch_mlp.py``, in a subprocess with
the same arrays). Bars (issue 11): gdlab / scikit-learn <= 1.0 and gdlab / PyTorch <= 0.5.

Accuracy: digits split 75/25 (stratified) by each of 5 seeds; gdlab's and scikit-learn's
``MLPClassifier`` with the same settings (hidden (100,), Adam 1e-3, batch 200, max_iter 200,
tol 1e-4, 10 epochs of patience, L2 mapped: gdlab ``alpha = alpha_sklearn / batch``, see
``gdlab.MLPClassifier``); bar: mean test accuracies within 0.01.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from threadpoolctl import threadpool_limits

HERE = Path(__file__).resolve().parent
SK_ALPHA = 1e-4


def timed_fit(make: Callable[[int], Any], epochs: int, X: Any, y: Any) -> float:
    start = time.perf_counter()
    make(epochs).fit(X, y)
    return time.perf_counter() - start


def epoch_seconds(
    makers: dict[str, tuple[Callable[[int], Any], int | None]],
    X: Any,
    y: Any,
    epochs: int,
    repeat: int,
) -> dict[str, float]:
    """Per library: (fastest fit of ``epochs`` epochs - fastest fit of 1) / (epochs - 1).

    The libraries' fits alternate within each repeat, so that a burst of load on the shared
    machine slows all of them rather than one.
    """
    many = {name: float("inf") for name in makers}
    one = dict(many)
    for _ in range(repeat):
        for name, (make, threads) in makers.items():
            # threads None: the library's own choice (gdlab picks one thread for small layers)
            with threadpool_limits(limits=threads, user_api="blas"):
                many[name] = min(many[name], timed_fit(make, epochs, X, y))
                one[name] = min(one[name], timed_fit(make, 1, X, y))
    return {name: (many[name] - one[name]) / (epochs - 1) for name in makers}


def torch_epoch(X, y, hidden, batch, epochs, task, python, threads) -> float | None:
    if python is None:
        try:
            import torch  # noqa: F401

            python = sys.executable
        except ImportError:
            print("  (PyTorch not found: pass --torch-python; its ratios are skipped)")
            return None
    with tempfile.TemporaryDirectory() as workdir:
        path = Path(workdir) / "data.npz"
        np.savez(path, X=X, y=y)
        command = [
            python,
            str(HERE / "torch_mlp.py"),
            str(path),
            "--batch",
            str(batch),
            "--epochs",
            str(epochs),
            "--task",
            task,
            "--threads",
            str(threads),
            "--hidden",
            *map(str, hidden),
        ]
        done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        print("  (PyTorch run failed:", done.stderr.strip()[-300:], ")")
        return None
    return float(json.loads(done.stdout.strip().splitlines()[-1])["epoch_seconds"])


def models(task: str, hidden: tuple[int, ...], batch: int) -> tuple[Callable, Callable]:
    from sklearn import neural_network as sk

    from gdlab.estimators._mlp import MLPClassifier, MLPRegressor

    ours_cls = MLPClassifier if task == "classification" else MLPRegressor
    theirs_cls = sk.MLPClassifier if task == "classification" else sk.MLPRegressor
    factor = 1.0 if task == "classification" else 2.0  # gdlab's loss / scikit-learn's

    def ours(epochs: int) -> Any:
        return ours_cls(
            hidden_layer_sizes=hidden,
            batch_size=batch,
            max_iter=epochs,
            tol=None,
            random_state=0,
            alpha=factor * SK_ALPHA / batch,
        )

    def theirs(epochs: int) -> Any:
        return theirs_cls(
            hidden_layer_sizes=hidden,
            batch_size=batch,
            max_iter=epochs,
            tol=0.0,
            alpha=SK_ALPHA,
            n_iter_no_change=10**6,
            random_state=0,
        )

    return ours, theirs


def bench_speed(name, X, y, task, hidden, batch, epochs, repeat, torch_python, threads):
    ours, theirs = models(task, hidden, batch)
    makers = {"gdlab": (ours, None), "sklearn": (theirs, threads)}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        times = epoch_seconds(makers, X, y, epochs, repeat)
    gd, sk = times["gdlab"], times["sklearn"]
    th = torch_epoch(X, y, hidden, batch, epochs, task, torch_python, threads)
    print(
        f"  {name}: gdlab {gd:.4f} s/epoch, scikit-learn {sk:.4f}, PyTorch "
        f"{'-' if th is None else f'{th:.4f}'}"
    )
    return {"name": name, "gdlab": gd, "sklearn": sk, "torch": th}


def digits_accuracy(seeds: int) -> dict[str, Any]:
    from sklearn import neural_network as sk
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    from gdlab.estimators._mlp import MLPClassifier

    X, y = load_digits(return_X_y=True)
    X = X / 16.0
    ours, theirs = [], []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for seed in range(seeds):
            X_tr, X_te, y_tr, y_te = train_test_split(X, y, random_state=seed, stratify=y)
            a = MLPClassifier((100,), batch_size=200, alpha=SK_ALPHA / 200, random_state=seed)
            b = sk.MLPClassifier((100,), batch_size=200, alpha=SK_ALPHA, random_state=seed)
            ours.append(float(a.fit(X_tr, y_tr).score(X_te, y_te)))
            theirs.append(float(b.fit(X_tr, y_tr).score(X_te, y_te)))
    return {"gdlab": ours, "sklearn": theirs}


def blas_info() -> str:
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return "threadpoolctl not installed"
    return "; ".join(
        f"{i.get('internal_api')} {i.get('version')} {i.get('architecture')}, "
        f"{i.get('num_threads')} threads"
        for i in threadpool_info()
    )


def table(speed: list[dict[str, Any]], accuracy: dict[str, Any]) -> str:
    lines = [
        "| data | gdlab s/epoch | scikit-learn | ratio (<= 1.0) | PyTorch | ratio (<= 0.5) |",
        "|---|---|---|---|---|---|",
    ]
    for row in speed:
        sk_ratio = row["gdlab"] / row["sklearn"]
        th = row["torch"]
        th_text = "-" if th is None else f"{th:.4f} s"
        th_ratio = "-" if th is None else f"{row['gdlab'] / th:.3f}"
        lines.append(
            f"| {row['name']} | {row['gdlab']:.4f} s | {row['sklearn']:.4f} s | "
            f"{sk_ratio:.3f} | {th_text} | {th_ratio} |"
        )
    ours, theirs = np.mean(accuracy["gdlab"]), np.mean(accuracy["sklearn"])
    lines.append("")
    lines.append(
        f"digits test accuracy over {len(accuracy['gdlab'])} seeds: gdlab {ours:.4f}, "
        f"scikit-learn {theirs:.4f}, difference {ours - theirs:+.4f} (bar: within 0.01)"
    )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--torch-python", default=None)
    parser.add_argument("--json", default=None)
    parser.add_argument(
        "--peer-threads",
        type=int,
        default=len(os.sched_getaffinity(0)),
        help="BLAS threads of scikit-learn and PyTorch's threads (default: all cores, as they "
        "run by default; gdlab picks its own, see gdlab.estimators._mlp_base._blas_threads)",
    )
    args = parser.parse_args()
    from sklearn.datasets import load_digits

    repeat = 2 if args.quick else 5
    print(f"BLAS: {blas_info()}; peers run with {args.peer_threads} thread(s)")
    X, y = load_digits(return_X_y=True)
    speed = [
        bench_speed(
            "digits 1,797 x 64, (100,), batch 200",
            X / 16.0,
            y,
            "classification",
            (100,),
            200,
            6 if args.quick else 11,
            repeat,
            args.torch_python,
            args.peer_threads,
        )
    ]
    rng = np.random.default_rng(0)
    X = rng.normal(size=(100_000, 100))
    y = np.tanh(X[:, :5]).sum(axis=1) + 0.1 * rng.normal(size=100_000)
    speed.append(
        bench_speed(
            "synthetic 100,000 x 100, (64, 64), batch 256",
            X,
            y,
            "regression",
            (64, 64),
            256,
            3 if args.quick else 4,
            1 if args.quick else 3,
            args.torch_python,
            args.peer_threads,
        )
    )
    accuracy = digits_accuracy(2 if args.quick else 5)
    print(table(speed, accuracy))
    if args.json:
        Path(args.json).write_text(json.dumps({"speed": speed, "accuracy": accuracy}, indent=2))


if __name__ == "__main__":
    main()
