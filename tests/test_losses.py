"""Losses and penalties: values against textbook formulas, PyTorch and mpmath, gradients against
central finite differences (property-based), sample weights against repeated rows.

The literal reference values were made by ``scripts/make_loss_references.py`` (PyTorch 2.13,
float64, mean reduction; mpmath at 5000 digits); the tests do not need either library.
"""

from __future__ import annotations

import decimal
import math

import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from gdlab import losses
from gdlab.losses import Huber, Penalty, get, get_penalty

# ---- strategies and helpers --------------------------------------------------------------------

finite = st.floats(-10.0, 10.0, allow_nan=False, allow_infinity=False)


def fd_gradient(fun, z, h=1e-6):
    """Central differences of a scalar function of the array ``z``, coordinate by coordinate."""
    grad = np.zeros_like(z)
    for index in np.ndindex(z.shape):
        forward, backward = z.copy(), z.copy()
        forward[index] += h
        backward[index] -= h
        grad[index] = (fun(forward) - fun(backward)) / (2 * h)
    return grad


@st.composite
def regression_case(draw, max_outputs=1):
    n = draw(st.integers(1, 8))
    k = draw(st.integers(1, max_outputs))
    shape = (n,) if k == 1 else (n, k)
    y = draw(hnp.arrays(np.float64, shape, elements=finite))
    z = draw(hnp.arrays(np.float64, shape, elements=finite))
    weight = draw(
        st.none() | hnp.arrays(np.float64, (n,), elements=st.floats(0.1, 5.0, allow_nan=False))
    )
    return y, z, weight


@st.composite
def binary_case(draw, low=-30.0, high=30.0):
    n = draw(st.integers(1, 8))
    y = draw(hnp.arrays(np.float64, (n,), elements=st.sampled_from([0.0, 1.0])))
    z = draw(hnp.arrays(np.float64, (n,), elements=st.floats(low, high, allow_nan=False)))
    weight = draw(
        st.none() | hnp.arrays(np.float64, (n,), elements=st.floats(0.1, 5.0, allow_nan=False))
    )
    return y, z, weight


@st.composite
def multiclass_case(draw, scale=10.0):
    n = draw(st.integers(1, 6))
    k = draw(st.integers(2, 5))
    labels = draw(hnp.arrays(np.int64, (n,), elements=st.integers(0, k - 1)))
    y = np.eye(k)[labels]
    z = draw(hnp.arrays(np.float64, (n, k), elements=st.floats(-scale, scale, allow_nan=False)))
    weight = draw(
        st.none() | hnp.arrays(np.float64, (n,), elements=st.floats(0.1, 5.0, allow_nan=False))
    )
    return y, z, weight


def weighted_mean(per_sample, weight):
    return float(np.average(per_sample, weights=weight))


# ---- squared error -----------------------------------------------------------------------------


@given(regression_case(max_outputs=3))
def test_squared_error_is_the_mean_squared_error_without_one_half(case):
    y, z, weight = case
    per_row = (y - z) ** 2 if y.ndim == 1 else ((y - z) ** 2).sum(axis=1)
    assert losses.squared_error.value(y, z, weight) == pytest.approx(
        weighted_mean(per_row, weight), rel=1e-12, abs=1e-12
    )
    share = np.full(len(y), 1 / len(y)) if weight is None else weight / weight.sum()
    if y.ndim > 1:
        share = share[:, None]
    np.testing.assert_allclose(
        losses.squared_error.gradient(y, z, weight), 2 * (z - y) * share, rtol=1e-12, atol=1e-12
    )


def test_squared_error_matches_the_lessons_numbers():
    # mean((y - y_hat)^2) of the lesson: residuals 1 and -2 give (1 + 4) / 2
    y, z = np.array([1.0, 3.0]), np.array([2.0, 1.0])
    assert losses.squared_error.value(y, z) == 2.5
    np.testing.assert_array_equal(losses.squared_error.gradient(y, z), [1.0, -2.0])


