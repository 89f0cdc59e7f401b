"""Plain data (an estimator's ``state_dict()``) as JSON plus named arrays, and back, checked.

Plain data is dicts with string keys, lists, ``str``/``int``/``float``/``bool``/``None`` and
NumPy arrays, recursively. In the JSON, dicts, lists, text, booleans, ``null`` and finite numbers
are themselves; the rest is a small object whose one key starts with ``$``:

* an array is ``{"$array": name}``: it is stored as the archive member ``name`` (its path in the
  tree, ``attributes.coef_``); an array of strings held as Python objects (``classes_`` of text
  labels, ``feature_names_in_``) is stored as unicode text, ``{"$array": name, "$object": true}``;
* a float that JSON cannot hold is ``{"$float": "inf"}`` (``"-inf"``, ``"nan"``).

Nothing here knows what the tree means: the estimator's ``load_state_dict`` checks and rebuilds
it, so a new plain entry in a state needs no change here.
"""

from __future__ import annotations

import math
import re
from typing import Any

import numpy as np

from gdlab.io._plain import ArrayStore, fail

__all__ = ["decode_plain", "encode_plain"]

_MEMBER = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.\-]{0,199}$")
_NON_FINITE = ("inf", "-inf", "nan")


def encode_plain(value: Any, arrays: dict[str, np.ndarray], path: str = "") -> Any:
    """The JSON form of the plain ``value``; its arrays are added to ``arrays`` by name.

    Examples
    --------
    >>> import numpy as np
    >>> arrays = {}
    >>> spec = encode_plain({"w": np.zeros(2), "best": float("inf"), "n": [1, 2]}, arrays)
    >>> spec, sorted(arrays)
    ({'w': {'$array': 'w'}, 'best': {'$float': 'inf'}, 'n': [1, 2]}, ['w'])
    >>> decode_plain(spec, ArrayStore(arrays))["best"]
    inf
    """
    if value is None or isinstance(value, bool | str):
        return value
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return float(value) if math.isfinite(value) else {"$float": repr(float(value))}
    if isinstance(value, np.ndarray):
        name = path if _MEMBER.match(path) and path not in arrays else f"array.{len(arrays)}"
        stored, as_object = _encode_labels(value, path)
        arrays[name] = stored
        return {"$array": name, "$object": True} if as_object else {"$array": name}
    if isinstance(value, list):
        return [encode_plain(item, arrays, f"{path}.{index}") for index, item in enumerate(value)]
    if isinstance(value, dict):
        for key in value:
            if not isinstance(key, str) or key.startswith("$"):
                raise TypeError(
                    f"Cannot save the key {key!r} at {path or 'the top'}: the keys of plain data "
                    "are text that does not start with '$'."
                )
        return {
            key: encode_plain(item, arrays, f"{path}.{key}" if path else key)
            for key, item in value.items()
        }
    raise TypeError(
        f"Cannot save {path or 'the state'}: a {type(value).__name__} is not plain data (dicts, "
        "lists, text, numbers, booleans, None and NumPy arrays)."
    )


def decode_plain(spec: Any, store: ArrayStore, where: str = "the state") -> Any:
    """The plain data whose JSON form is ``spec``, its arrays taken (once each) from ``store``."""
    if spec is None or isinstance(spec, bool | int | float | str):
        return spec
    if isinstance(spec, list):
        return [decode_plain(item, store, f"{where}[{index}]") for index, item in enumerate(spec)]
    if not isinstance(spec, dict):
        fail(f"{where} has an unsupported value {spec!r}")
    tags = sorted(key for key in spec if key.startswith("$"))
    if not tags:
        return {key: decode_plain(item, store, f"{where}.{key}") for key, item in spec.items()}
    if tags == ["$float"] and len(spec) == 1 and spec["$float"] in _NON_FINITE:
        return float(spec["$float"])
    if tags in (["$array"], ["$array", "$object"]) and len(spec) == len(tags):
        array = store.get(spec["$array"], where, kinds="biufU")
        if "$object" not in spec:
            return array
        if spec["$object"] is not True or array.dtype.kind != "U":
            fail(f"{where} should hold text")
        return np.array(array.tolist(), dtype=object)
    fail(f"{where} has an unsupported encoding {spec!r}")


def _encode_labels(array: np.ndarray, name: str) -> tuple[np.ndarray, bool]:
    """Numbers stay as they are; an object array of strings becomes unicode text."""
    if array.dtype != object:
        return array, False
    flat = np.ravel(array).tolist()
    if not all(isinstance(item, str) for item in flat):
        kinds = sorted({type(item).__name__ for item in flat})
        raise TypeError(
            f"Cannot save {name}: it holds {', '.join(kinds)} objects; gdlab model files store "
            "numeric or string labels."
        )
    return np.array(array.tolist(), dtype=str), True
