"""The compiled backend agrees with the NumPy reference, and the engine picks and records backends.

The oracle is the NumPy path (``backend="numpy"``), itself checked against PyTorch and textbook
formulas in the other test files: the compiled path must reproduce its parameters, optimizer state
(same NamedTuple structure), loss curve, gradient norms and per-step losses to rounding, for every
named optimizer, loss and batch mode, shuffled or not, with schedules, clipping, penalties and
sample weights. Data are tiny so that the cost is Numba's compilation (once per dtype, cached).
"""

from __future__ import annotations

import subprocess
import sys
from dataclasses import replace
from typing import Any

import numpy as np
import pytest

pytest.importorskip("numba")

from gdlab import GDClassifier, GDRegressor, losses, optim, schedules
from gdlab._objectives import LinearObjective
from gdlab.backends import epoch_runner, worth_compiling
from gdlab.backends.rates import epoch_rates
from gdlab.engine import TrainConfig, _run_epoch, init_state, train
from gdlab.exceptions import DivergenceError

pytestmark = pytest.mark.xdist_group("numba-backend")

OPTIMIZERS: dict[str, Any] = {
    "sgd": lambda rate: optim.sgd(rate),
    "momentum": lambda rate: optim.momentum(rate, momentum=0.8),
    "nesterov": lambda rate: optim.nesterov(rate, momentum=0.7),
    "adagrad": lambda rate: optim.adagrad(rate, initial_accumulator_value=0.1),
    "rmsprop": lambda rate: optim.rmsprop(rate, decay=0.9),
    "rmsprop_centered_momentum": lambda rate: optim.rmsprop(
        rate, decay=0.9, momentum=0.5, centered=True, eps=1e-3
    ),
    "adam": lambda rate: optim.adam(rate),
    "adamw": lambda rate: optim.adamw(rate, weight_decay=0.1),
    "pid": lambda rate: optim.pid(rate, kp=1.0, ki=0.1, kd=0.2),
}
RATES = {"sgd": 0.05, "momentum": 0.02, "nesterov": 0.02, "adagrad": 0.1, "pid": 0.02}
LOSSES = ("squared_error", "huber", "log_loss", "softmax", "hinge", "hinge_multi")
BATCHES = (None, 1, 7)


