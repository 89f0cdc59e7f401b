"""LinearObjective and FunctionObjective: gradients against finite differences of the loss, row
selection, sample weights, the unpenalised intercept and the 2/L stability limit."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from gdlab import DivergenceError, losses, minimize, optim
from gdlab._objectives import FunctionObjective, LinearObjective, central_difference_gradient
from gdlab.engine import TrainConfig, init_state, train

NO_PENALTY = losses.get_penalty(None)


def fd_gradient(fun, x, h=1e-6):
    grad = np.zeros_like(x)
    for i in range(x.size):
        step = np.zeros_like(x)
        step[i] = h
        grad[i] = (fun(x + step) - fun(x - step)) / (2 * h)
    return grad


@st.composite
def linear_problem(draw):
    """A random LinearObjective (any loss, penalty, intercept, weights) and parameters."""
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    n = draw(st.integers(1, 12))
    d = draw(st.integers(1, 4))
    loss_name = draw(st.sampled_from(["squared_error", "huber", "log_loss", "softmax"]))
    X = rng.normal(size=(n, d))
    if loss_name == "softmax":
        k = draw(st.integers(2, 4))
        targets = np.eye(k)[rng.integers(0, k, size=n)]
    elif loss_name == "log_loss":
        targets = rng.integers(0, 2, size=n).astype(float)
    else:
        k = draw(st.integers(1, 3))
        targets = rng.normal(size=n) if k == 1 else rng.normal(size=(n, k))
    kind = draw(st.sampled_from([None, "l2", "l1", "elasticnet"]))
    penalty = losses.get_penalty(kind, draw(st.floats(0.0, 1.0)), draw(st.floats(0.0, 1.0)))
    weight = rng.uniform(0.1, 3.0, size=n) if draw(st.booleans()) else None
    loss = losses.Huber(delta=0.7) if loss_name == "huber" else losses.get(loss_name)
    objective = LinearObjective(X, targets, loss, penalty, draw(st.booleans()), weight)
    theta = rng.normal(size=objective.n_params)
    # keep the weights off the kink of |w| so that finite differences are meaningful
    w = theta[: objective.n_weights]
    w[np.abs(w) < 1e-2] = 0.5
    return objective, theta, rng


@given(linear_problem())
def test_loss_and_grad_matches_finite_differences_of_loss(problem):
    objective, theta, _ = problem
    value, grad = objective.loss_and_grad(theta)
    assert value == pytest.approx(objective.loss(theta), rel=1e-12, abs=1e-12)
    numeric = fd_gradient(objective.loss, theta)
    np.testing.assert_allclose(grad, numeric, rtol=1e-5, atol=1e-6)


@given(linear_problem())
def test_rows_as_none_slice_index_array_and_mask_agree(problem):
    objective, theta, rng = problem
    n = objective.n_samples
    full = objective.loss_and_grad(theta, None)
    everything = objective.loss_and_grad(theta, np.arange(n))
    assert everything[0] == pytest.approx(full[0], rel=1e-12)
    np.testing.assert_allclose(everything[1], full[1], rtol=1e-12, atol=1e-14)
    start, stop = sorted(rng.integers(0, n + 1, size=2))
    if stop == start:
        stop = start + 1 if start < n else start
        start = stop - 1
    by_slice = objective.loss_and_grad(theta, slice(start, stop))
    by_index = objective.loss_and_grad(theta, np.arange(start, stop))
    mask = np.zeros(n, dtype=bool)
    mask[start:stop] = True
    by_mask = objective.loss_and_grad(theta, mask)
    for other in (by_index, by_mask):
        assert other[0] == pytest.approx(by_slice[0], rel=1e-12, abs=1e-14)
        np.testing.assert_allclose(other[1], by_slice[1], rtol=1e-12, atol=1e-14)
    assert objective.loss(theta, slice(start, stop)) == pytest.approx(by_slice[0], abs=1e-12)


@given(linear_problem())
def test_batches_without_weights_equal_the_objective_of_the_sliced_data(problem):
    objective, theta, rng = problem
    rows = rng.permutation(objective.n_samples)[: max(1, objective.n_samples // 2)]
    sliced = LinearObjective(
        objective.X[rows],
        objective.targets[rows],
        objective.loss_fn,
        objective.penalty,
        objective.fit_intercept,
        None,
    )
    unweighted = LinearObjective(
        objective.X,
        objective.targets,
        objective.loss_fn,
        objective.penalty,
        objective.fit_intercept,
        None,
    )
    value, grad = unweighted.loss_and_grad(theta, rows)
    expected_value, expected_grad = sliced.loss_and_grad(theta)
    assert value == pytest.approx(expected_value, rel=1e-12, abs=1e-14)
    np.testing.assert_allclose(grad, expected_grad, rtol=1e-12, atol=1e-14)


def _weighted_problem(seed=0, n=10):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 2))
    y = rng.normal(size=n)
    weight = rng.integers(0, 4, size=n).astype(float)
    weight[0] = 0.0
    weight[1] = 2.0
    return X, y, weight, rng


def test_weighted_batches_are_unbiased_shares_of_the_full_objective():
    X, y, weight, rng = _weighted_problem()
    penalty = losses.get_penalty("l2", 0.3)
    objective = LinearObjective(X, y, losses.squared_error, penalty, True, weight)
    theta = rng.normal(size=3)
    full_value, full_grad = objective.loss_and_grad(theta)
    residual = X @ theta[:2] + theta[2] - y
    # the full objective is sum w r^2 / sum w + alpha/2 ||w||^2
    expected = np.sum(weight * residual**2) / weight.sum() + 0.15 * theta[:2] @ theta[:2]
    assert full_value == pytest.approx(expected, rel=1e-12)
    # a batch contributes sum_B w r^2 / (|B| mean(w)); the mean over single rows is the full value
    data_full = full_value - penalty.value(theta[:2])
    singles = [objective.loss_and_grad(theta, slice(i, i + 1)) for i in range(len(y))]
    for i, (value, _) in enumerate(singles):
        share = weight[i] * residual[i] ** 2 / weight.mean()
        assert value - penalty.value(theta[:2]) == pytest.approx(share, rel=1e-12, abs=1e-15)
    assert np.mean([v for v, _ in singles]) - penalty.value(theta[:2]) == pytest.approx(data_full)
    np.testing.assert_allclose(np.mean([g for _, g in singles], axis=0), full_grad, rtol=1e-12)
    # mini-batches of a partition: the size-weighted mean of their losses is the full loss
    order = rng.permutation(len(y))
    parts = [order[:3], order[3:7], order[7:]]
    total = sum(len(p) * objective.loss(theta, p) for p in parts) / len(y)
    assert total == pytest.approx(full_value, rel=1e-12)


def test_a_batch_of_zero_weight_rows_contributes_only_the_penalty():
    X, y, weight, rng = _weighted_problem()
    penalty = losses.get_penalty("l2", 0.3)
    objective = LinearObjective(X, y, losses.squared_error, penalty, True, weight)
    theta = rng.normal(size=3)
    value, grad = objective.loss_and_grad(theta, slice(0, 1))
    assert value == pytest.approx(penalty.value(theta[:2]))
    np.testing.assert_allclose(grad, [*penalty.gradient(theta[:2]), 0.0])


def test_stochastic_gradient_descent_sees_sample_weights():
    """Regression: batches of one row used to normalise the weight away (w_i / w_i)."""
    X, y, weight, _ = _weighted_problem()
    theta = np.zeros(3)
    weighted = LinearObjective(X, y, losses.squared_error, NO_PENALTY, True, weight)
    plain = LinearObjective(X, y, losses.squared_error, NO_PENALTY, True, None)
    _, g_weighted = weighted.loss_and_grad(theta, slice(1, 2))
    _, g_plain = plain.loss_and_grad(theta, slice(1, 2))
    np.testing.assert_allclose(g_weighted, g_plain * weight[1] / weight.mean())


def test_integer_weights_equal_repeated_rows_for_the_full_objective():
    X, y, weight, rng = _weighted_problem(seed=3)
    counts = weight.astype(int)
    penalty = losses.get_penalty("elasticnet", 0.2, 0.5)
    weighted = LinearObjective(X, y, losses.squared_error, penalty, True, weight)
    repeated = LinearObjective(
        np.repeat(X, counts, axis=0), np.repeat(y, counts), losses.squared_error, penalty, True
    )
    theta = rng.normal(size=3)
    a, b = weighted.loss_and_grad(theta), repeated.loss_and_grad(theta)
    assert a[0] == pytest.approx(b[0], rel=1e-12)
    np.testing.assert_allclose(a[1], b[1], rtol=1e-12)


@pytest.mark.parametrize("kind", ["l2", "l1", "elasticnet"])
@pytest.mark.parametrize("n_outputs", [1, 3])
def test_the_intercept_is_never_penalised(kind, n_outputs):
    rng = np.random.default_rng(7)
    X = rng.normal(size=(15, 3))
    y = rng.normal(size=15) if n_outputs == 1 else rng.normal(size=(15, n_outputs))
    loss = losses.squared_error
    plain = LinearObjective(X, y, loss, NO_PENALTY, True)
    penalty = losses.get_penalty(kind, 0.7, 0.3)
    penalised = LinearObjective(X, y, loss, penalty, True)
    theta = rng.normal(size=plain.n_params)
    weights, _ = penalised.split(theta)
    (v0, g0), (v1, g1) = plain.loss_and_grad(theta), penalised.loss_and_grad(theta)
    assert v1 - v0 == pytest.approx(penalty.value(weights))
    n_w = plain.n_weights
    np.testing.assert_array_equal(g1[n_w:], g0[n_w:])  # intercept gradient untouched
    np.testing.assert_allclose(g1[:n_w] - g0[:n_w], np.ravel(penalty.gradient(weights)))
    # a huge intercept costs nothing extra
    shifted = theta.copy()
    shifted[n_w:] += 1e3
    assert penalised.loss(shifted) - plain.loss(shifted) == pytest.approx(v1 - v0)


def test_split_pack_and_raw_output_round_trip():
    rng = np.random.default_rng(2)
    X = rng.normal(size=(6, 3))
    for targets, fit_intercept in [
        (rng.normal(size=6), True),
        (rng.normal(size=(6, 2)), True),
        (rng.normal(size=6), False),
    ]:
        objective = LinearObjective(X, targets, losses.squared_error, NO_PENALTY, fit_intercept)
        theta = rng.normal(size=objective.n_params)
        weights, intercept = objective.split(theta)
        np.testing.assert_array_equal(objective.pack(weights, intercept), theta)
        np.testing.assert_allclose(objective.raw_output(theta), X @ weights + intercept)
        np.testing.assert_allclose(
            objective.raw_output(theta, slice(1, 3)), (X @ weights + intercept)[1:3]
        )
    assert objective.n_params == 3 and intercept == 0.0


# ---- the Lipschitz constant and the 2/L stability limit ----------------------------------------


def _regression_data(seed=4, n=60):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 3)) * [1.0, 2.0, 0.5] + [0.5, -1.0, 2.0]
    y = X @ [1.5, -2.0, 0.7] + 3.0 + 0.1 * rng.normal(size=n)
    return X, y


@pytest.mark.parametrize("fit_intercept", [True, False])
def test_lipschitz_constant_of_squared_error_is_twice_the_top_eigenvalue(fit_intercept):
    X, y = _regression_data()
    objective = LinearObjective(X, y, losses.squared_error, NO_PENALTY, fit_intercept)
    A = np.hstack([X, np.ones((len(y), 1))]) if fit_intercept else X
    expected = 2 * np.linalg.eigvalsh(A.T @ A / len(y)).max()
    assert objective.lipschitz_constant() == pytest.approx(expected, rel=1e-12)
    # with weights the Gram matrix is weighted; with an L2 penalty alpha is added
    weight = np.linspace(0.5, 2.0, len(y))
    weighted = LinearObjective(
        X, y, losses.squared_error, losses.get_penalty("l2", 0.3), fit_intercept, weight
    )
    gram = A.T @ (A * (weight / weight.sum())[:, None])
    assert weighted.lipschitz_constant() == pytest.approx(2 * np.linalg.eigvalsh(gram).max() + 0.3)


def _gd_losses(objective, learning_rate, steps):
    theta = np.zeros(objective.n_params)
    values = []
    for _ in range(steps):
        value, grad = objective.loss_and_grad(theta)
        values.append(value)
        theta = theta - learning_rate * grad
    return np.array(values), theta


def test_gradient_descent_converges_just_below_two_over_l_and_diverges_just_above():
    X, y = _regression_data()
    objective = LinearObjective(X, y, losses.squared_error, NO_PENALTY, True)
    L = objective.lipschitz_constant()
    A = np.hstack([X, np.ones((len(y), 1))])
    exact = np.linalg.lstsq(A, y, rcond=None)[0]
    # just below: converges to the least-squares solution (gdlab.minimize, plain GD)
    result = minimize(
        objective.loss,
        np.zeros(4),
        jac=lambda t: objective.loss_and_grad(t)[1],
        optimizer=optim.sgd(learning_rate=0.98 * 2 / L),
        max_iter=5000,
        tol=1e-10,
    )
    assert result.success
    np.testing.assert_allclose(result.x, exact, atol=1e-8)
    # just above: the top eigen-direction grows by |1 - lr L| = 1.04 per step, the loss by 1.04^2
    values, _ = _gd_losses(objective, 1.02 * 2 / L, 800)
    assert values[-1] > 1e3 * values[0]
    ratio = values[-1] / values[-2]
    assert ratio == pytest.approx(1.04**2, rel=1e-6)


def test_divergence_advice_from_the_engine_names_one_over_l():
    X, y = _regression_data()
    objective = LinearObjective(X, y, losses.squared_error, NO_PENALTY, True)
    L = objective.lipschitz_constant()
    optimizer = optim.sgd(learning_rate=1.5 * 2 / L)
    with pytest.raises(DivergenceError) as info:
        train(
            objective,
            optimizer,
            init_state(np.zeros(4), optimizer),
            TrainConfig(max_epochs=500, backend="numpy"),
        )
    assert info.value.suggested_learning_rate == pytest.approx(1 / L)
    assert f"2/L = {2 / L:.4g}" in str(info.value)


@pytest.mark.parametrize("loss", [losses.log_loss, losses.Huber(1.0)])
def test_lipschitz_constant_bounds_the_hessian_of_other_losses(loss):
    rng = np.random.default_rng(5)
    X = rng.normal(size=(30, 2))
    y = (rng.uniform(size=30) < 0.5).astype(float)
    objective = LinearObjective(X, y, loss, losses.get_penalty("l2", 0.1), True)
    L = objective.lipschitz_constant()
    for _ in range(3):
        theta = rng.normal(size=3) * 0.3
        hessian = np.column_stack(
            [
                (
                    objective.loss_and_grad(theta + 1e-5 * e)[1]
                    - objective.loss_and_grad(theta - 1e-5 * e)[1]
                )
                / 2e-5
                for e in np.eye(3)
            ]
        )
        assert np.linalg.eigvalsh((hessian + hessian.T) / 2).max() <= L * (1 + 1e-6)
    # at theta = 0 the log-loss Hessian reaches its bound for the data term
    if loss is losses.log_loss:
        A = np.hstack([X, np.ones((30, 1))])
        assert L == pytest.approx(0.25 * np.linalg.eigvalsh(A.T @ A / 30).max() + 0.1)


def test_hinge_has_no_lipschitz_constant_and_scale_spread_is_a_ratio():
    X = np.array([[1.0, 100.0], [2.0, 300.0], [3.0, 500.0]])
    objective = LinearObjective(X, np.array([1.0, -1.0, 1.0]), losses.hinge, NO_PENALTY)
    assert objective.lipschitz_constant() is None
    assert objective.scale_spread() == pytest.approx(200.0)
    constant = LinearObjective(np.ones((3, 1)), np.zeros(3), losses.squared_error, NO_PENALTY)
    assert constant.scale_spread() == 1.0


# ---- validation --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("X", "targets", "weight", "match"),
    [
        (np.ones(3), np.ones(3), None, "X must be a 2-D array"),
        (np.ones((3, 2)), np.ones(4), None, "targets must have shape"),
        (np.ones((3, 2)), np.ones((3, 2, 1)), None, "targets must have shape"),
        (np.ones((3, 2)), np.ones(3), np.ones(2), "sample_weight must have shape"),
        (np.ones((3, 2)), np.ones(3), np.array([1.0, -1.0, 1.0]), "non-negative"),
        (np.ones((3, 2)), np.ones(3), np.zeros(3), "positive sum"),
        (np.ones((3, 2)), np.ones(3), np.array([1.0, np.nan, 1.0]), "non-negative"),
    ],
)
def test_linear_objective_rejects_inconsistent_shapes(X, targets, weight, match):
    with pytest.raises(ValueError, match=match):
        LinearObjective(X, targets, losses.squared_error, NO_PENALTY, True, weight)


# ---- FunctionObjective and central differences -------------------------------------------------


def test_function_objective_accepts_size_one_arrays_and_rejects_vectors():
    objective = FunctionObjective(lambda x: (x - 2.0) ** 2)
    assert objective.loss(np.array([3.0])) == 1.0
    with pytest.raises(ValueError, match=r"fun must return a scalar.*\(2,\)"):
        FunctionObjective(lambda x: x**2).loss(np.ones(2))


def test_function_objective_checks_the_shape_of_jac_and_passes_args():
    objective = FunctionObjective(
        lambda x, c: float(np.sum((x - c) ** 2)), lambda x, c: 2 * (x - c), (1.0,)
    )
    value, grad = objective.loss_and_grad(np.array([2.0, 3.0]))
    assert value == 5.0
    np.testing.assert_array_equal(grad, [2.0, 4.0])
    bad = FunctionObjective(lambda x: float(x @ x), lambda x: np.ones(3))
    with pytest.raises(ValueError, match=r"jac returned an array of shape \(3,\); expected \(2,\)"):
        bad.loss_and_grad(np.ones(2))
    assert objective.lipschitz_constant() is None and objective.scale_spread() == 1.0


@given(st.integers(0, 2**32 - 1), st.sampled_from([(3,), (2, 2)]))
def test_central_difference_gradient_is_accurate_on_smooth_functions(seed, shape):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=shape) * 3
    c = rng.normal(size=shape)

    def fun(p):
        return float(np.sum(np.sin(p) * c + 0.1 * p**3))

    analytic = np.cos(x) * c + 0.3 * x**2
    numeric = central_difference_gradient(fun, x)
    assert numeric.shape == x.shape
    np.testing.assert_allclose(numeric, analytic, rtol=1e-7, atol=1e-8)


def test_loss_without_blas_equals_loss():
    rng = np.random.default_rng(11)
    X = rng.normal(size=(40, 3))
    for targets, loss in [
        (rng.normal(size=40), losses.squared_error),
        (np.eye(3)[rng.integers(0, 3, 40)], losses.softmax_cross_entropy),
    ]:
        objective = LinearObjective(
            X, targets, loss, losses.get_penalty("l2", 0.1), True, rng.uniform(0.5, 2, 40)
        )
        theta = rng.normal(size=objective.n_params)
        assert objective.loss_without_blas(theta) == pytest.approx(objective.loss(theta), rel=1e-12)
