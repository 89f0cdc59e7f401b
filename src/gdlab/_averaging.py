"""Averaged gradient descent (Polyak-Ruppert averaging), for every optimizer.

``average=True`` (or an int ``k``) of the estimators, as in scikit-learn's ``SGDRegressor``: the
fitted parameters are the mean of the iterates ``theta_u`` after each update ``u`` from the one
during which the ``k``-th training sample is seen (``k = 1`` for ``True``) to the last:

    theta_bar = mean(theta_u for u = u_k, ..., U)

:func:`averaged` wraps any optimizer. Its state keeps the running mean of the iterates it has seen
(each update sees the parameters before it, so the wrapped optimizer's step, scaled by the engine's
plateau rule or not, is never re-computed), and :func:`fitted_params` adds the last iterate. The
wrapped optimizer runs on the NumPy path (the compiled kernels know only the plain named ones).

Examples
--------
>>> import numpy as np
>>> from gdlab import optim
>>> tx = averaged(optim.sgd(learning_rate=1.0), start=1, n_samples=1, batch_size=1)
>>> params = np.array([0.0]); state = tx.init(params)
>>> for _ in range(3):    # the gradient is 1: iterates -1, -2, -3
...     updates, state = tx.update(np.array([1.0]), state, params)
...     params = params + updates
>>> fitted_params(params, state)       # (-1 - 2 - 3) / 3
array([-2.])
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np
from numpy.typing import NDArray

from gdlab.optim import GradientTransformation

__all__ = ["AverageState", "averaged", "fitted_params", "samples_seen"]

Array = NDArray[np.floating[Any]]


class AverageState(NamedTuple):
    """The wrapped optimizer's state, the mean of the iterates so far and two counters."""

    inner: Any
    mean: Array
    n_averaged: int
    n_updates: int
    started: bool


def samples_seen(updates: int, n_samples: int, batch_size: int | None) -> int:
    """Training samples seen after ``updates`` updates (mini-batches of ``batch_size`` rows, the
    last of each epoch smaller; one batch of all rows for ``None``).

    Examples
    --------
    >>> [samples_seen(u, 10, 4) for u in (1, 2, 3, 4)]
    [4, 8, 10, 14]
    """
    batch = n_samples if batch_size is None else min(batch_size, n_samples)
    per_epoch = -(-n_samples // batch)
    epochs, within = divmod(updates, per_epoch)
    return epochs * n_samples + min(within * batch, n_samples)


def averaged(
    inner: GradientTransformation, start: int, n_samples: int, batch_size: int | None
) -> GradientTransformation:
    """``inner`` with the mean of its iterates from the ``start``-th sample seen on.

    Parameters
    ----------
    inner : GradientTransformation
        Any optimizer.
    start : int
        Averaging starts with the update during which sample number ``start`` (1-based, counted
        over epochs) is seen; 1 averages every iterate.
    n_samples, batch_size : int
        The training rows and the batch size, to count the samples seen per update.
    """

    def init(params: Array) -> AverageState:
        return AverageState(inner.init(params), np.zeros_like(params), 0, 0, False)

    def update(grads: Array, state: AverageState, params: Array | None = None) -> Any:
        updates, inner_state = inner.update(grads, state.inner, params)
        mean, n_averaged = state.mean, state.n_averaged
        done = state.n_updates  # ``params`` is the iterate after ``done`` updates
        if done >= 1 and samples_seen(done, n_samples, batch_size) >= start and params is not None:
            n_averaged += 1
            mean = mean + (params - mean) / n_averaged
        started = samples_seen(done + 1, n_samples, batch_size) >= start
        return updates, AverageState(inner_state, mean, n_averaged, done + 1, started)

    return GradientTransformation(
        init,
        update,
        name=f"averaged {inner.name}",
        hyperparams={**inner.hyperparams, "average": start},
        rate=None if inner.rate is None else _inner_rate(inner.rate),
        observe=None if inner.observe is None else _inner_observe(inner.observe),
    )


def _inner_rate(rate: Any) -> Any:
    """The step size of :func:`averaged`: the inner optimizer's, read from its state."""
    return lambda state: rate(state.inner)


def _inner_observe(observe: Any) -> Any:
    """The ``observe`` hook of :func:`averaged` (a plateau rule): the inner optimizer's."""

    def hook(state: AverageState, loss: float) -> Any:
        inner, exhausted = observe(state.inner, loss)
        return state._replace(inner=inner), exhausted

    return hook


def fitted_params(params: Array, opt_state: Any) -> Array:
    """The parameters a fitted model uses: the mean of the iterates (``params`` the last one)
    under :func:`averaged` once averaging has started, else ``params`` itself."""
    if not isinstance(opt_state, AverageState) or not opt_state.started:
        return params
    k = opt_state.n_averaged + 1
    return (opt_state.mean + (params - opt_state.mean) / k).astype(params.dtype, copy=False)
