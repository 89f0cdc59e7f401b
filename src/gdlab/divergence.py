"""Detecting divergence and explaining it with advice computed from the data."""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from typing import Any

from gdlab.exceptions import DivergenceError
from gdlab.optim import GradientTransformation

__all__ = [
    "DIVERGENCE_FACTOR",
    "RISE_EPOCHS",
    "RISE_FACTOR",
    "divergence_error",
    "is_divergent",
    "is_exploding",
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
    objective: Any,
    history: Any = None,
    batch_size: int | None = None,
) -> DivergenceError:
    """Build the :class:`DivergenceError` for a run whose loss blew up at ``epoch``.

    The advice names a concrete smaller learning rate: ``1 / L`` for plain gradient descent on a
    loss whose curvature bound ``L`` is known (``2 / L`` is the stability limit), otherwise a tenth
    of the current rate; it suggests standardizing when feature scales differ by more than 100x,
    and gradient clipping.
    """
    tail = [float(v) for v in losses[-5:]]
    shown = ", ".join(f"{v:.4g}" for v in tail)
    first = losses[0] if losses else float("nan")
    last = tail[-1] if tail else float("nan")
    what = "became non-finite" if not math.isfinite(last) else "exploded"
    message = (
        f"Training diverged at epoch {epoch}: the loss {what} (from {first:.4g} at the start to "
        f"{last:.4g}; last values: {shown})."
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
            "finite already in the first epoch)",
        )
    message += " Try: " + "; ".join(advice) + "."
    return DivergenceError(
        message, epoch=epoch, losses=tail, suggested_learning_rate=suggestion, history=history
    )
