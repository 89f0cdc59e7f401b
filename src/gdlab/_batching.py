"""Batch plans: which rows each update uses, epoch by epoch.

``batch_size=None`` is full-batch gradient descent (one update per epoch), ``1`` is stochastic
gradient descent and ``k`` is mini-batch. With shuffling, the order of epoch ``e`` is a permutation
drawn from a generator seeded with ``(seed, e)``: it depends only on the seed and the epoch number,
so a run that is stopped, saved and resumed sees exactly the same batches as one that was not.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
from numpy.typing import NDArray

__all__ = [
    "batches",
    "epoch_order",
    "n_batches",
    "resolve_batch_size",
    "row_count",
    "update_order",
]


def resolve_batch_size(batch_size: int | None, n_samples: int) -> int:
    """The number of rows per update: ``n_samples`` for full batch, else ``min(batch_size, n)``.

    Examples
    --------
    >>> resolve_batch_size(None, 100), resolve_batch_size(32, 100), resolve_batch_size(500, 100)
    (100, 32, 100)
    """
    if batch_size is None:
        return n_samples
    return min(int(batch_size), n_samples)


def n_batches(n_samples: int, batch_size: int | None) -> int:
    """Updates per epoch; the last batch may be smaller.

    Examples
    --------
    >>> n_batches(100, 32)
    4
    """
    size = resolve_batch_size(batch_size, n_samples)
    return -(-n_samples // size)


def epoch_order(n_samples: int, shuffle: bool, seed: int, epoch: int) -> NDArray[np.intp] | None:
    """The row order of one epoch, or ``None`` for the natural order.

    Examples
    --------
    >>> a = epoch_order(5, True, seed=0, epoch=3)
    >>> b = epoch_order(5, True, seed=0, epoch=3)
    >>> bool((a == b).all()), sorted(a.tolist())
    (True, [0, 1, 2, 3, 4])
    """
    if not shuffle:
        return None
    rng = np.random.default_rng([seed, epoch])
    return rng.permutation(n_samples)


def batches(
    n_samples: int, batch_size: int | None, order: NDArray[np.intp] | None
) -> Iterator[slice | NDArray[Any]]:
    """Yield each update's rows: slices in natural order, index arrays when shuffled.

    Examples
    --------
    >>> list(batches(5, 2, None))
    [slice(0, 2, None), slice(2, 4, None), slice(4, 5, None)]
    """
    size = resolve_batch_size(batch_size, n_samples)
    for start in range(0, n_samples, size):
        stop = min(start + size, n_samples)
        if order is None:
            yield slice(start, stop)
        else:
            yield order[start:stop]


def update_order(
    n_samples: int, batch_size: int | None, shuffle: bool, seed: int, epoch: int
) -> NDArray[np.intp] | None:
    """The row order that matters for the updates of one epoch.

    When one batch holds every row (full-batch gradient descent) the order cannot change the
    update, so no permutation is drawn and the rows are not copied into a shuffled order.

    Examples
    --------
    >>> update_order(5, None, True, seed=0, epoch=0) is None
    True
    >>> update_order(5, 2, True, seed=0, epoch=0).tolist() == epoch_order(5, True, 0, 0).tolist()
    True
    """
    if resolve_batch_size(batch_size, n_samples) >= n_samples:
        return None
    return epoch_order(n_samples, shuffle, seed, epoch)


def row_count(rows: slice | NDArray[Any] | None, n_samples: int) -> int:
    """How many rows a batch holds: all of them for ``None``, else the slice's or array's length.

    Examples
    --------
    >>> row_count(None, 10), row_count(slice(8, 12), 10), row_count(np.array([3, 1]), 10)
    (10, 2, 2)
    """
    if rows is None:
        return n_samples
    if isinstance(rows, slice):
        return len(range(*rows.indices(n_samples)))
    return len(rows)
