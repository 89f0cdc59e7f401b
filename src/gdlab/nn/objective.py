"""A network's empirical risk as an objective of :func:`gdlab.engine.train`.

The engine sees what it sees for a linear model: ``n_samples``, ``loss_and_grad(theta, rows)`` and
``loss(theta)``; so a network is trained by the same loop, optimizers, schedules, clipping,
divergence rule, history and resume as every other model. What a network has beyond its
parameters is carried by the objective:

* ``bn_state``: the batch-norm running statistics, updated by every training call of
  :meth:`NetworkObjective.loss_and_grad` (PyTorch's ``model.train()``) and used by
  :meth:`NetworkObjective.loss` (``model.eval()``: no dropout, running statistics);
* ``draws``: how many training calls have been made, which seeds the dropout masks
  (``default_rng([seed, draws])``), so that a resumed fit draws the masks an uninterrupted fit
  would;
* an optional :class:`~gdlab.nn.diagnostics.LayerTracker` that gathers per-layer numbers.

The estimator saves ``bn_state`` and ``draws`` with the model and hands them back on a warm start.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from numpy.typing import NDArray

from gdlab.losses import Loss
from gdlab.nn.network import Architecture, BatchNormState, Cache

Array = NDArray[np.floating[Any]]
Rows = slice | NDArray[np.intp] | None
MaskFunction = Callable[[int, int, tuple[int, int]], Array]

__all__ = ["NetworkObjective"]


class NetworkObjective:
    """Mean loss of a network plus ``alpha / 2 * sum ||W||^2`` over its weight matrices.

    Parameters
    ----------
    X : array of shape (n_samples, n_features)
    targets : array of shape (n_samples,) or (n_samples, n_outputs)
    loss : Loss
        Compares ``targets`` with the network's raw output (:mod:`gdlab.losses`).
    architecture : Architecture
    alpha : float
        L2 strength on the weights (not on biases or batch-norm parameters).
    seed : int
        Seeds the dropout masks.
    bn_state : BatchNormState or None
        Running statistics to continue from (default: mean 0, variance 1).
    draws : int
        Training calls already made (the dropout stream's position).
    dropout_mask : callable or None
        ``dropout_mask(draw, layer, shape) -> keep`` (0/1 array) replaces the random masks, for
        comparisons with another library.
    tracker : LayerTracker or None
    sample_weight : array of shape (n_samples,) or None
        Row weights, as :class:`~gdlab._objectives.LinearObjective`'s: over all rows the loss is
        ``sum_i w_i loss_i / sum_i w_i``; a batch ``B`` gives ``sum_B w_i loss_i / (|B| mean(w))``
        (an unbiased estimate of it). Batch-norm statistics stay unweighted.

    Examples
    --------
    >>> import numpy as np
    >>> from gdlab import losses
    >>> from gdlab.nn import Architecture
    >>> X = np.array([[0.0], [1.0]]); y = np.array([1.0, 3.0])
    >>> arch = Architecture(1, (), 1)            # no hidden layer: z = X w + b
    >>> objective = NetworkObjective(X, y, losses.squared_error, arch)
    >>> objective.loss_and_grad(np.array([2.0, 1.0]))   # a perfect fit
    (0.0, array([0., 0.]))
    """

    def __init__(
        self,
        X: Array,
        targets: Array,
        loss: Loss,
        architecture: Architecture,
        *,
        alpha: float = 0.0,
        seed: int = 0,
        bn_state: BatchNormState | None = None,
        draws: int = 0,
        dropout_mask: MaskFunction | None = None,
        tracker: Any = None,
        sample_weight: Array | None = None,
    ) -> None:
        if X.ndim != 2 or X.shape[1] != architecture.n_features:
            raise ValueError(
                f"X must have shape (n_samples, {architecture.n_features}); got {X.shape}."
            )
        self.X = X
        self.targets = targets
        self.loss_fn = loss
        self.arch = architecture
        self.alpha = float(alpha)
        self.seed = int(seed)
        self.bn_state = bn_state if bn_state is not None else architecture.initial_bn_state(X.dtype)
        self.draws = int(draws)
        self.dropout_mask = dropout_mask
        self.tracker = tracker
        self.sample_weight = sample_weight
        self._mean_weight = None if sample_weight is None else float(np.mean(sample_weight))
        self.n_samples, self.n_features = X.shape
        self.n_outputs = architecture.n_outputs
        self.n_params = architecture.n_params
        self._grad: Array | None = None

    #: what :func:`gdlab.backends.epoch_runner` may compile (:mod:`gdlab.backends.network_epochs`)
    compiled_kind = "network"

    # ---- pieces ----------------------------------------------------------------------------
    def _rows(self, rows: Rows) -> tuple[Array, Array]:
        if rows is None:
            return self.X, self.targets
        if isinstance(rows, slice):
            return self.X[rows], self.targets[rows]
        return np.take(self.X, rows, axis=0), np.take(self.targets, rows, axis=0)

    def _weights(self, rows: Rows) -> tuple[Array | None, float]:
        """``(weight, factor)``: the batch's weighted mean loss times ``factor`` is its share."""
        if self.sample_weight is None or self._mean_weight is None:
            return None, 1.0
        if rows is None:
            return self.sample_weight, 1.0
        weight = self.sample_weight[rows]
        total = float(np.sum(weight))
        if total == 0.0 or weight.shape[0] == 0:
            return None, 0.0
        return weight, total / (weight.shape[0] * self._mean_weight)

    def _masks(self, n_rows: int) -> list[Array | None] | None:
        p = self.arch.dropout
        if p <= 0:
            return None
        draw = self.draws
        masks: list[Array | None] = []
        rng = None
        for layer, width in enumerate(self.arch.hidden):
            shape = (n_rows, width)
            if self.dropout_mask is not None:
                keep = np.asarray(self.dropout_mask(draw, layer, shape), dtype=self.X.dtype)
            else:
                rng = rng if rng is not None else np.random.default_rng([self.seed, draw])
                keep = (rng.random(shape) >= p).astype(self.X.dtype)
            masks.append(keep * (1.0 / (1.0 - p)))
        return masks

    def _penalty(self, theta: Array) -> float:
        if not self.alpha:
            return 0.0
        return 0.5 * self.alpha * sum(float(np.vdot(w, w)) for w in self.arch.weights(theta))

    def _out(self, z: Array) -> Array:
        return z[:, 0] if self.targets.ndim == 1 else z

    # ---- the objective protocol ------------------------------------------------------------
    def loss(self, theta: Array, rows: Rows = None) -> float:
        """The penalised mean loss in evaluation mode (running statistics, no dropout)."""
        X, y = self._rows(rows)
        weight, factor = self._weights(rows)
        z = self.arch.forward(theta, X, training=False, bn_state=self.bn_state)
        value = factor * float(self.loss_fn.value(y, self._out(z), weight)) if factor else 0.0
        return value + self._penalty(theta)

    def loss_and_grad(self, theta: Array, rows: Rows = None) -> tuple[float, Array]:
        """One training step's penalised mean loss over ``rows`` and its gradient.

        Training mode: batch statistics (and the running ones updated), dropout masks drawn.
        """
        X, y = self._rows(rows)
        cache = Cache()
        masks = self._masks(X.shape[0])
        self.draws += 1
        z = self.arch.forward(
            theta, X, training=True, bn_state=self.bn_state, masks=masks, cache=cache
        )
        weight, factor = self._weights(rows)
        value, delta = self.loss_fn.value_and_gradient(y, self._out(z), weight)
        if factor != 1.0:
            value, delta = factor * value, factor * delta
        if delta.ndim == 1:
            delta = delta[:, None]
        grad = np.empty_like(theta)
        self.arch.backward(theta, delta, cache, grad)
        if self.alpha:
            value += self._penalty(theta)
            for w, g in zip(self.arch.weights(theta), self.arch.weights(grad), strict=True):
                g += self.alpha * w  # (the gradient of alpha / 2 ||W||^2)
        if self.tracker is not None:
            self.tracker.observe(self.arch, cache, grad)
        return float(value), grad

    def predict_raw(self, theta: Array, X: Array) -> Array:
        """The network's raw output on ``X`` in evaluation mode, ``(n_rows, n_outputs)``."""
        return self.arch.forward(theta, X, training=False, bn_state=self.bn_state)

    def lipschitz_constant(self, batch_size: int | None = None) -> float | None:
        """Unknown for a network (the divergence advice then suggests a tenth of the rate)."""
        return None

    def scale_spread(self) -> float:
        """The ratio of the largest to the smallest non-zero feature standard deviation."""
        with np.errstate(all="ignore"):
            spread = np.std(self.X, axis=0)
        spread = spread[np.isfinite(spread) & (spread > 0)]
        return float(spread.max() / spread.min()) if spread.size >= 2 else 1.0
