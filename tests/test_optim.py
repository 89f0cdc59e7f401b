"""gdlab.optim against the textbook update rules of tests/reference.py, step by step.

The oracles are written independently in tests/reference.py from PyTorch's documented
pseudo-code (and, for PID, from the control law in gdlab.optim.pid's docstring); the agreement with
PyTorch itself over 50 steps is in tests/test_torch_agreement.py.
"""

from __future__ import annotations

import copy
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import reference
from gdlab import optim, schedules
from gdlab import testfunctions as tfs

N_STEPS = 12

# A fixed, well-conditioned quadratic: grad = A theta - b (elementwise sums: no BLAS ordering).
A = np.array(
    [[2.0, 0.5, 0.0, -0.3], [0.5, 1.5, 0.2, 0.0], [0.0, 0.2, 1.0, 0.1], [-0.3, 0.0, 0.1, 0.7]]
)
B = np.array([1.0, -0.5, 0.25, 2.0])
THETA0 = np.array([0.5, -1.5, 2.0, 1.0])
# A fixed sequence of gradients of mixed signs and sizes (one coordinate tiny, one large).
GRADS = np.random.default_rng(20240611).normal(size=(N_STEPS, 4)) * np.array([1.0, 10.0, 1e-3, 0.3])


def quadratic_grad(theta: np.ndarray, t: int = 0) -> np.ndarray:
    dtype = theta.dtype
    return (A.astype(dtype) * theta).sum(axis=1) - B.astype(dtype)


def fixed_grad(theta: np.ndarray, t: int) -> np.ndarray:
    return GRADS[t - 1].astype(theta.dtype)


GRADIENTS = {"fixed": fixed_grad, "quadratic": quadratic_grad}


def run_gdlab(
    tx: optim.GradientTransformation,
    grad: Callable[[np.ndarray, int], np.ndarray],
    theta0: np.ndarray,
    n_steps: int = N_STEPS,
) -> np.ndarray:
    theta = np.array(theta0)
    state = tx.init(theta)
    path = [theta]
    for t in range(1, n_steps + 1):
        updates, state = tx.update(grad(theta, t), state, theta)
        theta = optim.apply_updates(theta, updates)
        path.append(theta)
    return np.array(path)


# (id, gdlab factory of a learning rate, reference function, reference keyword arguments)
Case = tuple[str, Callable[[Any], optim.GradientTransformation], Callable[..., np.ndarray], dict]
CASES: list[Case] = [
    ("sgd", lambda lr: optim.sgd(lr), reference.sgd, {}),
    ("sgd-momentum-0.9", lambda lr: optim.sgd(lr, momentum=0.9), reference.sgd, {"momentum": 0.9}),
    ("sgd-momentum-0.3", lambda lr: optim.sgd(lr, momentum=0.3), reference.sgd, {"momentum": 0.3}),
    (
        "sgd-nesterov-0.9",
        lambda lr: optim.sgd(lr, momentum=0.9, nesterov=True),
        reference.sgd,
        {"momentum": 0.9, "nesterov": True},
    ),
    ("momentum-alias", lambda lr: optim.momentum(lr), reference.sgd, {"momentum": 0.9}),
    (
        "nesterov-alias",
        lambda lr: optim.nesterov(lr, momentum=0.5),
        reference.sgd,
        {"momentum": 0.5, "nesterov": True},
    ),
    ("adagrad", lambda lr: optim.adagrad(lr), reference.adagrad, {}),
    (
        "adagrad-initial-accumulator",
        lambda lr: optim.adagrad(lr, eps=1e-6, initial_accumulator_value=0.1),
        reference.adagrad,
        {"eps": 1e-6, "initial_accumulator_value": 0.1},
    ),
    ("rmsprop", lambda lr: optim.rmsprop(lr), reference.rmsprop, {}),
    (
        "rmsprop-centered",
        lambda lr: optim.rmsprop(lr, decay=0.9, centered=True),
        reference.rmsprop,
        {"alpha": 0.9, "centered": True},
    ),
    (
        "rmsprop-momentum",
        lambda lr: optim.rmsprop(lr, momentum=0.7, eps=1e-4),
        reference.rmsprop,
        {"momentum": 0.7, "eps": 1e-4},
    ),
    (
        "rmsprop-centered-momentum",
        lambda lr: optim.rmsprop(lr, decay=0.8, momentum=0.5, centered=True),
        reference.rmsprop,
        {"alpha": 0.8, "momentum": 0.5, "centered": True},
    ),
    ("adam", lambda lr: optim.adam(lr), reference.adam, {}),
    (
        "adam-betas",
        lambda lr: optim.adam(lr, b1=0.5, b2=0.9, eps=1e-3),
        reference.adam,
        {"beta1": 0.5, "beta2": 0.9, "eps": 1e-3},
    ),
    ("adamw-0.01", lambda lr: optim.adamw(lr), reference.adamw, {"weight_decay": 0.01}),
    (
        "adamw-0.3",
        lambda lr: optim.adamw(lr, b1=0.8, b2=0.95, weight_decay=0.3),
        reference.adamw,
        {"beta1": 0.8, "beta2": 0.95, "weight_decay": 0.3},
    ),
    ("pid-p-only", lambda lr: optim.pid(lr), reference.pid, {}),
    (
        "pid",
        lambda lr: optim.pid(lr, kp=0.5, ki=0.2, kd=0.3),
        reference.pid,
        {"kp": 0.5, "ki": 0.2, "kd": 0.3},
    ),
]
CASE_IDS = [case[0] for case in CASES]


