"""The objects an estimator's settings build: its learning rate or schedule, plateau rule and
optimizer.

The settings are validated by the declarative tables of :mod:`gdlab.estimators._settings`
(re-exported here:
:func:`check_params`); the schedule names are the one vocabulary of
:data:`gdlab.estimators._schedule_names.ESTIMATOR_SCHEDULES`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from gdlab import optim, schedules
from gdlab._batching import n_batches
from gdlab.estimators._schedule_names import (
    PYTORCH_SCHEDULES,
    SCHEDULE_ALIASES,
    SCHEDULE_NAMES,
    SCHEDULE_PARAMS,
    build_pytorch_schedule,
    horizon_epochs,
    schedule_name,
)
from gdlab.estimators._settings import MOMENTUM_OPTIMIZERS, check_params
from gdlab.optim import GradientTransformation
from gdlab.optim.plateau import with_plateau

__all__ = [
    "SCHEDULE_ALIASES",
    "SCHEDULE_NAMES",
    "SCHEDULE_PARAMS",
    "add_plateau",
    "build_optimizer",
    "build_plateau",
    "build_schedule",
    "check_params",
    "horizon_epochs",
    "schedule_name",
]


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

    Epoch-based settings are converted to updates with the number of updates per epoch
    (``ceil(n_samples / batch_size)``):

    ========================  ===========================================================
    ``"constant"``            ``learning_rate`` (also for ``None``)
    ``"inverse_scaling"``     ``learning_rate / (t + 1) ** power_t`` per update ``t`` (0.25)
    ``"step_decay"``          times ``gamma`` (0.1) every ``step_epochs`` epochs (horizon // 3)
    ``"exponential_decay"``   times ``decay_rate`` (0.95) per epoch, smoothly
    ``"cosine_decay"``        half a cosine over the horizon down to ``alpha * learning_rate``
    ``"warmup_cosine_decay"`` linear warmup over ``warmup_epochs`` (5), then a cosine to
                              ``end_value``
    ``"reduce_on_plateau"``   constant here; the engine divides it on plateaus
                              (:func:`build_plateau`)
    ``"one_cycle"``           ``learning_rate`` is the peak; see
                              :func:`gdlab.estimators._schedule_names.build_pytorch_schedule` for
                              these five
    ``"cyclic"``              between ``base_value`` and ``learning_rate``
    ``"multistep_decay"``     times ``gamma`` at each of ``milestone_epochs``
    ``"polynomial_decay"``    ``(1 - t / T) ** power`` over the horizon
    ``"cosine_restarts"``     cosine restarted every ``period_epochs``
    ========================  ===========================================================

    The names are those of the :mod:`gdlab.schedules` functions; the earlier short names
    "invscaling", "step", "exponential", "cosine", "warmup_cosine" and "adaptive" (scikit-learn's)
    are aliases (:data:`SCHEDULE_ALIASES`). ``max_iter`` is the horizon in epochs of the schedules
    that have one; the estimators decide it once, at the first fit (:func:`horizon_epochs`), so
    that a warm start continues the same schedule. A callable is returned unchanged.

    Examples
    --------
    >>> rate = build_schedule("step", 0.1, n_samples=100, batch_size=50, max_iter=6,
    ...                       parameters={"gamma": 0.5})
    >>> rate(0), rate(3), rate(4)   # 2 updates per epoch, decay every 2 epochs = 4 updates
    (0.1, 0.1, 0.05)
    """
    params = dict(parameters or {})
    if callable(name):
        return name
    name = schedule_name(name)
    params.pop("horizon_epochs", None)  # the caller decided it: max_iter (see horizon_epochs())
    if name in (None, "constant", "reduce_on_plateau"):
        return learning_rate
    per_epoch = n_batches(n_samples, batch_size)
    total = max(1, max_iter * per_epoch)
    if name in PYTORCH_SCHEDULES:
        return build_pytorch_schedule(name, learning_rate, per_epoch, max_iter, params)
    if name == "inverse_scaling":
        return schedules.inverse_scaling(learning_rate, params.pop("power_t", 0.25))
    if name == "step_decay":
        epochs = params.pop("step_epochs", max(1, max_iter // 3))
        return schedules.step_decay(
            learning_rate, int(epochs) * per_epoch, params.pop("gamma", 0.1)
        )
    if name == "exponential_decay":
        return schedules.exponential_decay(learning_rate, params.pop("decay_rate", 0.95), per_epoch)
    if name == "cosine_decay":
        return schedules.cosine_decay(learning_rate, total, params.pop("alpha", 0.0))
    if name == "warmup_cosine_decay":
        warmup = int(params.pop("warmup_epochs", 5)) * per_epoch
        return schedules.warmup_cosine_decay(
            learning_rate, warmup, max(1, total - warmup), params.pop("end_value", 0.0)
        )
    raise ValueError(f"Unknown schedule {name!r}; choose one of: {', '.join(SCHEDULE_NAMES)}.")


def build_plateau(
    name: Any,
    parameters: Mapping[str, Any] | None,
    *,
    n_iter_no_change: int,
    tol: float | None,
) -> schedules.PlateauRule | None:
    """The plateau rule of ``schedule="adaptive"`` (else ``None``).

    scikit-learn's "adaptive": divide the rate by 5 (``factor=0.2``) after ``n_iter_no_change``
    epochs whose loss is not below ``best - tol`` (``patience`` and ``threshold`` override them);
    training stops when the rate has shrunk to ``min_scale`` (1e-6) times the initial one.

    Examples
    --------
    >>> rule = build_plateau("adaptive", None, n_iter_no_change=5, tol=1e-3)
    >>> rule.factor, rule.patience, rule.threshold, rule.threshold_mode, rule.semantics
    (0.2, 5, 0.001, 'abs', 'sklearn')
    """
    if schedule_name(name) != "reduce_on_plateau":
        return None
    options = dict(parameters or {})
    return schedules.reduce_on_plateau(
        factor=options.get("factor", 0.2),
        patience=options.get("patience", n_iter_no_change),
        threshold=options.get("threshold", tol if tol is not None else 1e-4),
        min_scale=options.get("min_scale", 1e-6),
        threshold_mode="abs",
        semantics="sklearn",
    )


def add_plateau(
    tx: GradientTransformation,
    name: Any,
    parameters: Mapping[str, Any] | None,
    *,
    n_iter_no_change: int,
    tol: float | None,
) -> GradientTransformation:
    """``tx`` followed by the plateau rule of ``schedule="adaptive"`` (:func:`build_plateau`) as a
    transformation (:func:`gdlab.optim.plateau.with_plateau`); ``tx`` itself for other schedules.

    Examples
    --------
    >>> from gdlab import optim
    >>> tx = add_plateau(optim.sgd(0.1), "adaptive", None, n_iter_no_change=5, tol=1e-3)
    >>> tx.name, tx.observe is not None
    ('sgd', True)
    """
    rule = build_plateau(name, parameters, n_iter_no_change=n_iter_no_change, tol=tol)
    return tx if rule is None else with_plateau(tx, rule)


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
        if momentum is not None and name in MOMENTUM_OPTIMIZERS:
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
            kernel=clipped.kernel,
            rate=clipped.rate,
        )
    return tx
