"""Adam's moment updates and direction in one compiled pass (when numba is installed).

:func:`~gdlab.optim.transforms.scale_by_adam` computes, per coordinate,

    m = b1 * m_prev + (1 - b1) * g
    v = b2 * v_prev + (1 - b2) * (g * g)
    u = (m / c1) / (sqrt(v) / sqrt_c2 + eps)

as about ten NumPy operations, each a pass over the whole vector with its own temporary. For a
network's ten thousand parameters that is tens of microseconds per update, as much as a quarter
of a small batch's forward and backward pass. :func:`adam_step` does the same operations in the
same order in one loop, compiled without fast-math (no reassociation, no fused multiply-add), so
every result is bitwise the NumPy one (``tests/test_optim.py`` checks it). It is used for float64
vectors of at least :data:`MIN_SIZE` entries; smaller ones (where importing numba would cost
more than it saves) and any other case keep the NumPy expression.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

__all__ = ["MIN_SIZE", "adam_step"]

#: the smallest vector worth the compiled pass (and the one-off import of numba)
MIN_SIZE = 4096

_KERNEL: Any = None


def _kernel() -> Any:
    global _KERNEL  # the compiled function, made once per process
    if _KERNEL is None:
        try:
            from numba import njit
        except ImportError:
            _KERNEL = False
            return _KERNEL

        @njit(cache=True, error_model="numpy", fastmath=False, nogil=True)
        def step(g, m_prev, v_prev, m, v, u, b1, b2, c1, sqrt_c2, eps):
            one_b1 = 1.0 - b1
            one_b2 = 1.0 - b2
            for i in range(g.shape[0]):
                gi = g[i]
                mi = b1 * m_prev[i] + one_b1 * gi
                vi = b2 * v_prev[i] + one_b2 * (gi * gi)
                m[i] = mi
                v[i] = vi
                u[i] = (mi / c1) / (np.sqrt(vi) / sqrt_c2 + eps)

        _KERNEL = step
    return _KERNEL


def adam_step(
    grads: NDArray[Any],
    mu: NDArray[Any],
    nu: NDArray[Any],
    b1: float,
    b2: float,
    eps: float,
    count: int,
) -> tuple[NDArray[Any], NDArray[Any], NDArray[Any]] | None:
    """``(u, m, v)`` of one Adam step in new arrays, or ``None`` where the NumPy path applies."""
    if not (
        grads.ndim == 1
        and grads.size >= MIN_SIZE
        and grads.dtype == np.float64
        and mu.dtype == np.float64
        and nu.dtype == np.float64
        and mu.shape == nu.shape == grads.shape
    ):
        return None
    kernel = _kernel()
    if kernel is False:
        return None
    m, v, u = np.empty_like(grads), np.empty_like(grads), np.empty_like(grads)
    correction1 = 1.0 - b1**count
    correction2 = 1.0 - b2**count
    kernel(
        np.ascontiguousarray(grads),
        np.ascontiguousarray(mu),
        np.ascontiguousarray(nu),
        m,
        v,
        u,
        float(b1),
        float(b2),
        float(correction1),
        float(np.sqrt(correction2)),
        float(eps),
    )
    return u, m, v
