# mypy: ignore-errors
# (Numba kernels: typed by Numba at compile time; its decorators take private options.)
"""Numba kernels: the update of every coefficient in one vectorised loop (plain SGD with a penalty,
momentum, Nesterov, Adam, AdamW), for the sparse mini-batch epochs of
:mod:`gdlab.backends._sparse_kernels`.

A penalty or an optimizer with a state moves every coefficient at every update (the penalty's
decay and the moments reach the coefficients where the batch's gradient is zero), so such a
sparse step costs ``O(n_features)`` as a dense one does: on a 50,000-column TF-IDF-like matrix
with batches of 32 rows that loop, not the rows, is the epoch (the default ``GDClassifier()``
is Adam with batches of 32). The dense kernels' loop
(:func:`gdlab.backends._update_kernels._apply`) rounds each coefficient's step as the NumPy path
does with ``llvm.arithmetic.fence`` (:func:`gdlab.backends._rounding.sgd_coefficient`), an
intrinsic that LLVM's loop vectoriser cannot widen, so it runs one coefficient at a time (for
Adam two divisions and a square root each).

Here the same roundings come from binary operations that carry a fast-math flag of their own
(:func:`_strict_mul`, :func:`_strict_add`): Numba's fast-math pass only flags the operations that
have none, and the one flag they carry, ``afn`` (approximate functions), means nothing on a
multiplication or an addition, so LLVM neither reassociates nor fuses them. The loops are then
vectorised; their numbers are ``_apply``'s bit for bit (``tests/test_sparse_kernels.py`` checks
it on random states, gradients, hyperparameters, rates and scales), and they clear the gradient
buffer in the same pass. Adam's update, with ``t`` the update's number (PyTorch's rule)::

    m <- b1 m + (1 - b1) g            v <- b2 v + (1 - b2) g^2
    w <- w - rate scale ((m / (1 - b1^t)) / (sqrt(v) / sqrt(1 - b2^t) + eps) [+ decay w])

(``decay``: AdamW's decoupled weight decay; 0 for Adam); SGD's, with momentum ``mu`` (the
buffer starts at the first gradient) and Nesterov's look-ahead::

    b <- mu b + g                     w <- w - rate scale (b, or g + mu b for Nesterov)
"""

from __future__ import annotations

import math

from numba import njit
from numba.extending import intrinsic

from gdlab.backends._kernels import (
    F_CLIP,
    F_FACTOR,
    F_HYPER,
    F_L1,
    F_L2,
    F_REF,
    F_SCALE,
    FASTMATH,
    I_COUNT,
    I_HASREF,
    I_INTERCEPT,
    I_K,
    I_OPT,
    S_BADLOSS,
    S_DIVERGED,
    S_LOSS,
    S_NORM,
    S_ROWS,
    S_UPDATES,
)
from gdlab.backends._update_kernels import ADAM, ADAMW, SGD, _norm, _penalise, adam_direction

#: the flag of the strict operations: it allows nothing on a multiplication or an addition
_STRICT = ("afn",)


def _strict(name):
    """An intrinsic ``(a, b) -> a <op> b``, both cast to the wider float type first (as Numba's
    arithmetic casts them), with :data:`_STRICT` as its only flag."""

    def typer(typingctx, a, b):
        kind = typingctx.unify_types(a, b)

        def codegen(context, builder, sig, args):
            x, y = (context.cast(builder, v, t, kind) for v, t in zip(args, sig.args, strict=True))
            return getattr(builder, name)(x, y, flags=_STRICT)

        return kind(a, b), codegen

    typer.__name__ = f"_strict_{name}"
    return intrinsic(typer)


#: ``a * b`` and ``a + b``, each rounded once, never reassociated nor fused into a multiply-add
_strict_mul, _strict_add = _strict("fmul"), _strict("fadd")


@njit(cache=True, error_model="numpy", fastmath=FASTMATH, _nrt=False, forceinline=True)
def is_vectorised(ints):
    """Whether the run's optimizer is SGD (with or without momentum), Adam or AdamW
    (:func:`vector_step` applies)."""
    kind = ints[I_OPT]
    return kind == SGD or kind == ADAM or kind == ADAMW


@njit(cache=True, error_model="numpy", fastmath=FASTMATH, _nrt=False, forceinline=True)
def _coefficient(w, step, g, scale):
    """``w + (step * g) * scale``, each operation rounded in turn (``sgd_coefficient``'s
    numbers, vectorisable)."""
    return _strict_add(w, _strict_mul(_strict_mul(step, g), scale))


