"""Lab chapter 12, gradient descent as a control loop: regimes from the eigenvalues, and the
heavy ball's relation to the I term checked as exact identities."""

from __future__ import annotations

import math

import numpy as np
import pytest

from gdlab import GDRegressor, optim
from gdlab.lab import EXPERIMENTS, control_loop
from gdlab.lab.control_loop import (
    BAND,
    CONTROLLERS,
    STEPS,
    Controller,
    classify,
    leaky_integral_updates,
    loop_matrix,
    overshoot,
    settling_step,
)


def lesson_plant(seed: int = 42):
    """The lesson's line, its random start, and the standardized problem written out by hand."""
    rng = np.random.RandomState(seed)
    x = rng.uniform(0, 10, 100)
    y = 3 * x + 7 + rng.randn(100) * 2
    w0, b0 = rng.randn(), rng.randn()
    z = (x - x.mean()) / x.std()
    A = np.column_stack([z, np.ones_like(z)])
    exact = np.linalg.lstsq(A, y, rcond=None)[0]
    start = np.array([w0 * x.std(), b0 + w0 * x.mean()])  # the same line in standardized units
    return A, y, exact, start


def literal_loop(controller: Controller, A, y, start, steps):
    """The controllers as plain loops over the MSE gradient 2/n A^T (A theta - y) (no gdlab)."""
    theta = start.astype(float).copy()
    path = [theta.copy()]
    integral = np.zeros_like(theta)
    buffer = np.zeros_like(theta)
    previous = None
    for _ in range(steps):
        g = 2.0 / len(y) * A.T @ (A @ theta - y)
        if controller.momentum is not None:
            buffer = controller.momentum * buffer + g
            step = buffer
        else:
            integral = integral + g
            d = np.zeros_like(g) if previous is None else g - previous
            step = controller.kp * g + controller.ki * integral + controller.kd * d
        previous = g
        theta = theta - controller.rate * step
        path.append(theta.copy())
    return np.array(path)


@pytest.fixture(scope="module")
def chapter():
    return control_loop.run(seed=42)


@pytest.fixture(scope="module")
def curvature():
    A, _, _, _ = lesson_plant()
    eigenvalues = np.linalg.eigvalsh(2.0 / A.shape[0] * A.T @ A)
    assert eigenvalues[-1] - eigenvalues[0] < 1e-12  # standardized: one curvature, twice
    return float(eigenvalues[0])


def test_the_chapter_is_registered_after_feature_scaling():
    keys = [key for key, _ in EXPERIMENTS]
    assert keys.index("12_control_loop") == keys.index("11_feature_scaling") + 1


def test_curvatures_come_from_the_hessian(chapter, curvature):
    assert chapter.numbers["curvature_min"] == pytest.approx(curvature, rel=1e-12)
    assert chapter.numbers["curvature_max"] == pytest.approx(curvature, rel=1e-12)
    assert curvature == pytest.approx(2.0, rel=1e-12)  # 2 * var(z) = 2 * 1


def test_every_run_matches_a_literal_loop_and_the_loop_matrix(chapter):
    A, y, _, start = lesson_plant()
    for label, response in chapter.data["responses"].items():
        reference = literal_loop(response.controller, A, y, start, STEPS)
        scale = np.max(np.abs(reference))
        np.testing.assert_allclose(response.path, reference, rtol=0, atol=1e-11 * scale)
        assert chapter.numbers[f"prediction_gap {label}"] < 1e-10 * scale


def test_poles_match_the_characteristic_polynomials(chapter, curvature):
    for response in chapter.data["responses"].values():
        c = response.controller
        a = c.rate * curvature
        if c.momentum is not None:
            coefficients = [1.0, -(1.0 + c.momentum - a), c.momentum]
        elif c.ki and c.kd:
            coefficients = np.polymul([1.0, -1.0], [1.0, -(1 - a * (c.kp + c.kd)), -a * c.kd])
            coefficients = np.polyadd(coefficients, [0.0, a * c.ki, 0.0, 0.0])
        elif c.ki:
            coefficients = [1.0, -(2.0 - a * c.kp - a * c.ki), 1.0 - a * c.kp]
        elif c.kd:
            coefficients = [1.0, -(1.0 - a * c.kp - a * c.kd), -a * c.kd]
        else:
            coefficients = [1.0, -(1.0 - a * c.kp)]
        expected = np.sort_complex(np.roots(coefficients).astype(complex))
        distinct = np.sort_complex(np.unique(np.round(response.poles, 10)))
        np.testing.assert_allclose(distinct, np.unique(np.round(expected, 10)), atol=1e-9)


