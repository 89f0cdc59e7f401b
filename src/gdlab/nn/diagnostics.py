"""Per-layer numbers of a network in training, gathered epoch by epoch.

For every epoch and every layer (hidden layers first, the output layer last):

``grad_norm``
    The mean over the epoch's updates of the Euclidean norm of the layer's gradient (``W``, ``b``
    and batch-norm parameters together).
``weight_norm``
    The Frobenius norm of ``W`` at the end of the epoch.
``update_ratio``
    ``||W_end - W_start|| / ||W_start||`` over the epoch: how much the epoch moved the weights
    relative to their size (about 1e-3 per update is the usual healthy rate).

and for every hidden layer (on the training batches, before dropout):

``activation_mean``, ``activation_std``
    Mean and standard deviation of the layer's activations over all rows of the epoch.
``saturated``
    For ReLU: the fraction of *dead* units (0 for every row of the epoch). For sigmoid and tanh:
    the fraction of activations in saturation (``|tanh| > 0.99``, ``sigmoid < 0.01`` or
    ``> 0.99``) where the derivative has all but vanished. 0 for leaky ReLU and the identity.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Self

import numpy as np
from numpy.typing import NDArray

from gdlab.history import History
from gdlab.nn.network import Architecture, Cache

Array = NDArray[np.floating[Any]]

__all__ = ["LAYER_METRICS", "LayerTracker", "NetworkHistory"]

LAYER_METRICS = (
    "grad_norm",
    "weight_norm",
    "update_ratio",
    "activation_mean",
    "activation_std",
    "saturated",
)


class LayerTracker:
    """Accumulates per-layer numbers over an epoch's updates; :meth:`finish` closes an epoch."""

    def __init__(self, arch: Architecture, theta: Array) -> None:
        self.arch = arch
        self._starts = np.array([block.start for block in arch.layer_slices()])
        self._start = [w.copy() for w in arch.weights(theta)]
        self._reset()

    def _reset(self) -> None:
        n_hidden = self.arch.n_layers - 1
        self._grad = np.zeros(self.arch.n_layers)
        self._updates = 0
        self._sum = np.zeros(n_hidden)
        self._squares = np.zeros(n_hidden)
        self._saturated = np.zeros(n_hidden)
        self._count = np.zeros(n_hidden)
        self._alive: list[NDArray[np.bool_] | None] = [None] * n_hidden

    def observe(self, arch: Architecture, cache: Cache, grad: Array) -> None:
        """Add one update's gradient and activations."""
        self._grad += np.sqrt(np.add.reduceat(grad * grad, self._starts))
        self._updates += 1
        act = arch.activation
        ones = np.ones(cache.post[0].shape[0] if cache.post else 0)
        for index, a in enumerate(cache.post):
            columns = ones @ a  # the column sums, by one BLAS call (faster than a.sum(axis=0))
            self._sum[index] += float(columns.sum())
            self._squares[index] += float(np.vdot(a, a))
            self._count[index] += a.size
            if act.name == "relu":  # a >= 0: a unit is active on some row iff its column sum > 0
                alive = columns > 0
                previous = self._alive[index]
                self._alive[index] = alive if previous is None else previous | alive
            elif act.name in ("sigmoid", "tanh"):
                self._saturated[index] += float(np.count_nonzero(act.saturated(a)))

    def add(self, grad_norms: Array, updates: int, activations: Array, alive: Array) -> None:
        """Add what a compiled epoch gathered (:mod:`gdlab.backends._mlp_kernels`).

        ``grad_norms[l]`` is the sum over ``updates`` updates of layer ``l``'s gradient norm;
        ``activations[l] = [sum, sum of squares, count, saturated count]`` of hidden layer ``l``;
        ``alive`` holds 1 for each hidden unit (all layers in turn) positive on some row.
        """
        self._grad += grad_norms
        self._updates += updates
        self._sum += activations[:, 0]
        self._squares += activations[:, 1]
        self._count += activations[:, 2]
        if updates and self.arch.activation.name == "relu":
            bounds = np.cumsum((0, *self.arch.hidden))
            for index in range(len(self._alive)):
                units = alive[bounds[index] : bounds[index + 1]] > 0
                previous = self._alive[index]
                self._alive[index] = units if previous is None else previous | units
        elif self.arch.activation.name in ("sigmoid", "tanh"):
            self._saturated += activations[:, 3]

    def finish(self, theta: Array) -> dict[str, list[float]]:
        """The epoch's numbers per layer; starts the next epoch at ``theta``."""
        weights = self.arch.weights(theta)
        norms = [float(np.linalg.norm(w)) for w in weights]
        ratios = []
        for w, start in zip(weights, self._start, strict=True):
            size = float(np.linalg.norm(start))
            change = float(np.linalg.norm(w - start))
            ratios.append(change / size if size > 0 else (0.0 if change == 0 else float("inf")))
        count = np.maximum(self._count, 1)
        mean = self._sum / count
        std = np.sqrt(np.maximum(self._squares / count - mean * mean, 0.0))
        if self.arch.activation.name == "relu":
            saturated = [
                0.0 if alive is None else float(1.0 - np.mean(alive)) for alive in self._alive
            ]
        else:
            saturated = (self._saturated / count).tolist()
        record = {
            "grad_norm": (self._grad / max(self._updates, 1)).tolist(),
            "weight_norm": norms,
            "update_ratio": ratios,
            "activation_mean": mean.tolist(),
            "activation_std": std.tolist(),
            "saturated": saturated,
        }
        self._start = [w.copy() for w in weights]
        self._reset()
        return record


