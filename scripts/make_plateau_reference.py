"""Record PyTorch's ReduceLROnPlateau learning rates for tests/test_schedules.py.

Run in an environment with PyTorch (``pip install torch==2.13.0``; the tests never import it)::

    .venv/bin/python scripts/make_plateau_reference.py

It writes ``tests/data/plateau_torch.json``: for fixed loss sequences and settings, the learning
rate after each ``scheduler.step(loss)`` of an optimizer whose initial rate is 1, so that the rate
is the scale that :class:`gdlab.schedules.PlateauRule` keeps.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch

OUT = Path(__file__).resolve().parents[1] / "tests" / "data" / "plateau_torch.json"

SETTINGS = [
    {"factor": 0.1, "patience": 10, "threshold": 1e-4, "threshold_mode": "rel"},
    {"factor": 0.5, "patience": 2, "threshold": 0.1, "threshold_mode": "abs"},
    {"factor": 0.5, "patience": 4, "threshold": 0.0, "threshold_mode": "abs"},
    {"factor": 0.2, "patience": 3, "threshold": 0.05, "threshold_mode": "rel"},
    {"factor": 0.3, "patience": 1, "threshold": 1e-3, "threshold_mode": "rel"},
]


def sequences() -> list[list[float]]:
    rng = np.random.default_rng(0)
    flat = [1.0] * 30
    falling = [float(1.0 / (1 + t)) for t in range(30)]
    slow = [float(1.0 - 1e-5 * t) for t in range(30)]  # improves by less than the threshold
    noisy = [float(v) for v in 1.0 + 0.1 * rng.standard_normal(40)]
    steps = [float(v) for v in np.repeat([1.0, 0.9, 0.95, 0.5, 0.6, 0.6], 6)]
    return [flat, falling, slow, noisy, steps]


def scales(losses: list[float], setting: dict[str, float | str]) -> list[float]:
    param = torch.nn.Parameter(torch.zeros(1))
    optimizer = torch.optim.SGD([param], lr=1.0)
    scheduler = torch.optim.lr_scheduler.ReduceLROnPlateau(
        optimizer,
        mode="min",
        min_lr=1e-6,
        eps=0.0,
        **setting,  # type: ignore[arg-type]
    )
    out = []
    for loss in losses:
        scheduler.step(loss)
        out.append(float(optimizer.param_groups[0]["lr"]))
    return out


def main() -> None:
    cases = [
        {"setting": setting, "losses": losses, "scales": scales(losses, setting)}
        for setting in SETTINGS
        for losses in sequences()
    ]
    OUT.write_text(json.dumps({"torch": torch.__version__, "cases": cases}, indent=1) + "\n")
    print(f"wrote {len(cases)} cases to {OUT}")


if __name__ == "__main__":
    main()