@njit(cache=True, error_model="numpy", fastmath=FASTMATH, _nrt=False)
def sgd_update(floats, count, rate, scale, grad, theta, s1):
    """SGD's update of every coefficient (momentum and Nesterov from ``floats``), ``count``
    updates before; ``grad`` is zero afterwards. ``_apply``'s numbers bit for bit."""
    step = -rate
    momentum, nesterov, first = floats[F_HYPER], floats[F_HYPER + 1] != 0.0, count == 0
    if momentum == 0.0:
        for j in range(theta.shape[0]):
            g = grad[j]
            grad[j] = 0
            theta[j] = _coefficient(theta[j], step, g, scale)
        return
    for j in range(theta.shape[0]):
        g = grad[j]
        grad[j] = 0
        buf = g if first else momentum * s1[j] + g
        s1[j] = buf
        direction = g + momentum * buf if nesterov else buf
        theta[j] = _coefficient(theta[j], step, direction, scale)


@njit(cache=True, error_model="numpy", fastmath=FASTMATH, _nrt=False)
def adam_update(kind, floats, count, rate, scale, grad, theta, s1, s2):
    """Adam's (``kind`` ``ADAM``) or AdamW's update of every coefficient with gradient ``grad``,
    ``count`` updates before; ``grad`` is zero afterwards. ``_apply``'s numbers bit for bit.

    Examples
    --------
    >>> import numpy as np
    >>> from gdlab.backends._update_kernels import _apply
    >>> floats = np.zeros(16); floats[8:11] = 0.9, 0.999, 1e-8
    >>> grad, theta = np.array([0.5, 0.0, -2.0]), np.array([1.0, 2.0, 3.0])
    >>> s1, s2 = np.array([0.1, 0.2, 0.0]), np.array([0.01, 0.04, 0.0])
    >>> mine = [a.copy() for a in (grad, theta, s1, s2)]
    >>> adam_update(ADAM, floats, 3, 0.01, 1.0, *mine)
    >>> _apply(ADAM, floats, 3, 0.01, 1.0, grad, theta, s1, s2, s1[:0])
    >>> [bool(np.array_equal(a, b)) for a, b in zip(mine[1:], (theta, s1, s2))], mine[0]
    ([True, True, True], array([0., 0., 0.]))
    """
    step = -rate
    b1, b2, eps = floats[F_HYPER], floats[F_HYPER + 1], floats[F_HYPER + 2]
    decay = floats[F_HYPER + 3] if kind == ADAMW else 0.0
    t = count + 1
    correction1 = 1.0 - b1**t
    root2 = math.sqrt(1.0 - b2**t)
    for j in range(theta.shape[0]):
        g = grad[j]
        grad[j] = 0
        direction = adam_direction(j, g, theta, s1, s2, b1, b2, eps, decay, correction1, root2)
        theta[j] = _coefficient(theta[j], step, direction, scale)


@njit(cache=True, error_model="numpy", fastmath=FASTMATH, _nrt=False)
def vector_step(loss, rows, step, grad, theta, s1, s2, ints, floats, rates, stats, losses):
    """The dense ``_finish_step`` (penalty, divergence check, records, clipping, update) with
    :func:`sgd_update` or :func:`adam_update`: ``grad`` is zero again afterwards unless the loss
    diverged (then nothing is updated and ``True`` is returned). Everything but the update is
    the dense kernels' own source, so it compiles to the same arithmetic (the clipping too: a
    fused clip-and-update loop rounded differently)."""
    K = ints[I_K]
    n_weights = theta.shape[0] - (K if ints[I_INTERCEPT] != 0 else 0)
    l2, l1 = floats[F_L2], floats[F_L1]
    if l2 != 0.0 or l1 != 0.0:
        loss += _penalise(theta, grad, n_weights, l2, l1)
    if ints[I_HASREF] == 0 and step == 0:
        floats[F_REF] = loss
    if not math.isfinite(loss) or loss > floats[F_FACTOR] * max(1.0, abs(floats[F_REF])):
        stats[S_DIVERGED] = 1.0
        stats[S_BADLOSS] = loss
        return True
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
    count, scale = ints[I_COUNT] + step, floats[F_SCALE]
    if ints[I_OPT] == SGD:
        sgd_update(floats, count, rate, scale, grad, theta, s1)
    else:
        adam_update(ints[I_OPT], floats, count, rate, scale, grad, theta, s1, s2)
    return False
