"""Checks of a network's state before :meth:`BaseMLP.load_state_dict` takes it: the architecture
is rebuilt from the settings and ``n_features_in_``/``n_outputs_``, every array (layers, scaling,
batch-norm statistics, training parameters) must have the shape it implies, and ``coefs_`` and
``intercepts_`` must be those of the training parameters. Each failure is a ``ValueError`` naming
the entry."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from gdlab.engine import TrainState
from gdlab.estimators._plain import check_int, fitted_attributes, train_state_from_plain
from gdlab.nn import Architecture, BatchNormState
from gdlab.nn.diagnostics import NetworkHistory

__all__ = ["NetworkState", "network_state"]

_REQUIRED = ("n_features_in_", "n_outputs_", "n_iter_", "t_", "history_", "loss_curve_")


@dataclass(frozen=True)
class NetworkState:
    """A network's checked state, ready to be set on the estimator."""

    attrs: dict[str, Any]
    scaling: tuple[Any, Any]
    seed: int
    draws: int
    batch_norm: BatchNormState
    train_state: TrainState


def network_state(model: Any, state: dict[str, Any]) -> NetworkState:
    """Check the sections of a network's ``state_dict()`` against ``model``'s settings."""
    attrs = fitted_attributes(model, state["attributes"], NetworkHistory)
    for name in _REQUIRED:
        if name not in attrs:
            raise ValueError(f"the fitted attribute {name} is missing")
    for name in ("n_features_in_", "n_outputs_"):
        value = attrs[name]
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"{name} should be a positive integer")
    arch = Architecture(
        attrs["n_features_in_"],
        model._hidden(),
        attrs["n_outputs_"],
        model.activation,
        model.batch_norm,
        model.dropout,
    )
    _check_layers(arch, attrs)
    checked = NetworkState(
        attrs,
        _scaling(state["scaling"], arch.n_features),
        check_int(state["seed"], "the seed"),
        check_int(state["draws"], "the dropout draws"),
        _batch_norm(state["batch_norm"], arch),
        train_state_from_plain(model, state["train_state"], (arch.n_params,)),
    )
    if attrs["t_"] != checked.train_state.step:
        raise ValueError(f"t_={attrs['t_']} does not match the training state's step")
    coefs, intercepts = model._original_units(arch, checked.train_state.params, checked.scaling)
    saved = attrs["coefs_"] + attrs["intercepts_"]
    for ours, theirs in zip(coefs + intercepts, saved, strict=True):
        scale = max(1.0, float(np.max(np.abs(theirs))) if theirs.size else 1.0)
        if not np.allclose(ours, theirs, rtol=1e-5, atol=1e-6 * scale):
            raise ValueError(
                "coefs_ and intercepts_ do not match the saved training parameters: altered file"
            )
    return checked


def _check_layers(arch: Architecture, attrs: dict[str, Any]) -> None:
    expected = list(zip(arch.sizes[:-1], arch.sizes[1:], strict=True))
    for name, shapes in (("coefs_", expected), ("intercepts_", [(b,) for _, b in expected])):
        arrays = attrs.get(name)
        if not isinstance(arrays, list) or not all(
            isinstance(a, np.ndarray) and a.dtype.kind == "f" for a in arrays
        ):
            raise ValueError(f"{name} should be a list of float arrays, one per layer")
        if [a.shape for a in arrays] != shapes:
            raise ValueError(f"{name} should have shapes {shapes} for this network")
        if not all(np.all(np.isfinite(a)) for a in arrays):
            raise ValueError(f"{name} contains NaN or infinite values")


def _scaling(data: Any, n_features: int) -> tuple[Any, Any]:
    if not isinstance(data, dict) or set(data) != {"x_mean", "x_scale"}:
        raise ValueError("the scaling should be a dict of x_mean and x_scale")
    mean, scale = data["x_mean"], data["x_scale"]
    if (mean is None) != (scale is None):
        raise ValueError("the scaling needs both a mean and a scale")
    for key, value in (("x_mean", mean), ("x_scale", scale)):
        if value is not None and (
            not isinstance(value, np.ndarray) or value.shape != (n_features,)
        ):
            raise ValueError(f"the scaling {key} should have shape ({n_features},)")
    if scale is not None and not np.all(scale > 0):
        raise ValueError("the scaling's scale should be positive")
    return mean, scale


def _batch_norm(data: Any, arch: Architecture) -> BatchNormState:
    if not isinstance(data, dict) or set(data) != {"mean", "var"}:
        raise ValueError("the batch-norm statistics should be a dict of mean and var")
    widths = list(arch.hidden) if arch.batch_norm else []
    bn = BatchNormState()
    for name, target in (("mean", bn.running_mean), ("var", bn.running_var)):
        arrays = data[name]
        if not isinstance(arrays, list) or len(arrays) != len(widths):
            raise ValueError(f"the running {name} should hold one array per hidden layer")
        for index, (array, width) in enumerate(zip(arrays, widths, strict=True)):
            if not isinstance(array, np.ndarray) or array.shape != (width,):
                raise ValueError(
                    f"the running {name} of layer {index} should have shape ({width},)"
                )
            target.append(array)
    if any(np.any(v < 0) for v in bn.running_var):
        raise ValueError("a running variance is negative")
    return bn
