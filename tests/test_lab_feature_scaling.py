"""Lab chapter 11, why scale features: every number against the data's own Hessian and lstsq."""

from __future__ import annotations

import math

import numpy as np
import pytest

from gdlab.lab import EXPERIMENTS, feature_scaling
from gdlab.lab.feature_scaling import (
    TOLERANCE,
    best_rate,
    bound_epochs,
    contraction,
    predicted_epochs,
    scaling_data,
)
from gdlab.lab.lesson_data import stability_bound


def hessian(X: np.ndarray) -> np.ndarray:
    """The MSE's Hessian over (w, b), written out: 2/n [X 1]^T [X 1]."""
    A = np.hstack([X, np.ones((X.shape[0], 1))])
    return 2.0 / X.shape[0] * A.T @ A


def forms(seed: int) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    X, y = scaling_data(seed)
    centred = X - X.mean(axis=0)
    return {
        "raw": (X, y),
        "centred": (centred, y),
        "standardized": (centred / X.std(axis=0), y),
    }


@pytest.fixture(scope="module", params=[42, 7])
def chapter(request):
    return request.param, feature_scaling.run(seed=request.param)


def test_the_chapter_is_registered_after_the_existing_ones():
    keys = [key for key, _ in EXPERIMENTS]
    assert keys.index("11_feature_scaling") == keys.index("10_estimators") + 1


def test_the_data_has_a_feature_in_the_thousands_and_one_near_one():
    X, _ = scaling_data(42)
    assert np.all((X[:, 0] > 1000) & (X[:, 0] < 10000))
    assert abs(np.median(X[:, 1]) - 1.0) < 0.2
    spread = X.std(axis=0)
    assert spread[0] / spread[1] > 30  # enough to make the valley narrow


def test_eigenvalues_kappa_and_bounds_come_from_the_data(chapter):
    seed, experiment = chapter
    numbers = experiment.numbers
    for key in ("centred", "standardized"):
        X, y = forms(seed)[key]
        eigenvalues = np.linalg.eigvalsh(hessian(X))
        assert numbers[f"{key}_lambda_min"] == pytest.approx(eigenvalues[0], rel=1e-9)
        assert numbers[f"{key}_lambda_max"] == pytest.approx(eigenvalues[-1], rel=1e-12)
        assert numbers[f"{key}_kappa"] == pytest.approx(eigenvalues[-1] / eigenvalues[0], rel=1e-9)
        # 2/L against the library's own Lipschitz constant of the objective
        assert numbers[f"{key}_bound_2_over_L"] == pytest.approx(stability_bound(X, y), rel=1e-9)
        assert numbers[f"{key}_rate"] == pytest.approx(2 / (eigenvalues[0] + eigenvalues[-1]))
    raw = np.linalg.eigvalsh(hessian(forms(seed)["raw"][0]))
    assert numbers["raw_kappa"] == pytest.approx(raw[-1] / raw[0], rel=1e-3)  # ill-conditioned
    assert numbers["raw_kappa"] > 1e9 > 1e4 > numbers["centred_kappa"] > 100
    assert numbers["standardized_kappa"] < 1.5


def test_the_best_fixed_rate_minimises_the_worst_factor():
    """2/(lmin+lmax) is the argmin over eta of max_i |1 - eta lambda_i| (brute force)."""
    rng = np.random.RandomState(0)
    cases = [np.linalg.eigvalsh(hessian(X)) for X, _ in forms(42).values()]
    cases += [np.sort(rng.uniform(0.01, 10.0, size=4)) for _ in range(5)]
    for eigenvalues in cases:
        eta = best_rate(eigenvalues)
        grid = np.linspace(0.0, 2.0 / eigenvalues[-1], 20001)[1:]
        worst = np.max(np.abs(1.0 - grid[:, None] * eigenvalues[None, :]), axis=1)
        assert worst.min() >= contraction(eigenvalues) - 1e-12
        at_best = np.max(np.abs(1.0 - eta * eigenvalues))
        assert at_best == pytest.approx(contraction(eigenvalues), rel=1e-9, abs=1e-15)
        assert eta < 2.0 / eigenvalues[-1]  # the best rate is stable
        assert abs(grid[np.argmin(worst)] - eta) <= 2.0 / eigenvalues[-1] / 20000 + 1e-15


