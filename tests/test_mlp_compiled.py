"""The compiled epoch of a network (gdlab.backends.network_epochs) against the NumPy reference path.

Every case trains the same network from the same start with both back-ends through the one
engine and compares everything the engine and the estimator keep: parameters, optimizer state,
losses, gradient norms, per-step losses, the per-layer diagnostics of ``history_.layers`` and the
dropout stream's position; agreement to 1e-12 (both do the same arithmetic; BLAS products and
sums may round in another order).
"""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("numba")

from gdlab import losses
from gdlab.backends import network_epochs as _compiled
from gdlab.engine import TrainConfig, init_state, train
from gdlab.estimators._builders import (
    build_optimizer,
    build_plateau,
    build_schedule,
)
from gdlab.estimators._mlp import MLPClassifier, MLPRegressor
from gdlab.exceptions import DivergenceError
from gdlab.nn import Architecture, NetworkObjective
from gdlab.nn.diagnostics import LayerTracker, NetworkHistory

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
TOL = 1e-12


def _data(task: str, n: int = 150, d: int = 5):
    rng = np.random.default_rng(7)
    X = rng.normal(size=(n, d))
    if task == "regression":
        return X, np.tanh(X[:, 0]) + X[:, 1] * X[:, 2] + 0.1 * rng.normal(size=n), "squared_error"
    if task == "two_outputs":
        return X, np.column_stack([np.sin(X[:, 0]), X[:, 1] ** 2]), "squared_error"
    if task == "binary":
        return X, (X[:, 0] * X[:, 1] > 0).astype(float), "log_loss"
    labels = (X[:, 0] > 0).astype(int) + (X[:, 1] > 0.5).astype(int)
    return X, np.eye(3)[labels], "softmax"


def _train(backend, X, targets, loss, arch, optimizer, config, theta0, alpha=1e-3, epochs=None):
    objective = NetworkObjective(
        X, targets, loss, arch, alpha=alpha, tracker=LayerTracker(arch, theta0)
    )
    history = NetworkHistory()
    state = init_state(theta0, optimizer, config.plateau)

    def end(train_state, _):
        history.add_layers(objective.tracker.finish(train_state.params))

    result = train(
        objective,
        optimizer,
        state,
        TrainConfig(**{**vars(config), "backend": backend}),
        history=history,
        on_epoch_end=end,
    )
    return result, objective


def _leaves(tree):
    if isinstance(tree, np.ndarray):
        return [tree]
    if isinstance(tree, tuple):
        return [leaf for item in tree for leaf in _leaves(item)]
    return [np.asarray(tree, dtype=float)]


def _assert_same(a, b):
    (ra, oa), (rb, ob) = a, b
    assert ra.history.backend == "numpy" and rb.history.backend == "numba"
    np.testing.assert_allclose(rb.state.params, ra.state.params, rtol=TOL, atol=TOL)
    for x, y in zip(_leaves(ra.state.opt_state), _leaves(rb.state.opt_state), strict=True):
        np.testing.assert_allclose(y, x, rtol=TOL, atol=TOL)
    for name in ("loss", "grad_norm", "step_loss"):
        np.testing.assert_allclose(
            getattr(rb.history, name), getattr(ra.history, name), rtol=TOL, atol=TOL
        )
    assert ra.history.layers.keys() == rb.history.layers.keys()
    for name, rows in ra.history.layers.items():
        np.testing.assert_allclose(rb.history.layers[name], rows, rtol=TOL, atol=TOL)
    assert (rb.state.step, rb.state.epoch, rb.state.samples_seen, ob.draws) == (
        ra.state.step,
        ra.state.epoch,
        ra.state.samples_seen,
        oa.draws,
    )


