"""Partitions aligned before any arithmetic: the same values give the same sums wherever they land.

Used by the Dask source (:mod:`gdlab.data.dask_source`) and its epochs
(:mod:`gdlab.data.dask_epochs`) on the client and on the workers.
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["aligned", "realigned"]


def aligned(array: Any, dtype: Any = None) -> Any:
    """``array`` aligned and C-contiguous (``dtype`` if given); a copy only where it is not.

    An array that comes over Dask's network from a worker process may start at any byte (seen:
    2, 5 and 50 bytes past a 64-byte boundary), and ``np.ascontiguousarray`` keeps it so. NumPy
    sums an unaligned array in buffered chunks (of 8192 elements) and its matmul skips BLAS for
    it, so the same values summed to other last digits and a fit varied from run to run with
    where each partition happened to arrive. Every partition passes through here before any
    arithmetic, on the workers and on the client.

    Examples
    --------
    >>> raw = np.zeros(8 * 4 + 1, dtype=np.uint8)
    >>> odd = raw[1:].view(np.float64)  # 4 float64 starting one byte in
    >>> odd.flags.aligned, aligned(odd).flags.aligned
    (False, True)
    """
    if array is None:
        return None
    return np.require(array, dtype, ["C_CONTIGUOUS", "ALIGNED"])


def realigned(part: tuple[Any, ...]) -> list[Any]:
    """The arrays of a prepared partition made aligned (see :func:`aligned`)."""
    return [aligned(array) for array in part]
