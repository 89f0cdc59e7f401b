"""What the engine minimises: a loss and its gradient over the rows of a batch.

An objective has ``n_samples`` and ``loss_and_grad(params, rows)`` where ``rows`` is ``None`` (all
rows), a slice or an index array. :class:`LinearObjective` is a linear model's empirical risk;
:class:`FunctionObjective` wraps any differentiable function for :func:`gdlab.minimize`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from numpy.typing import NDArray
from scipy.sparse import issparse

from gdlab._final_loss_bound import squared_error_upper_bound
from gdlab.losses import Loss, Penalty, SquaredError

Array = NDArray[np.floating[Any]]
Rows = slice | NDArray[np.intp] | None

#: rows per chunk where a loss is summed from the targets alone (``loss_without_features``)
_CHUNK_ROWS = 16_384

__all__ = ["FunctionObjective", "LinearObjective", "central_difference_gradient"]


class LinearObjective:
    """Mean loss of the linear model ``z = X @ W + b``, plus a penalty on ``W``.

    The parameters are one flat vector ``theta = [W.ravel(), b]`` (``b`` omitted without
    intercept), so that every optimizer sees a single array. Over all rows the objective is::

        sum_i w_i loss(y_i, z_i) / sum_i w_i  +  alpha R(W)

    (``w_i = 1`` without sample weights). A batch ``B`` of rows gives
    ``sum_{i in B} w_i loss_i / (|B| mean(w)) + alpha R(W)`` with ``mean(w)`` taken over *all* rows,
    so that its gradient is an unbiased estimate of the full gradient, a row of weight 0 contributes
    nothing (and no ``0 / 0``), and the size-weighted mean of the batch losses of an epoch is the
    full weighted mean loss.

    Parameters
    ----------
    X : array of shape (n_samples, n_features)
    targets : array of shape (n_samples,) or (n_samples, n_outputs)
    loss : Loss
    penalty : Penalty
    fit_intercept : bool
    sample_weight : array of shape (n_samples,) or None
        Non-negative weights with a positive sum.

    Examples
    --------
    >>> import numpy as np
    >>> from gdlab import losses
    >>> X = np.array([[0.0], [1.0], [2.0]]); y = np.array([7.0, 10.0, 13.0])
    >>> objective = LinearObjective(X, y, losses.squared_error, losses.get_penalty(None))
    >>> objective.loss_and_grad(np.array([3.0, 6.0]))   # residuals -1: loss 1, d/db = -2
    (1.0, array([-2., -2.]))
    """

    #: What the compiled back-end runs (``gdlab.backends.numba_backend.check_supported`` reads it,
    #: so that the back-ends import nothing above them); subclasses inherit it.
    compiled_kind = "linear"

    def __init__(
        self,
        X: Array,
        targets: Array,
        loss: Loss,
        penalty: Penalty,
        fit_intercept: bool = True,
        sample_weight: Array | None = None,
        *,
        max_abs: Array | None = None,
    ) -> None:
        if X.ndim != 2:
            raise ValueError(f"X must be a 2-D array (n_samples, n_features); got shape {X.shape}.")
        if targets.ndim not in (1, 2) or targets.shape[0] != X.shape[0]:
            raise ValueError(
                f"targets must have shape ({X.shape[0]},) or ({X.shape[0]}, n_outputs), one row "
                f"per row of X; got shape {targets.shape}."
            )
        if sample_weight is not None:
            if sample_weight.shape != (X.shape[0],):
                raise ValueError(
                    f"sample_weight must have shape ({X.shape[0]},), one weight per row of X; "
                    f"got shape {sample_weight.shape}."
                )
            if not (np.all(sample_weight >= 0) and np.sum(sample_weight) > 0):
                raise ValueError("sample_weight must be non-negative with a positive sum.")
        self.X = X
        self.targets = targets
        self.loss_fn = loss
        self.penalty = penalty
        self.fit_intercept = fit_intercept
        self.sample_weight = sample_weight
        self._max_abs = max_abs
        self._mean_weight = None if sample_weight is None else float(np.mean(sample_weight))
        self.n_samples, self.n_features = X.shape
        self.n_outputs = 1 if targets.ndim == 1 else targets.shape[1]
        self.n_weights = self.n_features * self.n_outputs
        self.n_params = self.n_weights + (self.n_outputs if fit_intercept else 0)

    def split(self, theta: Array) -> tuple[Array, Array | float]:
        """``(W, b)`` as views into ``theta``; ``W`` is 1-D for a single output."""
        weights = theta[: self.n_weights]
        if self.targets.ndim > 1:
            weights = weights.reshape(self.n_features, self.n_outputs)
        if not self.fit_intercept:
            return weights, 0.0
        intercept = theta[self.n_weights :]
        return weights, (intercept[0] if self.targets.ndim == 1 else intercept)

    def pack(self, weights: Array, intercept: Array | float) -> Array:
        """The flat ``theta`` for given ``W`` and ``b``."""
        parts = [np.ravel(weights)]
        if self.fit_intercept:
            parts.append(np.ravel(np.asarray(intercept, dtype=self.X.dtype)))
        return np.concatenate(parts).astype(self.X.dtype, copy=False)

    def raw_output(self, theta: Array, rows: Rows = None) -> Array:
        """``z = X[rows] @ W + b``."""
        weights, intercept = self.split(theta)
        X = self.X if rows is None else self.X[rows]
        return X @ weights + intercept

    def _batch(self, rows: Rows) -> tuple[Array, Array, Array | None, float]:
        """``(X, y, weight, factor)``: the batch's weighted mean loss times ``factor`` is its
        share ``sum_B w_i loss_i / (|B| mean(w))`` of the objective."""
        if rows is None:
            return self.X, self.targets, self.sample_weight, 1.0
        X, y = self.X[rows], self.targets[rows]
        if self.sample_weight is None or self._mean_weight is None:
            return X, y, None, 1.0
        weight = self.sample_weight[rows]
        total = float(np.sum(weight))
        if total == 0.0 or weight.shape[0] == 0:
            return X, y, None, 0.0
        return X, y, weight, total / (weight.shape[0] * self._mean_weight)

    def loss(self, theta: Array, rows: Rows = None) -> float:
        """The penalised mean loss over ``rows``."""
        X, y, weight, factor = self._batch(rows)
        weights, intercept = self.split(theta)
        value = 0.0
        if factor:
            value = factor * self.loss_fn.value(y, X @ weights + intercept, weight)
        return value + self.penalty.value(weights)

    def loss_without_blas(self, theta: Array) -> float:
        """The penalised mean loss over all rows, with ``X @ W`` summed without BLAS
        (:func:`gdlab.backends.scan.row_dot`).

        The same value as :meth:`loss` to rounding, for one-off checks beside the compiled epochs:
        a multi-threaded BLAS call leaves OpenBLAS's worker threads spinning for about 100 ms,
        which would take a core from the compiled epochs' two threads.
        """
        if issparse(self.X):
            return self.loss(theta)
        from gdlab.backends.scan import row_dot

        weights, intercept = self.split(theta)
        raw = row_dot(self.X, weights) + intercept
        value = self.loss_fn.value(self.targets, raw, self.sample_weight)
        return value + self.penalty.value(weights)

    def loss_without_features(self, theta: Array) -> float | None:
        """The penalised mean loss at ``theta`` when all its weights are zero: every prediction
        is the intercept, so the targets alone give it (no read of ``X``); ``None`` when a
        weight is not zero.

        The engine takes it as the loss at the start of a fresh run (the estimators start from
        zero weights), which a mini-batch epoch's mean loss is not.

        Examples
        --------
        >>> import numpy as np
        >>> from gdlab import losses
        >>> objective = LinearObjective(np.ones((3, 2)), np.array([1.0, 2.0, 6.0]),
        ...                             losses.squared_error, losses.get_penalty(None))
        >>> objective.loss_without_features(np.array([0.0, 0.0, 3.0]))   # mean((y - 3)^2)
        4.666666666666667
        >>> objective.loss_without_features(np.array([1.0, 0.0, 3.0])) is None
        True
        """
        weights, intercept = self.split(theta)
        if np.any(weights):
            return None
        constant = np.asarray(intercept, dtype=theta.dtype)
        n, weight = self.targets.shape[0], self.sample_weight
        total = 0.0  # in chunks: no temporary of n values (its fresh pages cost more than the sums)
        with np.errstate(over="ignore", invalid="ignore"):  # an infinite loss is an answer here
            for start in range(0, n, _CHUNK_ROWS):
                targets = self.targets[start : start + _CHUNK_ROWS]
                constants = np.broadcast_to(constant, targets.shape)
                per_sample = self.loss_fn.per_sample(targets, constants)
                if per_sample.ndim > 1:
                    per_sample = per_sample.sum(axis=1)
                part = weight[start : start + _CHUNK_ROWS] if weight is not None else None
                total += float(np.sum(per_sample) if part is None else np.dot(part, per_sample))
            mean = total / (n if weight is None else float(np.sum(weight)))
        return mean + float(self.penalty.value(weights))

    def _bound_inputs(self) -> tuple[Array, Array, Array] | None:
        """``(X as given, mean, scale)`` for :meth:`loss_upper_bound`: here ``X`` itself with mean 0
        and scale 1 (standardizing it is then exact), or ``None`` for a sparse ``X``."""
        if issparse(self.X):
            return None
        d, dtype = self.X.shape[1], self.X.dtype
        return self.X, np.zeros(d, dtype=dtype), np.ones(d, dtype=dtype)

    def loss_upper_bound(self, theta: Array) -> float | None:
        """An upper bound of :meth:`loss_without_blas` from one read of ``X`` that stores no
        prediction (:func:`~gdlab._final_loss_bound.squared_error_upper_bound`), or ``None``:
        a loss other than squared error, several outputs, a sparse ``X``, or no ``max_abs``
        (each column's largest ``|x|``, given by the estimators from their check of ``X``).

        The engine's final check uses it for the divergence verdict, which is monotone in the
        final loss (:func:`gdlab._final_check.final_loss`): where the bound clears a run, the exact
        loss would too.
        """
        inputs = self._bound_inputs()
        if inputs is None or self._max_abs is None or type(self.loss_fn) is not SquaredError:
            return None
        weights, intercept = self.split(theta)
        upper = squared_error_upper_bound(
            *inputs, self._max_abs, self.targets, self.sample_weight, weights, intercept
        )
        if upper is None:
            return None
        return (upper + self.penalty.value(weights)) * (1 + 2.0**-50)  # the sum's rounding

    def loss_and_grad(self, theta: Array, rows: Rows = None) -> tuple[float, Array]:
        """The penalised mean loss over ``rows`` and its gradient with respect to ``theta``."""
        X, y, weight, factor = self._batch(rows)
        weights, intercept = self.split(theta)
        z = X @ weights + intercept
        if factor:
            value, dz = self.loss_fn.value_and_gradient(y, z, weight)
            if factor != 1.0:
                value, dz = factor * value, factor * dz
        else:  # only rows of weight 0
            value, dz = 0.0, np.zeros_like(z)
        grad = np.empty_like(theta)
        grad_weights = X.T @ dz
        if self.penalty.active:
            value += self.penalty.value(weights)
            grad_weights = grad_weights + self.penalty.gradient(weights)
        grad[: self.n_weights] = np.ravel(grad_weights)
        if self.fit_intercept:
            grad[self.n_weights :] = np.sum(dz, axis=0)
        return value, grad

    def lipschitz_constant(self, batch_size: int | None = None) -> float | None:
        """An upper bound ``L`` on the curvature of the loss of one update, or ``None``.

        For squared error and full batches ``L = 2 * lambda_max(A.T A / n)`` with ``A = [X, 1]``:
        plain gradient descent is stable exactly when ``learning_rate < 2 / L``. For mini-batches
        (``batch_size < n``) the bound is the largest per-sample curvature,
        ``curvature * max_i w_i / mean(w) * ||a_i||^2``, which bounds every batch's curvature.
        """
        if not self.loss_fn.curvature:
            return None
        if issparse(self.X):  # the per-sample bound, which also bounds the full batch's
            return self._sparse_lipschitz()
        design = self.X
        if self.fit_intercept:
            design = np.hstack([design, np.ones((self.n_samples, 1), dtype=design.dtype)])
        relative = (
            None if self.sample_weight is None else self.sample_weight / np.mean(self.sample_weight)
        )
        with np.errstate(all="ignore"):
            if batch_size is not None and batch_size < self.n_samples:
                row_norms = np.einsum("ij,ij->i", design, design, dtype=np.float64)
                if relative is not None:
                    row_norms = row_norms * relative
                largest = float(np.max(row_norms))
            else:
                if relative is None:
                    gram = design.T @ design / self.n_samples
                else:
                    gram = design.T @ (design * (relative / self.n_samples)[:, None])
                largest = float(np.linalg.eigvalsh(gram.astype(np.float64))[-1])
        if not np.isfinite(largest):
            return None
        return self.loss_fn.curvature * largest + self.penalty.l2_weight

    def _sparse_lipschitz(self) -> float:
        from gdlab.data.sparse import largest_row_norm

        relative = None
        if self.sample_weight is not None:
            relative = self.sample_weight / np.mean(self.sample_weight)
        largest = largest_row_norm(self.X, self.fit_intercept, relative)
        return self.loss_fn.curvature * largest + self.penalty.l2_weight

    def scale_spread(self) -> float:
        """The ratio of the largest to the smallest non-zero feature standard deviation."""
        with np.errstate(all="ignore"):
            if issparse(self.X):
                from gdlab.data.sparse import column_std

                spread = column_std(self.X)
            else:
                spread = np.std(self.X, axis=0)
        spread = spread[np.isfinite(spread) & (spread > 0)]
        if spread.size < 2:
            return 1.0
        return float(spread.max() / spread.min())


class FunctionObjective:
    """A differentiable function ``f(x)`` seen as an objective with one sample.

    Parameters
    ----------
    fun : callable
        ``fun(x) -> float``.
    jac : callable or None
        ``jac(x) -> array``; ``None`` uses :func:`central_difference_gradient`.
    args : tuple
        Extra positional arguments for ``fun`` and ``jac``.
    """

    n_samples = 1

    def __init__(
        self,
        fun: Callable[..., float],
        jac: Callable[..., Array] | None = None,
        args: tuple[Any, ...] = (),
    ) -> None:
        self.fun = fun
        self.jac = jac
        self.args = args
        # the last point evaluated, its value and gradient: asking again at the same point (the
        # final check, the result's fun and jac) calls neither ``fun`` nor ``jac`` a second time
        self._last: tuple[Array, float, Array | None] | None = None

    def _cached(self, x: Array) -> tuple[float, Array | None] | None:
        if self._last is not None and np.array_equal(self._last[0], x):
            return self._last[1], self._last[2]
        return None

    def loss(self, x: Array, rows: Rows = None) -> float:
        cached = self._cached(x)
        if cached is not None:
            return cached[0]
        value = self._value(x)
        self._last = (np.array(x, copy=True), value, None)
        return value

    def _value(self, x: Array) -> float:
        value = np.asarray(self.fun(x, *self.args))
        if value.size != 1:
            raise ValueError(
                f"fun must return a scalar; it returned an array of shape {value.shape}."
            )
        return float(value.reshape(()))

    def loss_and_grad(self, x: Array, rows: Rows = None) -> tuple[float, Array]:
        cached = self._cached(x)
        if cached is not None and cached[1] is not None:
            return cached[0], cached[1].copy()
        value = self.loss(x)
        if self.jac is None:
            grad = central_difference_gradient(self._value, x)
        else:
            grad = np.asarray(self.jac(x, *self.args), dtype=x.dtype)
            if grad.shape != x.shape:
                raise ValueError(
                    f"jac returned an array of shape {grad.shape}; expected {x.shape}, the shape "
                    "of x0."
                )
        self._last = (np.array(x, copy=True), value, grad.copy())
        return value, grad

    def lipschitz_constant(self, batch_size: int | None = None) -> float | None:
        return None

    def scale_spread(self) -> float:
        return 1.0


def central_difference_gradient(fun: Callable[[Array], float], x: Array) -> Array:
    """The gradient of ``fun`` at ``x`` by central differences.

    ``df/dx_i ~ (f(x + h e_i) - f(x - h e_i)) / (2 h)`` with ``h = eps^(1/3) * max(1, |x_i|)``,
    the step that balances truncation and rounding error (Nocedal and Wright, *Numerical
    Optimization*, 2nd ed., section 8.1).

    Examples
    --------
    >>> import numpy as np
    >>> central_difference_gradient(lambda p: float(p @ p), np.array([1.0, -2.0])).round(6)
    array([ 2., -4.])
    """
    x = np.asarray(x, dtype=float)
    grad = np.empty_like(x)
    steps = np.cbrt(np.finfo(x.dtype).eps) * np.maximum(1.0, np.abs(x))
    flat = x.ravel()
    for i, h in enumerate(steps.ravel()):
        forward = flat.copy()
        backward = flat.copy()
        forward[i] += h
        backward[i] -= h
        grad.ravel()[i] = (fun(forward.reshape(x.shape)) - fun(backward.reshape(x.shape))) / (
            forward[i] - backward[i]
        )
    return grad