@given(regression_case(max_outputs=3))
def test_squared_error_gradient_matches_finite_differences(case):
    y, z, weight = case
    numeric = fd_gradient(lambda v: losses.squared_error.value(y, v, weight), z)
    np.testing.assert_allclose(
        losses.squared_error.gradient(y, z, weight), numeric, rtol=1e-6, atol=1e-7
    )


# ---- Huber -------------------------------------------------------------------------------------

# (delta, predictions, targets, PyTorch HuberLoss value, PyTorch gradient)
HUBER_TORCH = [
    (1.0, [0.0, 0.5, -2.0, 3.5], [0.2, -0.4, 1.0, 3.0], 0.7625, [-0.05, 0.225, -0.25, 0.125]),
    (
        0.5,
        [1.0, -1.0, 2.0],
        [0.0, 0.0, 2.25],
        0.2604166666666667,
        [0.16666666666666666, -0.16666666666666666, -0.08333333333333333],
    ),
    (
        2.0,
        [10.0, -3.0, 0.1, 4.0, 0.0],
        [0.0, 0.0, 0.0, 5.5, -1.9],
        4.987,
        [0.4, -0.4, 0.020000000000000004, -0.30000000000000004, 0.38],
    ),
]


def huber_textbook(residual, delta):
    """Huber (1964): r^2/2 inside [-delta, delta], delta (|r| - delta/2) outside."""
    out = []
    for r in residual:
        if abs(r) <= delta:
            out.append(0.5 * r * r)
        else:
            out.append(delta * (abs(r) - 0.5 * delta))
    return np.array(out)


@pytest.mark.parametrize(("delta", "z", "y", "value", "grad"), HUBER_TORCH)
def test_huber_matches_torch_huber_loss_and_the_textbook_formula(delta, z, y, value, grad):
    z, y = np.array(z), np.array(y)
    loss = Huber(delta=delta)
    assert loss.value(y, z) == pytest.approx(value, rel=1e-14)
    assert loss.value(y, z) == pytest.approx(huber_textbook(z - y, delta).mean(), rel=1e-14)
    np.testing.assert_allclose(loss.gradient(y, z), grad, rtol=1e-13, atol=1e-15)


def test_huber_is_half_squared_error_for_small_residuals_and_linear_beyond_delta():
    y = np.zeros(3)
    small = np.array([0.1, -0.3, 0.2])
    assert Huber(1.0).value(y, small) == pytest.approx(0.5 * losses.squared_error.value(y, small))
    # beyond delta the gradient is +-delta / n, whatever the size of the residual
    np.testing.assert_allclose(
        Huber(0.5).gradient(y, np.array([3.0, -100.0, 7.0])), [0.5 / 3, -0.5 / 3, 0.5 / 3]
    )


