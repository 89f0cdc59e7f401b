"""gdlab's networks against PyTorch 2.13 (float64 ``nn.Sequential``, same weights, same batches).

The references are recorded by ``scripts/make_mlp_reference.py`` into
``tests/data/mlp_torch_reference.json``; these tests never import torch. One pass: loss, every
gradient and the batch-norm running statistics within 1e-10. Training: 20 updates of each
optimizer through :func:`gdlab.engine.train` (the one training loop), the loss of every update and
the final parameters within 1e-9; dropout with the same injected masks.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from gdlab import losses, optim
from gdlab.engine import TrainConfig, init_state, train
from gdlab.nn import Architecture, NetworkObjective

DATA = json.loads((Path(__file__).parent / "data" / "mlp_torch_reference.json").read_text())
LOSSES = {
    "squared_error": losses.squared_error,
    "log_loss": losses.log_loss,
    "softmax": losses.softmax_cross_entropy,
}


def _targets(loss: str, y: list[float]) -> np.ndarray:
    y_arr = np.array(y)
    if loss == "softmax":
        return np.eye(3)[y_arr.astype(int)]
    return y_arr


def _close(ours, theirs, tol) -> None:
    ours, theirs = np.asarray(ours, dtype=float), np.asarray(theirs, dtype=float)
    scale = max(1.0, float(np.max(np.abs(theirs))))
    assert np.max(np.abs(ours - theirs)) <= tol * scale


def _mask(p: float):
    def keep(draw: int, layer: int, shape: tuple[int, int]) -> np.ndarray:
        return (np.random.default_rng([11, draw, layer]).random(shape) >= p).astype(float)

    return keep


def test_reference_covers_every_activation_loss_and_batch_norm():
    cases = {(c["activation"], c["loss"], c["batch_norm"]) for c in DATA["passes"]}
    assert len(cases) == 5 * 3 * 2
    names = {t["optimizer"] for t in DATA["trajectories"]}
    assert any(t["batch_norm"] for t in DATA["trajectories"])
    assert any(t["dropout"] for t in DATA["trajectories"])
    assert names == {"sgd", "momentum", "nesterov", "adagrad", "rmsprop", "adam", "adamw"}


@pytest.mark.parametrize(
    "case",
    DATA["passes"],
    ids=lambda c: f"{c['activation']}-{c['loss']}-{'bn' if c['batch_norm'] else 'plain'}",
)
def test_one_pass_matches_torch(case):
    sizes = case["sizes"]
    arch = Architecture(sizes[0], sizes[1:-1], sizes[-1], case["activation"], case["batch_norm"])
    X = np.array(case["X"])
    objective = NetworkObjective(
        X, _targets(case["loss"], case["y"]), LOSSES[case["loss"]], arch, alpha=case["alpha"]
    )
    value, grad = objective.loss_and_grad(np.array(case["theta"]))
    assert value == pytest.approx(case["value"], rel=1e-10, abs=1e-10)
    _close(grad, case["grad"], 1e-10)
    for ours, theirs in zip(objective.bn_state.running_mean, case["running_mean"], strict=True):
        _close(ours, theirs, 1e-10)
    for ours, theirs in zip(objective.bn_state.running_var, case["running_var"], strict=True):
        _close(ours, theirs, 1e-10)


@pytest.mark.parametrize(
    "case",
    DATA["trajectories"],
    ids=lambda c: f"{c['optimizer']}-bn{c['batch_norm']:d}-dropout{c['dropout']}",
)
def test_twenty_updates_match_torch(case):
    setup = DATA["setup"]
    sizes = setup["sizes"]
    arch = Architecture(
        sizes[0],
        sizes[1:-1],
        sizes[-1],
        "relu",
        batch_norm=case["batch_norm"],
        dropout=case["dropout"],
    )
    objective = NetworkObjective(
        np.array(setup["X"]),
        _targets("softmax", setup["y"]),
        losses.softmax_cross_entropy,
        arch,
        dropout_mask=_mask(case["dropout"]) if case["dropout"] else None,
    )
    name, kwargs = case["gdlab"]
    tx = optim.get(name, **kwargs)
    config = TrainConfig(
        batch_size=DATA["batch_size"], max_epochs=4, backend="numpy", record_steps=True
    )
    theta = np.array(setup["theta_bn" if case["batch_norm"] else "theta"])
    result = train(objective, tx, init_state(theta, tx), config)
    assert len(result.history.step_loss) == 20
    _close(result.history.step_loss, case["losses"], 1e-9)
    _close(result.state.params, case["theta"], 1e-9)
    for ours, theirs in zip(objective.bn_state.running_mean, case["running_mean"], strict=True):
        _close(ours, theirs, 1e-9)
    for ours, theirs in zip(objective.bn_state.running_var, case["running_var"], strict=True):
        _close(ours, theirs, 1e-9)
