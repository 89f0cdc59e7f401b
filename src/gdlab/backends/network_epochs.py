"""The compiled epoch of a network: one Numba call per epoch instead of Python per batch.

:func:`compiled_network_epochs` is what :func:`gdlab.backends.epoch_runner` returns for a
:class:`~gdlab.nn.NetworkObjective`. :class:`CompiledNetworkEpochs` has the contract of the
engine's NumPy epoch (``_run_epoch``): it advances ``state`` and returns the epoch's mean loss and
mean gradient norm, or ``(loss, nan)`` with the state before a divergent batch; the engine keeps
its records, divergence rule and stopping rules. The kernel (:mod:`gdlab.backends._mlp_kernels`)
runs forward, backward, the L2 term, the per-layer diagnostics and the optimizer update of every
batch with ``np.dot`` on preallocated buffers; it agrees with the NumPy path to rounding
(``tests/test_mlp_compiled.py``: 1e-12 per optimizer, activation and loss).

Covered: at least one hidden layer, any activation, the MLPs' losses (squared error, log-loss,
softmax), every named optimizer (with clipping, schedules and the plateau rule), float64, no
sample weights, no batch norm, no dropout. Anything else runs the NumPy path. ``"auto"`` compiles
when a run is large enough for it to pay (:data:`AUTO_WORK`); the choice depends on the data and
the architecture only, never on the number of epochs, so that a fit, its warm-started halves and
its ``partial_fit`` epochs take the same path.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from gdlab._batching import n_batches, resolve_batch_size, update_order
from gdlab.backends.plan import (
    Unsupported,
    loss_code,
    optimizer_plan,
    pack_state,
    unpack_state,
)
from gdlab.backends.rates import UnsupportedRate, epoch_rates

__all__ = [
    "AUTO_WORK",
    "CompiledNetworkEpochs",
    "check_supported",
    "compiled_network_epochs",
    "worth_compiling_network",
]

#: rows x parameters of the training set above which ``"auto"`` compiles a network's epochs
AUTO_WORK = 2**22
#: the losses of the MLPs (kernel codes of :data:`gdlab.backends.plan.LOSS_CODES`)
_LOSSES = {"squared_error": 0, "log_loss": 2, "softmax": 3}


def check_supported(objective: Any, optimizer: Any, state: Any) -> None:
    """Raise :class:`Unsupported` (with the reason) unless the kernel can run this network."""
    arch = objective.arch
    if arch.n_layers < 2:
        raise Unsupported("a network without hidden layers trains as the linear model does")
    if arch.batch_norm or arch.dropout > 0:
        raise Unsupported("batch norm and dropout need the NumPy path")
    if objective.sample_weight is not None:
        raise Unsupported("sample weights need the NumPy path")
    X, targets = objective.X, objective.targets
    if not (isinstance(X, np.ndarray) and X.dtype == np.float64):
        raise Unsupported("the kernel takes float64 arrays")
    if not (isinstance(targets, np.ndarray) and targets.dtype == np.float64):
        raise Unsupported("the kernel takes float64 targets")
    if getattr(objective.loss_fn, "name", None) not in _LOSSES:
        raise Unsupported(f"the loss {objective.loss_fn!r} is not one of the MLPs' losses")
    loss_code(objective.loss_fn)
    params = np.asarray(state.params)
    if params.dtype != np.float64 or params.shape != (objective.n_params,):
        raise Unsupported("the parameters do not match the network")
    plan = optimizer_plan(optimizer)
    pack_state(plan, state.opt_state, objective.n_params, X.dtype)
    if callable(plan.learning_rate):
        try:
            epoch_rates(plan.learning_rate, 0, 1)
        except UnsupportedRate as error:
            raise Unsupported(str(error)) from None


def worth_compiling_network(objective: Any) -> bool:
    """Whether ``backend="auto"`` compiles this network: rows x parameters of at least
    :data:`AUTO_WORK` (whatever the epochs, so a fit, its warm-started halves and its
    ``partial_fit`` epochs take the same path)."""
    return bool(objective.n_samples * objective.n_params >= AUTO_WORK)


def compiled_network_epochs(
    objective: Any, optimizer: Any, state: Any, config: Any
) -> CompiledNetworkEpochs:
    """The compiled epoch function of this network; :class:`Unsupported` (with the reason)
    when the kernel cannot run it."""
    if config.gtol is not None:
        raise Unsupported("a network with gtol needs the NumPy path")
    check_supported(objective, optimizer, state)
    return CompiledNetworkEpochs(objective, optimizer, config)


class CompiledNetworkEpochs:
    """Run epochs of a :class:`~gdlab.nn.NetworkObjective` in compiled code.

    Parameters
    ----------
    objective : NetworkObjective
    optimizer : GradientTransformation
        A named gdlab optimizer, optionally with ``clip_norm``.
    config : TrainConfig
    """

    name = "numba"

    def __init__(self, objective: Any, optimizer: Any, config: Any) -> None:
        from gdlab.backends import _mlp_kernels

        self._kernel = _mlp_kernels.run_epoch
        arch = objective.arch
        self.X = np.ascontiguousarray(objective.X)
        targets = np.asarray(objective.targets)
        self.Y = np.ascontiguousarray(targets.reshape(targets.shape[0], -1))
        self.plan = optimizer_plan(optimizer)
        n = self.X.shape[0]
        self.n_samples = n
        self.batch = resolve_batch_size(config.batch_size, n)
        self.n_steps = n_batches(n, config.batch_size)
        self.sizes = np.array(arch.sizes, dtype=np.int64)
        slices = [arch._slices[i] for i in range(arch.n_layers)]
        self.w_off = np.array([s["W"].start for s in slices], dtype=np.int64)
        self.b_off = np.array([s["b"].start for s in slices], dtype=np.int64)
        self.codes = np.array(
            [_mlp_kernels.ACTIVATION_CODES[arch.activation.name], _LOSSES[objective.loss_fn.name]],
            dtype=np.int64,
        )
        self.params = np.array([0.0, objective.alpha])
        # ints and floats in the layout of gdlab.backends._kernels (penalty there off: the L2
        # term of a network, on its weights only, is added by the network kernel)
        self.ints = np.array([arch.n_outputs, 1, 0, self.plan.code, self.batch, 0, 0, 0])
        self.floats = np.zeros(16, dtype=np.float64)
        self.floats[3] = self.plan.clip_norm
        self.floats[5] = config.divergence_factor
        self.floats[7] = 1.0
        self.floats[8:] = self.plan.hyper
        b, k, widths = self.batch, arch.n_outputs, arch.hidden
        self.buffers = (
            np.empty(b * sum(widths)),
            np.empty(2 * b * k),
            np.empty(2 * b * max(widths)),
            np.empty((b, self.X.shape[1])),
            np.empty((b, self.Y.shape[1])),
        )
        self.n_params = objective.n_params
        self.n_hidden_units = sum(widths)

    def __call__(
        self, objective: Any, optimizer: Any, state: Any, config: Any, history: Any
    ) -> tuple[float, float]:
        """One epoch: advance ``state`` and return ``(mean loss, mean gradient norm)``."""
        packed = pack_state(self.plan, state.opt_state, self.n_params, self.X.dtype)
        theta = np.array(state.params, dtype=np.float64, copy=True)
        rates = epoch_rates(self.plan.learning_rate, packed.rate_count, self.n_steps)
        ints = self.ints.copy()
        ints[5] = packed.block_count
        ints[6] = int(state.first_loss is not None)
        floats = self.floats.copy()
        floats[4] = state.plateau_state.scale if state.plateau_state is not None else 1.0
        floats[6] = 0.0 if state.first_loss is None else state.first_loss
        stats = np.zeros(8, dtype=np.float64)
        step_losses = np.empty(self.n_steps, dtype=np.float64)
        order = update_order(
            self.n_samples, config.batch_size, config.shuffle, config.seed, state.epoch
        )
        order = np.zeros(0, dtype=np.intp) if order is None else order.astype(np.intp, copy=False)
        diag_grad = np.zeros(len(self.sizes) - 1)
        diag_act = np.zeros((len(self.sizes) - 2, 4))
        alive = np.zeros(self.n_hidden_units)
        attempted = self._kernel(
            self.X,
            self.Y,
            order,
            self.batch,
            self.sizes,
            self.w_off,
            self.b_off,
            self.codes,
            self.params,
            theta,
            packed.s1,
            packed.s2,
            packed.s3,
            ints,
            floats,
            rates,
            stats,
            step_losses,
            *self.buffers,
            diag_grad,
            diag_act,
            alive,
        )
        objective.draws += int(attempted)
        n_updates = int(stats[3])
        if objective.tracker is not None:
            objective.tracker.add(diag_grad, int(attempted), diag_act, alive)
        state.params = theta
        state.opt_state = unpack_state(self.plan, packed, n_updates)
        if config.record_steps:
            history.step_loss.extend(float(v) for v in step_losses[:n_updates])
        if stats[4]:
            return float(stats[5]), math.nan
        state.step += n_updates
        state.samples_seen += int(stats[1])
        return float(stats[0] / stats[1]), float(stats[2] / n_updates)