def test_p_only_regimes_follow_from_the_eigenvalue(chapter, curvature):
    """Plain GD's error is e_t = (1 - eta lambda)^t e_0: the sign of the factor sets the regime."""
    seen = set()
    for response in chapter.data["responses"].values():
        c = response.controller
        if c.group != "P only":
            continue
        factor = 1.0 - c.rate * curvature
        s = response.signed
        live = np.abs(s) > 1e-12
        if abs(factor) < 1e-12:
            assert response.regime == "critically damped (dead-beat)"
            assert response.distance[1] < 1e-12 and response.settling == 1
        elif factor > 0:
            assert response.regime == "over-damped"
            assert np.all(np.diff(s[live]) < 0) and np.all(s[live] > 0)  # monotone, never past
            assert response.overshoot == 0.0
        else:
            assert response.regime == "oscillating"
            assert np.all(np.sign(s[live][1:]) != np.sign(s[live][:-1]))  # every step past it
            assert response.overshoot == pytest.approx(-factor, rel=1e-9)  # the first step
        if abs(factor) > 1e-12:
            expected = math.ceil(math.log(BAND) / math.log(abs(factor)))
            assert response.settling == expected
        seen.add(response.regime)
    assert seen == {"over-damped", "critically damped (dead-beat)", "oscillating"}


def test_every_regime_shows_in_the_error(chapter):
    for response in chapter.data["responses"].values():
        radius = float(np.max(np.abs(response.poles)))
        s = response.signed
        live = np.abs(s) > 1e-10
        changes = int(np.sum(np.sign(s[live][1:]) != np.sign(s[live][:-1])))
        if response.regime == "over-damped":
            tail = s[live][-20:]
            assert np.all(np.diff(tail) < 0) or np.all(np.diff(tail) > 0)
        elif response.regime == "oscillating":
            assert changes >= 1
        elif response.regime.startswith("undamped"):
            assert radius == pytest.approx(1.0, abs=1e-12)
            assert response.settling is None and np.max(np.abs(s[-50:])) > 0.5
        if radius < 1.0:
            assert response.distance[-1] < max(10 * (radius + 0.01) ** (STEPS / 2), 1e-12)


def test_settling_and_overshoot_recomputed_from_the_paths(chapter):
    _, _, exact, _ = lesson_plant()
    for label, response in chapter.data["responses"].items():
        errors = response.path - exact
        relative = np.linalg.norm(errors, axis=1) / np.linalg.norm(errors[0])
        after = [t for t in range(len(relative)) if np.all(relative[t:] <= BAND)]
        assert response.settling == (after[0] if after else None)
        along = errors @ errors[0] / (errors[0] @ errors[0])
        assert response.overshoot == pytest.approx(max(0.0, -along.min()), abs=1e-15)
        row = next(r for r in chapter.tables[0].rows if r[0] == label)
        assert row[4] == (
            f"not within {STEPS}" if response.settling is None else str(response.settling)
        )
        assert row[5] == f"{response.overshoot:.1%}"


def test_heavy_ball_is_a_leaky_integral_and_beta_one_is_the_pure_i_term(chapter):
    """b_t = sum_s beta^(t-s) g_s: the recorded steps equal the discounted sums; beta = 1 is pid."""
    numbers = chapter.numbers
    for beta in (0.5, 0.9, 1.0):
        assert numbers[f"leaky_sum_gap_beta_{beta:g}"] < 1e-12
    # independently of the lab: any quadratic, several betas, gdlab's own optimizers
    rng = np.random.RandomState(1)
    X, y = rng.uniform(0, 10, (60, 2)), rng.randn(60)
    A = np.column_stack([X, np.ones(60)])
    H = 2.0 / 60 * A.T @ A
    exact = np.linalg.lstsq(A, y, rcond=None)[0]

    def path(tx):
        model = GDRegressor(
            optimizer=tx,
            batch_size=None,
            tol=None,
            shuffle=False,
            max_iter=40,
            record_params=True,
            standardize=False,  # the quadratic of X as given
        ).fit(X, y, coef_init=[0.5, -0.5], intercept_init=1.0)
        return model.history_.param_path()

    for beta in (0.3, 0.8, 0.95):
        p = path(optim.sgd(0.002, momentum=beta))
        g = (p[:-1] - exact) @ H
        np.testing.assert_allclose(
            np.diff(p, axis=0), leaky_integral_updates(g, 0.002, beta), atol=1e-12
        )
    p = path(optim.pid(0.002, kp=0.0, ki=1.0, kd=0.0))
    g = (p[:-1] - exact) @ H
    np.testing.assert_allclose(
        np.diff(p, axis=0), leaky_integral_updates(g, 0.002, 1.0), atol=1e-12
    )
    # and the pure I term is the limit of momentum: beta -> 1 closes the gap
    gaps = [np.max(np.abs(path(optim.sgd(0.002, momentum=b)) - p)) for b in (0.9, 0.99, 0.999)]
    assert gaps[0] > gaps[1] > gaps[2]


