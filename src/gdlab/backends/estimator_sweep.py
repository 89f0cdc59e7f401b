"""The batched fast path of :func:`gdlab.sweep` for learning rates of a linear estimator.

Instead of one ``fit`` per rate (each reading ``X`` every epoch), the data are validated once and
all rates are trained together by :func:`gdlab.backends.batched.train_runs`, the parameters of
the runs as the columns of one matrix. Each run then becomes a fitted estimator exactly as its own
``fit`` would have left it (coefficients, ``history_``, training state for warm starts and
checkpoints), or a recorded divergence with the same message.

When the sweep is large enough to matter, the fast path applies to :class:`~gdlab.GDRegressor`
and binary :class:`~gdlab.GDClassifier` sweeps of ``learning_rate`` with a named optimizer, a
constant rate (no schedule), no early stopping and no per-run ``fit_params``. Otherwise
:func:`batchable` says no (or :func:`batched_sweep` returns ``None``) and the sweep falls back
to one fit per value; ``backend="numpy"`` on the estimator asks for that reference too.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.base import clone

from gdlab import optim
from gdlab.backends.batched import NotBatchable, train_runs
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
    )
    return simple and not any(fit_kwargs)


def batched_sweep(
    estimator: Any, X: Any, y: Any, values: list[Any], sample_weight: Any, on_epoch: Any = None
) -> Any:
    """Train one run per learning rate together; ``None`` when the runs cannot be batched.

    ``on_epoch(epoch, losses)`` is :func:`gdlab.backends.batched.train_runs`'s per-epoch hook.

    Returns
    -------
    list of (estimator or None, History or None, DivergenceError or None), one per value
    """
    from gdlab.engine import TrainState
    from gdlab.params import build_optimizer, check_params

    models = [clone(estimator).set_params(learning_rate=value) for value in values]
    try:
        for model in models:
            check_params(model, model._losses)
    except (TypeError, ValueError):
        return None  # the one-fit-per-value path raises the error that names the value
    prepared = models[0]
    run = prepared.prepare_run(X, y, sample_weight)  # exactly as its fit prepares it
    objective = run.objective
    if objective.n_outputs != 1:
        return None
    if run.config.plateau is not None:
        return None
    scalar_optimizers = [model._optimizer(objective.n_samples) for model in models]
    rates: Any = np.array([float(value) for value in values], dtype=run.state.params.dtype)
    optimizer = build_optimizer(
        prepared.optimizer,
        rates,
        momentum=prepared.momentum,
        extra=prepared.optimizer_params,
        clip_norm=None,
    )
    if prepared.clip_norm is not None:
        optimizer = _clip_columns(optimizer, prepared.clip_norm)
    theta0, config = run.state.params, run.config

    def make_state(params: Any, opt_state: Any) -> TrainState:
        return TrainState(params=params, opt_state=opt_state)

    try:
        outcomes = train_runs(
            objective,
            optimizer,
            np.repeat(theta0[:, None], len(values), axis=1),
            config,
            scalar_optimizers,
            make_state,
            BACKEND,
            on_epoch,
        )
    except NotBatchable:
        return None
    results: list[tuple[Any, Any, Any]] = []
    for model, outcome in zip(models, outcomes, strict=True):
        if outcome.error is not None:
            history = prepared.history_in_data_units(run, outcome.error.history)
            results.append((None, history, outcome.error))
            continue
        model.adopt_run(run, outcome.result, fitted_like=prepared)
        results.append((model, model.history_, None))
    return results


def _clip_columns(optimizer: GradientTransformation, clip_norm: float) -> GradientTransformation:
    """``clip_by_global_norm`` per run (per column), then the optimizer."""
    clipped = optim.chain(optim.clip_by_global_norm(clip_norm, axis=0), optimizer)
    return GradientTransformation(
        clipped.init,
        clipped.update,
        name=optimizer.name,
        hyperparams={**optimizer.hyperparams, "clip_norm": clip_norm},
    )
