"""Closed-form least squares and ridge against NumPy and scikit-learn, and compare()."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from sklearn.linear_model import LinearRegression, Ridge

from gdlab import losses
from gdlab._closed_form import compare, least_squares
from gdlab._objectives import LinearObjective


def make_data(seed, n=40, d=3):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d)) * rng.uniform(0.5, 3.0, size=d) + rng.normal(size=d)
    y = X @ rng.normal(size=d) + 2.0 + 0.3 * rng.normal(size=n)
    weight = rng.uniform(0.2, 3.0, size=n)
    return X, y, weight


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_least_squares_matches_numpy_lstsq(seed):
    X, y, _ = make_data(seed)
    A = np.hstack([X, np.ones((len(y), 1))])
    expected = np.linalg.lstsq(A, y, rcond=None)[0]
    solution = least_squares(X, y)
    np.testing.assert_allclose(solution.coef, expected[:-1], rtol=1e-10)
    assert solution.intercept == pytest.approx(expected[-1], rel=1e-10)
    assert solution.loss == pytest.approx(np.mean((A @ expected - y) ** 2), rel=1e-10)
    # without intercept
    no_intercept = least_squares(X, y, fit_intercept=False)
    np.testing.assert_allclose(no_intercept.coef, np.linalg.lstsq(X, y, rcond=None)[0], rtol=1e-10)
    assert no_intercept.intercept == 0.0


@given(st.integers(0, 2**32 - 1), st.booleans(), st.booleans())
def test_least_squares_matches_scikit_learn_linear_regression(seed, fit_intercept, weighted):
    X, y, weight = make_data(seed, n=25)
    weight = weight if weighted else None
    reference = LinearRegression(fit_intercept=fit_intercept).fit(X, y, sample_weight=weight)
    solution = least_squares(X, y, fit_intercept=fit_intercept, sample_weight=weight)
    np.testing.assert_allclose(solution.coef, reference.coef_, rtol=1e-8, atol=1e-10)
    assert solution.intercept == pytest.approx(reference.intercept_, rel=1e-8, abs=1e-10)


@given(st.integers(0, 2**32 - 1), st.floats(0.01, 10.0), st.booleans(), st.booleans())
def test_ridge_matches_scikit_learn_with_alpha_mapped_to_n_alpha_over_two(
    seed, alpha, fit_intercept, weighted
):
    """gdlab: sum w r^2 / sum w + alpha/2 ||coef||^2; Ridge: sum w r^2 + alpha_sk ||coef||^2."""
    X, y, weight = make_data(seed, n=30)
    weight = weight if weighted else None
    total = len(y) if weight is None else weight.sum()
    solution = least_squares(X, y, alpha=alpha, fit_intercept=fit_intercept, sample_weight=weight)
    reference = Ridge(alpha=total * alpha / 2, fit_intercept=fit_intercept, solver="cholesky")
    reference.fit(X, y, sample_weight=weight)
    np.testing.assert_allclose(solution.coef, reference.coef_, rtol=1e-8, atol=1e-10)
    assert solution.intercept == pytest.approx(reference.intercept_, rel=1e-8, abs=1e-10)


def test_the_alpha_mapping_matters():
    X, y, _ = make_data(5, n=30)
    solution = least_squares(X, y, alpha=1.0)
    mapped = Ridge(alpha=30 * 1.0 / 2).fit(X, y)
    naive = Ridge(alpha=1.0).fit(X, y)
    np.testing.assert_allclose(solution.coef, mapped.coef_, rtol=1e-8)
    assert np.max(np.abs(solution.coef - naive.coef_)) > 1e-2


@given(st.integers(0, 2**32 - 1), st.floats(0.0, 5.0), st.booleans(), st.booleans())
def test_the_solution_is_a_stationary_point_of_the_estimators_objective(
    seed, alpha, fit_intercept, weighted
):
    X, y, weight = make_data(seed, n=20)
    weight = weight if weighted else None
    solution = least_squares(X, y, alpha=alpha, fit_intercept=fit_intercept, sample_weight=weight)
    objective = LinearObjective(
        X, y, losses.squared_error, losses.get_penalty("l2", alpha), fit_intercept, weight
    )
    theta = objective.pack(solution.coef, solution.intercept)
    value, grad = objective.loss_and_grad(theta)
    assert value == pytest.approx(solution.loss, rel=1e-10)
    np.testing.assert_allclose(grad, 0.0, atol=1e-9)


@pytest.mark.parametrize("fit_intercept", [True, False])
def test_rank_deficient_data_gets_the_minimum_norm_solution(fit_intercept):
    rng = np.random.default_rng(3)
    base = rng.normal(size=(30, 2))
    X = np.column_stack([base, base[:, 0] + 2 * base[:, 1], base[:, 0]])  # rank 2
    y = base @ [1.0, -2.0] + 0.5 + 0.1 * rng.normal(size=30)
    solution = least_squares(X, y, fit_intercept=fit_intercept)
    Xc = X - X.mean(axis=0) if fit_intercept else X
    yc = y - y.mean() if fit_intercept else y
    minimum_norm = np.linalg.pinv(Xc) @ yc
    np.testing.assert_allclose(solution.coef, minimum_norm, rtol=1e-8, atol=1e-10)
    reference = LinearRegression(fit_intercept=fit_intercept).fit(X, y)
    np.testing.assert_allclose(solution.coef, reference.coef_, rtol=1e-8, atol=1e-10)
    assert solution.intercept == pytest.approx(reference.intercept_, abs=1e-10)
    # any other solution fits as well but is longer
    null = np.array([1.0, 2.0, -1.0, 0.0])  # X @ null == 0
    np.testing.assert_allclose(X @ null, 0.0, atol=1e-12)
    other = compare(
        solution.coef + 0.5 * null, solution.intercept, X, y, fit_intercept=fit_intercept
    )
    assert other.loss_gap == pytest.approx(0.0, abs=1e-12)
    assert np.linalg.norm(solution.coef) < np.linalg.norm(solution.coef + 0.5 * null)


def test_lessons_line_is_recovered_exactly():
    x = np.linspace(0, 2, 100)[:, None]
    solution = least_squares(x, 3 * x.ravel() + 7)
    np.testing.assert_allclose(solution.coef, [3.0], rtol=1e-12)
    assert solution.intercept == pytest.approx(7.0, rel=1e-12)
    assert solution.loss == pytest.approx(0.0, abs=1e-24)


def test_weighted_least_squares_equals_repeated_rows():
    X, y, _ = make_data(8, n=12)
    counts = np.arange(12) % 3 + 1
    weighted = least_squares(X, y, alpha=0.4, sample_weight=counts)
    repeated = least_squares(np.repeat(X, counts, axis=0), np.repeat(y, counts), alpha=0.4)
    np.testing.assert_allclose(weighted.coef, repeated.coef, rtol=1e-10)
    assert weighted.intercept == pytest.approx(repeated.intercept, rel=1e-10)
    assert weighted.loss == pytest.approx(repeated.loss, rel=1e-10)


# ---- compare -----------------------------------------------------------------------------------


def test_compare_reports_distance_gap_and_rows():
    X = np.array([[0.0], [1.0], [2.0]])
    y = 3 * X.ravel() + 7
    result = compare([2.9], 7.1, X, y)
    assert result.param_distance == pytest.approx(np.sqrt(0.01 + 0.01))
    assert result.max_abs_difference == pytest.approx(0.1)
    # residuals -0.1, 0, 0.1: mean square 0.02 / 3
    assert result.loss == pytest.approx(0.02 / 3)
    assert result.loss_gap == pytest.approx(0.02 / 3)
    rows = result.rows()
    assert [r["method"] for r in rows] == ["gradient descent", "closed form (exact)"]
    assert rows[0]["intercept"] == 7.1 and rows[1]["intercept"] == pytest.approx(7.0)
    assert rows[1]["loss"] == pytest.approx(0.0, abs=1e-24)


@given(
    st.integers(0, 2**32 - 1),
    st.floats(0.0, 3.0),
    st.booleans(),
    st.booleans(),
    st.floats(1e-6, 1.0),
)
def test_loss_gap_is_the_exact_quadratic_excess_and_never_negative(
    seed, alpha, fit_intercept, weighted, size
):
    X, y, weight = make_data(seed, n=20)
    weight = weight if weighted else None
    exact = least_squares(X, y, alpha=alpha, fit_intercept=fit_intercept, sample_weight=weight)
    rng = np.random.default_rng(seed)
    delta_coef = size * rng.normal(size=3)
    delta_b = size * rng.normal() if fit_intercept else 0.0
    result = compare(
        exact.coef + delta_coef,
        exact.intercept + delta_b,
        X,
        y,
        alpha=alpha,
        fit_intercept=fit_intercept,
        sample_weight=weight,
    )
    assert result.loss_gap >= -1e-12
    # at the minimum the excess is the quadratic form of the step:
    # mean_w (X dc + db)^2 + alpha/2 |dc|^2
    share = np.full(20, 1 / 20) if weight is None else weight / weight.sum()
    excess = share @ (X @ delta_coef + delta_b) ** 2 + 0.5 * alpha * delta_coef @ delta_coef
    assert result.loss_gap == pytest.approx(excess, rel=1e-6, abs=1e-12)
    assert result.param_distance == pytest.approx(np.linalg.norm([*delta_coef, delta_b]), rel=1e-9)
    same = compare(
        exact.coef,
        exact.intercept,
        X,
        y,
        alpha=alpha,
        fit_intercept=fit_intercept,
        sample_weight=weight,
    )
    assert same.param_distance == 0.0 and abs(same.loss_gap) <= 1e-12


def test_compare_accepts_array_intercepts_and_coefficient_lists():
    X, y, _ = make_data(1)
    exact = least_squares(X, y)
    result = compare(list(exact.coef), np.array([exact.intercept]), X, y)
    assert result.param_distance == pytest.approx(0.0, abs=1e-12)


# ---- bad input ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("X", "y", "kwargs", "match"),
    [
        (np.ones(3), np.ones(3), {}, r"X of shape \(n, d\)"),
        (np.ones((3, 1)), np.ones(4), {}, r"got \(3, 1\) and \(4,\)"),
        (np.ones((3, 1)), np.ones((3, 2)), {}, "y of shape"),
        (np.ones((0, 1)), np.ones(0), {}, "n >= 1"),
        (np.array([[1.0], [np.nan]]), np.ones(2), {}, "NaN or infinite"),
        (np.ones((2, 1)), np.array([1.0, np.inf]), {}, "NaN or infinite"),
        (np.ones((2, 1)), np.ones(2), {"alpha": -1.0}, "alpha must be a float >= 0"),
        (np.ones((2, 1)), np.ones(2), {"sample_weight": np.ones(3)}, "sample_weight.shape"),
        (np.ones((2, 1)), np.ones(2), {"sample_weight": [1.0, -1.0]}, "non-negative"),
        (np.ones((2, 1)), np.ones(2), {"sample_weight": [0.0, 0.0]}, "positive sum"),
    ],
)
def test_least_squares_rejects_bad_input(X, y, kwargs, match):
    with pytest.raises(ValueError, match=match):
        least_squares(X, y, **kwargs)


def test_compare_rejects_bad_parameters():
    X, y, _ = make_data(0)
    with pytest.raises(ValueError, match="coef has 2 values but X has 3 features"):
        compare([1.0, 2.0], 0.0, X, y)
    with pytest.raises(ValueError, match="intercept must be a single number"):
        compare([1.0, 2.0, 3.0], [0.0, 1.0], X, y)
    with pytest.raises(ValueError, match="fit_intercept=False"):
        compare([1.0, 2.0, 3.0], 1.0, X, y, fit_intercept=False)


def test_rank_condition_and_warnings_for_wide_and_ill_conditioned_data():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(50, 200))
    y = X[:, :5] @ np.ones(5)
    wide = least_squares(X, y)
    # centred with an intercept: rank n - 1; numpy's lstsq agrees
    Xc = X - X.mean(axis=0)
    assert wide.rank == np.linalg.matrix_rank(Xc) == 49
    assert wide.n_samples == 50 and wide.n_features == 200
    assert any("fewer rows (50) than features (200)" in w for w in wide.warnings)
    tall = least_squares(X[:, :3], y)
    assert tall.rank == 3 and tall.warnings == []
    s = np.linalg.svd(X[:, :3] - X[:, :3].mean(axis=0), compute_uv=False)
    assert tall.condition == pytest.approx(s[0] / s[-1], rel=1e-10)
    nearly = np.c_[X[:, :2], X[:, 0] + 1e-10 * X[:, 2]]
    bad = least_squares(nearly, y)
    assert bad.condition > 1e8 and any("ill-conditioned" in w for w in bad.warnings)


def test_loss_gap_is_never_negative():
    X, y, _ = make_data(3)
    exact = least_squares(X, y)
    # the exact solution itself, perturbed below rounding: the gap is 0, not -1e-17
    result = compare(exact.coef * (1 + 1e-16), exact.intercept, X, y)
    assert result.loss_gap >= 0 and result.relative_gap >= 0
