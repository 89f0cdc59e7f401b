"""Blocks of rows from Arrow record batches: re-cut to ``batch_rows``, copied into a float
buffer (standardized on the way) and read one record batch ahead in a background thread.

A streamed epoch spends most of its time in pyarrow's decoding of the next record batch and in
copying its columns into the block's C-ordered matrix. Three things make that cheap:

- :func:`fill_block` copies each column straight into a reused buffer and, for a standardized
  fit, writes ``(x - mean) / scale`` as it copies: one pass, no allocation per block, with the
  arithmetic of NumPy's ``(X - mean) / scale``, so the numbers are bitwise those of the
  standardized copy (compiled kernel: :mod:`gdlab.data._block_kernels`);
- :func:`read_ahead` decodes the next record batch in a background thread (pyarrow releases the
  GIL while it decodes) while the current block's loss and gradient are computed, holding at most
  one record batch ahead of the one in use;
- :func:`recut` cuts the record batches of each group into blocks of exactly ``batch_rows`` rows
  (the last of a group shorter) with zero-copy slices.

Examples
--------
>>> import numpy as np
>>> out = np.empty((3, 2))
>>> pieces = [np.array([1.0, 2.0, 3.0]), np.array([10.0, 20.0, 30.0])]
>>> fill_block(out, pieces, [0, 3], np.array([2.0, 20.0]), np.array([1.0, 10.0]))
True
>>> out
array([[-1., -1.],
       [ 0.,  0.],
       [ 1.,  1.]])
>>> list(read_ahead(iter("abc")))
['a', 'b', 'c']
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Generator, Iterator, Sequence
from typing import Any, TypeVar

import numpy as np
from numpy.typing import NDArray

__all__ = ["MIN_ELEMENTS", "TILE", "fill_block", "read_ahead", "recut"]

#: Below this many values NumPy fills a block as fast as the kernel (no list to build).
MIN_ELEMENTS = 1 << 16
#: Rows per tile of the compiled kernel: the tile being written stays in cache.
TILE = 256

Array = NDArray[np.float64]
T = TypeVar("T")


def fill_block(
    out: Array,
    pieces: Sequence[Array],
    starts: Sequence[int],
    mean: Array | None = None,
    scale: Array | None = None,
) -> bool:
    """Fill ``out`` from ``pieces``; given ``mean`` and ``scale``, with ``(x - mean) / scale``.

    Parameters
    ----------
    out : ndarray of shape (rows, d), C-ordered float64
    pieces : sequence of 1-D float64 arrays
        Slice ``s`` (rows ``starts[s]:starts[s + 1]`` of ``out``) gives column ``j`` as
        ``pieces[s * d + j]``.
    starts : sequence of int
        The first row of each slice, then ``rows``.
    mean, scale : ndarray of shape (d,), optional
        Standardize: one subtraction and one true division per value, rounded as NumPy rounds
        ``(X - mean) / scale``.

    Returns
    -------
    bool
        Whether every value written is finite (``True`` without scaling: the values are copied,
        and the scan before training checks them).

    The compiled kernel (Numba, for at least :data:`MIN_ELEMENTS` values) writes tiles of
    :data:`TILE` rows and releases the GIL; otherwise NumPy fills column by column.
    """
    scaled = mean is not None and scale is not None
    if out.size >= MIN_ELEMENTS and _numba():
        from numba.typed import List

        from gdlab.data._block_kernels import fill

        m = np.asarray(mean if scaled else np.zeros(0), dtype=np.float64)
        s = np.asarray(scale if scaled else np.zeros(0), dtype=np.float64)
        bounds = np.asarray(starts, dtype=np.int64)
        return bool(fill(out, List(_read_only(p) for p in pieces), bounds, m, s, scaled, TILE))
    return _fill_numpy(out, pieces, starts, mean, scale)


def _read_only(piece: Array) -> Array:
    """A read-only view: Arrow's zero-copy arrays are read-only, and a typed list holds one
    array type."""
    view = piece.view()
    view.flags.writeable = False
    return view


def _numba() -> bool:
    from gdlab.backends import numba_available

    return numba_available()


def _fill_numpy(
    out: Array, pieces: Sequence[Array], starts: Sequence[int], mean: Any, scale: Any
) -> bool:
    d = out.shape[1]
    scaled = mean is not None and scale is not None
    with np.errstate(over="ignore", invalid="ignore"):
        for s in range(len(starts) - 1):
            rows = slice(starts[s], starts[s + 1])
            for j in range(d):
                column = out[rows, j]
                if scaled:
                    np.subtract(pieces[s * d + j], mean[j], out=column)
                    np.divide(column, scale[j], out=column)
                else:
                    column[...] = pieces[s * d + j]
        if not scaled:
            return True
        return bool(np.isfinite(np.sum(out))) or bool(np.all(np.isfinite(out)))


def recut(items: Iterator[tuple[int, Any]], batch_rows: int) -> Iterator[tuple[int, list[Any]]]:
    """``(group, record batches)`` of ``batch_rows`` rows in all, per group, front to back.

    ``items`` yields ``(group, record batch)`` and ``(group, None)`` at the end of each group;
    a group's last block holds what is left. The batches are zero-copy slices.

    Examples
    --------
    >>> import pyarrow as pa
    >>> batch = pa.record_batch({"x": [1.0, 2.0, 3.0]})
    >>> items = iter([(0, batch), (0, batch), (0, None), (1, batch), (1, None)])
    >>> [(g, [b.num_rows for b in pieces]) for g, pieces in recut(items, 4)]
    [(0, [3, 1]), (0, [2]), (1, [3])]
    """
    pending: list[Any] = []
    held = 0
    for group, batch in items:
        if batch is None:
            if held:
                yield group, pending
            pending, held = [], 0
            continue
        offset = 0
        while offset < batch.num_rows:
            take = min(batch_rows - held, batch.num_rows - offset)
            pending.append(batch if take == batch.num_rows else batch.slice(offset, take))
            held += take
            offset += take
            if held == batch_rows:
                yield group, pending
                pending, held = [], 0


_ITEM, _END, _ERROR = range(3)


def read_ahead(
    items: Iterator[T], counts: Callable[[T], bool] | None = None
) -> Generator[T, None, None]:
    """What ``items`` yields, in order, the next item made in a background thread while the
    caller uses the current one (at most one item ahead).

    ``counts(item)`` False marks an item that does not count towards that bound (a cheap marker,
    such as the end of a group), so that the thread goes on to the next real item at once.
    ``items`` runs in that thread only; an exception it raises is raised here, in order, after
    the items before it. Closing this generator (or leaving it unfinished) stops the thread and
    closes ``items``.
    """
    ready: queue.SimpleQueue[tuple[int, Any]] = queue.SimpleQueue()
    slot = threading.Semaphore(1)  # an item may be made while none is waiting to be taken
    stop = threading.Event()

    def produce() -> None:
        try:
            while True:
                while not slot.acquire(timeout=0.05):
                    if stop.is_set():
                        return
                if stop.is_set():
                    return
                try:
                    item = next(items)
                except StopIteration:
                    ready.put((_END, None))
                    return
                ready.put((_ITEM, item))
                if counts is not None and not counts(item):
                    slot.release()  # a marker: make the next item now
        except BaseException as error:  # handed to the caller, raised there
            ready.put((_ERROR, error))
        finally:
            close = getattr(items, "close", None)
            if close is not None:
                close()

    thread = threading.Thread(target=produce, name="gdlab-read-ahead", daemon=True)
    thread.start()
    try:
        while True:
            kind, value = ready.get()
            if kind == _END:
                return
            if kind == _ERROR:
                raise value
            if counts is None or counts(value):
                slot.release()  # the next item is made while this one is used
            yield value
    finally:
        stop.set()
        slot.release()
        thread.join()
