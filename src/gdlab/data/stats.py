"""Statistics of a source in one streaming pass: row count, feature means and standard deviations
(merged block by block with Chan, Golub and LeVeque's pairwise update), target labels or mean.

For blocks ``a`` and ``b`` with counts ``n``, means ``m`` and sums of squared deviations ``M2``::

    n = n_a + n_b,   m = m_a + (m_b - m_a) n_b / n,   M2 = M2_a + M2_b + (m_b - m_a)^2 n_a n_b / n

and the (population) standard deviation is ``sqrt(M2 / n)``, as ``np.std``. With sample weights
(a source's weight column) ``n`` is the sum of the weights, ``m`` the weighted mean and ``M2`` the
weighted sum of squared deviations, as in-memory ``np.average(..., weights=w)``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from gdlab.data.sources import blocks_of, check_block_weights

Array = NDArray[np.float64]

__all__ = ["SourceStats", "merged", "scan"]


@dataclass
class SourceStats:
    """What one pass over a source found."""

    n_rows: int = 0
    mean: Array | None = None
    m2: Array | None = None
    labels: Any = None
    target_sum: Array | None = None
    target_min: float = np.inf
    target_m2: Array | None = None
    shapes: set[int] = field(default_factory=set)
    #: the sum of the sample weights so far (``None`` without a weight column)
    weight_sum: float | None = None

    @property
    def _total(self) -> float:
        """What the means divide by: the rows, or the sum of the weights."""
        return self.n_rows if self.weight_sum is None else self.weight_sum

    @property
    def std(self) -> Array:
        assert self.m2 is not None
        if self.weight_sum is not None:
            return np.sqrt(self.m2 / self.weight_sum)
        return np.sqrt(self.m2 / max(self.n_rows, 1))

    @property
    def target_mean(self) -> Array:
        assert self.target_sum is not None
        return self.target_sum / self._total

    @property
    def target_std(self) -> Array:
        """The standard deviation of each target column (``ddof=0``)."""
        assert self.target_m2 is not None
        if self.weight_sum is not None:
            return np.sqrt(self.target_m2 / self.weight_sum)
        return np.sqrt(self.target_m2 / max(self.n_rows, 1))

    def add_targets(self, values: Array, weight: Array | None = None) -> None:
        """Add a block's targets (before :meth:`add_features` counts its rows): the (weighted)
        sum, and the sum of squared deviations combined as Chan et al.'s parallel variance."""
        block = values.reshape(values.shape[0], -1)
        n = block.shape[0] if weight is None else float(np.sum(weight))
        if n == 0:
            return
        if weight is None:
            block_sum = block.sum(axis=0)
            m2 = ((block - block_sum / n) ** 2).sum(axis=0)
        else:
            block_sum = weight @ block
            m2 = weight @ ((block - block_sum / n) ** 2)
        self._merge_targets(n, block_sum, m2)

    def _merge_targets(self, n: float, block_sum: Array, m2: Array) -> None:
        seen = self._total
        if self.target_sum is None or self.target_m2 is None:
            self.target_sum, self.target_m2 = block_sum, m2
            return
        total = seen + n
        delta = block_sum / n - self.target_sum / seen
        self.target_m2 = self.target_m2 + m2 + delta**2 * (seen * n / total)
        self.target_sum = self.target_sum + block_sum

    def add_features(self, X: Array, weight: Array | None = None) -> None:
        """Add a block's features (and count its rows and weights)."""
        if weight is not None:
            self._add_weighted(X, weight)
            return
        n = X.shape[0]
        if n == 0:
            return
        mean = X.mean(axis=0)
        self._merge_features(n, mean, m2=((X - mean) ** 2).sum(axis=0))

    def _merge_features(self, n: int, mean: Array, m2: Array) -> None:
        if self.mean is None or self.m2 is None:
            self.n_rows, self.mean, self.m2 = n, mean, m2
            return
        total = self.n_rows + n
        delta = mean - self.mean
        self.mean = self.mean + delta * (n / total)
        self.m2 = self.m2 + m2 + delta**2 * (self.n_rows * n / total)
        self.n_rows = total

    def merge(self, part: SourceStats) -> None:
        """Add the statistics of the next rows found apart (a Dask partition scanned where it
        lives, as one block): the arithmetic of :meth:`add_targets` and :meth:`add_features` on
        those rows, so the result is the same to the last bit."""
        if part.weight_sum is not None:
            if part.target_sum is not None and part.target_m2 is not None:
                self._merge_targets(part.weight_sum, part.target_sum, part.target_m2)
            self.target_min = min(self.target_min, part.target_min)
            self._merge_weighted(part.n_rows, part.weight_sum, part.mean, part.m2)
            return
        if part.target_sum is not None and part.target_m2 is not None:
            self._merge_targets(part.n_rows, part.target_sum, part.target_m2)
            self.target_min = min(self.target_min, part.target_min)
        if part.n_rows and part.mean is not None and part.m2 is not None:
            self._merge_features(part.n_rows, part.mean, part.m2)

    def _add_weighted(self, X: Array, weight: Array) -> None:
        n = float(np.sum(weight))
        mean = m2 = None
        if n:
            mean = (weight @ X) / n
            m2 = weight @ ((X - mean) ** 2)
        self._merge_weighted(X.shape[0], n, mean, m2)

    def _merge_weighted(self, rows: int, n: float, mean: Array | None, m2: Array | None) -> None:
        """Add ``rows`` rows of weight sum ``n`` with weighted ``mean`` and ``m2``."""
        self.n_rows += rows
        seen = self.weight_sum or 0.0
        self.weight_sum = seen + n
        if mean is None or m2 is None:  # rows of weight zero count as rows, not in the moments
            return
        if self.mean is None or self.m2 is None:
            self.mean, self.m2 = mean, m2
            return
        delta = mean - self.mean
        self.mean = self.mean + delta * (n / self.weight_sum)
        self.m2 = self.m2 + m2 + delta**2 * (seen * n / self.weight_sum)


