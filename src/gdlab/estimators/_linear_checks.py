"""Checks of a linear estimator's state before :meth:`GDState.load_state_dict` takes it: the
fitted attributes fit together, the scaling fits them, and ``coef_``/``intercept_`` are those of
the training parameters (a file whose coefficients were edited is refused). Each failure is a
``ValueError`` naming the entry."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from gdlab._averaging import fitted_params

__all__ = ["check_linear_attributes", "check_linear_state", "linear_scaling"]


def linear_scaling(data: Any) -> dict[str, Any]:
    """The ``scaling`` entry of a linear estimator's state, checked (shapes are checked later)."""
    if not isinstance(data, dict) or set(data) != {"x_mean", "x_scale", "y_scale"}:
        raise ValueError("the scaling should be a dict of x_mean, x_scale and y_scale")
    for key in ("x_mean", "x_scale"):
        if data[key] is not None and not isinstance(data[key], np.ndarray):
            raise ValueError(f"the scaling {key} should be an array or None")
    y_scale = data["y_scale"]
    if y_scale is not None:
        valid = isinstance(y_scale, int | float) and not isinstance(y_scale, bool)
        y_scale = float(y_scale) if valid else math.nan
        if not (math.isfinite(y_scale) and y_scale > 0 and math.frexp(y_scale)[0] == 0.5):
            raise ValueError("the target scale y_scale should be a positive power of two")
    return {"x_mean": data["x_mean"], "x_scale": data["x_scale"], "y_scale": y_scale}


def check_linear_attributes(
    model: Any, attrs: dict[str, Any], scaling: dict[str, Any]
) -> tuple[int, ...]:
    """Check that the fitted attributes fit together; return the training parameters' shape."""
    for name in ("coef_", "intercept_", "n_features_in_", "n_iter_", "t_", "history_"):
        if name not in attrs:
            raise ValueError(f"the fitted attribute {name} is missing")
    n_features = attrs["n_features_in_"]
    if isinstance(n_features, bool) or not isinstance(n_features, int) or n_features < 1:
        raise ValueError("n_features_in_ should be a positive integer")
    horizon = attrs.get("schedule_horizon_", 1)  # absent in files of earlier versions
    if isinstance(horizon, bool) or not isinstance(horizon, int) or horizon < 1:
        raise ValueError("schedule_horizon_ should be a positive integer (epochs)")
    n_outputs, coef_shape = _outputs(model, attrs, n_features)
    coef, intercept = attrs["coef_"], attrs["intercept_"]
    for name, array, shape in (
        ("coef_", coef, coef_shape),
        ("intercept_", intercept, (n_outputs,)),
    ):
        if not isinstance(array, np.ndarray) or array.dtype.kind != "f" or array.shape != shape:
            raise ValueError(f"{name} should be a float array of shape {shape}")
        if not np.all(np.isfinite(array)):
            raise ValueError(f"{name} contains NaN or infinite values")
    names = attrs.get("feature_names_in_")
    if names is not None and (
        not isinstance(names, np.ndarray) or names.shape != (n_features,) or names.dtype != object
    ):
        raise ValueError(f"feature_names_in_ should name {n_features} features")
    for key in ("x_mean", "x_scale"):
        value = scaling[key]
        if value is not None and (value.shape != (n_features,) or value.dtype != coef.dtype):
            raise ValueError(
                f"the scaling {key} should be a {coef.dtype} array of shape ({n_features},)"
            )
    if (scaling["x_mean"] is None) != (scaling["x_scale"] is None):
        raise ValueError("the scaling needs both a mean and a scale")
    if scaling["x_scale"] is not None and not np.all(scaling["x_scale"] > 0):
        raise ValueError("the scaling's scale should be positive")
    n_params = n_outputs * n_features + (n_outputs if model.fit_intercept else 0)
    return (n_params,)


def _outputs(model: Any, attrs: dict[str, Any], n_features: int) -> tuple[int, tuple[int, ...]]:
    """The number of outputs and the shape ``coef_`` must have."""
    if "classes_" in attrs:
        classes = attrs["classes_"]
        if not isinstance(classes, np.ndarray) or classes.ndim != 1 or classes.size < 2:
            raise ValueError("classes_ should list at least two classes")
        if not np.array_equal(np.unique(classes), classes):
            raise ValueError("classes_ should be sorted and unique")
        n_outputs = 1 if classes.size == 2 else classes.size
        return n_outputs, (n_outputs, n_features)
    if type(model).__name__ == "GDClassifier":
        raise ValueError("the classifier has no classes_")
    if np.ndim(attrs["coef_"]) == 2:  # a multi-output regressor: (n_targets, n_features)
        n_outputs = int(np.shape(attrs["coef_"])[0])
        if n_outputs < 1:
            raise ValueError("coef_ should have at least one target row")
        return n_outputs, (n_outputs, n_features)
    return 1, (n_features,)


def check_linear_state(
    model: Any, attrs: dict[str, Any], scaling: dict[str, Any], state: Any
) -> None:
    """The training state must agree with the fitted attributes it produced."""
    coef_ = attrs["coef_"]
    if state.params.dtype != coef_.dtype:
        raise ValueError("the training parameters and coef_ have different dtypes")
    if attrs["t_"] != state.step:
        raise ValueError(f"t_={attrs['t_']} does not match the training state's step {state.step}")
    n_features = attrs["n_features_in_"]
    n_weights = coef_.size
    params = fitted_params(state.params, state.opt_state)  # the averaged ones with average=...
    weights = params[:n_weights].reshape(n_features, -1)
    intercept = params[n_weights:] if model.fit_intercept else np.zeros(weights.shape[1])
    with np.errstate(all="ignore"):
        y_scale = scaling["y_scale"]
        if y_scale is not None:
            weights, intercept = weights * y_scale, intercept * y_scale
        if scaling["x_scale"] is not None:
            weights = (weights.T / scaling["x_scale"]).T
            intercept = intercept - scaling["x_mean"] @ weights
        coef = weights.T.reshape(coef_.shape)
        expected = np.concatenate([coef.ravel(), np.ravel(intercept)])
    actual = np.concatenate([coef_.ravel(), attrs["intercept_"].ravel()])
    scale = max(1.0, float(np.max(np.abs(actual))) if actual.size else 1.0)
    if not np.allclose(expected, actual, rtol=1e-5, atol=1e-6 * scale):
        raise ValueError(
            "coef_ and intercept_ do not match the saved training parameters: altered file"
        )
