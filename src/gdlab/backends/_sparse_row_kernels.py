# mypy: ignore-errors
# (Numba kernels: typed by Numba at compile time; its decorators take private options.)
"""Numba kernels: one CSR sample per update (plain SGD, single output), and row prefetching.

The sparse counterparts of the dense ``_run_single_rows`` (:mod:`gdlab.backends._kernels`),
run by :func:`gdlab.backends._sparse_kernels.run_sparse`: each update reads the row's stored
values twice (``z`` and ``||x||^2``, then an axpy on the row's columns), as scikit-learn's
sparse SGD loop does.

- no penalty (:func:`_single_rows`): nothing else;
- an L2 penalty alone (:func:`_l2_single_rows`): the penalty's decay of every coefficient is
  one scale factor (scikit-learn's ``wscale``), so an update still costs the row's stored values
  only, where the dense arithmetic costs ``O(n_features)``; the numbers are the dense kernel's
  to rounding.

Rows are read in the epoch's order and prefetched :data:`PREFETCH_ROWS` ahead
(:func:`_prefetch_row`, also used by the mini-batch kernels).

The stored values and column numbers are read through unsigned positions
(``q = np.uint64(p)``, ``theta[np.uint64(indices[q])]``), here and in
:mod:`gdlab.backends._sparse_kernels`: Numba adds the length to a negative signed index
(wraparound), which hides from LLVM that ``data[p]`` and ``indices[p]`` are read one after another,
so it gathered them lane by lane; with unsigned positions they are plain vector loads and only
``theta``'s entries are gathered. The arithmetic (and LLVM's order of the sums) is unchanged: the
numbers are the same bit for bit, and the per-sample and mini-batch epochs take about 30% less
CPU time on a 50,000-column TF-IDF-like matrix (``bench/README.md``).
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from gdlab.backends._gather_kernels import _prefetch
from gdlab.backends._kernels import (
    F_CLIP,
    F_FACTOR,
    F_HYPER,
    F_L1,
    F_L2,
    F_LOSSPARAM,
    F_MEANW,
    F_REF,
    F_SCALE,
    FASTMATH,
    I_HASREF,
    I_INTERCEPT,
    I_LOSS,
    I_OPT,
    S_BADLOSS,
    S_DIVERGED,
    S_LOSS,
    S_NORM,
    S_ROWS,
    S_UPDATES,
    SGD,
    _loss1,
)

#: rows ahead (in the epoch's order) whose stored values are prefetched
PREFETCH_ROWS = 4


@njit(cache=True, error_model="numpy", fastmath=FASTMATH, _nrt=False, forceinline=True)
def _prefetch_row(data2, indices2, indptr, order, s, hi):
    """Ask for the stored values and column numbers of row ``order[s + PREFETCH_ROWS]`` (when
    the rows are read in a random order), and for the row bounds ``indptr`` of the row
    ``2 * PREFETCH_ROWS`` ahead (so that finding the row to prefetch is not itself a cache miss):
    several rows are then on their way from memory at once, instead of one cache miss after
    another. ``data2`` and ``indices2`` are ``(1, nnz)`` views (the dense kernels' prefetch
    takes 2-D arrays). No effect on results."""
    if order.shape[0] == 0:
        return
    far = s + 2 * PREFETCH_ROWS
    if far < hi:
        _prefetch(indptr.reshape((1, indptr.shape[0])), 0, order[far])
    ahead = s + PREFETCH_ROWS
    if ahead >= hi:
        return
    r = order[ahead]
    start, stop = indptr[r], indptr[r + 1]
    if stop <= start:
        return
    for p in range(start, stop, 8):
        _prefetch(data2, 0, p)
    _prefetch(data2, 0, stop - 1)  # (the row's last cache line when it does not start one)
    for p in range(start, stop, 16):
        _prefetch(indices2, 0, p)
    _prefetch(indices2, 0, stop - 1)


@njit(cache=True, error_model="numpy", fastmath=FASTMATH, _nrt=False, forceinline=True)
def _row_loss(kind, param, z, y, Ws, r, mean_weight):
    """One sample's ``(loss, slope)`` at score ``z``, weighted as the dense ``_run_single_rows``
    weighs it (a row of weight 0 has neither)."""
    value, g = _loss1(kind, param, z, y)
    if Ws.shape[0] > 0:
        weight = Ws[r]
        if weight == 0.0:
            return 0.0, 0.0
        factor = weight / mean_weight
        value = factor * ((weight * value) / weight)
        g = factor * (g * (weight / weight))
    return value, g


@njit(cache=True, error_model="numpy", fastmath=FASTMATH, _nrt=False, forceinline=True)
def _diverged(loss, limit, reference, stats):
    """Whether ``loss`` is not finite or above ``limit`` times the reference (then recorded)."""
    if not math.isfinite(loss) or loss > limit * max(1.0, abs(reference)):
        stats[S_DIVERGED] = 1.0
        stats[S_BADLOSS] = loss
        return True
    return False


@njit(cache=True, error_model="numpy", fastmath=FASTMATH)
def _sparse_single_rows(
    data, indices, indptr, Ys, Ws, order, lo, hi, step, theta, ints, floats, rates, stats, losses,
    lean,
):  # fmt: skip
    """:func:`_single_rows` (``lean``: no penalty) or :func:`_l2_single_rows` with the 2-D
    views that their prefetching takes."""
    data2 = data.reshape((1, data.shape[0]))
    indices2 = indices.reshape((1, indices.shape[0]))
    if not lean:
        return _l2_single_rows(
            data, indices, indptr, Ys, Ws, order, lo, hi, step, theta, ints, floats, rates,
            stats, losses, data2, indices2,
        )  # fmt: skip
    return _single_rows(
        data, indices, indptr, Ys, Ws, order, lo, hi, step, theta, ints, floats, rates, stats,
        losses, data2, indices2,
    )  # fmt: skip


@njit(cache=True, error_model="numpy", fastmath=FASTMATH, _nrt=False)
def _single_rows(
    data, indices, indptr, Ys, Ws, order, lo, hi, step, theta, ints, floats, rates, stats, losses,
    data2, indices2,
):  # fmt: skip
    """Plain SGD without penalty, one sample per update, single output: the dense
    ``_run_single_rows`` on the row's stored values (``z``, ``||x||^2``, then an axpy on the
    row's coefficients and the intercept)."""
    intercept = ints[I_INTERCEPT] != 0
    kind = ints[I_LOSS]
    param, clip = floats[F_LOSSPARAM], floats[F_CLIP]
    scale, limit, mean_weight = floats[F_SCALE], floats[F_FACTOR], floats[F_MEANW]
    constant = rates.shape[0] == 1
    zero = theta[0] * 0
    d = theta.shape[0] - (1 if intercept else 0)
    reference = floats[F_REF]
    if ints[I_HASREF] == 0 and step == 0:
        reference = math.nan  # set by the first row
    extra = 1.0 if intercept else 0.0
    total_loss = total_norm = 0.0
    done = 0
    for s in range(lo, hi):
        _prefetch_row(data2, indices2, indptr, order, s, hi)
        r = order[s] if order.shape[0] > 0 else s
        start, stop = indptr[r], indptr[r + 1]
        z = zero
        xx = 0.0
        for p in range(start, stop):
            q = np.uint64(p)
            xk = data[q]
            z += xk * theta[np.uint64(indices[q])]
            xx += xk * xk
        if intercept:
            z += theta[d]
        loss, g = _row_loss(kind, param, z, Ys[r, 0], Ws, r, mean_weight)
        if reference != reference:
            reference = loss
            floats[F_REF] = loss
        if _diverged(loss, limit, reference, stats):
            break
        minus = -(rates[0] if constant else rates[step])
        norm = abs(g) * math.sqrt(xx + extra)
        cut = clip / norm if clip > 0.0 and norm > clip else 1.0
        c = (minus * (g * cut)) * scale
        if c != 0.0:  # (a zero step, as a hinge loss beyond the margin, changes nothing)
            for p in range(start, stop):
                q = np.uint64(p)
                j = np.uint64(indices[q])
                theta[j] = theta[j] + c * data[q]
            if intercept:
                theta[d] = theta[d] + c
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