def test_runs_reach_the_lstsq_minimum(chapter):
    seed, experiment = chapter
    for key, name in (("centred", "centred"), ("standardized", "scaled")):
        X, y = forms(seed)[key]
        exact = np.linalg.lstsq(np.hstack([X, np.ones((len(X), 1))]), y, rcond=None)[0]
        problem = experiment.data[name]
        np.testing.assert_allclose(problem.exact, exact, rtol=1e-9, atol=1e-9)
        start_distance = np.linalg.norm(exact)  # every run starts at zero
        final = np.linalg.norm(problem.path[-1] - exact)
        assert final <= TOLERANCE * start_distance


def test_measured_epochs_follow_the_eigenvalues(chapter):
    seed, experiment = chapter
    numbers = experiment.numbers
    for key, name in (("centred", "centred"), ("standardized", "scaled")):
        problem = experiment.data[name]
        X, _ = forms(seed)[key]
        eigenvalues, vectors = np.linalg.eigh(hessian(X))
        q = (eigenvalues[-1] - eigenvalues[0]) / (eigenvalues[-1] + eigenvalues[0])
        measured = int(numbers[f"{key}_epochs"])
        # the distance after each epoch never exceeds the rate bound q^t
        t = np.arange(problem.distance.size)
        assert np.all(problem.distance <= q**t * (1 + 1e-9) + 1e-12)
        # upper bound from the rate, lower bound from the two extreme modes (both shrink by q)
        assert measured <= math.ceil(math.log(TOLERANCE) / math.log(q))
        e0 = -problem.exact
        c = vectors.T @ e0
        extreme = math.hypot(c[0], c[-1]) / np.linalg.norm(e0)
        assert measured >= math.log(TOLERANCE / extreme) / math.log(q) - 1
        # exactly what the eigen-expansion of the start error predicts
        assert measured == numbers[f"{key}_predicted_epochs"]
        assert problem.distance[measured] <= TOLERANCE < problem.distance[measured - 1]
    assert numbers["centred_epochs"] >= 10 * numbers["standardized_epochs"]
    assert numbers["epoch_ratio"] >= 10


def test_helpers_on_hand_computed_cases():
    assert best_rate([2.0, 2.0]) == 0.5 and contraction([2.0, 2.0]) == 0.0
    assert bound_epochs(0.5, 0.25) == 2.0 and bound_epochs(0.0) == 1.0
    assert bound_epochs(1 - 2.0**-30, math.exp(-1)) == pytest.approx(2.0**30, rel=1e-8)
    # a diagonal Hessian: e_t = ((1 - 0.1)^t, (1 - 0.5)^t); predicted = first t below tol
    hessian_ = np.diag([1.0, 5.0])
    e = np.array([1.0, 1.0])
    t = predicted_epochs(hessian_, e, 0.1, tol=1e-3)
    norms = [np.linalg.norm([0.9**k, 0.5**k]) / math.sqrt(2) for k in range(200)]
    assert t == next(k for k, n in enumerate(norms) if n <= 1e-3)


def test_the_table_and_the_figure(chapter):
    _, experiment = chapter
    curvature, epochs = experiment.tables
    rows = {row[0]: row for row in epochs.rows}
    assert set(rows) == {"raw (as given)", "centred only", "standardized"}
    assert rows["raw (as given)"][-1] == "not run"
    kappas = {row[0]: row[3] for row in curvature.rows}
    for key, name in (("centred", "centred only"), ("standardized", "standardized")):
        assert rows[name][-1] == str(int(experiment.numbers[f"{key}_epochs"]))
        assert kappas[name] == f"{experiment.numbers[f'{key}_kappa']:.4g}"
    figure = experiment.draw(experiment)
    axes = figure.get_axes()
    assert len(axes) == 4
    raw_panel = axes[0]
    (zoom,) = raw_panel.child_axes  # the first epochs, stretched
    first = max((line.get_xydata() for line in zoom.get_lines()), key=len)
    np.testing.assert_array_equal(first, experiment.data["centred"].path[:13, :2])
    drawn = max((line.get_xydata() for line in raw_panel.get_lines()), key=len)
    np.testing.assert_array_equal(drawn, experiment.data["centred"].path[:, :2])
    text = " ".join(experiment.explanation)
    assert f"{experiment.numbers['centred_epochs']:.0f} epochs" in text
