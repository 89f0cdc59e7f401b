"""Dask: gdlab on a LocalCluster of 2 single-threaded worker processes, the data persisted
(issue 10), against Dask's own arithmetic and dask-ml, in the same run. The data are generated
on the workers (one seeded task per partition), so no array travels in a task graph.

    python bench/dask_bench.py                  # 200,000 x 20 float64 in 4 partitions
    python bench/dask_bench.py --rows 1000000 --partitions 8 --json out.json

(``-P``: bench/sparse_bench.py would otherwise shadow the ``sparse`` package that dask imports.)

Rows of the table:

- ``full-batch epoch``: one more epoch of ``GDRegressor(batch_size=None)``, (time of
  ``max_iter=6`` - time of ``max_iter=1``) / 5, fastest of 2, with ``standardize=False`` and with
  the default ``standardize=True`` (which scales each partition before its sums), against
  ``(X.T @ (X @ w - y)).compute()`` (fastest of 5). Bar: at most 1.5x.
- ``time to 1e-6``: seconds until the objective (mean squared error; mean log loss) is within
  1e-6 relative of its minimum (closed form; Newton to 1e-12), for gdlab full-batch gradient
  descent (the time of the first epoch that reaches it, measured from the start of ``fit``,
  scanning pass included) and dask-ml's ``LinearRegression``/``LogisticRegression`` with their
  default solver (ADMM) and ``solver="gradient_descent"`` (``C=1e12``: no penalty to speak of).
  gdlab's settings, two of them: full-batch Nesterov with the step 1/L that gdlab's divergence
  advice gives in memory for these standardized features (L = 4.03 for squared error, so 0.248;
  the log loss's curvature is at most L/8, so 1.98) and the momentum (0.5; 0.7) of a small
  in-memory sweep over 0.3, 0.5, 0.7 (21 and 22 epochs); and Polyak's heavy ball
  (``optimizer="momentum"``) with the step and momentum of :func:`heavy_ball`, computed from
  the condition number of the standardized features in one pass on the cluster, that pass
  counted in gdlab's time (15 and 18 epochs in memory).
  gdlab and ADMM run ``--repeats`` times (median and fastest reported), dask-ml's gradient
  descent once.
  dask-ml has no callback, so it is fitted with ``max_iter`` = 1, 2, 4, ... until it reaches the
  target; its time is given as the bracket [last fit that did not reach it, first that did]
  (ADMM reaches it with ``max_iter=1``: its time is exact; for gradient descent quote the ratio
  to both ends). Bar: gdlab at most 0.5x.
- ``bit-identical``: the full-batch coefficients on clusters of 1, 2 and 4 worker processes.

dask-ml is not a gdlab dependency: ``pip install dask-ml`` for this script.
"""

from __future__ import annotations

import argparse
import json
import math
import time
import warnings
from typing import Any

import numpy as np

TARGET = 1e-6


