"""When a run has diverged, and the advice a stopped-but-unhealthy run gets: the one rule.

Every run of gdlab's one training loop (:func:`gdlab.engine.train`, hence the estimators,
:func:`gdlab.minimize`, :func:`gdlab.sweep`, :func:`gdlab.lr_find`, the lab and the CLI) and the
batched sweep decide divergence with :func:`verdict`, on the whole history of epoch losses, *before*
any stopping rule (``tol``, the plateau rule, ``max_iter``, a callback) can end the run quietly:

1. **Non-finite**: a loss that is NaN or infinite.
2. **Exploded**: a loss above ``DIVERGENCE_FACTOR * max(1, |L_0|)`` (``1e10`` times the first
   epoch's loss ``L_0``); also checked per batch inside an epoch.
3. **Rising**: a loss that rose in each of the last ``RISE_EPOCHS`` (10) epochs to more than
   ``RISE_FACTOR`` (100) times ``max(1, |L_0|)``.
4. **Ended high** (checked when the run stops, whatever stopped it, on the loss at the returned
   parameters; not for ``partial_fit``, whose calls may each see other rows): a final loss
   ``L_end`` with ``L_end - L_0 > (ENDED_ABOVE_FACTOR - 1) * s``,
   ``s = max(|L_0|, L_0 - L_best)``; for a positive loss this reads ``L_end > 10 L_0``. With
   ``s = 0`` (a start at loss 0 that was never improved on, as the perceptron's zero weights)
   there is no magnitude to compare with, and only rules 1-3 apply.

Why these numbers: plain gradient descent with step ``eta`` on a squared-error loss with
curvature bound ``L`` (:meth:`~gdlab._objectives.LinearObjective.lipschitz_constant`) multiplies the
error along the top eigenvector by ``|1 - eta L|`` per step. Below ``eta = 2/L`` every component
shrinks, so the full-batch loss never rises at all; above it the loss grows geometrically and a
run stopped by the ``tol`` rule after a few epochs has already left its start far behind
(``75 -> 3e8`` in six epochs at ``eta = 0.1`` on the README's data). Mini-batch noise, momentum
and Adam do raise the loss transiently, but not tenfold above where it started: a stable run ends
near its best loss, far below ``10 L_0``. So any run ending that high has diverged, whatever rule
stopped it, and raises :class:`~gdlab.DivergenceError` with advice (:func:`divergence_error`: the
stable rate ``2/L`` when it is known, feature scaling, clipping).

A run that *stops on* ``tol`` while its loss never went below its first value, or while it swings
by more than a quarter of its best value (:func:`tol_stop_advice`), has not diverged but has
not converged either: the estimators and the CLI warn with a ``ConvergenceWarning`` that says what
to try.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from typing import Any

from gdlab.exceptions import DivergenceError
from gdlab.objective import Objective
from gdlab.optim import GradientTransformation

__all__ = [
    "DIVERGENCE_FACTOR",
    "ENDED_ABOVE_FACTOR",
    "ENDED_ABOVE_TOLERANCE",
    "RISE_EPOCHS",
    "RISE_FACTOR",
    "divergence_error",
    "ended_above_start",
    "ended_above_start_advice",
    "is_divergent",
    "is_exploding",
    "tol_stop_advice",
    "verdict",
]

#: A loss this many times the first one (or 1) counts as exploding (the lesson uses an absolute
#: 1e10; relative to the start, the rule also works for losses measured in other units).
DIVERGENCE_FACTOR = 1e10


def is_divergent(loss: float, reference: float, factor: float = DIVERGENCE_FACTOR) -> bool:
    """True when ``loss`` is not finite or exceeds ``factor * max(1, |reference|)``.

    Examples
    --------
    >>> is_divergent(float("nan"), 1.0), is_divergent(5e10, 1.0), is_divergent(3.0, 1.0)
    (True, True, False)
    """
    if not math.isfinite(loss):
        return True
    return loss > factor * max(1.0, abs(reference))


#: A loss that rose in each of this many epochs in a row ...
RISE_EPOCHS = 10
#: ... to more than this many times the first loss (or 1) is diverging, however slowly.
RISE_FACTOR = 100.0


def is_exploding(
    previous: Sequence[float], loss: float, reference: float, factor: float = DIVERGENCE_FACTOR
) -> bool:
    """The epoch-level divergence rule: :func:`is_divergent`, or a slow but steady blow-up.

    A loss that rose in each of the last ``RISE_EPOCHS`` epochs and now exceeds
    ``RISE_FACTOR * max(1, |reference|)`` is diverging geometrically (plain gradient descent just
    above its stable step ``2/L`` does this), even while it is still far from ``factor`` times its
    start; no converging run climbs a hundredfold ten epochs in a row.

    Examples
    --------
    >>> slow = [10.0 * 1.5**k for k in range(12)]          # x1.5 per epoch, 86x after 11
    >>> is_exploding(slow[:-1], slow[-1], reference=10.0)
    False
    >>> is_exploding(slow, 10.0 * 1.5**12, reference=10.0)  # 130x the start, 10 rises in a row
    True
    >>> is_exploding([5.0, 4.0, 3.0], 2.0, reference=5.0)
    False
    """
    if is_divergent(loss, reference, factor):
        return True
    recent = [*previous[-(RISE_EPOCHS - 1) :], loss] if RISE_EPOCHS > 1 else [loss]
    if len(recent) < RISE_EPOCHS:
        return False
    rising = all(later > earlier for earlier, later in itertools.pairwise(recent))
    return rising and loss > RISE_FACTOR * max(1.0, abs(reference))


#: A run that stops with its loss more than this many times its start (rule 4) has diverged.
ENDED_ABOVE_FACTOR = 10.0

#: A run whose loss at the returned parameters is above its loss at the start by more than this
#: fraction of it (and less than rule 4's tenfold) is not diverged but gets a warning
#: (:func:`ended_above_start_advice`): rounding at a minimum stays far below it.
ENDED_ABOVE_TOLERANCE = 1e-6


def verdict(
    losses: Sequence[float],
    *,
    finished: bool = False,
    factor: float = DIVERGENCE_FACTOR,
    unit: str = "epoch",
    display_scale: float = 1.0,
) -> str | None:
    """How the run with epoch losses ``losses`` diverged, or ``None`` when it has not.

    The one divergence rule (see the module docstring): ``losses`` is the whole history, first
    epoch first, the latest value last; ``finished=True`` when the run is stopping (then the last
    value is the loss at the returned parameters) adds rule 4, "ended far above its start".
    The rules see the losses as trained; the numbers in the answer are multiplied by
    ``display_scale`` (the estimators' target scaling: shown in the units of ``y``).

    Examples
    --------
    >>> verdict([75.7, 524.0, 1.3e4]) is None            # rising, but not yet a divergence
    True
    >>> verdict([75.7, 524.0, 1.3e4, 3.8e5, 1.1e7, 3.1e8], finished=True)
    'ended at 3.1e+08, more than 10 times its first value 75.7'
    >>> verdict([4.0, 1.0, float("nan")])
    'became non-finite'
    >>> verdict([4.0, 1.0, 0.5, 0.6], finished=True) is None
    True
    """
    if not losses:
        return None
    first, last = float(losses[0]), float(losses[-1])
    shown_first, shown_last = first * display_scale, last * display_scale
    if not math.isfinite(last):
        return "became non-finite"
    if is_divergent(last, first, factor):
        return (
            f"exploded to {shown_last:.3g}, more than {factor:.3g} times its first value "
            f"{shown_first:.4g}"
        )
    if is_exploding(list(losses[:-1]), last, first, factor):
        return (
            f"rose in each of the last {RISE_EPOCHS} {unit}s to {shown_last:.3g}, more than "
            f"{RISE_FACTOR:g} times its first value {shown_first:.4g}"
        )
    if finished and len(losses) > 1:
        best = min(float(v) for v in losses)
        scale = max(abs(first), first - best)
        # scale 0: a start at loss 0 never improved on (the perceptron's zero weights) gives no
        # magnitude to compare with; rules 1-3, with their floor of 1, still apply.
        if scale > 0 and last - first > (ENDED_ABOVE_FACTOR - 1.0) * scale:
            return (
                f"ended at {shown_last:.3g}, more than {ENDED_ABOVE_FACTOR:g} times its first "
                f"value {shown_first:.4g}"
            )
    return None


def tol_stop_advice(
    losses: Sequence[float],
    n_iter_no_change: int,
    learning_rate: float | None = None,
    tol: float = 0.0,
    standardized: bool = False,
) -> str | None:
    """What is wrong with a run that the ``tol`` rule stopped, or ``None`` when nothing is.

    The rule stops a run after ``n_iter_no_change`` epochs without improvement; that is
    convergence only if the loss had settled. It had not when the loss never went below its first
    value, or when over the last ``n_iter_no_change + 1`` epochs it rose and swung by more than a
    quarter of its best value ``L_best`` (and by more than ``10 * tol``): the steps are too large
    to settle. Mini-batch noise around a minimum swings the epoch loss by a few percent.

    Examples
    --------
    >>> tol_stop_advice([1.0, 0.5, 0.2, 0.1, 0.1, 0.1, 0.1, 0.1], 5) is None
    True
    >>> advice = tol_stop_advice([4.0, 1.0, 2.5, 1.1, 2.4, 1.2, 2.6], 5, learning_rate=0.1)
    >>> advice[:50], "try learning_rate=0.01" in advice
    ('the loss was oscillating between 1 and 2.6 (its be', True)
    """
    if len(losses) < 2:
        return None
    values = [float(v) for v in losses]
    first, best = values[0], min(values)
    window = values[-(n_iter_no_change + 1) :]
    spread = max(window) - min(window)
    rose = any(later > earlier for earlier, later in itertools.pairwise(window))
    if first - best <= 0:
        what = f"the loss never went below its first value {first:.4g}"
    elif rose and spread > 0.25 * abs(best) and spread > 10 * tol:
        what = (
            f"the loss was oscillating between {min(window):.4g} and {max(window):.4g} (its "
            f"best {best:.4g}, its first value {first:.4g})"
        )
    else:
        return None
    return (
        f"{what} when the tol rule stopped training; the steps are too large to settle: try "
        f"{_smaller_steps(learning_rate, standardized)}, or tol=None for a fixed number of epochs"
    )


def ended_above_start(first: float, final: float) -> bool:
    """Whether a run's loss at the returned parameters, ``final``, is above its loss at the
    start, ``first``, by more than :data:`ENDED_ABOVE_TOLERANCE` of it (never for ``first <= 0``:
    no magnitude to compare with, as in rule 4 of :func:`verdict`).

    Examples
    --------
    >>> ended_above_start(1.0, 1.5), ended_above_start(1.0, 1.0 + 1e-9), ended_above_start(0.0, 1.0)
    (True, False, False)
    """
    return first > 0 and final - first > ENDED_ABOVE_TOLERANCE * first


def ended_above_start_advice(
    first: float, final: float, learning_rate: float | None = None, standardized: bool = False
) -> str | None:
    """What is wrong with a run whose loss at the returned parameters, ``final``, is above its
    loss at the start ``first`` (:class:`gdlab.engine.TrainResult`), but not so far above that
    it counts as diverged (rule 4 of :func:`verdict`); ``None`` when it is not above by more than
    :data:`ENDED_ABOVE_TOLERANCE` (relative: a run that started at its minimum ends there up to
    rounding), or when ``first`` is 0 (no magnitude to compare with, as in rule 4).

    The epoch losses are measured before each update, so a run whose last steps went uphill can
    show a flat or falling record and still return parameters worse than where it started: the
    final check's loss says so, whatever rule stopped the run.

    Examples
    --------
    >>> ended_above_start_advice(1.39, 1.2) is None
    True
    >>> ended_above_start_advice(1.39, 1.39 * (1 + 1e-9)) is None   # rounding at a minimum
    True
    >>> advice = ended_above_start_advice(1.39, 6.63, learning_rate=10.0)
    >>> "6.63, is 377% above its value at the start, 1.39" in advice, "learning_rate=1," in advice
    (True, True)
    """
    if not ended_above_start(first, final):
        return None
    return (
        f"the loss at the returned parameters, {final:.4g}, is {100 * (final / first - 1):.3g}% "
        f"above its value at the start, {first:.4g}; the last steps went uphill: try "
        f"{_smaller_steps(learning_rate, standardized)}"
    )


def _smaller_steps(learning_rate: float | None, standardized: bool) -> str:
    """The advice for steps too large to settle: a tenth of the rate, larger batches, scaling."""
    smaller = (
        f"learning_rate={learning_rate / 10:.3g}" if learning_rate else "a smaller learning rate"
    )
    scaling = "" if standardized else " or standardized features"
    return f"{smaller}, a larger batch size{scaling}"


def _current_rate(optimizer: GradientTransformation) -> float | None:
    rate = optimizer.learning_rate
    if rate is None:
        return None
    if callable(rate):
        rate = rate(0)
    try:
        return float(rate)
    except (TypeError, ValueError):
        return None


def divergence_error(
    epoch: int,
    losses: Sequence[float],
    optimizer: GradientTransformation,
    objective: Objective,
    history: Any = None,
    batch_size: int | None = None,
    reason: str | None = None,
    *,
    unit: str = "epoch",
    display_scale: float = 1.0,
) -> DivergenceError:
    """Build the :class:`DivergenceError` for a run whose loss blew up in ``epoch`` (0-based).

    Messages count epochs from 1 ("in epoch 3" is the third pass over the data), as everywhere in
    gdlab's messages; ``reason`` is what :func:`verdict` said.

    The advice names a concrete smaller learning rate: ``1 / L`` for plain gradient descent on a
    loss whose curvature bound ``L`` is known (``2 / L`` is the stability limit), otherwise a tenth
    of the current rate; it suggests standardizing when feature scales differ by more than 100x,
    and gradient clipping.
    """
    tail = [float(v) * display_scale for v in losses[-5:]]
    shown = ", ".join(f"{v:.4g}" for v in tail)
    first = losses[0] * display_scale if losses else float("nan")
    last = tail[-1] if tail else float("nan")
    what = (
        reason
        or verdict(losses, finished=True, unit=unit, display_scale=display_scale)
        or "exploded"
    )
    message = (
        f"Training diverged in {unit} {epoch + 1}: the loss {what} (from {first:.4g} in the "
        f"first {unit} to {last:.4g}; last values: {shown})."
    )
    rate = _current_rate(optimizer)
    suggestion: float | None = None
    advice: list[str] = []
    lipschitz = objective.lipschitz_constant(batch_size)
    per_batch = batch_size is not None and batch_size < objective.n_samples
    plain_gd = optimizer.name == "sgd" and not optimizer.hyperparams.get("momentum")
    if plain_gd and lipschitz:
        suggestion = 1.0 / lipschitz
        advice.append(
            (
                f"use a smaller learning rate: with batches of {batch_size} rows every step is "
                f"stable below 2/L = {2.0 / lipschitz:.4g} (L = {lipschitz:.4g}, the largest "
                f"curvature of one row's loss)"
                if per_batch
                else f"use a smaller learning rate: gradient descent on this data is stable only "
                f"below 2/L = {2.0 / lipschitz:.4g} (L = {lipschitz:.4g}, the curvature of the "
                f"loss)"
            )
            + f", so try learning_rate={suggestion:.3g}"
        )
    elif rate is not None:
        suggestion = rate / 10.0
        advice.append(f"use a smaller learning rate, for example learning_rate={suggestion:.3g}")
    else:
        advice.append("use a smaller learning rate")
    spread = objective.scale_spread()
    if spread > 100:
        advice.append(
            f"standardize the features (standardize=True): their scales differ by a factor of "
            f"{spread:.3g}"
        )
    advice.append(
        "or clip the gradient (clip_norm=1.0 in the estimators, optim.clip_by_global_norm(1.0) "
        "in an optimizer chain)"
    )
    if len(losses) == 1 and not math.isfinite(last):
        advice.insert(
            0,
            "check the data and the starting point for very large values (the loss was not "
            f"finite already in the first {unit})",
        )
    message += " Try: " + "; ".join(advice) + "."
    return DivergenceError(
        message, epoch=epoch, losses=tail, suggested_learning_rate=suggestion, history=history
    )