@pytest.mark.parametrize("grad_name", sorted(GRADIENTS))
@pytest.mark.parametrize(("name", "factory", "oracle", "kwargs"), CASES, ids=CASE_IDS)
def test_matches_reference_step_by_step(name, factory, oracle, kwargs, grad_name) -> None:
    grad = GRADIENTS[grad_name]
    ours = run_gdlab(factory(0.05), grad, THETA0)
    theirs = oracle(grad, THETA0, N_STEPS, 0.05, **kwargs)
    assert ours.dtype == np.float64
    np.testing.assert_allclose(ours, theirs, rtol=1e-13, atol=1e-15)
    assert not np.allclose(ours[-1], ours[0])  # the comparison is not vacuous


@pytest.mark.parametrize(("name", "factory", "oracle", "kwargs"), CASES, ids=CASE_IDS)
def test_schedule_learning_rate_matches_reference(name, factory, oracle, kwargs) -> None:
    schedule = schedules.exponential_decay(init_value=0.1, decay_rate=0.8)
    ours = run_gdlab(factory(schedule), quadratic_grad, THETA0)
    theirs = oracle(quadratic_grad, THETA0, N_STEPS, schedule, **kwargs)
    np.testing.assert_allclose(ours, theirs, rtol=1e-13, atol=1e-15)


@pytest.mark.parametrize(("name", "factory", "oracle", "kwargs"), CASES, ids=CASE_IDS)
def test_schedule_is_read_at_count_zero_first(name, factory, oracle, kwargs) -> None:
    seen: list[int] = []

    def schedule(count: int) -> float:
        seen.append(count)
        return 0.1 if count == 0 else 0.01

    tx = factory(schedule)
    theta = THETA0.copy()
    state = tx.init(theta)
    updates, state = tx.update(GRADS[0], state, theta)
    assert seen == [0]
    # the first update used 0.1: it is 10 times the same update made with a constant 0.01
    constant = factory(0.01)
    small, _ = constant.update(GRADS[0], constant.init(theta), theta)
    np.testing.assert_allclose(updates, 10 * small, rtol=1e-14)
    for _ in range(4):
        updates, state = tx.update(GRADS[1], state, theta)
    assert seen == [0, 1, 2, 3, 4]


@pytest.mark.parametrize(("name", "factory", "oracle", "kwargs"), CASES, ids=CASE_IDS)
def test_float32_is_preserved(name, factory, oracle, kwargs) -> None:
    theta = THETA0.astype(np.float32)
    tx = factory(np.float32(0.05))
    state = tx.init(theta)
    path = [theta]
    for _ in range(N_STEPS):
        grads = quadratic_grad(theta)
        assert grads.dtype == np.float32
        updates, state = tx.update(grads, state, theta)
        assert updates.dtype == np.float32, "updates left float32"
        for leaf in _arrays(state):
            assert leaf.dtype == np.float32, "optimizer state left float32"
        theta = optim.apply_updates(theta, updates)
        assert theta.dtype == np.float32
        path.append(theta)
    theirs = oracle(quadratic_grad, THETA0, N_STEPS, 0.05, **kwargs)
    np.testing.assert_allclose(np.array(path), theirs, rtol=1e-5, atol=1e-5)


def test_float32_kept_with_a_schedule_that_returns_numpy_float64() -> None:
    # NumPy 2 promotes float32 * np.float64 to float64: the update must still be float32
    tx = optim.sgd(lambda count: np.float64(0.1), momentum=0.5)
    theta = np.ones(3, dtype=np.float32)
    updates, _ = tx.update(np.ones(3, dtype=np.float32), tx.init(theta), theta)
    assert updates.dtype == np.float32
    np.testing.assert_array_equal(updates, np.full(3, -0.1, dtype=np.float32))


