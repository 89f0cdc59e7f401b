"""What the training engine needs from an objective: the :class:`Objective` protocol.

The engine (:func:`gdlab.engine.train`) and the back-ends see an objective only through these
members, so anything that has them trains by the same loop: the linear model
(:class:`gdlab._objectives.LinearObjective`), a function
(:class:`~gdlab._objectives.FunctionObjective`, for :func:`gdlab.minimize`), a neural network
(:class:`gdlab.nn.objective.NetworkObjective`) and data streamed in blocks
(:class:`gdlab.data.objective.BlockObjective`).

Two optional abilities have their own protocols: :class:`PlansBatches` (an objective over a data
source plans the blocks of each epoch itself) and :class:`CompiledLinear` (what the compiled
back-end reads from a linear model; it runs an objective whose ``compiled_kind`` is
``"linear"``). This module imports nothing from gdlab, so every layer may use it.

Examples
--------
>>> import numpy as np
>>> from gdlab import losses
>>> from gdlab._objectives import FunctionObjective, LinearObjective
>>> X, y = np.array([[0.0], [1.0]]), np.array([1.0, 3.0])
>>> isinstance(LinearObjective(X, y, losses.squared_error, losses.get_penalty(None)), Objective)
True
>>> isinstance(FunctionObjective(lambda x: float(x @ x)), Objective)
True
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Protocol, TypeGuard, runtime_checkable

import numpy as np
from numpy.typing import NDArray

__all__ = ["CompiledLinear", "Objective", "PlansBatches", "Rows", "is_compiled_linear"]

Array = NDArray[np.floating[Any]]
#: the rows of one update: a slice, an index array, or ``None`` for all of them
Rows = slice | NDArray[np.intp] | None


@runtime_checkable
class Objective(Protocol):
    """A mean loss over ``n_samples`` rows, its gradient, and what divergence advice reads.

    ``loss_and_grad(params, rows)`` is called once per update with the rows of the batch;
    ``loss(params)`` evaluates the returned parameters once more at the end (the final check);
    ``lipschitz_constant`` and ``scale_spread`` feed the advice of a divergence error (a safe
    learning rate ``1 / L`` when ``L`` is known, feature scaling when scales differ).
    """

    @property
    def n_samples(self) -> int:
        """The number of rows one epoch passes over."""
        ...

    def loss(self, params: Array, rows: Rows = None, /) -> float:
        """The mean loss (plus penalty) over ``rows`` (all rows for ``None``)."""
        ...

    def loss_and_grad(self, params: Array, rows: Rows = None, /) -> tuple[float, Array]:
        """The loss over ``rows`` and its gradient with respect to ``params``."""
        ...

    def lipschitz_constant(self, batch_size: int | None = None, /) -> float | None:
        """A bound on the curvature of the loss, or ``None`` when unknown."""
        ...

    def scale_spread(self) -> float:
        """How much the scales of the inputs differ (largest over smallest; 1 when unknown)."""
        ...


@runtime_checkable
class PlansBatches(Objective, Protocol):
    """An objective that plans each epoch's updates itself (data streamed in blocks).

    ``epoch_batches`` yields ``(objective, rows)`` for each update: the objective of the block
    being read and the rows of the batch inside it, in an order fixed by
    ``(seed, epoch, block)``.
    """

    def epoch_batches(
        self, batch_size: int | None, shuffle: bool, seed: int, epoch: int, /
    ) -> Iterator[tuple[Objective, Rows]]:
        """The ``(objective, rows)`` of each update of epoch ``epoch``."""
        ...


class CompiledLinear(Objective, Protocol):
    """What the compiled back-end reads from a linear model ``z = X @ W + b`` (plus a penalty).

    ``compiled_kind`` is ``"linear"``; the back-end checks the rest (dense float ``X``, a
    built-in loss) before it compiles.
    """

    compiled_kind: str
    X: Any
    targets: Any
    loss_fn: Any
    penalty: Any
    fit_intercept: bool
    sample_weight: Any
    n_features: int
    n_outputs: int
    n_params: int


def is_compiled_linear(objective: Objective) -> TypeGuard[CompiledLinear]:
    """Whether ``objective`` declares itself a linear model for the compiled back-end."""
    return getattr(objective, "compiled_kind", None) == "linear"
