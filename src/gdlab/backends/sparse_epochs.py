"""The compiled path on scipy.sparse CSR features: whole epochs in one Numba call.

:class:`SparseCompiledEpochs` is the dense :class:`~gdlab.backends.numba_backend.CompiledEpochs`
(the same state packing, learning rates, records and contract with the engine) with the epoch
run by :func:`gdlab.backends._sparse_kernels.run_sparse` over the CSR arrays: stochastic,
mini-batch and full batch, every loss (softmax multi-class included), penalty and named optimizer,
clipping and sample weights. The rows are read in the epoch's order
(:func:`gdlab._batching.epoch_order`, the NumPy path's order) straight from the CSR arrays; no
block of rows is copied.

CSC features are converted to CSR once, when the estimator validates ``X``
(:func:`gdlab.data.sparse.to_csr`); duplicate entries are summed here once if present. Nothing
here imports scipy: a CSR matrix is recognised by its ``format``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from gdlab.backends.numba_backend import CompiledEpochs, _Run

__all__ = ["SparseCompiledEpochs", "is_csr"]


def is_csr(X: Any) -> bool:
    """Whether ``X`` is a scipy.sparse CSR matrix or array."""
    return getattr(X, "format", None) == "csr"


class SparseCompiledEpochs(CompiledEpochs):
    """Run epochs of a linear objective over CSR features with a named optimizer.

    Examples
    --------
    >>> import numpy as np, scipy.sparse as sp
    >>> from gdlab import GDRegressor
    >>> X = sp.random(200, 30, density=0.1, random_state=0, format="csr")
    >>> y = X @ np.arange(30.0)
    >>> model = GDRegressor(optimizer="sgd", batch_size=1, backend="numba", standardize=False,
    ...                     max_iter=3, tol=None, random_state=0).fit(X, y)
    >>> model.history_.backend
    'numba'
    """

    def __init__(self, objective: Any, optimizer: Any, config: Any) -> None:
        super().__init__(objective, optimizer, config)
        from gdlab.backends import _sparse_kernels

        self._sparse = _sparse_kernels

    @staticmethod
    def _features(X: Any) -> Any:
        """CSR in canonical form (sorted indices, no duplicates); a copy only when needed."""
        if not X.has_canonical_format:
            X = X.copy()
            X.sum_duplicates()
        return X

    def _epoch(self, run: _Run, config: Any, epoch: int) -> None:
        X = self.X
        if self.batch >= self.n_samples or not config.shuffle:
            order = np.zeros(0, dtype=np.intp)
        else:
            order = self._order(config.seed, epoch)
        self._sparse.run_sparse(
            X.data, X.indices, X.indptr, self.Y, self.SW, order, 0, self.n_samples, 0,
            *run.arrays(),
        )  # fmt: skip
