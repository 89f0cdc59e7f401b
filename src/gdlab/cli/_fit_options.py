"""The estimator options of ``gdlab fit``: penalty, schedule, momentum, averaging, weights, targets.

:func:`model_options` adds the options; :func:`estimator_settings` turns them into estimator
keyword arguments; :class:`FitData` is the table with several target columns (``--target a,b``) and
a sample-weight column (``--sample-weight COL``) taken out of the features.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import click
import numpy as np

from gdlab.cli._data import Dataset
from gdlab.cli._options import column_list

__all__ = [
    "FitData",
    "add_model_rows",
    "estimator_settings",
    "model_options",
    "parse_schedule_params",
    "settings_text",
    "task_for_loss",
]

PENALTIES = ("none", "l2", "l1", "elasticnet")


def _schedules() -> tuple[str, ...]:
    from gdlab.estimators._builders import SCHEDULE_ALIASES, SCHEDULE_NAMES

    return (*SCHEDULE_NAMES, *SCHEDULE_ALIASES)


def model_options(f: Callable[..., Any]) -> Callable[..., Any]:
    """--penalty, --alpha, --l1-ratio, --schedule, --schedule-param, --momentum, --early-stopping,
    --average, --sample-weight, --class-weight and -q/--quiet, each with an example."""
    options = [
        click.option(
            "--penalty",
            type=click.Choice(PENALTIES),
            default="none",
            show_default=True,
            help="Penalty on the weights, alpha * R(w) (scikit-learn's). "
            "Example: --penalty l2 --alpha 0.01",
        ),
        click.option(
            "--alpha",
            type=click.FloatRange(min=0.0),
            default=1e-4,
            show_default=True,
            help="Strength of the penalty. Example: --alpha 0.001",
        ),
        click.option(
            "--l1-ratio",
            type=click.FloatRange(min=0.0, max=1.0),
            default=0.15,
            show_default=True,
            help="Share of L1 in the elastic net. Example: --penalty elasticnet --l1-ratio 0.5",
        ),
        click.option(
            "--schedule",
            type=click.Choice(_schedules()),
            default=None,
            help="Learning-rate schedule, by its gdlab.schedules name (default: constant). "
            "Example: --schedule one_cycle",
        ),
        click.option(
            "--schedule-param",
            "schedule_param",
            multiple=True,
            metavar="KEY=VALUE",
            help="A parameter of the schedule (its step counts in epochs; repeatable). "
            "Example: --schedule cosine_restarts --schedule-param period_epochs=10",
        ),
        click.option(
            "--momentum",
            type=click.FloatRange(min=0.0, max=1.0, max_open=True),
            default=None,
            help="Momentum of sgd/momentum/nesterov/rmsprop. "
            "Example: --optimizer sgd --momentum 0.9",
        ),
        click.option(
            "--early-stopping",
            is_flag=True,
            help="Hold out 10%% of the training rows, stop when their loss stops improving and "
            "keep the best parameters. Example: --early-stopping",
        ),
        click.option(
            "--average",
            type=click.IntRange(min=1),
            default=None,
            is_flag=False,
            flag_value=1,
            metavar="[N]",
            help="Predict with the mean of the parameters after each update from the N-th "
            "sample on (Polyak-Ruppert averaging; alone: from the first). Example: --average 1000",
        ),
        click.option(
            "--sample-weight",
            metavar="COL",
            default=None,
            help="A column of weights per row (not a feature); streamed and on Dask "
            "(--scheduler) read with each block or partition. Example: --sample-weight w",
        ),
        click.option(
            "--class-weight",
            type=click.Choice(("balanced",)),
            default=None,
            help="Weigh classes inversely to their frequency (classification). "
            "Example: --class-weight balanced",
        ),
        click.option(
            "-q",
            "--quiet",
            is_flag=True,
            help="No progress display on a terminal. Example: -q",
        ),
    ]
    for option in reversed(options):
        f = option(f)
    return f


def _value(text: str) -> Any:
    """``"3"`` -> 3, ``"0.5"`` -> 0.5, ``"true"`` -> True, ``"10,20"`` -> [10, 20], else text."""
    lowered = text.strip().lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    if "," in text:
        return [_value(item) for item in text.split(",") if item.strip()]
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text.strip()


def parse_schedule_params(items: Sequence[str]) -> dict[str, Any] | None:
    """``["period_epochs=10", "mode=triangular2"]`` -> ``{"period_epochs": 10, ...}``.

    Examples
    --------
    >>> parse_schedule_params(["milestone_epochs=10,20", "gamma=0.5", "three_phase=true"])
    {'milestone_epochs': [10, 20], 'gamma': 0.5, 'three_phase': True}
    """
    if not items:
        return None
    params: dict[str, Any] = {}
    for item in items:
        key, sep, text = item.partition("=")
        if not sep or not key.strip() or not text.strip():
            raise click.BadParameter(
                f"{item!r} is not KEY=VALUE (for example period_epochs=10).",
                param_hint="'--schedule-param'",
            )
        params[key.strip()] = _value(text)
    return params


def task_for_loss(task: str, loss: str | None) -> str:
    """The task when ``--task`` is ``auto`` and ``--loss`` is a regression loss: regression
    (``--loss poisson`` on integer counts, which would otherwise read as class labels).

    Examples
    --------
    >>> task_for_loss("auto", "poisson"), task_for_loss("auto", "hinge")
    ('regression', 'auto')
    """
    from gdlab.estimators._linear import GDRegressor

    return "regression" if task == "auto" and loss in GDRegressor.supported_losses() else task


def settings_text(model: Any) -> str | None:
    """The settings of :func:`model_options` that differ from the defaults, for the summary.

    Examples
    --------
    >>> from gdlab import GDRegressor
    >>> settings_text(GDRegressor(penalty="l2", alpha=0.01, schedule="one_cycle"))
    'penalty l2 (alpha 0.01), schedule one_cycle'
    """
    parts = []
    penalty = getattr(model, "penalty", None)  # a network has L2 (alpha) only
    if penalty is not None:
        ratio = f", l1_ratio {model.l1_ratio:g}" if penalty == "elasticnet" else ""
        parts.append(f"penalty {penalty} (alpha {model.alpha:g}{ratio})")
    if model.schedule is not None:
        extra = "".join(f", {k}={v}" for k, v in (model.schedule_params or {}).items())
        parts.append(f"schedule {model.schedule}{extra}")
    if model.momentum is not None:
        parts.append(f"momentum {model.momentum:g}")
    if model.early_stopping:
        parts.append("early stopping")
    if getattr(model, "average", False):
        parts.append(f"averaged from sample {int(model.average)}")
    if getattr(model, "class_weight", None) is not None:
        parts.append(f"class weight {model.class_weight}")
    return ", ".join(parts) or None


def add_model_rows(table: Any, model: Any, task: str) -> None:
    """The rows every ``gdlab fit`` summary shows of the fitted model: its classes (a
    classifier), the optimizer and the other settings chosen (:func:`settings_text`)."""
    from gdlab.cli._output import batch_text, esc

    if task == "classification":
        table.add_row("classes", esc(", ".join(str(c) for c in model.classes_)))
    table.add_row(
        "optimizer",
        f"{model.optimizer}, learning rate {model.learning_rate:g}, "
        f"batch size {batch_text(model.batch_size)}, "
        f"standardize {'on' if model.standardize else 'off'}",
    )
    extra = settings_text(model)
    if extra:
        table.add_row("settings", esc(extra))


def estimator_settings(options: dict[str, Any], task: str, n_targets: int) -> dict[str, Any]:
    """Estimator keyword arguments from the options of :func:`model_options`."""
    if options["schedule_param"] and options["schedule"] is None:
        raise click.UsageError("--schedule-param needs --schedule NAME.")
    if options["class_weight"] is not None and task == "regression":  # "auto": not known yet
        raise click.UsageError("--class-weight is for classification targets.")
    if n_targets > 1 and task == "classification":
        raise click.UsageError("several --target columns need regression targets (--task).")
    settings: dict[str, Any] = {
        "penalty": None if options["penalty"] == "none" else options["penalty"],
        "alpha": options["alpha"],
        "l1_ratio": options["l1_ratio"],
        "schedule": options["schedule"],
        "schedule_params": parse_schedule_params(options["schedule_param"]),
        "momentum": options["momentum"],
        "early_stopping": bool(options["early_stopping"]),
        "average": False if options["average"] is None else int(options["average"]),
    }
    if task == "classification":
        settings["class_weight"] = options["class_weight"]
    return settings


class FitData(Dataset):
    """A :class:`~gdlab.cli._data.Dataset` with ``--target a,b`` and ``--sample-weight COL``.

    The first target column sets the task; the other targets and the weight column are left out
    of the features. ``y`` is 2-D for several targets; ``sample_weight`` is ``None`` or one
    finite weight >= 0 per row.
    """

    def __init__(
        self,
        path: Path,
        target: str,
        task: str,
        features: str | None,
        exclude: str | None,
        weight: str | None,
    ) -> None:
        targets = column_list(target) or [target]
        frame = None
        if len(targets) > 1 or weight is not None:
            from gdlab.data._files import read_table

            frame = read_table(path)  # the columns the features leave out (read again below)
            for name, option in [*((t, "--target") for t in targets), (weight, "--sample-weight")]:
                if name is not None and name not in frame.columns:
                    known = ", ".join(repr(str(c)) for c in frame.columns)
                    raise click.BadParameter(
                        f"{path}: there is no column {name!r}; the columns are {known}.",
                        param_hint=f"'{option}'",
                    )
        left_out = [*(column_list(exclude) or []), *targets[1:], *([weight] if weight else [])]
        super().__init__(path, targets[0], task, features, ",".join(left_out) or None, min_rows=2)
        self.targets = targets
        self.sample_weight: np.ndarray | None = None
        if frame is None:
            return
        if len(targets) > 1:
            self.y = np.column_stack([_numbers(frame, t, path, "--target") for t in targets])
            self.target = ",".join(targets)
        if weight is not None:
            values = _numbers(frame, weight, path, "--sample-weight")
            if np.any(values < 0) or not values.sum() > 0:
                raise click.BadParameter(
                    f"{path}: the weights in column {weight!r} must be >= 0 with a positive sum.",
                    param_hint="'--sample-weight'",
                )
            self.sample_weight = values


def _numbers(frame: Any, column: str, path: Path, option: str) -> np.ndarray:
    """A numeric column as float64, with an error naming the column and the first bad row."""
    import pandas as pd

    values = pd.to_numeric(frame[column], errors="coerce").to_numpy(dtype=np.float64)
    bad = np.flatnonzero(~np.isfinite(values))
    if bad.size:
        raise click.BadParameter(
            f"{path}: column {column!r} needs finite numbers; row {int(bad[0]) + 1} holds "
            f"{frame[column].iloc[bad[0]]!r}.",
            param_hint=option,
        )
    return values
