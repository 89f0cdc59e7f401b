# mypy: ignore-errors
# (Numba kernels: typed by Numba at compile time; its decorators take private options.)
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
from llvmlite import ir
from numba import njit, types
from numba.core import cgutils
from numba.extending import intrinsic

from gdlab.backends._loss_kernels import MODIFIED_HUBER, _loss_sgd
from gdlab.backends._rounding import sgd_coefficient

FASTMATH = {"reassoc", "contract"}
#: rows prefetched ahead when rows are gathered in a random order
PREFETCH_ROWS = 8

SQUARED, HUBER, LOG, SOFTMAX, HINGE = 0, 1, 2, 3, 4
SGD, ADAGRAD, RMSPROP, ADAM, ADAMW, PID = 0, 1, 2, 3, 4, 5
I_K, I_INTERCEPT, I_LOSS, I_OPT, I_BATCH, I_COUNT, I_HASREF, I_BLOCK = 0, 1, 2, 3, 4, 5, 6, 7
F_LOSSPARAM, F_L2, F_L1, F_CLIP, F_SCALE, F_FACTOR, F_REF, F_MEANW = 0, 1, 2, 3, 4, 5, 6, 7
F_HYPER = 8
S_LOSS, S_ROWS, S_NORM, S_UPDATES, S_DIVERGED, S_BADLOSS = 0, 1, 2, 3, 4, 5


@intrinsic
def _prefetch(typingctx, array, row, column):
    """Ask the CPU to bring ``array[row, column]``'s cache line closer (``llvm.prefetch``: a
    read, high locality); no effect on results."""
    signature = types.void(array, row, column)

    def codegen(context, builder, sig, args):
        kind = sig.args[0]
        data = context.make_array(kind)(context, builder, args[0])
        pointer = cgutils.get_item_pointer(context, builder, kind, data, [args[1], args[2]])
        byte = ir.IntType(8).as_pointer()
        i32 = ir.IntType(32)
        function = cgutils.get_or_insert_function(
            builder.module,
            ir.FunctionType(ir.VoidType(), [byte, i32, i32, i32]),
            "llvm.prefetch.p0i8",
        )
        flags = [ir.Constant(i32, 0), ir.Constant(i32, 3), ir.Constant(i32, 1)]
        builder.call(function, [builder.bitcast(pointer, byte), *flags])
        return context.get_dummy_value()

    return signature, codegen


@njit(cache=True, error_model="numpy", fastmath=FASTMATH, _nrt=False, forceinline=True)
def _forward(X, r, theta, K, d, intercept, z, zero):
    """``z = X[r] @ W + b`` for one row of a multi-output model."""
    n_weights = d * K
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


@njit(cache=True, error_model="numpy", fastmath=FASTMATH, _nrt=False, forceinline=True)
def _backward(X, r, dz, K, d, intercept, grad):
    """``grad[W] += outer(X[r], dz)``, ``grad[b] += dz`` for one row of a multi-output model."""
    n_weights = d * K
    for k in range(d):
        xk = X[r, k]
        base = k * K
        for c in range(K):
            grad[base + c] += xk * dz[c]
    if intercept:
        for c in range(K):
            grad[n_weights + c] += dz[c]


@njit(cache=True, error_model="numpy", fastmath=FASTMATH, inline="always")
def _loss1(kind, param, z, y):
    """``(loss, d loss / d z)`` of one sample of a single-output model (scalars only, so the
    per-row path has no array reference counting)."""
    if kind == SQUARED:
        r = z - y
        return r * r, 2.0 * r
    if kind == HUBER:
        r = z - y
        a = abs(r)
        value = 0.5 * a * a if a <= param else param * (a - 0.5 * param)
        return value, min(max(r, -param), param)
    if kind == LOG:
        value = max(z, 0.0) - y * z + math.log1p(math.exp(-abs(z)))
        return value, 1.0 / (1.0 + math.exp(-z)) - y
    if kind == SOFTMAX:  # one class: logsumexp(z) = z, softmax(z) = 1
        return z - y * z, 1.0 - y
    if kind >= MODIFIED_HUBER:
        return _loss_sgd(kind, param, z, y)
    m = y * z
    return max(0.0, 1.0 - m), (-y if m < 1.0 else 0.0)


