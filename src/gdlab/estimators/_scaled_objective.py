"""A linear model's objective over standardized features that does not copy ``X``.

With ``standardize=True`` an estimator trains on ``(X - mean) / scale``. Writing that copy costs
a read and a write of ``X`` and an array of its size on every fit; :class:`ScaledObjective`
keeps ``X`` as given and standardizes rows where they are read: the compiled epochs gather
shuffled batches standardized (:func:`gdlab.backends._gather_kernels.gather_scaled`) and the final
loss check standardizes each row as it sums it (:func:`gdlab.backends.scan.scaled_row_dot`),
both with the arithmetic of the copy, so every number is bitwise what training on the copy
gives. Everything else that needs the standardized matrix (the NumPy reference path, a full
batch, unshuffled epochs, the advice of a divergence error) gets the copy, made on first use.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

from gdlab._objectives import LinearObjective
from gdlab.backends.scan import scaled_row_dot, standardized
from gdlab.losses import Loss, Penalty

Array = NDArray[np.floating[Any]]

__all__ = ["ScaledObjective", "reads_safely", "standardized_copy"]


def standardized_copy(X: Array, mean: Array, scale: Array) -> Array:
    """``(X - mean) / scale`` in ``X``'s dtype; where ``X - mean`` overflows (values near the
    dtype's limit), ``X / scale - mean / scale`` instead.

    Examples
    --------
    >>> import numpy as np
    >>> standardized_copy(np.array([[1.0], [3.0]]), np.array([2.0]), np.array([2.0]))
    array([[-0.5],
           [ 0.5]])
    >>> standardized_copy(np.array([[-1.5e308], [1.5e308]]), np.array([-1e308]), np.array([1e308]))
    array([[-0.5],
           [ 2.5]])
    """
    scaled, finite = standardized(X, mean, scale)  # one read of X, one write of the copy
    if not finite:
        with np.errstate(over="ignore", invalid="ignore"):
            scaled = (X / scale - mean / scale).astype(X.dtype, copy=False)
    return scaled


def reads_safely(max_abs: Array | None, mean: Array, scale: Array, dtype: Any) -> bool:
    """Whether ``(x - mean) / scale`` is finite for every ``|x| <= max_abs``, with room to
    spare: then standardizing on read gives what :func:`standardized_copy` gives.

    Examples
    --------
    >>> import numpy as np
    >>> reads_safely(np.array([3.0]), np.array([1.0]), np.array([2.0]), np.float64)
    True
    >>> reads_safely(np.array([1.5e308]), np.array([-1e308]), np.array([1e308]), np.float64)
    False
    """
    if max_abs is None:
        return False
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        bound = (np.asarray(max_abs, np.float64) + np.abs(np.asarray(mean, np.float64))) / (
            np.asarray(scale, np.float64)
        )
        limit = np.finfo(dtype).max / 4
        return bool(np.all(np.abs(mean) < limit) and np.all(bound < limit))


class ScaledObjective(LinearObjective):
    """:class:`~gdlab._objectives.LinearObjective` of ``((X - mean) / scale, targets)``.

    ``X`` (the attribute) is the standardized matrix, made on first use; ``raw_X`` is ``X`` as
    given, and :attr:`standardize_on_read` tells the compiled back-end how to standardize rows
    itself. ``on_read=False`` (values so large that ``X - mean`` could overflow) leaves the
    back-ends to the copy. ``max_abs`` (each column's largest ``|x|``, from the check of ``X``)
    lets :meth:`loss_upper_bound` bound the final loss without dividing.

    Examples
    --------
    >>> import numpy as np
    >>> from gdlab import losses
    >>> X = np.array([[1.0], [3.0]]); y = np.array([0.0, 2.0])
    >>> objective = ScaledObjective(X, np.array([2.0]), np.array([1.0]), y,
    ...                             losses.squared_error, losses.get_penalty(None),
    ...                             max_abs=np.array([3.0]))
    >>> upper = objective.loss_upper_bound(np.array([0.5, 1.0]))   # X as given: no copy yet
    >>> objective.loss(np.array([1.0, 1.0]))   # z = (x - 2) + 1 fits y exactly
    0.0
    >>> exact = objective.loss(np.array([0.5, 1.0]))
    >>> exact, bool(exact <= upper < exact + 1e-12)
    (0.25, True)
    >>> objective.X
    array([[-1.],
           [ 1.]])
    """

    def __init__(
        self,
        X: Array,
        mean: Array,
        scale: Array,
        targets: Array,
        loss: Loss,
        penalty: Penalty,
        fit_intercept: bool = True,
        sample_weight: Array | None = None,
        *,
        on_read: bool = True,
        max_abs: Array | None = None,
    ) -> None:
        self._copy: Array | None = None
        self.x_mean = np.asarray(mean, dtype=X.dtype)
        self.x_scale = np.asarray(scale, dtype=X.dtype)
        self._on_read = on_read
        super().__init__(X, targets, loss, penalty, fit_intercept, sample_weight, max_abs=max_abs)

    @property
    def X(self) -> Array:
        """The standardized matrix (made on first use, then kept)."""
        if self._copy is None:
            self._copy = standardized_copy(self.raw_X, self.x_mean, self.x_scale)
        return self._copy

    @X.setter
    def X(self, value: Array) -> None:  # LinearObjective.__init__ stores X as given here
        self.raw_X = value
        self._copy = None

    @property
    def standardize_on_read(self) -> tuple[Array, Array, Array] | None:
        """``(X as given, mean, scale)`` while no copy has been made, else ``None``."""
        if not self._on_read or self._copy is not None:
            return None
        return self.raw_X, self.x_mean, self.x_scale

    def pack(self, weights: Array, intercept: Array | float) -> Array:
        """The flat ``theta`` for given ``W`` and ``b`` (in ``X``'s dtype, without the copy)."""
        dtype = self.raw_X.dtype
        parts = [np.ravel(weights)]
        if self.fit_intercept:
            parts.append(np.ravel(np.asarray(intercept, dtype=dtype)))
        return np.concatenate(parts).astype(dtype, copy=False)

    def loss_without_blas(self, theta: Array) -> float:
        """:meth:`LinearObjective.loss_without_blas`, standardizing rows as they are summed
        (bitwise the same value) when no copy has been made."""
        on_read = self.standardize_on_read
        weights, intercept = self.split(theta)
        products = None if on_read is None else scaled_row_dot(*on_read, weights)
        if products is None:
            return super().loss_without_blas(theta)
        value = self.loss_fn.value(self.targets, products + intercept, self.sample_weight)
        return value + self.penalty.value(weights)

    def _bound_inputs(self) -> tuple[Array, Array, Array] | None:
        """``(X as given, mean, scale)`` while no copy has been made, else ``None``: the bound of
        :meth:`~gdlab._objectives.LinearObjective.loss_upper_bound` reads the rows unscaled (no
        division per value); a copy's values are not those ``max_abs`` describes."""
        return self.standardize_on_read
