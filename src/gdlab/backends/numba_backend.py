"""The compiled path: a whole epoch of a linear model's training in one Numba call.

:class:`CompiledEpochs` is built once per call of :func:`gdlab.engine.train` and then called once
per epoch with the same contract as the engine's NumPy reference (``_run_epoch``): it advances
``state`` (parameters, optimizer state, step and sample counters) and returns the epoch's mean
loss and mean gradient norm, or ``(loss, nan)`` with the state before the divergent batch.

Per epoch, Python does O(n) set-up work only: the row permutation (the same
:func:`gdlab._batching.epoch_order` as the NumPy path, so both see the same batches) and the
learning rate of every update (:func:`gdlab.backends.rates.epoch_rates`). Everything per update
runs in the kernels of :mod:`gdlab.backends._kernels`, which this module imports on first use.
"""

from __future__ import annotations

import math
import os
import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from gdlab._batching import epoch_order, n_batches, resolve_batch_size
from gdlab.backends.plan import (
    Unsupported,
    loss_code,
    optimizer_plan,
    pack_state,
    unpack_state,
)
from gdlab.backends.rates import UnsupportedRate, epoch_rates
from gdlab.objective import CompiledLinear, Objective, is_compiled_linear
from gdlab.optim import GradientTransformation

__all__ = ["BLOCK_BYTES", "CompiledEpochs", "check_supported"]

#: bytes of X per block of rows gathered in permutation order for small batches
BLOCK_BYTES = 1 << 22
#: a full batch is split between threads only when each gets at least this many rows
_MIN_ROWS_PER_THREAD = 4096

Array = NDArray[np.floating[Any]]


def check_supported(
    objective: Objective, optimizer: GradientTransformation, state: Any
) -> CompiledLinear:
    """``objective`` as a linear model the compiled path can run with ``optimizer`` from
    ``state``; raise :class:`Unsupported` (with the reason) otherwise."""
    if not is_compiled_linear(objective):  # gdlab._objectives.LinearObjective
        raise Unsupported(f"the objective is a {type(objective).__name__}, not a linear model")
    on_read = getattr(objective, "standardize_on_read", None)  # without making its copy
    X = objective.X if on_read is None else on_read[0]
    if getattr(X, "format", None) == "csr":  # scipy.sparse: gdlab.backends.sparse_epochs
        X = X.data
    elif not isinstance(X, np.ndarray):
        raise Unsupported(f"X is a {type(X).__name__}; the kernels take dense arrays")
    if X.dtype not in (np.float32, np.float64):
        raise Unsupported(f"X has dtype {X.dtype}; the kernels take float32 or float64")
    loss_code(objective.loss_fn)
    params = np.asarray(state.params)
    if params.dtype != X.dtype or params.shape != (objective.n_params,):
        raise Unsupported(
            f"the parameters ({params.dtype}, shape {params.shape}) do not match X "
            f"({X.dtype}, {objective.n_params} parameters)"
        )
    plan = optimizer_plan(optimizer)
    pack_state(plan, state.opt_state, objective.n_params, X.dtype)
    if callable(plan.learning_rate):
        try:
            epoch_rates(plan.learning_rate, 0, 1)
        except UnsupportedRate as error:
            raise Unsupported(str(error)) from None
    return objective


