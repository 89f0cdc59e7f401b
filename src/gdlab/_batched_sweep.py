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

from gdlab import optim
from gdlab.backends.batched import BatchedEpochs, NotBatchable
from gdlab.engine import Run, TrainState, train_runs
from gdlab.history import History
from gdlab.optim import GradientTransformation

__all__ = ["batchable", "batched_sweep"]

BACKEND = "batched"

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
    from gdlab._batching import n_batches
    from gdlab.backends import _NUMPY_ELEMENT_SECONDS, _NUMPY_STEP_SECONDS
    from gdlab.estimators._base import BaseGD

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

    The data are prepared once, exactly as the estimator's own ``fit`` prepares them
    (``prepare_run``); every run is then adopted by its estimator as its ``fit`` would adopt it
    (``adopt_run``). Only the estimators' public doors are used: ``validate_params``,
    ``prepare_run``, ``optimizer_for``, ``adopt_run`` and ``history_in_data_units``.
    ``on_epoch(epoch, losses)`` is :func:`gdlab.engine.train_runs`'s hook.

    Returns
    -------
    list of (estimator or None, History or None, DivergenceError or None), one per value
    """
    models = [clone(estimator).set_params(learning_rate=value) for value in values]
    try:
        for model in models:
            model.validate_params()
    except (TypeError, ValueError):
        return None  # the one-fit-per-value path raises the error that names the value
    prepared = models[0]
    prepared_run = prepared.prepare_run(X, y, sample_weight)  # exactly as its fit prepares it
    objective = prepared_run.objective
    if objective.n_outputs != 1 or prepared_run.config.plateau is not None:
        return None
    theta0 = prepared_run.state.params
    epochs = BatchedEpochs(
        objective,
        _joint_optimizer(prepared, values, theta0.dtype),
        np.repeat(theta0[:, None], len(values), axis=1),
        prepared_run.config,
    )
    runs = [
        Run(TrainState(theta0.copy(), epochs.column_state(r)), History(backend=BACKEND), tx, r)
        for r, tx in enumerate(model.optimizer_for(objective.n_samples) for model in models)
    ]
    try:
        train_runs(objective, runs, epochs.config, epochs, epochs.final_losses, on_epoch=on_epoch)
    except NotBatchable:
        return None
    results: list[tuple[Any, Any, Any]] = []
    for model, run in zip(models, runs, strict=True):
        if run.error is not None:
            history = prepared.history_in_data_units(prepared_run, run.error.history)
            results.append((None, history, run.error))
            continue
        model.adopt_run(prepared_run, run.result, fitted_like=prepared)
        results.append((model, model.history_, None))
    return results


def _joint_optimizer(prepared: Any, values: list[Any], dtype: Any) -> GradientTransformation:
    """The estimator's optimizer with one learning rate per run (the columns)."""
    from gdlab.estimators._builders import build_optimizer

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
