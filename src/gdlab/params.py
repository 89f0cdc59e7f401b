"""Validation of estimator hyperparameters, with scikit-learn's wording, and the objects they build.

Messages read like scikit-learn's: "The 'learning_rate' parameter of GDRegressor must be a
float > 0. Got -1 instead."
"""

from __future__ import annotations

import math
import numbers
import warnings
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from gdlab import optim, schedules
from gdlab.batching import n_batches
from gdlab.estimator_options import check_options
from gdlab.optim import GradientTransformation
from gdlab.schedule_params import PYTORCH_SCHEDULES, build_pytorch_schedule, horizon_epochs
from gdlab.sgd_losses import EPSILON_LOSSES

__all__ = [
    "SCHEDULE_ALIASES",
    "SCHEDULE_NAMES",
    "SCHEDULE_PARAMS",
    "build_optimizer",
    "build_plateau",
    "build_schedule",
    "check_params",
    "horizon_epochs",
    "schedule_name",
]

#: The estimators' schedule names are the names of the functions of :mod:`gdlab.schedules`.
#: The short names of earlier versions (scikit-learn's "invscaling" and "adaptive" among them)
#: stay as aliases: ``SCHEDULE_ALIASES[alias]`` is the name it stands for.
SCHEDULE_ALIASES = {
    "invscaling": "inverse_scaling",
    "step": "step_decay",
    "exponential": "exponential_decay",
    "cosine": "cosine_decay",
    "warmup_cosine": "warmup_cosine_decay",
    "adaptive": "reduce_on_plateau",
}

SCHEDULE_NAMES = (
    "constant",
    "inverse_scaling",
    "step_decay",
    "exponential_decay",
    "cosine_decay",
    "warmup_cosine_decay",
    "reduce_on_plateau",
    "one_cycle",
    "cyclic",
    "multistep_decay",
    "polynomial_decay",
    "cosine_restarts",
)


def schedule_name(name: Any) -> Any:
    """The function name that an estimator's ``schedule`` string stands for (aliases resolved).

    Examples
    --------
    >>> schedule_name("cosine"), schedule_name("cosine_decay"), schedule_name("adaptive")
    ('cosine_decay', 'cosine_decay', 'reduce_on_plateau')
    """
    return SCHEDULE_ALIASES.get(name, name) if isinstance(name, str) else name


def _is_real(value: Any) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool | np.bool_)


def _is_int(value: Any) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool | np.bool_)


def _fail(owner: str, name: str, requirement: str, value: Any) -> None:
    raise ValueError(
        f"The {name!r} parameter of {owner} must be {requirement}. Got {value!r} instead."
    )


def _among(options: tuple[str, ...]) -> str:
    return "a str among {" + ", ".join(repr(o) for o in options) + "}"


#: The keys each named schedule accepts in ``schedule_params`` (see :func:`build_schedule`).
#: Every schedule with a horizon also reads ``horizon_epochs`` (default ``max_iter`` of the first
#: fit; it is decided once and saved as ``schedule_horizon_``).
SCHEDULE_PARAMS: dict[str, tuple[str, ...]] = {
    "constant": (),
    "inverse_scaling": ("power_t",),
    "step_decay": ("step_epochs", "gamma", "horizon_epochs"),
    "exponential_decay": ("decay_rate",),
    "cosine_decay": ("alpha", "horizon_epochs"),
    "warmup_cosine_decay": ("warmup_epochs", "end_value", "horizon_epochs"),
    "reduce_on_plateau": ("factor", "patience", "threshold", "min_scale"),
    "one_cycle": ("pct_start", "div_factor", "final_div_factor", "anneal_strategy",
                  "three_phase", "horizon_epochs"),
    "cyclic": ("base_value", "step_epochs_up", "step_epochs_down", "mode", "gamma",
               "horizon_epochs"),
    "multistep_decay": ("milestone_epochs", "gamma", "horizon_epochs"),
    "polynomial_decay": ("power", "horizon_epochs"),
    "cosine_restarts": ("period_epochs", "period_mult", "min_value", "horizon_epochs"),
}  # fmt: skip
SCHEDULE_PARAMS.update({alias: SCHEDULE_PARAMS[name] for alias, name in SCHEDULE_ALIASES.items()})

_RANDOM_STATE_MAX = 2**32 - 1

#: The named optimizers that read the ``momentum`` parameter.
MOMENTUM_OPTIMIZERS = ("sgd", "momentum", "nesterov", "rmsprop")


