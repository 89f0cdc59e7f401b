"""A GD estimator as plain data (JSON-compatible fields plus named arrays) and back, checked.

Used by :mod:`gdlab.io`. Decoding builds nothing from the file but numbers, strings and arrays:
the estimator class comes from the registry (:mod:`gdlab.io._registry`), the optimizer state's
structure from ``optimizer.init(params)`` (the file's recorded structure must match it), and every
value is checked (types, shapes, dtypes, finite numbers, shapes that fit together) before it is
used.
"""

from __future__ import annotations

import math
import numbers
import re
from collections.abc import Mapping
from typing import Any

import numpy as np

from gdlab._averaging import fitted_params
from gdlab.io._plain import ArrayStore, dec_dict, dec_float, dec_int, enc_float, fail
from gdlab.io._registry import known, lookup
from gdlab.io._state import decode_state, encode_state

__all__ = ["decode_model", "encode_model"]

_ATTRIBUTE_NAME = re.compile(r"^[a-z][a-z0-9_]{0,63}_$")


# ---- parameters --------------------------------------------------------------------------------
def _encode_param(owner: str, name: str, value: Any) -> Any:
    from gdlab.optim import GradientTransformation
    from gdlab.schedules import Schedule

    hint = f"Cannot save {owner}: the {name!r} parameter"
    if value is None or isinstance(value, bool | str):
        return value
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        if not math.isfinite(value):
            raise ValueError(f"{hint} is {value!r}, not a finite number.")
        return float(value)
    if isinstance(value, Schedule):
        return {"$schedule": value.to_dict()}
    if isinstance(value, tuple) and all(  # a list keeps the list encoding below
        isinstance(v, numbers.Integral) and not isinstance(v, bool) for v in value
    ):  # hidden_layer_sizes
        return {"$ints": [int(v) for v in value]}
    if isinstance(value, GradientTransformation):
        raise TypeError(
            f"{hint} is a custom optimizer object, which is code: gdlab model files hold only "
            "data. Use a named optimizer (optimizer='adam', optimizer_params={...})."
        )
    if isinstance(value, Mapping) and not all(isinstance(k, str) for k in value):
        # class_weight={0: 1.0, 1: 5.0}: keys that are labels, kept with their type
        return {
            "$items": [
                [_encode_param(owner, f"{name} key", k), _encode_param(owner, f"{name}[{k!r}]", v)]
                for k, v in value.items()
            ]
        }
    if isinstance(value, Mapping):
        return {str(k): _encode_param(owner, f"{name}[{k!r}]", v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_encode_param(owner, f"{name}[{i}]", v) for i, v in enumerate(value)]
    if callable(value):
        raise TypeError(
            f"{hint} is a function, which is code: gdlab model files hold only data. Use a named "
            "schedule or a gdlab.schedules object (for example schedules.cosine_decay(...))."
        )
    raise TypeError(
        f"{hint} is a {type(value).__name__}, which cannot be saved as plain data"
        + (" (use an int seed)." if name == "random_state" else ".")
    )


def _decode_param(name: str, value: Any) -> Any:
    from gdlab import schedules

    if value is None or isinstance(value, bool | int | float | str):
        if isinstance(value, float) and not math.isfinite(value):
            fail(f"parameter {name!r} is not finite")
        return value
    if isinstance(value, dict) and set(value) == {"$ints"}:
        items = value["$ints"]
        if not isinstance(items, list) or not all(
            isinstance(v, int) and not isinstance(v, bool) for v in items
        ):
            fail(f"parameter {name!r} should be a list of integers")
        return tuple(items)
    if isinstance(value, dict) and set(value) == {"$schedule"}:
        data = dec_dict(value["$schedule"], f"parameter {name!r}")
        try:
            return schedules.from_dict(data)
        except (TypeError, ValueError, KeyError, RecursionError) as error:
            fail(f"parameter {name!r} is not a valid schedule ({error})")
    if isinstance(value, dict) and set(value) == {"$items"} and isinstance(value["$items"], list):
        pairs = value["$items"]
        if not all(isinstance(p, list) and len(p) == 2 for p in pairs):
            fail(f"parameter {name!r} should hold [key, value] pairs")
        return {
            _decode_param(f"{name} key", k): _decode_param(f"{name}[{k!r}]", v) for k, v in pairs
        }
    if isinstance(value, dict):
        return {str(k): _decode_param(f"{name}[{k!r}]", v) for k, v in value.items()}
    if isinstance(value, list):
        return [_decode_param(f"{name}[{i}]", v) for i, v in enumerate(value)]
    fail(f"parameter {name!r} has an unsupported value {value!r}")


def _decode_estimator(name: Any, params: Any) -> Any:
    cls = lookup(name) if isinstance(name, str) else None
    if cls is None:
        fail(f"unknown estimator {name!r}; known: {', '.join(sorted(known()))}")
    settings = cls().get_params(deep=False)
    params = dec_dict(params, "the parameters")
    unknown = sorted(set(params) - set(settings))
    if unknown:
        fail(f"unknown parameters for {name}: {unknown}")
    model = cls(**{key: _decode_param(key, value) for key, value in params.items()})
    from gdlab.estimators._builders import check_params

    try:
        if name.startswith("MLP"):
            from gdlab.estimators._settings import check_mlp_params

            check_mlp_params(model)
        else:
            check_params(model, getattr(cls, "_losses", ()))
        if not isinstance(model.random_state, int | type(None)):
            raise ValueError("random_state must be an int or None")
    except (TypeError, ValueError) as error:
        fail(f"invalid parameters: {error}")
    return model


# ---- fitted attributes -------------------------------------------------------------------------
def _encode_labels(array: np.ndarray, name: str) -> tuple[np.ndarray, bool]:
    """Numbers stay as they are; an object array of strings becomes unicode text."""
    if array.dtype != object:
        return array, False
    items = array.tolist()
    flat = np.ravel(np.asarray(array, dtype=object)).tolist()
    if not all(isinstance(item, str) for item in flat):
        kinds = sorted({type(item).__name__ for item in flat})
        raise TypeError(
            f"Cannot save {name}: it holds {', '.join(kinds)} objects; gdlab model files store "
            "numeric or string labels."
        )
    return np.array(items, dtype=str), True


def _encode_attribute(name: str, value: Any, arrays: dict[str, np.ndarray]) -> dict[str, Any]:
    from gdlab.history import History

    if isinstance(value, History):
        data = value.to_dict()
        data.pop("params", None)
        for key, entries in data.items():
            if isinstance(entries, list):
                data[key] = [
                    e if e is None or isinstance(e, int) else enc_float(e) for e in entries
                ]
        path = None
        if value.params:
            path = f"attr.{name}.params"
            arrays[path] = value.param_path()
        return {"kind": "history", "value": data, "params": path}
    if isinstance(value, np.ndarray):
        stored, as_object = _encode_labels(value, name)
        arrays[f"attr.{name}"] = stored
        return {"kind": "array", "array": f"attr.{name}", "object": as_object}
    if isinstance(value, bool | np.bool_):
        return {"kind": "bool", "value": bool(value)}
    if isinstance(value, numbers.Integral):
        return {"kind": "int", "value": int(value)}
    if isinstance(value, numbers.Real):
        return {"kind": "float", "value": enc_float(value)}
    if isinstance(value, str):
        return {"kind": "str", "value": value}
    if isinstance(value, list) and all(isinstance(v, numbers.Real) for v in value):
        return {"kind": "floats", "value": [enc_float(v) for v in value]}
    raise TypeError(f"Cannot save the fitted attribute {name} of type {type(value).__name__}.")


def _decode_history(spec: dict[str, Any], store: ArrayStore, where: str) -> Any:
    from gdlab.history import History

    data = dict(dec_dict(spec.get("value"), where))
    lengths = set()
    for key in ("epoch", "loss", "val_loss", "learning_rate", "grad_norm", "n_updates"):
        if not isinstance(data.get(key), list):
            fail(f"{where}.{key} should be a list")
        lengths.add(len(data[key]))
    if len(lengths) != 1:
        fail(f"{where} has lists of different lengths")
    for key, entries in data.items():
        if not isinstance(entries, list):
            if not isinstance(entries, str):
                fail(f"{where}.{key} should be text")
            continue
        if key in ("epoch", "n_updates", "n_samples_seen"):
            data[key] = [dec_int(v, f"{where}.{key}") for v in entries]
        else:
            optional = key in ("val_loss", "learning_rate")
            data[key] = [
                dec_float(v, f"{where}.{key}", finite=key == "loss", none=optional) for v in entries
            ]
    try:
        history = History.from_dict(data)
    except (KeyError, TypeError, ValueError) as error:
        fail(f"{where} is malformed ({error})")
    if spec.get("params") is not None:
        path = store.get(spec["params"], f"{where}.params")
        if path.ndim != 2:
            fail(f"{where}.params should be a 2-D array")
        history.params = [np.array(row) for row in path]
    return history


def _decode_attribute(name: str, spec: Any, store: ArrayStore) -> Any:
    where = f"attribute {name}"
    spec = dec_dict(spec, where)
    kind = spec.get("kind")
    value = spec.get("value")
    if kind == "history":
        return _decode_history(spec, store, where)
    if kind == "array":
        array = store.get(spec.get("array"), where, kinds="biufU")
        if spec.get("object") is True:
            if array.dtype.kind != "U":
                fail(f"{where} should hold text")
            return np.array(array.tolist(), dtype=object)
        return np.array(array)
    if kind == "bool" and isinstance(value, bool):
        return value
    if kind == "int":
        return dec_int(value, where, low=-(2**63))
    if kind == "float":
        return dec_float(value, where, finite=False)
    if kind == "str" and isinstance(value, str):
        return value
    if kind == "floats" and isinstance(value, list):
        return [dec_float(v, where, finite=False) for v in value]
    fail(f"{where} has an unsupported encoding")


def decode_attributes(model: Any, header: dict[str, Any], store: ArrayStore) -> dict[str, Any]:
    """The fitted attributes saved in ``header`` (names checked), by name."""
    attributes = dec_dict(header.get("attributes"), "the fitted attributes")
    attrs: dict[str, Any] = {}
    for name, spec in attributes.items():
        if not _ATTRIBUTE_NAME.match(name) or hasattr(type(model), name):
            fail(f"{name!r} is not a fitted attribute name")
        attrs[name] = _decode_attribute(name, spec, store)
    return attrs


# ---- the whole model ---------------------------------------------------------------------------
def encode_model(model: Any) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """The JSON-compatible description of ``model`` and its named plain arrays."""
    state = model.state_dict()  # NotFittedError before a fit
    cls = type(model)
    name = cls.__name__
    if lookup(name) is not cls:
        raise TypeError(f"gdlab can save {' and '.join(sorted(known()))} models; got {name}.")
    params = {
        key: _encode_param(name, key, value) for key, value in model.get_params(deep=False).items()
    }
    body: dict[str, Any] = {"estimator": name, "params": params, "fitted": True}
    arrays: dict[str, np.ndarray] = {}
    if name.startswith("MLP"):
        from gdlab.io._mlp import encode_mlp

        encode_mlp(state, body, arrays, _encode_attribute)
        return body, arrays
    public = state["attributes"]
    body["attributes"] = {
        key: _encode_attribute(key, value, arrays) for key, value in sorted(public.items())
    }
    scaling: dict[str, str | float | None] = {}
    for key in ("x_mean", "x_scale"):
        value = state["scaling"][key]
        if value is not None:
            arrays[f"scaling_{key}"] = np.asarray(value)
        scaling[key] = None if value is None else f"scaling_{key}"
    y_scale = state["scaling"]["y_scale"]  # the target's scale: a power of two, or None
    scaling["y_scale"] = None if y_scale is None else float(y_scale)
    body["scaling"] = scaling
    body["seed"] = int(state["seed"])
    body["state"] = encode_state(state["train_state"], arrays)
    return body, arrays


def decode_model(header: dict[str, Any], arrays: dict[str, np.ndarray]) -> Any:
    """Rebuild the estimator described by a checked header and its arrays."""
    model = _decode_estimator(header.get("estimator"), header.get("params"))
    store = ArrayStore(arrays)
    fitted = header.get("fitted")
    if fitted is False:
        if arrays:
            fail("an unfitted model file should hold no arrays")
        return model
    if fitted is not True:
        fail("the header does not say whether the model is fitted")
    if type(model).__name__.startswith("MLP"):
        from gdlab.io._mlp import decode_mlp

        decode_mlp(model, header, store, decode_attributes)
        unused = sorted(set(arrays) - store.used)
        if unused:
            fail(f"the archive holds arrays the header does not use: {unused}")
        return model
    attrs = decode_attributes(model, header, store)
    saved = dec_dict(header.get("scaling"), "the scaling")
    scaling: dict[str, Any] = {}
    for key in ("x_mean", "x_scale"):
        ref = saved.get(key)
        scaling[key] = None if ref is None else np.array(store.get(ref, key))
    y_scale = saved.get("y_scale")  # absent in files written before target scaling: None
    if y_scale is not None:
        y_scale = float(y_scale) if isinstance(y_scale, int | float) else math.nan
        if not (math.isfinite(y_scale) and y_scale > 0 and math.frexp(y_scale)[0] == 0.5):
            fail("the target scale y_scale should be a positive power of two")
    scaling["y_scale"] = y_scale
    seed = dec_int(header.get("seed"), "the seed")
    shape = _check_fitted(model, attrs, scaling)
    state = decode_state(header.get("state"), model, store, shape)
    _check_state(model, attrs, scaling, state)
    model.load_state_dict(
        {"attributes": attrs, "scaling": scaling, "seed": seed, "train_state": state}
    )
    unused = sorted(set(arrays) - store.used)
    if unused:
        fail(f"the archive holds arrays the header does not use: {unused}")
    return model


def _check_fitted(model: Any, attrs: dict[str, Any], scaling: dict[str, Any]) -> tuple[int, ...]:
    """Check that the fitted attributes fit together; return the training parameters' shape."""
    for name in ("coef_", "intercept_", "n_features_in_", "n_iter_", "t_", "history_"):
        if name not in attrs:
            fail(f"the fitted attribute {name} is missing")
    n_features = attrs["n_features_in_"]
    if isinstance(n_features, bool) or not isinstance(n_features, int) or n_features < 1:
        fail("n_features_in_ should be a positive integer")
    for name in ("n_iter_", "t_"):
        if isinstance(attrs[name], bool) or not attrs[name] >= 0:
            fail(f"{name} should be a non-negative integer")
    horizon = attrs.get("schedule_horizon_", 1)  # absent in files of earlier versions
    if isinstance(horizon, bool) or not isinstance(horizon, int) or horizon < 1:
        fail("schedule_horizon_ should be a positive integer (epochs)")
    curve = attrs.get("loss_curve_", [])
    if not isinstance(curve, list) or not all(math.isfinite(v) for v in curve):
        fail("loss_curve_ should be a list of finite numbers")
    if "classes_" in attrs:
        classes = attrs["classes_"]
        if classes.ndim != 1 or classes.size < 2:
            fail("classes_ should list at least two classes")
        if not np.array_equal(np.unique(classes), classes):
            fail("classes_ should be sorted and unique")
        n_outputs = 1 if classes.size == 2 else classes.size
        coef_shape: tuple[int, ...] = (n_outputs, n_features)
    elif type(model).__name__ == "GDClassifier":
        fail("the classifier has no classes_")
    elif np.ndim(attrs["coef_"]) == 2:  # a multi-output regressor: (n_targets, n_features)
        n_outputs = int(np.shape(attrs["coef_"])[0])
        coef_shape = (n_outputs, n_features)
        if n_outputs < 1:
            fail("coef_ should have at least one target row")
    else:
        n_outputs, coef_shape = 1, (n_features,)
    coef, intercept = attrs["coef_"], attrs["intercept_"]
    for name, array, shape in (
        ("coef_", coef, coef_shape),
        ("intercept_", intercept, (n_outputs,)),
    ):
        if not isinstance(array, np.ndarray) or array.dtype.kind != "f" or array.shape != shape:
            fail(f"{name} should be a float array of shape {shape}")
        if not np.all(np.isfinite(array)):
            fail(f"{name} contains NaN or infinite values")
    names = attrs.get("feature_names_in_")
    if names is not None and (np.shape(names) != (n_features,) or names.dtype != object):
        fail(f"feature_names_in_ should name {n_features} features")
    for key in ("x_mean", "x_scale"):
        value = scaling[key]
        if value is not None and (value.shape != (n_features,) or value.dtype != coef.dtype):
            fail(f"the scaling {key} should be a {coef.dtype} array of shape ({n_features},)")
    if (scaling["x_mean"] is None) != (scaling["x_scale"] is None):
        fail("the scaling needs both a mean and a scale")
    if scaling["x_scale"] is not None and not np.all(scaling["x_scale"] > 0):
        fail("the scaling's scale should be positive")
    n_params = n_outputs * n_features + (n_outputs if model.fit_intercept else 0)
    return (n_params,)


def _check_state(
    model: Any, attrs: dict[str, Any], scaling: dict[str, Any], state: dict[str, Any]
) -> None:
    """The training state must agree with the fitted attributes it produced."""
    coef_ = attrs["coef_"]
    if state["params"].dtype != coef_.dtype:
        fail("the training parameters and coef_ have different dtypes")
    if attrs["t_"] != state["step"]:
        fail(f"t_={attrs['t_']} does not match the training state's step {state['step']}")
    n_features = attrs["n_features_in_"]
    n_weights = coef_.size
    params = fitted_params(
        state["params"], state["opt_state"]
    )  # the averaged ones with average=...
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
        fail("coef_ and intercept_ do not match the saved training parameters: altered file")