def _arrays(tree: Any) -> list[np.ndarray]:
    if isinstance(tree, np.ndarray):
        return [tree]
    if isinstance(tree, tuple):
        return [leaf for item in tree for leaf in _arrays(item)]
    return []


# ---------------------------------------------------------------- hyperparameters, property based


@given(
    b1=st.floats(0.0, 0.99),
    b2=st.floats(0.5, 0.9999),
    eps=st.sampled_from([0.0, 1e-8, 1e-3]),
    weight_decay=st.floats(0.0, 0.5),
    lr=st.floats(1e-4, 0.5),
)
def test_adamw_any_hyperparameters(b1, b2, eps, weight_decay, lr) -> None:
    tx = optim.adamw(lr, b1=b1, b2=b2, eps=eps, weight_decay=weight_decay)
    ours = run_gdlab(tx, fixed_grad, THETA0, 6)
    theirs = reference.adamw(fixed_grad, THETA0, 6, lr, b1, b2, eps, weight_decay)
    np.testing.assert_allclose(ours, theirs, rtol=1e-12, atol=1e-14)


@given(
    # a decay within rounding of 0 is left out: see the test on the centered variance below
    decay=st.just(0.0) | st.floats(1e-6, 0.999),
    momentum=st.floats(0.0, 0.95),
    centered=st.booleans(),
    lr=st.floats(1e-4, 0.5),
)
def test_rmsprop_any_hyperparameters(decay, momentum, centered, lr) -> None:
    tx = optim.rmsprop(lr, decay=decay, eps=1e-6, momentum=momentum, centered=centered)
    ours = run_gdlab(tx, fixed_grad, THETA0, 6)
    theirs = reference.rmsprop(fixed_grad, THETA0, 6, lr, decay, 1e-6, momentum, centered)
    np.testing.assert_allclose(ours, theirs, rtol=1e-11, atol=1e-13)


@given(
    momentum=st.floats(0.0, 0.99),
    nesterov=st.booleans(),
    lr=st.floats(1e-4, 1.0),
)
def test_sgd_any_hyperparameters(momentum, nesterov, lr) -> None:
    nesterov = nesterov and momentum > 0
    ours = run_gdlab(optim.sgd(lr, momentum=momentum, nesterov=nesterov), fixed_grad, THETA0, 6)
    theirs = reference.sgd(fixed_grad, THETA0, 6, lr, momentum, nesterov)
    np.testing.assert_allclose(ours, theirs, rtol=1e-12, atol=1e-14)


def test_first_steps_by_hand() -> None:
    """A few updates worked out by hand, as a check on the reference module itself."""
    g = np.array([2.0, -0.5])
    # SGD with momentum: b_1 = g (not (1 - mu) g, not 0): the first step is -lr g
    tx = optim.sgd(0.1, momentum=0.9)
    u1, state = tx.update(g, tx.init(np.zeros(2)))
    np.testing.assert_allclose(u1, [-0.2, 0.05])
    u2, _ = tx.update(g, state)  # b_2 = 0.9 g + g
    np.testing.assert_allclose(u2, -0.1 * 1.9 * g)
    # Nesterov: g + mu b_1 = 1.9 g on the first step
    tx = optim.sgd(0.1, momentum=0.9, nesterov=True)
    np.testing.assert_allclose(tx.update(g, tx.init(np.zeros(2)))[0], -0.1 * 1.9 * g)
    # Adam: the first step is -lr g / (|g| + eps)
    tx = optim.adam(0.1, eps=0.0)
    np.testing.assert_allclose(tx.update(g, tx.init(np.zeros(2)))[0], [-0.1, 0.1])
    # RMSprop: -lr g / (sqrt((1 - alpha) g^2) + eps) = -lr sign(g) / sqrt(0.01)
    tx = optim.rmsprop(0.1, eps=0.0)
    np.testing.assert_allclose(tx.update(g, tx.init(np.zeros(2)))[0], [-1.0, 1.0])
    # centered: the variance is (1 - alpha) g^2 - (1 - alpha)^2 g^2 = alpha (1 - alpha) g^2
    tx = optim.rmsprop(0.1, eps=0.0, centered=True)
    expected = -0.1 * np.sign(g) / np.sqrt(0.99 * 0.01)
    np.testing.assert_allclose(tx.update(g, tx.init(np.zeros(2)))[0], expected)
    # AdamW: theta (1 - lr wd) - lr sign(g)
    theta = np.array([3.0, -1.0])
    tx = optim.adamw(0.1, eps=0.0, weight_decay=0.5)
    np.testing.assert_allclose(tx.update(g, tx.init(theta), theta)[0], [-0.25, 0.15])


