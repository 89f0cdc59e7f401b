"""Implementations of the training epoch, chosen per call (never a global setting).

- ``"numpy"``: the reference, :func:`gdlab.backends.reference.run_epoch`; runs anything (any
  objective, any optimizer chain, a schedule that returns one rate per run).
- ``"numba"``: whole epochs of a linear model (:class:`~gdlab._objectives.LinearObjective`) with
  a named optimizer in compiled code (:mod:`gdlab.backends.numba_backend`), stochastic, mini-batch
  and full batch, every loss, penalty, schedule, clipping and sample weights; on dense arrays or
  scipy.sparse CSR features (:mod:`gdlab.backends.sparse_epochs`).
  For a network (:class:`~gdlab.nn.NetworkObjective`), whole epochs of forward, backward and
  update (:mod:`gdlab.backends.network_epochs`, which also decides its ``"auto"``).
- ``"auto"``: the compiled path when Numba is installed, the run is supported, and the work is
  large enough for compiling to pay (:func:`worth_compiling`); the NumPy path otherwise.
- ``"batched"`` (not a ``backend=`` choice): many runs of one linear model trained together as
  the columns of one matrix (:class:`gdlab.backends.batched.BatchedEpochs`), the epoch function
  of the batched learning-rate sweep (:func:`gdlab.engine.train_runs`).

The engine calls :func:`epoch_runner` once per :func:`~gdlab.engine.train` call and records the
choice in ``history.backend``. Importing this package does not import Numba.

Examples
--------
>>> import numpy as np
>>> from gdlab import GDRegressor
>>> X = np.random.default_rng(0).normal(size=(50, 2)); y = X @ [1.0, 2.0]
>>> GDRegressor(backend="numpy", max_iter=5, tol=None).fit(X, y).history_.backend
'numpy'
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable
from typing import Any

from gdlab._batching import n_batches
from gdlab.backends.plan import Unsupported
from gdlab.objective import Objective
from gdlab.optim import GradientTransformation

__all__ = [
    "BACKENDS",
    "Unsupported",
    "epoch_runner",
    "numba_available",
    "worth_compiling",
]

BACKENDS = ("auto", "numpy", "numba")

#: estimated NumPy seconds of a fit above which ``"auto"`` compiles
AUTO_SECONDS = 0.5
#: estimated NumPy seconds of one epoch above which ``"auto"`` compiles even for one epoch
AUTO_EPOCH_SECONDS = 0.02
#: rough NumPy cost model: seconds per update (Python overhead) and per element of X touched
_NUMPY_STEP_SECONDS = 40e-6
_NUMPY_ELEMENT_SECONDS = 2e-9

EpochFunction = Callable[..., tuple[float, float]]


def numba_available() -> bool:
    """Whether Numba can be imported (checked without importing it)."""
    return importlib.util.find_spec("numba") is not None


def worth_compiling(objective: Objective, config: Any) -> bool:
    """Whether the compiled path is expected to beat NumPy on this fit.

    The NumPy path costs about 40 microseconds of Python per update plus 2 ns per element of
    ``X`` per epoch; compiling pays when that exceeds :data:`AUTO_SECONDS` over ``max_epochs``
    epochs, or :data:`AUTO_EPOCH_SECONDS` in a single epoch (large data: one pass over ``X``
    instead of two plus copies).

    Examples
    --------
    >>> from types import SimpleNamespace as NS
    >>> small = NS(n_samples=100, n_features=1, n_outputs=1)
    >>> worth_compiling(small, NS(batch_size=None, max_epochs=200))
    False
    >>> worth_compiling(small, NS(batch_size=1, max_epochs=200))
    True
    """
    # a function objective (gdlab.minimize) has no features: one row, one input, one output
    n = objective.n_samples
    d, k = getattr(objective, "n_features", 1), getattr(objective, "n_outputs", 1)
    steps = n_batches(n, config.batch_size)
    # sparse: the stored values; an objective that standardizes on read keeps X as given in
    # raw_X (reading its X would make the standardized copy it exists to avoid)
    elements = getattr(_features(objective), "nnz", n * d)
    epoch = steps * _NUMPY_STEP_SECONDS + elements * k * _NUMPY_ELEMENT_SECONDS
    return epoch * config.max_epochs >= AUTO_SECONDS or epoch >= AUTO_EPOCH_SECONDS


def epoch_runner(
    objective: Objective,
    optimizer: GradientTransformation,
    state: Any,
    config: Any,
    reference: EpochFunction,
) -> tuple[EpochFunction, str]:
    """The epoch function for this run and its backend name.

    Parameters
    ----------
    objective, optimizer, state, config
        As passed to :func:`gdlab.engine.train`; ``config.backend`` is the request.
    reference : callable
        The NumPy reference epoch, returned for ``"numpy"`` and as the fallback of ``"auto"``.

    Raises
    ------
    ValueError
        For an unknown backend name, or ``"numba"`` on a run the kernels do not support.
    ImportError
        For ``"numba"`` when Numba is not installed.
    """
    requested = getattr(config, "backend", "auto")
    if requested not in BACKENDS:
        raise ValueError(
            f"The 'backend' parameter must be one of {', '.join(repr(b) for b in BACKENDS)}. "
            f"Got {requested!r} instead."
        )
    supplied = getattr(getattr(objective, "source", None), "epoch_function", None)
    if supplied is not None and requested != "numba":  # a Dask source runs on its partitions
        own = supplied(objective, config, reference)
        if own is not None:
            return own, own.name
    if requested == "numpy":
        return reference, "numpy"
    network = getattr(objective, "compiled_kind", None) == "network"
    if network:
        from gdlab.backends.network_epochs import worth_compiling_network

        worth = worth_compiling_network(objective)
    else:
        worth = worth_compiling(objective, config)
    if requested == "auto" and not (numba_available() and worth):
        return reference, "numpy"
    if not numba_available():
        raise ImportError(
            "backend='numba' needs Numba, which is not installed: pip install 'gdlab[speed]' "
            "(or use backend='auto' or 'numpy')."
        )
    try:
        epochs = _compiled_epochs(objective, optimizer, state, config, network)
    except Unsupported as error:
        if requested == "auto":
            return reference, "numpy"
        raise ValueError(
            f"backend='numba' cannot run this fit: {error}. Use backend='numpy' (or 'auto')."
        ) from None
    return epochs, "numba"


def _compiled_epochs(
    objective: Objective, optimizer: Any, state: Any, config: Any, network: bool
) -> Any:
    """The compiled epoch function for a network, or a linear model on dense or CSR features;
    :class:`Unsupported` when the kernels cannot run it."""
    if network:
        from gdlab.backends.network_epochs import compiled_network_epochs

        return compiled_network_epochs(objective, optimizer, state, config)
    from gdlab.backends.numba_backend import CompiledEpochs, check_supported

    linear = check_supported(objective, optimizer, state)
    if getattr(_features(linear), "format", None) == "csr":
        from gdlab.backends.sparse_epochs import SparseCompiledEpochs

        return SparseCompiledEpochs(linear, optimizer, config)
    return CompiledEpochs(linear, optimizer, config)


def _features(objective: Any) -> Any:
    """The feature matrix as given: an objective that standardizes rows as it reads them keeps it
    in ``raw_X`` (reading its ``X`` would make the standardized copy it exists to avoid)."""
    features = getattr(objective, "raw_X", None)
    return getattr(objective, "X", None) if features is None else features