@given(regression_case(), st.sampled_from([0.5, 1.0, 2.0]))
def test_huber_gradient_matches_finite_differences(case, delta):
    y, z, weight = case
    assume(np.all(np.abs(np.abs(z - y) - delta) > 1e-4))  # away from the switch point
    loss = Huber(delta=delta)
    numeric = fd_gradient(lambda v: loss.value(y, v, weight), z)
    np.testing.assert_allclose(loss.gradient(y, z, weight), numeric, rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("delta", [0.0, -1.0, float("nan"), float("inf")])
def test_huber_rejects_a_bad_delta(delta):
    with pytest.raises(ValueError, match="delta"):
        Huber(delta=delta)


# ---- binary log loss ---------------------------------------------------------------------------

# log(1 + e^z) - y z by mpmath with 5000 digits, rounded to float: (y, z, value)
LOG_LOSS_MPMATH = [
    (0, -1e4, 0.0),
    (0, -700.0, 9.85967654375977e-305),
    (0, -40.0, 4.248354255291589e-18),
    (0, -30.0, 9.357622968839737e-14),
    (0, -5.0, 0.006715348489118068),
    (0, 0.0, 0.6931471805599453),
    (0, 5.0, 5.006715348489118),
    (0, 30.0, 30.000000000000092),
    (0, 40.0, 40.0),
    (0, 700.0, 700.0),
    (0, 1e4, 1e4),
    (1, -1e4, 1e4),
    (1, -700.0, 700.0),
    (1, -40.0, 40.0),
    (1, -30.0, 30.000000000000092),
    (1, -5.0, 5.006715348489118),
    (1, 0.0, 0.6931471805599453),
    (1, 5.0, 0.006715348489118068),
    (1, 30.0, 9.357622968839737e-14),
    (1, 40.0, 4.248354255291589e-18),
    (1, 700.0, 9.85967654375977e-305),
    (1, 1e4, 0.0),
]


@pytest.mark.parametrize(("y", "z", "expected"), LOG_LOSS_MPMATH)
def test_log_loss_per_sample_matches_mpmath_for_all_margins(y, z, expected):
    value = losses.log_loss.per_sample(np.array([float(y)]), np.array([z]))[0]
    assert value == pytest.approx(expected, rel=1e-14, abs=0.0)


def decimal_log_loss(y: float, z: float) -> float:
    """log(1 + e^z) - y z in 80-digit decimal arithmetic (exact enough for |z| <= 40)."""
    with decimal.localcontext() as context:
        context.prec = 80
        dz = decimal.Decimal(z)
        return float((1 + dz.exp()).ln() - decimal.Decimal(y) * dz)


@given(st.sampled_from([0.0, 1.0]), st.floats(-40.0, 40.0, allow_nan=False))
def test_log_loss_keeps_full_relative_accuracy_for_moderate_margins(y, z):
    value = losses.log_loss.per_sample(np.array([y]), np.array([z]))[0]
    assert value == pytest.approx(decimal_log_loss(y, z), rel=1e-13, abs=0.0)


def test_log_loss_has_no_overflow_or_nan_for_huge_margins():
    z = np.array([-1e4, -1e3, -50.0, 50.0, 1e3, 1e4])
    for label in (0.0, 1.0):
        y = np.full(z.shape, label)
        with np.errstate(over="raise", invalid="raise", divide="raise"):  # underflow is fine
            value = losses.log_loss.per_sample(y, z)
            grad = losses.log_loss.gradient(y, z)
        assert np.all(np.isfinite(value)) and np.all(np.isfinite(grad))
        # the wrong side costs |z|, the right side nothing; the gradient is sigmoid(z) - y
        np.testing.assert_allclose(
            value, np.where((z > 0) == (label > 0), 0.0, np.abs(z)), atol=1e-20
        )
        np.testing.assert_allclose(grad * len(z), (z > 0).astype(float) - label, atol=1e-20)


def test_log_loss_matches_torch_bce_with_logits():
    y = np.array([1.0, 0.0, 1.0, 0.0])
    z = np.array([2.0, -3.0, -0.5, 40.0])
    assert losses.log_loss.value(y, z) == pytest.approx(10.287398086699206, rel=1e-14)
    np.testing.assert_allclose(
        losses.log_loss.gradient(y, z),
        [-0.02980073050552942, 0.011856468294391695, -0.15561483280046365, 0.25],
        rtol=1e-12,
    )


@given(binary_case())
def test_log_loss_gradient_matches_finite_differences(case):
    y, z, weight = case
    numeric = fd_gradient(lambda v: losses.log_loss.value(y, v, weight), z)
    np.testing.assert_allclose(
        losses.log_loss.gradient(y, z, weight), numeric, rtol=1e-6, atol=1e-8
    )


# ---- softmax cross-entropy ---------------------------------------------------------------------


def test_softmax_matches_torch_cross_entropy_including_large_logits():
    y = np.eye(3)[[0, 2, 1]]
    z = np.array([[1.0, 2.0, 3.0], [500.0, -200.0, 100.0], [0.0, 0.0, 0.0]])
    assert losses.softmax_cross_entropy.value(y, z) == pytest.approx(134.5020727510375, rel=1e-14)
    expected = [
        [-0.30332314227653984, 0.08157615701826587, 0.2217469852582739],
        [0.3333333333333333, 3.2865588479199234e-305, -0.3333333333333333],
        [0.1111111111111111, -0.2222222222222222, 0.1111111111111111],
    ]
    np.testing.assert_allclose(losses.softmax_cross_entropy.gradient(y, z), expected, rtol=1e-12)


def test_softmax_is_stable_for_huge_logits():
    y = np.eye(3)[[0, 1]]
    z = np.array([[1e4, -1e4, 0.0], [1e4, -1e4, 0.0]])
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        per_sample = losses.softmax_cross_entropy.per_sample(y, z)
        grad = losses.softmax_cross_entropy.gradient(y, z)
    np.testing.assert_allclose(per_sample, [0.0, 2e4])
    np.testing.assert_allclose(grad, [[0.0, 0.0, 0.0], [0.5, -0.5, 0.0]], atol=1e-300)


@given(multiclass_case(), st.floats(-1e3, 1e3, allow_nan=False))
def test_softmax_is_invariant_to_a_shift_of_the_logits(case, shift):
    y, z, weight = case
    loss = losses.softmax_cross_entropy
    assert loss.value(y, z + shift, weight) == pytest.approx(loss.value(y, z, weight), abs=1e-9)
    np.testing.assert_allclose(
        loss.gradient(y, z + shift, weight), loss.gradient(y, z, weight), atol=1e-12
    )
    np.testing.assert_allclose(np.exp(loss.log_probabilities(z)).sum(axis=1), 1.0, rtol=1e-12)


@given(multiclass_case())
def test_softmax_gradient_matches_finite_differences(case):
    y, z, weight = case
    loss = losses.softmax_cross_entropy
    numeric = fd_gradient(lambda v: loss.value(y, v, weight), z)
    np.testing.assert_allclose(loss.gradient(y, z, weight), numeric, rtol=1e-6, atol=1e-8)


def test_softmax_with_two_classes_equals_log_loss_on_the_logit_difference():
    rng = np.random.default_rng(0)
    z = rng.normal(size=(20, 2)) * 3
    labels = rng.integers(0, 2, size=20).astype(float)
    two_class = losses.softmax_cross_entropy.value(np.eye(2)[labels.astype(int)], z)
    assert two_class == pytest.approx(losses.log_loss.value(labels, z[:, 1] - z[:, 0]), rel=1e-12)


# ---- hinge -------------------------------------------------------------------------------------


def test_hinge_values_and_subgradient_by_hand():
    y = np.array([1.0, -1.0, 1.0, -1.0])
    z = np.array([0.5, -2.0, -1.0, 0.25])
    # max(0, 1 - y z): 0.5, 0, 2, 1.25
    assert losses.hinge.value(y, z) == pytest.approx((0.5 + 0.0 + 2.0 + 1.25) / 4)
    np.testing.assert_array_equal(losses.hinge.gradient(y, z), [-0.25, 0.0, -0.25, 0.25])


@given(
    st.integers(1, 8).flatmap(
        lambda n: st.tuples(
            hnp.arrays(np.float64, (n,), elements=st.sampled_from([-1.0, 1.0])),
            hnp.arrays(np.float64, (n,), elements=finite),
        )
    )
)
def test_hinge_gradient_matches_finite_differences_away_from_the_kink(case):
    y, z = case
    assume(np.all(np.abs(y * z - 1.0) > 1e-4))
    numeric = fd_gradient(lambda v: losses.hinge.value(y, v), z)
    np.testing.assert_allclose(losses.hinge.gradient(y, z), numeric, rtol=1e-6, atol=1e-8)


# ---- sample weights ----------------------------------------------------------------------------

LOSS_CASES = {
    "squared_error": (losses.squared_error, regression_case(max_outputs=2)),
    "huber": (Huber(delta=1.5), regression_case()),
    "log_loss": (losses.log_loss, binary_case()),
    "softmax": (losses.softmax_cross_entropy, multiclass_case()),
}


@pytest.mark.parametrize("name", sorted(LOSS_CASES))
def test_integer_weights_equal_repeated_rows(name):
    loss, strategy = LOSS_CASES[name]

    @given(strategy, st.data())
    def check(case, data):
        y, z, _ = case
        counts = data.draw(hnp.arrays(np.int64, (len(y),), elements=st.integers(0, 4)))
        assume(counts.sum() > 0)
        repeated_y, repeated_z = np.repeat(y, counts, axis=0), np.repeat(z, counts, axis=0)
        weight = counts.astype(float)
        assert loss.value(y, z, weight) == pytest.approx(
            loss.value(repeated_y, repeated_z), rel=1e-12, abs=1e-12
        )
        # the gradient of the mean over repeated rows, summed back onto the original rows
        grad_repeated = loss.gradient(repeated_y, repeated_z)
        owner = np.repeat(np.arange(len(y)), counts)
        summed = np.zeros_like(z)
        np.add.at(summed, owner, grad_repeated)
        np.testing.assert_allclose(loss.gradient(y, z, weight), summed, rtol=1e-12, atol=1e-14)

    check()


@given(regression_case(), st.floats(0.01, 100.0))
def test_scaling_all_weights_changes_nothing(case, factor):
    y, z, weight = case
    assume(weight is not None)
    loss = losses.squared_error
    assert loss.value(y, z, weight * factor) == pytest.approx(loss.value(y, z, weight), rel=1e-12)
    np.testing.assert_allclose(
        loss.gradient(y, z, weight * factor), loss.gradient(y, z, weight), rtol=1e-12, atol=1e-15
    )


def test_value_and_gradient_is_value_and_gradient():
    rng = np.random.default_rng(1)
    y, z, weight = rng.normal(size=5), rng.normal(size=5), rng.uniform(0.5, 2, size=5)
    for loss in (losses.squared_error, losses.huber, losses.hinge):
        value, grad = loss.value_and_gradient(np.sign(y), z, weight)
        assert value == loss.value(np.sign(y), z, weight)
        np.testing.assert_array_equal(grad, loss.gradient(np.sign(y), z, weight))


# ---- curvature bounds (used for the 2/L learning-rate advice) ----------------------------------


def test_curvature_is_the_largest_second_derivative_of_the_per_sample_loss():
    z = np.linspace(-6, 6, 241)
    h = 1e-4
    for loss, y in [
        (losses.squared_error, np.zeros_like(z)),
        (Huber(delta=1.0), np.zeros_like(z)),
        (losses.log_loss, np.ones_like(z)),
    ]:
        second = (loss.per_sample_gradient(y, z + h) - loss.per_sample_gradient(y, z - h)) / (2 * h)
        assert second.max() == pytest.approx(loss.curvature, rel=1e-6)


@given(hnp.arrays(np.float64, (4,), elements=st.floats(-5, 5, allow_nan=False)))
def test_softmax_curvature_bounds_the_hessian(z):
    p = np.exp(z - z.max())
    p /= p.sum()
    hessian = np.diag(p) - np.outer(p, p)  # of logsumexp
    assert np.linalg.eigvalsh(hessian).max() <= losses.softmax_cross_entropy.curvature + 1e-12


# ---- the registry ------------------------------------------------------------------------------


def test_get_returns_losses_by_name_and_builds_huber_with_delta():
    for name, loss in losses.LOSSES.items():
        assert get(name) is loss
        assert get(loss) is loss
    assert get("huber", delta=2.5) == Huber(delta=2.5)
    assert repr(get("huber", delta=2.5)) == "Huber(delta=2.5)"


def test_get_rejects_unknown_names_and_parameters():
    with pytest.raises(ValueError, match=r"Unknown loss 'absolute'.*squared_error"):
        get("absolute")
    with pytest.raises(ValueError, match="Unknown loss"):
        get(["squared_error"])  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="takes no parameter delta"):
        get("squared_error", delta=1.0)
    with pytest.raises(TypeError, match="epsilon"):
        get("huber", epsilon=1.0)


