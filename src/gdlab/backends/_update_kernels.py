# mypy: ignore-errors
# (Numba kernels: typed by Numba at compile time; its decorators take private options.)
"""Numba kernels: one optimizer update and the penalty's gradient, per step.

The update formulas of :mod:`gdlab.optim` (PyTorch's rules) as the compiled epochs of
:mod:`gdlab.backends._kernels` (dense), :mod:`gdlab.backends._sparse_kernels` and
:mod:`gdlab.backends._mlp_kernels` run them: ``kind`` is the optimizer's code (``SGD`` ...
``PID``), its hyperparameters are ``floats[F_HYPER:F_HYPER + 8]`` and its state the arrays
``s1, s2, s3`` (the layout of :mod:`gdlab.backends.plan`).
"""

from __future__ import annotations

import math

from numba import njit

from gdlab.backends._rounding import sgd_coefficient

FASTMATH = {"reassoc", "contract"}

SGD, ADAGRAD, RMSPROP, ADAM, ADAMW, PID = 0, 1, 2, 3, 4, 5
#: where the optimizer's hyperparameters start in ``floats``
F_HYPER = 8


@njit(cache=True, error_model="numpy", fastmath=FASTMATH, _nrt=False, forceinline=True)
def _penalise(theta, grad, n_weights, l2, l1):
    """Add the penalty's (sub)gradient to ``grad``; return the penalty's value."""
    squares = 0.0
    absolute = 0.0
    for j in range(n_weights):
        w = theta[j]
        squares += w * w
        absolute += abs(w)
        pen = l2 * w
        if l1 != 0.0:
            if w > 0:
                pen = pen + l1
            elif w < 0:
                pen = pen - l1
        grad[j] = grad[j] + pen
    return 0.5 * l2 * squares + l1 * absolute


@njit(cache=True, error_model="numpy", fastmath=FASTMATH, _nrt=False, forceinline=True)
def _norm(grad):
    s = 0.0
    for j in range(grad.shape[0]):
        s += grad[j] * grad[j]
    return math.sqrt(s)


@njit(cache=True, error_model="numpy", fastmath=FASTMATH, _nrt=False, forceinline=True)
def adam_direction(j, g, theta, s1, s2, b1, b2, eps, decay, correction1, root2):
    """Adam's (AdamW's with ``decay``) step direction for coefficient ``j`` with gradient ``g``:
    the moments ``s1[j]``, ``s2[j]`` are updated, and ``m_hat / (sqrt(v_hat) + eps)`` (plus
    ``decay * theta[j]``) returned, before the learning rate. The one formula of the dense
    (:func:`_apply`) and the sparse (``_sparse_updates.adam_update``) kernels."""
    mu = b1 * s1[j] + (1.0 - b1) * g
    nu = b2 * s2[j] + (1.0 - b2) * (g * g)
    s1[j] = mu
    s2[j] = nu
    direction = (mu / correction1) / (math.sqrt(nu) / root2 + eps)
    if decay != 0.0:
        direction = direction + decay * theta[j]
    return direction


@njit(cache=True, error_model="numpy", fastmath=FASTMATH, _nrt=False, forceinline=True)
def _apply(kind, floats, count, rate, scale, grad, theta, s1, s2, s3):
    """One optimizer update of ``theta`` with gradient ``grad``; ``count`` updates came before.

    The formulas are those of :mod:`gdlab.optim` (PyTorch's rules); ``scale`` is the plateau
    rule's factor on the update.
    """
    P = theta.shape[0]
    step = -rate
    h0, h1, h2, h3 = floats[F_HYPER], floats[F_HYPER + 1], floats[F_HYPER + 2], floats[F_HYPER + 3]
    if kind == SGD and h0 == 0.0:
        for j in range(P):
            theta[j] = sgd_coefficient(theta[j], step, grad[j], scale)
    elif kind == SGD:
        momentum, nesterov, first = h0, h1 != 0.0, count == 0
        for j in range(P):
            g = grad[j]
            buf = g if first else momentum * s1[j] + g
            s1[j] = buf
            direction = g + momentum * buf if nesterov else buf
            theta[j] = sgd_coefficient(theta[j], step, direction, scale)
    elif kind == ADAGRAD:
        for j in range(P):
            g = grad[j]
            total = s1[j] + g * g
            s1[j] = total
            theta[j] = sgd_coefficient(theta[j], step, g / (math.sqrt(total) + h0), scale)
    elif kind == RMSPROP:
        decay, eps, momentum, centered = h0, h1, h2, h3 != 0.0
        for j in range(P):
            g = grad[j]
            square = decay * s1[j] + (1.0 - decay) * (g * g)
            s1[j] = square
            if centered:
                mean = decay * s2[j] + (1.0 - decay) * g
                s2[j] = mean
                square = square - mean * mean
            direction = g / (math.sqrt(square) + eps)
            if momentum != 0.0:
                direction = momentum * s3[j] + direction
                s3[j] = direction
            theta[j] = sgd_coefficient(theta[j], step, direction, scale)
    elif kind == ADAM or kind == ADAMW:
        b1, b2, eps = h0, h1, h2
        decay = h3 if kind == ADAMW else 0.0
        t = count + 1
        correction1 = 1.0 - b1**t
        root2 = math.sqrt(1.0 - b2**t)
        for j in range(P):
            direction = adam_direction(
                j, grad[j], theta, s1, s2, b1, b2, eps, decay, correction1, root2
            )
            theta[j] = sgd_coefficient(theta[j], step, direction, scale)
    else:
        kp, ki, kd, first = h0, h1, h2, count == 0
        for j in range(P):
            g = grad[j]
            integral = s1[j] + g
            derivative = 0.0 if first else g - s2[j]
            s1[j] = integral
            s2[j] = g
            control = kp * g + ki * integral + kd * derivative
            theta[j] = sgd_coefficient(theta[j], step, control, scale)
