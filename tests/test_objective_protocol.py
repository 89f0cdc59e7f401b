"""The Objective protocol: what the engine needs, met by every objective gdlab trains.

Oracle for "the protocol is enough": an objective written from the protocol alone trains by the
engine to the closed form of gradient descent on ``mean_i (x - c_i)^2 / 2``, whose gradient is
``x - mean(c)``: after ``k`` full-batch steps of size ``eta``,
``x_k = mean(c) + (1 - eta)^k (x_0 - mean(c))``.
"""

from __future__ import annotations

import numpy as np

from gdlab import data, losses, optim
from gdlab._objectives import FunctionObjective, LinearObjective
from gdlab.engine import TrainConfig, init_state, train
from gdlab.nn import Architecture
from gdlab.nn.objective import NetworkObjective
from gdlab.objective import Objective, PlansBatches, is_compiled_linear

X = np.array([[0.0, 1.0], [1.0, 0.5], [2.0, -1.0]])
Y = np.array([1.0, 2.0, 0.0])


def _block_objective():
    from gdlab.data.objective import BlockObjective

    source = data.arrays(X, Y, batch_rows=2)
    return BlockObjective(
        source, lambda a, b: (a, b), losses.squared_error, losses.get_penalty(None), True, 1
    )


def test_every_objective_of_gdlab_meets_the_protocol():
    linear = LinearObjective(X, Y, losses.squared_error, losses.get_penalty(None))
    network = NetworkObjective(X, Y, losses.squared_error, Architecture(2, (3,), 1))
    function = FunctionObjective(lambda x: float(x @ x))
    streamed = _block_objective()
    for objective in (linear, network, function, streamed):
        assert isinstance(objective, Objective), type(objective).__name__
    assert isinstance(streamed, PlansBatches)
    assert not isinstance(linear, PlansBatches)
    assert [is_compiled_linear(o) for o in (linear, network, function)] == [True, False, False]


class MeanSquaredDistance:
    """``mean_i (x - c_i)^2 / 2`` over the rows ``c_i``: only the protocol's members."""

    def __init__(self, centres: np.ndarray) -> None:
        self.centres = centres

    @property
    def n_samples(self) -> int:
        return len(self.centres)

    def loss(self, params, rows=None):
        c = self.centres if rows is None else self.centres[rows]
        return float(np.mean(0.5 * (params[0] - c) ** 2))

    def loss_and_grad(self, params, rows=None):
        c = self.centres if rows is None else self.centres[rows]
        return self.loss(params, rows), np.array([params[0] - np.mean(c)])

    def lipschitz_constant(self, batch_size=None):
        return 1.0

    def scale_spread(self):
        return 1.0


def test_an_objective_written_from_the_protocol_trains_to_the_closed_form():
    centres = np.array([1.0, 2.0, 6.0])
    objective = MeanSquaredDistance(centres)
    assert isinstance(objective, Objective)
    tx = optim.sgd(0.25)
    config = TrainConfig(batch_size=None, max_epochs=12, tol=None, backend="auto")
    result = train(objective, tx, init_state(np.array([10.0]), tx), config)
    assert result.history.backend == "numpy"
    expected = 3.0 + 0.75**12 * (10.0 - 3.0)
    np.testing.assert_allclose(result.state.params, [expected], rtol=1e-12)
