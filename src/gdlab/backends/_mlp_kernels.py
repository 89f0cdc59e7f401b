# mypy: ignore-errors
# (Numba kernels: typed by Numba at compile time; its decorators take private options.)
"""Numba kernel: a whole epoch of a multi-layer perceptron's training in one call.

Imported only by :mod:`gdlab.backends.network_epochs` (``import gdlab`` never imports Numba);
compiled once per machine (``cache=True``). One signature serves every depth and width: the
parameters are one flat vector ``theta`` (the layout of :class:`gdlab.nn.Architecture`: ``W_1, b_1,
W_2, ...``) and every per-layer buffer is a slice of one flat buffer, reshaped to the batch's rows.

Per batch it does what :meth:`gdlab.nn.NetworkObjective.loss_and_grad` and the engine's NumPy
epoch do, in the same order: gather the rows, forward (``z = h @ W + b``, activation), loss and
``delta = dloss/dz_out`` (:func:`gdlab.backends._kernels._loss_row`, divided by the rows),
backward (``dW = h_in.T @ delta``, ``db = sum_rows(delta)``, ``d h_in = delta @ W.T``, times
``f'``), the L2 term ``alpha / 2 sum ||W||^2`` and its gradient, the per-layer diagnostics of
:class:`gdlab.nn.diagnostics.LayerTracker`, then the divergence check, record, clipping and
optimizer update of the linear kernels (:func:`gdlab.backends._kernels._finish_step`). The matrix
products are ``np.dot`` into preallocated buffers, which Numba sends to BLAS ``dgemm`` with no
Python in between.

Activation codes: relu 0, leaky_relu 1, tanh 2, sigmoid 3, identity 4. ``diag_act[l]`` collects,
per hidden layer, ``[sum of activations, sum of squares, count, saturated count]``; ``alive``
(one entry per hidden unit) is set to 1 where a ReLU unit was positive on some row.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from gdlab.backends._gather_kernels import gather
from gdlab.backends._kernels import _finish_step, _loss_row

RELU, LEAKY, TANH, SIGMOID, IDENTITY = 0, 1, 2, 3, 4
LEAKY_SLOPE = 0.01
#: activation name -> kernel code
ACTIVATION_CODES = {"relu": RELU, "leaky_relu": LEAKY, "tanh": TANH, "sigmoid": SIGMOID}
ACTIVATION_CODES["identity"] = IDENTITY


@njit(cache=True, error_model="numpy", inline="always")
def _activate(kind, u):
    if kind == RELU:  # np.maximum(u, 0): NaN stays NaN
        return u if (u > 0.0 or u != u) else 0.0
    if kind == LEAKY:
        return u if u > 0.0 else LEAKY_SLOPE * u
    if kind == TANH:
        return math.tanh(u)
    if kind == SIGMOID:
        return 1.0 / (1.0 + math.exp(-u))
    return u


@njit(cache=True, error_model="numpy", inline="always")
def _slope(kind, a):
    """``f'(u)`` from ``a = f(u)`` (for ReLU and leaky ReLU, ``u > 0`` exactly when ``a > 0``)."""
    if kind == RELU:
        return 1.0 if a > 0.0 else 0.0
    if kind == LEAKY:
        return 1.0 if a > 0.0 else LEAKY_SLOPE
    if kind == TANH:
        return 1.0 - a * a
    if kind == SIGMOID:
        return a * (1.0 - a)
    return 1.0


@njit(cache=True, error_model="numpy", inline="always")
def _saturated(kind, a):
    if kind == TANH:
        return abs(a) > 0.99
    if kind == SIGMOID:
        return a < 0.01 or a > 0.99
    return False


@njit(cache=True, error_model="numpy")
def _hidden_forward(h, W, b, a, kind, diag, col, alive, unit0):
    """``a = f(h @ W + b)`` and the layer's activation statistics."""
    np.dot(h, W, a)
    rows, width = a.shape
    for j in range(width):
        col[j] = 0.0
    squares = 0.0
    saturated = 0.0
    for i in range(rows):
        for j in range(width):
            v = _activate(kind, a[i, j] + b[j])
            a[i, j] = v
            col[j] += v
            squares += v * v
            if _saturated(kind, v):
                saturated += 1.0
    total = 0.0
    for j in range(width):
        total += col[j]
        if col[j] > 0.0:
            alive[unit0 + j] = 1.0
    diag[0] += total
    diag[1] += squares
    diag[2] += rows * width
    diag[3] += saturated


@njit(cache=True, error_model="numpy")
def _loss_delta(h, W, b, z, delta, Yb, kind, param):
    """The output layer ``z = h @ W + b``; returns the batch's mean loss, ``delta`` its gradient."""
    np.dot(h, W, z)
    rows, K = z.shape
    total = 0.0
    for i in range(rows):
        for c in range(K):
            z[i, c] += b[c]
        total += _loss_row(kind, param, z[i], Yb, i, K, delta[i])
    for i in range(rows):
        for c in range(K):
            delta[i, c] = delta[i, c] / rows
    return total / rows


@njit(cache=True, error_model="numpy")
def _column_sums(dz, out):
    rows, width = dz.shape
    for j in range(width):
        out[j] = 0.0
    for i in range(rows):
        for j in range(width):
            out[j] += dz[i, j]


@njit(cache=True, error_model="numpy")
def _penalty(theta, grad, sizes, w_off, alpha, diag_grad, b_off):
    """Add ``alpha W`` to the weight gradients; the per-layer gradient norms; the L2 value."""
    squares = 0.0
    L = sizes.shape[0] - 1
    for layer in range(L):
        lo = w_off[layer]
        hi = lo + sizes[layer] * sizes[layer + 1]
        if alpha != 0.0:
            for j in range(lo, hi):
                w = theta[j]
                squares += w * w
                grad[j] = grad[j] + alpha * w
        s = 0.0
        for j in range(lo, b_off[layer] + sizes[layer + 1]):
            s += grad[j] * grad[j]
        diag_grad[layer] += math.sqrt(s)
    return 0.5 * alpha * squares


