"""Numba kernels: whole epochs of linear-model training in compiled code.

Imported only when the compiled backend is used (``import gdlab`` never imports Numba). Every
kernel is compiled with ``cache=True``, so a machine compiles each signature once (float64 and
float32 are the two signatures) and later sessions load the machine code from the cache.

The arithmetic mirrors the NumPy reference path step for step (the same loss, penalty, gradient
clipping and optimizer formulas, in the same order where it matters), so both paths agree to
rounding. Dot products may be reassociated (``fastmath`` with ``reassoc`` and ``contract`` only:
no ``nnan``/``ninf``, so a non-finite loss is still seen and reported as divergence).

Layout of the inputs (see :mod:`gdlab.backends.plan`):

- ``theta = [W.ravel(), b]`` with ``W`` of shape ``(d, K)``; ``Y`` of shape ``(n, K)``; ``SW`` the
  sample weights (length 0 for none); ``order`` the row order (length 0 for the natural order).
- ``ints = [K, fit_intercept, loss, optimizer, batch, block_count, has_reference, block_rows]``.
- ``floats = [loss_param, l2, l1, clip_norm, scale, divergence_factor, reference, mean weight,
  hyper(8)]``.
- A batch ``B`` of weighted rows contributes ``f * sum_B w_i loss_i / sum_B w_i`` with
  ``f = sum_B w_i / (|B| mean(w))`` (:class:`gdlab.objectives.LinearObjective`'s definition).
- ``stats`` (output) ``= [sum of batch losses * rows, rows, sum of gradient norms, updates,
  diverged, divergent loss]``.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

FASTMATH = {"reassoc", "contract"}

SQUARED, HUBER, LOG, SOFTMAX, HINGE = 0, 1, 2, 3, 4
SGD, ADAGRAD, RMSPROP, ADAM, ADAMW, PID = 0, 1, 2, 3, 4, 5
I_K, I_INTERCEPT, I_LOSS, I_OPT, I_BATCH, I_COUNT, I_HASREF, I_BLOCK = 0, 1, 2, 3, 4, 5, 6, 7
F_LOSSPARAM, F_L2, F_L1, F_CLIP, F_SCALE, F_FACTOR, F_REF, F_MEANW = 0, 1, 2, 3, 4, 5, 6, 7
F_HYPER = 8
S_LOSS, S_ROWS, S_NORM, S_UPDATES, S_DIVERGED, S_BADLOSS = 0, 1, 2, 3, 4, 5


@njit(cache=True, fastmath=FASTMATH, inline="always")
def _forward(X, r, theta, K, d, intercept, z, zero):
    """``z = X[r] @ W + b`` for one row (rows are indexed, not sliced: a slice per row would
    cost two reference-count updates)."""
    n_weights = d * K
    if K == 1:
        s = zero
        for k in range(d):
            s += X[r, k] * theta[k]
        if intercept:
            s += theta[n_weights]
        z[0] = s
        return
    for c in range(K):
        z[c] = zero
    for k in range(d):
        xk = X[r, k]
        base = k * K
        for c in range(K):
            z[c] += xk * theta[base + c]
    if intercept:
        for c in range(K):
            z[c] += theta[n_weights + c]


@njit(cache=True, fastmath=FASTMATH, inline="always")
def _backward(X, r, dz, K, d, intercept, grad):
    """``grad[W] += outer(X[r], dz)``, ``grad[b] += dz``."""
    n_weights = d * K
    if K == 1:
        g = dz[0]
        for k in range(d):
            grad[k] += g * X[r, k]
        if intercept:
            grad[n_weights] += g
        return
    for k in range(d):
        xk = X[r, k]
        base = k * K
        for c in range(K):
            grad[base + c] += xk * dz[c]
    if intercept:
        for c in range(K):
            grad[n_weights + c] += dz[c]


@njit(cache=True, fastmath=FASTMATH, inline="always")
def _loss_row(kind, param, z, Y, row, K, dz):
    """Per-sample loss (summed over outputs) and its gradient with respect to ``z``."""
    total = 0.0
    if kind == SQUARED:
        for c in range(K):
            r = z[c] - Y[row, c]
            total += r * r
            dz[c] = 2.0 * r
    elif kind == HUBER:
        for c in range(K):
            r = z[c] - Y[row, c]
            a = abs(r)
            if a <= param:
                total += 0.5 * a * a
            else:
                total += param * (a - 0.5 * param)
            dz[c] = min(max(r, -param), param)
    elif kind == LOG:
        for c in range(K):
            zc = z[c]
            total += max(zc, 0.0) - Y[row, c] * zc + math.log1p(math.exp(-abs(zc)))
            dz[c] = 1.0 / (1.0 + math.exp(-zc)) - Y[row, c]
    elif kind == SOFTMAX:
        top = z[0]
        for c in range(1, K):
            top = max(top, z[c])
        s = 0.0
        for c in range(K):
            s += math.exp(z[c] - top)
        dot = 0.0
        for c in range(K):
            dot += Y[row, c] * z[c]
            dz[c] = math.exp(z[c] - top) / s - Y[row, c]
        total = top + math.log(s) - dot
    else:
        for c in range(K):
            m = Y[row, c] * z[c]
            total += max(0.0, 1.0 - m)
            dz[c] = -Y[row, c] if m < 1.0 else 0.0
    return total


@njit(cache=True, fastmath=FASTMATH, inline="always")
def _rows_gradient(Xs, Ys, Ws, lo, hi, denom, factor, theta, ints, floats, grad, z, dz, zero):
    """Add the scaled gradient of rows ``lo:hi`` of the sources to ``grad``; return their loss sum.

    Unweighted rows are scaled by ``1 / denom`` (the batch size); weighted rows by
    ``factor * (w_i / denom)`` (``denom`` the batch's weight sum), as the NumPy objective does.
    The returned sum is weighted by ``w_i`` for weighted rows.
    """
    K = ints[I_K]
    intercept = ints[I_INTERCEPT] != 0
    kind = ints[I_LOSS]
    param = floats[F_LOSSPARAM]
    d = Xs.shape[1]
    weighted = Ws.shape[0] > 0
    total = 0.0
    for r in range(lo, hi):
        _forward(Xs, r, theta, K, d, intercept, z, zero)
        value = _loss_row(kind, param, z, Ys, r, K, dz)
        if weighted:
            weight = Ws[r]
            share = weight / denom
            total += weight * value
            for c in range(K):
                dz[c] = factor * (dz[c] * share)
        else:
            total += value
            for c in range(K):
                dz[c] = dz[c] / denom
        _backward(Xs, r, dz, K, d, intercept, grad)
    return total


@njit(cache=True, fastmath=FASTMATH, inline="always")
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


@njit(cache=True, fastmath=FASTMATH, inline="always")
def _norm(grad):
    s = 0.0
    for j in range(grad.shape[0]):
        s += grad[j] * grad[j]
    return math.sqrt(s)


@njit(cache=True, fastmath=FASTMATH, inline="always")
def _apply(kind, hyper, count, rate, scale, grad, theta, s1, s2, s3):
    """One optimizer update of ``theta`` with gradient ``grad``; ``count`` updates came before."""
    P = theta.shape[0]
    step = -rate
    if kind == SGD:
        momentum = hyper[0]
        nesterov = hyper[1] != 0.0
        if momentum == 0.0:
            for j in range(P):
                theta[j] = theta[j] + (step * grad[j]) * scale
        else:
            for j in range(P):
                g = grad[j]
                buf = g if count == 0 else momentum * s1[j] + g
                s1[j] = buf
                direction = g + momentum * s1[j] if nesterov else s1[j]
                theta[j] = theta[j] + (step * direction) * scale
    elif kind == ADAGRAD:
        eps = hyper[0]
        for j in range(P):
            g = grad[j]
            s1[j] = s1[j] + g * g
            theta[j] = theta[j] + (step * (g / (math.sqrt(s1[j]) + eps))) * scale
    elif kind == RMSPROP:
        decay, eps, momentum = hyper[0], hyper[1], hyper[2]
        centered = hyper[3] != 0.0
        for j in range(P):
            g = grad[j]
            s1[j] = decay * s1[j] + (1.0 - decay) * (g * g)
            if centered:
                s2[j] = decay * s2[j] + (1.0 - decay) * g
                variance = s1[j] - s2[j] * s2[j]
            else:
                variance = s1[j]
            direction = g / (math.sqrt(variance) + eps)
            if momentum != 0.0:
                s3[j] = momentum * s3[j] + direction
                direction = s3[j]
            theta[j] = theta[j] + (step * direction) * scale
    elif kind == ADAM or kind == ADAMW:
        b1, b2, eps, decay = hyper[0], hyper[1], hyper[2], hyper[3]
        t = count + 1
        correction1 = 1.0 - b1**t
        root2 = math.sqrt(1.0 - b2**t)
        for j in range(P):
            g = grad[j]
            s1[j] = b1 * s1[j] + (1.0 - b1) * g
            s2[j] = b2 * s2[j] + (1.0 - b2) * (g * g)
            direction = (s1[j] / correction1) / (math.sqrt(s2[j]) / root2 + eps)
            if kind == ADAMW:
                direction = direction + decay * theta[j]
            theta[j] = theta[j] + (step * direction) * scale
    else:
        kp, ki, kd = hyper[0], hyper[1], hyper[2]
        for j in range(P):
            g = grad[j]
            s1[j] = s1[j] + g
            derivative = g - s2[j] if count > 0 else 0.0
            s2[j] = g
            theta[j] = theta[j] + (step * (kp * g + ki * s1[j] + kd * derivative)) * scale


@njit(cache=True, fastmath=FASTMATH, inline="always")
def _batch_weight(SW, order, start, stop, floats):
    """``(sum of the batch's weights, f)``: ``(rows, 1)`` without weights."""
    rows = stop - start
    if SW.shape[0] == 0:
        return float(rows), 1.0
    total = 0.0
    for s in range(start, stop):
        total += SW[order[s]] if order.shape[0] > 0 else SW[s]
    return total, total / (rows * floats[F_MEANW])


@njit(cache=True, fastmath=FASTMATH, inline="always")
def _finish_step(loss, rows, step, grad, theta, s1, s2, s3, ints, floats, rates, out):
    """Penalty, loss, divergence check, record, clipping and the update of one batch.

    ``loss`` is the batch's data loss. Returns ``True`` when the batch's loss diverged (then
    nothing is updated).
    """
    K = ints[I_K]
    n_weights = theta.shape[0] - (K if ints[I_INTERCEPT] != 0 else 0)
    l2, l1 = floats[F_L2], floats[F_L1]
    if l2 != 0.0 or l1 != 0.0:
        loss += _penalise(theta, grad, n_weights, l2, l1)
    if ints[I_HASREF] == 0 and step == 0:
        floats[F_REF] = loss
    reference = floats[F_REF]
    if not math.isfinite(loss) or loss > floats[F_FACTOR] * max(1.0, abs(reference)):
        out[0][S_DIVERGED] = 1.0
        out[0][S_BADLOSS] = loss
        return True
    norm = _norm(grad)
    stats = out[0]
    stats[S_LOSS] += loss * rows
    stats[S_ROWS] += rows
    stats[S_NORM] += norm
    stats[S_UPDATES] += 1.0
    out[1][step] = loss
    clip = floats[F_CLIP]
    if clip > 0.0 and norm > clip:
        factor = clip / norm
        for j in range(grad.shape[0]):
            grad[j] = grad[j] * factor
    rate = rates[step] if rates.shape[0] > 1 else rates[0]
    _apply(
        ints[I_OPT],
        floats[F_HYPER:],
        ints[I_COUNT] + step,
        rate,
        floats[F_SCALE],
        grad,
        theta,
        s1,
        s2,
        s3,
    )
    return False


@njit(cache=True, fastmath=FASTMATH)
def _run_rows(Xs, Ys, Ws, lo, hi, step, theta, s1, s2, s3, ints, floats, rates, out, work):
    """Run the batches of source rows ``lo:hi`` one after another; return the next step number.

    Stops at a divergent batch (``out[0][S_DIVERGED]`` is then set).
    """
    grad, z, dz, zero, no_order = work
    batch = ints[I_BATCH]
    start = lo
    while start < hi:
        stop = min(start + batch, hi)
        grad[:] = 0
        denom, factor = _batch_weight(Ws, no_order, start, stop, floats)
        loss = 0.0
        if denom > 0.0:
            total = _rows_gradient(
                Xs, Ys, Ws, start, stop, denom, factor, theta, ints, floats, grad, z, dz, zero[0]
            )
            loss = factor * (total / denom)
        if _finish_step(
            loss, stop - start, step, grad, theta, s1, s2, s3, ints, floats, rates, out
        ):
            return step
        step += 1
        start = stop
    return step


@njit(cache=True, fastmath=FASTMATH)
def _gather(X, Y, SW, order, lo, hi, bx, by, bw):
    """Copy rows ``order[lo:hi]`` into the block buffers, in that order."""
    d = X.shape[1]
    K = Y.shape[1]
    weighted = SW.shape[0] > 0
    for s in range(lo, hi):
        i = order[s]
        r = s - lo
        for k in range(d):
            bx[r, k] = X[i, k]
        for c in range(K):
            by[r, c] = Y[i, c]
        if weighted:
            bw[r] = SW[i]


@njit(cache=True, nogil=True, fastmath=FASTMATH)
def run_block(Xs, Ys, Ws, n_rows, step, theta, s1, s2, s3, ints, floats, rates, stats, losses):
    """Run the batches of the first ``n_rows`` source rows; return the next step number.

    The sources are ``X, Y, SW`` themselves (natural order) or a block of them gathered in the
    epoch's row order by :func:`gather`. Releases the GIL, so that the next block can be gathered
    by another thread meanwhile.
    """
    K = Ys.shape[1]
    z = np.zeros(K, dtype=Xs.dtype)
    work = (
        np.zeros_like(theta),
        z,
        np.zeros(K, dtype=Xs.dtype),
        np.zeros(1, dtype=Xs.dtype),
        np.zeros(0, dtype=np.intp),
    )
    return _run_rows(
        Xs, Ys, Ws, 0, n_rows, step, theta, s1, s2, s3, ints, floats, rates, (stats, losses), work
    )


@njit(cache=True, nogil=True, fastmath=FASTMATH)
def gather(X, Y, SW, order, lo, hi, bx, by, bw):
    """Copy rows ``order[lo:hi]`` of ``X, Y, SW`` into the block buffers; releases the GIL."""
    _gather(X, Y, SW, order, lo, hi, bx, by, bw)


@njit(cache=True, nogil=True, fastmath=FASTMATH)
def partial_gradient(X, Y, SW, lo, hi, denom, factor, theta, ints, floats, acc):
    """The gradient of rows ``lo:hi`` (one thread's share of a full batch) into ``acc``; returns
    their loss sum. Residuals and ``X.T @ r`` are computed row by row while the row is in cache,
    so the rows are read once. Releases the GIL."""
    acc[:] = 0
    if lo >= hi or denom == 0.0:
        return 0.0
    K = Y.shape[1]
    z = np.zeros(K, dtype=X.dtype)
    dz = np.zeros(K, dtype=X.dtype)
    return _rows_gradient(X, Y, SW, lo, hi, denom, factor, theta, ints, floats, acc, z, dz, z[0])


@njit(cache=True, fastmath=FASTMATH)
def batch_weight(SW, lo, hi, floats):
    """``(sum of the weights of rows lo:hi, f)``, ``(rows, 1)`` without weights."""
    return _batch_weight(SW, np.zeros(0, dtype=np.intp), lo, hi, floats)


@njit(cache=True, fastmath=FASTMATH)
def finish_full_batch(
    total, denom, factor, partials, theta, s1, s2, s3, ints, floats, rates, stats, losses
):
    """Add the threads' partial gradients and make the full-batch update (step 0 of the epoch)."""
    grad = partials[0].copy()
    for t in range(1, partials.shape[0]):
        for j in range(grad.shape[0]):
            grad[j] += partials[t, j]
    loss = factor * (total / denom) if denom > 0.0 else 0.0
    _finish_step(
        loss, ints[I_BATCH], 0, grad, theta, s1, s2, s3, ints, floats, rates, (stats, losses)
    )
