"""How a linear estimator turns ``X, y`` into the objective of a run.

:class:`DataPreparation` is a mixin of :class:`~gdlab.estimators._base.BaseGD`: one read of ``X``
that checks it (finite values, magnitudes) and gives the column statistics
(:meth:`_check_x`), the validation split of early stopping (:meth:`_validation_split`) and the
objective over the scaled data (:meth:`_prepare_objective`).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray
from sklearn.utils import check_random_state

from gdlab import losses
from gdlab._guards import check_magnitudes
from gdlab._objectives import LinearObjective
from gdlab.backends.scan import scan
from gdlab.data.sparse import is_sparse
from gdlab.estimators._scaled_objective import ScaledObjective, reads_safely
from gdlab.estimators._source_prep import (
    is_source,
    prepare_source,
)
from gdlab.estimators._validation_split import validation_split

Array = NDArray[np.floating[Any]]


def check_sample_weight(sample_weight: Any, n_samples: int, dtype: Any) -> Array | None:
    """``None`` or a finite, non-negative weight per sample with a positive sum."""
    if sample_weight is None:
        return None
    if np.isscalar(sample_weight):
        return np.full(n_samples, float(sample_weight), dtype=dtype)  # type: ignore[arg-type]
    weight = np.asarray(sample_weight, dtype=dtype)
    if weight.ndim != 1 or weight.shape[0] != n_samples:
        raise ValueError(
            f"sample_weight.shape == {weight.shape}, expected ({n_samples},): one weight per "
            "sample."
        )
    if not np.all(np.isfinite(weight)):
        raise ValueError("sample_weight contains NaN or infinite values.")
    if np.any(weight < 0):
        raise ValueError("sample_weight must be non-negative; negative weights were found.")
    if not weight.sum() > 0:
        raise ValueError("sample_weight sums to zero: at least one sample needs a positive weight.")
    return weight


class DataPreparation:
    """Preparing the data of a run (a mixin of :class:`~gdlab.estimators._base.BaseGD`)."""

    # settings of BaseGD, and the machinery of BaseGD and its units mixin that this uses
    alpha: float
    fit_intercept: bool
    l1_ratio: float
    penalty: Any
    random_state: Any
    standardize: bool
    validation_fraction: float
    _x_mean: Array | None
    _x_scale: Array | None
    _encode_targets: Any
    _loss_object: Any
    _scale: Any
    _set_scaling: Any
    _split_stratify: Any
    _target_scale: Any
    _target_scaling: Any
    _weigh_classes: Any

    def _prepare_objective(
        self,
        X: Array,
        y: Any,
        sample_weight: Any,
        *,
        continuing: bool = False,
        classes: Any = None,
        early_stopping: bool = False,
    ) -> tuple[LinearObjective, LinearObjective | None]:
        """The training objective of validated ``(X, y)``, and the validation one or ``None``.

        Encodes the targets, checks the sample weights and the magnitudes, and (unless
        ``continuing``) draws the shuffling seed ``_seed`` and sets the feature scaling; the
        objective holds the scaled features: for dense ``X``, a
        :class:`~gdlab.estimators._scaled_objective.ScaledObjective` that standardizes rows as they
        are read
        (no copy of ``X``). With ``early_stopping`` a validation share of the rows is split off
        into the second objective (from a standardized copy).
        """
        if is_source(X):
            return prepare_source(self, X, continuing, early_stopping)  # type: ignore[return-value]
        targets = self._encode_targets(y, first_call=not continuing, classes=classes)
        targets = targets.astype(X.dtype, copy=False)
        weight = check_sample_weight(sample_weight, X.shape[0], X.dtype)
        weight = self._weigh_classes(y, weight, X.dtype)
        stats = self._check_x(X, targets, weight, statistics=not continuing)
        if not continuing:
            self._seed = int(check_random_state(self.random_state).randint(np.iinfo(np.int32).max))
            self._set_scaling(X, weight, stats)
            self._y_scale = self._target_scale(targets, weight)
        mean, scale = self._x_mean, self._x_scale  # standardized on read unless rows are split
        on_read = not (early_stopping or mean is None or scale is None or is_sparse(X))
        X_train = X if on_read else self._scale(X)
        if self._target_scaling() != 1.0:
            targets = targets / np.asarray(self._target_scaling(), dtype=targets.dtype)
        n_outputs = 1 if targets.ndim == 1 else targets.shape[1]
        loss = self._loss_object(n_outputs)
        penalty = losses.get_penalty(self.penalty, self.alpha, self.l1_ratio)
        validation = None
        if early_stopping:
            X_train, targets, weight, validation = self._validation_split(
                X_train, targets, weight, y, loss, penalty
            )
        if on_read and mean is not None and scale is not None:
            objective: LinearObjective = ScaledObjective(
                X, mean, scale, targets, loss, penalty, self.fit_intercept, weight,
                on_read=reads_safely(stats.max_abs, mean, scale, X.dtype), max_abs=stats.max_abs,
            )  # fmt: skip
        else:  # the check's max |x| describes X_train only where it holds rows of X as given
            max_abs = stats.max_abs if stats is not None and mean is None else None
            objective = LinearObjective(
                X_train, targets, loss, penalty, self.fit_intercept, weight, max_abs=max_abs
            )
        return objective, validation

    def _check_x(self, X: Array, targets: Array, weight: Array | None, statistics: bool) -> Any:
        """Check ``X`` (finite, magnitudes) and get its column statistics in one read.

        :func:`gdlab.backends.scan.scan` reads ``X`` once for all of it (the compiled path);
        a non-finite value gets scikit-learn's own message. Returns the scan, whose mean and
        standard deviation ``_set_scaling`` uses when standardizing.
        """
        from sklearn.utils.validation import _assert_all_finite

        if is_sparse(X):  # the stored values only; the scaling statistics come from column_std
            _assert_all_finite(X.data, input_name="X", estimator_name=type(self).__name__)
            check_magnitudes(X, targets, standardize=self.standardize, owner=type(self).__name__)
            return None
        stats = scan(X, weight, statistics=statistics and self.standardize)
        if not stats.finite:
            with np.errstate(over="ignore", invalid="ignore"):  # inf - inf in its first sum
                _assert_all_finite(X, input_name="X", estimator_name=type(self).__name__)
        check_magnitudes(
            X, targets, standardize=self.standardize, owner=type(self).__name__,
            max_abs=stats.max_abs,
        )  # fmt: skip
        return stats

    def _validation_split(
        self, X: Array, targets: Array, weight: Array | None, y: Any, loss: Any, penalty: Any
    ) -> tuple[Array, Array, Array | None, LinearObjective]:
        train_idx, val_idx = validation_split(
            X.shape[0], self.validation_fraction, self._seed, self._split_stratify(y)
        )
        val_weight = None if weight is None else weight[val_idx]
        validation = LinearObjective(
            X[val_idx], targets[val_idx], loss, penalty, self.fit_intercept, val_weight
        )
        train_weight = None if weight is None else weight[train_idx]
        return X[train_idx], targets[train_idx], train_weight, validation
