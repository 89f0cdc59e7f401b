"""A multi-layer perceptron as one flat parameter vector, with its forward and backward passes.

Every hidden layer is ``Linear -> [BatchNorm1d] -> activation -> [Dropout]``; the output layer is
``Linear`` alone (the loss applies the sigmoid or softmax). All parameters live in one flat vector
``theta`` (so that every optimizer of :mod:`gdlab.optim` trains a network unchanged); each layer's
``W`` (``fan_in x fan_out``, as scikit-learn's ``coefs_``), ``b`` and batch-norm ``gamma``/``beta``
are *views* into it, in the order ``W_1, b_1, [gamma_1, beta_1], W_2, ...``.

Batch norm follows PyTorch's ``BatchNorm1d``: in training the batch mean and the *biased* batch
variance normalise, ``xhat = (z - mean) / sqrt(var + eps)``, ``u = gamma xhat + beta``, and the
running estimates move by ``momentum`` (0.1) towards the batch mean and the *unbiased* batch
variance (``var * B / (B - 1)``); at prediction the running estimates normalise. Dropout is
inverted: in training each activation is kept with probability ``1 - p`` and scaled by
``1 / (1 - p)``; at prediction nothing is dropped.

Backpropagation (``delta`` is the gradient with respect to a layer's pre-activation ``z``)::

    dW = h_in.T @ delta,   db = sum_rows(delta),   d h_in = delta @ W.T
    batch norm: dgamma = sum(du * xhat), dbeta = sum(du), dxhat = du * gamma,
                dz = (B dxhat - sum(dxhat) - xhat sum(dxhat * xhat)) / (B sqrt(var + eps))
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from gdlab.nn.activations import Activation
from gdlab.nn.activations import get as get_activation
from gdlab.nn.init import draw, layer_init

Array = NDArray[np.floating[Any]]

__all__ = ["BN_EPS", "BN_MOMENTUM", "Architecture", "BatchNormState", "Cache"]

BN_EPS = 1e-5
BN_MOMENTUM = 0.1


@dataclass
class BatchNormState:
    """The non-gradient state of a network: batch-norm running statistics, one pair per layer."""

    running_mean: list[Array] = field(default_factory=list)
    running_var: list[Array] = field(default_factory=list)

    def copy(self) -> BatchNormState:
        return BatchNormState(
            [m.copy() for m in self.running_mean], [v.copy() for v in self.running_var]
        )


@dataclass
class Cache:
    """What the forward pass keeps for the backward pass, per hidden layer."""

    inputs: list[Array] = field(default_factory=list)
    pre: list[Array] = field(default_factory=list)
    post: list[Array] = field(default_factory=list)
    xhat: list[Array | None] = field(default_factory=list)
    inv_std: list[Array | None] = field(default_factory=list)
    masks: list[Array | None] = field(default_factory=list)


class Architecture:
    """The shape of a network and the layout of its flat parameter vector.

    Parameters
    ----------
    n_features : int
    hidden : sequence of int
        Units per hidden layer (may be empty: a linear model).
    n_outputs : int
    activation : str
        Activation of the hidden layers (:mod:`gdlab.nn.activations`).
    batch_norm : bool
        Batch normalization after each hidden layer's linear map.
    dropout : float
        Probability of dropping a hidden activation in training (0: no dropout).

    Examples
    --------
    >>> arch = Architecture(3, (4,), 1, "tanh")
    >>> arch.n_params, [w.shape for w in arch.weights(np.arange(arch.n_params, dtype=float))]
    (21, [(3, 4), (4, 1)])
    """

    def __init__(
        self,
        n_features: int,
        hidden: tuple[int, ...] | list[int],
        n_outputs: int,
        activation: str = "relu",
        batch_norm: bool = False,
        dropout: float = 0.0,
    ) -> None:
        self.n_features = int(n_features)
        self.hidden = tuple(int(h) for h in hidden)
        self.n_outputs = int(n_outputs)
        self.activation: Activation = get_activation(activation)
        self.batch_norm = bool(batch_norm)
        self.dropout = float(dropout)
        self.sizes = (self.n_features, *self.hidden, self.n_outputs)
        self.n_layers = len(self.sizes) - 1
        self._slices: list[dict[str, slice]] = []
        offset = 0
        for index in range(self.n_layers):
            fan_in, fan_out = self.sizes[index], self.sizes[index + 1]
            parts = {"W": fan_in * fan_out, "b": fan_out}
            if self.batch_norm and index < self.n_layers - 1:
                parts.update(gamma=fan_out, beta=fan_out)
            layer = {}
            for name, size in parts.items():
                layer[name] = slice(offset, offset + size)
                offset += size
            self._slices.append(layer)
        self.n_params = offset

    # ---- views into theta -----------------------------------------------------------------
    def view(self, theta: Array, layer: int, name: str) -> Array:
        """The view of one parameter block (``"W"`` reshaped to ``(fan_in, fan_out)``)."""
        block = theta[self._slices[layer][name]]
        if name == "W":
            return block.reshape(self.sizes[layer], self.sizes[layer + 1])
        return block

    def weights(self, theta: Array) -> list[Array]:
        return [self.view(theta, i, "W") for i in range(self.n_layers)]

    def biases(self, theta: Array) -> list[Array]:
        return [self.view(theta, i, "b") for i in range(self.n_layers)]

    def weight_mask(self) -> Array:
        """1.0 at the entries of ``theta`` that are weights ``W`` (the ones L2 shrinks)."""
        mask = np.zeros(self.n_params)
        for layer in self._slices:
            mask[layer["W"]] = 1.0
        return mask

    def layer_slices(self) -> list[slice]:
        """Each layer's whole block of ``theta`` (W, b and batch-norm parameters)."""
        return [slice(s["W"].start, max(v.stop for v in s.values())) for s in self._slices]

    def initial_params(
        self, init: str, rng: np.random.Generator, init_scale: float = 0.01, dtype: Any = float
    ) -> Array:
        """A fresh ``theta``: weights from ``init``, biases 0, batch-norm scales 1, shifts 0."""
        theta = np.zeros(self.n_params, dtype=dtype)
        for index in range(self.n_layers):
            name = layer_init(init, self.activation.relu_like, index == self.n_layers - 1)
            fan_in, fan_out = self.sizes[index], self.sizes[index + 1]
            self.view(theta, index, "W")[:] = draw(name, fan_in, fan_out, rng, init_scale, dtype)
            if "gamma" in self._slices[index]:
                self.view(theta, index, "gamma")[:] = 1.0
        return theta

    def pack(self, coefs: list[Array], intercepts: list[Array], theta: Array) -> Array:
        """Write ``coefs``/``intercepts`` (scikit-learn's layout) into a copy of ``theta``."""
        theta = np.array(theta, copy=True)
        for index in range(self.n_layers):
            self.view(theta, index, "W")[:] = coefs[index]
            self.view(theta, index, "b")[:] = intercepts[index]
        return theta

    def initial_bn_state(self, dtype: Any = float) -> BatchNormState:
        if not self.batch_norm:
            return BatchNormState()
        return BatchNormState(
            [np.zeros(h, dtype=dtype) for h in self.hidden],
            [np.ones(h, dtype=dtype) for h in self.hidden],
        )

    # ---- forward and backward -----------------------------------------------------------
    def forward(
        self,
        theta: Array,
        X: Array,
        *,
        training: bool,
        bn_state: BatchNormState | None = None,
        masks: list[Array | None] | None = None,
        cache: Cache | None = None,
    ) -> Array:
        """The raw output ``z`` of the last layer (``(n_rows, n_outputs)``).

        In training (``training=True``) batch norm uses the batch statistics and updates
        ``bn_state``'s running ones (when given), and ``masks[l]`` (already scaled by
        ``1 / (1 - p)``) multiplies hidden layer ``l``'s activations. Otherwise batch norm uses
        the running statistics of ``bn_state`` and nothing is dropped.
        """
        h = X
        act = self.activation
        for index in range(self.n_layers - 1):
            z: Array = h @ self.view(theta, index, "W")
            z += self.view(theta, index, "b")
            xhat = inv_std = None
            if self.batch_norm:
                z, xhat, inv_std = self._batch_norm(theta, index, z, training, bn_state)
            # ReLU in place: its derivative reads u > 0, which is a > 0, so u need not be kept
            a = np.maximum(z, 0.0, out=z) if act.name == "relu" else act.forward(z)
            mask = masks[index] if (training and masks is not None) else None
            if cache is not None:
                cache.inputs.append(h)
                cache.pre.append(z)
                cache.post.append(a)
                cache.xhat.append(xhat)
                cache.inv_std.append(inv_std)
                cache.masks.append(mask)
            h = a * mask if mask is not None else a
        if cache is not None:
            cache.inputs.append(h)
        out = h @ self.view(theta, self.n_layers - 1, "W")
        out += self.view(theta, self.n_layers - 1, "b")
        return out

    def _batch_norm(
        self,
        theta: Array,
        index: int,
        z: Array,
        training: bool,
        bn_state: BatchNormState | None,
    ) -> tuple[Array, Array | None, Array | None]:
        gamma, beta = self.view(theta, index, "gamma"), self.view(theta, index, "beta")
        if training:
            n = z.shape[0]
            mean = z.mean(axis=0)
            centred = z - mean
            var = np.einsum("ij,ij->j", centred, centred) / n
            inv_std = 1.0 / np.sqrt(var + BN_EPS)
            xhat = centred
            xhat *= inv_std
            if bn_state is not None:
                m = BN_MOMENTUM
                unbiased = var * (n / (n - 1)) if n > 1 else var
                bn_state.running_mean[index] = (1 - m) * bn_state.running_mean[index] + m * mean
                bn_state.running_var[index] = (1 - m) * bn_state.running_var[index] + m * unbiased
            return xhat * gamma + beta, xhat, inv_std
        if bn_state is None:
            raise ValueError("Batch norm at prediction needs the running statistics.")
        scale = gamma / np.sqrt(bn_state.running_var[index] + BN_EPS)
        return (z - bn_state.running_mean[index]) * scale + beta, None, None

    def backward(self, theta: Array, delta: Array, cache: Cache, grad: Array) -> None:
        """Fill ``grad`` (shaped like ``theta``) from ``delta = dloss/dz_out`` and the cache."""
        last = self.n_layers - 1
        # Products are written straight into the views of the flat gradient (np.dot with out=
        # calls the same BLAS product; np.matmul with out= would be several times slower), and a
        # hidden layer's bias gradient, the column sums of dz, is the product ones @ dz (one BLAS
        # call, a third of the time of dz.sum(axis=0) on a mini-batch). The output layer keeps
        # delta.sum(axis=0), the linear models' sum: without hidden layers the two train bitwise
        # alike.
        ones = np.ones(delta.shape[0], dtype=delta.dtype)
        _product(cache.inputs[last].T, delta, self.view(grad, last, "W"))
        self.view(grad, last, "b")[:] = delta.sum(axis=0)
        if last == 0:
            return
        dh = delta @ self.view(theta, last, "W").T
        for index in range(last - 1, -1, -1):
            mask = cache.masks[index]
            if mask is not None:
                dh *= mask
            du = self.activation.backward(dh, cache.pre[index], cache.post[index])
            xhat = cache.xhat[index]
            dz: Array
            if xhat is not None:
                inv_std = cache.inv_std[index]
                self.view(grad, index, "gamma")[:] = np.einsum("ij,ij->j", du, xhat)
                self.view(grad, index, "beta")[:] = du.sum(axis=0)
                dxhat = du * self.view(theta, index, "gamma")
                n = dxhat.shape[0]
                dz = dxhat - dxhat.sum(axis=0) / n
                dz -= xhat * (np.einsum("ij,ij->j", dxhat, xhat) / n)
                dz *= inv_std  # type: ignore[arg-type]
            else:
                dz = du
            _product(cache.inputs[index].T, dz, self.view(grad, index, "W"))
            np.dot(ones, dz, out=self.view(grad, index, "b"))
            if index > 0:
                dh = dz @ self.view(theta, index, "W").T


def _product(a: Array, b: Array, out: Array) -> None:
    """``out[...] = a @ b``, in place when ``out`` can take it (C-contiguous, same dtype)."""
    if out.flags.c_contiguous and out.dtype == a.dtype == b.dtype:
        np.dot(a, b, out=out)
    else:
        out[...] = a @ b