def make_data(rows: int, features: int, partitions: int, seed: int = 0) -> dict[str, Any]:
    """The data as dask arrays built on the workers (one task per partition, seeded by
    ``[seed, partition]``; only the small mixing matrix and weights travel in the graph), persisted.

    The features are correlated and of mixed scales; the labels follow a logistic model of the
    features standardized by their population moments."""
    import dask
    import dask.array as da
    import distributed

    rng = np.random.default_rng(seed)
    mixing = np.eye(features) + 0.1 * rng.normal(size=(features, features))
    scales = rng.uniform(0.5, 5.0, size=features)
    shift = rng.normal(size=features)
    w = rng.normal(size=features)
    std = np.sqrt(np.sum(mixing**2, axis=0)) * scales

    def block(part: int, n: int) -> Any:
        draw = np.random.default_rng([seed, part])
        X = draw.normal(size=(n, features)) @ mixing * scales + shift
        y = X @ w + 2.0 + draw.normal(size=n)
        p = 1.0 / (1.0 + np.exp(-(((X - shift) / std) @ (w / 2) + 0.3)))
        labels = (draw.uniform(size=n) < p).astype(np.float64)
        return np.column_stack([X, y, labels])

    size = -(-rows // partitions)
    counts = [min(size, rows - start) for start in range(0, rows, size)]
    stacked = da.concatenate(
        [
            da.from_delayed(dask.delayed(block)(part, n), shape=(n, features + 2), dtype=float)
            for part, n in enumerate(counts)
        ]
    )
    dX = stacked[:, :features].persist()
    dy = stacked[:, features].persist()
    dl = stacked[:, features + 1].astype(np.int64).persist()
    distributed.wait([dX, dy, dl])
    return {"dX": dX, "dy": dy, "dl": dl}


def gathered(data: dict[str, Any]) -> dict[str, Any]:
    """The persisted arrays fetched to the client, for the oracles."""
    import dask

    X, y, labels = dask.compute(data["dX"], data["dy"], data["dl"])
    return {"X": X, "y": y, "labels": labels}


def least_squares(X: Any, y: Any) -> Any:
    Z = np.column_stack([X, np.ones(len(X))])
    solution = np.linalg.lstsq(Z, y, rcond=None)[0]
    best = float(np.mean((y - Z @ solution) ** 2))
    return lambda coef, b: (float(np.mean((y - X @ np.ravel(coef) - b) ** 2)) - best) / best


def log_loss(X: Any, labels: Any) -> Any:
    from sklearn.linear_model import LogisticRegression

    newton = LogisticRegression(C=np.inf, solver="newton-cholesky", tol=1e-12, max_iter=1000)
    newton.fit(X, labels)

    def value(coef: Any, b: Any) -> float:
        z = X @ np.ravel(coef) + np.ravel(b)[0]
        return float(np.mean(np.logaddexp(0.0, z) - labels * z))

    best = value(newton.coef_, newton.intercept_)
    return lambda coef, b: (value(coef, b) - best) / best


def fastest(function: Any, repeats: int) -> float:
    best = math.inf
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        best = min(best, time.perf_counter() - start)
    return best


def epoch_row(dX: Any, dy: Any, standardize: bool) -> dict[str, Any]:
    from gdlab import GDRegressor

    def fit(epochs: int) -> None:
        GDRegressor(
            batch_size=None, optimizer="sgd", learning_rate=0.01, max_iter=epochs, tol=None,
            standardize=standardize,
        ).fit(dX, dy)  # fmt: skip

    marginal = (fastest(lambda: fit(6), 2) - fastest(lambda: fit(1), 2)) / 5
    w = np.ones(dX.shape[1])
    peer = fastest(lambda: (dX.T @ (dX @ w - dy)).compute(), 5)
    return {"gdlab": marginal, "dask": peer, "ratio": marginal / peer}


def heavy_ball(dX: Any, dy: Any, loss: str) -> dict[str, float]:
    """Polyak's heavy-ball step and momentum for the standardized problem, from one pass over
    the data on the cluster (the features' second moments and the mean target).

    The full-batch Hessian of the mean squared error in the standardized features (and the
    intercept) is ``2 A'A / n`` with ``A = [Z, 1]``: its eigenvalues are twice those of the
    features' correlation matrix and 2 (the intercept, orthogonal to the centred ``Z``). The log
    loss's is ``A' D A / n`` with ``D = p (1 - p)``; at the start (``p`` the mean label, gdlab's
    first intercept) that is ``p (1 - p) A'A / n``. With ``L`` and ``mu`` its extreme eigenvalues
    and ``kappa = L / mu``, the heavy ball ``x+ = x - lr g + beta (x - x-)`` (gdlab's
    ``optimizer="momentum"``) with

        lr = 4 / (sqrt(L) + sqrt(mu))^2,   beta = ((sqrt(kappa) - 1) / (sqrt(kappa) + 1))^2

    contracts a quadratic by ``(sqrt(kappa) - 1) / (sqrt(kappa) + 1)`` per epoch, against
    ``1 - 1 / sqrt(kappa)`` for Nesterov with ``lr = 1 / L`` (Polyak 1964; Lessard, Recht and
    Packard 2016, section 4.1).
    """
    import dask

    n = dX.shape[0]
    mean, second, target = dask.compute(dX.mean(axis=0), (dX.T @ dX) / n, dy.mean())
    covariance = second - np.outer(mean, mean)
    std = np.sqrt(np.diag(covariance))
    eigenvalues = np.append(np.linalg.eigvalsh(covariance / np.outer(std, std)), 1.0)
    curvature = 2.0 if loss == "squared_error" else float(target * (1.0 - target))
    L, mu = curvature * eigenvalues.max(), curvature * eigenvalues.min()
    root = math.sqrt(L / mu)
    return {"learning_rate": 4.0 / (math.sqrt(L) + math.sqrt(mu)) ** 2,
            "momentum": ((root - 1.0) / (root + 1.0)) ** 2}  # fmt: skip


def gdlab_time_to_target(
    model: Any, dX: Any, dy: Any, gap: Any, tune: str | None = None
) -> dict[str, Any]:
    """Seconds from the start of ``fit`` (or of the :func:`heavy_ball` pass that sets the step
    and momentum, with ``tune`` the loss) to the end of the first epoch within the target."""
    stamps: list[tuple[float, Any, Any]] = []

    def note(snapshot: Any) -> None:
        stamps.append((time.perf_counter(), snapshot.coef_.copy(), snapshot.intercept_.copy()))

    start = time.perf_counter()
    if tune is not None:
        model.set_params(optimizer="momentum", **heavy_ball(dX, dy, tune))
    model.fit(dX, dy, callback=note)
    for epoch, (stamp, coef, intercept) in enumerate(stamps, start=1):
        if gap(coef, intercept) <= TARGET:
            return {"seconds": stamp - start, "epochs": epoch}
    return {"seconds": math.inf, "epochs": None, "final_gap": gap(*stamps[-1][1:])}


def dask_ml_time_to_target(make: Any, dX: Any, dy: Any, gap: Any, cap: float) -> dict[str, Any]:
    """Fit with max_iter = 1, 2, 4, ... until the target is reached (or ``cap`` seconds)."""
    below = 0.0
    iterations = 1
    while True:
        model = make(iterations)
        start = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model.fit(dX, dy)
        seconds = time.perf_counter() - start
        reached = gap(model.coef_, model.intercept_)
        if reached <= TARGET:
            return {"seconds": [below, seconds], "max_iter": iterations}
        if seconds > cap or iterations >= 1024:
            return {"seconds": [seconds, math.inf], "max_iter": None, "final_gap": reached}
        below, iterations = seconds, 2 * iterations


def targets(
    data: dict[str, Any], dX: Any, dy: Any, dl: Any, cap: float, repeats: int
) -> dict[str, Any]:
    """Time to the target of each method; gdlab's and ADMM's ``repeats`` times (the median and
    the fastest are reported with every run), dask-ml's gradient descent once (it is long)."""
    from dask_ml.linear_model import LinearRegression, LogisticRegression

    from gdlab import GDClassifier, GDRegressor

    full = dict(batch_size=None, max_iter=200, tol=None)
    problems = {
        "least squares": (least_squares(data["X"], data["y"]), dy, LinearRegression,
                          GDRegressor, "squared_error", dict(learning_rate=0.248, momentum=0.5)),
        "logistic": (log_loss(data["X"], data["labels"]), dl, LogisticRegression,
                     GDClassifier, "log_loss", dict(learning_rate=1.98, momentum=0.7)),
    }  # fmt: skip
    rows: dict[str, Any] = {}
    for name, (gap, target, peer, estimator, loss, nesterov) in problems.items():
        runs: dict[str, list[Any]] = {}
        for _ in range(repeats):
            for label, model, tune in (
                ("gdlab nesterov", estimator(optimizer="nesterov", **nesterov, **full), None),
                ("gdlab heavy ball", estimator(**full), loss),
            ):
                runs.setdefault(label, []).append(
                    gdlab_time_to_target(model, dX, target, gap, tune)
                )
            runs.setdefault("dask-ml admm", []).append(dask_ml_time_to_target(
                lambda k, p=peer: p(solver="admm", C=1e12, max_iter=k, tol=1e-12),
                dX, target, gap, cap,
            ))  # fmt: skip
        runs["dask-ml gradient_descent"] = [dask_ml_time_to_target(
            lambda k, p=peer: p(solver="gradient_descent", C=1e12, max_iter=k, tol=1e-12),
            dX, target, gap, cap,
        )]  # fmt: skip
        rows[name] = {label: summary(results) for label, results in runs.items()}
    return rows


def summary(results: list[dict[str, Any]]) -> dict[str, Any]:
    """The runs of one method: every run, and the median and fastest seconds (dask-ml: the
    upper end of its bracket, the first fit that reached the target)."""
    seconds = [r["seconds"][1] if isinstance(r["seconds"], list) else r["seconds"] for r in results]
    return {"median": float(np.median(seconds)), "fastest": min(seconds), "runs": results}


def identity_row(rows: int, features: int, partitions: int) -> dict[str, Any]:
    import distributed

    from gdlab import GDRegressor

    coefs = {}
    for workers in (1, 2, 4):
        with distributed.LocalCluster(
            n_workers=workers, threads_per_worker=1, dashboard_address=None
        ) as cluster, distributed.Client(cluster):  # fmt: skip
            data = make_data(rows, features, partitions)
            model = GDRegressor(batch_size=None, optimizer="adam", learning_rate=0.1, max_iter=10)
            coefs[workers] = np.append(model.fit(data["dX"], data["dy"]).coef_, model.intercept_)
    same = all(np.array_equal(coefs[w], coefs[1]) for w in (2, 4))
    return {"bit_identical": same, "coef[0]": {w: float(c[0]) for w, c in coefs.items()}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--features", type=int, default=20)
    parser.add_argument("--partitions", type=int, default=4)
    parser.add_argument("--cap", type=float, default=120.0, help="seconds per dask-ml fit")
    parser.add_argument("--repeats", type=int, default=3, help="runs of gdlab and ADMM")
    parser.add_argument("--json", default=None)
    args = parser.parse_args()
    import distributed

    result: dict[str, Any] = {"rows": args.rows, "features": args.features}
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, dashboard_address=None
    ) as cluster, distributed.Client(cluster):  # fmt: skip
        made = make_data(args.rows, args.features, args.partitions)
        dX, dy, dl = made["dX"], made["dy"], made["dl"]
        data = gathered(made)
        result["epoch"] = {
            "standardize=False": epoch_row(dX, dy, False),
            "standardize=True": epoch_row(dX, dy, True),
        }
        print(json.dumps(result["epoch"], indent=1), flush=True)
        result["time to 1e-6"] = targets(data, dX, dy, dl, args.cap, args.repeats)
        print(json.dumps(result["time to 1e-6"], indent=1, default=str), flush=True)
    result["workers"] = identity_row(args.rows, args.features, args.partitions)
    print(json.dumps(result["workers"], indent=1), flush=True)
    if args.json:
        with open(args.json, "w") as handle:
            json.dump(result, handle, indent=1, default=str)


if __name__ == "__main__":
    main()
