"""An upper bound of a fit's final squared-error loss, from one read of ``X`` that stores nothing.

The final check of a fit (:func:`gdlab.engine.train`, ``check_final``) evaluates the loss at the
returned parameters only to give the divergence rule (:func:`gdlab.divergence.verdict`) its last
value. With ``standardize=True`` the exact value needs every ``(x - mean) / scale`` rounded as
the standardized copy rounds it: a true division per value (``scaled_dot_block``), about twice
the CPU of a plain read; with or without it, the exact value also stores the predictions and
the residuals (arrays of ``n`` values, each a pass over memory). The verdict is monotone in the
last loss (a larger last value can only turn "not diverged" into "diverged"), so an upper bound
``U >= L_exact`` for which the verdict is "not diverged" settles it; only when it is not (a real
divergence, or a bound too loose) does the engine compute the exact value, which the error
message then shows. An unstandardized fit is the case ``m = 0``, ``s = 1`` below (its
"standardization" is then exact); :meth:`gdlab._objectives.LinearObjective.loss_upper_bound`
passes those.

The bound. Write ``a_j = |w_j| / s_j``, ``A = sum_j max_abs_j a_j``, ``M = sum_j |m_j| a_j``,
``G = A + M + |b|`` (``m``, ``s`` the mean and scale in ``X``'s dtype, ``w``, ``b`` the weights
and intercept, ``max_abs_j`` the largest ``|x_ij|`` of column ``j``, all from the check of ``X``).
The real prediction of row ``i`` is ``p_i = sum_j (x_ij - m_j) w_j / s_j + b``, and
``|p_i| <= G``.

* The exact pass rounds ``x - m`` and the quotient in ``X``'s dtype (unit roundoff ``u_X``), sums
  the products in float64 in any order (``u = 2^-53``, at most ``gamma_d ~ d u`` relative to
  ``sum |z_j w_j|``) and rounds the row's sum and the intercept's addition to the output dtype
  (``X``'s or wider): ``|pred_exact_i - p_i| <= (4 u_X + d u) G`` to first order.
* The fast pass computes ``v = w / s`` (float64), ``q_i = x_i @ v`` (compiled, any order),
  ``c = m @ v`` and ``pred_fast_i = q_i + (b - c)``, and sums the squared residuals as it goes
  (:func:`~gdlab.backends.scan.mean_squared_residual`: no array of predictions is stored):
  ``|pred_fast_i - p_i| <= (d + 4) u G`` to first order.
* So every row's two predictions differ by at most ``e = 1.01 ((8 u_X + 4 (d + 4) u) G + t)``
  (at least twice the first-order terms, ``t`` covering underflow: ``(sum |w_j| + d + 2)`` times the
  dtype's smallest subnormal). By Minkowski's inequality in the (weighted) mean,
  ``sqrt(R_exact) <= sqrt(R_fast) + e`` for the real mean squared residuals of the two
  predictions, for any non-negative sample weights.
* Rounding of the loss itself: NumPy's pairwise sum (the exact pass) has depth at most
  ``log2(n) + 26``; its weighted mean is a dot product (any order: ``n`` terms) over a pairwise
  sum. With ``k = log2(n) + 32``, ``eta_X = 2 (k + 4) u_X`` without weights and
  ``2 (n + k + 4) u_X`` with them. The fast pass sums its ``n`` terms (and weights) in any
  order, in float64: ``eta = 2 (n + k + 4) u`` with or without weights. Then
  ``L_exact <= (1 + eta_X) R_exact`` and ``R_fast <= L_fast / (1 - eta)``.

Hence ``L_exact <= (1 + eta_X) (sqrt(L_fast / (1 - eta)) + e)^2``, returned times ``1 + 8u``
for the few roundings of this formula. Where ``eta_X > 0.01`` (float32 with sample weights on
more than about 80,000 rows), or where anything is not finite, there is no bound (``None``) and
the exact pass runs. The bound is loose where a column's mean is large against its spread (``M``
large): then ``e`` may be large against the loss, the verdict at the bound may say "diverged",
and the exact pass decides, as it always did.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from numpy.typing import NDArray

from gdlab.backends.scan import mean_squared_residual

Array = NDArray[Any]

__all__ = ["squared_error_upper_bound"]

#: float64's unit roundoff
_U64 = 2.0**-53


def _unit_roundoff(*dtypes: Any) -> float:
    """The largest unit roundoff of ``dtypes`` (float64 at least)."""
    return max([_U64, *(float(np.finfo(t).eps) / 2 for t in dtypes if t is not None)])


def _sum_rounding(n: int, weighted: bool, u: float) -> float:
    """Relative rounding error bound of a mean of ``n`` non-negative terms (see the module)."""
    depth = math.ceil(math.log2(max(n, 2))) + 32
    return 2.0 * ((n if weighted else 0) + depth + 4) * u


def squared_error_upper_bound(
    X: Array,
    mean: Array,
    scale: Array,
    max_abs: Array,
    targets: Array,
    sample_weight: Array | None,
    weights: Array,
    intercept: Any,
) -> float | None:
    """An upper bound of the mean squared error of ``((X - mean) / scale) @ weights + intercept``
    as the exact pass computes it, or ``None`` where none is cheap and sure (see the module).

    One read of ``X`` as given, without a division per value.

    Examples
    --------
    >>> import numpy as np
    >>> from gdlab import losses
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(5.0, 2.0, (1000, 3)); y = X @ [1.0, -2.0, 0.5]
    >>> mean, scale = X.mean(axis=0), X.std(axis=0)
    >>> w, b = np.array([2.0, -4.0, 1.0]), 1.0
    >>> exact = losses.squared_error.value(y, ((X - mean) / scale) @ w + b)
    >>> upper = squared_error_upper_bound(X, mean, scale, np.abs(X).max(axis=0), y, None, w, b)
    >>> bool(exact <= upper <= exact * (1 + 1e-9))
    True
    """
    n, d = X.shape
    if n == 0 or targets.ndim != 1 or np.ndim(weights) != 1:
        return None
    dtypes = (X.dtype, weights.dtype, targets.dtype, np.result_type(intercept))
    u_x = _unit_roundoff(*dtypes, None if sample_weight is None else sample_weight.dtype)
    eta_x = _sum_rounding(n, sample_weight is not None, u_x)
    if eta_x > 0.01:
        return None
    with np.errstate(over="ignore", invalid="ignore", divide="ignore", under="ignore"):
        w = np.asarray(weights, dtype=np.float64)
        m = np.asarray(mean, dtype=np.float64)
        v = w / np.asarray(scale, dtype=np.float64)
        a = np.abs(v)
        b = float(intercept)
        size = float(np.asarray(max_abs, dtype=np.float64) @ a + np.abs(m) @ a + abs(b))
        tiny = float(np.finfo(X.dtype).smallest_subnormal)
        underflow = (float(np.sum(np.abs(w))) + d + 2) * tiny
        e = 1.01 * ((8 * u_x + 4 * (d + 4) * _U64) * size + underflow)
        if not (math.isfinite(e) and math.isfinite(b - float(m @ v))):
            return None
        fast = mean_squared_residual(X, v, b - float(m @ v), targets, sample_weight)
        eta = _sum_rounding(n, True, _U64)  # n terms in any order, weighted or not
        root = math.sqrt(fast / (1 - eta)) + e
        upper = (1 + eta_x) * root * root * (1 + 8 * _U64)  # inf, not OverflowError, if huge
    return upper if math.isfinite(upper) else None
