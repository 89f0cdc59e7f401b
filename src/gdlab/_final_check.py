"""The engine's final check: the loss at a run's returned parameters for the divergence rule,
and the loss at its start to compare it with.

:func:`final_loss` gives :func:`gdlab.engine.train`'s final check its value, exact or an upper
bound that already clears the run; :func:`loss_at_start` measures a fresh run's starting loss
where that reads no features; :func:`start_loss` is the starting loss where it is known. The
``run``, ``state`` and ``config`` are the engine's :class:`~gdlab.engine.Run`,
:class:`~gdlab.engine.TrainState` and :class:`~gdlab.engine.TrainConfig`.
"""

from __future__ import annotations

import math
from typing import Any

from gdlab.divergence import verdict
from gdlab.objective import Objective

__all__ = ["final_loss", "loss_at_start", "start_loss"]


def final_loss(objective: Objective, run: Any, config: Any) -> float:
    """The last value the final check gives the divergence rule: the loss at the run's
    parameters, or an upper bound of it that already clears the run.

    :func:`~gdlab.divergence.verdict` is monotone in its last value (a larger final loss can only
    turn "not diverged" into "diverged"), so when the objective offers a cheap upper bound
    (``loss_upper_bound``, squared error on dense ``X``: one plain read of ``X`` that stores no
    prediction and, standardized, divides no value) and the verdict at that bound is "not
    diverged", the exact loss would clear the run too, and the bound is returned, unless it is
    above the loss at the start where that is known (:func:`start_loss`). Otherwise (no bound, a
    verdict of divergence at it, or a run that may have ended above its start, which the
    estimators warn about: :class:`~gdlab.engine.TrainResult`) the exact loss is computed:
    every number a :class:`~gdlab.DivergenceError` or a warning shows is exact.
    """
    bound = getattr(objective, "loss_upper_bound", None)
    if bound is not None:
        upper = bound(run.state.params)
        losses = [*run.history.loss, upper]
        start = start_loss(run, config, objective)
        if (
            upper is not None
            and (start is None or upper <= start)
            and verdict(losses, finished=True, factor=config.divergence_factor) is None
        ):
            return float(upper)
    loss = getattr(objective, "loss_without_blas", objective.loss)
    return float(loss(run.state.params))


def loss_at_start(objective: Objective, state: Any, config: Any) -> float | None:
    """The loss at a fresh run's starting parameters where it costs no read of the features
    (``loss_without_features``: zero weights, the estimators' start), for the final check's
    comparison with the start (:func:`start_loss`); ``None`` for a run that continues, without
    a final check, or with other parameters."""
    cheap = getattr(objective, "loss_without_features", None)
    if cheap is None or not config.check_final or state.first_loss is not None or state.epoch:
        return None
    value = cheap(state.params)
    return None if value is None or not math.isfinite(value) else float(value)


def start_loss(run: Any, config: Any, objective: Objective) -> float | None:
    """The loss at the parameters the run started from, where it is known: measured from the
    targets at its start (:func:`loss_at_start`), or the first epoch's loss of a full-batch run
    (measured before its one update); else ``None`` (a mini-batch epoch's loss is a mean over
    its steps)."""
    if run.start_loss is not None:
        return run.start_loss
    batch, n = config.batch_size, getattr(objective, "n_samples", None)
    full = batch is None or (n is not None and batch >= n)
    return float(run.history.loss[0]) if full and run.history.loss else None