@njit(cache=True, error_model="numpy", fastmath=FASTMATH, _nrt=False, forceinline=True)
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
    elif kind >= MODIFIED_HUBER:
        for c in range(K):
            value, g = _loss_sgd(kind, param, z[c], Y[row, c])
            total += value
            dz[c] = g
    else:
        for c in range(K):
            m = Y[row, c] * z[c]
            total += max(0.0, 1.0 - m)
            dz[c] = -Y[row, c] if m < 1.0 else 0.0
    return total


@njit(cache=True, error_model="numpy", fastmath=FASTMATH, _nrt=False, forceinline=True)
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
    n_weights = d * K
    for r in range(lo, hi):
        if K == 1:
            s = zero
            for k in range(d):
                s += Xs[r, k] * theta[k]
            if intercept:
                s += theta[n_weights]
            value, g = _loss1(kind, param, s, Ys[r, 0])
            if weighted:
                weight = Ws[r]
                total += weight * value
                g = factor * (g * (weight / denom))
            else:
                total += value
                g = g / denom
            for k in range(d):
                grad[k] += g * Xs[r, k]
            if intercept:
                grad[n_weights] += g
        else:
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
            g = grad[j]
            mu = b1 * s1[j] + (1.0 - b1) * g
            nu = b2 * s2[j] + (1.0 - b2) * (g * g)
            s1[j] = mu
            s2[j] = nu
            direction = (mu / correction1) / (math.sqrt(nu) / root2 + eps)
            if decay != 0.0:
                direction = direction + decay * theta[j]
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


@njit(cache=True, error_model="numpy", fastmath=FASTMATH, inline="always")
def _batch_weight(SW, order, start, stop, floats):
    """``(sum of the batch's weights, f)``: ``(rows, 1)`` without weights."""
    rows = stop - start
    if SW.shape[0] == 0:
        return float(rows), 1.0
    total = 0.0
    for s in range(start, stop):
        total += SW[order[s]] if order.shape[0] > 0 else SW[s]
    return total, total / (rows * floats[F_MEANW])


@njit(cache=True, error_model="numpy", fastmath=FASTMATH, _nrt=False, forceinline=True)
def _finish_step(loss, rows, step, grad, theta, s1, s2, s3, ints, floats, rates, stats, losses):
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
    diverged = not math.isfinite(loss) or loss > floats[F_FACTOR] * max(1.0, abs(reference))
    if diverged:
        stats[S_DIVERGED] = 1.0
        stats[S_BADLOSS] = loss
    else:
        _record_and_update(
            loss, rows, step, grad, theta, s1, s2, s3, ints, floats, rates, stats, losses
        )
    return diverged


@njit(cache=True, error_model="numpy", fastmath=FASTMATH, _nrt=False, forceinline=True)
def _record_and_update(
    loss, rows, step, grad, theta, s1, s2, s3, ints, floats, rates, stats, losses
):
    """Record the batch, clip its gradient and update the parameters."""
    norm = _norm(grad)
    stats[S_LOSS] += loss * rows
    stats[S_ROWS] += rows
    stats[S_NORM] += norm
    stats[S_UPDATES] += 1.0
    losses[step] = loss
    clip = floats[F_CLIP]
    if clip > 0.0 and norm > clip:
        factor = clip / norm
        for j in range(grad.shape[0]):
            grad[j] = grad[j] * factor
    rate = rates[step] if rates.shape[0] > 1 else rates[0]
    _apply(
        ints[I_OPT],
        floats,
        ints[I_COUNT] + step,
        rate,
        floats[F_SCALE],
        grad,
        theta,
        s1,
        s2,
        s3,
    )