def scan(source: Any, classify: bool, whole: bool = True) -> SourceStats:
    """One pass over ``source``: feature moments, and the labels (``classify``) or the target sum.

    Raises ``ValueError`` naming the block of a non-finite feature or target value, or of a
    negative or non-finite weight, and (unless ``whole`` is false: a part of the source, such as
    a Dask partition scanned alone) when there are no rows or the weights sum to zero.

    Examples
    --------
    >>> import numpy as np
    >>> from gdlab.data.sources import ArraySource
    >>> X = np.random.default_rng(0).normal(size=(100, 3)); y = np.arange(100.0)
    >>> stats = scan(ArraySource(X, y, batch_rows=7), classify=False)
    >>> bool(np.allclose(stats.mean, X.mean(0)) and np.allclose(stats.std, X.std(0)))
    True
    >>> float(stats.target_mean[0]), bool(np.isclose(stats.target_std[0], y.std()))
    (49.5, True)
    """
    if hasattr(source, "scan_groups"):  # a Dask source: each partition scanned where it lives
        parts = source.scan_groups(classify)  # None when a partition fails a check: scan here
        if parts is not None:
            return _checked(merged(parts, classify))
    stats = SourceStats()
    labels: list[Any] = []
    weight_column = source.weight if isinstance(getattr(source, "weight", None), str) else None
    for X, y, weight in blocks_of(source, range(len(source.layout.group_rows))):
        where = f"block starting at row {stats.n_rows} of the data"
        if weight is not None:
            check_block_weights(weight, stats.n_rows, weight_column)
        if not np.all(np.isfinite(X)):
            column = int(np.nonzero(~np.all(np.isfinite(X), axis=0))[0][0])
            raise ValueError(
                f"The feature {source.feature_names[column]!r} has NaN or infinite values "
                f"in the {where}."
            )
        if classify:
            labels.append(np.unique(y))
        elif y is not None:
            values = np.asarray(y, dtype=np.float64)
            if not np.all(np.isfinite(values)):
                raise ValueError(f"The target has NaN or infinite values in the {where}.")
            stats.add_targets(values, weight)
            if values.size:
                stats.target_min = min(stats.target_min, float(values.min()))
        stats.add_features(X, weight)
    if classify and labels:
        stats.labels = np.unique(np.concatenate(labels))
    return _checked(stats) if whole else stats


def _checked(stats: SourceStats) -> SourceStats:
    """``stats``, after checking that they have rows, and weights that do not sum to zero."""
    if stats.n_rows == 0:
        raise ValueError("The data source has no rows.")
    if stats.weight_sum is not None and not stats.weight_sum > 0:
        raise ValueError(
            "The sample weights of the source sum to zero: at least one row needs a positive "
            "weight."
        )
    return stats


def merged(parts: list[SourceStats], classify: bool) -> SourceStats:
    """The statistics of consecutive parts of a source, each scanned alone, merged in order.

    Examples
    --------
    >>> import numpy as np
    >>> from gdlab.data.sources import ArraySource
    >>> X = np.random.default_rng(0).normal(size=(100, 3)); y = np.arange(100.0)
    >>> parts = [scan(ArraySource(X[s], y[s], batch_rows=50), False) for s in (
    ...     slice(0, 50), slice(50, 100))]
    >>> whole = scan(ArraySource(X, y, batch_rows=50), classify=False)  # the same two blocks
    >>> together = merged(parts, classify=False)
    >>> bool(np.all(together.m2 == whole.m2) and np.all(together.target_m2 == whole.target_m2))
    True
    """
    stats = SourceStats()
    for part in parts:
        stats.merge(part)
    if classify:
        found = [part.labels for part in parts if part.labels is not None]
        stats.labels = np.unique(np.concatenate(found)) if found else None
    return stats