# ---------------------------------------------------------------- chain, clipping, apply_updates


def test_chain_clip_by_global_norm_then_sgd() -> None:
    tx = optim.chain(optim.clip_by_global_norm(1.0), optim.sgd(0.1, momentum=0.9))

    def clipped(theta: np.ndarray, t: int) -> np.ndarray:
        return reference.clip_by_global_norm(fixed_grad(theta, t), 1.0)

    ours = run_gdlab(tx, fixed_grad, THETA0)
    theirs = reference.sgd(clipped, THETA0, N_STEPS, 0.1, momentum=0.9)
    np.testing.assert_allclose(ours, theirs, rtol=1e-13)
    assert tx.learning_rate == 0.1
    assert tx.hyperparams["max_norm"] == 1.0
    state = tx.init(THETA0)
    assert isinstance(state, tuple) and len(state) == 2


def test_chain_clip_then_adam() -> None:
    tx = optim.chain(optim.clip(0.5), optim.adam(0.05))

    def clipped(theta: np.ndarray, t: int) -> np.ndarray:
        return reference.clip(quadratic_grad(theta, t), 0.5)

    ours = run_gdlab(tx, quadratic_grad, THETA0)
    theirs = reference.adam(clipped, THETA0, N_STEPS, 0.05)
    np.testing.assert_allclose(ours, theirs, rtol=1e-13)


def test_chain_of_nothing_is_identity_and_chain_of_one_is_that_one() -> None:
    tx = optim.chain()
    g = np.array([1.0, -2.0])
    np.testing.assert_array_equal(tx.update(g, tx.init(g))[0], g)
    one = optim.chain(optim.adam(0.1))
    np.testing.assert_array_equal(
        run_gdlab(one, fixed_grad, THETA0), run_gdlab(optim.adam(0.1), fixed_grad, THETA0)
    )


def test_chain_order_matters() -> None:
    """clip after the learning rate clips the step, before it clips the gradient."""
    g = np.array([10.0])
    before = optim.chain(optim.clip(1.0), optim.sgd(0.1))
    after = optim.chain(optim.sgd(0.1), optim.clip(0.5))
    assert before.update(g, before.init(g))[0][0] == pytest.approx(-0.1)
    assert after.update(g, after.init(g))[0][0] == pytest.approx(-0.5)


def test_chain_rejects_non_transformations() -> None:
    with pytest.raises(TypeError, match="argument 1 is function"):
        optim.chain(optim.sgd(0.1), lambda g: g)


@pytest.mark.parametrize("max_norm", [0.1, 1.0, 3.0, 100.0])
def test_clip_by_global_norm_matches_reference(max_norm: float) -> None:
    tx = optim.clip_by_global_norm(max_norm)
    for g in GRADS:
        ours, _ = tx.update(g, tx.init(g))
        np.testing.assert_allclose(ours, reference.clip_by_global_norm(g, max_norm), rtol=1e-14)
        assert np.linalg.norm(ours) <= max_norm * (1 + 1e-14)


def test_clip_by_global_norm_takes_all_coordinates_of_a_matrix_together() -> None:
    g = np.array([[3.0, 0.0], [0.0, 4.0]])
    tx = optim.clip_by_global_norm(1.0)
    np.testing.assert_allclose(tx.update(g, tx.init(g))[0], g / 5.0)
    assert float(optim.global_norm(g)) == 5.0


@pytest.mark.parametrize("max_delta", [1e-3, 0.5, 20.0])
def test_clip_matches_reference(max_delta: float) -> None:
    tx = optim.clip(max_delta)
    for g in GRADS:
        np.testing.assert_array_equal(tx.update(g, tx.init(g))[0], reference.clip(g, max_delta))


def test_apply_updates_keeps_dtype_and_does_not_mutate() -> None:
    params = np.array([1.0, 2.0], dtype=np.float32)
    updates = np.array([0.5, -0.25])  # float64 updates
    before = params.copy()
    out = optim.apply_updates(params, updates)
    assert out.dtype == np.float32
    np.testing.assert_array_equal(out, [1.5, 1.75])
    np.testing.assert_array_equal(params, before)
    assert not np.shares_memory(out, params)


