"""one_cycle, cyclic, multistep_decay, polynomial_decay and cosine_restarts against PyTorch.

The references are PyTorch 2.13's OneCycleLR, CyclicLR, MultiStepLR, PolynomialLR and
CosineAnnealingWarmRestarts over 300 steps, stored in tests/data/torch_schedules.json by
scripts/make_schedule_references.py. Both the scalar call and the vectorised values that the
compiled back-ends use must agree with them to 1e-12.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from gdlab import schedules
from gdlab.backends.rates import epoch_rates
from gdlab.viz import schedule_values

DATA = json.loads((Path(__file__).parent / "data" / "torch_schedules.json").read_text())
CASES = DATA["cases"]
N = DATA["n_steps"]


def _made(case: dict[str, Any]) -> Any:
    name, kwargs = case["gdlab"]
    return schedules.get(name, **kwargs)


@pytest.mark.parametrize("name", sorted(CASES))
def test_scalar_values_equal_torch(name: str) -> None:
    case = CASES[name]
    ours = np.array([_made(case)(t) for t in range(N)])
    np.testing.assert_allclose(ours, case["rates"], rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("name", sorted(CASES))
def test_vectorised_values_equal_torch(name: str) -> None:
    """The rates a compiled epoch reads, computed in pieces as epochs do."""
    case = CASES[name]
    schedule = _made(case)
    pieces = [epoch_rates(schedule, start, 37) for start in range(0, N, 37)]
    ours = np.concatenate(pieces)[:N]
    np.testing.assert_allclose(ours, case["rates"], rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(schedule_values(schedule, N), case["rates"], rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("name", sorted(CASES))
def test_round_trip_as_plain_data(name: str) -> None:
    schedule = _made(CASES[name])
    data = json.loads(json.dumps(schedule.to_dict()))
    assert schedules.from_dict(data) == schedule


def test_every_torch_reference_is_used() -> None:
    """Each new schedule has at least one PyTorch reference (defaults included)."""
    names = {case["gdlab"][0] for case in CASES.values()}
    assert names == {"one_cycle", "cyclic", "multistep_decay", "polynomial_decay",
                     "cosine_restarts"}  # fmt: skip


def test_one_cycle_after_total_steps_stays_at_its_last_value() -> None:
    schedule = schedules.one_cycle(1.0, 50)
    assert schedule(49) == schedule(50) == schedule(10_000) == pytest.approx(1.0 / 25 / 1e4)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: schedules.one_cycle(0.1, 100, anneal_strategy="exp"), "'anneal_strategy'"),
        (lambda: schedules.one_cycle(0.1, 100, pct_start=1.0), "'pct_start'"),
        (lambda: schedules.one_cycle(0.1, 2), "leaves a phase without updates"),
        (lambda: schedules.cyclic(0.1, 1.0, mode="sine"), "'mode'"),
        (lambda: schedules.cyclic(0.1, 1.0, step_size_up=0), "'step_size_up'"),
        (lambda: schedules.multistep_decay(0.1, [10, -1]), "'milestones'"),
        (lambda: schedules.multistep_decay(0.1, [1.5]), "'milestones'"),
        (lambda: schedules.polynomial_decay(0.1, 0), "'total_steps'"),
        (lambda: schedules.cosine_restarts(0.1, 10, min_value=0.2), "'min_value'"),
        (lambda: schedules.cosine_restarts(0.1, 10, period_mult=0), "'period_mult'"),
    ],
)
def test_bad_parameters_are_named(call: Any, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        call()


def test_the_schedule_preview_draws_each_as_torch_gives_it() -> None:
    import matplotlib

    matplotlib.use("Agg")
    from gdlab.viz import plot_schedules

    chosen = {name: _made(CASES[name]) for name in sorted(CASES)}
    lines = plot_schedules(chosen, N)
    drawn = {line.get_label(): np.asarray(line.get_ydata()) for line in lines}
    for name in chosen:
        np.testing.assert_allclose(drawn[name], CASES[name]["rates"], rtol=1e-12, atol=1e-12)
    import matplotlib.pyplot as plt

    plt.close("all")
