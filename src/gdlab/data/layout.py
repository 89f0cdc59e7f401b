"""Block layouts: how the rows of a data set are cut into blocks, and the order of an epoch.

A data set is a sequence of *groups* (a Parquet row group, a CSV file, or a chosen number of rows
of an in-memory array: the units a source reads at once), each cut into *blocks* of at most
``batch_rows`` rows. The updates of an epoch visit the data in an order that depends only on
``(seed, epoch)``:

1. the groups in the permutation ``default_rng([seed, epoch]).permutation(n_groups)``;
2. inside a group, its blocks in their natural order (a group is read front to back, so that
   only one block of it is ever in memory);
3. inside block ``b`` (numbered over the whole data set), the rows in the permutation
   ``default_rng([seed, epoch, n_groups + b])`` draws, and mini-batches of ``batch_size`` rows
   taken in that order (the last batch of a block may be smaller).

Groups of at most ``batch_rows`` rows (Parquet files written with ``row_group_size=batch_rows``;
in-memory arrays by default) make every block a group of its own, so the blocks themselves come
in a seeded permutation.

Without shuffling everything stays in its natural order. Two sources with the same layout (an
in-memory :func:`gdlab.data.arrays` and a Parquet file written with the same row groups) give the
same updates, bit for bit.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

__all__ = ["Block", "BlockLayout", "validation_rows"]


@dataclass(frozen=True)
class Block:
    """Rows ``start:stop`` of group ``group`` (the ``index``-th block of the data set)."""

    index: int
    group: int
    start: int
    stop: int

    @property
    def n_rows(self) -> int:
        return self.stop - self.start


class BlockLayout:
    """The blocks of groups of ``group_rows[g]`` rows cut into pieces of ``batch_rows`` rows.

    Examples
    --------
    >>> layout = BlockLayout([5, 3], batch_rows=2)
    >>> [(b.group, b.start, b.stop) for b in layout.blocks]
    [(0, 0, 2), (0, 2, 4), (0, 4, 5), (1, 0, 2), (1, 2, 3)]
    >>> [b.index for b in layout.epoch_blocks(shuffle=False, seed=0, epoch=0)]
    [0, 1, 2, 3, 4]
    >>> shuffled = BlockLayout([2, 2, 3], batch_rows=2).epoch_blocks(shuffle=True, seed=0, epoch=0)
    >>> [(b.group, b.index) for b in shuffled]   # groups permuted; group 2's blocks in order
    [(2, 2), (2, 3), (0, 0), (1, 1)]
    """

    def __init__(self, group_rows: list[int], batch_rows: int):
        if batch_rows < 1:
            raise ValueError(f"batch_rows must be a positive integer. Got {batch_rows} instead.")
        self.group_rows = [int(n) for n in group_rows]
        self.batch_rows = int(batch_rows)
        self.blocks: list[Block] = []
        self._by_group: list[list[Block]] = []
        for group, rows in enumerate(self.group_rows):
            pieces = [
                Block(len(self.blocks) + k, group, start, min(start + self.batch_rows, rows))
                for k, start in enumerate(range(0, rows, self.batch_rows))
            ]
            self.blocks.extend(pieces)
            self._by_group.append(pieces)
        self.n_rows = sum(self.group_rows)
        #: The index of the first row of each group in the whole data set.
        self.group_starts = [sum(self.group_rows[:g]) for g in range(len(self.group_rows))]

    def epoch_blocks(self, shuffle: bool, seed: int, epoch: int) -> list[Block]:
        """The blocks in the order epoch ``epoch`` visits them."""
        if not shuffle:
            return list(self.blocks)
        n_groups = len(self.group_rows)
        order: list[Block] = []
        for group in np.random.default_rng([seed, epoch]).permutation(n_groups):
            order.extend(self._by_group[int(group)])
        return order

    def row_order(
        self, block: Block, shuffle: bool, seed: int, epoch: int, n_rows: int | None = None
    ) -> NDArray[np.intp]:
        """The order of the rows of ``block`` (indices into the block) in epoch ``epoch``.

        ``n_rows`` (default all the block's rows) is how many of them the epoch reads: the
        training rows of a validation split (:func:`validation_rows`).
        """
        n = block.n_rows if n_rows is None else n_rows
        if not shuffle:
            return np.arange(n)
        key = [seed, epoch, len(self.group_rows) + block.index]
        return np.random.default_rng(key).permutation(n)


_GOLDEN = np.uint64(0x9E3779B97F4A7C15)


def _mix(x: NDArray[np.uint64]) -> NDArray[np.uint64]:
    """SplitMix64's finaliser (array arithmetic wraps modulo 2^64)."""
    x = x + _GOLDEN
    x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return x ^ (x >> np.uint64(31))


def validation_rows(seed: int, fraction: float, start: int, stop: int) -> NDArray[np.bool_]:
    """Which of the rows ``start:stop`` (indices in the whole data set) are validation rows.

    Row ``i`` is a validation row when ``u_i < fraction``, where
    ``u_i = mix(i XOR mix(seed)) / 2^64`` and ``mix`` is SplitMix64's finaliser: a fixed function
    of ``(seed, i)``, so a streamed split needs no memory, no extra pass and no knowledge of the
    blocks, and every source of the same rows (Parquet, CSV, in memory; any ``batch_rows``) splits
    them the same way. About ``fraction`` of the rows are validation rows (not exactly
    ``ceil(fraction * n)`` as in an in-memory fit, and not stratified by class).

    Examples
    --------
    >>> mask = validation_rows(seed=7, fraction=0.1, start=0, stop=100_000)
    >>> part = validation_rows(7, 0.1, 500, 600)    # rows 500..599 alone: the same answer
    >>> round(float(mask.mean()), 2), bool((mask[500:600] == part).all())
    (0.1, True)
    """
    key = _mix(np.array([seed], dtype=np.uint64))
    u = _mix(np.arange(start, stop, dtype=np.uint64) ^ key) >> np.uint64(11)
    return u < np.uint64(int(fraction * 2**53))
