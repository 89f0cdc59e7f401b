"""The batched fast path of :func:`gdlab.sweep` for learning rates of a linear estimator.

Instead of one ``fit`` per rate (each reading ``X`` every epoch), the data are validated once and
all rates are trained together by the one training loop (:func:`gdlab.engine.train_runs`) with
the batched epoch function (:class:`gdlab.backends.batched.BatchedEpochs`), the parameters of the
runs as the columns of one matrix. Each run then becomes a fitted estimator exactly as its own
``fit`` would have left it (coefficients, ``history_``, training state for warm starts and
checkpoints), or a recorded divergence with the same message.

When the sweep is large enough to matter, the fast path applies to :class:`~gdlab.GDRegressor`
and binary :class:`~gdlab.GDClassifier` sweeps of ``learning_rate`` with a named optimizer, a
constant rate (no schedule), no early stopping, no averaging and no per-run ``fit_params``.
Otherwise :func:`batchable` says no (or :func:`batched_sweep` returns ``None``) and the sweep
falls back to one fit per value; ``backend="numpy"`` on the estimator asks for that reference
too.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.base import clone
from sklearn.utils import check_random_state

from gdlab import losses, optim
from gdlab.backends.batched import BatchedEpochs, NotBatchable
from gdlab.engine import Run, TrainConfig, TrainState, train_runs
from gdlab.history import History
from gdlab.optim import GradientTransformation

__all__ = ["batchable", "batched_sweep"]

BACKEND = "batched"

#: attributes that validation and scaling set on the prepared model and every run shares
_SHARED = (
    "n_features_in_",
    "feature_names_in_",
    "classes_",
    "_seed",
    "_x_mean",
    "_x_scale",
    "_y_scale",
)


#: estimated seconds of the one-fit-per-value sweep above which the runs are batched (below it the
#: reference path is cheap, and bit-for-bit the same as independent fits)
BATCH_SECONDS = 0.25


def batchable(
    estimator: Any, param: str, values: list[Any], fit_kwargs: list[dict[str, Any]], X: Any = None
) -> bool:
    """Whether :func:`batched_sweep` can, and should, train these runs together.

    ``X`` (anything with a ``shape``) enables the size rule: the runs are batched when one fit
    per value would take about :data:`BATCH_SECONDS` or more (the cost model of
    :func:`gdlab.backends.worth_compiling`); without ``X`` only the applicability is checked.
    """
    from gdlab._base import BaseGD
    from gdlab.backends import _NUMPY_ELEMENT_SECONDS, _NUMPY_STEP_SECONDS
    from gdlab.batching import n_batches

    if param != "learning_rate" or not isinstance(estimator, BaseGD) or len(values) < 2:
        return False
    p = estimator.get_params(deep=False)
    if X is not None:
        shape = getattr(X, "shape", None)
        if shape is None or len(shape) != 2 or not isinstance(p.get("max_iter"), int):
            return False
        n, d = int(shape[0]), int(shape[1])
        try:
            steps = n_batches(max(n, 1), p.get("batch_size"))
        except (TypeError, ValueError, ZeroDivisionError):
            return False  # a bad batch_size: the reference path reports it
        epoch = steps * _NUMPY_STEP_SECONDS + n * d * _NUMPY_ELEMENT_SECONDS
        if len(values) * p["max_iter"] * epoch < BATCH_SECONDS:
            return False
    simple = (
        p.get("backend") != "numpy"
        and isinstance(p.get("optimizer"), str)
        and p.get("schedule") in (None, "constant")
        and not p.get("early_stopping")
        and not p.get("warm_start")
        and not p.get("verbose")
        and not p.get("average")  # the mean of the iterates is a per-run optimizer state
    )
    return simple and not any(fit_kwargs)


def batched_sweep(
    estimator: Any, X: Any, y: Any, values: list[Any], sample_weight: Any, on_epoch: Any = None
) -> Any:
    """Train one run per learning rate together; ``None`` when the runs cannot be batched.

    ``on_epoch(epoch, losses)`` is :func:`gdlab.engine.train_runs`'s per-epoch hook.

    Returns
    -------
    list of (estimator or None, History or None, DivergenceError or None), one per value
    """
    from gdlab.params import check_params

    models = [clone(estimator).set_params(learning_rate=value) for value in values]
    try:
        for model in models:
            check_params(model, model._losses)
    except (TypeError, ValueError):
        return None  # the one-fit-per-value path raises the error that names the value
    prepared = models[0]
    objective = _objective(prepared, X, y, sample_weight)
    if objective is None:
        return None
    theta0 = prepared._initial_params(objective, None, None, objective.X.dtype)
    epochs = BatchedEpochs(
        objective,
        _joint_optimizer(prepared, values, objective.X.dtype),
        np.repeat(theta0[:, None], len(values), axis=1),
        _config(prepared),
    )
    runs = [
        Run(TrainState(theta0.copy(), epochs.column_state(r)), History(backend=BACKEND), tx, r)
        for r, tx in enumerate(model._optimizer(objective.n_samples) for model in models)
    ]
    try:
        train_runs(objective, runs, epochs.config, epochs, epochs.final_losses, on_epoch=on_epoch)
    except NotBatchable:
        return None
    results: list[tuple[Any, Any, Any]] = []
    for model, run in zip(models, runs, strict=True):
        for name in _SHARED:
            if hasattr(prepared, name):
                setattr(model, name, getattr(prepared, name))
        if run.error is not None:
            history = run.error.history
            model._to_original_units(objective, history, 0)
            results.append((None, history, run.error))
            continue
        model._adopt_result(objective, run.result, 0)
        results.append((model, model.history_, None))
    return results


def _objective(prepared: Any, X: Any, y: Any, sample_weight: Any) -> Any:
    """Validate and scale the data as ``prepared.fit`` would; ``None`` when not batchable.

    Sets the fitted attributes that every run shares (:data:`_SHARED`) on ``prepared``.
    """
    from gdlab._base import check_sample_weight
    from gdlab.objectives import LinearObjective
    from gdlab.params import build_plateau

    X, y = prepared._validate_xy(X, y, reset=True)
    targets = prepared._encode_targets(y, first_call=True, classes=None)
    targets = targets.astype(X.dtype, copy=False)
    if targets.ndim != 1:
        return None
    weight = check_sample_weight(sample_weight, X.shape[0], X.dtype)
    stats = prepared._check_x(X, targets, weight, statistics=True)
    prepared._seed = int(check_random_state(prepared.random_state).randint(np.iinfo(np.int32).max))
    prepared._set_scaling(X, weight, stats)
    prepared._y_scale = prepared._target_scale(targets, weight)
    if prepared._target_scaling() != 1.0:
        targets = targets / np.asarray(prepared._target_scaling(), dtype=targets.dtype)
    loss = prepared._loss_object(1)
    penalty = losses.get_penalty(prepared.penalty, prepared.alpha, prepared.l1_ratio)
    objective = LinearObjective(
        prepared._scale(X), targets, loss, penalty, prepared.fit_intercept, weight
    )
    plateau = build_plateau(
        prepared.schedule,
        prepared.schedule_params,
        n_iter_no_change=prepared.n_iter_no_change,
        tol=prepared.tol,
    )
    if plateau is not None:
        return None
    return objective


def _joint_optimizer(prepared: Any, values: list[Any], dtype: Any) -> GradientTransformation:
    """The estimator's optimizer with one learning rate per run (the columns)."""
    from gdlab.params import build_optimizer

    rates: Any = np.array([float(value) for value in values], dtype=dtype)
    optimizer = build_optimizer(
        prepared.optimizer,
        rates,
        momentum=prepared.momentum,
        extra=prepared.optimizer_params,
        clip_norm=None,
    )
    if prepared.clip_norm is not None:
        optimizer = _clip_columns(optimizer, prepared.clip_norm)
    return optimizer


def _config(prepared: Any) -> TrainConfig:
    """The training settings of ``prepared``'s own ``fit`` (after :func:`_objective`)."""
    return TrainConfig(
        batch_size=prepared.batch_size,
        max_epochs=prepared.max_iter,
        shuffle=bool(prepared.shuffle),
        seed=prepared._seed,
        tol=prepared.tol,
        n_iter_no_change=prepared.n_iter_no_change,
        record_params=bool(prepared.record_params),
        backend=prepared.backend,
        loss_scale=prepared._target_scaling() ** 2,
    )


def _clip_columns(optimizer: GradientTransformation, clip_norm: float) -> GradientTransformation:
    """``clip_by_global_norm`` per run (per column), then the optimizer."""
    clipped = optim.chain(optim.clip_by_global_norm(clip_norm, axis=0), optimizer)
    return GradientTransformation(
        clipped.init,
        clipped.update,
        name=optimizer.name,
        hyperparams={**optimizer.hyperparams, "clip_norm": clip_norm},
        rate=clipped.rate,
    )