def test_integer_parameters_are_not_truncated() -> None:
    params = np.array([1, 2])
    out = optim.apply_updates(params, np.array([0.25, -0.5]))
    assert out.dtype == np.float64
    np.testing.assert_array_equal(out, [1.25, 1.5])
    # the state of integer parameters is float (Adagrad's accumulator kept its 0.5)
    tx = optim.adagrad(1.0, eps=0.0, initial_accumulator_value=0.5)
    state = tx.init(params)
    assert state[0].sum_of_squares.dtype == np.float64
    np.testing.assert_array_equal(state[0].sum_of_squares, [0.5, 0.5])
    # integer gradients give float updates: Adam's first step is -lr sign(g), not 0
    tx = optim.adam(0.1)
    updates, _ = tx.update(np.array([5, -2]), tx.init(params), params)
    np.testing.assert_allclose(updates, [-0.1, 0.1], rtol=1e-8)


def test_centered_rmsprop_rounding_cannot_make_the_variance_negative() -> None:
    """The centered variance ``a_t - c_t^2`` is >= 0 in exact arithmetic, but with a decay near 0
    it is ``g^2 - g^2`` up to rounding and can come out as ``-tiny``: the textbook rule (and
    PyTorch) then takes ``sqrt`` of a negative number and the run turns into NaN. gdlab floors the
    variance at 0; everywhere else the two agree."""
    decay = 6.523799361536549e-15  # found by Hypothesis
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        theirs = reference.rmsprop(fixed_grad, THETA0, 6, 0.5, decay, 1e-6, 0.0, centered=True)
    assert np.isnan(theirs).any()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ours = run_gdlab(
            optim.rmsprop(0.5, decay=decay, eps=1e-6, centered=True), fixed_grad, THETA0, 6
        )
    assert np.all(np.isfinite(ours))
    finite = np.isfinite(theirs)
    np.testing.assert_allclose(ours[finite], theirs[finite], rtol=1e-12)


# ---------------------------------------------------------------- purity


PURE_CASES = [
    *CASES,
    (
        "clip+adamw",
        lambda lr: optim.chain(optim.clip_by_global_norm(0.5), optim.adamw(lr)),
        None,
        {},
    ),
]


@pytest.mark.parametrize(
    ("name", "factory", "oracle", "kwargs"), PURE_CASES, ids=[c[0] for c in PURE_CASES]
)
def test_update_is_pure(name, factory, oracle, kwargs) -> None:
    tx = factory(0.05)
    params = THETA0.copy()
    state = tx.init(params)
    for t in range(1, 4):  # a few steps in, so that every buffer is non-trivial
        updates, state = tx.update(fixed_grad(params, t), state, params)
        params = optim.apply_updates(params, updates)
    grads = fixed_grad(params, 4)
    saved = copy.deepcopy((grads, state, params))
    updates, new_state = tx.update(grads, state, params)
    _assert_tree_equal((grads, state, params), saved)
    # the same call again gives the same result: the old state was not consumed
    again, _ = tx.update(grads, state, params)
    np.testing.assert_array_equal(again, updates)
    # the updates share no memory with the inputs or with the new state
    for other in [grads, params, *_arrays(state), *_arrays(new_state)]:
        assert not np.shares_memory(updates, other)


def _assert_tree_equal(actual: Any, expected: Any) -> None:
    if isinstance(expected, np.ndarray):
        np.testing.assert_array_equal(actual, expected)
    elif isinstance(expected, tuple):
        assert type(actual) is type(expected) and len(actual) == len(expected)
        for a, e in zip(actual, expected, strict=True):
            _assert_tree_equal(a, e)
    else:
        assert actual == expected


# ---------------------------------------------------------------- batched runs (one per column)


BATCH_CASES = [
    case
    for case in CASES
    if case[0]
    in {
        "sgd",
        "sgd-nesterov-0.9",
        "adagrad-initial-accumulator",
        "rmsprop-centered-momentum",
        "adam",
        "adamw-0.3",
        "pid",
    }
]


def _batched_grad(theta: np.ndarray, t: int) -> np.ndarray:
    """A separable function, the same for every column: d theta - b + 0.1 theta^3 (+ noise by t)."""
    d = np.array([2.0, 1.0, 0.5, 3.0]).reshape(-1, *([1] * (theta.ndim - 1)))
    b = B.reshape(d.shape)
    return d * theta - b + 0.1 * theta**3 + 0.01 * t


@pytest.mark.parametrize(
    ("name", "factory", "oracle", "kwargs"), BATCH_CASES, ids=[c[0] for c in BATCH_CASES]
)
def test_array_learning_rate_runs_columns_independently(name, factory, oracle, kwargs) -> None:
    rates = np.array([0.01, 0.05, 0.2])
    start = np.column_stack([THETA0, THETA0[::-1], 2 * THETA0])  # (4 params, 3 runs)
    batched = run_gdlab(factory(rates), _batched_grad, start)
    assert batched.shape == (N_STEPS + 1, 4, 3)
    for j, rate in enumerate(rates):
        alone = run_gdlab(factory(float(rate)), _batched_grad, start[:, j])
        np.testing.assert_allclose(batched[:, :, j], alone, rtol=1e-15, atol=0)


