"""gdlab's optimizers and schedules against trajectories recorded from PyTorch 2.13.

The reference file ``tests/data/torch_trajectories.json`` is written by
``scripts/make_torch_reference.py`` (run with a Python that has torch; these tests never import
it). The problem is ``f(x) = 0.5 x^T A x - b^T x + c/4 sum(x^4)`` in 5 dimensions; the gradient is
computed with the same NumPy expression in the script and here and handed to the optimizer, so the
only thing compared is the optimizer's (and the schedule's) arithmetic, step for step for 50 steps.

Float64 trajectories agree to about 1e-12 relative: the formulas are the same, only the order of
floating-point operations differs (PyTorch computes ``m + (1 - b1) (g - m)`` with ``lerp``, gdlab
``b1 m + (1 - b1) g``, and so on).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from gdlab import optim, schedules

DATA = json.loads((Path(__file__).parent / "data" / "torch_trajectories.json").read_text())
PROBLEM = DATA["problem"]

#: float64: the formulas agree; the last digits differ with the order of operations.
RTOL64 = 1e-12
#: float32: both libraries round every operation to float32, in different orders.
RTOL32 = 2e-5


def gradient(x: np.ndarray) -> np.ndarray:
    """``A x - b + c x^3``, the same expression as in the generating script."""
    dtype = x.dtype
    a = np.array(PROBLEM["A"], dtype=dtype)
    b = np.array(PROBLEM["b"], dtype=dtype)
    c = dtype.type(PROBLEM["c"])
    return (a * x).sum(axis=1) - b + c * (x * x * x)


def replay(tx: optim.GradientTransformation, dtype: str, n_steps: int) -> np.ndarray:
    params = np.array(PROBLEM["x0"], dtype=dtype)
    state = tx.init(params)
    path = [params]
    for _ in range(n_steps):
        updates, state = tx.update(gradient(params), state, params)
        params = optim.apply_updates(params, updates)
        assert params.dtype == np.dtype(dtype)
        path.append(params)
    return np.array(path, dtype=np.float64)


def assert_paths_agree(ours: np.ndarray, theirs: np.ndarray, rtol: float) -> None:
    """Every coordinate within ``rtol`` of PyTorch's, relative to that coordinate's largest size
    along the path (a coordinate that passes near zero is not held to a relative error there)."""
    assert ours.shape == theirs.shape
    scale = np.max(np.abs(theirs), axis=0)
    error = np.max(np.abs(ours - theirs) / scale)
    assert error <= rtol, f"largest relative difference {error:.3g} > {rtol:g}"


def test_reference_file_is_small_and_complete() -> None:
    path = Path(__file__).parent / "data" / "torch_trajectories.json"
    assert path.stat().st_size < 300_000
    assert DATA["n_steps"] == 50
    names = set(DATA["optimizers"])
    for required in [
        "sgd",
        "sgd_momentum",
        "sgd_nesterov",
        "adagrad",
        "adagrad_initial_accumulator",
        "rmsprop",
        "rmsprop_centered",
        "rmsprop_momentum",
        "adam",
        "adamw_wd0.01",
        "adamw_wd0.1",
    ]:
        assert required in names
    for case in DATA["optimizers"].values():
        assert len(case["path"]) == DATA["n_steps"] + 1


@pytest.mark.parametrize("name", sorted(DATA["optimizers"]))
def test_optimizer_trajectory_matches_torch(name: str) -> None:
    case = DATA["optimizers"][name]
    gd_name, gd_kwargs = case["gdlab"]
    tx = optim.get(gd_name, **gd_kwargs)
    ours = replay(tx, case["dtype"], DATA["n_steps"])
    theirs = np.array(case["path"])
    assert_paths_agree(ours, theirs, RTOL64 if case["dtype"] == "float64" else RTOL32)
    # and the trajectory really moved: a check that compares nothing would pass vacuously
    assert np.max(np.abs(theirs[-1] - theirs[0])) > 0.1


def _schedule(case: dict[str, Any]) -> schedules.Schedule:
    name, kwargs = case["gdlab_schedule"]
    made = schedules.from_dict({"name": name, **kwargs})
    assert isinstance(made, schedules.Schedule)
    return made


@pytest.mark.parametrize("name", sorted(DATA["schedulers"]))
def test_schedule_matches_torch_scheduler(name: str) -> None:
    """StepLR = step_decay, CosineAnnealingLR = cosine_decay (eta_min = alpha * init),
    ExponentialLR = exponential_decay, LinearLR = linear_warmup: the rate of update ``k``
    (0-based) is the schedule at count ``k``."""
    case = DATA["schedulers"][name]
    schedule = _schedule(case)
    ours = [schedule(count) for count in range(DATA["n_steps"])]
    np.testing.assert_allclose(ours, case["rates"], rtol=RTOL64, atol=0)


@pytest.mark.parametrize("name", sorted(DATA["schedulers"]))
def test_scheduled_trajectory_matches_torch(name: str) -> None:
    case = DATA["schedulers"][name]
    opt_name, opt_kwargs = case["gdlab_optimizer"]
    tx = optim.get(opt_name, learning_rate=_schedule(case), **opt_kwargs)
    ours = replay(tx, "float64", DATA["n_steps"])
    assert_paths_agree(ours, np.array(case["path"]), RTOL64)


@pytest.mark.parametrize("case", DATA["clip_grad_norm"], ids=lambda case: str(case["max_norm"]))
def test_clip_by_global_norm_vs_torch_clip_grad_norm(case: dict[str, Any]) -> None:
    """gdlab follows Optax: ``g * min(1, max_norm / ||g||)``. PyTorch's ``clip_grad_norm_``
    multiplies by ``min(1, max_norm / (||g|| + 1e-6))``. So the two agree exactly below the
    threshold (by more than 1e-6), and above it gdlab's result is PyTorch's times
    ``(||g|| + 1e-6) / ||g||``; at ``||g|| == max_norm`` PyTorch still shrinks by that factor while
    gdlab leaves the gradient alone."""
    grad = np.array(case["grad"])
    torch_clipped = np.array(case["clipped"])
    norm = float(np.linalg.norm(grad))
    assert norm == pytest.approx(case["total_norm"], rel=1e-15)
    tx = optim.clip_by_global_norm(case["max_norm"])
    ours, _ = tx.update(grad, tx.init(grad))
    if norm + 1e-6 <= case["max_norm"]:
        np.testing.assert_array_equal(ours, torch_clipped)
        np.testing.assert_array_equal(ours, grad)
    else:
        np.testing.assert_allclose(ours * norm / (norm + 1e-6), torch_clipped, rtol=1e-14)
        if norm <= case["max_norm"]:
            np.testing.assert_array_equal(ours, grad)
        else:
            assert np.linalg.norm(ours) == pytest.approx(case["max_norm"], rel=1e-14)
