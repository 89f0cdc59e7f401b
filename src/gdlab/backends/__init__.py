"""Implementations of the training epoch, chosen per call (never a global setting).

- ``"numpy"``: the reference, :func:`gdlab.engine._run_epoch`; runs anything (any objective, any
  optimizer chain, a schedule that returns one rate per run).
- ``"numba"``: whole epochs of a linear model (:class:`~gdlab.objectives.LinearObjective`) with
  a named optimizer in compiled code (:mod:`gdlab.backends.numba_backend`), stochastic, mini-batch
  and full batch, every loss, penalty, schedule, clipping and sample weights.
  For a network (:class:`~gdlab.nn.NetworkObjective`), whole epochs of forward, backward and
  update (:mod:`gdlab.nn._compiled`, which also decides its ``"auto"``).
- ``"auto"``: the compiled path when Numba is installed, the run is supported, and the work is
  large enough for compiling to pay (:func:`worth_compiling`); the NumPy path otherwise.

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

from gdlab.backends.plan import Unsupported
from gdlab.batching import n_batches

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


def worth_compiling(objective: Any, config: Any) -> bool:
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
    n, d, k = objective.n_samples, objective.n_features, objective.n_outputs
    steps = n_batches(n, config.batch_size)
    epoch = steps * _NUMPY_STEP_SECONDS + n * d * k * _NUMPY_ELEMENT_SECONDS
    return epoch * config.max_epochs >= AUTO_SECONDS or epoch >= AUTO_EPOCH_SECONDS


def epoch_runner(
    objective: Any, optimizer: Any, state: Any, config: Any, reference: EpochFunction
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
    if requested == "numpy":
        return reference, "numpy"
    if getattr(objective, "compiled_kind", None) == "network":
        from gdlab.nn._compiled import network_runner

        return network_runner(objective, optimizer, state, config, reference, requested)
    if requested == "auto" and not (numba_available() and worth_compiling(objective, config)):
        return reference, "numpy"
    if not numba_available():
        raise ImportError(
            "backend='numba' needs Numba, which is not installed: pip install 'gdlab[speed]' "
            "(or use backend='auto' or 'numpy')."
        )
    from gdlab.backends.numba_backend import CompiledEpochs, check_supported

    try:
        check_supported(objective, optimizer, state)
    except Unsupported as error:
        if requested == "auto":
            return reference, "numpy"
        raise ValueError(
            f"backend='numba' cannot run this fit: {error}. Use backend='numpy' (or 'auto')."
        ) from None
    return CompiledEpochs(objective, optimizer, config), "numba"
