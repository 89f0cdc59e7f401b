"""The reader of file format 1 (gdlab up to issue 9's plain ``state_dict``): it turns such a file
into the plain state that format 2 stores directly, for the estimator's ``load_state_dict``.

Format 1 spelled each part of the state its own way: fitted attributes as ``{"kind", "value"}``
(the history as ``"kind": "history"`` with its parameter path in an array), the optimizer state as
a tree of ``{"namedtuple", "fields", "items"}``/``{"tuple"}`` nodes with tagged leaves, non-finite
floats as the strings ``"inf"``/``"nan"``, a network's layers as ``attr.coefs_.<i>`` arrays and its
per-layer history and batch-norm statistics beside the attributes; files written before the
plateau rule was a block of the optimizer keep its state as ``"plateau_state"`` beside an optimizer
state without the block (grafted back here where the model's own optimizer state has it).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from gdlab.io._plain import ArrayStore, dec_dict, dec_float, dec_int, fail

__all__ = ["plain_state"]

_NON_FINITE = ("inf", "-inf", "nan")


def plain_state(model: Any, header: dict[str, Any], store: ArrayStore) -> dict[str, Any]:
    """The ``state_dict()`` that a format-1 ``header`` (and its arrays) describes."""
    attributes = dec_dict(header.get("attributes"), "the fitted attributes")
    network = type(model).__name__.startswith("MLP")
    attrs = {
        name: _attribute(name, spec, store)
        for name, spec in attributes.items()
        if not (network and name in ("coefs_", "intercepts_"))
    }
    state: dict[str, Any] = {"attributes": attrs, "seed": header.get("seed")}
    state["train_state"] = _train_state(model, header.get("state"), store)
    if not network:
        saved = dec_dict(header.get("scaling"), "the scaling")
        state["scaling"] = {
            key: None if saved.get(key) is None else store.get(saved[key], key)
            for key in ("x_mean", "x_scale")
        }
        state["scaling"]["y_scale"] = saved.get("y_scale")  # absent before target scaling
        return state
    for name in ("coefs_", "intercepts_"):
        attrs[name] = _numbered(store, f"attr.{name}", name)
    if isinstance(attrs.get("history_"), dict):
        layers = dec_dict(header.get("layers"), "the per-layer history")
        attrs["history_"]["layers"] = {key: _floats(rows) for key, rows in layers.items()}
    scaled = header.get("scaling")
    if not isinstance(scaled, bool):
        fail("the scaling flag should be true or false")
    state["scaling"] = {
        key: store.get(f"scaling_{key}", key) if scaled else None for key in ("x_mean", "x_scale")
    }
    state["draws"] = header.get("draws")
    state["batch_norm"] = {
        name: _numbered(store, f"bn.{name}", f"the running {name}") for name in ("mean", "var")
    }
    return state


def _numbered(store: ArrayStore, prefix: str, where: str) -> list[np.ndarray]:
    """The arrays ``prefix.0``, ``prefix.1``... that the archive holds."""
    arrays: list[np.ndarray] = []
    while f"{prefix}.{len(arrays)}" in store.arrays:
        arrays.append(store.get(f"{prefix}.{len(arrays)}", f"{where}[{len(arrays)}]"))
    return arrays


def _floats(value: Any) -> Any:
    """``value`` with the strings that stood for non-finite floats turned back into floats."""
    if isinstance(value, list):
        return [_floats(item) for item in value]
    return float(value) if isinstance(value, str) and value in _NON_FINITE else value


def _attribute(name: str, spec: Any, store: ArrayStore) -> Any:
    where = f"attribute {name}"
    spec = dec_dict(spec, where)
    kind, value = spec.get("kind"), spec.get("value")
    if kind == "history":
        data = {key: _floats(entries) for key, entries in dec_dict(value, where).items()}
        if spec.get("params") is not None:
            data["params"] = store.get(spec["params"], f"{where}.params")
        return data
    if kind == "array":
        array = store.get(spec.get("array"), where, kinds="biufU")
        if spec.get("object") is True:
            if array.dtype.kind != "U":
                fail(f"{where} should hold text")
            return np.array(array.tolist(), dtype=object)
        return array
    if kind == "float":
        return dec_float(value, where, finite=False)
    if kind == "floats" and isinstance(value, list):
        return [dec_float(v, where, finite=False) for v in value]
    if kind in ("bool", "int", "str"):
        return value  # checked by load_state_dict
    fail(f"{where} has an unsupported encoding")


def _train_state(model: Any, data: Any, store: ArrayStore) -> dict[str, Any]:
    data = dec_dict(data, "the training state")
    state = {
        name: _floats(value)
        for name, value in data.items()
        if name not in ("opt_state", "plateau_state", "best_params")
    }
    state["params"] = store.get("state.params", "the training parameters")
    opt_state = _tree(data.get("opt_state"), store, "the optimizer state")
    if "plateau_state" in data:
        opt_state = _graft_plateau(model, state["params"], opt_state, data["plateau_state"])
    state["opt_state"] = opt_state
    best = data.get("best_params")
    state["best_params"] = None if best is None else store.get(best, "the best parameters")
    return state


def _tree(spec: Any, store: ArrayStore, where: str) -> Any:
    """A format-1 optimizer-state node as the plain form of :mod:`gdlab.optim._plain_state`."""
    spec = dec_dict(spec, where)
    if "namedtuple" in spec:
        names, items = spec.get("fields"), spec.get("items")
        if not isinstance(names, list) or not isinstance(items, list) or len(names) != len(items):
            fail(f"{where} does not have the structure of this optimizer's state")
        children = {
            str(key): _tree(item, store, f"{where}.{key}")
            for key, item in zip(names, items, strict=True)
        }
        return {"namedtuple": spec["namedtuple"], "fields": children}
    if "tuple" in spec and isinstance(spec["tuple"], list):
        return [_tree(item, store, f"{where}.{i}") for i, item in enumerate(spec["tuple"])]
    if "array" in spec:
        array = store.get(spec.get("array"), where, kinds="biuf")
        if (array.shape == ()) != (spec.get("scalar") is True):
            fail(f"{where} does not have the structure of this optimizer's state")
        return array
    if len(spec) == 1 and "int" in spec:
        return dec_int(spec["int"], where, low=-(2**63))
    if len(spec) == 1 and "float" in spec:
        return dec_float(spec["float"], where, finite=False)
    if len(spec) == 1 and isinstance(spec.get("bool"), bool):
        return spec["bool"]
    if spec == {"none": True}:
        return None
    fail(f"{where} does not have the structure of this optimizer's state")


def _graft_plateau(model: Any, params: np.ndarray, saved: Any, plateau: Any) -> Any:
    """The saved optimizer state with the plateau block's state put back where the model's own
    optimizer state (``init_optimizer_state``) has it: the saved ``[scale, best_loss,
    bad_epochs]``, or the block's initial state if none was saved."""
    from gdlab.optim._plain_state import to_plain

    if plateau is not None:
        if not isinstance(plateau, list) or len(plateau) != 3:
            fail("the plateau state should be [scale, best_loss, bad_epochs]")
        plateau = {
            "namedtuple": "PlateauState",
            "fields": {
                "scale": dec_float(plateau[0], "the plateau scale"),
                "best_loss": dec_float(plateau[1], "the plateau best loss", finite=False),
                "bad_epochs": dec_int(plateau[2], "the plateau bad epochs"),
            },
        }
    try:
        template = to_plain(model.init_optimizer_state(params))
    except (TypeError, ValueError) as error:
        fail(f"the optimizer settings are invalid ({error})")

    def is_block(node: Any) -> bool:  # [optimizer state, plateau state] of with_plateau
        return (
            isinstance(node, list)
            and len(node) == 2
            and isinstance(node[1], dict)
            and node[1].get("namedtuple") == "PlateauState"
        )

    def graft(mold: Any, node: Any) -> Any:
        if is_block(mold):
            return [graft(mold[0], node), mold[1] if plateau is None else plateau]
        if isinstance(mold, list) and isinstance(node, list) and len(mold) == len(node):
            return [graft(m, n) for m, n in zip(mold, node, strict=True)]
        molds, fields = _fields(mold), _fields(node)
        if molds is not None and fields is not None:
            return {**node, "fields": {k: graft(molds.get(k), v) for k, v in fields.items()}}
        return node

    return graft(template, saved)


def _fields(node: Any) -> dict[str, Any] | None:
    """The fields of a named tuple's plain form, or ``None``."""
    fields = node.get("fields") if isinstance(node, dict) else None
    return fields if isinstance(fields, dict) else None
