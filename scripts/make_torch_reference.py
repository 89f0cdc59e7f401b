"""Record PyTorch optimizer and LR-scheduler trajectories for tests/test_torch_agreement.py.

Run with the separate PyTorch environment (the tests themselves never import torch)::

    /work/torchenv/bin/python scripts/make_torch_reference.py

It writes ``tests/data/torch_trajectories.json``. The problem is a fixed 5-dimensional function

    f(x) = 0.5 x^T A x - b^T x + (c / 4) * sum(x_i^4),   grad f(x) = A x - b + c x^3,

with a non-diagonal symmetric positive-definite ``A``. The gradient is computed with NumPy by
:func:`gradient` (the test has the same expression) and handed to the torch optimizer as ``.grad``,
so that the only thing compared is the optimizer's arithmetic. Every float is written with
``repr`` by :mod:`json`, so float64 values round-trip exactly.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import torch

N_STEPS = 50
OUT = Path(__file__).resolve().parents[1] / "tests" / "data" / "torch_trajectories.json"

A = [
    [3.0, 0.6, -0.4, 0.2, 0.1],
    [0.6, 2.0, 0.3, -0.5, 0.0],
    [-0.4, 0.3, 1.5, 0.2, -0.3],
    [0.2, -0.5, 0.2, 1.0, 0.25],
    [0.1, 0.0, -0.3, 0.25, 0.8],
]
B = [1.0, -2.0, 0.5, 1.5, -1.0]
C = 0.05
X0 = [1.5, -1.0, 2.0, -0.5, 0.75]


def gradient(x: np.ndarray, a: np.ndarray, b: np.ndarray, c: float) -> np.ndarray:
    """``A x - b + c x^3``, written with elementwise sums so the result does not depend on BLAS."""
    return (a * x).sum(axis=1) - b + c * (x * x * x)


# name -> (torch optimizer class, torch keyword arguments, gdlab optimizer name, gdlab kwargs)
OPTIMIZER_CASES: dict[str, tuple[str, dict[str, Any], str, dict[str, Any]]] = {
    "sgd": ("SGD", {"lr": 0.05}, "sgd", {"learning_rate": 0.05}),
    "sgd_momentum": (
        "SGD",
        {"lr": 0.02, "momentum": 0.9},
        "sgd",
        {"learning_rate": 0.02, "momentum": 0.9},
    ),
    "sgd_nesterov": (
        "SGD",
        {"lr": 0.02, "momentum": 0.9, "nesterov": True},
        "sgd",
        {"learning_rate": 0.02, "momentum": 0.9, "nesterov": True},
    ),
    "adagrad": ("Adagrad", {"lr": 0.5}, "adagrad", {"learning_rate": 0.5}),
    "adagrad_initial_accumulator": (
        "Adagrad",
        {"lr": 0.5, "initial_accumulator_value": 0.3, "eps": 1e-8},
        "adagrad",
        {"learning_rate": 0.5, "initial_accumulator_value": 0.3, "eps": 1e-8},
    ),
    "rmsprop": ("RMSprop", {"lr": 0.01}, "rmsprop", {"learning_rate": 0.01}),
    "rmsprop_centered": (
        "RMSprop",
        {"lr": 0.01, "alpha": 0.9, "centered": True},
        "rmsprop",
        {"learning_rate": 0.01, "decay": 0.9, "centered": True},
    ),
    "rmsprop_momentum": (
        "RMSprop",
        {"lr": 0.005, "momentum": 0.8},
        "rmsprop",
        {"learning_rate": 0.005, "momentum": 0.8},
    ),
    "rmsprop_centered_momentum": (
        "RMSprop",
        {"lr": 0.005, "alpha": 0.95, "eps": 1e-6, "momentum": 0.5, "centered": True},
        "rmsprop",
        {"learning_rate": 0.005, "decay": 0.95, "eps": 1e-6, "momentum": 0.5, "centered": True},
    ),
    "adam": ("Adam", {"lr": 0.05}, "adam", {"learning_rate": 0.05}),
    "adam_betas": (
        "Adam",
        {"lr": 0.1, "betas": (0.8, 0.99), "eps": 1e-6},
        "adam",
        {"learning_rate": 0.1, "b1": 0.8, "b2": 0.99, "eps": 1e-6},
    ),
    "adamw_wd0.01": (
        "AdamW",
        {"lr": 0.05, "weight_decay": 0.01},
        "adamw",
        {"learning_rate": 0.05, "weight_decay": 0.01},
    ),
    "adamw_wd0.1": (
        "AdamW",
        {"lr": 0.05, "weight_decay": 0.1},
        "adamw",
        {"learning_rate": 0.05, "weight_decay": 0.1},
    ),
}

# name -> (torch optimizer, its kwargs, torch scheduler, its kwargs, gdlab schedule, its kwargs,
#          gdlab optimizer, its kwargs without the learning rate)
SCHEDULER_CASES: dict[str, tuple[Any, ...]] = {
    "sgd_momentum_steplr": (
        "SGD",
        {"lr": 0.05, "momentum": 0.9},
        "StepLR",
        {"step_size": 10, "gamma": 0.5},
        "step_decay",
        {"init_value": 0.05, "step_size": 10, "gamma": 0.5},
        "sgd",
        {"momentum": 0.9},
    ),
    "adam_cosine": (
        "Adam",
        {"lr": 0.1},
        "CosineAnnealingLR",
        {"T_max": N_STEPS, "eta_min": 0.002},
        "cosine_decay",
        {"init_value": 0.1, "decay_steps": N_STEPS, "alpha": 0.02},
        "adam",
        {},
    ),
    "sgd_exponential": (
        "SGD",
        {"lr": 0.08},
        "ExponentialLR",
        {"gamma": 0.95},
        "exponential_decay",
        {"init_value": 0.08, "decay_rate": 0.95},
        "sgd",
        {},
    ),
    "rmsprop_linear_warmup": (
        "RMSprop",
        {"lr": 0.02},
        "LinearLR",
        {"start_factor": 0.1, "end_factor": 1.0, "total_iters": 10},
        "linear_warmup",
        {"after": {"name": "constant", "value": 0.02}, "warmup_steps": 10, "init_value": 0.002},
        "rmsprop",
        {},
    ),
}

CLIP_CASES = [
    {"max_norm": 1.0, "grad": [3.0, -4.0, 0.0, 12.0, 0.5]},  # norm above max_norm
    {"max_norm": 5.0, "grad": [3.0, 4.0, 0.0, 0.0, 0.0]},  # norm exactly max_norm
    {"max_norm": 10.0, "grad": [0.1, -0.2, 0.3, 0.0, 1.0]},  # norm well below max_norm
]


def _torch_run(
    optimizer_name: str,
    optimizer_kwargs: dict[str, Any],
    dtype: torch.dtype,
    scheduler: tuple[str, dict[str, Any]] | None = None,
) -> tuple[list[list[float]], list[float]]:
    a, b = np.array(A), np.array(B)
    np_dtype = np.float64 if dtype == torch.float64 else np.float32
    a, b = a.astype(np_dtype), b.astype(np_dtype)
    c = np_dtype(C)
    param = torch.nn.Parameter(torch.tensor(X0, dtype=dtype))
    kwargs = dict(optimizer_kwargs, foreach=False)  # the plain per-tensor loop, as documented
    opt = getattr(torch.optim, optimizer_name)([param], **kwargs)
    sched = None
    if scheduler is not None:
        sched = getattr(torch.optim.lr_scheduler, scheduler[0])(opt, **scheduler[1])
    path = [param.detach().numpy().astype(np.float64).tolist()]
    rates = []
    for _ in range(N_STEPS):
        x = param.detach().numpy().copy()
        param.grad = torch.from_numpy(gradient(x, a, b, c))
        rates.append(float(opt.param_groups[0]["lr"]))
        opt.step()
        if sched is not None:
            sched.step()
        path.append(param.detach().numpy().astype(np.float64).tolist())
    return path, rates


def main() -> None:
    torch.set_num_threads(1)
    data: dict[str, Any] = {
        "generator": "scripts/make_torch_reference.py",
        "torch_version": torch.__version__,
        "n_steps": N_STEPS,
        "problem": {"A": A, "b": B, "c": C, "x0": X0},
        "optimizers": {},
        "schedulers": {},
        "clip_grad_norm": [],
    }
    for name, (torch_name, torch_kwargs, gd_name, gd_kwargs) in OPTIMIZER_CASES.items():
        for dtype, suffix in ((torch.float64, ""), (torch.float32, "_float32")):
            if suffix and name not in ("sgd_momentum", "adam", "rmsprop_centered"):
                continue
            path, _ = _torch_run(torch_name, torch_kwargs, dtype)
            data["optimizers"][name + suffix] = {
                "torch": [torch_name, {k: v for k, v in torch_kwargs.items()}],
                "gdlab": [gd_name, gd_kwargs],
                "dtype": "float64" if dtype == torch.float64 else "float32",
                "path": path,
            }
    for name, case in SCHEDULER_CASES.items():
        torch_opt, torch_opt_kwargs, torch_sched, torch_sched_kwargs = case[:4]
        gd_sched, gd_sched_kwargs, gd_opt, gd_opt_kwargs = case[4:]
        path, rates = _torch_run(
            torch_opt, torch_opt_kwargs, torch.float64, (torch_sched, torch_sched_kwargs)
        )
        data["schedulers"][name] = {
            "torch": [torch_opt, torch_opt_kwargs, torch_sched, torch_sched_kwargs],
            "gdlab_schedule": [gd_sched, gd_sched_kwargs],
            "gdlab_optimizer": [gd_opt, gd_opt_kwargs],
            "rates": rates,
            "path": path,
        }
    for case in CLIP_CASES:
        grad = torch.tensor(case["grad"], dtype=torch.float64)
        param = torch.nn.Parameter(torch.zeros(5, dtype=torch.float64))
        param.grad = grad.clone()
        total = torch.nn.utils.clip_grad_norm_([param], max_norm=case["max_norm"])
        data["clip_grad_norm"].append(
            {**case, "total_norm": float(total), "clipped": param.grad.tolist()}
        )
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(data, indent=1) + "\n")
    print(f"wrote {OUT} ({OUT.stat().st_size / 1024:.0f} KB)")


if __name__ == "__main__":
    main()