def test_error_sums_and_pole_radii(chapter, curvature):
    """sum e_t = (1 - beta) e_0 / (eta lambda) for the heavy ball; 0 whenever ki > 0."""
    responses = chapter.data["responses"]
    for response in responses.values():
        c = response.controller
        total = float(np.sum(response.signed))
        if c.momentum is not None:
            assert total == pytest.approx((1 - c.momentum) / (c.rate * curvature), rel=1e-6)
            complex_poles = response.poles[np.abs(response.poles.imag) > 1e-12]
            np.testing.assert_allclose(np.abs(complex_poles), math.sqrt(c.momentum), rtol=1e-12)
        elif c.ki and c.kp:
            assert abs(total) < 1e-8
            assert response.overshoot > 0  # forced by the zero sum
        elif c.ki:
            np.testing.assert_allclose(np.abs(response.poles), 1.0, rtol=1e-12)
    assert chapter.numbers["error_sum_PI (ki = 0.1)"] == pytest.approx(0.0, abs=1e-8)


def test_helpers_on_hand_cases():
    assert settling_step([1.0, 0.01]) == 1
    assert settling_step([1.0, 0.5, 0.3]) is None
    assert settling_step([2.0, 0.04, 0.0]) == 1  # relative to the start distance
    assert overshoot([1.0, 0.5, 0.1]) == 0.0
    assert classify([1.2]) == "unstable"
    assert classify([1j, -1j]) == "undamped (poles on the unit circle)"
    assert classify([0.8, -0.2]) == "over-damped"  # the slowest pole decides the tail
    # the loop matrix reproduces the update for a PID with all three terms
    c = Controller("x", "x", 0.1, kp=1.0, ki=0.2, kd=0.5)
    m = loop_matrix(c, 3.0)
    e, integral, g_prev = 1.0, 0.4, 2.0
    g = 3.0 * e
    new_e = e - 0.1 * (g + 0.2 * (integral + g) + 0.5 * (g - g_prev))
    np.testing.assert_allclose(m @ [e, integral, g_prev], [new_e, integral + g, g])


def test_figure_and_report_rows(chapter):
    figure = chapter.draw(chapter)
    axes = figure.get_axes()
    assert len(axes) == 4
    p_panel = axes[0]
    labels = [line.get_label() for line in p_panel.get_lines()]
    assert [c.label for c in CONTROLLERS if c.group == "P only"] == [
        label for label in labels if label.startswith("P, eta")
    ]
    pole_panel = axes[3]
    plotted = {line.get_label() for line in pole_panel.get_lines()}
    assert {c.label for c in CONTROLLERS} <= plotted
    assert len(chapter.tables[0].rows) == len(CONTROLLERS)


def test_the_d_and_i_terms_here_slow_the_loop_as_the_report_says(chapter):
    settle = {k: r.settling for k, r in chapter.data["responses"].items()}
    over = {k: r.overshoot for k, r in chapter.data["responses"].items()}
    assert settle["PI (ki = 0.1)"] > settle["P, eta = 0.1"]  # the I term: later, with overshoot
    assert over["PI (ki = 0.1)"] > 0 == over["P, eta = 0.1"]
    assert settle["PD (kd = 1)"] > settle["P, eta = 0.1"]  # the D term: slower, no brake
    assert settle["PID (ki = 0.1, kd = 1)"] >= settle["PI (ki = 0.1)"]
    assert over["PID (ki = 0.1, kd = 1)"] >= over["PI (ki = 0.1)"]
    assert settle["heavy ball, beta = 0.5"] < settle["P, eta = 0.1"]  # the leak: faster


def test_polyak_heavy_ball_on_the_elongated_bowl_of_chapter_11():
    """With eta = 4/(sqrt L + sqrt mu)^2 and sqrt(beta) = (sqrt k - 1)/(sqrt k + 1) every pole of
    the loop lies on |z| = sqrt(beta), against (k - 1)/(k + 1) for the best plain rate."""
    from gdlab.lab.feature_scaling import scaling_data

    X, _ = scaling_data(42)
    A = np.column_stack([X - X.mean(axis=0), np.ones(len(X))])
    eigenvalues = np.linalg.eigvalsh(2.0 / len(X) * A.T @ A)
    mu, big = eigenvalues[0], eigenvalues[-1]
    kappa = big / mu
    root = (math.sqrt(kappa) - 1) / (math.sqrt(kappa) + 1)
    heavy = Controller("x", "x", 4 / (math.sqrt(big) + math.sqrt(mu)) ** 2, momentum=root**2)
    radii = np.abs(control_loop.poles(heavy, eigenvalues))
    np.testing.assert_allclose(radii, root, rtol=1e-6)
    plain = Controller("x", "x", 2 / (mu + big))
    plain_radius = np.max(np.abs(control_loop.poles(plain, eigenvalues)))
    assert plain_radius == pytest.approx((kappa - 1) / (kappa + 1), rel=1e-12)
    per_decade = (math.log(0.1) / math.log(root), math.log(0.1) / math.log(plain_radius))
    assert 10 <= per_decade[0] < 100 and 1000 <= per_decade[1] < 10000
