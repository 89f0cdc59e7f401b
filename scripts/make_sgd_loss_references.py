"""Record scikit-learn's SGD losses and PyTorch's Poisson loss for tests/test_sgd_losses.py.

Run with a Python that has scikit-learn and PyTorch 2.13 (the tests read the stored values)::

    python scripts/make_sgd_loss_references.py

It writes ``tests/data/sgd_losses.json``: for each of scikit-learn's ``modified_huber``,
``squared_hinge``, ``perceptron`` (``Hinge(threshold=0)``), ``epsilon_insensitive`` and
``squared_epsilon_insensitive`` the per-sample loss and its derivative with respect to the
prediction (``sklearn.linear_model._sgd_fast``'s ``py_loss`` and ``py_dloss``) on a grid of
targets and predictions that includes the kinks; and PyTorch's ``PoissonNLLLoss(log_input=True)``
(mean reduction, float64) with its gradient, on counts and log-means.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import sklearn
import torch
from sklearn.linear_model import _sgd_fast

OUT = Path(__file__).resolve().parents[1] / "tests" / "data" / "sgd_losses.json"
EPSILON = 0.3
LABELS = [-1.0, 1.0]
DECISIONS = [-4.0, -1.5, -1.0, -0.5, 0.0, 0.25, 0.999, 1.0, 1.7, 6.0]
TARGETS = [-2.0, 0.0, 0.7, 3.0]
PREDICTIONS = [-2.5, -2.0, -1.7, -0.3, 0.0, 0.3, 0.4, 0.7, 1.0, 2.9, 3.0, 3.3, 8.0]
SKLEARN: dict[str, tuple[Any, list[float], list[float], float | None]] = {
    "modified_huber": (_sgd_fast.ModifiedHuber(), LABELS, DECISIONS, None),
    "squared_hinge": (_sgd_fast.SquaredHinge(1.0), LABELS, DECISIONS, None),
    "perceptron": (_sgd_fast.Hinge(0.0), LABELS, DECISIONS, None),
    "epsilon_insensitive": (_sgd_fast.EpsilonInsensitive(EPSILON), TARGETS, PREDICTIONS, EPSILON),
    "squared_epsilon_insensitive": (
        _sgd_fast.SquaredEpsilonInsensitive(EPSILON), TARGETS, PREDICTIONS, EPSILON,
    ),
}  # fmt: skip


def _sklearn_case(loss: Any, ys: list[float], zs: list[float]) -> dict[str, list[float]]:
    y, z = (a.ravel().tolist() for a in np.meshgrid(ys, zs, indexing="ij"))
    return {
        "y": y,
        "z": z,
        "loss": [float(loss.py_loss(p, t)) for t, p in zip(y, z, strict=True)],
        "dloss": [float(loss.py_dloss(p, t)) for t, p in zip(y, z, strict=True)],
    }


def _poisson_case() -> dict[str, Any]:
    rng = np.random.default_rng(0)
    z = np.concatenate([np.linspace(-3.0, 3.0, 13), rng.normal(size=7)])
    y = np.concatenate([rng.poisson(2.0, size=13), [0, 0, 1, 5, 9, 2, 30]]).astype(float)
    zt = torch.tensor(z, dtype=torch.float64, requires_grad=True)
    value = torch.nn.PoissonNLLLoss(log_input=True, full=False)(zt, torch.tensor(y))
    value.backward()
    return {"y": y.tolist(), "z": z.tolist(), "value": value.item(), "grad": zt.grad.tolist()}


def main() -> None:
    data: dict[str, Any] = {
        "sklearn": sklearn.__version__,
        "torch": torch.__version__,
        "epsilon": EPSILON,
        "sklearn_losses": {
            name: {"epsilon": eps, **_sklearn_case(loss, ys, zs)}
            for name, (loss, ys, zs, eps) in SKLEARN.items()
        },
        "poisson": _poisson_case(),
    }
    OUT.write_text(json.dumps(data, indent=1) + "\n")
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
