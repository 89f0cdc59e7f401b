"""Minimise any differentiable function by gradient descent with a gdlab optimizer."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.optimize import OptimizeResult

from gdlab._objectives import FunctionObjective
from gdlab.divergence import ended_above_start
from gdlab.engine import TrainConfig, init_state, train
from gdlab.history import EpochRecord
from gdlab.optim import GradientTransformation, adam

__all__ = ["minimize"]


def minimize(
    fun: Callable[..., float],
    x0: ArrayLike,
    jac: Callable[..., Any] | None = None,
    *,
    optimizer: GradientTransformation | None = None,
    max_iter: int = 1000,
    tol: float | None = 1e-6,
    args: tuple[Any, ...] = (),
    callback: Callable[[EpochRecord], Any] | None = None,
    record_path: bool = True,
) -> OptimizeResult:
    """Minimise ``fun`` from ``x0`` by iterating ``x <- x + optimizer.update(grad(x))``.

    Parameters
    ----------
    fun : callable
        ``fun(x, *args) -> float``.
    x0 : array_like
        The starting point.
    jac : callable, optional
        ``jac(x, *args) -> array``, the gradient. Without it, a central finite-difference gradient
        is used (two evaluations of ``fun`` per coordinate and iteration). ``fun`` and ``jac`` are
        called once per iteration (the gradient of the update also serves the ``tol`` test), and
        at most once more each for the final check and the result.
    optimizer : GradientTransformation, default ``optim.adam(learning_rate=0.01)``
        Adam moves each coordinate by at most about its learning rate per iteration, so the
        default cannot blow up on a steep function (plain ``sgd(0.01)`` diverges on the
        Rosenbrock function from ``[-1.5, 2]``, where the curvature is about 1900).
    max_iter : int, default 1000
        The most updates to make.
    tol : float or None, default 1e-6
        Stop successfully when the gradient norm is at most ``tol`` (checked before every update
        and at the end); ``None`` runs exactly ``max_iter`` updates.
    args : tuple
        Extra arguments for ``fun`` and ``jac`` (a single non-tuple value is wrapped in one).
    callback : callable, optional
        Called after every update with an :class:`~gdlab.history.EpochRecord`; returning ``True``
        stops.
    record_path : bool, default True
        Keep every iterate in ``result.history.params``.

    Returns
    -------
    scipy.optimize.OptimizeResult
        ``x``, ``fun``, ``jac`` (the gradient at ``x``), ``nit``, ``success``, ``status`` (0
        converged, 1 iteration limit, 2 stopped by the callback), ``message`` and ``history``.

    Raises
    ------
    DivergenceError
        When the function value becomes non-finite or explodes.

    Examples
    --------
    >>> import numpy as np
    >>> from gdlab import minimize, optim
    >>> result = minimize(lambda x: float(np.sum((x - 3.0) ** 2)), np.zeros(2),
    ...                   jac=lambda x: 2 * (x - 3.0), optimizer=optim.sgd(learning_rate=0.1))
    >>> result.success, result.x.round(5)
    (True, array([3., 3.]))
    """
    x = _check_inputs(fun, x0, jac, optimizer, max_iter, tol)
    args = args if isinstance(args, tuple) else (args,)
    optimizer = optimizer if optimizer is not None else adam(learning_rate=0.01)
    objective = FunctionObjective(fun, jac, args)
    with np.errstate(all="ignore"):  # overflow in fun is reported below, not as a warning
        start = objective.loss(x)
    if not np.isfinite(start):
        raise ValueError(f"fun(x0) is not finite ({start}); start from a point where it is.")
    # an arbitrary function has no compiled kernel: always the NumPy reference loop
    config = TrainConfig(
        max_epochs=int(max_iter),
        gtol=tol,
        record_params=record_path,
        backend="numpy",
        unit="iteration",
    )
    result = train(objective, optimizer, init_state(x, optimizer), config, callback=callback)
    return _outcome(objective, result, tol)


def _outcome(objective: FunctionObjective, result: Any, tol: float | None) -> OptimizeResult:
    """SciPy's result for a finished run: the value and gradient at the end, and the status."""
    with np.errstate(all="ignore"):
        value, grad = objective.loss_and_grad(result.state.params)
        grad_norm = float(np.sqrt(np.sum(grad * grad)))
    message = result.message
    if result.converged:
        status = 0
    elif result.message.startswith("Stopped by the callback"):
        status = 2
    elif tol is not None and grad_norm <= tol:
        # the last update reached the tolerance: converged, not merely out of iterations
        status = 0
        message = f"The gradient norm fell to gtol={tol:g} or below."
    else:
        status = 1
        start = result.start_loss  # f(x0): a full batch's first value
        if start is not None and ended_above_start(start, float(value)):
            message = (
                f"{message} The function at the returned point, {float(value):.6g}, is above "
                f"its value at x0, {start:.6g}: the last steps went uphill; try a smaller "
                "learning rate."
            )
    return OptimizeResult(
        x=result.state.params,
        fun=value,
        jac=grad,
        nit=result.state.step,
        success=status == 0,
        status=status,
        message=message,
        history=result.history,
    )


def _check_inputs(
    fun: Any, x0: ArrayLike, jac: Any, optimizer: Any, max_iter: Any, tol: Any
) -> NDArray[np.float64]:
    """Validate the arguments of :func:`minimize`; return ``x0`` as a fresh float array (>= 1-D)."""
    if not callable(fun):
        raise TypeError(f"fun must be callable; got {type(fun).__name__}.")
    if jac is not None and not callable(jac):
        raise TypeError(
            f"jac must be a callable returning the gradient, or None for finite differences; "
            f"got {jac!r}."
        )
    if optimizer is not None and not isinstance(optimizer, GradientTransformation):
        raise TypeError(
            f"optimizer must be a gdlab.optim transformation such as optim.adam(learning_rate="
            f"0.01) or optim.get(name, learning_rate); got {optimizer!r}."
        )
    try:
        x = np.array(x0, dtype=float, copy=True)
    except (TypeError, ValueError):
        raise ValueError(f"x0 must be an array of real numbers; got {x0!r}.") from None
    if x.ndim == 0:
        x = x.reshape(1)
    if x.size == 0:
        raise ValueError("x0 is empty; it needs at least one coordinate.")
    if not np.all(np.isfinite(x)):
        raise ValueError("x0 contains NaN or infinite values.")
    if isinstance(max_iter, bool) or not isinstance(max_iter, int | np.integer) or max_iter < 1:
        raise ValueError(f"max_iter must be an int >= 1. Got {max_iter!r} instead.")
    if tol is not None and (
        isinstance(tol, bool) or not isinstance(tol, int | float | np.number) or not tol >= 0
    ):
        raise ValueError(f"tol must be a float >= 0 or None. Got {tol!r} instead.")
    return x
