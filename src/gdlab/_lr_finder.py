"""The learning-rate range test: raise the rate every update until the loss blows up.

Leslie N. Smith, "Cyclical Learning Rates for Training Neural Networks", WACV 2017 (section 3.3),
popularised by fastai's ``lr_find``: train from the estimator's starting point with one update per
step, the rate growing geometrically from ``start`` to ``stop``; record the (smoothed) loss; stop
when it exceeds ``divergence_factor`` times the best smoothed loss so far or becomes non-finite.
The useful rates are where the loss falls fastest, a little before the minimum.

The training itself runs in :func:`gdlab.engine.train`, so :func:`gdlab.divergence.verdict`
(gdlab's one divergence rule) stops it too; the range test's own stop comes earlier on purpose,
at the edge of the usable rates, and is what ``diverged_at`` reports. Without a clear descent the
test is inconclusive and suggests nothing (:attr:`LRFindResult.inconclusive`).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray
from sklearn.base import clone

from gdlab import schedules
from gdlab._batching import n_batches
from gdlab.engine import TrainConfig, init_state, train
from gdlab.estimators._base import BaseGD
from gdlab.exceptions import DivergenceError
from gdlab.history import EpochRecord, History

__all__ = ["LRFindResult", "lr_find"]

SUGGESTIONS = ("min/10", "steepest")

#: The smoothed loss must fall at least this share below its first value for a suggestion.
MIN_DESCENT = 0.1


@dataclass
class LRFindResult:
    """What :func:`lr_find` returns.

    Attributes
    ----------
    rates : ndarray
        The learning rate of each update that was kept (before divergence).
    losses : ndarray
        The smoothed loss at each of those updates (bias-corrected exponential moving average of
        the mini-batch losses, each measured before its update).
    raw_losses : ndarray
        The unsmoothed mini-batch losses.
    suggested : float or None
        The suggested learning rate (see ``method``), or ``None`` when the test is inconclusive.
    method : str
        ``"min/10"`` (default): a tenth of the rate with the lowest smoothed loss, at least
        ``start``; ``"steepest"``: the rate where the smoothed loss falls fastest per decade.
    steepest_rate, min_loss_rate : float
        Both candidate points, whatever ``method`` picked.
    diverged_at : float or None
        The rate at which the loss exploded (the test stopped there), or ``None`` when the test
        reached ``stop`` without diverging.
    bound_2_over_L : float or None
        For squared error, ``2 / L`` with ``L`` the curvature bound of the full-batch loss on the
        data as the estimator sees it (after standardization): plain full-batch gradient descent is
        stable exactly below this rate. ``None`` for other losses.
    inconclusive : str or None
        Why no rate is suggested, or ``None``. The test is inconclusive when the smoothed loss
        never fell clearly (by ``MIN_DESCENT``, 10%, below its first value) or when the rule would
        pick the edge of the range (``start``): the curve then shows no descent to read a rate
        from, and the edge of the range is no suggestion.
    """

    rates: NDArray[np.float64]
    losses: NDArray[np.float64]
    raw_losses: NDArray[np.float64]
    suggested: float | None
    method: str
    steepest_rate: float
    min_loss_rate: float
    diverged_at: float | None
    bound_2_over_L: float | None
    inconclusive: str | None = None


def lr_find(
    estimator: Any,
    X: Any,
    y: Any,
    *,
    start: float = 1e-6,
    stop: float = 10.0,
    n_steps: int = 100,
    suggest: str = "min/10",
    smoothing: float | None = None,
    divergence_factor: float = 4.0,
    sample_weight: Any = None,
    on_step: Callable[[int, float, float], Any] | None = None,
) -> LRFindResult:
    """Run the learning-rate range test with ``estimator``'s loss, optimizer and batch size.

    Update ``t`` (``t = 0 .. n_steps - 1``) uses the rate::

        eta_t = start * (stop / start) ** (t / (n_steps - 1))

    on the next mini-batch (or the full batch when ``batch_size=None``), starting from the
    estimator's initial parameters. The recorded loss is smoothed,
    ``s_t = beta s_{t-1} + (1 - beta) loss_t`` divided by ``1 - beta^(t+1)``, and the test stops
    at the first ``t`` where ``s_t > divergence_factor * min(s)`` or the loss is not finite.

    Parameters
    ----------
    estimator : GDRegressor or GDClassifier
        Its loss, penalty, optimizer (given by name), momentum, clipping, batch size, shuffling,
        standardization and random state are used; its ``learning_rate`` and ``schedule`` are
        replaced by the growing rate. It is not modified.
    X, y : array-like
        Training data.
    start, stop : float
        The first and last rates, ``0 < start < stop``.
    n_steps : int, default 100
        The number of updates (at most), ``>= 3``.
    suggest : {"min/10", "steepest"}, default "min/10"
        Which point is returned as ``suggested``. "min/10" is a tenth of the rate with the lowest
        smoothed loss (fastai's ``minimum`` rule); "steepest" is the rate where the smoothed loss
        falls fastest against ``log(rate)``, ignoring the first 10% and the last 5% of the points.
        "min/10" is the default because it is the more robust of the two: in a range test the loss
        keeps falling along flat directions for a few steps after the rate has passed the stability
        limit (the blow-up along the steep direction starts from a tiny error and takes time to
        show), so the lowest and the steepest points can both lie beyond ``2 / L``, while a tenth
        of the lowest one stays below it on the problems in the tests.
    smoothing : float or None, default None
        ``beta`` of the moving average (0 disables smoothing). ``None``: 0.98 (fastai's value)
        when the updates use mini-batches, whose losses are noisy, and 0 for full-batch training,
        whose loss has no sampling noise (smoothing would only delay the curve).
    divergence_factor : float, default 4.0
        The test stops when the smoothed loss exceeds this multiple of its minimum.
    sample_weight : array-like, optional
    on_step : callable, optional
        A progress hook, ``on_step(steps, loss, rate)``, called after every pass of the test over
        the data (after every update for full-batch training): ``steps`` updates made so far (at
        most ``n_steps``), the raw loss of the last one (as in ``raw_losses``) and the rate it
        used. It never changes the result, and its return value is ignored.

    Returns
    -------
    LRFindResult

    Examples
    --------
    >>> import numpy as np
    >>> from gdlab import GDRegressor, lr_find
    >>> rng = np.random.RandomState(42)
    >>> x = rng.uniform(0, 10, (100, 1)); y = 3 * x.ravel() + 7 + rng.randn(100) * 2
    >>> model = GDRegressor(optimizer="sgd", batch_size=None, standardize=False)
    >>> result = lr_find(model, x, y, start=1e-5, stop=1.0, n_steps=100)
    >>> result.suggested < result.bound_2_over_L < result.diverged_at
    True
    """
    _check_arguments(estimator, start, stop, n_steps, suggest, smoothing, divergence_factor)
    model = clone(estimator)
    rate = schedules.exponential_decay(
        init_value=float(start), decay_rate=float(stop) / float(start), transition_steps=n_steps - 1
    )
    model.set_params(learning_rate=float(start), schedule=rate)
    run = model.prepare_run(X, y, sample_weight)  # exactly as fit prepares it
    objective = run.objective
    per_epoch = n_batches(objective.n_samples, model.batch_size)
    if smoothing is None:
        smoothing = 0.0 if per_epoch == 1 else 0.98
    raw = _step_losses(model, run, rate, n_steps, per_epoch, smoothing, divergence_factor, on_step)
    lipschitz = objective.lipschitz_constant() if model.loss == "squared_error" else None
    return _result(
        raw, rate, n_steps, smoothing, divergence_factor, suggest, float(start), lipschitz
    )


def _step_losses(
    model: Any,
    run: Any,
    rate: Any,
    n_steps: int,
    per_epoch: int,
    smoothing: float,
    divergence_factor: float,
    on_step: Any,
) -> NDArray[np.float64]:
    """The loss of each of the ``n_steps`` updates at rising rates (fewer if it blew up)."""
    objective, optimizer = run.objective, run.optimizer
    config = TrainConfig(
        batch_size=model.batch_size,
        max_epochs=math.ceil(n_steps / per_epoch),
        shuffle=bool(model.shuffle),
        seed=run.config.seed,
        record_steps=True,
    )
    history = History()
    monitor = _Monitor(history, n_steps, smoothing, divergence_factor, rate, on_step)
    try:
        train(
            objective,
            optimizer,
            init_state(run.state.params, optimizer),
            config,
            callback=monitor,
            history=history,
        )
    except DivergenceError:
        pass  # the step losses recorded so far are in ``history``
    return np.asarray(history.step_loss[:n_steps], dtype=np.float64)


def _result(
    raw: NDArray[np.float64],
    rate: Any,
    n_steps: int,
    smoothing: float,
    divergence_factor: float,
    suggest: str,
    start: float,
    lipschitz: float | None,
) -> LRFindResult:
    """The curve, cut where it blew up, and the suggestion it supports (or why none)."""
    smoothed = _smooth(raw, smoothing)
    keep, diverged = _cut(raw, smoothed, divergence_factor)
    if len(raw) < n_steps and not diverged:
        diverged = True  # the engine stopped on a non-finite or exploding loss
    rates = np.array([rate(t) for t in range(n_steps)], dtype=np.float64)
    diverged_at = float(rates[keep]) if diverged and keep < n_steps else None
    kept_rates, kept_losses = rates[:keep], smoothed[:keep]
    steepest, lowest = _candidates(kept_rates, kept_losses, start)
    suggested = steepest if suggest == "steepest" else lowest / 10.0
    why = _inconclusive(kept_losses, suggested, float(kept_rates[0]) if keep else start)
    return LRFindResult(
        rates=kept_rates,
        losses=kept_losses,
        raw_losses=raw[:keep],
        suggested=None if why else suggested,
        method=suggest,
        steepest_rate=steepest,
        min_loss_rate=lowest,
        diverged_at=diverged_at,
        bound_2_over_L=2.0 / lipschitz if lipschitz else None,
        inconclusive=why,
    )


def _inconclusive(losses: NDArray[np.float64], suggested: float, first_rate: float) -> str | None:
    """Why the curve gives no suggestion (see :class:`LRFindResult`), or ``None``."""
    if losses.size < 3:
        return "the loss blew up within the first updates: try a smaller start"
    first, lowest = float(losses[0]), float(np.min(losses))
    if not first - lowest > MIN_DESCENT * abs(first):
        return (
            f"the smoothed loss never fell by {MIN_DESCENT:.0%} below its first value "
            f"({first:.4g} -> lowest {lowest:.4g}): no clear descent to read a rate from; try "
            "a wider range or more steps"
        )
    if suggested <= first_rate * (1 + 1e-9):
        return (
            "the rule picks the first rate of the range: the loss was already falling as fast "
            "as it would at the start; try a smaller start"
        )
    return None


def _check_arguments(
    estimator: Any,
    start: float,
    stop: float,
    n_steps: int,
    suggest: str,
    smoothing: float | None,
    divergence_factor: float,
) -> None:
    if not isinstance(estimator, BaseGD):
        raise TypeError(
            f"lr_find needs a GDRegressor or GDClassifier; got {type(estimator).__name__}."
        )
    if not isinstance(estimator.optimizer, str):
        raise ValueError(
            "lr_find needs the optimizer given by name (for example optimizer='sgd'), so that it "
            "can set the learning rate of every step; got a GradientTransformation object."
        )
    for name, value in (("start", start), ("stop", stop)):
        if isinstance(value, bool) or not isinstance(value, int | float) or not value > 0:
            raise ValueError(f"{name} must be a float > 0. Got {value!r} instead.")
        if not math.isfinite(value):
            raise ValueError(f"{name} must be finite. Got {value!r} instead.")
    if not stop > start:
        raise ValueError(f"stop must be larger than start. Got start={start!r}, stop={stop!r}.")
    if isinstance(n_steps, bool) or not isinstance(n_steps, int | np.integer) or n_steps < 3:
        raise ValueError(f"n_steps must be an int >= 3. Got {n_steps!r} instead.")
    if suggest not in SUGGESTIONS:
        raise ValueError(f"suggest must be one of {SUGGESTIONS}. Got {suggest!r} instead.")
    if smoothing is not None and not (isinstance(smoothing, int | float) and 0 <= smoothing < 1):
        raise ValueError(f"smoothing must be a float in [0, 1). Got {smoothing!r} instead.")
    if not (isinstance(divergence_factor, int | float) and divergence_factor > 1.0):
        raise ValueError(
            f"divergence_factor must be a float > 1. Got {divergence_factor!r} instead."
        )


class _Monitor:
    """Epoch callback: stop once enough updates ran or the smoothed loss exploded."""

    def __init__(
        self,
        history: History,
        n_steps: int,
        smoothing: float,
        factor: float,
        rate: Any = None,
        on_step: Callable[[int, float, float], Any] | None = None,
    ) -> None:
        self.history = history
        self.n_steps = n_steps
        self.smoothing = smoothing
        self.factor = factor
        self.rate = rate
        self.on_step = on_step

    def __call__(self, record: EpochRecord) -> bool:
        raw = np.asarray(self.history.step_loss, dtype=np.float64)
        if self.on_step is not None and raw.size:
            steps = min(int(raw.size), self.n_steps)
            self.on_step(steps, float(raw[steps - 1]), float(self.rate(steps - 1)))
        if raw.size >= self.n_steps:
            return True
        _, diverged = _cut(raw, _smooth(raw, self.smoothing), self.factor)
        return diverged


def _smooth(raw: NDArray[np.float64], beta: float) -> NDArray[np.float64]:
    """Bias-corrected exponential moving average."""
    smoothed = np.empty_like(raw)
    average = 0.0
    with np.errstate(over="ignore", invalid="ignore"):
        for t, value in enumerate(raw):
            average = beta * average + (1.0 - beta) * value
            smoothed[t] = average / (1.0 - beta ** (t + 1))
    return smoothed


def _cut(
    raw: NDArray[np.float64], smoothed: NDArray[np.float64], factor: float
) -> tuple[int, bool]:
    """``(number of points kept, diverged)``: points before the first exploding one."""
    best = math.inf
    for t in range(raw.size):
        value = smoothed[t]
        if not (math.isfinite(raw[t]) and math.isfinite(value)) or value > factor * best:
            return t, True
        best = min(best, value)
    return raw.size, False


def _candidates(
    rates: NDArray[np.float64], smoothed: NDArray[np.float64], start: float
) -> tuple[float, float]:
    """(steepest-descent rate, lowest-loss rate) of the smoothed curve."""
    if rates.size == 0:
        return start, start
    lowest = float(rates[int(np.argmin(smoothed))])
    if rates.size < 3:
        return float(rates[0]), lowest
    slope = np.gradient(smoothed, np.log10(rates))
    first, last = rates.size // 10, rates.size - rates.size // 20
    window = slope[first:last] if last - first >= 1 else slope
    offset = first if last - first >= 1 else 0
    return float(rates[offset + int(np.argmin(window))]), lowest
