"""Textbook update rules, written plainly and independently of :mod:`gdlab.optim`.

Each function runs an optimizer for a few steps and returns the iterates ``theta_0 .. theta_n`` as
an array of shape ``(n + 1, *theta_0.shape)``. The code follows the pseudo-code of PyTorch's
documentation line by line (https://pytorch.org/docs/stable/optim.html: ``SGD``, ``Adagrad``,
``RMSprop``, ``Adam``, ``AdamW``), works on the parameters directly (gdlab works on updates) and
keeps its own state in local variables. ``grad`` is a function ``grad(theta, t) -> g_t`` (``t``
1-based), so a test can feed a fixed sequence of gradients or the gradient of a function.
``lr`` is a float or a function of the 0-based update index (the schedule's ``count``).

Nothing here imports gdlab: these are the oracles the tests trust.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

Grad = Callable[[np.ndarray, int], np.ndarray]
Rate = float | Callable[[int], Any]


def _rate(lr: Rate, t: int) -> Any:
    """The learning rate of step ``t`` (1-based): a schedule is read at ``t - 1``."""
    return lr(t - 1) if callable(lr) else lr


def sgd(
    grad: Grad,
    theta0: np.ndarray,
    n_steps: int,
    lr: Rate,
    momentum: float = 0.0,
    nesterov: bool = False,
) -> np.ndarray:
    """PyTorch ``SGD`` (dampening 0, no weight decay)::

    for t = 1 ..:
        g_t = grad f(theta_{t-1})
        if mu != 0:
            if t > 1: b_t = mu b_{t-1} + g_t
            else:     b_t = g_t
            if nesterov: g_t = g_t + mu b_t
            else:        g_t = b_t
        theta_t = theta_{t-1} - gamma g_t
    """
    theta = np.array(theta0, dtype=np.float64)
    path = [theta.copy()]
    b = None
    for t in range(1, n_steps + 1):
        g = grad(theta, t)
        if momentum != 0:
            b = g.copy() if t == 1 else momentum * b + g
            g = g + momentum * b if nesterov else b
        theta = theta - _rate(lr, t) * g
        path.append(theta.copy())
    return np.array(path)


def adagrad(
    grad: Grad,
    theta0: np.ndarray,
    n_steps: int,
    lr: Rate,
    eps: float = 1e-10,
    initial_accumulator_value: float = 0.0,
) -> np.ndarray:
    """PyTorch ``Adagrad`` (``lr_decay = 0``, no weight decay)::

    state_sum_0 = initial_accumulator_value
    for t = 1 ..:
        state_sum_t = state_sum_{t-1} + g_t^2
        theta_t = theta_{t-1} - gamma g_t / (sqrt(state_sum_t) + eps)
    """
    theta = np.array(theta0, dtype=np.float64)
    path = [theta.copy()]
    state_sum = np.full(theta.shape, float(initial_accumulator_value))
    for t in range(1, n_steps + 1):
        g = grad(theta, t)
        state_sum = state_sum + g**2
        theta = theta - _rate(lr, t) * g / (np.sqrt(state_sum) + eps)
        path.append(theta.copy())
    return np.array(path)


def rmsprop(
    grad: Grad,
    theta0: np.ndarray,
    n_steps: int,
    lr: Rate,
    alpha: float = 0.99,
    eps: float = 1e-8,
    momentum: float = 0.0,
    centered: bool = False,
) -> np.ndarray:
    """PyTorch ``RMSprop`` (no weight decay)::

    v_0 = 0, b_0 = 0, g^ave_0 = 0
    for t = 1 ..:
        v_t = alpha v_{t-1} + (1 - alpha) g_t^2
        vt~ = v_t
        if centered:
            g^ave_t = alpha g^ave_{t-1} + (1 - alpha) g_t
            vt~ = vt~ - (g^ave_t)^2
        if mu > 0:
            b_t = mu b_{t-1} + g_t / (sqrt(vt~) + eps)
            theta_t = theta_{t-1} - gamma b_t
        else:
            theta_t = theta_{t-1} - gamma g_t / (sqrt(vt~) + eps)
    """
    theta = np.array(theta0, dtype=np.float64)
    path = [theta.copy()]
    v = np.zeros(theta.shape)
    b = np.zeros(theta.shape)
    g_ave = np.zeros(theta.shape)
    for t in range(1, n_steps + 1):
        g = grad(theta, t)
        v = alpha * v + (1 - alpha) * g**2
        v_tilde = v
        if centered:
            g_ave = alpha * g_ave + (1 - alpha) * g
            v_tilde = v_tilde - g_ave**2
        if momentum > 0:
            b = momentum * b + g / (np.sqrt(v_tilde) + eps)
            theta = theta - _rate(lr, t) * b
        else:
            theta = theta - _rate(lr, t) * g / (np.sqrt(v_tilde) + eps)
        path.append(theta.copy())
    return np.array(path)


def adam(
    grad: Grad,
    theta0: np.ndarray,
    n_steps: int,
    lr: Rate,
    beta1: float = 0.9,
    beta2: float = 0.999,
    eps: float = 1e-8,
    weight_decay: float = 0.0,
    decoupled: bool = False,
) -> np.ndarray:
    """PyTorch ``Adam`` (``amsgrad=False``, no weight decay) and, with ``decoupled=True``,
    ``AdamW``::

        m_0 = 0, v_0 = 0
        for t = 1 ..:
            if decoupled: theta_{t-1} = theta_{t-1} - gamma lambda theta_{t-1}     (AdamW)
            m_t = beta1 m_{t-1} + (1 - beta1) g_t
            v_t = beta2 v_{t-1} + (1 - beta2) g_t^2
            m^_t = m_t / (1 - beta1^t)
            v^_t = v_t / (1 - beta2^t)
            theta_t = theta_{t-1} - gamma m^_t / (sqrt(v^_t) + eps)

    The gradient ``g_t`` is taken at ``theta_{t-1}`` before the decay.
    """
    if weight_decay and not decoupled:
        raise NotImplementedError("only AdamW's decoupled weight decay is modelled here")
    theta = np.array(theta0, dtype=np.float64)
    path = [theta.copy()]
    m = np.zeros(theta.shape)
    v = np.zeros(theta.shape)
    for t in range(1, n_steps + 1):
        g = grad(theta, t)
        gamma = _rate(lr, t)
        if decoupled:
            theta = theta - gamma * weight_decay * theta
        m = beta1 * m + (1 - beta1) * g
        v = beta2 * v + (1 - beta2) * g**2
        m_hat = m / (1 - beta1**t)
        v_hat = v / (1 - beta2**t)
        theta = theta - gamma * m_hat / (np.sqrt(v_hat) + eps)
        path.append(theta.copy())
    return np.array(path)


def adamw(
    grad: Grad,
    theta0: np.ndarray,
    n_steps: int,
    lr: Rate,
    beta1: float = 0.9,
    beta2: float = 0.999,
    eps: float = 1e-8,
    weight_decay: float = 0.01,
) -> np.ndarray:
    """PyTorch ``AdamW``: :func:`adam` with decoupled weight decay ``theta <- theta (1 - gamma
    lambda)`` applied before the Adam step."""
    return adam(grad, theta0, n_steps, lr, beta1, beta2, eps, weight_decay, decoupled=True)


def pid(
    grad: Grad,
    theta0: np.ndarray,
    n_steps: int,
    lr: Rate,
    kp: float = 1.0,
    ki: float = 0.0,
    kd: float = 0.0,
) -> np.ndarray:
    """The discrete PID law of ``gdlab.optim.pid``'s docstring, error signal ``e_t = g_t``::

    I_t = I_{t-1} + e_t          (I_0 = 0)
    D_t = e_t - e_{t-1}          (D_1 = 0)
    theta_t = theta_{t-1} - gamma (kp e_t + ki I_t + kd D_t)
    """
    theta = np.array(theta0, dtype=np.float64)
    path = [theta.copy()]
    integral = np.zeros(theta.shape)
    previous = None
    for t in range(1, n_steps + 1):
        e = grad(theta, t)
        integral = integral + e
        derivative = np.zeros(theta.shape) if previous is None else e - previous
        theta = theta - _rate(lr, t) * (kp * e + ki * integral + kd * derivative)
        previous = e
        path.append(theta.copy())
    return np.array(path)


def clip(g: np.ndarray, max_delta: float) -> np.ndarray:
    """Each coordinate clipped to ``[-max_delta, max_delta]``, one at a time."""
    flat = [min(max(float(x), -max_delta), max_delta) for x in np.ravel(g)]
    return np.array(flat).reshape(np.shape(g))


def clip_by_global_norm(g: np.ndarray, max_norm: float) -> np.ndarray:
    """Optax's ``clip_by_global_norm``: ``g`` if ``||g|| <= max_norm`` else
    ``g * max_norm / ||g||``, the norm summed coordinate by coordinate in plain Python."""
    norm = math.sqrt(sum(float(x) ** 2 for x in np.ravel(g)))
    if norm <= max_norm:
        return np.array(g, dtype=np.float64)
    return np.array(g, dtype=np.float64) * (max_norm / norm)