@njit(cache=True, error_model="numpy")
def _forward(h0, Yb, rows, sizes, w_off, b_off, theta, hidden, out, act, kind, loss_param,
             diag_act, col, alive):  # fmt: skip
    """The forward pass of one batch of ``rows`` rows ``h0``: the hidden activations into
    ``hidden``, the output and its delta into ``out``; returns the batch's loss and the last
    hidden layer's activations."""
    L = sizes.shape[0] - 1
    K = sizes[L]
    h = h0
    offset = 0
    unit0 = 0
    for layer in range(L - 1):
        fi, fo = sizes[layer], sizes[layer + 1]
        W = theta[w_off[layer] : w_off[layer] + fi * fo].reshape((fi, fo))
        a = hidden[offset : offset + rows * fo].reshape((rows, fo))
        b = theta[b_off[layer] : b_off[layer] + fo]
        _hidden_forward(h, W, b, a, act, diag_act[layer], col, alive, unit0)
        h = a
        offset += rows * fo
        unit0 += fo
    fi = sizes[L - 1]
    W = theta[w_off[L - 1] : w_off[L - 1] + fi * K].reshape((fi, K))
    z = out[: rows * K].reshape((rows, K))
    delta = out[rows * K : 2 * rows * K].reshape((rows, K))
    loss = _loss_delta(h, W, theta[b_off[L - 1] : b_off[L - 1] + K], z, delta, Yb, kind, loss_param)
    return loss, h


@njit(cache=True, error_model="numpy")
def _backward(h0, h, rows, sizes, w_off, b_off, theta, hidden, out, back, grad, act):
    """Backpropagation of one batch after :func:`_forward`: the gradient of every weight and
    bias into ``grad`` (the output layer first, then the hidden layers from the last)."""
    L = sizes.shape[0] - 1
    K = sizes[L]
    fi = sizes[L - 1]
    W = theta[w_off[L - 1] : w_off[L - 1] + fi * K].reshape((fi, K))
    delta = out[rows * K : 2 * rows * K].reshape((rows, K))
    offset = 0
    for layer in range(L - 1):
        offset += rows * sizes[layer + 1]
    np.dot(h.T, delta, grad[w_off[L - 1] : w_off[L - 1] + fi * K].reshape((fi, K)))
    _column_sums(delta, grad[b_off[L - 1] : b_off[L - 1] + K])
    dh = back[: rows * fi].reshape((rows, fi))
    np.dot(delta, W.T, dh)
    half = back.shape[0] // 2
    base = 0  # dh is back[base:]; the next layer's goes to the other half
    for layer in range(L - 2, -1, -1):
        fi, fo = sizes[layer], sizes[layer + 1]
        offset -= rows * fo
        a = hidden[offset : offset + rows * fo].reshape((rows, fo))
        for i in range(rows):
            for j in range(fo):
                dh[i, j] = dh[i, j] * _slope(act, a[i, j])
        h_in = h0 if layer == 0 else hidden[offset - rows * fi : offset].reshape((rows, fi))
        W = theta[w_off[layer] : w_off[layer] + fi * fo].reshape((fi, fo))
        np.dot(h_in.T, dh, grad[w_off[layer] : w_off[layer] + fi * fo].reshape((fi, fo)))
        _column_sums(dh, grad[b_off[layer] : b_off[layer] + fo])
        if layer > 0:
            base = half - base
            following = back[base : base + rows * fi].reshape((rows, fi))
            np.dot(dh, W.T, following)
            dh = following


@njit(cache=True, error_model="numpy", nogil=True)
def run_epoch(
    X,
    Y,
    order,
    batch,
    sizes,
    w_off,
    b_off,
    codes,
    params,
    theta,
    s1,
    s2,
    s3,
    ints,
    floats,
    rates,
    stats,
    losses,
    hidden,
    out,
    back,
    xb,
    yb,
    diag_grad,
    diag_act,
    alive,
):
    """All batches of one epoch; returns the number of batches attempted.

    ``codes = [activation, loss]``, ``params = [loss parameter, alpha]``; ``order`` the row
    order (length 0: natural). ``hidden`` holds ``batch * sum(hidden widths)`` values, ``out``
    ``2 * batch * n_outputs``, ``back`` ``2 * batch * max(hidden widths)``.
    """
    n = X.shape[0]
    act, kind = codes[0], codes[1]
    no_weight = np.zeros(0, dtype=X.dtype)
    col = np.empty(back.shape[0] // 2, dtype=X.dtype)
    grad = np.empty_like(theta)
    step = 0
    for start in range(0, n, batch):
        stop = min(start + batch, n)
        rows = stop - start
        if order.shape[0] > 0:
            gather(X, Y, no_weight, order, start, stop, xb, yb, no_weight, 0)
            h0 = xb[:rows]
            Yb = yb[:rows]
        else:
            h0 = X[start:stop]
            Yb = Y[start:stop]
        loss, h = _forward(
            h0, Yb, rows, sizes, w_off, b_off, theta, hidden, out, act, kind, params[0],
            diag_act, col, alive,
        )  # fmt: skip
        _backward(h0, h, rows, sizes, w_off, b_off, theta, hidden, out, back, grad, act)
        loss += _penalty(theta, grad, sizes, w_off, params[1], diag_grad, b_off)
        if _finish_step(
            loss, rows, step, grad, theta, s1, s2, s3, ints, floats, rates, stats, losses
        ):
            return step + 1
        step += 1
    return step
