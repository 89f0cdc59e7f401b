"""The one training loop driving a vector of runs (gdlab.engine.train_runs).

Oracle: :func:`gdlab.engine.train` run by run. The per-epoch bookkeeping (records, divergence
test, stopping rules, final check) exists once; with an epoch function that advances each run
by the NumPy reference epoch, every run of the vector path must be bit-identical to its own
``train`` call (results, histories, states and divergence errors alike), and the batched epoch
function (parameters as the columns of one matrix) must agree to rounding.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pytest

from gdlab import DivergenceError, losses, optim, schedules
from gdlab._objectives import LinearObjective
from gdlab.backends.batched import BatchedEpochs, NotBatchable
from gdlab.backends.reference import run_epoch
from gdlab.engine import Run, TrainConfig, init_state, train, train_runs
from gdlab.history import History

NO_PENALTY = losses.get_penalty(None)
#: sgd learning rates whose runs end differently on the data below: the tol rule at different
#: epochs, max_epochs, and (0.6) an exploding loss
RATES = (0.01, 0.05, 0.2, 0.6)


@pytest.fixture(scope="module")
def objective() -> LinearObjective:
    rng = np.random.default_rng(3)
    X = rng.normal(size=(40, 3)) * np.array([1.0, 2.0, 3.0])
    y = X @ np.array([1.0, -2.0, 0.5]) + 0.3 + 0.1 * rng.normal(size=40)
    return LinearObjective(X, y, losses.squared_error, NO_PENALTY, True)


def _config(**settings) -> TrainConfig:
    return TrainConfig(backend="numpy", **settings)


class _OneByOne:
    """An epoch function over a vector of runs: the reference epoch, run after run."""

    def __init__(self, objective: LinearObjective, config: TrainConfig) -> None:
        self.objective, self.config = objective, config

    def __call__(self, runs: Sequence[Run]) -> list[tuple[float, float, bool]]:
        return [
            (*run_epoch(self.objective, run.optimizer, run.state, self.config, run.history), False)
            for run in runs
        ]

    def final_losses(self, runs: Sequence[Run]) -> list[float]:
        return [float(self.objective.loss(run.state.params)) for run in runs]


def _alone(objective, rate, config):
    """One run's own ``train`` call: its result or the divergence it raises."""
    tx = optim.sgd(learning_rate=rate)
    try:
        return train(objective, tx, init_state(np.zeros(4), tx), config), None
    except DivergenceError as error:
        return None, error


def _vector(objective, rates, config, epochs_of=None, on_epoch=None):
    runs = [
        Run(init_state(np.zeros(4), tx), History(), tx, r)
        for r, tx in enumerate(optim.sgd(learning_rate=rate) for rate in rates)
    ]
    epochs = (epochs_of or _OneByOne)(objective, config)
    train_runs(objective, runs, config, epochs, epochs.final_losses, on_epoch=on_epoch)
    return runs


def _history_equal(a: History, b: History) -> None:
    for name in ("epoch", "loss", "val_loss", "learning_rate", "grad_norm", "n_updates"):
        assert getattr(a, name) == getattr(b, name), name
    assert a.n_samples_seen == b.n_samples_seen and a.step_loss == b.step_loss
    assert a.stop_reason == b.stop_reason
    assert len(a.params) == len(b.params)
    for p, q in zip(a.params, b.params, strict=True):
        np.testing.assert_array_equal(p, q)


SETTINGS = [
    {},  # the defaults: full batch, 200 epochs, no tol rule
    {"tol": 1e-3, "n_iter_no_change": 3, "max_epochs": 60},
    {"batch_size": 8, "shuffle": True, "seed": 5, "max_epochs": 15, "record_steps": True},
    {"batch_size": 1, "max_epochs": 4, "record_params": True, "check_final": False},
]


@pytest.mark.parametrize("settings", SETTINGS)
def test_every_run_of_the_vector_path_is_its_own_train_call(objective, settings) -> None:
    config = _config(**settings)
    runs = _vector(objective, RATES, config)
    outcomes = {"result": 0, "error": 0}
    for rate, run in zip(RATES, runs, strict=True):
        result, error = _alone(objective, rate, config)
        assert run.done
        if error is not None:
            outcomes["error"] += 1
            assert run.result is None and run.error is not None
            assert str(run.error) == str(error) and run.error.epoch == error.epoch
            _history_equal(run.error.history, error.history)
            continue
        outcomes["result"] += 1
        assert run.error is None and run.result is not None
        assert run.result.n_epochs == result.n_epochs
        assert run.result.converged == result.converged
        assert run.result.message == result.message
        _history_equal(run.history, result.history)
        for name in ("epoch", "step", "samples_seen", "best_loss", "bad_epochs", "first_loss"):
            assert getattr(run.result.state, name) == getattr(result.state, name), name
        np.testing.assert_array_equal(run.result.state.params, result.state.params)
        np.testing.assert_array_equal(run.result.state.opt_state, result.state.opt_state)
    assert outcomes["error"] >= 1 and outcomes["result"] >= 2  # both ways of ending are covered


def test_one_run_through_the_vector_path_equals_train(objective) -> None:
    """R = 1: the vector path with a single run is the single path, defaults included."""
    config = _config()
    (run,) = _vector(objective, [0.05], config)
    result, error = _alone(objective, 0.05, config)
    assert error is None and run.result is not None
    assert run.result.message == result.message == "Reached max_iter=200 epochs."
    _history_equal(run.history, result.history)
    np.testing.assert_array_equal(run.result.state.params, result.state.params)