def test_array_learning_rate_with_per_column_clipping() -> None:
    rates = np.array([0.05, 0.1])
    start = np.column_stack([THETA0, -THETA0])

    def batched(lr: Any, axis: int | None) -> optim.GradientTransformation:
        return optim.chain(optim.clip_by_global_norm(1.0, axis=axis), optim.adam(lr))

    together = run_gdlab(batched(rates, 0), _batched_grad, start)
    for j, rate in enumerate(rates):
        alone = run_gdlab(batched(float(rate), None), _batched_grad, start[:, j])
        np.testing.assert_allclose(together[:, :, j], alone, rtol=1e-14, atol=0)


def test_per_column_global_norm() -> None:
    g = np.array([[3.0, 0.0, 0.1], [4.0, 0.5, 0.0]])
    np.testing.assert_allclose(optim.global_norm(g, axis=0), [5.0, 0.5, 0.1])
    tx = optim.clip_by_global_norm(1.0, axis=0)
    np.testing.assert_allclose(tx.update(g, tx.init(g))[0], [[0.6, 0.0, 0.1], [0.8, 0.5, 0.0]])


# ---------------------------------------------------------------- validation


@pytest.mark.parametrize("name", sorted(optim.OPTIMIZERS))
@pytest.mark.parametrize(
    ("rate", "error", "message"),
    [
        (0.0, ValueError, "'learning_rate' parameter of {name} must be a float > 0. Got 0.0"),
        (-0.1, ValueError, "'learning_rate' parameter of {name} must be a float > 0. Got -0.1"),
        (float("nan"), ValueError, "'learning_rate' parameter of {name} must be a float > 0"),
        (float("inf"), ValueError, "'learning_rate' parameter of {name} must be a float > 0"),
        ("0.1", TypeError, "'learning_rate' parameter of {name} must be a float > 0 or a sched"),
        (None, TypeError, "'learning_rate' parameter of {name}"),
        (True, TypeError, "'learning_rate' parameter of {name}"),
        ([0.1, 0.2], TypeError, "'learning_rate' parameter of {name}"),
        (np.array([0.1, -0.2]), ValueError, "Every 'learning_rate' of {name} must be a float > 0"),
        (np.array(["a"]), TypeError, "'learning_rate' array of {name} must hold real numbers"),
    ],
    ids=["zero", "negative", "nan", "inf", "str", "none", "bool", "list", "array", "str-array"],
)
def test_bad_learning_rate(name: str, rate: Any, error: type, message: str) -> None:
    expected = message.format(name="sgd" if name in ("momentum", "nesterov") else name)
    with pytest.raises(error, match=_escape(expected)):
        optim.get(name, rate)


