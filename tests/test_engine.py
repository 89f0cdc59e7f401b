"""The training engine (gdlab.engine.train) against hand-written loops and closed forms.

Everything here uses ``backend="numpy"``, the reference path; the compiled backends are tested
against it elsewhere.
"""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pytest

from gdlab import DivergenceError, losses, optim, schedules
from gdlab._objectives import FunctionObjective, LinearObjective
from gdlab.engine import TrainConfig, init_state, train

NO_PENALTY = losses.get_penalty(None)


def config(**kwargs):
    return TrainConfig(backend="numpy", **kwargs)


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(7)
    X = rng.normal(size=(30, 2))
    y = X @ np.array([1.0, -2.0]) + 0.5 + 0.1 * rng.normal(size=30)
    return X, y


def linear(X, y, **kwargs):
    return LinearObjective(X, y, losses.squared_error, NO_PENALTY, True, **kwargs)


def train_linear(X, y, tx, *, validation=None, callback=None, **settings):
    """``train`` on the mean squared error of two-feature ``(X, y)`` from zero parameters."""
    state = init_state(np.zeros(3), tx)
    return train(
        linear(X, y), tx, state, config(**settings), validation=validation, callback=callback
    )


def manual_sgd(X, y, theta, lr, batch_size, epochs, orders):
    """Plain mini-batch SGD on the mean squared error, written out."""
    theta = theta.copy()
    losses_per_epoch = []
    for epoch in range(epochs):
        order = orders(epoch)
        total = 0.0
        for start in range(0, len(y), batch_size):
            rows = order[start : start + batch_size]
            r = X[rows] @ theta[:2] + theta[2] - y[rows]
            total += np.mean(r**2) * len(rows)
            grad = np.r_[2 * X[rows].T @ r / len(rows), 2 * r.mean()]
            theta = theta - lr * grad
        losses_per_epoch.append(total / len(y))
    return theta, losses_per_epoch


def test_full_batch_on_a_quadratic_follows_the_closed_form():
    """f(x) = x . x: each step multiplies x by (1 - 2 lr)."""
    objective = FunctionObjective(lambda x: float(x @ x), lambda x: 2 * x)
    x0 = np.array([3.0, -4.0])
    lr = 0.1
    tx = optim.sgd(learning_rate=lr)
    result = train(objective, tx, init_state(x0, tx), config(max_epochs=25, record_params=True))
    factors = (1 - 2 * lr) ** np.arange(26)
    np.testing.assert_allclose(result.history.param_path(), factors[:, None] * x0, rtol=1e-13)
    np.testing.assert_allclose(result.history.loss, 25.0 * factors[:25] ** 2, rtol=1e-13)
    np.testing.assert_allclose(result.history.grad_norm, 10.0 * factors[:25], rtol=1e-13)
    assert result.n_epochs == 25 and not result.converged
    assert result.message == "Reached max_iter=25 epochs."


@pytest.mark.parametrize("shuffle", [False, True])
@pytest.mark.parametrize("batch_size", [1, 7, None])
def test_mini_batch_epochs_match_a_hand_written_loop(data, shuffle, batch_size):
    X, y = data
    seed, lr, epochs = 11, 0.05, 4
    tx = optim.sgd(learning_rate=lr)
    theta0 = np.array([0.2, 0.1, -0.3])
    result = train(
        linear(X, y),
        tx,
        init_state(theta0, tx),
        config(batch_size=batch_size, max_epochs=epochs, shuffle=shuffle, seed=seed),
    )

    def orders(epoch):  # the documented order: a permutation drawn from (seed, epoch)
        if not shuffle:
            return np.arange(len(y))
        return np.random.default_rng([seed, epoch]).permutation(len(y))

    expected, expected_losses = manual_sgd(X, y, theta0, lr, batch_size or len(y), epochs, orders)
    np.testing.assert_allclose(result.state.params, expected, rtol=1e-13)
    np.testing.assert_allclose(result.history.loss, expected_losses, rtol=1e-13)
    updates = math.ceil(len(y) / (batch_size or len(y)))
    assert result.history.n_updates == [updates * (e + 1) for e in range(epochs)]
    assert result.history.n_samples_seen == [len(y) * (e + 1) for e in range(epochs)]
    assert result.state.step == updates * epochs and result.state.epoch == epochs


