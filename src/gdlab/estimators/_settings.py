"""The estimators' settings and their constraints: one declarative table per estimator family.

As scikit-learn's ``_parameter_constraints``, each family lists its settings in the order they are
checked, each with a :class:`Rule` (what is required, in words, and the test). A bad value gets
scikit-learn's message: "The 'learning_rate' parameter of GDRegressor must be a float > 0. Got -1
instead."

- :data:`LINEAR_SETTINGS`: :class:`~gdlab.GDRegressor` and :class:`~gdlab.GDClassifier` (and the
  training settings the networks share); ``loss`` is checked first, among the estimator's losses.
- :data:`MLP_SETTINGS`: what :class:`~gdlab.MLPRegressor` and :class:`~gdlab.MLPClassifier` add.

Settings that depend on each other (``schedule_params`` on ``schedule``; ``class_weight``,
``average``; parameters that the other settings ignore) are checked after the table, once every
value is valid on its own.

Examples
--------
>>> from gdlab import GDRegressor
>>> check_params(GDRegressor(learning_rate=-1), ("squared_error",))
Traceback (most recent call last):
...
ValueError: The 'learning_rate' parameter of GDRegressor must be a float > 0. Got -1 instead.
"""

from __future__ import annotations

import math
import numbers
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from gdlab import optim
from gdlab._sgd_losses import EPSILON_LOSSES
from gdlab.estimators._options import check_options
from gdlab.estimators._schedule_names import SCHEDULE_ALIASES, SCHEDULE_NAMES, SCHEDULE_PARAMS
from gdlab.optim import GradientTransformation

__all__ = [
    "LINEAR_SETTINGS",
    "MLP_SETTINGS",
    "MOMENTUM_OPTIMIZERS",
    "Rule",
    "check_mlp_params",
    "check_params",
]


@dataclass(frozen=True)
class Rule:
    """A setting's constraint: ``requirement`` in words ("a float > 0") and the test ``ok``."""

    requirement: str
    ok: Callable[[Any], bool]


def _is_real(value: Any) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool | np.bool_)


def _is_int(value: Any) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool | np.bool_)


def real(requirement: str, ok: Callable[[float], bool], *, none: bool = False) -> Rule:
    """A real number (not a bool, not NaN) that passes ``ok``; ``None`` too when ``none``."""
    return Rule(
        requirement + (" or None" if none else ""),
        lambda v: (none and v is None) or (_is_real(v) and not math.isnan(v) and ok(v)),
    )


def integer(low: int, *, none: bool = False) -> Rule:
    """An int ``>= low`` (not a bool); ``None`` too when ``none``."""
    return Rule(
        f"an int >= {low}" + (" or None" if none else ""),
        lambda v: (none and v is None) or (_is_int(v) and v >= low),
    )


def among(options: tuple[str, ...], extra: str = "", *, none: bool = False) -> Rule:
    """One of the strings ``options`` (``extra`` is added to the requirement's words)."""
    words = "a str among {" + ", ".join(repr(o) for o in options) + "}" + extra
    return Rule(words, lambda v: (none and v is None) or (isinstance(v, str) and v in options))


BOOL = Rule("a bool", lambda v: isinstance(v, bool | np.bool_))
DICT = Rule("a dict or None", lambda v: v is None or isinstance(v, Mapping))

_RANDOM_STATE_MAX = 2**32 - 1

#: The named optimizers that read the ``momentum`` parameter.
MOMENTUM_OPTIMIZERS = ("sgd", "momentum", "nesterov", "rmsprop")

_OPTIMIZER = among(tuple(optim.OPTIMIZERS), " or a GradientTransformation")
_ALIASES = ", ".join(repr(a) for a in SCHEDULE_ALIASES)
_SCHEDULE = among(SCHEDULE_NAMES, f" (or an alias: {_ALIASES}), a callable or None")