def _escape(text: str) -> str:
    import re

    return re.escape(text)


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: optim.sgd(0.1, momentum=1.0), "'momentum' parameter of sgd must be in [0, 1)"),
        (lambda: optim.sgd(0.1, momentum=1.5), "'momentum' parameter of sgd must be in [0, 1)"),
        (lambda: optim.sgd(0.1, momentum=-0.1), "'momentum' parameter of sgd must be >= 0"),
        (
            lambda: optim.momentum(0.1, momentum=1.0),
            "'momentum' parameter of sgd must be in [0, 1)",
        ),
        (
            lambda: optim.nesterov(0.1, momentum=1.0),
            "'momentum' parameter of sgd must be in [0, 1)",
        ),
        (lambda: optim.rmsprop(0.1, momentum=1.0), "'momentum' parameter of rmsprop must be in"),
        (lambda: optim.rmsprop(0.1, decay=1.0), "'decay' parameter of rmsprop must be in [0, 1)"),
        (lambda: optim.rmsprop(0.1, eps=-1.0), "'eps' parameter of rmsprop must be >= 0"),
        (lambda: optim.adam(0.1, b1=1.0), "'b1' parameter of adam must be in [0, 1)"),
        (lambda: optim.adam(0.1, b2=-0.5), "'b2' parameter of adam must be >= 0"),
        (lambda: optim.adam(0.1, eps=float("nan")), "'eps' parameter of adam must be >= 0"),
        (lambda: optim.adamw(0.1, weight_decay=-0.01), "'weight_decay' parameter of adamw"),
        (lambda: optim.adamw(0.1, b2=1.0), "'b2' parameter of adamw must be in [0, 1)"),
        (lambda: optim.adagrad(0.1, eps=-1.0), "'eps' parameter of adagrad must be >= 0"),
        (
            lambda: optim.adagrad(0.1, initial_accumulator_value=-1.0),
            "'initial_accumulator_value' parameter of adagrad must be >= 0",
        ),
        (lambda: optim.pid(0.1, kp=-1.0), "'kp' parameter of pid must be >= 0"),
        (lambda: optim.pid(0.1, ki=float("inf")), "'ki' parameter of pid must be >= 0"),
        (lambda: optim.pid(0.1, kd=-0.5), "'kd' parameter of pid must be >= 0"),
        (lambda: optim.clip(0.0), "'max_delta' parameter of clip must be a float > 0"),
        (lambda: optim.clip_by_global_norm(-1.0), "'max_norm' parameter of clip_by_global_norm"),
        (
            lambda: optim.clip_by_global_norm(float("nan")),
            "'max_norm' parameter of clip_by_global_norm must be a float > 0",
        ),
    ],
)
def test_bad_hyperparameters(build: Callable[[], Any], message: str) -> None:
    with pytest.raises(ValueError, match=_escape(message)):
        build()


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: optim.sgd(0.1, momentum="0.9"), "'momentum' parameter of sgd must be a real"),
        (lambda: optim.sgd(0.1, momentum=0.9, nesterov="yes"), "'nesterov' parameter of sgd"),
        (lambda: optim.rmsprop(0.1, centered=1), "'centered' parameter of rmsprop"),
        (lambda: optim.clip("1"), "'max_delta' parameter of clip must be a real number"),
        (lambda: optim.clip_by_global_norm(None), "'max_norm' parameter of clip_by_global_norm"),
        (lambda: optim.clip_by_global_norm(1.0, axis=0.5), "'axis' parameter"),
    ],
)
def test_bad_hyperparameter_types(build: Callable[[], Any], message: str) -> None:
    with pytest.raises(TypeError, match=_escape(message)):
        build()


@pytest.mark.parametrize("momentum", [0.0, 0])
def test_nesterov_needs_momentum(momentum: float) -> None:
    with pytest.raises(ValueError, match="'nesterov' parameter of sgd needs a momentum > 0"):
        optim.sgd(0.1, momentum=momentum, nesterov=True)


def test_weight_decay_needs_params() -> None:
    tx = optim.adamw(0.1)
    with pytest.raises(ValueError, match="add_decayed_weights needs the parameters"):
        tx.update(np.ones(2), tx.init(np.ones(2)))


@pytest.mark.parametrize("name", ["adamx", "SGD", "", None, 3])
def test_get_unknown_name(name: Any) -> None:
    known = "adagrad, adam, adamw, momentum, nesterov, pid, rmsprop, sgd"
    with pytest.raises(
        ValueError, match=_escape(f"Unknown optimizer {name!r}; choose one of: {known}.")
    ):
        optim.get(name, 0.1)


def test_get_builds_each_named_optimizer() -> None:
    assert sorted(optim.OPTIMIZERS) == [
        "adagrad",
        "adam",
        "adamw",
        "momentum",
        "nesterov",
        "pid",
        "rmsprop",
        "sgd",
    ]
    for name, factory in optim.OPTIMIZERS.items():
        tx = optim.get(name, 0.05)
        assert isinstance(tx, optim.GradientTransformation)
        assert tx.learning_rate == 0.05
        np.testing.assert_array_equal(
            run_gdlab(tx, fixed_grad, THETA0), run_gdlab(factory(0.05), fixed_grad, THETA0)
        )
    assert optim.get("adam", 0.01, b1=0.5).hyperparams["b1"] == 0.5
    assert optim.get("momentum", 0.01).hyperparams == {
        "learning_rate": 0.01,
        "momentum": 0.9,
        "nesterov": False,
    }
    assert optim.get("nesterov", 0.01).hyperparams["nesterov"] is True
    with pytest.raises(TypeError, match="momentum"):
        optim.get("adam", 0.01, momentum=0.9)


def test_learning_rate_property_keeps_the_schedule() -> None:
    schedule = schedules.cosine_decay(0.1, 100)
    assert optim.adam(schedule).learning_rate is schedule
    assert optim.clip(1.0).learning_rate is None


# ---------------------------------------------------------------- a table of problems


def _minimize(tx: optim.GradientTransformation, name: str, n_steps: int) -> np.ndarray:
    function = tfs.get(name)
    theta = np.array(function.start, dtype=float)
    state = tx.init(theta)
    for _ in range(n_steps):
        updates, state = tx.update(function.grad(theta), state, theta)
        theta = optim.apply_updates(theta, updates)
    return theta


