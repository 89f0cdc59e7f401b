"""Record PyTorch's LR schedulers over 300 steps for tests/test_cyclic_schedules.py.

Run with a Python that has PyTorch 2.13 (the tests themselves do not need it)::

    python scripts/make_schedule_references.py

It writes ``tests/data/torch_schedules.json``: for each case the gdlab schedule (name and keyword
arguments), the PyTorch scheduler (class and keyword arguments) and the learning rate PyTorch
gives at each of its first 300 steps (entry ``t`` is the rate of update ``t``), written with
``repr`` by :mod:`json` so that float64 values round-trip exactly.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch

OUT = Path(__file__).resolve().parents[1] / "tests" / "data" / "torch_schedules.json"
N_STEPS = 300
LR = 0.1

# name -> (gdlab schedule, its kwargs, torch scheduler, its kwargs); the optimizer's lr is LR
CASES: dict[str, tuple[str, dict[str, Any], str, dict[str, Any]]] = {
    "one_cycle_defaults": ("one_cycle", {"max_value": LR, "total_steps": N_STEPS},
                           "OneCycleLR", {"max_lr": LR, "total_steps": N_STEPS}),
    "one_cycle_linear_three_phase": (
        "one_cycle",
        {"max_value": 0.5, "total_steps": N_STEPS, "pct_start": 0.25, "div_factor": 10.0,
         "final_div_factor": 100.0, "anneal_strategy": "linear", "three_phase": True},
        "OneCycleLR",
        {"max_lr": 0.5, "total_steps": N_STEPS, "pct_start": 0.25, "div_factor": 10.0,
         "final_div_factor": 100.0, "anneal_strategy": "linear", "three_phase": True},
    ),
    "one_cycle_cos_three_phase": (
        "one_cycle", {"max_value": 0.2, "total_steps": N_STEPS, "pct_start": 0.33,
                      "three_phase": True},
        "OneCycleLR", {"max_lr": 0.2, "total_steps": N_STEPS, "pct_start": 0.33,
                       "three_phase": True},
    ),
    "cyclic_defaults": ("cyclic", {"base_value": 0.01, "max_value": LR},
                        "CyclicLR", {"base_lr": 0.01, "max_lr": LR, "cycle_momentum": False}),
    "cyclic_triangular": ("cyclic", {"base_value": 0.01, "max_value": LR, "step_size_up": 20,
                                     "step_size_down": 35},
                          "CyclicLR", {"base_lr": 0.01, "max_lr": LR, "step_size_up": 20,
                                       "step_size_down": 35, "cycle_momentum": False}),
    "cyclic_triangular2": ("cyclic", {"base_value": 0.001, "max_value": LR, "step_size_up": 25,
                                      "mode": "triangular2"},
                           "CyclicLR", {"base_lr": 0.001, "max_lr": LR, "step_size_up": 25,
                                        "mode": "triangular2", "cycle_momentum": False}),
    "cyclic_exp_range": ("cyclic", {"base_value": 0.001, "max_value": LR, "step_size_up": 15,
                                    "mode": "exp_range", "gamma": 0.99},
                         "CyclicLR", {"base_lr": 0.001, "max_lr": LR, "step_size_up": 15,
                                      "mode": "exp_range", "gamma": 0.99,
                                      "cycle_momentum": False}),
    "multistep_defaults": ("multistep_decay", {"init_value": LR, "milestones": [50, 120, 200]},
                           "MultiStepLR", {"milestones": [50, 120, 200]}),
    "multistep_repeated": ("multistep_decay", {"init_value": LR, "milestones": [30, 30, 250],
                                               "gamma": 0.5},
                           "MultiStepLR", {"milestones": [30, 30, 250], "gamma": 0.5}),
    "polynomial_defaults": ("polynomial_decay", {"init_value": LR, "total_steps": 200},
                            "PolynomialLR", {"total_iters": 200}),
    "polynomial_power": ("polynomial_decay", {"init_value": LR, "total_steps": 250,
                                              "power": 2.5},
                         "PolynomialLR", {"total_iters": 250, "power": 2.5}),
    "cosine_restarts_defaults": ("cosine_restarts", {"init_value": LR, "period": 40},
                                 "CosineAnnealingWarmRestarts", {"T_0": 40}),
    "cosine_restarts_mult": ("cosine_restarts", {"init_value": LR, "period": 10,
                                                 "period_mult": 2, "min_value": 0.001},
                             "CosineAnnealingWarmRestarts", {"T_0": 10, "T_mult": 2,
                                                             "eta_min": 0.001}),
}  # fmt: skip


def _rates(scheduler: str, kwargs: dict[str, Any]) -> list[float]:
    param = torch.nn.Parameter(torch.zeros(1, dtype=torch.float64))
    optimizer = torch.optim.SGD([param], lr=LR, momentum=0.9)
    sched = getattr(torch.optim.lr_scheduler, scheduler)(optimizer, **kwargs)
    rates = []
    for _ in range(N_STEPS):
        rates.append(float(optimizer.param_groups[0]["lr"]))
        optimizer.step()
        sched.step()
    return rates


def main() -> None:
    data: dict[str, Any] = {"torch": torch.__version__, "n_steps": N_STEPS, "cases": {}}
    for name, (ours, our_kwargs, theirs, their_kwargs) in CASES.items():
        data["cases"][name] = {
            "gdlab": [ours, our_kwargs],
            "torch": [theirs, their_kwargs],
            "rates": _rates(theirs, their_kwargs),
        }
    OUT.write_text(json.dumps(data, indent=1) + "\n")
    print(f"wrote {OUT} ({len(CASES)} schedules, {N_STEPS} steps)")


if __name__ == "__main__":
    main()
