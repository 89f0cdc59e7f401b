"""Building blocks that named optimizers chain together.

Each block is a :class:`~gdlab.optim.base.GradientTransformation`; its docstring states the rule
it applies to the incoming updates ``g`` (the raw gradients when it comes first in a chain). ``t``
is the 1-based step number. Updates keep the floating dtype of the gradients (float32 stays
float32); the state of integer parameters is kept in float64.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any, NamedTuple

import numpy as np

from gdlab.optim._fused import adam_step
from gdlab.optim.base import (
    Array,
    EmptyState,
    GradientTransformation,
    ScalarOrSchedule,
    evaluate,
)
from gdlab.optim.kernel import Block


class CountState(NamedTuple):
    """Only a step counter."""

    count: int  # type: ignore[assignment]  # shadows tuple.count, as in Optax


class TraceState(NamedTuple):
    """Momentum buffer and step counter."""

    count: int  # type: ignore[assignment]  # shadows tuple.count, as in Optax
    trace: Array


class AdamState(NamedTuple):
    """First and second moment estimates and step counter."""

    count: int  # type: ignore[assignment]  # shadows tuple.count, as in Optax
    mu: Array
    nu: Array


class AccumulatorState(NamedTuple):
    """Running sum of squared gradients (Adagrad)."""

    count: int  # type: ignore[assignment]  # shadows tuple.count, as in Optax
    sum_of_squares: Array


class RmsState(NamedTuple):
    """Running averages of squared gradients and, when centered, of gradients."""

    count: int  # type: ignore[assignment]  # shadows tuple.count, as in Optax
    square_avg: Array
    grad_avg: Array


class PidState(NamedTuple):
    """Integral of the error and the previous error, for the PID controller."""

    count: int  # type: ignore[assignment]  # shadows tuple.count, as in Optax
    integral: Array
    previous: Array


def float_dtype(params: Array) -> np.dtype[Any]:
    """The dtype the optimizer state of ``params`` is kept in: theirs if floating, else float64."""
    dtype = np.asarray(params).dtype
    return dtype if np.issubdtype(dtype, np.floating) else np.dtype(np.float64)


def _block(
    init: Any, update: Any, kind: str, state: type, **hyperparams: Any
) -> GradientTransformation:
    """A building block with its hyperparameters and its compiled-kernel description."""
    kernel = Block(kind, hyperparams, state)
    return GradientTransformation(init, update, name=kind, hyperparams=hyperparams, kernel=kernel)


def _zeros(params: Array, fill: float = 0.0) -> Array:
    return np.full(np.shape(params), fill, dtype=float_dtype(params))


def _like(values: Any, grads: Array) -> Array:
    """``values`` in the dtype of ``grads`` when that is floating (float32 stays float32)."""
    dtype = np.asarray(grads).dtype
    if np.issubdtype(dtype, np.floating):
        return np.asarray(values).astype(dtype, copy=False)
    return np.asarray(values)


def _is_real(value: Any) -> bool:
    return not isinstance(value, bool) and isinstance(value, int | float | np.floating | np.integer)


def check_non_negative(name: str, value: float, block: str) -> float:
    """Validate a real number >= 0 (an ``eps``, a gain, a weight decay)."""
    if not _is_real(value):
        raise TypeError(f"The {name!r} parameter of {block} must be a real number. Got {value!r}.")
    if not np.isfinite(value) or value < 0:
        raise ValueError(f"The {name!r} parameter of {block} must be >= 0. Got {value!r} instead.")
    return float(value)


def check_fraction(name: str, value: float, block: str) -> float:
    """Validate a decay or momentum factor: a real number in ``[0, 1)``."""
    value = check_non_negative(name, value, block)
    if value >= 1.0:
        raise ValueError(
            f"The {name!r} parameter of {block} must be in [0, 1). Got {value!r} instead."
        )
    return value


def check_learning_rate(value: ScalarOrSchedule, block: str) -> ScalarOrSchedule:
    """Validate a step size: a float > 0, an array of them (one per run), or a schedule."""
    if callable(value):
        return value
    if isinstance(value, np.ndarray):
        if not np.issubdtype(value.dtype, np.number) or np.iscomplexobj(value):
            raise TypeError(
                f"The 'learning_rate' array of {block} must hold real numbers. "
                f"Got dtype {value.dtype}."
            )
        if not np.all(np.isfinite(value)) or np.any(value <= 0):
            raise ValueError(
                f"Every 'learning_rate' of {block} must be a float > 0. Got {value!r} instead."
            )
        return value.astype(np.float64)
    if not _is_real(value):
        raise TypeError(
            f"The 'learning_rate' parameter of {block} must be a float > 0 or a schedule. "
            f"Got {value!r} instead."
        )
    if not np.isfinite(value) or value <= 0:
        raise ValueError(
            f"The 'learning_rate' parameter of {block} must be a float > 0. Got {value!r} instead."
        )
    return float(value)


def scale_by_learning_rate(learning_rate: ScalarOrSchedule) -> GradientTransformation:
    """Step downhill: ``u = -learning_rate(t - 1) * g``.

    ``learning_rate`` is a float, or a schedule evaluated at the number of updates made so far
    (0 for the first update). An array of rates (one per column of a 2-D batch of runs)
    broadcasts against the last axis of ``g``.

    Examples
    --------
    >>> import numpy as np
    >>> tx = scale_by_learning_rate(lambda count: 0.1 / (count + 1))
    >>> state = tx.init(np.zeros(1))
    >>> u1, state = tx.update(np.array([1.0]), state)
    >>> u2, state = tx.update(np.array([1.0]), state)
    >>> u1, u2
    (array([-0.1]), array([-0.05]))
    """
    learning_rate = check_learning_rate(learning_rate, "scale_by_learning_rate")

    def init(params: Array) -> CountState:
        return CountState(count=0)

    def update(grads: Array, state: CountState, params: Array | None = None):
        rate = evaluate(learning_rate, state.count)
        return _like(-rate * grads, grads), CountState(count=state.count + 1)

    def rate(state: CountState) -> Any:
        return evaluate(learning_rate, state.count)

    return replace(
        _block(init, update, "scale_by_learning_rate", CountState, learning_rate=learning_rate),
        rate=rate,
    )


def trace(decay: float, nesterov: bool = False) -> GradientTransformation:
    """Momentum as PyTorch's SGD keeps it.

    ``b_1 = g_1``, ``b_t = decay * b_{t-1} + g_t``; the output is ``b_t``, or
    ``g_t + decay * b_t`` with ``nesterov=True``. The buffer starts at the first gradient, not at
    zero, which is PyTorch's documented rule (Optax starts at zero).

    Examples
    --------
    >>> import numpy as np
    >>> tx = trace(0.5)
    >>> state = tx.init(np.zeros(1))
    >>> b1, state = tx.update(np.array([2.0]), state)   # g_1
    >>> b2, state = tx.update(np.array([1.0]), state)   # 0.5 * 2 + 1
    >>> b1, b2
    (array([2.]), array([2.]))
    """
    decay = check_fraction("momentum", decay, "trace")

    def init(params: Array) -> TraceState:
        return TraceState(count=0, trace=_zeros(params))

    def update(grads: Array, state: TraceState, params: Array | None = None):
        if state.count == 0:
            buffer = np.array(grads, dtype=float_dtype(grads), copy=True)
        else:
            buffer = decay * state.trace + grads
        out = grads + decay * buffer if nesterov else buffer
        return out, TraceState(count=state.count + 1, trace=buffer)

    return _block(init, update, "trace", TraceState, momentum=decay, nesterov=nesterov)


def scale_by_adam(b1: float = 0.9, b2: float = 0.999, eps: float = 1e-8) -> GradientTransformation:
    """Adam's direction with bias correction, ``eps`` outside the square root.

    ``m_t = b1 m_{t-1} + (1 - b1) g_t``, ``v_t = b2 v_{t-1} + (1 - b2) g_t^2``,
    ``u_t = (m_t / (1 - b1^t)) / (sqrt(v_t / (1 - b2^t)) + eps)``; ``m_0 = v_0 = 0``.

    Examples
    --------
    >>> import numpy as np
    >>> tx = scale_by_adam(eps=0.0)
    >>> tx.update(np.array([4.0, -0.5]), tx.init(np.zeros(2)))[0]   # the first step is sign(g)
    array([ 1., -1.])
    """
    b1 = check_fraction("b1", b1, "scale_by_adam")
    b2 = check_fraction("b2", b2, "scale_by_adam")
    eps = check_non_negative("eps", eps, "scale_by_adam")

    def init(params: Array) -> AdamState:
        return AdamState(count=0, mu=_zeros(params), nu=_zeros(params))

    def update(grads: Array, state: AdamState, params: Array | None = None):
        count = state.count + 1
        fused = adam_step(grads, state.mu, state.nu, b1, b2, eps, count)
        if fused is not None:  # the same operations in one compiled pass: bitwise equal
            return fused[0], AdamState(count=count, mu=fused[1], nu=fused[2])
        mu = b1 * state.mu + (1.0 - b1) * grads
        nu = b2 * state.nu + (1.0 - b2) * (grads * grads)
        correction1 = 1.0 - b1**count
        correction2 = 1.0 - b2**count
        out = (mu / correction1) / (np.sqrt(nu) / np.sqrt(correction2) + eps)
        return _like(out, grads), AdamState(count=count, mu=mu, nu=nu)

    return _block(init, update, "scale_by_adam", AdamState, b1=b1, b2=b2, eps=eps)


def scale_by_adagrad(
    eps: float = 1e-10, initial_accumulator_value: float = 0.0
) -> GradientTransformation:
    """Adagrad's per-coordinate scaling.

    ``s_t = s_{t-1} + g_t^2`` (``s_0 = initial_accumulator_value``),
    ``u_t = g_t / (sqrt(s_t) + eps)``.

    Examples
    --------
    >>> import numpy as np
    >>> tx = scale_by_adagrad(eps=0.0, initial_accumulator_value=7.0)
    >>> tx.update(np.array([3.0]), tx.init(np.zeros(1)))[0]   # 3 / sqrt(7 + 9)
    array([0.75])
    """
    eps = check_non_negative("eps", eps, "scale_by_adagrad")
    initial = check_non_negative(
        "initial_accumulator_value", initial_accumulator_value, "scale_by_adagrad"
    )

    def init(params: Array) -> AccumulatorState:
        return AccumulatorState(count=0, sum_of_squares=_zeros(params, initial))

    def update(grads: Array, state: AccumulatorState, params: Array | None = None):
        sum_of_squares = state.sum_of_squares + grads * grads
        out = grads / (np.sqrt(sum_of_squares) + eps)
        return out, AccumulatorState(count=state.count + 1, sum_of_squares=sum_of_squares)

    return _block(
        init,
        update,
        "scale_by_adagrad",
        AccumulatorState,
        eps=eps,
        initial_accumulator_value=initial,
    )


def scale_by_rms(
    decay: float = 0.99, eps: float = 1e-8, centered: bool = False
) -> GradientTransformation:
    """RMSprop's scaling, as PyTorch computes it.

    ``a_t = decay a_{t-1} + (1 - decay) g_t^2``; with ``centered=True`` also
    ``c_t = decay c_{t-1} + (1 - decay) g_t`` and ``a_t`` is replaced by ``a_t - c_t^2``;
    ``u_t = g_t / (sqrt(a_t) + eps)``. Both averages start at zero.

    Examples
    --------
    >>> import numpy as np
    >>> tx = scale_by_rms(decay=0.75, eps=0.0)
    >>> tx.update(np.array([2.0]), tx.init(np.zeros(1)))[0]   # 2 / sqrt(0.25 * 4)
    array([2.])
    """
    decay = check_fraction("decay", decay, "scale_by_rms")
    eps = check_non_negative("eps", eps, "scale_by_rms")

    def init(params: Array) -> RmsState:
        return RmsState(count=0, square_avg=_zeros(params), grad_avg=_zeros(params))

    def update(grads: Array, state: RmsState, params: Array | None = None):
        square_avg = decay * state.square_avg + (1.0 - decay) * (grads * grads)
        if centered:
            grad_avg = decay * state.grad_avg + (1.0 - decay) * grads
            # >= 0 in exact arithmetic; the floor only keeps rounding from giving sqrt(-tiny)
            variance = np.maximum(square_avg - grad_avg * grad_avg, 0.0)
        else:
            grad_avg = state.grad_avg
            variance = square_avg
        out = grads / (np.sqrt(variance) + eps)
        return out, RmsState(count=state.count + 1, square_avg=square_avg, grad_avg=grad_avg)

    return _block(init, update, "scale_by_rms", RmsState, decay=decay, eps=eps, centered=centered)


def accumulate(decay: float) -> GradientTransformation:
    """A momentum buffer that starts at zero: ``b_t = decay * b_{t-1} + g_t``, output ``b_t``.

    This is the buffer of PyTorch's RMSprop (unlike SGD's, it is not seeded by the first gradient).

    Examples
    --------
    >>> import numpy as np
    >>> tx = accumulate(0.5)
    >>> state = tx.init(np.zeros(1))
    >>> b1, state = tx.update(np.array([2.0]), state)   # 0.5 * 0 + 2
    >>> b2, state = tx.update(np.array([1.0]), state)   # 0.5 * 2 + 1
    >>> b1, b2
    (array([2.]), array([2.]))
    """
    decay = check_fraction("momentum", decay, "accumulate")

    def init(params: Array) -> TraceState:
        return TraceState(count=0, trace=_zeros(params))

    def update(grads: Array, state: TraceState, params: Array | None = None):
        buffer = decay * state.trace + grads
        return buffer, TraceState(count=state.count + 1, trace=buffer)

    return _block(init, update, "accumulate", TraceState, momentum=decay)


def add_decayed_weights(weight_decay: float) -> GradientTransformation:
    """Add the parameters, scaled: ``u = g + weight_decay * params``.

    Placed after an adaptive scaling and before :func:`scale_by_learning_rate`, this is the
    decoupled weight decay of AdamW.

    Examples
    --------
    >>> import numpy as np
    >>> tx = add_decayed_weights(0.1)
    >>> tx.update(np.array([1.0]), tx.init(np.array([5.0])), np.array([5.0]))[0]
    array([1.5])
    """
    weight_decay = check_non_negative("weight_decay", weight_decay, "add_decayed_weights")

    def init(params: Array) -> EmptyState:
        return EmptyState()

    def update(grads: Array, state: EmptyState, params: Array | None = None):
        if params is None:
            raise ValueError("add_decayed_weights needs the parameters: pass params to update().")
        return grads + weight_decay * params, state

    return _block(init, update, "add_decayed_weights", EmptyState, weight_decay=weight_decay)


def scale_by_pid(kp: float = 1.0, ki: float = 0.0, kd: float = 0.0) -> GradientTransformation:
    """The discrete PID control law with the gradient as the error signal.

    ``I_t = I_{t-1} + g_t`` (``I_0 = 0``), ``D_t = g_t - g_{t-1}`` (``D_1 = 0``: no
    derivative kick on the first step), ``u_t = kp g_t + ki I_t + kd D_t``.

    Examples
    --------
    >>> import numpy as np
    >>> tx = scale_by_pid(kp=1.0, ki=0.5, kd=2.0)
    >>> state = tx.init(np.zeros(1))
    >>> u1, state = tx.update(np.array([2.0]), state)   # 2 + 0.5 * 2 + 2 * 0
    >>> u2, state = tx.update(np.array([1.0]), state)   # 1 + 0.5 * 3 + 2 * (1 - 2)
    >>> u1, u2
    (array([3.]), array([0.5]))
    """
    kp = check_non_negative("kp", kp, "scale_by_pid")
    ki = check_non_negative("ki", ki, "scale_by_pid")
    kd = check_non_negative("kd", kd, "scale_by_pid")

    def init(params: Array) -> PidState:
        return PidState(count=0, integral=_zeros(params), previous=_zeros(params))

    def update(grads: Array, state: PidState, params: Array | None = None):
        integral = state.integral + grads
        derivative = grads - state.previous if state.count > 0 else _zeros(grads)
        out = kp * grads + ki * integral + kd * derivative
        new_state = PidState(count=state.count + 1, integral=integral, previous=np.array(grads))
        return _like(out, grads), new_state

    return _block(init, update, "scale_by_pid", PidState, kp=kp, ki=ki, kd=kd)


def _check_positive(name: str, value: float, block: str) -> float:
    if not _is_real(value):
        raise TypeError(f"The {name!r} parameter of {block} must be a real number. Got {value!r}.")
    if not np.isfinite(value) or value <= 0:
        raise ValueError(
            f"The {name!r} parameter of {block} must be a float > 0. Got {value!r} instead."
        )
    return float(value)


def clip(max_delta: float) -> GradientTransformation:
    """Clip every coordinate to ``[-max_delta, max_delta]``: ``u_i = min(max(g_i, -c), c)``.

    Examples
    --------
    >>> import numpy as np
    >>> tx = clip(1.0)
    >>> tx.update(np.array([-3.0, 0.5, 2.0]), tx.init(np.zeros(3)))[0]
    array([-1. ,  0.5,  1. ])
    """
    max_delta = _check_positive("max_delta", max_delta, "clip")

    def init(params: Array) -> EmptyState:
        return EmptyState()

    def update(grads: Array, state: EmptyState, params: Array | None = None):
        return np.clip(grads, -max_delta, max_delta), state

    return GradientTransformation(init, update, name="clip", hyperparams={"max_delta": max_delta})


def global_norm(values: Array, axis: int | None = None) -> Any:
    """The Euclidean norm ``sqrt(sum(g_i^2))`` of all coordinates together.

    With ``axis=0`` and a 2-D array whose columns are separate runs (a batched sweep), the norm of
    each column.

    Examples
    --------
    >>> import numpy as np
    >>> float(global_norm(np.array([3.0, 4.0])))
    5.0
    >>> global_norm(np.array([[3.0, 0.0], [4.0, 2.0]]), axis=0)
    array([5., 2.])
    """
    return np.sqrt(np.sum(np.square(values), axis=axis))


def clip_by_global_norm(max_norm: float, axis: int | None = None) -> GradientTransformation:
    """Rescale the gradient so that its Euclidean norm is at most ``max_norm``.

    ``u = g`` when ``||g|| <= max_norm``, else ``u = g * max_norm / ||g||`` (Optax's rule).
    PyTorch's ``clip_grad_norm_`` differs slightly: it always multiplies by
    ``min(1, max_norm / (||g|| + 1e-6))``.

    Parameters
    ----------
    max_norm : float
        The largest norm let through, > 0.
    axis : int or None, default None
        ``None`` takes the norm of all coordinates together (one run, whatever the shape of its
        parameters); ``0`` clips each column of a 2-D batch of runs on its own.

    Examples
    --------
    >>> import numpy as np
    >>> tx = clip_by_global_norm(1.0)
    >>> tx.update(np.array([3.0, 4.0]), tx.init(np.zeros(2)))[0]
    array([0.6, 0.8])
    """
    max_norm = _check_positive("max_norm", max_norm, "clip_by_global_norm")
    if axis is not None and (isinstance(axis, bool) or not isinstance(axis, int | np.integer)):
        raise TypeError(
            f"The 'axis' parameter of clip_by_global_norm must be None or an int. Got {axis!r}."
        )

    def init(params: Array) -> EmptyState:
        return EmptyState()

    def update(grads: Array, state: EmptyState, params: Array | None = None):
        norm = global_norm(grads, axis)
        if axis is None:
            if norm <= max_norm:
                return grads, state
            return _like(grads * (max_norm / norm), grads), state
        factor = np.where(norm <= max_norm, 1.0, max_norm / np.where(norm > 0, norm, 1.0))
        return _like(grads * np.expand_dims(factor, axis), grads), state

    hyperparams = {"max_norm": max_norm, "axis": axis}
    # the kernels clip one run by its global norm; per-column clipping (axis=0) stays on NumPy
    kernel = Block("clip_by_global_norm", hyperparams, EmptyState) if axis is None else None
    return GradientTransformation(
        init, update, name="clip_by_global_norm", hyperparams=hyperparams, kernel=kernel
    )