PROBLEMS = [
    # problem, optimizer, steps, tolerance on the distance to the minimum
    ("quadratic", "sgd", lambda: optim.sgd(0.15), 200, 1e-10),
    ("quadratic", "momentum", lambda: optim.momentum(0.05), 300, 1e-5),
    ("quadratic", "nesterov", lambda: optim.nesterov(0.05), 300, 1e-8),
    ("quadratic", "adagrad", lambda: optim.adagrad(1.0), 300, 1e-10),
    (
        "quadratic",
        "rmsprop",
        lambda: optim.rmsprop(schedules.exponential_decay(0.1, 0.98), centered=True, momentum=0.5),
        400,
        1e-10,
    ),
    ("quadratic", "adam", lambda: optim.adam(schedules.cosine_decay(0.3, 500)), 500, 1e-8),
    ("quadratic", "adamw", lambda: optim.adamw(schedules.cosine_decay(0.3, 500)), 500, 1e-8),
    ("quadratic", "pid", lambda: optim.pid(0.1, kp=1.0, ki=0.0, kd=0.1), 300, 1e-10),
    # Rosenbrock's curved valley: plain GD, Adagrad and PI control crawl along it
    ("rosenbrock", "sgd", lambda: optim.sgd(0.002), 20000, 1e-2),
    ("rosenbrock", "momentum", lambda: optim.momentum(0.001), 4000, 1e-5),
    ("rosenbrock", "nesterov", lambda: optim.nesterov(0.001), 4000, 1e-5),
    ("rosenbrock", "adagrad", lambda: optim.adagrad(1.0), 8000, 5e-2),
    (
        "rosenbrock",
        "rmsprop",
        lambda: optim.rmsprop(schedules.exponential_decay(0.005, 0.998), momentum=0.9),
        4000,
        1e-5,
    ),
    ("rosenbrock", "adam", lambda: optim.adam(schedules.cosine_decay(0.05, 3000)), 3000, 1e-3),
    (
        "rosenbrock",
        "adamw",
        lambda: optim.adamw(schedules.cosine_decay(0.05, 3000), weight_decay=1e-4),
        3000,
        3e-3,
    ),
    ("rosenbrock", "pid", lambda: optim.pid(0.001, kp=1.0, ki=0.0005), 4000, 1e-2),
]


@pytest.mark.parametrize(
    ("problem", "name", "build", "n_steps", "tolerance"),
    PROBLEMS,
    ids=[f"{p[0]}-{p[1]}" for p in PROBLEMS],
)
def test_reaches_the_minimum(problem, name, build, n_steps, tolerance) -> None:
    theta = _minimize(build(), problem, n_steps)
    minimum = np.array(tfs.get(problem).minima[0])
    distance = float(np.linalg.norm(theta - minimum))
    assert distance < tolerance, f"{name} on {problem}: {distance:.3g} from the minimum"


def test_every_optimizer_is_in_the_table() -> None:
    for problem in ("quadratic", "rosenbrock"):
        names = {p[1] for p in PROBLEMS if p[0] == problem}
        assert names == set(optim.OPTIMIZERS)


@pytest.mark.parametrize("size", [4096, 10_945])
def test_compiled_adam_step_is_bitwise_the_numpy_expression(monkeypatch, size) -> None:
    """The fused (numba) pass of Adam, used for large float64 vectors, equals NumPy's bit for bit,
    over gradients spanning eleven orders of magnitude and zeros."""
    pytest.importorskip("numba")
    from gdlab.optim import _fused

    rng = np.random.default_rng(size)
    compiled, plain = optim.adamw(0.01, weight_decay=0.1), optim.adamw(0.01, weight_decay=0.1)
    theta = rng.normal(size=size)
    states = [compiled.init(theta), plain.init(theta)]
    for _ in range(30):
        g = rng.normal(size=size) * 10.0 ** rng.uniform(-8, 3, size=size)
        g[::97] = 0.0
        moments = (states[0][0].mu, states[0][0].nu, 0.9, 0.999, 1e-8, 1)
        assert _fused.adam_step(g, *moments) is not None  # the compiled pass runs
        u1, states[0] = compiled.update(g, states[0], theta)
        with monkeypatch.context() as patch:
            patch.setattr(_fused, "MIN_SIZE", size + 1)  # the NumPy expression
            assert _fused.adam_step(g, *moments) is None
            u2, states[1] = plain.update(g, states[1], theta)
        np.testing.assert_array_equal(u1, u2)
        np.testing.assert_array_equal(states[0][0].mu, states[1][0].mu)
        np.testing.assert_array_equal(states[0][0].nu, states[1][0].nu)
        theta = theta + u1