@njit(cache=True, error_model="numpy", fastmath=FASTMATH)
def _run_rows(
    Xs, Ys, Ws, lo, hi, step, theta, s1, s2, s3, ints, floats, rates, stats, losses, grad, z, dz
):
    """Run the batches of source rows ``lo:hi`` one after another; return the next step number.

    Stops at a divergent batch (``stats[S_DIVERGED]`` is then set).
    """
    zero = z[0] * 0
    no_order = np.zeros(0, dtype=np.intp)
    batch = ints[I_BATCH]
    P = grad.shape[0]
    start = lo
    while start < hi:
        stop = min(start + batch, hi)
        for j in range(P):
            grad[j] = 0
        denom, factor = _batch_weight(Ws, no_order, start, stop, floats)
        loss = 0.0
        if denom > 0.0:
            total = _rows_gradient(
                Xs, Ys, Ws, start, stop, denom, factor, theta, ints, floats, grad, z, dz, zero
            )
            loss = factor * (total / denom)
        if _finish_step(
            loss, stop - start, step, grad, theta, s1, s2, s3, ints, floats, rates, stats, losses
        ):
            return step
        step += 1
        start = stop
    return step


@njit(cache=True, error_model="numpy", fastmath=FASTMATH)
def _gather(X, Y, SW, order, lo, hi, bx, by, bw, out):
    """Copy rows ``order[lo:hi]`` into rows ``out + (0 : hi - lo)`` of the block buffers.

    The row :data:`PREFETCH_ROWS` ahead is prefetched, so that several random rows are on their
    way from memory at once.
    """
    d = X.shape[1]
    K = Y.shape[1]
    weighted = SW.shape[0] > 0
    line = max(1, 64 // X.itemsize)
    for s in range(lo, hi):
        if s + PREFETCH_ROWS < hi:
            ahead = order[s + PREFETCH_ROWS]
            for k in range(0, d, line):
                _prefetch(X, ahead, k)
        i = order[s]
        r = out + s - lo
        for k in range(d):
            bx[r, k] = X[i, k]
        for c in range(K):
            by[r, c] = Y[i, c]
        if weighted:
            bw[r] = SW[i]


@njit(cache=True, error_model="numpy", fastmath=FASTMATH)
def _run_single_rows(
    Xs, Ys, Ws, lo, hi, step, theta, s1, s2, s3, ints, floats, rates, stats, losses
):
    """Plain SGD, one sample per update, single output, fused: one pass over the row and the
    weights computes ``z``, ``||x||^2`` and the penalty; a second computes each gradient
    coordinate ``g x_k + penalty'(w_k)`` and updates it at once (scikit-learn's SGD loop, with
    gdlab's loss, penalty, weights, clipping and records). Same arithmetic as :func:`_run_rows`;
    used unless clipping is combined with a penalty."""
    d = Xs.shape[1]
    intercept = ints[I_INTERCEPT] != 0
    kind = ints[I_LOSS]
    param, l2, l1, clip = floats[F_LOSSPARAM], floats[F_L2], floats[F_L1], floats[F_CLIP]
    scale, limit, mean_weight = floats[F_SCALE], floats[F_FACTOR], floats[F_MEANW]
    penalised = l2 != 0.0 or l1 != 0.0
    weighted = Ws.shape[0] > 0
    constant = rates.shape[0] == 1
    zero = theta[0] * 0
    reference = floats[F_REF]
    if ints[I_HASREF] == 0 and step == 0:
        reference = math.nan  # set by the first row
    extra = 1.0 if intercept else 0.0
    total_loss = total_norm = 0.0
    done = 0
    for r in range(lo, hi):
        z = zero
        xx = 0.0
        squares = 0.0
        absolute = 0.0
        for k in range(d):
            xk = Xs[r, k]
            z += xk * theta[k]
            xx += xk * xk
        if penalised:
            for k in range(d):
                squares += theta[k] * theta[k]
                absolute += abs(theta[k])
        if intercept:
            z += theta[d]
        value, g = _loss1(kind, param, z, Ys[r, 0])
        if weighted:
            weight = Ws[r]
            if weight == 0.0:
                value, g = 0.0, 0.0
            else:
                factor = weight / mean_weight
                value = factor * ((weight * value) / weight)
                g = factor * (g * (weight / weight))
        loss = value
        if penalised:
            loss += 0.5 * l2 * squares + l1 * absolute
        if reference != reference:
            reference = loss
            floats[F_REF] = loss
        if not math.isfinite(loss) or loss > limit * max(1.0, abs(reference)):
            stats[S_DIVERGED] = 1.0
            stats[S_BADLOSS] = loss
            break
        rate = rates[0] if constant else rates[step]
        minus = -rate
        if not penalised:
            # the gradient is g (x, 1): its norm is |g| sqrt(||x||^2 + 1); an axpy updates w
            norm = abs(g) * math.sqrt(xx + extra)
            cut = clip / norm if clip > 0.0 and norm > clip else 1.0
            gc = g * cut
            c = (minus * gc) * scale
            for k in range(d):
                theta[k] = theta[k] + c * Xs[r, k]
        else:  # no clipping here (see run_block)
            squared = 0.0
            for k in range(d):
                w = theta[k]
                pen = l2 * w
                if l1 != 0.0:
                    if w > 0:
                        pen = pen + l1
                    elif w < 0:
                        pen = pen - l1
                gk = g * Xs[r, k] + pen
                squared += gk * gk
                theta[k] = w + (minus * gk) * scale
            norm = math.sqrt(squared + g * g * extra)
            gc = g
        if intercept:
            theta[d] = theta[d] + (minus * gc) * scale
        total_loss += loss
        total_norm += norm
        losses[step] = loss
        done += 1
        step += 1
    stats[S_LOSS] += total_loss
    stats[S_ROWS] += done
    stats[S_NORM] += total_norm
    stats[S_UPDATES] += done
    return step


@njit(cache=True, error_model="numpy", nogil=True, fastmath=FASTMATH)
def run_block(Xs, Ys, Ws, lo, hi, step, theta, s1, s2, s3, ints, floats, rates, stats, losses):
    """Run the batches of source rows ``lo:hi`` in order; return the next step number.

    The sources are ``X, Y, SW`` themselves, or a block of them gathered in the epoch's row
    order by :func:`gather`. Releases the GIL, so that another thread can gather meanwhile.
    """
    K = Ys.shape[1]
    penalised = floats[F_L2] != 0.0 or floats[F_L1] != 0.0
    plain_sgd = ints[I_OPT] == SGD and floats[F_HYPER] == 0.0
    if ints[I_BATCH] == 1 and K == 1 and plain_sgd and not (floats[F_CLIP] > 0.0 and penalised):
        return _run_single_rows(
            Xs, Ys, Ws, lo, hi, step, theta, s1, s2, s3, ints, floats, rates, stats, losses
        )
    return _run_rows(
        Xs,
        Ys,
        Ws,
        lo,
        hi,
        step,
        theta,
        s1,
        s2,
        s3,
        ints,
        floats,
        rates,
        stats,
        losses,
        np.zeros_like(theta),
        np.zeros(K, dtype=Xs.dtype),
        np.zeros(K, dtype=Xs.dtype),
    )


@njit(cache=True, error_model="numpy", nogil=True, fastmath=FASTMATH)
def gather(X, Y, SW, order, lo, hi, bx, by, bw, out):
    """Copy rows ``order[lo:hi]`` of ``X, Y, SW`` into the block buffers from row ``out`` on;
    releases the GIL."""
    _gather(X, Y, SW, order, lo, hi, bx, by, bw, out)


@njit(cache=True, error_model="numpy", nogil=True, fastmath=FASTMATH)
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


@njit(cache=True, error_model="numpy", fastmath=FASTMATH)
def batch_weight(SW, lo, hi, floats):
    """``(sum of the weights of rows lo:hi, f)``, ``(rows, 1)`` without weights."""
    return _batch_weight(SW, np.zeros(0, dtype=np.intp), lo, hi, floats)


@njit(cache=True, error_model="numpy", fastmath=FASTMATH)
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
        loss, ints[I_BATCH], 0, grad, theta, s1, s2, s3, ints, floats, rates, stats, losses
    )