# ---- penalties ---------------------------------------------------------------------------------

weights_strategy = st.integers(1, 6).flatmap(
    lambda d: hnp.arrays(np.float64, (d,), elements=st.floats(-5, 5, allow_nan=False))
)


@given(weights_strategy, st.floats(0.0, 2.0), st.floats(0.0, 1.0))
def test_penalty_values_follow_scikit_learn_definitions(w, alpha, l1_ratio):
    l2 = 0.5 * float(w @ w)
    l1 = float(np.abs(w).sum())
    assert get_penalty(None, alpha).value(w) == 0.0
    assert get_penalty("l2", alpha).value(w) == pytest.approx(alpha * l2, abs=1e-12)
    assert get_penalty("l1", alpha).value(w) == pytest.approx(alpha * l1, abs=1e-12)
    assert get_penalty("elasticnet", alpha, l1_ratio).value(w) == pytest.approx(
        alpha * ((1 - l1_ratio) * l2 + l1_ratio * l1), abs=1e-12
    )
    # elastic net at its ends is the pure penalty
    assert get_penalty("elasticnet", alpha, 0.0).value(w) == pytest.approx(alpha * l2, abs=1e-12)
    assert get_penalty("elasticnet", alpha, 1.0).value(w) == pytest.approx(alpha * l1, abs=1e-12)