def test_on_epoch_reports_each_recorded_loss_in_the_units_of_y(objective) -> None:
    config = _config(tol=1e-3, n_iter_no_change=3, max_epochs=60, loss_scale=4.0)
    shown: list[np.ndarray] = []
    runs = _vector(objective, RATES, config, on_epoch=lambda epoch, losses: shown.append(losses))
    assert len(shown) == max(len(run.history) + (run.error is not None) for run in runs)
    for r, run in enumerate(runs):
        recorded = [float(losses[r]) for losses in shown if math.isfinite(losses[r])]
        assert recorded == [4.0 * loss for loss in run.history.loss]


@pytest.mark.parametrize("settings", [{}, {"batch_size": 8, "shuffle": True, "max_epochs": 20}])
def test_batched_epochs_agree_with_train_run_by_run(objective, settings) -> None:
    """The batched epoch function (runs as matrix columns) through the same bookkeeping."""
    config = _config(tol=1e-4, n_iter_no_change=4, record_steps=True, **settings)

    def batched(objective, config):
        rates = np.array(RATES)
        return BatchedEpochs(objective, optim.sgd(learning_rate=rates), np.zeros((4, 4)), config)

    runs = _vector(objective, RATES, config, epochs_of=batched)
    for rate, run in zip(RATES, runs, strict=True):
        result, error = _alone(objective, rate, config)
        if error is not None:
            assert run.error is not None and run.error.epoch == error.epoch
            continue
        assert run.result is not None and run.result.message == result.message
        assert run.history.n_updates == result.history.n_updates
        np.testing.assert_allclose(run.history.loss, result.history.loss, rtol=1e-12)
        np.testing.assert_allclose(run.history.step_loss, result.history.step_loss, rtol=1e-12)
        np.testing.assert_allclose(run.result.state.params, result.state.params, rtol=1e-10)


def test_a_run_stranded_mid_epoch_is_not_batchable(objective) -> None:
    """A batch loss above the divergence factor that the run's verdict does not call divergent
    (alone, the run would go on from that batch) makes the vector path refuse the runs."""

    class Stranding(_OneByOne):
        def __call__(self, runs):
            return [(loss, math.nan, True) for loss, _, _ in super().__call__(runs)]

    with pytest.raises(NotBatchable):
        _vector(objective, [0.01], _config(max_epochs=2), epochs_of=Stranding)


def test_an_averaged_sweep_is_the_fit_of_each_rate(monkeypatch) -> None:
    """``average=True`` keeps the mean of the iterates in each run's optimizer state, which the
    batched path does not keep: the sweep takes one fit per rate, and equals it (the batched
    path used to return the last iterates instead of their mean)."""
    from gdlab import GDRegressor, _batched_sweep, sweep

    monkeypatch.setattr(_batched_sweep, "BATCH_SECONDS", 0.0)  # batch even this small sweep
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 3))
    y = X @ np.array([1.0, 2.0, 3.0]) + 0.1 * rng.normal(size=200)
    model = GDRegressor(
        optimizer="sgd", batch_size=8, max_iter=5, tol=None, average=True, random_state=0
    )
    result = sweep(model, X, y, values=[0.001, 0.01])
    assert result.backend != "batched"
    for rate, fitted in zip(result.values, result.estimators, strict=True):
        alone = GDRegressor(**{**model.get_params(), "learning_rate": rate}).fit(X, y)
        np.testing.assert_array_equal(fitted.coef_, alone.coef_)
        np.testing.assert_array_equal(fitted.intercept_, alone.intercept_)


# ---- the recorded learning rate is read from the optimizer state -----------------------------


def _rates(objective, tx, **settings):
    config = _config(batch_size=10, max_epochs=6, **settings)
    return train(objective, tx, init_state(np.zeros(4), tx), config).history.learning_rate


def test_a_hand_built_chain_records_the_rates_of_the_named_optimizer(objective) -> None:
    """The rate comes from the state of ``scale_by_learning_rate`` (its step count), not from
    metadata: a hand-built chain records what ``optim.adam`` records, the schedule's values at
    the update counts 0, 4, 8, ... (4 batches per epoch)."""
    schedule = schedules.exponential_decay(0.05, decay_rate=0.5, transition_steps=4)
    named = _rates(objective, optim.adam(learning_rate=schedule))
    built = _rates(
        objective, optim.chain(optim.scale_by_adam(), optim.scale_by_learning_rate(schedule))
    )
    assert named == built == [schedule(4 * epoch) for epoch in range(6)]
    clipped = optim.chain(
        optim.clip_by_global_norm(1.0),
        optim.scale_by_adam(),
        optim.scale_by_learning_rate(schedule),
    )
    assert _rates(objective, clipped) == named


def test_a_transformation_reads_its_rate_from_its_state(objective) -> None:
    """Any transformation whose ``rate`` reads its state is recorded; one without a rate records
    ``None`` whatever its metadata says."""
    inner = optim.sgd(learning_rate=0.02)

    def halving(state):  # the step size of the next update: 0.02 / 2**(updates // 8)
        return 0.02 / 2 ** (state[0][0].count // 8)

    def update(grads, state, params=None):
        updates, inner_state = inner.update(grads, state[0], params)
        return updates / 2 ** (state[0][0].count // 8), (inner_state,)

    custom = optim.GradientTransformation(lambda p: (inner.init(p),), update, rate=halving)
    assert _rates(objective, custom) == [0.02 / 2 ** (4 * epoch // 8) for epoch in range(6)]
    no_rate = optim.GradientTransformation(
        inner.init, inner.update, hyperparams={"learning_rate": 0.02}
    )
    assert _rates(objective, no_rate) == [None] * 6