@dataclass
class NetworkHistory(History):
    """A :class:`~gdlab.history.History` with per-layer numbers of every epoch.

    ``layers[metric][epoch][layer]`` for each metric of :data:`LAYER_METRICS` (activation
    metrics have one entry per hidden layer, the others one per layer).

    Examples
    --------
    >>> h = NetworkHistory()
    >>> h.layers
    {}
    """

    layers: dict[str, list[list[float]]] = field(default_factory=dict)

    def add_layers(self, record: dict[str, list[float]]) -> None:
        """Append one epoch's per-layer numbers."""
        for name, values in record.items():
            self.layers.setdefault(name, []).append(list(values))

    def to_dict(self, *, params_as_array: bool = False) -> dict[str, Any]:
        """:meth:`History.to_dict` with ``"layers"``: the per-layer numbers, lists of lists."""
        data = super().to_dict(params_as_array=params_as_array)
        data["layers"] = {name: [list(row) for row in rows] for name, rows in self.layers.items()}
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Self:
        """Rebuild a network's history from :meth:`to_dict`'s output, checked (a ``ValueError``
        names the entry that is wrong).

        Examples
        --------
        >>> h = NetworkHistory(loss=[1.0], epoch=[0], val_loss=[None], learning_rate=[0.1],
        ...                    grad_norm=[2.0], n_updates=[4], n_samples_seen=[40])
        >>> h.add_layers({"grad_norm": [0.5, 1.5]})
        >>> NetworkHistory.from_dict(h.to_dict()).layer_curve("grad_norm", 1)
        [1.5]
        """
        history = super().from_dict(data)
        layers = data.get("layers", {})
        if not isinstance(layers, dict) or set(layers) - set(LAYER_METRICS):
            raise ValueError(
                f"The per-layer history should be a dict of the metrics {list(LAYER_METRICS)}."
            )
        for metric, rows in layers.items():
            if not isinstance(rows, list) or len(rows) != len(history.loss):
                raise ValueError(
                    f"The per-layer history of {metric} should have one row per epoch."
                )
            for row in rows:
                if not isinstance(row, list) or not all(
                    isinstance(v, int | float) and not isinstance(v, bool) for v in row
                ):
                    raise ValueError(f"The per-layer history of {metric} should hold numbers.")
            history.layers[metric] = [[float(v) for v in row] for row in rows]
        return history

    def layer_curve(self, metric: str, layer: int) -> list[float]:
        """One layer's ``metric`` over the epochs."""
        return [row[layer] for row in self.layers.get(metric, [])]