#: The settings of the linear estimators, in the order they are checked (after ``loss``).
LINEAR_SETTINGS: tuple[tuple[str, Rule], ...] = (
    ("penalty", among(("l2", "l1", "elasticnet"), " or None", none=True)),
    ("alpha", real("a float >= 0", lambda v: v >= 0)),
    ("l1_ratio", real("a float in the range [0, 1]", lambda v: 0 <= v <= 1)),
    ("fit_intercept", BOOL),
    ("optimizer", Rule(_OPTIMIZER.requirement,
                       lambda v: isinstance(v, GradientTransformation) or _OPTIMIZER.ok(v))),
    ("learning_rate", real("a float > 0", lambda v: v > 0)),
    ("momentum", real("a float in the range [0, 1)", lambda v: 0 <= v < 1, none=True)),
    ("optimizer_params", DICT),
    ("schedule_params", DICT),
    ("schedule", Rule(_SCHEDULE.requirement,
                      lambda v: v is None or callable(v) or v in SCHEDULE_ALIASES
                      or _SCHEDULE.ok(v))),
    ("batch_size", integer(1, none=True)),
    ("max_iter", integer(1)),
    ("tol", real("a float >= 0", lambda v: v >= 0, none=True)),
    ("n_iter_no_change", integer(1)),
    ("early_stopping", BOOL),
    ("validation_fraction", real("a float in the range (0, 1)", lambda v: 0 < v < 1)),
    ("shuffle", BOOL),
    ("random_state", Rule(
        f"an int in the range [0, {_RANDOM_STATE_MAX}], an instance of "
        "'numpy.random.RandomState' or None",
        lambda v: v is None or isinstance(v, np.random.RandomState)
        or (_is_int(v) and 0 <= v <= _RANDOM_STATE_MAX),
    )),
    ("warm_start", BOOL),
    ("clip_norm", real("a float > 0", lambda v: v > 0, none=True)),
    ("standardize", BOOL),
    ("verbose", Rule("an int >= 0 or a bool",
                     lambda v: (isinstance(v, bool | np.bool_) or _is_int(v)) and v >= 0)),
    ("record_params", BOOL),
    ("backend", among(("auto", "numpy", "numba"))),
    ("epsilon", real("a float > 0", lambda v: v > 0)),  # only estimators with epsilon-losses
)  # fmt: skip


#: ``schedule_params`` keys are checked against ``schedule`` right after the schedule itself
_SCHEDULE_END = [name for name, _ in LINEAR_SETTINGS].index("schedule") + 1


def _sizes_ok(sizes: Any) -> bool:
    if isinstance(sizes, numbers.Integral) and not isinstance(sizes, bool):
        sizes = (sizes,)
    return (
        isinstance(sizes, tuple | list)
        and all(isinstance(h, numbers.Integral) and not isinstance(h, bool) for h in sizes)
        and all(h >= 1 for h in sizes)
    )


def _mlp_settings() -> tuple[tuple[str, Rule], ...]:
    from gdlab.nn import INITS
    from gdlab.nn.activations import ACTIVATIONS

    return (
        ("hidden_layer_sizes", Rule("a tuple of ints >= 1", _sizes_ok)),
        ("activation", Rule("a str among {" + ", ".join(map(repr, ACTIVATIONS)) + "}",
                            lambda v: v in ACTIVATIONS)),
        ("init", Rule("a str among {" + ", ".join(map(repr, INITS)) + "}", lambda v: v in INITS)),
        ("init_scale", real("a float > 0", lambda v: v > 0)),
        ("batch_norm", BOOL),
        ("dropout", real("a float in the range [0, 1)", lambda v: 0 <= v < 1)),
    )  # fmt: skip


#: The settings a network adds to the training settings of :data:`LINEAR_SETTINGS`, in order
#: (built on first use: it reads the activations and initializations of :mod:`gdlab.nn`).
MLP_SETTINGS = _mlp_settings

#: settings of the linear estimators that a network does not have (checked with these values)
_LINEAR_ONLY = {
    "loss": "squared_error",
    "penalty": None,
    "l1_ratio": 0.15,
    "fit_intercept": True,
    "record_params": False,
    "backend": "numpy",
}


def _check_table(owner: str, p: Mapping[str, Any], table: tuple[tuple[str, Rule], ...]) -> None:
    """Raise naming the first setting of ``table`` (present in ``p``) that breaks its rule."""
    for name, rule in table:
        if name in p and not rule.ok(p[name]):
            raise ValueError(
                f"The {name!r} parameter of {owner} must be {rule.requirement}. "
                f"Got {p[name]!r} instead."
            )


def check_params(estimator: Any, losses: tuple[str, ...]) -> None:
    """Check every hyperparameter of a GD estimator; raise ``ValueError`` naming the first bad one.

    ``loss`` must be one of ``losses``; then :data:`LINEAR_SETTINGS` in order (the keys of
    ``schedule_params`` right after ``schedule``), then the settings that depend on others.
    The messages use scikit-learn's wording.
    """
    owner = type(estimator).__name__
    p = estimator.get_params(deep=False)
    _check_table(owner, p, (("loss", among(losses)), *LINEAR_SETTINGS[:_SCHEDULE_END]))
    _check_schedule_params(owner, p["schedule"], p["schedule_params"])
    _check_table(owner, p, LINEAR_SETTINGS[_SCHEDULE_END:])
    check_options(owner, p)  # class_weight and average
    _warn_ignored(owner, p)  # once every value is valid


def check_mlp_params(estimator: Any) -> None:
    """Check every hyperparameter of a network; raise ``ValueError`` naming the first bad one.

    The training settings shared with the linear estimators first (:func:`check_params`), then
    :data:`MLP_SETTINGS`.
    """
    owner = type(estimator).__name__
    p = estimator.get_params(deep=False)
    proxy = type(owner, (), {"get_params": lambda self, deep=False: {**_LINEAR_ONLY, **p}})()
    check_params(proxy, ("squared_error",))
    _check_table(owner, p, MLP_SETTINGS())


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
