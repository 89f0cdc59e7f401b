"""An MLP estimator as plain data (JSON fields plus named arrays) and back, checked.

Used by :mod:`gdlab.io._codec` for :class:`~gdlab.MLPRegressor` and
:class:`~gdlab.MLPClassifier`. Beyond what a linear model stores, a network file holds its layers
(``coefs_``, ``intercepts_`` as one array per layer), the per-layer diagnostics of ``history_``,
and the objective's non-gradient state (batch-norm running statistics and the dropout stream's
position) that an exact resume needs. The architecture is rebuilt from the model's settings and
``n_features_in_``/``n_outputs_``; every array must have the shape it implies.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from typing import Any

import numpy as np

from gdlab.io._plain import ArrayStore, dec_dict, dec_float, dec_int, enc_float, fail
from gdlab.io._state import decode_state, encode_state

__all__ = ["decode_mlp", "encode_mlp"]

_LISTS = ("coefs_", "intercepts_")
_ATTRIBUTE_NAME = re.compile(r"^[a-z][a-z0-9_]{0,63}_$")


def encode_mlp(
    model: Any,
    body: dict[str, Any],
    arrays: dict[str, np.ndarray],
    encode_attribute: Callable[[str, Any, dict[str, np.ndarray]], dict[str, Any]],
) -> None:
    """Add a fitted network's attributes and state to ``body`` and ``arrays``.

    ``encode_attribute`` is the model codec's encoder of one plain fitted attribute.
    """
    public = {
        key: value
        for key, value in vars(model).items()
        if key.endswith("_") and not key.startswith("_") and key not in body["params"]
    }
    body["attributes"] = {
        key: encode_attribute(key, value, arrays)
        for key, value in sorted(public.items())
        if key not in _LISTS
    }
    for name in _LISTS:
        for index, array in enumerate(getattr(model, name)):
            arrays[f"attr.{name}.{index}"] = np.asarray(array)
    layers = model.history_.layers
    body["layers"] = {
        k: [[enc_float(v) for v in row] for row in rows] for k, rows in layers.items()
    }
    for key in ("_x_mean", "_x_scale"):
        if getattr(model, key) is not None:
            arrays[f"scaling{key}"] = np.asarray(getattr(model, key))
    body["scaling"] = model._x_scale is not None
    body["seed"] = int(model._seed)
    body["draws"] = int(model._draws)
    bn = model._bn_state
    for index, (mean, var) in enumerate(zip(bn.running_mean, bn.running_var, strict=True)):
        arrays[f"bn.mean.{index}"] = np.asarray(mean)
        arrays[f"bn.var.{index}"] = np.asarray(var)
    body["state"] = encode_state(model._train_state, arrays)


def decode_mlp(
    model: Any,
    header: dict[str, Any],
    store: ArrayStore,
    decode_attribute: Callable[[str, Any, ArrayStore], Any],
) -> None:
    """Fill ``model`` (built from the parameters) with the file's fitted attributes, checked.

    ``decode_attribute`` is the model codec's decoder of one plain fitted attribute.
    """
    from gdlab.nn import BatchNormState
    from gdlab.nn.diagnostics import LAYER_METRICS, NetworkHistory

    attributes = dec_dict(header.get("attributes"), "the fitted attributes")
    for name, spec in attributes.items():
        if not _ATTRIBUTE_NAME.match(name) or hasattr(type(model), name) or name in _LISTS:
            fail(f"{name!r} is not a fitted attribute name")
        setattr(model, name, decode_attribute(name, spec, store))
    for name in ("n_features_in_", "n_outputs_", "n_iter_", "t_", "history_", "loss_curve_"):
        if not hasattr(model, name):
            fail(f"the fitted attribute {name} is missing")
    for name in ("n_features_in_", "n_outputs_"):
        value = getattr(model, name)
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            fail(f"{name} should be a positive integer")
    if not all(math.isfinite(v) for v in model.loss_curve_):
        fail("loss_curve_ should be a list of finite numbers")
    arch = model._architecture()
    expected = list(zip(arch.sizes[:-1], arch.sizes[1:], strict=True))
    model.coefs_ = [store.get(f"attr.coefs_.{i}", f"coefs_[{i}]") for i in range(arch.n_layers)]
    model.intercepts_ = [
        store.get(f"attr.intercepts_.{i}", f"intercepts_[{i}]") for i in range(arch.n_layers)
    ]
    if [w.shape for w in model.coefs_] != expected:
        fail(f"coefs_ should have shapes {expected} for this network")
    if [b.shape for b in model.intercepts_] != [(b,) for _, b in expected]:
        fail("intercepts_ do not fit the network's layers")
    history = NetworkHistory(**vars(model.history_))
    layers = dec_dict(header.get("layers"), "the per-layer history")
    if set(layers) - set(LAYER_METRICS):
        fail(
            f"the per-layer history has unknown metrics {sorted(set(layers) - set(LAYER_METRICS))}"
        )
    for metric, rows in layers.items():
        if not isinstance(rows, list) or len(rows) != len(history.loss):
            fail(f"the per-layer history of {metric} should have one row per epoch")
        history.layers[metric] = [
            [dec_float(v, metric, finite=False) for v in row]
            for row in rows
            if isinstance(row, list)
        ]
    model.history_ = history
    scaled = header.get("scaling")
    if not isinstance(scaled, bool):
        fail("the scaling flag should be true or false")
    for key in ("_x_mean", "_x_scale"):
        value = store.get(f"scaling{key}", key[1:]) if scaled else None
        if value is not None and value.shape != (arch.n_features,):
            fail(f"the scaling {key[1:]} should have shape ({arch.n_features},)")
        setattr(model, key, value)
    if scaled and not np.all(model._x_scale > 0):
        fail("the scaling's scale should be positive")
    model._seed = dec_int(header.get("seed"), "the seed")
    model._draws = dec_int(header.get("draws"), "the dropout draws")
    bn = BatchNormState()
    for index, width in enumerate(arch.hidden if arch.batch_norm else ()):
        for name, target in (("mean", bn.running_mean), ("var", bn.running_var)):
            array = store.get(f"bn.{name}.{index}", f"the running {name} of layer {index}")
            if array.shape != (width,):
                fail(f"the running {name} of layer {index} should have shape ({width},)")
            target.append(np.array(array))
    if any(np.any(v < 0) for v in bn.running_var):
        fail("a running variance is negative")
    model._bn_state = bn
    model._train_state = decode_state(header.get("state"), model, store, (arch.n_params,))
    _check_consistent(model, arch)


def _check_consistent(model: Any, arch: Any) -> None:
    if model.t_ != model._train_state.step:
        fail(f"t_={model.t_} does not match the training state's step")
    coefs, intercepts = model._original_units(arch, model._train_state.params)
    for ours, saved in zip(coefs + intercepts, model.coefs_ + model.intercepts_, strict=True):
        scale = max(1.0, float(np.max(np.abs(saved))) if saved.size else 1.0)
        if not np.allclose(ours, saved, rtol=1e-5, atol=1e-6 * scale):
            fail("coefs_ and intercepts_ do not match the saved training parameters: altered file")
