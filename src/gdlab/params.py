"""Validation of estimator hyperparameters, with scikit-learn's wording, and the objects they build.

Messages read like scikit-learn's: "The 'learning_rate' parameter of GDRegressor must be a float > 0.
Got -1 instead."
"""

from __future__ import annotations

import numbers
from collections.abc import Callable, Mapping
from typing import Any

from gdlab import optim, schedules
from gdlab.batching import n_batches
from gdlab.optim import GradientTransformation

__all__ = ["SCHEDULE_NAMES", "build_optimizer", "build_schedule", "check_params"]

SCHEDULE_NAMES = (
    "constant",
    "invscaling",
    "step",
    "exponential",
    "cosine",
    "warmup_cosine",
    "adaptive",
)


def _is_real(value: Any) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def _is_int(value: Any) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def _fail(owner: str, name: str, requirement: str, value: Any) -> None:
    raise ValueError(
        f"The {name!r} parameter of {owner} must be {requirement}. Got {value!r} instead."
    )


def check_params(estimator: Any, losses: tuple[str, ...]) -> None:
    """Check every hyperparameter of a GD estimator; raise ``ValueError`` naming the first bad one."""
    owner = type(estimator).__name__
    p = estimator.get_params(deep=False)

    def one_of(name: str, options: tuple[Any, ...]) -> None:
        if p[name] not in options:
            shown = ", ".join(repr(o) for o in options)
            _fail(owner, name, f"one of {{{shown}}}", p[name])

    def real(
        name: str,
        low: float,
        *,
        strict: bool = False,
        high: float | None = None,
        none: bool = False,
    ) -> None:
        value = p[name]
        if none and value is None:
            return
        ok = _is_real(value) and (value > low if strict else value >= low)
        ok = ok and (high is None or value <= high) and value == value  # NaN fails
        if not ok:
            bound = f"> {low}" if strict else f">= {low}"
            if high is not None:
                bound = f"in the range ({low}, {high}]" if strict else f"in [{low}, {high}]"
            text = f"a float {bound}" + (" or None" if none else "")
            _fail(owner, name, text, value)

    def integer(name: str, low: int, *, none: bool = False) -> None:
        value = p[name]
        if none and value is None:
            return
        if not (_is_int(value) and value >= low):
            _fail(owner, name, f"an int >= {low}" + (" or None" if none else ""), value)

    def boolean(name: str) -> None:
        if not isinstance(p[name], bool | int) or p[name] not in (True, False, 0, 1):
            _fail(owner, name, "a bool", p[name])

    one_of("loss", losses)
    one_of("penalty", (None, "l2", "l1", "elasticnet"))
    real("alpha", 0.0)
    real("l1_ratio", 0.0, high=1.0)
    boolean("fit_intercept")
    if not isinstance(p["optimizer"], GradientTransformation):
        one_of("optimizer", tuple(optim.OPTIMIZERS))
    real("learning_rate", 0.0, strict=True)
    real("momentum", 0.0, none=True)
    if p["momentum"] is not None and p["momentum"] >= 1:
        _fail(owner, "momentum", "a float in [0, 1) or None", p["momentum"])
    schedule = p["schedule"]
    if schedule is not None and not callable(schedule):
        one_of("schedule", (None, *SCHEDULE_NAMES))
    if p["schedule_params"] is not None and not isinstance(p["schedule_params"], Mapping):
        _fail(owner, "schedule_params", "a dict or None", p["schedule_params"])
    if p["optimizer_params"] is not None and not isinstance(p["optimizer_params"], Mapping):
        _fail(owner, "optimizer_params", "a dict or None", p["optimizer_params"])
    integer("batch_size", 1, none=True)
    integer("max_iter", 1)
    real("tol", 0.0, none=True)
    integer("n_iter_no_change", 1)
    boolean("early_stopping")
    real("validation_fraction", 0.0, strict=True, high=1.0)
    if p["validation_fraction"] >= 1.0:
        _fail(owner, "validation_fraction", "a float in the range (0, 1)", p["validation_fraction"])
    boolean("shuffle")
    boolean("warm_start")
    real("clip_norm", 0.0, strict=True, none=True)
    boolean("standardize")
    integer("verbose", 0)
    boolean("record_params")
    one_of("backend", ("auto", "numpy", "numba"))
    if "epsilon" in p:
        real("epsilon", 0.0, strict=True)


def build_schedule(
    name: str | Callable[[int], float] | None,
    learning_rate: float,
    *,
    n_samples: int,
    batch_size: int | None,
    max_iter: int,
    parameters: Mapping[str, Any] | None,
) -> Callable[[int], float] | float:
    """The learning rate as a float or a per-update schedule, from an estimator's settings.

    Epoch-based settings are converted to updates with the number of updates per epoch:
    ``"step"`` decays by ``gamma`` (0.1) every ``step_epochs`` epochs (a third of ``max_iter``),
    ``"exponential"`` by ``decay_rate`` (0.95) per epoch, ``"cosine"`` anneals over ``max_iter``
    epochs to ``alpha * learning_rate``, ``"warmup_cosine"`` warms up for ``warmup_epochs`` (5)
    then anneals, ``"invscaling"`` is ``learning_rate / (t + 1) ** power_t`` (0.25) per update.
    ``"adaptive"`` is handled by the engine's plateau rule and gives a constant rate here.
    """
    params = dict(parameters or {})
    if callable(name):
        return name
    if name in (None, "constant", "adaptive"):
        return learning_rate
    per_epoch = n_batches(n_samples, batch_size)
    total = max(1, max_iter * per_epoch)
    if name == "invscaling":
        return schedules.inverse_scaling(learning_rate, params.pop("power_t", 0.25))
    if name == "step":
        epochs = params.pop("step_epochs", max(1, max_iter // 3))
        return schedules.step_decay(
            learning_rate, int(epochs) * per_epoch, params.pop("gamma", 0.1)
        )
    if name == "exponential":
        return schedules.exponential_decay(learning_rate, params.pop("decay_rate", 0.95), per_epoch)
    if name == "cosine":
        return schedules.cosine_decay(learning_rate, total, params.pop("alpha", 0.0))
    if name == "warmup_cosine":
        warmup = int(params.pop("warmup_epochs", 5)) * per_epoch
        return schedules.warmup_cosine_decay(
            learning_rate, warmup, max(1, total - warmup), params.pop("end_value", 0.0)
        )
    raise ValueError(f"Unknown schedule {name!r}; choose one of: {', '.join(SCHEDULE_NAMES)}.")


def build_optimizer(
    name: str | GradientTransformation,
    rate: float | Callable[[int], float],
    *,
    momentum: float | None,
    extra: Mapping[str, Any] | None,
    clip_norm: float | None,
) -> GradientTransformation:
    """A named optimizer with the estimator's rate, momentum, extra parameters and clipping."""
    if isinstance(name, GradientTransformation):
        tx = name
    else:
        kwargs = dict(extra or {})
        if momentum is not None and name in ("sgd", "momentum", "nesterov", "rmsprop"):
            kwargs["momentum"] = momentum
        try:
            tx = optim.get(name, rate, **kwargs)
        except TypeError as error:
            raise ValueError(f"Bad optimizer_params for {name!r}: {error}") from None
    if clip_norm is not None:
        clipped = optim.chain(optim.clip_by_global_norm(clip_norm), tx)
        return GradientTransformation(
            clipped.init,
            clipped.update,
            name=tx.name,
            hyperparams={**tx.hyperparams, "clip_norm": clip_norm},
        )
    return tx
