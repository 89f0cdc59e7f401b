"""Train one model per value of a hyperparameter and collect what each run did.

:func:`sweep` is how the lab compares learning rates: every value gets a fresh clone of the
estimator, and a run whose loss explodes is recorded as *diverged* (with the history it had up to
that point) instead of stopping the sweep.
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from sklearn.base import clone

from gdlab.exceptions import DivergenceError
from gdlab.history import History

__all__ = ["SweepResult", "sweep"]


@dataclass
class SweepResult:
    """What :func:`sweep` returns: one entry per value, in the order the values were given.

    Attributes
    ----------
    param : str
        The hyperparameter that was varied.
    values : list
        Its values, in the order given.
    histories : list of History or None
        Each run's training record; for a diverged run, what was recorded up to the divergence.
    final_loss : list of float
        The last recorded training loss of each run (``nan`` when the run diverged).
    diverged : list of bool
        Whether each run's loss became non-finite or exploded.
    errors : list of str or None
        The divergence message of each diverged run, else ``None``.
    diverged_in : list of int or None
        The epoch in which each diverged run diverged, counted from 1 as in the messages
        (``DivergenceError.epoch + 1``), else ``None``.
    estimators : list of estimator or None
        The fitted estimator of each run that finished, else ``None``.
    backend : str
        How the runs were trained (the engine back-end recorded in the histories).
    """

    param: str
    values: list[Any]
    histories: list[History | None] = field(default_factory=list)
    final_loss: list[float] = field(default_factory=list)
    diverged: list[bool] = field(default_factory=list)
    errors: list[str | None] = field(default_factory=list)
    diverged_in: list[int | None] = field(default_factory=list)
    estimators: list[Any] = field(default_factory=list)
    backend: str = "numpy"

    def __len__(self) -> int:
        return len(self.values)

    @property
    def best_index(self) -> int | None:
        """The index of the run with the lowest final loss, or ``None`` when all diverged."""
        finite = [(loss, i) for i, loss in enumerate(self.final_loss) if math.isfinite(loss)]
        return min(finite)[1] if finite else None

    @property
    def best_value(self) -> Any:
        """The value with the lowest final loss, or ``None`` when every run diverged."""
        index = self.best_index
        return None if index is None else self.values[index]

    def rows(self) -> list[dict[str, Any]]:
        """One plain dict per run: value, final loss, epochs run, diverged (and the epoch it
        diverged in, from 1), error."""
        diverged_in = self.diverged_in or [None] * len(self.values)
        return [
            {
                self.param: value,
                "final_loss": loss,
                "epochs": 0 if history is None else len(history),
                "diverged": diverged,
                "diverged_in": epoch,
                "error": error,
            }
            for value, loss, history, diverged, epoch, error in zip(
                self.values,
                self.final_loss,
                self.histories,
                self.diverged,
                diverged_in,
                self.errors,
                strict=True,
            )
        ]


def sweep(
    estimator: Any,
    X: Any,
    y: Any,
    param: str = "learning_rate",
    values: Sequence[Any] | None = None,
    *,
    sample_weight: Any = None,
    fit_params: Mapping[str, Any] | Sequence[Mapping[str, Any]] | None = None,
    on_epoch: Callable[[int, Any], Any] | None = None,
) -> SweepResult:
    """Fit a clone of ``estimator`` for every value of one hyperparameter.

    For each ``v`` in ``values``: ``clone(estimator).set_params(param=v).fit(X, y, **fit_params)``.
    A run that raises :class:`~gdlab.DivergenceError` is marked diverged, keeps the history
    recorded up to the divergence, and the sweep goes on with the next value.

    Parameters
    ----------
    estimator : GDRegressor, GDClassifier or another scikit-learn estimator
        The template; it is not modified.
    X, y : array-like
        The training data, passed unchanged to every ``fit``.
    param : str, default "learning_rate"
        The name of the hyperparameter to vary (any name in ``estimator.get_params()``).
    values : sequence
        The values to try, at least one; the result keeps their order.
    sample_weight : array-like, optional
        Passed to every ``fit``.
    fit_params : dict or sequence of dicts, optional
        Extra keyword arguments of ``fit`` (for example ``coef_init``): one dict for every run, or
        one dict per value (so each run can start from its own initial parameters).
    on_epoch : callable, optional
        A progress hook, ``on_epoch(epoch, losses)``, called after every epoch trained: ``epoch``
        counts from 1, ``losses`` is an array with one entry per value, the training loss of
        each run that trained in that epoch (as its ``history_`` records it) and ``nan`` for the
        others. The batched path trains the runs together, so one call covers all of them; the
        one-fit-per-value path trains them one after another (one finite entry per call, the
        epochs of each run counted from 1), and calls it only for estimators whose ``fit`` takes
        a ``callback``. It never changes the results, and its return value is ignored.

    Returns
    -------
    SweepResult

    Raises
    ------
    ValueError
        When ``param`` is not a parameter of ``estimator``, ``values`` is empty, ``fit_params``
        has the wrong length, or a value is rejected by the estimator (the message names it).

    Examples
    --------
    >>> import numpy as np
    >>> from gdlab import GDRegressor, sweep
    >>> rng = np.random.RandomState(0)
    >>> X = rng.uniform(0, 10, (100, 1)); y = 3 * X.ravel() + 7
    >>> model = GDRegressor(optimizer="sgd", batch_size=None, max_iter=50, tol=None,
    ...                     standardize=False)
    >>> result = sweep(model, X, y, values=[0.001, 0.01, 0.1])
    >>> result.diverged
    [False, False, True]
    >>> result.best_value
    0.01
    """
    runs = _check_arguments(estimator, param, values, fit_params)
    batched = _batched_sweep(estimator, X, y, param, runs, sample_weight, on_epoch)
    if batched is not None:
        return batched
    return _sequential_sweep(estimator, X, y, param, runs, sample_weight, on_epoch)


def _batched_sweep(
    estimator: Any,
    X: Any,
    y: Any,
    param: str,
    runs: list[tuple[Any, dict[str, Any]]],
    sample_weight: Any,
    on_epoch: Callable[[int, Any], Any] | None = None,
) -> SweepResult | None:
    """All learning rates trained together as the columns of one matrix (``X`` read once per
    epoch for all runs; :mod:`gdlab._batched_sweep`), or ``None`` when not applicable."""
    from gdlab._batched_sweep import BACKEND, batchable, batched_sweep

    values = [value for value, _ in runs]
    if not batchable(estimator, param, values, [kwargs for _, kwargs in runs], X):
        return None
    outcomes = batched_sweep(estimator, X, y, values, sample_weight, on_epoch)
    if outcomes is None:
        return None
    result = SweepResult(param=param, values=values, backend=BACKEND)
    for model, history, error in outcomes:
        result.histories.append(history)
        result.diverged.append(error is not None)
        result.errors.append(None if error is None else str(error))
        result.diverged_in.append(None if error is None else int(error.epoch) + 1)
        result.estimators.append(model)
        result.final_loss.append(math.nan if error is not None else _final_loss(model, history))
    return result


def _check_arguments(
    estimator: Any,
    param: str,
    values: Sequence[Any] | None,
    fit_params: Mapping[str, Any] | Sequence[Mapping[str, Any]] | None,
) -> list[tuple[Any, dict[str, Any]]]:
    """Validate the arguments; return ``(value, fit kwargs)`` per run."""
    if not (hasattr(estimator, "get_params") and hasattr(estimator, "fit")):
        raise TypeError(
            f"sweep needs a scikit-learn estimator with get_params() and fit(); got "
            f"{type(estimator).__name__}."
        )
    if not isinstance(param, str):
        raise TypeError(f"param must be the name of a parameter (a str); got {param!r}.")
    known = estimator.get_params(deep=False)
    if param not in known:
        raise ValueError(
            f"{param!r} is not a parameter of {type(estimator).__name__}; choose one of: "
            f"{', '.join(sorted(known))}."
        )
    if values is None or isinstance(values, str | bytes | Mapping):
        raise ValueError(
            f"values must be a sequence of values for {param!r} (for example "
            f"[0.0001, 0.01, 0.1]); got {values!r}."
        )
    try:
        values = list(values)
    except TypeError:
        raise ValueError(
            f"values must be a sequence of values for {param!r}; got {values!r}."
        ) from None
    if not values:
        raise ValueError(f"values is empty: give at least one value for {param!r}.")
    if fit_params is None:
        per_run: list[dict[str, Any]] = [{} for _ in values]
    elif isinstance(fit_params, Mapping):
        per_run = [dict(fit_params) for _ in values]
    else:
        per_run = [dict(p) for p in fit_params]
        if len(per_run) != len(values):
            raise ValueError(
                f"fit_params has {len(per_run)} dicts but there are {len(values)} values; give "
                "one dict for all runs or one per value."
            )
    return list(zip(values, per_run, strict=True))


def _sequential_sweep(
    estimator: Any,
    X: Any,
    y: Any,
    param: str,
    runs: list[tuple[Any, dict[str, Any]]],
    sample_weight: Any,
    on_epoch: Callable[[int, Any], Any] | None = None,
) -> SweepResult:
    """The reference path: one clone and one ``fit`` per value, one after the other."""
    result = SweepResult(param=param, values=[value for value, _ in runs])
    backends: list[str] = []
    for index, (value, kwargs) in enumerate(runs):
        model = clone(estimator).set_params(**{param: value})
        if sample_weight is not None:
            kwargs = {**kwargs, "sample_weight": sample_weight}
        if on_epoch is not None and "callback" in inspect.signature(model.fit).parameters:
            kwargs = {**kwargs, "callback": _RunProgress(on_epoch, index, len(runs))}
        try:
            model.fit(X, y, **kwargs)
        except DivergenceError as error:
            history = error.history if isinstance(error.history, History) else None
            result.histories.append(history)
            result.final_loss.append(math.nan)
            result.diverged.append(True)
            result.errors.append(str(error))
            result.diverged_in.append(int(error.epoch) + 1)
            result.estimators.append(None)
            if history is not None:
                backends.append(history.backend)
            continue
        except (ValueError, TypeError) as error:
            kind = ValueError if isinstance(error, ValueError) else TypeError
            raise kind(f"sweep: {param}={value!r} was rejected: {error}") from error
        history = getattr(model, "history_", None)
        history = history if isinstance(history, History) else None
        result.histories.append(history)
        result.final_loss.append(_final_loss(model, history))
        result.diverged.append(False)
        result.errors.append(None)
        result.diverged_in.append(None)
        result.estimators.append(model)
        if history is not None:
            backends.append(history.backend)
    result.backend = "+".join(sorted(set(backends))) if backends else "numpy"
    return result


class _RunProgress:
    """A ``fit(callback=...)`` hook that reports run ``index``'s epochs to ``on_epoch``."""

    def __init__(self, on_epoch: Callable[[int, Any], Any], index: int, n_runs: int) -> None:
        self.on_epoch, self.index, self.n_runs = on_epoch, index, n_runs

    def __call__(self, snapshot: Any) -> None:
        losses = np.full(self.n_runs, math.nan)
        losses[self.index] = snapshot.loss_curve_[-1]
        self.on_epoch(len(snapshot.loss_curve_), losses)


def _final_loss(model: Any, history: History | None) -> float:
    if history is not None and len(history):
        return float(history.loss[-1])
    curve = getattr(model, "loss_curve_", None)
    if curve:
        return float(curve[-1])
    return math.nan
