"""An estimator's fitted state as plain data and back, checked: the parts of ``state_dict()`` and
``load_state_dict()`` that the linear estimators and the networks share.

Plain data is dicts with string keys, lists, ``str``/``int``/``float``/``bool``/``None`` and
NumPy arrays, recursively: the history is its :meth:`~gdlab.history.History.to_dict`, the
optimizer state its :func:`~gdlab.optim._plain_state.to_plain` form. Rebuilding checks every entry
(names, types, shapes, finite numbers) and raises ``ValueError`` naming the wrong one, so that a
state from a file (:mod:`gdlab.io` hands the decoded data to ``load_state_dict``) or from user code
never becomes a half-built model.
"""

from __future__ import annotations

import math
import numbers
import re
from collections.abc import Mapping
from dataclasses import fields
from typing import Any

import numpy as np

from gdlab.engine import TrainState
from gdlab.history import History
from gdlab.optim._plain_state import from_plain, to_plain
from gdlab.optim.plateau import find_state

__all__ = [
    "check_int",
    "check_sections",
    "fitted_attributes",
    "plain_attributes",
    "plain_train_state",
    "train_state_from_plain",
]

_ATTRIBUTE_NAME = re.compile(r"^[a-z][a-z0-9_]{0,63}_$")


# ---- to plain data -----------------------------------------------------------------------------
def plain_value(value: Any, where: str) -> Any:
    """``value`` as plain data (NumPy scalars become Python numbers, tuples lists, a history its
    dict); ``TypeError`` for anything else."""
    if value is None or isinstance(value, str | np.ndarray):
        return value
    if isinstance(value, bool | np.bool_):
        return bool(value)
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        return float(value)
    if isinstance(value, History):
        return value.to_dict(params_as_array=True)
    if isinstance(value, list | tuple):
        return [plain_value(item, f"{where}[{index}]") for index, item in enumerate(value)]
    if isinstance(value, Mapping) and all(isinstance(key, str) for key in value):
        return {key: plain_value(item, f"{where}[{key!r}]") for key, item in value.items()}
    raise TypeError(f"Cannot save the fitted attribute {where} of type {type(value).__name__}.")


def plain_attributes(attributes: dict[str, Any]) -> dict[str, Any]:
    """The public fitted attributes as plain data."""
    return {name: plain_value(value, name) for name, value in attributes.items()}


def plain_train_state(state: TrainState) -> dict[str, Any]:
    """The fields of a training state as plain data (the optimizer state's plain form)."""
    return {
        spec.name: (
            to_plain(state.opt_state)
            if spec.name == "opt_state"
            else plain_value(getattr(state, spec.name), f"train_state.{spec.name}")
        )
        for spec in fields(state)
    }


# ---- from plain data, checked ------------------------------------------------------------------
def check_int(value: Any, where: str, low: int = 0) -> int:
    """``value`` as an int ``>= low``; a ``ValueError`` naming ``where`` otherwise."""
    if isinstance(value, np.integer):
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value < 2**63:
        raise ValueError(f"{where} should be an integer >= {low}, not {value!r}")
    return value


def check_number(value: Any, where: str, *, finite: bool = True, none: bool = False) -> Any:
    if value is None and none:
        return None
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ValueError(f"{where} should be a number, not {value!r}")
    if finite and not math.isfinite(value):
        raise ValueError(f"{where} is not finite")
    return float(value)


def check_sections(state: Any, names: tuple[str, ...], owner: str) -> dict[str, Any]:
    """``state`` as a dict with exactly the entries ``names``."""
    if not isinstance(state, dict):
        raise ValueError(f"The state of a {owner} should be a dict, not {type(state).__name__}")
    if set(state) != set(names):
        missing, extra = sorted(set(names) - set(state)), sorted(set(state) - set(names))
        raise ValueError(
            f"The state of a {owner} should have the entries {list(names)} (missing {missing}, "
            f"unknown {extra})"
        )
    return state