class CompiledEpochs:
    """Run epochs of ``objective`` with ``optimizer`` in compiled code.

    Parameters
    ----------
    objective : LinearObjective
    optimizer : GradientTransformation
        A named gdlab optimizer, optionally with ``clip_norm``.
    config : TrainConfig
    """

    name = "numba"

    def __init__(
        self, objective: CompiledLinear, optimizer: GradientTransformation, config: Any
    ) -> None:
        from gdlab.backends import _gather_kernels, _kernels

        self._kernels = _kernels
        self._gathers = _gather_kernels
        n = objective.n_samples
        shuffled = bool(config.shuffle) and resolve_batch_size(config.batch_size, n) < n
        # (X as given, mean, scale) of an objective that standardizes rows as they are read
        # (gdlab.estimators._scaled_objective): shuffled batches gather them standardized from X
        # itself
        on_read = getattr(objective, "standardize_on_read", None) if shuffled else None
        X = objective.X if on_read is None else on_read[0]
        self.X = self._features(X)
        self._scaling = None if on_read is None else tuple(on_read[1:])
        dtype = self.X.dtype
        targets = np.asarray(objective.targets)
        targets = targets.reshape(targets.shape[0], -1)
        self.Y = np.ascontiguousarray(targets, dtype=dtype)
        weight = objective.sample_weight
        if weight is None:
            self.SW = np.zeros(0, dtype=dtype)
            mean_weight = 1.0
        else:
            mean_weight = float(np.mean(weight))
            self.SW = np.ascontiguousarray(weight, dtype=dtype)
        self.plan = optimizer_plan(optimizer)
        d = self.X.shape[1]
        self.n_samples = n
        self.batch = resolve_batch_size(config.batch_size, n)
        self.n_steps = n_batches(n, config.batch_size)
        rows_per_block = max(1, BLOCK_BYTES // (d * dtype.itemsize))
        self.block = self.batch * max(1, rows_per_block // self.batch)
        self.threads = _usable_cores()
        self._pool: ThreadPoolExecutor | None = None
        self._pool_size = 0
        self._next_order: tuple[tuple[int, int], Future[Any]] | None = None
        self._end_epoch: int | None = None  # the epoch this run stops before, at the latest
        code, loss_param = loss_code(objective.loss_fn)
        penalty = objective.penalty
        active = penalty.active
        self.ints = np.array(
            [
                self.Y.shape[1],
                int(bool(objective.fit_intercept)),
                code,
                self.plan.code,
                self.batch,
                0,
                0,
                self.block,
            ],
            dtype=np.int64,
        )
        self.floats = np.zeros(16, dtype=np.float64)
        self.floats[:8] = [
            loss_param,
            penalty.l2_weight if active else 0.0,
            penalty.l1_weight if active else 0.0,
            self.plan.clip_norm,
            1.0,
            config.divergence_factor,
            0.0,
            mean_weight,
        ]
        self.floats[8:] = self.plan.hyper
        self.n_params = objective.n_params

    def __call__(
        self, objective: Any, optimizer: Any, state: Any, config: Any, history: Any
    ) -> tuple[float, float]:
        """One epoch: advance ``state`` and return ``(mean loss, mean gradient norm)``."""
        dtype = self.X.dtype
        packed = pack_state(self.plan, state.opt_state, self.n_params, dtype)
        theta = np.array(state.params, dtype=dtype, copy=True)
        rates = epoch_rates(self.plan.learning_rate, packed.rate_count, self.n_steps)
        ints = self.ints.copy()
        ints[5] = packed.block_count
        ints[6] = int(state.first_loss is not None)
        floats = self.floats.copy()
        floats[4] = packed.scale  # the plateau scale, read from the optimizer state
        floats[6] = 0.0 if state.first_loss is None else state.first_loss
        stats = np.zeros(8, dtype=np.float64)
        step_losses = np.empty(self.n_steps, dtype=np.float64)
        run = _Run(theta, packed.s1, packed.s2, packed.s3, ints, floats, rates, stats, step_losses)
        self._epoch(run, config, state.epoch)
        n_updates = int(stats[3])
        state.params = theta
        state.opt_state = unpack_state(self.plan, packed, n_updates)
        if config.record_steps:
            history.step_loss.extend(float(v) for v in step_losses[:n_updates])
        if stats[4]:
            return float(stats[5]), math.nan
        state.step += n_updates
        state.samples_seen += int(stats[1])
        return float(stats[0] / stats[1]), float(stats[2] / n_updates)

    @staticmethod
    def _features(X: Any) -> Any:
        """``X`` as the kernels read it (C-contiguous)."""
        return X if X.flags.c_contiguous else np.ascontiguousarray(X)

    def _epoch(self, run: _Run, config: Any, epoch: int) -> None:
        """Run the updates of one epoch on ``run``'s arrays."""
        if self.batch >= self.n_samples:
            self._full_batch(run)
        elif not config.shuffle:
            self._kernels.run_block(self.X, self.Y, self.SW, 0, self.n_samples, 0, *run.arrays())
        else:
            if self._end_epoch is None:
                self._end_epoch = epoch + config.max_epochs
            self._pipelined(self._order(config.seed, epoch), run, config.seed, epoch)

    def _full_batch(self, run: _Run) -> None:
        """One update from the gradient of all rows, the rows split between the threads."""
        kernels = self._kernels
        n = self.n_samples
        denom, factor = kernels.batch_weight(self.SW, 0, n, run.floats)
        n_threads = max(1, min(self.threads, n // _MIN_ROWS_PER_THREAD))
        partials = np.empty((n_threads, self.n_params), dtype=self.X.dtype)
        bounds = [n * t // n_threads for t in range(n_threads + 1)]

        def share(t: int) -> float:
            return float(
                kernels.partial_gradient(
                    self.X,
                    self.Y,
                    self.SW,
                    bounds[t],
                    bounds[t + 1],
                    denom,
                    factor,
                    run.theta,
                    run.ints,
                    run.floats,
                    partials[t],
                )
            )

        if n_threads == 1:
            total = share(0)
        else:
            pool = self._helpers(n_threads - 1)
            others = [pool.submit(share, t) for t in range(1, n_threads)]
            total = share(0)
            for future in others:
                total += future.result()
        kernels.finish_full_batch(total, denom, factor, partials, *run.arrays())

    def _helpers(self, count: int) -> ThreadPoolExecutor:
        """This run's helper threads (started once, kept for its epochs)."""
        if self._pool is None or self._pool_size < count:
            self._pool = ThreadPoolExecutor(count, thread_name_prefix="gdlab-helper")
            self._pool_size = count
        return self._pool

    def _order(self, seed: int, epoch: int) -> NDArray[np.intp]:
        """The row order of ``epoch`` (:func:`gdlab._batching.epoch_order`), computed during the
        previous epoch when possible."""
        if self._next_order is not None and self._next_order[0] == (seed, epoch):
            order = self._next_order[1].result()
        else:
            order = epoch_order(self.n_samples, True, seed, epoch)
        self._next_order = None
        assert order is not None
        return order.astype(np.intp, copy=False)

    def _pipelined(self, order: NDArray[np.intp], run: _Run, seed: int, epoch: int) -> None:
        """Shuffled batches: rows copied in permutation order, a block at a time, into a buffer
        read in order. While this thread runs the updates of block ``i`` (compiled, without the
        GIL), a second thread copies most of block ``i + 1`` (prefetching rows ahead); this
        thread copies the rest when its updates are done. The split follows the measured
        speeds, so that both threads finish together. Random row access is the bottleneck of
        per-sample SGD; the copy hides it behind the arithmetic, and the two buffers hold two
        blocks, not a copy of ``X``. (Reading this thread's share straight from ``X`` through
        the permutation instead was measured slower: bench/README.md.)

        The second thread first draws the next epoch's permutation (an O(n) shuffle; not in
        the run's last epoch); meanwhile this thread copies whole blocks itself. Shuffled
        batches of an objective standardized on read are gathered standardized
        (:meth:`_gather`).
        """
        kernels = self._kernels
        X, Y, SW = self.X, self.Y, self.SW
        n, d = X.shape
        gather = self._gather
        block = min(self.block, n)
        bx = np.empty((2, block, d), dtype=X.dtype)
        by = np.empty((2, block, Y.shape[1]), dtype=X.dtype)
        bw = np.empty((2, block if SW.shape[0] else 0), dtype=X.dtype)
        pool = self._helpers(1)
        upcoming: Future[Any] | None = None  # no permutation for an epoch that will not run
        if self._end_epoch is None or epoch + 1 < self._end_epoch:
            upcoming = pool.submit(epoch_order, n, True, seed, epoch + 1)
            self._next_order = ((seed, epoch + 1), upcoming)
        gather(X, Y, SW, order, 0, block, bx[0], by[0], bw[0], 0)
        share = 0.75  # of the next block, copied by the helper thread
        step = 0
        for lo in range(0, n, block):
            hi, after = min(lo + block, n), min(lo + 2 * block, n)
            current, other = (lo // block) % 2, 1 - (lo // block) % 2
            busy = upcoming is not None and not upcoming.done()
            split = hi if busy else hi + int(share * (after - hi))
            helper = None
            if split > hi:
                helper = pool.submit(
                    _timed,
                    gather,
                    X,
                    Y,
                    SW,
                    order,
                    hi,
                    split,
                    bx[other],
                    by[other],
                    bw[other],
                    0,
                )
            start = time.perf_counter()
            step = kernels.run_block(
                bx[current],
                by[current],
                bw[current],
                0,
                hi - lo,
                step,
                *run.arrays(),
            )
            computing = time.perf_counter() - start
            if hi < n:
                gather(X, Y, SW, order, split, after, bx[other], by[other], bw[other], split - hi)
            if helper is not None:
                gathering = helper.result() / max(1, split - hi)
                if gathering > 0:
                    share = min(1.0, max(0.5, 0.5 + computing / (hi - lo) / (2 * gathering)))
            if run.stats[4]:
                return

    def _gather(self, *args: Any) -> None:
        """The kernel ``gather`` (rows as they are in ``X``) or ``gather_scaled`` (standardized
        as they are read)."""
        if self._scaling is None:
            self._gathers.gather(*args)
        else:
            self._gathers.gather_scaled(*args, *self._scaling)


def _timed(function: Any, *args: Any) -> float:
    """Call ``function(*args)``; return the seconds it took."""
    start = time.perf_counter()
    function(*args)
    return time.perf_counter() - start


@dataclass
class _Run:
    """The arrays one epoch's kernels read and write."""

    theta: Array
    s1: Array
    s2: Array
    s3: Array
    ints: NDArray[np.int64]
    floats: NDArray[np.float64]
    rates: NDArray[np.float64]
    stats: NDArray[np.float64]
    losses: NDArray[np.float64]

    def arrays(self) -> tuple[Any, ...]:
        return (
            self.theta,
            self.s1,
            self.s2,
            self.s3,
            self.ints,
            self.floats,
            self.rates,
            self.stats,
            self.losses,
        )


def _usable_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1