def check_params(estimator: Any, losses: tuple[str, ...]) -> None:
    """Check every hyperparameter of a GD estimator; raise ``ValueError`` naming the first bad one.

    The messages use scikit-learn's wording, for example "The 'learning_rate' parameter of
    GDRegressor must be a float > 0. Got -1 instead."
    """
    owner = type(estimator).__name__
    p = estimator.get_params(deep=False)

    def real(name: str, requirement: str, ok: Callable[[float], bool], none: bool = False) -> None:
        value = p[name]
        if none and value is None:
            return
        if not (_is_real(value) and not math.isnan(value) and ok(value)):
            _fail(owner, name, requirement + (" or None" if none else ""), value)

    def integer(name: str, low: int, *, none: bool = False) -> None:
        value = p[name]
        if none and value is None:
            return
        if not (_is_int(value) and value >= low):
            _fail(owner, name, f"an int >= {low}" + (" or None" if none else ""), value)

    def boolean(name: str) -> None:
        if not isinstance(p[name], bool | np.bool_):
            _fail(owner, name, "a bool", p[name])

    def string(name: str, options: tuple[str, ...], extra: str = "") -> None:
        if not (isinstance(p[name], str) and p[name] in options):
            _fail(owner, name, _among(options) + extra, p[name])

    string("loss", losses)
    if p["penalty"] is not None:
        string("penalty", ("l2", "l1", "elasticnet"), " or None")
    real("alpha", "a float >= 0", lambda v: v >= 0)
    real("l1_ratio", "a float in the range [0, 1]", lambda v: 0 <= v <= 1)
    boolean("fit_intercept")
    if not isinstance(p["optimizer"], GradientTransformation):
        string("optimizer", tuple(optim.OPTIMIZERS), " or a GradientTransformation")
    real("learning_rate", "a float > 0", lambda v: v > 0)
    real("momentum", "a float in the range [0, 1)", lambda v: 0 <= v < 1, none=True)
    for name in ("optimizer_params", "schedule_params"):
        if p[name] is not None and not isinstance(p[name], Mapping):
            _fail(owner, name, "a dict or None", p[name])
    schedule = p["schedule"]
    if schedule is not None and not callable(schedule) and schedule not in SCHEDULE_ALIASES:
        aliases = ", ".join(repr(a) for a in SCHEDULE_ALIASES)
        string("schedule", SCHEDULE_NAMES, f" (or an alias: {aliases}), a callable or None")
    _check_schedule_params(owner, schedule, p["schedule_params"])
    integer("batch_size", 1, none=True)
    integer("max_iter", 1)
    real("tol", "a float >= 0", lambda v: v >= 0, none=True)
    integer("n_iter_no_change", 1)
    boolean("early_stopping")
    real("validation_fraction", "a float in the range (0, 1)", lambda v: 0 < v < 1)
    boolean("shuffle")
    random_state = p["random_state"]
    if not (
        random_state is None
        or isinstance(random_state, np.random.RandomState)
        or (_is_int(random_state) and 0 <= random_state <= _RANDOM_STATE_MAX)
    ):
        _fail(
            owner,
            "random_state",
            f"an int in the range [0, {_RANDOM_STATE_MAX}], an instance of "
            "'numpy.random.RandomState' or None",
            random_state,
        )
    boolean("warm_start")
    real("clip_norm", "a float > 0", lambda v: v > 0, none=True)
    boolean("standardize")
    if not (isinstance(p["verbose"], bool | np.bool_) or _is_int(p["verbose"])) or p["verbose"] < 0:
        _fail(owner, "verbose", "an int >= 0 or a bool", p["verbose"])
    boolean("record_params")
    string("backend", ("auto", "numpy", "numba"))
    if "epsilon" in p:
        real("epsilon", "a float > 0", lambda v: v > 0)
    check_options(owner, p)  # class_weight and average
    _warn_ignored(owner, p)  # once every value is valid


#: (parameter, its default, whether the settings use it, when it is used): a value other than the
#: default for a parameter that the other settings ignore gets a warning, as scikit-learn does;
#: one that the chosen *optimizer* ignores (``OPTIMIZER_IGNORES``) is an error.
_USED_WHEN: tuple[tuple[str, Any, Callable[[Mapping[str, Any]], bool], str], ...] = (
    (
        "momentum",
        None,
        lambda p: not isinstance(p["optimizer"], str) or p["optimizer"] in MOMENTUM_OPTIMIZERS,
        f"by optimizer in {{{', '.join(repr(o) for o in MOMENTUM_OPTIMIZERS)}}} (Adam's momentum "
        "is optimizer_params={'b1': ...})",
    ),
    ("l1_ratio", 0.15, lambda p: p["penalty"] == "elasticnet", "with penalty='elasticnet'"),
    (
        "epsilon",
        1.0,
        lambda p: p.get("loss") in ("huber", *EPSILON_LOSSES),
        f"with loss in {{'huber', {', '.join(repr(name) for name in EPSILON_LOSSES)}}}",
    ),
    ("validation_fraction", 0.1, lambda p: bool(p["early_stopping"]), "with early_stopping=True"),
)


#: Settings of the update rule itself: the chosen optimizer would ignore them, so they raise.
OPTIMIZER_IGNORES = ("momentum",)


def _warn_ignored(owner: str, p: Mapping[str, Any]) -> None:
    """Refuse optimizer settings that the chosen optimizer ignores (``momentum`` with Adam) and
    warn about other parameters set to something other than their default that do nothing."""
    for name, default, used, when in _USED_WHEN:
        if name in p and p[name] != default and not used(p):
            if name in OPTIMIZER_IGNORES:
                raise ValueError(
                    f"The {name!r} parameter of {owner} is ignored by optimizer="
                    f"{p['optimizer']!r}: it is used only {when}. Got {name}={p[name]!r}."
                )
            warnings.warn(
                f"The {name!r} parameter of {owner} is ignored with these settings: it is used "
                f"only {when}. Got {name}={p[name]!r}.",
                UserWarning,
                stacklevel=4,
            )


def _check_schedule_params(owner: str, schedule: Any, parameters: Mapping[str, Any] | None) -> None:
    """Refuse ``schedule_params`` keys that the chosen schedule does not read."""
    if not parameters:
        return
    allowed = SCHEDULE_PARAMS.get(schedule, ()) if isinstance(schedule, str) else ()
    unknown = [key for key in parameters if key not in allowed]
    if unknown:
        shown = ", ".join(repr(k) for k in unknown)
        known = ", ".join(allowed) if allowed else "none"
        raise ValueError(
            f"The 'schedule_params' parameter of {owner} has keys that schedule={schedule!r} "
            f"does not use: {shown}. Keys it reads: {known}."
        )


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
                              :func:`gdlab.schedule_params.build_pytorch_schedule` for these five
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
            rate=clipped.rate,
        )
    return tx
