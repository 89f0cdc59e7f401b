"""Training units and the units of the data: feature standardization, target scaling, and the
conversion of parameters, recorded paths and losses between them (a mixin of the estimators).

With ``standardize=True`` an estimator trains on ``(X - mean) / scale`` and, for a regressor, on
``y / s_y`` with ``s_y`` the power of two nearest the standard deviation of ``y``; ``coef_``,
``intercept_``, the recorded parameter path and the losses are reported in the units of ``X`` and
``y``: ``w = w_s * s_y / scale``, ``b = b_s * s_y - mean . w``, ``loss = loss_s * s_y**2``.
"""

from __future__ import annotations

import math
import warnings
from typing import Any

import numpy as np
from numpy.typing import NDArray

from gdlab._guards import mean_and_std
from gdlab._objectives import LinearObjective
from gdlab.data.sparse import column_std, is_sparse, scale_columns
from gdlab.estimators._scaled_objective import standardized_copy
from gdlab.history import History

Array = NDArray[np.floating[Any]]

__all__ = ["SPARSE_SCALING", "Units"]

SPARSE_SCALING = (
    "standardize=True on sparse X scales each feature by its standard deviation without centring "
    "it (as StandardScaler(with_mean=False)): centring would fill the zeros."
)


class Units:
    """The scaling state (``_x_mean``, ``_x_scale``, ``_y_scale``) and the conversions."""

    standardize: bool
    fit_intercept: bool
    _x_mean: Array | None
    _x_scale: Array | None

    _scales_target = False  # GDRegressor: standardize also scales the target

    def _target_scale(self, targets: Array, weight: Array | None) -> float | None:
        """The power of two nearest the target's standard deviation (None: not scaled).

        With ``standardize=True`` a regressor trains on ``y / s_y``, so that its coefficients
        are of order one in training units whatever the units of ``y`` (Adam moves each of them
        by about the learning rate per step). A power of two makes the scaling and the conversion
        of losses (``* s_y**2``) and parameters (``* s_y``) back to the units of ``y`` exact, so
        plain gradient descent follows bit for bit the same path as without it.
        """
        if not (self._scales_target and self.standardize and self._target_scalable()):
            return None
        _, std = mean_and_std(targets.reshape(targets.shape[0], -1), weight)
        return self._target_scale_of_std(std)

    def _target_scale_of_std(self, std: Array) -> float | None:
        """The power of two nearest the root mean square of the targets' standard deviations
        (also from a streamed scan, :mod:`gdlab.estimators._source_prep`); None when not scaled."""
        if not (self._scales_target and self.standardize and self._target_scalable()):
            return None
        spread = float(np.sqrt(np.mean(np.square(std))))
        if not (np.isfinite(spread) and spread > 0):
            return None
        return float(2.0 ** round(math.log2(spread)))

    def _target_scalable(self) -> bool:
        return True

    def _target_scaling(self) -> float:
        scale = getattr(self, "_y_scale", None)
        return 1.0 if scale is None else float(scale)

    def _scale_losses(self, history: History, factor: float) -> None:
        """Multiply every loss in ``history`` by ``factor`` (exact: a power of two)."""
        if factor == 1.0:
            return
        history.loss[:] = [v * factor for v in history.loss]
        history.val_loss[:] = [None if v is None else v * factor for v in history.val_loss]
        history.step_loss[:] = [v * factor for v in history.step_loss]

    def _set_scaling(self, X: Array, weight: Array | None, stats: Any = None) -> None:
        if not self.standardize:
            self._x_mean = None
            self._x_scale = None
            return
        if is_sparse(X):  # scaled, not centred: centring would fill the zeros
            mean, scale = np.zeros(X.shape[1], dtype=X.dtype), column_std(X, weight)
            warnings.warn(SPARSE_SCALING, UserWarning, stacklevel=5)
        elif stats is not None and stats.mean is not None:
            mean, scale = stats.mean, stats.std  # from the one compiled read of _check_x
        else:
            mean, scale = mean_and_std(X, weight)
        if not self.fit_intercept:
            # Without an intercept the features are only scaled, not centred, so that the model
            # stays one without an intercept in the original units.
            mean = np.zeros_like(mean)
        scale[~(scale > 10 * np.finfo(X.dtype).eps * np.maximum(1.0, np.abs(mean)))] = 1.0
        self._x_mean = mean.astype(X.dtype)
        self._x_scale = scale.astype(X.dtype)

    def _scale(self, X: Array) -> Array:
        mean, scale = getattr(self, "_x_mean", None), getattr(self, "_x_scale", None)
        if mean is None or scale is None:
            return X
        if is_sparse(X):
            return scale_columns(X, scale)
        return standardized_copy(X, mean, scale)

    def _initial_params(
        self, objective: LinearObjective, coef_init: Any, intercept_init: Any, dtype: Any
    ) -> Array:
        shape = (
            (objective.n_features,)
            if objective.n_outputs == 1
            else (objective.n_outputs, objective.n_features)
        )
        coef = np.zeros(shape, dtype=dtype)
        if coef_init is not None:
            coef_init = np.asarray(coef_init, dtype=dtype)
            if coef_init.size != coef.size:
                raise ValueError(f"coef_init has {coef_init.size} values; expected shape {shape}.")
            coef = coef_init.reshape(shape)
        intercept = np.zeros(objective.n_outputs, dtype=dtype)
        if intercept_init is not None:
            intercept_init = np.asarray(intercept_init, dtype=dtype).ravel()
            if intercept_init.size != objective.n_outputs:
                raise ValueError(
                    f"intercept_init has {intercept_init.size} values; expected "
                    f"{objective.n_outputs}."
                )
            intercept = intercept_init
        if not np.all(np.isfinite(coef)) or not np.all(np.isfinite(intercept)):
            raise ValueError("coef_init and intercept_init must be finite.")
        y_scale = self._target_scaling()
        coef, intercept = coef / y_scale, intercept / y_scale  # units of y -> training units
        weights = coef.T  # internal layout: (n_features, n_outputs)
        if self._x_scale is not None and self._x_mean is not None:
            # original units -> standardized units: w_s = w * s, b_s = b + mean . w
            intercept = intercept + self._x_mean @ weights
            weights = (weights.T * self._x_scale).T
        return objective.pack(weights, intercept)

    def _original_units(self, objective: LinearObjective, theta: Array) -> tuple[Array, Array]:
        """``(weights, intercept)`` of the training vector ``theta`` in the units of ``X``.

        ``weights`` has shape ``(n_features, n_outputs)``; with standardization
        ``w = w_s / s`` and ``b = b_s - mean . w``.
        """
        weights, intercept = objective.split(theta)
        y_scale = np.asarray(self._target_scaling(), dtype=theta.dtype)
        weights = np.array(weights, copy=True).reshape(objective.n_features, objective.n_outputs)
        intercept = np.array(
            np.broadcast_to(np.atleast_1d(intercept), (objective.n_outputs,)), dtype=theta.dtype
        )
        weights, intercept = weights * y_scale, intercept * y_scale
        if self._x_scale is not None and self._x_mean is not None:
            weights = (weights.T / self._x_scale).T
            intercept = intercept - self._x_mean @ weights
        return weights, intercept

    def _to_original_units(self, objective: LinearObjective, history: History, start: int) -> None:
        """Convert the recorded path from ``start`` on to ``[coef_.ravel(), intercept_]``, and
        every loss (all in training units during a fit) to the units of ``y``."""
        self._scale_losses(history, self._target_scaling() ** 2)
        for index in range(start, len(history.params)):
            history.params[index] = self._path_point(objective, history.params[index])

    def _path_point(self, objective: LinearObjective, theta: Array) -> Array:
        """A recorded training vector ``theta`` as ``[coef_.ravel(), intercept_]`` (units of X)."""
        weights, intercept = self._original_units(objective, theta)
        parts = [weights.T.ravel()]
        if self.fit_intercept:
            parts.append(intercept)
        return np.concatenate(parts)