def test_resuming_from_the_state_equals_one_run(data):
    X, y = data
    tx = optim.adam(learning_rate=schedules.inverse_scaling(0.05))
    settings = dict(batch_size=4, shuffle=True, seed=3)
    objective = linear(X, y)
    straight = train(objective, tx, init_state(np.zeros(3), tx), config(max_epochs=6, **settings))
    first = train(objective, tx, init_state(np.zeros(3), tx), config(max_epochs=2, **settings))
    second = train(
        objective, tx, first.state, config(max_epochs=4, **settings), history=first.history
    )
    np.testing.assert_array_equal(second.state.params, straight.state.params)
    for got, want in zip(second.state.opt_state, straight.state.opt_state, strict=True):
        for a, b in zip(got, want, strict=True):
            np.testing.assert_array_equal(a, b)
    assert second.history.loss == straight.history.loss
    assert second.history.learning_rate == straight.history.learning_rate
    assert second.history.n_updates == straight.history.n_updates
    assert first.state.epoch == 2  # the first state is not changed by the second call


def test_learning_rate_is_recorded_at_the_start_of_each_epoch(data):
    X, y = data
    rate = schedules.exponential_decay(0.1, 0.5, transition_steps=8)
    tx = optim.sgd(learning_rate=rate)
    result = train_linear(X, y, tx, batch_size=8, max_epochs=5)
    # 4 updates per epoch: epoch e starts at update 4 e
    np.testing.assert_allclose(result.history.learning_rate, 0.1 * 0.5 ** (4 * np.arange(5) / 8))


def test_record_steps_keeps_every_batch_loss(data):
    X, y = data
    tx = optim.sgd(learning_rate=0.05)
    result = train_linear(X, y, tx, batch_size=8, max_epochs=3, record_steps=True)
    steps = np.array(result.history.step_loss).reshape(3, 4)
    sizes = np.array([8, 8, 8, 6])
    np.testing.assert_allclose(result.history.loss, steps @ sizes / 30, rtol=1e-13)


def test_a_callback_can_stop_training(data):
    X, y = data
    tx = optim.sgd(learning_rate=0.05)
    seen = []

    def callback(record):
        seen.append(record.epoch)
        return record.epoch == 2

    result = train_linear(X, y, tx, max_epochs=50, callback=callback)
    assert seen == [0, 1, 2] and result.n_epochs == 3
    assert result.message == result.history.stop_reason == "Stopped by the callback."


def test_gtol_stops_when_the_gradient_vanishes():
    objective = FunctionObjective(lambda x: float(x @ x), lambda x: 2 * x)
    tx = optim.sgd(learning_rate=0.25)
    result = train(
        objective, tx, init_state(np.array([1.0, 1.0]), tx), config(max_epochs=100, gtol=1e-3)
    )
    # x halves every step: |grad| = 2 sqrt(2) / 2^k <= 1e-3 first at k = 12
    assert result.n_epochs == 12 and result.converged
    assert "gtol" in result.message


def test_tol_patience_rule(data):
    X, y = data
    tx = optim.sgd(learning_rate=0.05)
    result = train_linear(X, y, tx, max_epochs=1000, tol=1e-3, n_iter_no_change=3)
    best, bad, stop = math.inf, 0, None
    for epoch, loss in enumerate(result.history.loss, start=1):
        bad = bad + 1 if loss > best - 1e-3 else 0
        best = min(best, loss)
        if bad == 3:
            stop = epoch
            break
    assert result.n_epochs == stop < 1000 and result.converged


