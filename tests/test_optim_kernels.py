"""Optimizers declare their compiled form; a hand-built chain of the same blocks compiles alike.

Oracles: the named optimizer on the compiled back-end (a hand-built chain of its blocks must give
the same numbers, bit for bit: it is the same kernel with the same inputs) and the NumPy reference
path (the chain's own ``update`` functions, to rounding, as tests/test_backends.py checks for the
named optimizers).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np
import pytest

from gdlab import GDRegressor, losses, optim, schedules
from gdlab._objectives import LinearObjective
from gdlab.backends.plan import Unsupported, optimizer_plan, pack_state, unpack_state
from gdlab.engine import TrainConfig, init_state, train
from gdlab.optim.kernel import Block, blocks
from gdlab.optim.named import KERNEL_FORMS, kernel_of

pytestmark = pytest.mark.xdist_group("numba-backend")

RATE = schedules.cosine_decay(0.05, decay_steps=60, alpha=0.1)

#: (named optimizer, the same chain built by hand from building blocks)
PAIRS: dict[str, tuple[Any, Any]] = {
    "sgd": (optim.sgd(RATE), optim.chain(optim.scale_by_learning_rate(RATE))),
    "momentum": (
        optim.sgd(RATE, momentum=0.8),
        optim.chain(optim.trace(0.8), optim.scale_by_learning_rate(RATE)),
    ),
    "nesterov": (
        optim.nesterov(RATE, momentum=0.7),
        optim.chain(optim.trace(0.7, nesterov=True), optim.scale_by_learning_rate(RATE)),
    ),
    "adagrad": (
        optim.adagrad(0.1, initial_accumulator_value=0.1),
        optim.chain(optim.scale_by_adagrad(1e-10, 0.1), optim.scale_by_learning_rate(0.1)),
    ),
    "rmsprop": (
        optim.rmsprop(RATE, decay=0.9, momentum=0.5, centered=True, eps=1e-3),
        optim.chain(
            optim.scale_by_rms(0.9, 1e-3, centered=True),
            optim.accumulate(0.5),
            optim.scale_by_learning_rate(RATE),
        ),
    ),
    "adam": (
        optim.adam(RATE, b1=0.8, b2=0.99),
        optim.chain(optim.scale_by_adam(0.8, 0.99, 1e-8), optim.scale_by_learning_rate(RATE)),
    ),
    "adamw": (
        optim.adamw(RATE, weight_decay=0.1),
        optim.chain(
            optim.scale_by_adam(),
            optim.add_decayed_weights(0.1),
            optim.scale_by_learning_rate(RATE),
        ),
    ),
    "pid": (
        optim.pid(0.02, kp=1.0, ki=0.1, kd=0.2),
        optim.chain(optim.scale_by_pid(1.0, 0.1, 0.2), optim.scale_by_learning_rate(0.02)),
    ),
    "clipped adam": (
        optim.chain(optim.clip_by_global_norm(0.5), optim.adam(RATE)),
        optim.chain(
            optim.clip_by_global_norm(0.5),
            optim.chain(optim.scale_by_adam(), optim.scale_by_learning_rate(RATE)),
        ),
    ),
}


@pytest.fixture(scope="module")
def objective():
    rng = np.random.default_rng(4)
    X = rng.normal(size=(41, 3))
    y = X @ [1.0, -2.0, 0.5] + 0.3 + 0.1 * rng.normal(size=41)
    return LinearObjective(X, y, losses.squared_error, losses.get_penalty("l2", 0.01), True, None)


def _run(objective, optimizer, backend):
    state = init_state(np.zeros(objective.n_params), optimizer)
    config = TrainConfig(batch_size=7, max_epochs=3, shuffle=True, seed=2, backend=backend)
    return train(objective, optimizer, state, replace(config, record_steps=True))


def _leaves(state: Any) -> list[Any]:
    if isinstance(state, np.ndarray) or not isinstance(state, tuple):
        return [state]
    return [type(state)] + [leaf for item in state for leaf in _leaves(item)]


@pytest.mark.parametrize("name", sorted(PAIRS))
def test_a_hand_built_chain_compiles_like_the_named_optimizer(objective, name):
    pytest.importorskip("numba")
    named, chained = PAIRS[name]
    assert optimizer_plan(chained).code == optimizer_plan(named).code
    np.testing.assert_array_equal(optimizer_plan(chained).hyper, optimizer_plan(named).hyper)
    fast_named = _run(objective, named, "numba")
    fast_chain = _run(objective, chained, "numba")
    assert fast_chain.history.backend == "numba"
    np.testing.assert_array_equal(fast_chain.state.params, fast_named.state.params)
    assert fast_chain.history.step_loss == fast_named.history.step_loss
    # the chain's state keeps the chain's own structure, and equals its NumPy run to rounding
    reference = _run(objective, chained, "numpy")
    fast_leaves, reference_leaves = (
        _leaves(fast_chain.state.opt_state),
        _leaves(reference.state.opt_state),
    )
    assert [type(x) for x in fast_leaves] == [type(x) for x in reference_leaves]
    for a, b in zip(fast_leaves, reference_leaves, strict=True):
        if isinstance(a, np.ndarray):
            np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)
        else:
            assert a == b
    np.testing.assert_allclose(fast_chain.state.params, reference.state.params, rtol=1e-10)


def test_the_brief_example_adam_as_a_chain_in_an_estimator():
    pytest.importorskip("numba")
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 4))
    y = X @ [1.0, 2.0, -1.0, 0.5] + 0.2 * rng.normal(size=200)
    chain = optim.chain(optim.scale_by_adam(0.9, 0.999, 1e-8), optim.scale_by_learning_rate(0.01))
    common = dict(batch_size=8, max_iter=5, tol=None, random_state=0, backend="numba")
    by_hand = GDRegressor(optimizer=chain, **common).fit(X, y)
    by_name = GDRegressor(optimizer="adam", learning_rate=0.01, **common).fit(X, y)
    assert by_hand.history_.backend == by_name.history_.backend == "numba"
    np.testing.assert_array_equal(by_hand.coef_, by_name.coef_)
    np.testing.assert_array_equal(by_hand.intercept_, by_name.intercept_)


def test_every_form_places_every_state_array():
    """Each form's slots name every array field of its blocks' states, each array once."""
    states = {
        block.kind: block.state
        for pair in PAIRS.values()
        for tx in pair
        for block in blocks(tx.kernel)
    }
    for form in KERNEL_FORMS:
        wanted = {
            (index, name)
            for index, kind in enumerate(form.blocks)
            for name in states[kind]._fields
            if name != "count"
        }
        assert {(index, name) for index, name, _ in form.slots} == wanted, form.name
        assert len({slot for _, _, slot in form.slots}) == len(form.slots), form.name
        assert form.blocks[-1] == "scale_by_learning_rate"


@pytest.mark.parametrize("name", sorted(PAIRS))
def test_pack_then_unpack_rebuilds_the_state(name):
    tx = PAIRS[name][1]
    params = np.arange(3.0)
    state = tx.init(params)
    _, state = tx.update(np.array([0.5, -1.0, 2.0]), state, params)  # counts 1, arrays non-zero
    plan = optimizer_plan(tx)
    packed = pack_state(plan, state, 3, np.dtype(np.float64))
    again = unpack_state(plan, packed, 0)
    assert [type(x) for x in _leaves(again)] == [type(x) for x in _leaves(state)]
    for a, b in zip(_leaves(again), _leaves(state), strict=True):
        if isinstance(a, np.ndarray):
            np.testing.assert_array_equal(a, b)
        else:
            assert a == b


@pytest.mark.parametrize(
    ("tx", "reason"),
    [
        (optim.chain(optim.clip(1.0), optim.sgd(0.1)), "not a named gdlab optimizer"),
        (optim.chain(optim.scale_by_adam(), optim.trace(0.5), optim.scale_by_learning_rate(0.1)),
         "scale_by_adam, trace, scale_by_learning_rate is not the chain"),
        (optim.chain(optim.scale_by_learning_rate(0.1), optim.scale_by_adam()), "is not the chain"),
        (optim.chain(optim.clip_by_global_norm(1.0, axis=0), optim.adam(0.1)), "not a named"),
        (optim.sgd(np.array([0.1, 0.2])), "one learning rate per run"),
    ],
)  # fmt: skip
def test_chains_the_kernels_do_not_know_are_refused_with_a_reason(tx, reason):
    with pytest.raises(Unsupported, match=reason):
        optimizer_plan(tx)


def test_a_state_of_another_structure_is_refused():
    plan = optimizer_plan(optim.adam(0.1))
    wrong = optim.sgd(0.1, momentum=0.5).init(np.zeros(2))
    with pytest.raises(Unsupported, match="does not match"):
        pack_state(plan, wrong, 2, np.dtype(np.float64))


def test_a_transformation_without_a_description_is_described_by_its_name():
    adam = optim.adam(0.1, b1=0.5)
    bare = optim.GradientTransformation(
        adam.init, adam.update, name="adam", hyperparams={**adam.hyperparams, "clip_norm": 2.0}
    )
    described = kernel_of(bare)
    assert described is not None
    assert [b.kind for b in blocks(described)] == [
        "clip_by_global_norm",
        "scale_by_adam",
        "scale_by_learning_rate",
    ]
    assert isinstance(described[0], Block) and described[0].hyper["max_norm"] == 2.0
    assert optimizer_plan(bare).clip_norm == 2.0
    odd = optim.GradientTransformation(adam.init, adam.update, name="adam", hyperparams={"x": 1})
    assert kernel_of(odd) is None
