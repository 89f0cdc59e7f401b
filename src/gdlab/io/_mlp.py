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
import numbers
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
    state: dict[str, Any],
    body: dict[str, Any],
    arrays: dict[str, np.ndarray],
    encode_attribute: Callable[[str, Any, dict[str, np.ndarray]], dict[str, Any]],
) -> None:
    """Add a fitted network's state (its ``state_dict()``) to ``body`` and ``arrays``.

    ``encode_attribute`` is the model codec's encoder of one plain fitted attribute.
    """
    public = state["attributes"]
    body["attributes"] = {
        key: encode_attribute(key, value, arrays)
        for key, value in sorted(public.items())
        if key not in _LISTS
    }
    for name in _LISTS:
        for index, array in enumerate(public[name]):
            arrays[f"attr.{name}.{index}"] = np.asarray(array)
    layers = public["history_"].layers
    body["layers"] = {
        k: [[enc_float(v) for v in row] for row in rows] for k, rows in layers.items()
    }
    for key in ("x_mean", "x_scale"):
        if state["scaling"][key] is not None:
            arrays[f"scaling_{key}"] = np.asarray(state["scaling"][key])
    body["scaling"] = state["scaling"]["x_scale"] is not None
    body["seed"] = int(state["seed"])
    body["draws"] = int(state["draws"])
    bn = state["batch_norm"]
    for index, (mean, var) in enumerate(zip(bn["mean"], bn["var"], strict=True)):
        arrays[f"bn.mean.{index}"] = np.asarray(mean)
        arrays[f"bn.var.{index}"] = np.asarray(var)
    body["state"] = encode_state(state["train_state"], arrays)


def decode_mlp(
    model: Any,
    header: dict[str, Any],
    store: ArrayStore,
    decode_attributes: Callable[[Any, dict[str, Any], ArrayStore], dict[str, Any]],
) -> None:
    """Fill ``model`` (built from the parameters) with the file's fitted state, checked.

    ``decode_attributes`` is the model codec's decoder of the plain fitted attributes.
    """
    from gdlab.nn import Architecture
    from gdlab.nn.diagnostics import LAYER_METRICS, NetworkHistory

    attrs = decode_attributes(model, header, store)
    if set(_LISTS) & set(attrs):
        fail(f"{sorted(set(_LISTS) & set(attrs))[0]!r} is not a fitted attribute name")
    for name in ("n_features_in_", "n_outputs_", "n_iter_", "t_", "history_", "loss_curve_"):
        if name not in attrs:
            fail(f"the fitted attribute {name} is missing")
    for name in ("n_features_in_", "n_outputs_"):
        value = attrs[name]
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            fail(f"{name} should be a positive integer")
    if not all(math.isfinite(v) for v in attrs["loss_curve_"]):
        fail("loss_curve_ should be a list of finite numbers")
    arch = Architecture(
        attrs["n_features_in_"],
        _hidden(model.hidden_layer_sizes),
        attrs["n_outputs_"],
        model.activation,
        model.batch_norm,
        model.dropout,
    )
    expected = list(zip(arch.sizes[:-1], arch.sizes[1:], strict=True))
    coefs = [store.get(f"attr.coefs_.{i}", f"coefs_[{i}]") for i in range(arch.n_layers)]
    intercepts = [
        store.get(f"attr.intercepts_.{i}", f"intercepts_[{i}]") for i in range(arch.n_layers)
    ]
    if [w.shape for w in coefs] != expected:
        fail(f"coefs_ should have shapes {expected} for this network")
    if [b.shape for b in intercepts] != [(b,) for _, b in expected]:
        fail("intercepts_ do not fit the network's layers")
    attrs["coefs_"], attrs["intercepts_"] = coefs, intercepts
    history = NetworkHistory(**vars(attrs["history_"]))
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
    attrs["history_"] = history
    scaled = header.get("scaling")
    if not isinstance(scaled, bool):
        fail("the scaling flag should be true or false")
    scaling: dict[str, Any] = {}
    for key in ("x_mean", "x_scale"):
        value = store.get(f"scaling_{key}", key) if scaled else None
        if value is not None and value.shape != (arch.n_features,):
            fail(f"the scaling {key} should have shape ({arch.n_features},)")
        scaling[key] = value
    if scaled and not np.all(scaling["x_scale"] > 0):
        fail("the scaling's scale should be positive")
    batch_norm: dict[str, list[Any]] = {"mean": [], "var": []}
    for index, width in enumerate(arch.hidden if arch.batch_norm else ()):
        for name in ("mean", "var"):
            array = store.get(f"bn.{name}.{index}", f"the running {name} of layer {index}")
            if array.shape != (width,):
                fail(f"the running {name} of layer {index} should have shape ({width},)")
            batch_norm[name].append(np.array(array))
    if any(np.any(v < 0) for v in batch_norm["var"]):
        fail("a running variance is negative")
    state = {
        "attributes": attrs,
        "scaling": scaling,
        "seed": dec_int(header.get("seed"), "the seed"),
        "draws": dec_int(header.get("draws"), "the dropout draws"),
        "batch_norm": batch_norm,
        "train_state": decode_state(header.get("state"), model, store, (arch.n_params,)),
    }
    try:
        model.load_state_dict(state)  # checks that coefs_ are those of the training parameters
    except ValueError as error:
        fail(str(error))


def _hidden(sizes: Any) -> tuple[int, ...]:
    return (int(sizes),) if isinstance(sizes, numbers.Integral) else tuple(map(int, sizes))