@given(
    weights_strategy,
    st.sampled_from([None, "l2", "l1", "elasticnet"]),
    st.floats(0.0, 2.0),
    st.floats(0.0, 1.0),
)
def test_penalty_gradients_match_finite_differences(w, kind, alpha, l1_ratio):
    assume(np.all(np.abs(w) > 1e-3))  # |w| has a kink at 0
    penalty = get_penalty(kind, alpha, l1_ratio)
    numeric = fd_gradient(penalty.value, w)
    np.testing.assert_allclose(penalty.gradient(w), numeric, rtol=1e-6, atol=1e-8)


def test_l1_subgradient_is_zero_at_zero_and_matrix_weights_work():
    penalty = get_penalty("elasticnet", 0.5, 0.4)
    np.testing.assert_array_equal(
        penalty.gradient(np.array([0.0, 2.0])), [0.0, 0.5 * (0.6 * 2 + 0.4)]
    )
    w = np.array([[1.0, -2.0], [0.0, 3.0]])
    assert penalty.value(w) == pytest.approx(0.5 * (0.6 * 14 / 2 + 0.4 * 6))
    assert penalty.gradient(w).shape == (2, 2)


def test_penalty_weights_and_activity():
    penalty = Penalty("elasticnet", alpha=0.2, l1_ratio=0.25)
    assert penalty.l1_weight == pytest.approx(0.05)
    assert penalty.l2_weight == pytest.approx(0.15)
    assert penalty.active
    assert not Penalty("l2", alpha=0.0).active
    assert not Penalty(None, alpha=1.0).active
    assert Penalty(None).l1_weight == Penalty(None).l2_weight == 0.0


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"kind": "l3"}, "Unknown penalty 'l3'"),
        ({"kind": "l2", "alpha": -1.0}, "alpha"),
        ({"kind": "l2", "alpha": math.nan}, "alpha"),
        ({"kind": "elasticnet", "l1_ratio": 1.5}, "l1_ratio"),
        ({"kind": "elasticnet", "l1_ratio": -0.1}, "l1_ratio"),
    ],
)
def test_penalty_rejects_bad_parameters(kwargs, match):
    with pytest.raises(ValueError, match=match):
        get_penalty(**kwargs)