def test_validation_loss_and_restoring_the_best_parameters(data):
    X, y = data
    rng = np.random.default_rng(0)
    X_val = rng.normal(size=(10, 2))
    # validation targets of a model halfway between the start and the training solution, so the
    # validation loss falls, then rises again
    y_val = X_val @ np.array([0.5, -1.0]) + 0.25
    tx = optim.sgd(learning_rate=0.05)
    result = train_linear(
        X,
        y,
        tx,
        validation=linear(X_val, y_val),
        max_epochs=60,
        tol=0.0,
        n_iter_no_change=60,
        record_params=True,
    )
    val = np.array(result.history.val_loss)
    path = result.history.param_path()
    for epoch in range(60):  # the validation loss of the parameters after each epoch
        r = X_val @ path[epoch + 1, :2] + path[epoch + 1, 2] - y_val
        assert val[epoch] == pytest.approx(np.mean(r**2), rel=1e-12)
    best = int(np.argmin(val))
    assert best < 59
    np.testing.assert_array_equal(result.state.params, path[best + 1])


def test_plateau_rule_shrinks_the_updates():
    objective = FunctionObjective(lambda x: float(np.abs(x).sum()), lambda x: np.sign(x))
    tx = optim.sgd(learning_rate=0.3)
    rule = schedules.reduce_on_plateau(factor=0.5, patience=2, threshold=0.01, min_scale=1e-3)
    result = train(
        objective, tx, init_state(np.array([1.0]), tx, rule), config(max_epochs=100, plateau=rule)
    )
    # |x| decreases by the step until it overshoots zero and bounces; each bounce halves the rate
    rates = np.array(result.history.learning_rate)
    scales = set(np.round(rates / 0.3, 12))
    assert scales == {0.5**k for k in range(10)} | {1e-3}  # halved down to the floor, 1e-3
    assert np.all(np.diff(rates) <= 0)
    assert result.converged and "already at its minimum" in result.message
    assert result.history.loss[-1] < 0.3 * 0.5**9


def test_divergence_raises_with_what_was_recorded():
    objective = FunctionObjective(lambda x: float(x @ x), lambda x: 2 * x)
    tx = optim.sgd(learning_rate=1.5)  # x <- -2 x: the loss grows 4 times per step
    with pytest.raises(DivergenceError) as caught:
        train(objective, tx, init_state(np.array([1.0]), tx), config(max_epochs=100))
    error = caught.value
    # the loss 4^k has risen in each of the 10 epochs k = 0..9 and 4^9 > 100 x the first loss
    # (gdlab.divergence.is_exploding), long before it would exceed 1e10 x (at k = 17)
    assert error.epoch == 9 and len(error.history.loss) == 9
    np.testing.assert_allclose(error.history.loss, 4.0 ** np.arange(9))
    assert error.history.stop_reason == "diverged"
    assert "Training diverged in epoch 10" in str(error)
    assert "learning_rate=0.15" in str(error)  # a tenth of the rate when no 2/L is known


def test_divergence_inside_an_epoch_is_caught(data):
    X, y = data
    y = y.copy()
    y[5] = 1e200  # one row overflows the squared error
    tx = optim.sgd(learning_rate=0.01)
    with pytest.raises(DivergenceError, match="non-finite"):
        train_linear(X, y, tx, batch_size=4, max_epochs=3)


def test_verbose_prints_each_epoch(capsys):
    objective = FunctionObjective(lambda x: float(x @ x), lambda x: 2 * x)
    tx = optim.sgd(learning_rate=0.25)
    train(objective, tx, init_state(np.array([1.0]), tx), config(max_epochs=2, verbose=1))
    assert capsys.readouterr().out.splitlines() == [
        "Epoch    1, loss=1, lr=0.25, |grad|=2",
        "Epoch    2, loss=0.25, lr=0.25, |grad|=1",
    ]


def test_the_reference_backend_is_recorded(data):
    X, y = data
    tx = optim.sgd(learning_rate=0.05)
    result = train_linear(X, y, tx, max_epochs=1)
    assert result.history.backend == "numpy"


def test_init_state_copies_the_parameters():
    tx = optim.adam(learning_rate=0.1)
    theta = np.ones(3)
    state = init_state(theta, tx)
    theta[0] = 5.0
    assert state.params.tolist() == [1.0, 1.0, 1.0]
    assert replace(state).params is state.params  # the engine copies before it writes
