"""The estimators' schedule names (one vocabulary: :data:`ESTIMATOR_SCHEDULES`) and the
epoch-based settings of PyTorch's cyclic schedules, turned into schedules.

An estimator counts in epochs; :mod:`gdlab._cyclic_schedules` counts in updates. With ``E`` updates
per epoch (``ceil(n_samples / batch_size)``) and a horizon of ``H`` epochs (the first fit's
``max_iter`` unless ``schedule_params["horizon_epochs"]`` says otherwise):

======================  ===================================================================
``"one_cycle"``         ``one_cycle(learning_rate, H * E, pct_start, div_factor,
                        final_div_factor, anneal_strategy, three_phase)``: the peak is
                        ``learning_rate``
``"cyclic"``            ``cyclic(base_value, learning_rate, step_epochs_up * E,
                        step_epochs_down * E, mode, gamma)``; ``base_value`` defaults to
                        ``learning_rate / 10``, ``step_epochs_up`` to ``max(1, H // 8)``
``"multistep_decay"``   ``multistep_decay(learning_rate, [m * E for m in milestone_epochs],
                        gamma)``; the milestones default to ``H // 2`` and ``3 H // 4``
``"polynomial_decay"``  ``polynomial_decay(learning_rate, H * E, power)``
``"cosine_restarts"``   ``cosine_restarts(learning_rate, period_epochs * E, period_mult,
                        min_value)``; ``period_epochs`` defaults to ``max(1, H // 4)``
======================  ===================================================================
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from numbers import Integral
from typing import Any

from gdlab import schedules

__all__ = [
    "ESTIMATOR_SCHEDULES",
    "PYTORCH_SCHEDULES",
    "SCHEDULE_ALIASES",
    "SCHEDULE_NAMES",
    "SCHEDULE_PARAMS",
    "EstimatorSchedule",
    "build_pytorch_schedule",
    "horizon_epochs",
    "schedule_name",
]


@dataclass(frozen=True)
class EstimatorSchedule:
    """A name of the estimators' ``schedule`` setting (and of ``gdlab fit --schedule``).

    ``name`` is the name of the :mod:`gdlab.schedules` function it builds; ``keys`` are the
    ``schedule_params`` it reads (epoch counts where the function counts updates); ``aliases``
    are other names accepted for it: scikit-learn's ``"invscaling"`` and ``"adaptive"`` and the
    short names of earlier gdlab versions.
    """

    name: str
    keys: tuple[str, ...] = ()
    aliases: tuple[str, ...] = ()


#: The one vocabulary of schedule names, read by the estimators' checks, their builders
#: (:func:`gdlab.estimators._builders.build_schedule`) and the command line. Every schedule with a
#: horizon
#: also reads ``horizon_epochs`` (default ``max_iter`` of the first fit; decided once and saved
#: as ``schedule_horizon_``). scikit-learn's ``"constant"`` is a name here; its ``"optimal"``
#: has no gdlab schedule.
ESTIMATOR_SCHEDULES: tuple[EstimatorSchedule, ...] = (
    EstimatorSchedule("constant"),
    EstimatorSchedule("inverse_scaling", ("power_t",), ("invscaling",)),
    EstimatorSchedule("step_decay", ("step_epochs", "gamma", "horizon_epochs"), ("step",)),
    EstimatorSchedule("exponential_decay", ("decay_rate",), ("exponential",)),
    EstimatorSchedule("cosine_decay", ("alpha", "horizon_epochs"), ("cosine",)),
    EstimatorSchedule("warmup_cosine_decay", ("warmup_epochs", "end_value", "horizon_epochs"),
                      ("warmup_cosine",)),
    EstimatorSchedule("reduce_on_plateau", ("factor", "patience", "threshold", "min_scale"),
                      ("adaptive",)),
    EstimatorSchedule("one_cycle", ("pct_start", "div_factor", "final_div_factor",
                                    "anneal_strategy", "three_phase", "horizon_epochs")),
    EstimatorSchedule("cyclic", ("base_value", "step_epochs_up", "step_epochs_down", "mode",
                                 "gamma", "horizon_epochs")),
    EstimatorSchedule("multistep_decay", ("milestone_epochs", "gamma", "horizon_epochs")),
    EstimatorSchedule("polynomial_decay", ("power", "horizon_epochs")),
    EstimatorSchedule("cosine_restarts", ("period_epochs", "period_mult", "min_value",
                                          "horizon_epochs")),
)  # fmt: skip

#: the canonical names, in the table's order
SCHEDULE_NAMES = tuple(entry.name for entry in ESTIMATOR_SCHEDULES)
#: ``SCHEDULE_ALIASES[alias]`` is the name it stands for
SCHEDULE_ALIASES = {alias: entry.name for entry in ESTIMATOR_SCHEDULES for alias in entry.aliases}
#: the ``schedule_params`` keys each name and alias reads
SCHEDULE_PARAMS: dict[str, tuple[str, ...]] = {
    **{entry.name: entry.keys for entry in ESTIMATOR_SCHEDULES},
    **{alias: entry.keys for entry in ESTIMATOR_SCHEDULES for alias in entry.aliases},
}


def schedule_name(name: Any) -> Any:
    """The function name that an estimator's ``schedule`` string stands for (aliases resolved).

    Examples
    --------
    >>> schedule_name("cosine"), schedule_name("cosine_decay"), schedule_name("adaptive")
    ('cosine_decay', 'cosine_decay', 'reduce_on_plateau')
    """
    return SCHEDULE_ALIASES.get(name, name) if isinstance(name, str) else name


PYTORCH_SCHEDULES = (
    "one_cycle",
    "cyclic",
    "multistep_decay",
    "polynomial_decay",
    "cosine_restarts",
)


def horizon_epochs(parameters: Mapping[str, Any] | None, max_iter: int) -> int:
    """The horizon in epochs of a named schedule: ``horizon_epochs`` if given, else ``max_iter``.

    Examples
    --------
    >>> horizon_epochs(None, 200), horizon_epochs({"horizon_epochs": 50}, 200)
    (200, 50)
    """
    value = (parameters or {}).get("horizon_epochs", max_iter)
    if isinstance(value, bool) or not isinstance(value, Integral) or value < 1:
        raise ValueError(
            "The 'horizon_epochs' entry of schedule_params must be an int >= 1. "
            f"Got {value!r} instead."
        )
    return int(value)


def _epochs(params: dict[str, Any], key: str, default: int) -> int:
    value = params.pop(key, default)
    if isinstance(value, bool) or not isinstance(value, Integral) or value < 1:
        raise ValueError(
            f"The {key!r} entry of schedule_params must be an int >= 1 (epochs). "
            f"Got {value!r} instead."
        )
    return int(value)


def build_pytorch_schedule(
    name: str, learning_rate: float, per_epoch: int, horizon: int, params: dict[str, Any]
) -> schedules.Schedule:
    """One of :data:`PYTORCH_SCHEDULES` from an estimator's settings (see the module's table).

    ``params`` holds the remaining ``schedule_params`` (its entries are consumed).

    Examples
    --------
    >>> rate = build_pytorch_schedule("multistep_decay", 1.0, per_epoch=2, horizon=8, params={})
    >>> rate(7), rate(8), rate(12)   # milestones at epochs 4 and 6 = updates 8 and 12
    (1.0, 0.1, 0.010000000000000002)
    """
    total = max(1, horizon * per_epoch)
    if name == "one_cycle":
        return schedules.one_cycle(learning_rate, total, **params)
    if name == "cyclic":
        up = _epochs(params, "step_epochs_up", max(1, horizon // 8))
        down = params.pop("step_epochs_down", None)
        down = None if down is None else _epochs({"step_epochs_down": down}, "step_epochs_down", 1)
        return schedules.cyclic(
            params.pop("base_value", learning_rate / 10),
            learning_rate,
            up * per_epoch,
            None if down is None else down * per_epoch,
            **params,
        )
    if name == "multistep_decay":
        milestones = params.pop("milestone_epochs", [horizon // 2, 3 * horizon // 4])
        if not isinstance(milestones, list | tuple) or not all(
            isinstance(m, Integral) and not isinstance(m, bool) and int(m) >= 0 for m in milestones
        ):
            raise ValueError(
                "The 'milestone_epochs' entry of schedule_params must be a list of ints >= 0. "
                f"Got {milestones!r} instead."
            )
        return schedules.multistep_decay(
            learning_rate, [int(m) * per_epoch for m in milestones], **params
        )
    if name == "polynomial_decay":
        return schedules.polynomial_decay(learning_rate, total, **params)
    period = _epochs(params, "period_epochs", max(1, horizon // 4))
    return schedules.cosine_restarts(learning_rate, period * per_epoch, **params)