def _data(loss: str, dtype: Any = np.float64, n: int = 37, d: int = 3, seed: int = 0):
    """Small, well-conditioned data for ``loss``: ``(X, targets, loss object)``."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    scores = X @ rng.normal(size=(d, 3)) + rng.normal(scale=0.3, size=(n, 3))
    if loss in ("squared_error", "huber"):
        targets = scores[:, 0] + 1.0
        fn = losses.squared_error if loss == "squared_error" else losses.Huber(delta=0.7)
    elif loss == "log_loss":
        targets, fn = (scores[:, 0] > 0).astype(float), losses.log_loss
    elif loss == "softmax":
        targets = np.eye(3)[np.argmax(scores, axis=1)]
        fn = losses.softmax_cross_entropy
    elif loss == "hinge":
        targets, fn = np.where(scores[:, 0] > 0, 1.0, -1.0), losses.hinge
    else:
        targets, fn = 2.0 * np.eye(3)[np.argmax(scores, axis=1)] - 1.0, losses.hinge
    return X.astype(dtype), targets.astype(dtype), fn


def _optimizer(name: str, rate: Any, clip: float | None = None) -> Any:
    tx = OPTIMIZERS[name](rate)
    if clip is None:
        return tx
    clipped = optim.chain(optim.clip_by_global_norm(clip), tx)
    return optim.GradientTransformation(
        clipped.init,
        clipped.update,
        name=tx.name,
        hyperparams={**tx.hyperparams, "clip_norm": clip},
    )


def _run(objective, optimizer, config, backend, state=None, epochs=None):
    if state is None:
        state = init_state(np.zeros(objective.n_params, dtype=objective.X.dtype), optimizer)
    config = replace(config, backend=backend, max_epochs=epochs or config.max_epochs)
    return train(objective, optimizer, state, config)


def _assert_states_equal(a: Any, b: Any, rtol: float, atol: float) -> None:
    """Same NamedTuple structure, same counts, arrays equal to rounding."""
    assert type(a) is type(b)
    if isinstance(a, np.ndarray):
        assert a.dtype == b.dtype and a.shape == b.shape
        np.testing.assert_allclose(a, b, rtol=rtol, atol=atol)
    elif isinstance(a, tuple):
        assert len(a) == len(b)
        for x, y in zip(a, b, strict=True):
            _assert_states_equal(x, y, rtol, atol)
    else:
        assert a == b


def _assert_runs_agree(ref, fast, rtol: float = 1e-10, atol: float = 1e-12) -> None:
    assert ref.history.backend == "numpy" and fast.history.backend == "numba"
    assert fast.state.params.dtype == ref.state.params.dtype
    np.testing.assert_allclose(fast.state.params, ref.state.params, rtol=rtol, atol=atol)
    _assert_states_equal(ref.state.opt_state, fast.state.opt_state, rtol, atol)
    np.testing.assert_allclose(fast.history.loss, ref.history.loss, rtol=rtol, atol=atol)
    np.testing.assert_allclose(fast.history.grad_norm, ref.history.grad_norm, rtol=rtol, atol=atol)
    np.testing.assert_allclose(fast.history.step_loss, ref.history.step_loss, rtol=rtol, atol=atol)
    assert fast.history.n_updates == ref.history.n_updates
    assert fast.history.n_samples_seen == ref.history.n_samples_seen
    assert (fast.state.step, fast.state.epoch) == (ref.state.step, ref.state.epoch)


def _variant(index: int):
    """Deterministic extras per combination: schedule, clipping, penalty, sample weights."""
    schedule = [None, "cosine", "step", "invscaling"][index % 4]
    clip = [None, 0.5][index % 2 == 1 and index % 3 != 0]
    penalty = [None, ("l2", 0.01), ("l1", 0.005), ("elasticnet", 0.01)][(index // 2) % 4]
    weighted = index % 3 == 1
    return schedule, clip, penalty, weighted


def _rate(base: float, schedule: str | None, steps: int) -> Any:
    if schedule is None:
        return base
    if schedule == "cosine":
        return schedules.cosine_decay(base, decay_steps=steps, alpha=0.1)
    if schedule == "step":
        return schedules.step_decay(base, step_size=max(1, steps // 3), gamma=0.5)
    return schedules.inverse_scaling(base, power_t=0.3)


@pytest.mark.parametrize("loss", LOSSES)
@pytest.mark.parametrize("name", list(OPTIMIZERS))
def test_compiled_epochs_match_numpy(name: str, loss: str) -> None:
    index = list(OPTIMIZERS).index(name) * len(LOSSES) + LOSSES.index(loss)
    X, targets, loss_fn = _data(loss, seed=index)
    schedule, clip, penalty, weighted = _variant(index)
    weight = np.random.default_rng(index).uniform(0.2, 2.0, size=X.shape[0]) if weighted else None
    kind, alpha = penalty if penalty else (None, 0.0)
    objective = LinearObjective(
        X, targets, loss_fn, losses.get_penalty(kind, alpha, 0.4), True, weight
    )
    base = RATES.get(name, 0.01)
    for batch in BATCHES:
        for shuffle in (False, True):
            tx = _optimizer(name, _rate(base, schedule, 40), clip)
            config = TrainConfig(
                batch_size=batch, max_epochs=3, shuffle=shuffle, seed=index, record_steps=True
            )
            ref = _run(objective, tx, config, "numpy")
            fast = _run(objective, tx, config, "numba")
            _assert_runs_agree(ref, fast)


@pytest.mark.parametrize("name", list(OPTIMIZERS))
def test_float32_stays_float32_and_agrees(name: str) -> None:
    for loss, batch in (("squared_error", 1), ("softmax", 5), ("log_loss", None)):
        X, targets, loss_fn = _data(loss, dtype=np.float32)
        weight = np.linspace(0.5, 1.5, X.shape[0], dtype=np.float32)
        objective = LinearObjective(
            X, targets, loss_fn, losses.get_penalty("l2", 0.01), True, weight
        )
        tx = _optimizer(name, RATES.get(name, 0.01), clip=1.0)
        config = TrainConfig(batch_size=batch, max_epochs=3, shuffle=True, record_steps=True)
        ref = _run(objective, tx, config, "numpy")
        fast = _run(objective, tx, config, "numba")
        assert fast.state.params.dtype == np.float32
        arrays = [a for a in _leaves(fast.state.opt_state) if isinstance(a, np.ndarray)]
        assert all(a.dtype == np.float32 for a in arrays)
        _assert_runs_agree(ref, fast, rtol=2e-4, atol=2e-5)


def _leaves(state: Any) -> list[Any]:
    if isinstance(state, tuple):
        return [leaf for member in state for leaf in _leaves(member)]
    return [state]


def test_paths_can_take_turns_on_one_run() -> None:
    """Two epochs compiled then two with NumPy equal four with NumPy (and the reverse)."""
    X, targets, loss_fn = _data("squared_error")
    objective = LinearObjective(X, targets, loss_fn, losses.get_penalty(None), True)
    tx = optim.adam(0.05)
    config = TrainConfig(batch_size=4, max_epochs=2, shuffle=True, seed=3)
    ref = _run(objective, tx, config, "numpy", epochs=4)
    for first, second in (("numba", "numpy"), ("numpy", "numba")):
        half = _run(objective, tx, config, first)
        rest = _run(objective, tx, config, second, state=half.state)
        np.testing.assert_allclose(rest.state.params, ref.state.params, rtol=1e-12)
        _assert_states_equal(ref.state.opt_state, rest.state.opt_state, 1e-12, 1e-14)


def test_divergence_is_reported_the_same_way() -> None:
    X, targets, loss_fn = _data("squared_error")
    objective = LinearObjective(X * 10, targets, loss_fn, losses.get_penalty(None), True)
    raised = {}
    for backend in ("numpy", "numba"):
        config = TrainConfig(batch_size=4, max_epochs=30, shuffle=True, backend=backend)
        tx = optim.sgd(1.0)
        state = init_state(np.zeros(objective.n_params), tx)
        with pytest.raises(DivergenceError) as info:
            train(objective, tx, state, config)
        raised[backend] = info.value
    assert raised["numba"].epoch == raised["numpy"].epoch
    np.testing.assert_allclose(raised["numba"].losses, raised["numpy"].losses, rtol=1e-10)
    assert raised["numba"].history.backend == "numba"


@pytest.mark.parametrize("estimator", [GDRegressor, GDClassifier])
def test_estimators_record_the_backend_and_agree(estimator: Any) -> None:
    rng = np.random.default_rng(1)
    X = rng.normal(size=(60, 4))
    y = X @ [1.0, -2.0, 0.5, 0.0] + 0.1 * rng.normal(size=60)
    if estimator is GDClassifier:
        y = np.digitize(y, [-1.0, 1.0])  # three classes: softmax
    params = dict(
        optimizer="rmsprop",
        batch_size=8,
        max_iter=15,
        schedule="adaptive",
        tol=1e-3,
        n_iter_no_change=2,
        penalty="elasticnet",
        alpha=0.01,
        clip_norm=2.0,
        random_state=0,
    )
    ref = estimator(backend="numpy", **params).fit(X, y)
    fast = estimator(backend="numba", **params).fit(X, y)
    assert ref.history_.backend == "numpy" and fast.history_.backend == "numba"
    np.testing.assert_allclose(fast.coef_, ref.coef_, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(fast.loss_curve_, ref.loss_curve_, rtol=1e-10)
    assert fast.n_iter_ == ref.n_iter_
    X32 = X.astype(np.float32)
    fit32 = estimator(backend="numba", **params).fit(X32, y)
    assert fit32.coef_.dtype == np.float32 and fit32._train_state.params.dtype == np.float32


def test_auto_choice() -> None:
    X, targets, loss_fn = _data("squared_error")
    objective = LinearObjective(X, targets, loss_fn, losses.get_penalty(None), True)
    tx = optim.sgd(0.01)
    state = init_state(np.zeros(objective.n_params), tx)
    small = TrainConfig(batch_size=None, max_epochs=5)
    many_steps = TrainConfig(batch_size=1, max_epochs=500)
    assert not worth_compiling(objective, small)
    assert worth_compiling(objective, many_steps)
    assert epoch_runner(objective, tx, state, small, _run_epoch)[1] == "numpy"
    assert epoch_runner(objective, tx, state, many_steps, _run_epoch)[1] == "numba"
    custom = optim.chain(optim.clip(1.0), optim.sgd(0.01))  # a chain the kernels do not know
    custom_state = init_state(np.zeros(objective.n_params), custom)
    assert epoch_runner(objective, custom, custom_state, many_steps, _run_epoch)[1] == "numpy"
    forced = replace(many_steps, backend="numba")
    with pytest.raises(ValueError, match="backend='numba' cannot run this fit"):
        epoch_runner(objective, custom, custom_state, forced, _run_epoch)
    with pytest.raises(ValueError, match="'backend' parameter"):
        epoch_runner(objective, tx, state, replace(small, backend="cuda"), _run_epoch)


def test_forced_numba_without_numba_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    import gdlab.backends as backends

    monkeypatch.setattr(backends, "numba_available", lambda: False)
    X, targets, loss_fn = _data("squared_error")
    objective = LinearObjective(X, targets, loss_fn, losses.get_penalty(None), True)
    tx = optim.sgd(0.01)
    state = init_state(np.zeros(objective.n_params), tx)
    config = TrainConfig(batch_size=1, max_epochs=500)
    assert backends.epoch_runner(objective, tx, state, config, _run_epoch)[1] == "numpy"
    with pytest.raises(ImportError, match="pip install 'gdlab\\[speed\\]'"):
        backends.epoch_runner(objective, tx, state, replace(config, backend="numba"), _run_epoch)


SCHEDULES = [
    schedules.constant(0.3),
    schedules.step_decay(1.0, step_size=3, gamma=0.5),
    schedules.exponential_decay(0.5, decay_rate=0.9, transition_steps=2),
    schedules.exponential_decay(0.5, decay_rate=0.9, transition_steps=2, staircase=True),
    schedules.inverse_scaling(0.2, power_t=0.25),
    schedules.cosine_decay(0.1, decay_steps=10, alpha=0.2),
    schedules.warmup_cosine_decay(1.0, warmup_steps=4, decay_steps=8, end_value=0.1),
    lambda count: 0.1 / (1 + count),
]


@pytest.mark.parametrize("schedule", SCHEDULES)
def test_epoch_rates_equal_the_schedule_calls(schedule: Any) -> None:
    expected = [schedule(t) for t in range(5, 25)]
    np.testing.assert_allclose(epoch_rates(schedule, 5, 20), expected, rtol=1e-14)


def test_import_gdlab_does_not_import_numba() -> None:
    code = "import sys, gdlab; gdlab.GDRegressor; assert 'numba' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)


# ---- batched learning-rate sweeps ---------------------------------------------------------------

SWEEP_CASES = [
    (GDRegressor, dict(optimizer="sgd", batch_size=None, max_iter=30, tol=None)),
    (
        GDRegressor,
        dict(
            optimizer="adam",
            batch_size=16,
            max_iter=12,
            tol=1e-3,
            n_iter_no_change=2,
            penalty="l2",
            alpha=0.01,
            clip_norm=1.0,
            record_params=True,
        ),
    ),
    (
        GDRegressor,
        dict(
            optimizer="momentum",
            batch_size=1,
            max_iter=4,
            tol=None,
            loss="huber",
            standardize=True,
            shuffle=False,
        ),
    ),
    (
        GDClassifier,
        dict(
            optimizer="rmsprop",
            batch_size=32,
            max_iter=8,
            tol=None,
            penalty="elasticnet",
            alpha=0.001,
        ),
    ),
    (GDClassifier, dict(optimizer="adagrad", batch_size=None, max_iter=10, tol=None, loss="hinge")),
]


@pytest.mark.parametrize(("estimator", "params"), SWEEP_CASES)
def test_batched_sweep_equals_one_fit_per_rate(estimator: Any, params: dict[str, Any]) -> None:
    """Every run of the batched sweep is the fit of its own rate, to rounding, divergence too.

    Matrix products sum in another order than matrix-vector products, and an L1 subgradient
    under RMSprop's normalisation magnifies those last-digit differences a little: 1e-7.
    """
    RTOL = 1e-7
    import warnings

    from gdlab._batched_sweep import batchable, batched_sweep
    from gdlab._sweeps import _sequential_sweep

    rng = np.random.default_rng(4)
    X = rng.normal(size=(150, 5)) * [1.0, 2.0, 0.5, 1.0, 3.0]
    y = X @ [1.0, -2.0, 0.5, 0.0, 1.0] + 3.0 + 0.3 * rng.normal(size=150)
    if estimator is GDClassifier:
        y = np.where(y > 3.0, "yes", "no")
    weight = rng.uniform(0.5, 2.0, size=150)
    template = estimator(random_state=7, **params)
    rates = [1e-3, 3e-2, 0.3, 5.0]  # the largest diverges for the plain-gradient optimizers
    if params.get("loss") == "huber":  # bounded gradients: large rates bounce (chaos), not diverge
        rates = [1e-3, 5e-3, 1e-2, 2e-2]
    assert batchable(template, "learning_rate", rates, [{}] * 4)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        batched = batched_sweep(template, X, y, rates, weight)
        reference = _sequential_sweep(
            template, X, y, "learning_rate", [(r, {}) for r in rates], weight
        )
    assert batched is not None
    for (model, history, error), ref_model, ref_history, ref_error in zip(
        batched, reference.estimators, reference.histories, reference.errors, strict=True
    ):
        assert (error is None) == (ref_error is None)
        if error is not None:
            assert str(error) == ref_error
            assert history.backend == "batched" and model is None
            np.testing.assert_allclose(history.loss, ref_history.loss, rtol=RTOL)
            continue
        np.testing.assert_allclose(model.coef_, ref_model.coef_, rtol=RTOL, atol=1e-12)
        np.testing.assert_allclose(model.intercept_, ref_model.intercept_, rtol=RTOL, atol=1e-12)
        assert model.n_iter_ == ref_model.n_iter_ and model.t_ == ref_model.t_
        a, b = history.to_dict(), ref_history.to_dict()
        assert a.pop("backend") == "batched"
        b.pop("backend")
        for key in a:
            if key in ("epoch", "n_updates", "n_samples_seen", "stop_reason", "val_loss"):
                assert a[key] == b[key], key
            else:
                np.testing.assert_allclose(a[key], b[key], rtol=RTOL, atol=1e-12, err_msg=key)
        _assert_states_equal(
            ref_model._train_state.opt_state, model._train_state.opt_state, 1e-9, 1e-12
        )
        if estimator is GDClassifier:
            assert list(model.predict(X)) == list(ref_model.predict(X))


def test_large_sweeps_are_batched_small_ones_are_not() -> None:
    from gdlab import sweep

    rng = np.random.default_rng(0)
    X = rng.normal(size=(30000, 20))
    y = X @ rng.normal(size=20)
    model = GDRegressor(optimizer="sgd", batch_size=None, max_iter=40, tol=None)
    rates = list(np.geomspace(1e-3, 0.5, 8))
    assert sweep(model, X, y, values=rates).backend == "batched"
    assert sweep(model, X[:50], y[:50], values=rates).backend == "numpy"
    forced = GDRegressor(optimizer="sgd", batch_size=None, max_iter=20, tol=None, backend="numpy")
    assert sweep(forced, X, y, values=rates[:2]).backend == "numpy"


@pytest.mark.parametrize("name", ["sgd", "adam", "rmsprop_centered_momentum"])
def test_shuffled_epochs_in_many_blocks_match_numpy(
    name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Rows copied by the helper thread and rows read through the permutation give the same
    epochs as NumPy (blocks of a few rows, so that an epoch has hundreds of them)."""
    import gdlab.backends.numba_backend as numba_backend

    monkeypatch.setattr(numba_backend, "BLOCK_BYTES", 8 * 3 * 16)  # 16 rows of 3 float64
    X, targets, loss_fn = _data("squared_error", n=1500)
    weight = np.random.default_rng(1).uniform(0.5, 1.5, size=X.shape[0])
    for penalty, clip in ((None, None), ("l2", 1.0)):
        objective = LinearObjective(
            X, targets, loss_fn, losses.get_penalty(penalty, 0.01), True, weight
        )
        for batch in (1, 7):
            tx = _optimizer(name, RATES.get(name, 0.01), clip)
            config = TrainConfig(batch_size=batch, max_epochs=3, shuffle=True, record_steps=True)
            _assert_runs_agree(
                _run(objective, tx, config, "numpy"), _run(objective, tx, config, "numba")
            )