def _both(task, activation, optimizer_name, *, batch=32, shuffle=True, hidden=(7, 6), **kw):
    X, targets, loss_name = _data(task)
    arch = Architecture(
        X.shape[1], hidden, 1 if targets.ndim == 1 else targets.shape[1], activation
    )
    theta0 = arch.initial_params("xavier_uniform", np.random.default_rng(3))
    theta0 += 0.05  # no exact zeros at the start: every ReLU unit alive or dead by the data
    config = TrainConfig(
        batch_size=batch,
        max_epochs=kw.pop("epochs", 4),
        shuffle=shuffle,
        seed=5,
        record_steps=True,
        plateau=kw.pop("plateau", None),
    )

    def optimizer():
        return build_optimizer(
            optimizer_name,
            kw.get("rate", 0.01),
            momentum=kw.get("momentum", 0.0),
            extra=kw.get("extra"),
            clip_norm=kw.get("clip_norm"),
        )

    loss = losses.get(loss_name)
    return [
        _train(backend, X, targets, loss, arch, optimizer(), config, theta0, kw.get("alpha", 1e-3))
        for backend in ("numpy", "numba")
    ]


@pytest.mark.parametrize("activation", ["relu", "leaky_relu", "tanh", "sigmoid", "identity"])
@pytest.mark.parametrize("task", ["regression", "two_outputs", "binary", "softmax"])
def test_every_activation_and_loss_matches_the_numpy_path(activation, task):
    _assert_same(*_both(task, activation, "adam"))


@pytest.mark.parametrize(
    ("name", "kw"),
    [
        ("sgd", {}),
        ("sgd", {"momentum": 0.9}),
        ("sgd", {"momentum": 0.9, "extra": {"nesterov": True}}),
        ("adagrad", {}),
        ("rmsprop", {"extra": {"centered": True}, "momentum": 0.5}),
        ("adam", {"clip_norm": 0.05}),
        ("adamw", {"extra": {"weight_decay": 0.01}}),
        ("pid", {"rate": 0.005}),
    ],
)
def test_every_optimizer_matches_the_numpy_path(name, kw):
    _assert_same(*_both("binary", "tanh", name, **kw))


@pytest.mark.parametrize(
    ("batch", "shuffle"), [(32, False), (None, False), (1, True), (150, True), (64, True)]
)
def test_batch_sizes_and_orders_match_the_numpy_path(batch, shuffle):
    _assert_same(*_both("regression", "relu", "adam", batch=batch, shuffle=shuffle))


def test_deep_wide_network_schedule_and_plateau_match_the_numpy_path():
    plateau = build_plateau("adaptive", None, n_iter_no_change=1, tol=1e-1)
    a, b = _both(
        "softmax",
        "relu",
        "sgd",
        hidden=(12, 3, 9),
        epochs=6,
        momentum=0.9,
        plateau=plateau,
        alpha=0.0,
    )
    _assert_same(a, b)
    rate = build_schedule(
        "inverse_scaling", 0.05, n_samples=150, batch_size=32, max_iter=4, parameters=None
    )
    X, targets, _ = _data("binary")
    arch = Architecture(5, (8,), 1, "sigmoid")
    theta0 = arch.initial_params("xavier_uniform", np.random.default_rng(1))
    config = TrainConfig(batch_size=20, max_epochs=3, shuffle=True, seed=1)
    runs = [
        _train(
            backend,
            X,
            targets,
            losses.log_loss,
            arch,
            build_optimizer("adam", rate, momentum=0.0, extra=None, clip_norm=None),
            config,
            theta0,
        )
        for backend in ("numpy", "numba")
    ]
    _assert_same(*runs)


def test_divergence_is_caught_at_the_same_update():
    errors = []
    for backend in ("numpy", "numba"):
        X, y, _ = _data("regression")
        arch = Architecture(5, (16,), 1, "identity")
        theta0 = arch.initial_params("xavier_uniform", np.random.default_rng(0))
        with pytest.raises(DivergenceError) as info:
            _train(
                backend,
                X,
                1e3 * y,
                losses.squared_error,
                arch,
                build_optimizer("sgd", 5.0, momentum=0.0, extra=None, clip_norm=None),
                TrainConfig(batch_size=10, max_epochs=3),
                theta0,
            )
        errors.append(info.value)
    np.testing.assert_allclose(errors[1].history.loss, errors[0].history.loss, rtol=TOL)
    assert str(errors[0]) == str(errors[1])