#: the scale of the lazily decayed coefficients is folded into them below this
SMALLEST_SCALE = 1e-6


@njit(cache=True, error_model="numpy", fastmath=FASTMATH, _nrt=False, forceinline=True)
def _fold(theta, d, a):
    """Multiply ``theta[:d]`` by the lazy scale ``a``; return their sum of squares afterwards."""
    squares = 0.0
    for k in range(d):
        w = theta[k] * a
        theta[k] = w
        squares += w * w
    return squares


@njit(cache=True, error_model="numpy", fastmath=FASTMATH, _nrt=False)
def _l2_single_rows(
    data, indices, indptr, Ys, Ws, order, lo, hi, step, theta, ints, floats, rates, stats, losses,
    data2, indices2,
):  # fmt: skip
    """Plain SGD with an L2 penalty (no L1, no clipping), one sample per update, single output,
    in ``O(nnz of the row)`` per update (scikit-learn's ``wscale``): the weights are
    ``a * theta[:d]``. The dense update ``w + (-rate) (g x + l2 w) scale`` is
    ``a <- a (1 - rate l2 scale)`` and ``theta[j] += (-rate g scale / a) x_j`` on the row's
    columns; ``S = ||theta[:d]||^2`` is kept up to date for the penalty's value
    ``l2 ||w||^2 / 2`` and the gradient's norm
    ``sqrt(g^2 (||x||^2 + [intercept]) + 2 g l2 x.w + l2^2 ||w||^2)``. ``a`` is folded into
    ``theta`` (and ``S`` recomputed) when it falls below :data:`SMALLEST_SCALE`, every ``d``
    updates (so rounding cannot pile up in ``S``) and at the end. The numbers are the dense
    kernel's to rounding (a relative 1e-14 on the tests' problems)."""
    intercept = ints[I_INTERCEPT] != 0
    kind, param, l2 = ints[I_LOSS], floats[F_LOSSPARAM], floats[F_L2]
    scale, limit, mean_weight = floats[F_SCALE], floats[F_FACTOR], floats[F_MEANW]
    constant = rates.shape[0] == 1
    zero = theta[0] * 0
    d = theta.shape[0] - (1 if intercept else 0)
    reference = floats[F_REF]
    if ints[I_HASREF] == 0 and step == 0:
        reference = math.nan  # set by the first row
    extra = 1.0 if intercept else 0.0
    total_loss = total_norm = 0.0
    done = 0
    a = 1.0
    S = _fold(theta, d, a)
    since = 0
    for s in range(lo, hi):
        _prefetch_row(data2, indices2, indptr, order, s, hi)
        r = order[s] if order.shape[0] > 0 else s
        start, stop = indptr[r], indptr[r + 1]
        dot = zero
        xx = 0.0
        for p in range(start, stop):
            q = np.uint64(p)
            xk = data[q]
            dot += xk * theta[np.uint64(indices[q])]
            xx += xk * xk
        xw = a * dot
        ww = (a * a) * S
        z = xw + theta[d] if intercept else xw
        value, g = _row_loss(kind, param, z, Ys[r, 0], Ws, r, mean_weight)
        loss = value + 0.5 * l2 * ww
        if reference != reference:
            reference = loss
            floats[F_REF] = loss
        if _diverged(loss, limit, reference, stats):
            break
        minus = -(rates[0] if constant else rates[step])
        squared = g * g * xx + 2.0 * g * l2 * xw + l2 * l2 * ww
        norm = math.sqrt(max(squared, 0.0) + g * g * extra)
        a = a * (1.0 + (minus * l2) * scale)
        c = (minus * g) * scale
        if c != 0.0:
            cc = c / a
            for p in range(start, stop):
                q = np.uint64(p)
                j = np.uint64(indices[q])
                old = theta[j]
                new = old + cc * data[q]
                theta[j] = new
                S += new * new - old * old
            if intercept:
                theta[d] = theta[d] + c
        since += 1
        if a < SMALLEST_SCALE or since >= d:
            S = _fold(theta, d, a)
            a = 1.0
            since = 0
        total_loss += loss
        total_norm += norm
        losses[step] = loss
        done += 1
        step += 1
    _fold(theta, d, a)
    stats[S_LOSS] += total_loss
    stats[S_ROWS] += done
    stats[S_NORM] += total_norm
    stats[S_UPDATES] += done
    return step


@njit(cache=True, error_model="numpy", fastmath=FASTMATH, _nrt=False, forceinline=True)
def _lazy_l2(ints, floats, rates):
    """Plain SGD with an L2 penalty alone, no clipping, and every step's decay factor
    ``1 - rate l2 scale`` at least 1/2 (:func:`_l2_single_rows` divides by the scale)."""
    if ints[I_OPT] != SGD or floats[F_HYPER] != 0.0 or floats[F_L1] != 0.0:
        return False
    if floats[F_L2] == 0.0 or floats[F_CLIP] > 0.0:
        return False
    largest = 0.0
    for t in range(rates.shape[0]):
        largest = max(largest, rates[t])
    return largest * floats[F_L2] * floats[F_SCALE] <= 0.5
