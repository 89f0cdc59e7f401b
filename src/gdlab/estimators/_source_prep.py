"""What the estimators do with a data source instead of ``(X, y)``.

``fit(source)``: one streaming pass finds the rows, the feature means and standard deviations
(for ``standardize=True``), the classes of a classifier or the mean target of a regressor; the
engine then trains on a :class:`~gdlab.data.objective.BlockObjective`. ``predict(source)`` and
``score(source)`` read the source block by block.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray
from sklearn.utils import check_random_state

from gdlab import losses
from gdlab.data.class_weighted import ClassWeighted, class_weight_vector, label_counts
from gdlab.data.objective import BlockObjective, BlockTransform, RowSplit
from gdlab.data.stats import scan

Array = NDArray[np.floating[Any]]

__all__ = [
    "SourceScore",
    "check_source_features",
    "dask_as_source",
    "dask_decision",
    "is_source",
    "prepare_source",
    "source_decision",
    "source_targets",
]


def is_source(data: Any) -> bool:
    """Whether ``data`` is a block source (:mod:`gdlab.data.sources`)."""
    return hasattr(data, "group_blocks") and hasattr(data, "layout")


def check_fit_arguments(estimator: Any, source: Any, y: Any, **extra: Any) -> None:
    """Refuse what a fit on a source does not take (yet), naming it."""
    name = type(estimator).__name__
    if y is not None:
        raise ValueError(
            f"{name}.fit got a data source and y: the source holds the target "
            "(gdlab.data.parquet(path, target=...)); pass the source alone."
        )
    if not source.has_target:
        raise ValueError(f"{name}.fit needs a target: make the source with target='column name'.")
    for what, value in extra.items():
        if value is not None:
            hint = ""
            if what == "sample_weight":
                hint = "; name the weight column of the source instead (weight='column name')"
            raise ValueError(f"{name}.fit does not take {what} with a data source{hint}.")


def prepare_source(
    estimator: Any, source: Any, continuing: bool = False, early_stopping: bool = False
) -> tuple[BlockObjective, BlockObjective | None]:
    """The objective that streams ``source``, and the validation one or ``None``.

    A fresh fit first scans it and sets the estimator's scaling, seed and target encoding; a warm
    start keeps those of the first fit, so the epochs continue exactly. With ``early_stopping``
    the rows are split by :func:`gdlab.data.layout.validation_rows` (seeded by the fit's seed, a
    share ``validation_fraction`` of the rows): the training objective reads the other rows, the
    validation objective these (one more pass over the data each epoch). The scaling statistics
    come from every row, as in memory."""
    classify = not estimator._y_numeric
    target_mean = weight_sum = None
    source = _with_class_weights(estimator, source, continuing)
    if continuing:
        check_source_features(estimator, source)
    else:
        target_mean, weight_sum = _scan_and_set(estimator, source, classify)

    y_scale = estimator._target_scaling()  # a regressor's y / s_y, as in memory (_units)

    def encode(y: Any) -> Array:
        targets = np.asarray(estimator._encode_targets(y, first_call=False), dtype=np.float64)
        return targets if y_scale == 1.0 else targets / y_scale

    mean, scale = getattr(estimator, "_x_mean", None), getattr(estimator, "_x_scale", None)
    scaling = None if mean is None or scale is None else (mean, scale)  # as estimator._scale
    transform = BlockTransform(estimator._scale, encode, scaling)

    n_outputs = 1
    if classify and estimator.classes_.size > 2:
        n_outputs = estimator.classes_.size
    loss = estimator._loss_object(n_outputs)
    penalty = losses.get_penalty(estimator.penalty, estimator.alpha, estimator.l1_ratio)
    parts = (source, transform, loss, penalty, estimator.fit_intercept, n_outputs)
    if not early_stopping:
        objective = BlockObjective(*parts, weight_sum=weight_sum)
        objective.target_mean = None if target_mean is None else target_mean / y_scale
        return objective, None
    seed, fraction = estimator._seed, estimator.validation_fraction
    objective = BlockObjective(*parts, rows=RowSplit(seed, fraction, validation=False))
    validation = BlockObjective(*parts, rows=RowSplit(seed, fraction, validation=True))
    if objective.n_samples < 1 or validation.n_samples < 1:
        raise ValueError(
            "early_stopping needs at least one training and one validation sample; with "
            f"{source.layout.n_rows} samples and validation_fraction={fraction} the split of "
            f"the source has {objective.n_samples} and {validation.n_samples}."
        )
    return objective, validation


def _with_class_weights(estimator: Any, source: Any, continuing: bool) -> Any:
    """``source`` whose rows weigh their class's weight too, when the classifier has a
    ``class_weight`` (one more pass, to count the labels); else ``source``."""
    class_weight = getattr(estimator, "class_weight", None)
    if class_weight is None:
        return source
    labels, counts = label_counts(source)
    classes = estimator.classes_ if continuing else labels
    weights = class_weight_vector(class_weight, classes, labels, counts)
    if hasattr(source, "with_class_weights"):  # a Dask source: weighed where the rows live
        return source.with_class_weights(classes, weights)
    return ClassWeighted(source, classes, weights)


def _scan_and_set(estimator: Any, source: Any, classify: bool) -> tuple[Array | None, float | None]:
    """One pass over ``source``: set the classes or target flags, the seed, the scaling and the
    feature names; return the (weighted) mean target of a regressor and the sum of the sample
    weights (``None`` without a weight column)."""
    stats = scan(source, classify=classify)
    if classify:
        estimator._encode_targets(stats.labels, first_call=True)
    else:
        estimator._targets_2d = False
        if estimator.loss == "poisson" and (stats.target_min < 0 or stats.target_mean[0] <= 0):
            estimator._encode_targets(np.array([stats.target_min, 0.0]), first_call=True)
    estimator._seed = int(
        check_random_state(estimator.random_state).randint(np.iinfo(np.int32).max)
    )
    _set_scaling(estimator, stats)
    estimator._y_scale = None if classify else estimator._target_scale_of_std(stats.target_std)
    estimator.n_features_in_ = source.n_features
    if getattr(source, "named", False):
        estimator.feature_names_in_ = np.asarray(source.feature_names, dtype=object)
    elif hasattr(estimator, "feature_names_in_"):
        del estimator.feature_names_in_
    return (None if classify else stats.target_mean), stats.weight_sum


def _set_scaling(estimator: Any, stats: Any) -> None:
    """``BaseGD._set_scaling`` from streamed moments."""
    if not estimator.standardize:
        estimator._x_mean = estimator._x_scale = None
        return
    mean = np.array(stats.mean)
    scale = np.array(stats.std)
    if not estimator.fit_intercept:
        mean = np.zeros_like(mean)
    scale[~(scale > 10 * np.finfo(np.float64).eps * np.maximum(1.0, np.abs(mean)))] = 1.0
    estimator._x_mean, estimator._x_scale = mean, scale


def check_source_features(estimator: Any, source: Any) -> None:
    name = type(estimator).__name__
    if source.n_features != estimator.n_features_in_:
        raise ValueError(
            f"The source has {source.n_features} features, but {name} is expecting "
            f"{estimator.n_features_in_} features as input."
        )
    fitted = getattr(estimator, "feature_names_in_", None)
    if fitted is not None and getattr(source, "named", False):
        if list(fitted) != list(source.feature_names):
            raise ValueError(
                f"The source's feature columns {source.feature_names} differ from those {name} "
                f"was fitted on, {list(fitted)}; pass features=[...] in that order."
            )


def source_decision(estimator: Any, source: Any) -> Array:
    """``X @ coef_.T + intercept_`` for every row of ``source``, block by block."""
    check_source_features(estimator, source)
    parts = []
    for group in range(len(source.layout.group_rows)):
        for X, _ in source.group_blocks(group):
            parts.append(X @ estimator.coef_.T + estimator.intercept_)
    return np.concatenate(parts, axis=0)


def source_targets(source: Any) -> Any:
    """The target column of ``source``, read block by block."""
    if not source.has_target:
        raise ValueError("score needs a target: make the source with target='column name'.")
    parts = []
    for group in range(len(source.layout.group_rows)):
        for _, y in source.group_blocks(group):
            parts.append(np.asarray(y))
    return np.concatenate(parts)


def dask_as_source(X: Any, y: Any, sample_weight: Any = None) -> tuple[Any, Any, Any]:
    """``(DaskSource(X, y, sample_weight), None, None)`` for a dask collection, else
    ``(X, y, sample_weight)`` unchanged."""
    from gdlab.data.dask_source import is_dask

    if not is_dask(X):
        return X, y, sample_weight
    from gdlab.data.dask_source import DaskSource

    return DaskSource(X, y, sample_weight), None, None


def dask_decision(estimator: Any, X: Any) -> Any:
    """The lazy decision values of a dask collection, one block per partition."""
    from gdlab.data.dask_source import DaskSource

    source = DaskSource(X)
    check_source_features(estimator, source)
    return source.decision(estimator.coef_, estimator.intercept_)


class SourceScore:
    """``score(source)``: the target comes from the source, read block by block."""

    def score(self, X: Any, y: Any = None, sample_weight: Any = None) -> float:
        """The mean accuracy (classifier) or R^2 (regressor) of ``predict(X)`` against ``y``.

        ``X`` may be a data source (:mod:`gdlab.data`) holding the target; ``y`` is then left out.
        """
        if is_source(X):
            if y is not None:
                raise ValueError("score got a data source and y: the source holds the target.")
            y = source_targets(X)
        return super().score(X, y, sample_weight=sample_weight)  # type: ignore[misc]
