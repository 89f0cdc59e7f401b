"""The training state (the fields of :class:`gdlab.engine.TrainState`, as an estimator's
``state_dict()["train_state"]`` gives them) as JSON and arrays, and back.

The optimizer state is a tree of tuples and named tuples with arrays and counters at its leaves; it
is saved as its structure (JSON) plus one array per leaf. On load the structure is never built from
the file: it comes from the model's ``init_optimizer_state(params)`` (its own settings), and the
saved tree must match it node for node before its values are filled in.
"""

from __future__ import annotations

import numbers
from dataclasses import fields
from typing import Any

import numpy as np

from gdlab.io._plain import ArrayStore, dec_dict, dec_float, dec_int, enc_float, fail

__all__ = ["decode_state", "encode_state"]


# ---- optimizer state ---------------------------------------------------------------------------
def encode_tree(node: Any, arrays: dict[str, np.ndarray], prefix: str) -> dict[str, Any]:
    if isinstance(node, tuple):
        items = [encode_tree(child, arrays, f"{prefix}.{i}") for i, child in enumerate(node)]
        if hasattr(node, "_fields"):
            return {"namedtuple": type(node).__name__, "fields": list(node._fields), "items": items}
        return {"tuple": items}
    if isinstance(node, np.ndarray | np.generic) and not isinstance(node, np.bool_):
        arrays[prefix] = np.asarray(node)
        return {"array": prefix, "scalar": isinstance(node, np.generic)}
    if isinstance(node, bool | np.bool_):
        return {"bool": bool(node)}
    if isinstance(node, int):
        return {"int": node}
    if isinstance(node, float):
        return {"float": enc_float(node)}
    if node is None:
        return {"none": True}
    raise TypeError(f"Cannot save the optimizer state: {type(node).__name__} at {prefix}.")


def decode_tree(spec: Any, template: Any, store: ArrayStore, where: str) -> Any:
    spec = dec_dict(spec, where)
    if isinstance(template, tuple):
        names: tuple[str, ...] = getattr(template, "_fields", ())
        named = hasattr(template, "_fields")
        items = spec.get("items") if named else spec.get("tuple")
        if named and (
            spec.get("namedtuple") != type(template).__name__ or spec.get("fields") != list(names)
        ):
            fail(
                f"{where} should be a {type(template).__name__}{tuple(names)} for this "
                "optimizer; the saved state has another structure"
            )
        if not isinstance(items, list) or len(items) != len(template):
            fail(f"{where} does not have the structure of this optimizer's state")
        children = [
            decode_tree(item, sub, store, f"{where}.{i}")
            for i, (item, sub) in enumerate(zip(items, template, strict=True))
        ]
        return type(template)(*children) if named else tuple(children)
    if isinstance(template, np.ndarray):
        if spec.get("scalar") is not False:
            fail(f"{where} should be an array")
        array = store.get(spec.get("array"), where, kinds=template.dtype.kind)
        if array.shape != template.shape:
            fail(f"{where} has shape {array.shape}, expected {template.shape}")
        return np.array(array)
    if template is None:
        if spec != {"none": True}:
            fail(f"{where} should be empty")
        return None
    # a scalar leaf (a counter): accept it as saved, checked
    if "int" in spec and len(spec) == 1:
        return dec_int(spec["int"], where, low=-(2**63))
    if "float" in spec and len(spec) == 1:
        return dec_float(spec["float"], where, finite=False)
    if "bool" in spec and isinstance(spec["bool"], bool) and len(spec) == 1:
        return spec["bool"]
    if spec.get("scalar") is True:
        array = store.get(spec.get("array"), where, kinds="iuf")
        if array.shape != ():
            fail(f"{where} should be a scalar")
        return array[()]
    fail(f"{where} is not a number")


# ---- training state ----------------------------------------------------------------------------
def encode_state(state: dict[str, Any], arrays: dict[str, np.ndarray]) -> dict[str, Any]:
    arrays["state.params"] = np.asarray(state["params"])
    data: dict[str, Any] = {"opt_state": encode_tree(state["opt_state"], arrays, "state.opt")}
    for name, value in state.items():
        if name in ("params", "opt_state"):
            continue
        if name == "best_params":
            if value is not None:
                arrays["state.best_params"] = np.asarray(value)
            data[name] = None if value is None else "state.best_params"
        elif value is None or isinstance(value, bool | str):
            data[name] = value
        elif isinstance(value, dict):  # the block cursor of an unfinished epoch
            data[name] = {"dict": _encode_flat(value, arrays, f"state.{name}")}
        elif isinstance(value, numbers.Integral):
            data[name] = int(value)
        elif isinstance(value, numbers.Real):
            data[name] = enc_float(value)
        else:
            raise TypeError(f"Cannot save the training state's {name} ({type(value).__name__}).")
    return data