def fitted_attributes(model: Any, data: Any, history_class: type[History]) -> dict[str, Any]:
    """The fitted attributes in ``data`` (names checked, the history rebuilt), by name."""
    if not isinstance(data, dict):
        raise ValueError("the fitted attributes should be a dict")
    attrs: dict[str, Any] = {}
    for name, value in data.items():
        if not isinstance(name, str) or not _ATTRIBUTE_NAME.match(name):
            raise ValueError(f"{name!r} is not a fitted attribute name")
        if hasattr(type(model), name):
            raise ValueError(f"{name!r} is not a fitted attribute name (the class has it)")
        attrs[name] = value
    if "history_" in attrs:
        history = attrs["history_"]
        if not isinstance(history, History):
            try:
                history = history_class.from_dict(history)
            except ValueError as error:
                raise ValueError(f"history_: {error}") from None
        if not all(math.isfinite(v) for v in history.loss):
            raise ValueError("history_: the loss of an epoch is not finite")
        attrs["history_"] = history
    curve = attrs.get("loss_curve_", [])
    if not isinstance(curve, list) or not all(
        isinstance(v, numbers.Real) and not isinstance(v, bool) and math.isfinite(v) for v in curve
    ):
        raise ValueError("loss_curve_ should be a list of finite numbers")
    for name in ("n_iter_", "t_"):
        if name in attrs:
            attrs[name] = check_int(attrs[name], name)
    return attrs


def train_state_from_plain(model: Any, data: Any, shape: tuple[int, ...]) -> TrainState:
    """The :class:`~gdlab.engine.TrainState` in ``data`` (``state_dict()["train_state"]``),
    checked against ``model``'s settings: the optimizer state's structure is that of
    ``model.init_optimizer_state(params)``, the parameters have ``shape``."""
    if not isinstance(data, dict):
        raise ValueError("the training state should be a dict")
    known = {spec.name for spec in fields(TrainState)}
    extra = sorted(set(data) - known)
    if extra:
        raise ValueError(f"the training state has unknown fields {extra}")
    params = data.get("params")
    if not isinstance(params, np.ndarray) or params.dtype.kind != "f":
        raise ValueError("the training parameters should be a float array")
    if params.shape != shape:
        raise ValueError(f"the training parameters have shape {params.shape}, expected {shape}")
    try:
        template = model.init_optimizer_state(params)
    except (TypeError, ValueError) as error:
        raise ValueError(f"the optimizer settings are invalid ({error})") from None
    values: dict[str, Any] = {
        "params": params,
        "opt_state": _checked_plateau(from_plain(data.get("opt_state"), template)),
    }
    for name in ("epoch", "step", "bad_epochs", "samples_seen"):
        values[name] = check_int(data.get(name), f"the training state's {name}")
    values["best_loss"] = check_number(data.get("best_loss"), "best_loss", finite=False)
    values["first_loss"] = check_number(data.get("first_loss"), "first_loss", none=True)
    best_params = data.get("best_params")
    if best_params is not None and (
        not isinstance(best_params, np.ndarray) or best_params.shape != shape
    ):
        raise ValueError("the best parameters do not have the shape of the parameters")
    values["best_params"] = best_params
    values["cursor"] = _checked_cursor(data.get("cursor"))
    for name in known - set(values):  # fields added later: plain values, their default if absent
        if name in data:
            value = data[name]
            if value is not None and not isinstance(value, bool | int | float | str | list):
                raise ValueError(f"the training state's {name} is not a plain value")
            values[name] = value
    return TrainState(**values)


def _checked_cursor(cursor: Any) -> dict[str, Any] | None:
    """The block cursor of an unfinished epoch (``None`` at an epoch boundary): a flat dict of
    numbers, ``None`` and float arrays, its ``block`` and ``blocks`` counts ints."""
    if cursor is None:
        return None
    if not isinstance(cursor, dict) or not all(isinstance(key, str) for key in cursor):
        raise ValueError("the training state's cursor should be a dict with text keys")
    for key, value in cursor.items():
        where = f"the training state's cursor[{key!r}]"
        if isinstance(value, np.ndarray):
            if value.dtype.kind != "f":
                raise ValueError(f"{where} should be a float array")
        elif value is not None and (isinstance(value, bool) or not isinstance(value, numbers.Real)):
            raise ValueError(f"{where} is not a number or an array")
    for key in ("block", "blocks"):
        if key in cursor:
            cursor[key] = check_int(cursor[key], f"the training state's cursor[{key!r}]")
    if "block" not in cursor:
        raise ValueError("the training state's cursor has no 'block' count")
    return dict(cursor)


def _checked_plateau(opt_state: Any) -> Any:
    plateau = find_state(opt_state)
    if plateau is not None:
        if isinstance(plateau.scale, bool) or not 0 < plateau.scale <= 1:
            raise ValueError("the plateau scale should be in (0, 1]")
        if not isinstance(plateau.bad_epochs, int) or plateau.bad_epochs < 0:
            raise ValueError("the plateau bad epochs should be an int >= 0")
    return opt_state
