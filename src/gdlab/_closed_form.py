"""Exact least-squares and ridge solutions, and how far a gradient-descent fit is from them.

The objective is the one gdlab's estimators minimise with ``loss="squared_error"``::

    mean_i w_i (y_i - x_i . coef - intercept)^2 / mean_i w_i  +  alpha / 2 * ||coef||^2

(``alpha = 0`` is ordinary least squares). With an intercept the problem is solved on centred data,
so the intercept is never penalised.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.linalg
from numpy.typing import ArrayLike, NDArray

Array = NDArray[np.float64]

__all__ = ["ClosedFormComparison", "ClosedFormSolution", "compare", "least_squares"]


#: A design whose singular values span more than this ratio is ill-conditioned: its solution is
#: sensitive to rounding and noise (float64 keeps about 16 digits; half of them are lost at 1e8).
ILL_CONDITIONED = 1e8


@dataclass(frozen=True)
class ClosedFormSolution:
    """The exact minimiser: ``coef``, ``intercept`` and the objective value ``loss`` there.

    ``rank`` is the numerical rank of the (centred) design and ``condition`` the ratio of its
    largest to its smallest non-zero singular value; ``n_samples`` and ``n_features`` its shape.
    With fewer rows than features, or ``rank < n_features``, the minimiser is not unique and
    ``coef`` is the one of minimum norm.
    """

    coef: Array
    intercept: float
    loss: float
    rank: int = -1
    condition: float = float("nan")
    n_samples: int = 0
    n_features: int = 0

    @property
    def warnings(self) -> list[str]:
        """Sentences about why the exact solution is not unique or not reliable, if it is not."""
        notes = []
        if self.n_samples and self.n_samples < self.n_features:
            notes.append(
                f"there are fewer rows ({self.n_samples}) than features ({self.n_features}): "
                "many coefficient vectors reach the minimum; the closed form shown is the one of "
                "minimum norm, which gradient descent from zero also tends to"
            )
        elif 0 <= self.rank < self.n_features:
            notes.append(
                f"the features are linearly dependent (rank {self.rank} of {self.n_features}): "
                "the closed form shown is the minimum-norm solution"
            )
        if self.condition > ILL_CONDITIONED:
            notes.append(
                f"the problem is ill-conditioned (condition number {self.condition:.3g}): "
                "coefficients can differ a lot for nearly the same loss"
            )
        return notes


def least_squares(
    X: ArrayLike,
    y: ArrayLike,
    *,
    fit_intercept: bool = True,
    alpha: float = 0.0,
    sample_weight: ArrayLike | None = None,
) -> ClosedFormSolution:
    """Solve (ridge) least squares exactly.

    Ordinary least squares (``alpha=0``) uses an SVD-based solver, so rank-deficient data gets the
    minimum-norm solution; ridge solves
    ``(Xc' W Xc / sum(w) + alpha/2 I) coef = Xc' W yc / sum(w)``
    with ``Xc``, ``yc`` centred by the weighted means when ``fit_intercept``.

    scikit-learn's ``Ridge`` minimises ``sum_i w_i r_i^2 + alpha_sk ||coef||^2`` instead, so the
    same model is ``Ridge(alpha=alpha * sum(w) / 2)`` (``n * alpha / 2`` without weights).

    Examples
    --------
    >>> import numpy as np
    >>> X = np.array([[0.0], [1.0], [2.0]]); y = 3 * X.ravel() + 7
    >>> solution = least_squares(X, y)
    >>> solution.coef.round(10), round(solution.intercept, 10), round(solution.loss, 10)
    (array([3.]), 7.0, 0.0)
    """
    X, y, weight = _check_data(X, y, sample_weight, alpha)
    if fit_intercept:
        x_mean = weight @ X
        y_mean = float(weight @ y)
    else:
        x_mean = np.zeros(X.shape[1])
        y_mean = 0.0
    root = np.sqrt(weight)[:, None]
    Xc = (X - x_mean) * root
    yc = (y - y_mean) * root.ravel()
    if alpha == 0:  # the SVD solver also gives the singular values and the rank
        coef, _, _, singular = scipy.linalg.lstsq(Xc, yc, lapack_driver="gelsd")
    else:
        gram = Xc.T @ Xc + 0.5 * alpha * np.eye(X.shape[1])
        coef = scipy.linalg.solve(gram, Xc.T @ yc, assume_a="pos")
        singular = scipy.linalg.svdvals(Xc)
    singular = np.sort(np.asarray(singular, dtype=np.float64))[::-1]
    cutoff = (singular[0] if singular.size else 0.0) * max(Xc.shape) * np.finfo(float).eps
    kept = singular[singular > cutoff]
    rank = int(kept.size)
    condition = float(kept[0] / kept[-1]) if rank else float("inf")
    intercept = y_mean - float(x_mean @ coef) if fit_intercept else 0.0
    residual = y - X @ coef - intercept
    loss = float(weight @ (residual * residual)) + 0.5 * alpha * float(coef @ coef)
    return ClosedFormSolution(
        coef=coef,
        intercept=intercept,
        loss=loss,
        rank=rank,
        condition=condition,
        n_samples=int(np.count_nonzero(weight)),
        n_features=int(X.shape[1]),
    )


def _check_data(
    X: ArrayLike, y: ArrayLike, sample_weight: ArrayLike | None, alpha: float
) -> tuple[Array, Array, Array]:
    """``X`` and ``y`` as float arrays and the weights normalised to sum 1, all validated."""
    X = np.asarray(X, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    if X.ndim != 2 or y.ndim != 1 or X.shape[0] != y.shape[0] or X.shape[0] == 0:
        raise ValueError(
            f"least_squares needs X of shape (n, d) and y of shape (n,) with n >= 1; got "
            f"{X.shape} and {y.shape}."
        )
    if not (np.all(np.isfinite(X)) and np.all(np.isfinite(y))):
        raise ValueError("X and y must not contain NaN or infinite values.")
    if isinstance(alpha, bool) or not np.isfinite(alpha) or alpha < 0:
        raise ValueError(f"alpha must be a float >= 0. Got {alpha!r} instead.")
    if sample_weight is None:
        weight = np.ones(X.shape[0])
    else:
        weight = np.asarray(sample_weight, dtype=np.float64)
        if weight.shape != (X.shape[0],):
            raise ValueError(
                f"sample_weight.shape == {weight.shape}, expected ({X.shape[0]},): one weight "
                "per sample."
            )
        if not np.all(np.isfinite(weight)) or np.any(weight < 0) or not weight.sum() > 0:
            raise ValueError("sample_weight must be finite and non-negative, with a positive sum.")
    return X, y, weight / weight.sum()


@dataclass(frozen=True)
class ClosedFormComparison:
    """A gradient-descent fit next to the exact solution.

    ``param_distance`` is the Euclidean distance between ``(coef, intercept)`` vectors,
    ``max_abs_difference`` the largest coordinate difference and ``loss_gap`` the objective at the
    gradient-descent parameters minus its exact minimum, clipped at zero: the exact minimum is
    the lowest value there is, so a negative difference is rounding (``relative_gap`` is it
    divided by the minimum, ``nan`` when the minimum is zero). ``baseline_loss`` is the loss of
    predicting the (weighted) mean of ``y``.
    """

    coef: Array
    intercept: float
    loss: float
    exact: ClosedFormSolution
    param_distance: float
    max_abs_difference: float
    loss_gap: float
    baseline_loss: float = float("nan")

    @property
    def relative_gap(self) -> float:
        """``loss_gap / exact.loss`` (never negative), or ``nan`` when the minimum is zero to
        rounding (below ``1e-12`` times ``baseline_loss``, the loss of predicting the mean)."""
        floor = 1e-12 * self.baseline_loss if np.isfinite(self.baseline_loss) else 0.0
        return self.loss_gap / self.exact.loss if self.exact.loss > floor else float("nan")

    def rows(self) -> list[dict[str, Any]]:
        """Table rows: one for gradient descent, one for the exact solution."""
        return [
            {
                "method": "gradient descent",
                "coef": self.coef,
                "intercept": self.intercept,
                "loss": self.loss,
            },
            {
                "method": "closed form (exact)",
                "coef": self.exact.coef,
                "intercept": self.exact.intercept,
                "loss": self.exact.loss,
            },
        ]


def compare(
    coef: ArrayLike,
    intercept: float,
    X: ArrayLike,
    y: ArrayLike,
    *,
    fit_intercept: bool = True,
    alpha: float = 0.0,
    sample_weight: ArrayLike | None = None,
) -> ClosedFormComparison:
    """Compare a fitted ``(coef, intercept)`` with the exact minimiser on ``(X, y)``.

    Examples
    --------
    >>> import numpy as np
    >>> X = np.array([[0.0], [1.0], [2.0]]); y = 3 * X.ravel() + 7
    >>> result = compare([2.9], 7.1, X, y)
    >>> round(result.param_distance, 6), round(result.loss_gap, 6)
    (0.141421, 0.006667)
    """
    exact = least_squares(
        X, y, fit_intercept=fit_intercept, alpha=alpha, sample_weight=sample_weight
    )
    X, y, weight = _check_data(X, y, sample_weight, alpha)
    coef = np.asarray(coef, dtype=np.float64).ravel()
    if coef.shape != (X.shape[1],):
        raise ValueError(
            f"coef has {coef.size} values but X has {X.shape[1]} features; pass one coefficient "
            "per feature."
        )
    if not np.isscalar(intercept) and np.size(intercept) != 1:
        raise ValueError(f"intercept must be a single number; got shape {np.shape(intercept)}.")
    intercept = float(np.asarray(intercept).reshape(()))
    if not fit_intercept and intercept != 0.0:
        raise ValueError(
            f"fit_intercept=False compares against a model without intercept, but intercept="
            f"{intercept!r} was given; pass intercept=0."
        )
    residual = y - X @ coef - intercept
    loss = float(weight @ (residual * residual)) + 0.5 * alpha * float(coef @ coef)
    difference = np.concatenate([coef - exact.coef, [intercept - exact.intercept]])
    return ClosedFormComparison(
        coef=coef,
        intercept=intercept,
        loss=loss,
        exact=exact,
        param_distance=float(np.linalg.norm(difference)),
        max_abs_difference=float(np.max(np.abs(difference))),
        loss_gap=max(loss - exact.loss, 0.0),
        baseline_loss=float(weight @ (y - weight @ y) ** 2),
    )
