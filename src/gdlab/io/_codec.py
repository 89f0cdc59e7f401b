"""An estimator as plain data (JSON-compatible fields plus named arrays) and back, checked.

Used by :mod:`gdlab.io`. A file holds the estimator's class name, its settings and its fitted
state, the plain tree of ``state_dict()`` (:mod:`gdlab.io._tree`). Decoding builds nothing from the
file but numbers, strings and arrays: the estimator class comes from the registry
(:mod:`gdlab.io._registry`), the settings are checked here, and the estimator's
``load_state_dict`` checks the state (structure, shapes, finite numbers, the optimizer state
against ``init_optimizer_state``) before it is used; its ``ValueError`` becomes a
:class:`~gdlab.exceptions.ModelFileError`.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping
from typing import Any

import numpy as np

from gdlab.io._format1 import plain_state
from gdlab.io._plain import ArrayStore, dec_dict, fail
from gdlab.io._registry import known, lookup
from gdlab.io._tree import decode_plain, encode_plain

__all__ = ["decode_model", "encode_model"]


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
    try:
        validate = getattr(model, "validate_params", None)  # the estimators' own check
        if validate is not None:
            validate()
        if not isinstance(model.random_state, int | type(None)):
            raise ValueError("random_state must be an int or None")
    except (TypeError, ValueError) as error:
        fail(f"invalid parameters: {error}")
    return model


# ---- the whole model ---------------------------------------------------------------------------
def encode_model(model: Any) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """The JSON-compatible description of ``model`` and its named plain arrays: the settings
    (``get_params()``) and the fitted state (``state_dict()``, plain data) as a tree."""
    state = model.state_dict()  # NotFittedError before a fit
    cls = type(model)
    name = cls.__name__
    if lookup(name) is not cls:
        raise TypeError(f"gdlab can save {' and '.join(sorted(known()))} models; got {name}.")
    params = {
        key: _encode_param(name, key, value) for key, value in model.get_params(deep=False).items()
    }
    arrays: dict[str, np.ndarray] = {}
    body = {"estimator": name, "params": params, "fitted": True}
    body["state"] = encode_plain(state, arrays)
    return body, arrays


def decode_model(header: dict[str, Any], arrays: dict[str, np.ndarray]) -> Any:
    """Rebuild the estimator described by a checked header and its arrays.

    The settings build the estimator; its ``load_state_dict`` checks and takes the fitted state
    (a format-1 file's is first read into the same plain form, :mod:`gdlab.io._format1`).
    """
    model = _decode_estimator(header.get("estimator"), header.get("params"))
    store = ArrayStore(arrays)
    fitted = header.get("fitted")
    if fitted is False:
        if arrays:
            fail("an unfitted model file should hold no arrays")
        return model
    if fitted is not True:
        fail("the header does not say whether the model is fitted")
    if header.get("format_version") == 1:
        state = plain_state(model, header, store)
    else:
        state = decode_plain(header.get("state"), store)
    try:
        model.load_state_dict(state)
    except (TypeError, ValueError) as error:
        fail(str(error))
    unused = sorted(set(arrays) - store.used)
    if unused:
        fail(f"the archive holds arrays the header does not use: {unused}")
    return model