def test_unsupported_runs_fall_back_or_refuse_clearly():
    X, y, _ = _data("regression")
    config = TrainConfig(batch_size=16, max_epochs=1, backend="numba")
    for arch, weight in [
        (Architecture(5, (), 1), None),
        (Architecture(5, (4,), 1, batch_norm=True), None),
        (Architecture(5, (4,), 1, dropout=0.5), None),
        (Architecture(5, (4,), 1), np.ones(150)),
    ]:
        objective = NetworkObjective(X, y, losses.squared_error, arch, sample_weight=weight)
        optimizer = build_optimizer("adam", 0.01, momentum=0.0, extra=None, clip_norm=None)
        state = init_state(
            arch.initial_params("xavier_uniform", np.random.default_rng(0)), optimizer
        )
        with pytest.raises(ValueError, match="backend='numba' cannot run this fit: "):
            train(objective, optimizer, state, config)
        auto = TrainConfig(batch_size=16, max_epochs=1, backend="auto")
        big = NetworkObjective(
            np.tile(X, (200, 1)),
            np.tile(y, 200),
            losses.squared_error,
            arch,
            sample_weight=None if weight is None else np.ones(30000),
        )
        assert (
            train(big, optimizer, init_state(state.params, optimizer), auto).history.backend
            == "numpy"
        )


def _large_classification(n=2000, d=30):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(n, d))
    return X, (X[:, 0] + X[:, 1] ** 2 > 1).astype(int) + (X[:, 2] > 0.7).astype(int)


@pytest.mark.parametrize("cls", [MLPClassifier, MLPRegressor])
def test_default_estimators_compile_large_runs_and_match_numpy(cls, monkeypatch):
    X, y = _large_classification()
    target = y if cls is MLPClassifier else y + X[:, 3]
    assert X.shape[0] * (30 * 100 + 100 + 100 * 3 + 3) >= _compiled.AUTO_WORK
    compiled = cls(max_iter=3, random_state=0).fit(X, target)
    assert compiled.history_.backend == "numba"
    monkeypatch.setattr(_compiled, "AUTO_WORK", np.inf)
    reference = cls(max_iter=3, random_state=0).fit(X, target)
    assert reference.history_.backend == "numpy"
    for a, b in zip(
        compiled.coefs_ + compiled.intercepts_,
        reference.coefs_ + reference.intercepts_,
        strict=True,
    ):
        np.testing.assert_allclose(a, b, rtol=1e-11, atol=1e-12)
    np.testing.assert_allclose(compiled.loss_curve_, reference.loss_curve_, rtol=TOL)
    for name, rows in reference.history_.layers.items():
        np.testing.assert_allclose(compiled.history_.layers[name], rows, rtol=TOL, atol=TOL)
    assert compiled._draws == reference._draws


def test_compiled_warm_start_and_partial_fit_equal_one_fit_bitwise():
    X, y = _large_classification()
    settings = {"random_state": 0, "tol": None}
    once = MLPClassifier(max_iter=4, **settings).fit(X, y)
    twice = MLPClassifier(max_iter=2, warm_start=True, **settings).fit(X, y)
    twice.fit(X, y)
    stepped = MLPClassifier(max_iter=4, **settings)
    for _ in range(4):
        stepped.partial_fit(X, y, classes=[0, 1, 2])
    assert once.history_.backend == twice.history_.backend == stepped.history_.backend == "numba"
    np.testing.assert_array_equal(once._train_state.params, twice._train_state.params)
    np.testing.assert_array_equal(once._train_state.params, stepped._train_state.params)
    assert once.loss_curve_[-1] < 0.9 * once.loss_curve_[0]