def decode_state(
    data: Any, model: Any, store: ArrayStore, params_shape: tuple[int, ...]
) -> dict[str, Any]:
    """The fields of the training state saved in ``data`` (checked against ``model``'s)."""
    from gdlab.engine import TrainState

    data = dec_dict(data, "the training state")
    params = np.array(store.get("state.params", "the training parameters"))
    if params.shape != params_shape:
        fail(f"the training parameters have shape {params.shape}, expected {params_shape}")
    try:
        template = model.init_optimizer_state(params)
    except (TypeError, ValueError) as error:
        fail(f"the optimizer settings are invalid ({error})")
    values: dict[str, Any] = {
        "params": params,
        "opt_state": _decode_opt_state(data, template, store),
    }
    known = {spec.name for spec in fields(TrainState)}
    extra = sorted(set(data) - known - {"opt_state", "plateau_state"})
    if extra:
        fail(f"the training state has unknown fields {extra}")
    for name in ("epoch", "step", "bad_epochs", "samples_seen"):
        values[name] = dec_int(data.get(name), f"the training state's {name}")
    values["best_loss"] = dec_float(data.get("best_loss"), "best_loss", finite=False)
    values["first_loss"] = dec_float(data.get("first_loss"), "first_loss", none=True)
    best_params = data.get("best_params")
    if best_params is not None:
        best_params = np.array(store.get(best_params, "the best parameters"))
        if best_params.shape != params_shape:
            fail("the best parameters do not have the shape of the parameters")
    values["best_params"] = best_params
    for name in known - set(values):
        value = data.get(name)
        if isinstance(value, dict) and set(value) == {"dict"}:
            values[name] = _decode_flat(value["dict"], store, f"the training state's {name}")
            continue
        if value is not None and not isinstance(value, bool | int | float | str):
            fail(f"the training state's {name} is not a plain value")
        values[name] = value
    return values


def _encode_flat(value: dict[str, Any], arrays: dict[str, np.ndarray], prefix: str) -> Any:
    """A flat dict of numbers, ``None`` and arrays (a block cursor) as JSON and arrays."""
    data: dict[str, Any] = {}
    for key, item in value.items():
        if isinstance(item, np.ndarray):
            arrays[f"{prefix}.{key}"] = item
            data[key] = {"array": f"{prefix}.{key}"}
        elif item is None or isinstance(item, bool | numbers.Integral):
            data[key] = None if item is None else item if isinstance(item, bool) else int(item)
        elif isinstance(item, numbers.Real):
            data[key] = {"float": enc_float(item)}
        else:
            raise TypeError(f"Cannot save {prefix}[{key!r}] ({type(item).__name__}).")
    return data


def _decode_flat(data: Any, store: ArrayStore, where: str) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for key, item in dec_dict(data, where).items():
        here = f"{where}[{key!r}]"
        if item is None or isinstance(item, bool | int):
            values[key] = item
        elif isinstance(item, dict) and set(item) == {"float"}:
            values[key] = dec_float(item["float"], here, finite=False)
        elif isinstance(item, dict) and set(item) == {"array"}:
            values[key] = np.array(store.get(item["array"], here))
        else:
            fail(f"{here} is not a number or an array")
    return values


# ---- the plateau rule's state ------------------------------------------------------------------
def _decode_opt_state(data: dict[str, Any], template: Any, store: ArrayStore) -> Any:
    """The optimizer state, its plateau block's state (if any) checked.

    Files written before the plateau rule became a block of the optimizer
    (:func:`gdlab.optim.plateau.with_plateau`) keep its state as ``"plateau_state": [scale,
    best_loss, bad_epochs]`` beside an optimizer state without the block: it becomes the
    block's state here (:func:`_legacy_plateau`).
    """
    from gdlab.optim.plateau import find_state

    where = "the optimizer state"
    if "plateau_state" in data:
        opt_state = _legacy_plateau(data, template, store)
    else:
        opt_state = decode_tree(data.get("opt_state"), template, store, where)
    plateau = find_state(opt_state)
    if plateau is not None:
        if not 0 < plateau.scale <= 1 or isinstance(plateau.scale, bool):
            fail("the plateau scale should be in (0, 1]")
        if not isinstance(plateau.bad_epochs, int) or plateau.bad_epochs < 0:
            fail("the plateau bad epochs should be an int >= 0")
    return opt_state


def _legacy_plateau(data: dict[str, Any], template: Any, store: ArrayStore) -> Any:
    """The optimizer state of a file with a separate ``"plateau_state"`` (see above)."""
    from gdlab.optim.plateau import PlateauState

    def is_pair(node: Any) -> bool:  # (optimizer state, plateau state) of with_plateau
        return type(node) is tuple and len(node) == 2 and isinstance(node[1], PlateauState)

    def strip(node: Any) -> Any:
        if is_pair(node):
            return node[0]
        if isinstance(node, tuple):
            children = [strip(child) for child in node]
            return type(node)(*children) if hasattr(node, "_fields") else tuple(children)
        return node

    def graft(node: Any, decoded: Any, plateau: Any) -> Any:
        if is_pair(node):
            return (decoded, node[1] if plateau is None else plateau)
        if isinstance(node, tuple):
            children = [graft(t, d, plateau) for t, d in zip(node, decoded, strict=True)]
            return type(node)(*children) if hasattr(node, "_fields") else tuple(children)
        return decoded

    saved = data["plateau_state"]
    if saved is not None:
        if not isinstance(saved, list) or len(saved) != 3:
            fail("the plateau state should be [scale, best_loss, bad_epochs]")
        best = dec_float(saved[1], "the plateau best loss", finite=False)
        scale = dec_float(saved[0], "the plateau scale")
        saved = PlateauState(scale, best, dec_int(saved[2], "the plateau bad epochs"))
    decoded = decode_tree(data.get("opt_state"), strip(template), store, "the optimizer state")
    return graft(template, decoded, saved)
