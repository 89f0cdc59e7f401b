"""Class weights on a data source: each row weighs ``class_weight[label] * sample_weight``.

A classifier's ``class_weight`` (a dict ``{label: weight}`` or ``"balanced"``) multiplies into the
sample weights, as scikit-learn's ``SGDClassifier`` and gdlab's in-memory fit do. On a streamed
source the weight of a class is known only after the labels are counted, so a fit with class
weights reads the source once more first (:func:`label_counts`); :class:`ClassWeighted` then
gives every block the combined weights, and the scan, the epochs and the validation split read
them as they read a weight column. A Dask source counts the labels of each partition where it
lives and weighs its rows there (:meth:`gdlab.data.dask_source.DaskSource.with_class_weights`),
with :func:`row_weights` too.

``"balanced"`` gives class ``c`` the weight ``n / (k * count(c))`` over the ``n`` rows and ``k``
classes of the source: scikit-learn's ``compute_class_weight`` arithmetic, so the weights are
those of the in-memory fit to the last bit.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
from numpy.typing import NDArray

from gdlab.data.sources import blocks_of, weighted_blocks

Array = NDArray[np.floating[Any]]
Block = tuple[Array, Any, Array | None]

__all__ = [
    "ClassWeighted",
    "block_label_counts",
    "class_weight_vector",
    "label_counts",
    "row_weights",
]


def label_counts(source: Any) -> tuple[np.ndarray, np.ndarray]:
    """The sorted labels of ``source``'s target and how many rows have each (one pass).

    Examples
    --------
    >>> import numpy as np
    >>> from gdlab.data.sources import ArraySource
    >>> y = np.array(["b", "a", "b", "b", "c"])
    >>> labels, counts = label_counts(ArraySource(np.zeros((5, 1)), y, batch_rows=2))
    >>> labels.tolist(), counts.tolist()
    (['a', 'b', 'c'], [1, 3, 1])
    """
    if hasattr(source, "partition_label_counts"):  # a Dask source: counted on the workers
        parts = source.partition_label_counts()
    else:
        groups = range(len(source.layout.group_rows))
        parts = (block_label_counts(y) for _, y, _ in blocks_of(source, groups))
    found: dict[Any, int] = {}
    for labels, counts in parts:
        for label, count in zip(labels.tolist(), counts.tolist(), strict=True):
            found[label] = found.get(label, 0) + count
    if not found:
        raise ValueError("The data source has no rows.")
    labels = np.unique(np.asarray(list(found)))
    return labels, np.array([found[label] for label in labels.tolist()], dtype=np.int64)


def block_label_counts(y: Any) -> tuple[np.ndarray, np.ndarray]:
    """The sorted labels of one block's target and how many rows have each."""
    labels, counts = np.unique(np.asarray(y), return_counts=True)
    return labels, counts


def row_weights(classes: np.ndarray, weights: Array, y: Any, weight: Array | None) -> Array:
    """Each row's weight ``weights[class of y]`` (times its sample weight ``weight``, if any).

    Examples
    --------
    >>> import numpy as np
    >>> row_weights(np.array([0, 1]), np.array([2.0, 0.5]), np.array([1, 0]), np.ones(2) * 3)
    array([1.5, 6. ])
    """
    labels = np.asarray(y)
    where = np.searchsorted(classes, labels)
    inside = where < classes.size
    known = inside & (classes[np.minimum(where, classes.size - 1)] == labels)
    if not np.all(known):
        unknown = labels[~known][0]
        raise ValueError(
            f"The label {unknown!r} is not one of the classes counted before the fit, "
            f"{classes.tolist()}: the source changed while it was read."
        )
    per_row = weights[where]
    return per_row if weight is None else per_row * weight


def class_weight_vector(
    class_weight: Any, classes: np.ndarray, labels: np.ndarray, counts: np.ndarray
) -> Array:
    """The weight of each of ``classes``: scikit-learn's ``compute_class_weight`` from label
    counts instead of the labels themselves (``labels``/``counts`` of :func:`label_counts`).

    Examples
    --------
    >>> import numpy as np
    >>> classes = np.array([0, 1])
    >>> class_weight_vector("balanced", classes, classes, np.array([3, 1])).tolist()
    [0.6666666666666666, 2.0]
    >>> class_weight_vector({1: 5.0}, classes, classes, np.array([3, 1])).tolist()
    [1.0, 5.0]
    """
    from sklearn.utils.class_weight import compute_class_weight

    if not (isinstance(class_weight, str) and class_weight == "balanced"):
        return np.asarray(compute_class_weight(class_weight, classes=classes, y=classes), float)
    if not np.all(np.isin(classes, labels)):
        raise ValueError("classes should have valid labels that are in y")
    weighted_counts = counts.astype(np.float64)  # scikit-learn's bincount of unit weights
    recip_freq = np.sum(weighted_counts) / (labels.size * weighted_counts)
    return np.asarray(recip_freq[np.searchsorted(labels, classes)], dtype=np.float64)


class ClassWeighted:
    """``source`` with every row weighted by its class: ``weights[searchsorted(classes, y)]``,
    times the row's sample weight when the source has a weight column.

    Everything else (layout, features, reading ahead and standardizing as it reads) is the
    source's own.

    Examples
    --------
    >>> import numpy as np
    >>> from gdlab.data.sources import ArraySource
    >>> source = ArraySource(np.zeros((4, 1)), np.array([0, 1, 1, 0]), batch_rows=4)
    >>> weighted = ClassWeighted(source, np.array([0, 1]), np.array([2.0, 0.5]))
    >>> [w.tolist() for _, _, w in weighted.group_weighted_blocks(0)]
    [[2.0, 0.5, 0.5, 2.0]]
    """

    def __init__(self, source: Any, classes: np.ndarray, weights: Array) -> None:
        self.source = source
        self.classes = classes
        self.weights = weights
        #: a weight for every row (a weight column's name when the source has one)
        self.weight = source.weight if source.weight is not None else "class weights"

    def __getattr__(self, name: str) -> Any:
        if name == "read_blocks" and hasattr(self.source, "read_blocks"):
            return self._read_blocks
        if name in {"source", "classes", "weights"}:  # not set yet (e.g. while unpickling)
            raise AttributeError(name)
        return getattr(self.source, name)

    def _weighed(self, blocks: Any) -> Iterator[Block]:
        for X, y, weight in blocks:
            yield X, y, row_weights(self.classes, self.weights, y, weight)

    def group_weighted_blocks(self, group: int) -> Iterator[Block]:
        return self._weighed(weighted_blocks(self.source, group))

    def _read_blocks(self, *args: Any, **kwargs: Any) -> Iterator[Block]:
        return self._weighed(self.source.read_blocks(*args, **kwargs))
