"""The plateau rule as a block of the optimizer: chained after any optimizer, its scale in the
optimizer state, told each epoch's loss by the engine; checkpoints written when its state lived
beside the optimizer state (tests/data/legacy_plateau/, scripts/make_legacy_plateau.py) still
resume bit-identically."""

from __future__ import annotations

import json
import warnings
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

import gdlab
from gdlab import losses, optim
from gdlab._objectives import LinearObjective
from gdlab.engine import TrainConfig, init_state, train
from gdlab.io import load_checkpoint
from gdlab.optim.plateau import (
    PlateauState,
    find_state,
    observe,
    reduce_on_plateau,
    scale_by_plateau,
    with_plateau,
)

DATA = Path(__file__).parent / "data" / "legacy_plateau"
EXPECTED = json.loads((DATA / "expected.json").read_text())

RNG = np.random.default_rng(11)  # the data of scripts/make_legacy_plateau.py
X = RNG.normal(size=(83, 4)) * [1.0, 3.0, 0.5, 2.0]
Y = X @ [1.0, -2.0, 0.5, 3.0] + 1.0 + 0.3 * RNG.normal(size=83)


def _hex(values: object) -> list[str]:
    return [float(v).hex() for v in np.ravel(np.asarray(values, dtype=np.float64))]


def _without_plateau(opt_state: object) -> object:
    """The optimizer state as it was saved before the plateau block existed."""
    if type(opt_state) is tuple and len(opt_state) == 2 and isinstance(opt_state[1], PlateauState):
        return opt_state[0]
    if hasattr(opt_state, "inner"):  # averaged
        return opt_state._replace(inner=_without_plateau(opt_state.inner))  # type: ignore[attr-defined]
    return opt_state


@pytest.mark.parametrize("case", sorted(EXPECTED))
def test_legacy_checkpoint_resumes_bit_identically(case: str) -> None:
    if case == "numba":
        pytest.importorskip("numba")
    model, metadata = load_checkpoint(DATA / f"{case}.npz")
    assert metadata == {"case": case}
    state = model._train_state
    assert 0 < state.plateau_state.scale < 1.0  # the saved scale is now in the optimizer state
    assert find_state(state.opt_state) is state.plateau_state
    model.set_params(warm_start=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.fit(X, Y)
    want = EXPECTED[case]
    state = model._train_state
    assert model.history_.backend == ("numba" if case == "numba" else "numpy")
    assert _hex(model.coef_) == want["coef"]
    assert _hex(model.intercept_) == want["intercept"]
    assert _hex(model.history_.loss) == want["loss"]
    assert _hex(model.history_.learning_rate) == want["learning_rate"]
    assert _hex(state.plateau_state) == want["plateau_state"]
    assert (state.epoch, state.step) == (want["epoch"], want["step"])
    assert repr(_without_plateau(state.opt_state)) == want["opt_state"]


def test_new_checkpoint_keeps_the_plateau_state_in_the_optimizer_state(tmp_path: Path) -> None:
    model, _ = load_checkpoint(DATA / "averaged.npz")
    saved = gdlab.load(model.save(tmp_path / "again.npz"))
    assert repr(saved._train_state.opt_state) == repr(model._train_state.opt_state)
    header = bytes(np.load(tmp_path / "again.npz")["gdlab_header"]).decode()
    assert '"plateau_state"' not in header and '"PlateauState"' in header
    legacy = bytes(np.load(DATA / "averaged.npz")["gdlab_header"]).decode()
    assert '"plateau_state"' in legacy and '"PlateauState"' not in legacy


def test_chain_after_any_optimizer_scales_updates_and_rate() -> None:
    tx = optim.chain(optim.adam(0.1), scale_by_plateau(reduce_on_plateau(0.5, patience=1)))
    state = tx.init(np.zeros(2))
    assert tx.rate(state) == 0.1
    for loss in [1.0, 1.0, 1.0]:  # improves on inf, then the 2nd bad epoch halves the scale
        state, exhausted = observe(tx, state, loss)
    assert find_state(state) == PlateauState(0.5, 1.0, 0) and exhausted is None
    assert tx.rate(state) == 0.05
    plain = optim.adam(0.1)
    updates, _ = tx.update(np.array([1.0, -2.0]), state)
    reference, _ = plain.update(np.array([1.0, -2.0]), plain.init(np.zeros(2)))
    np.testing.assert_array_equal(updates, 0.5 * reference)


def test_observe_without_plateau_block_is_identity() -> None:
    tx = optim.sgd(0.1)
    state = tx.init(np.zeros(1))
    assert observe(tx, state, 3.0) == (state, None)
    assert tx.observe is None and find_state(state) is None


def test_user_chain_trains_like_the_config_rule() -> None:
    """A hand-built chain gets the engine's plateau handling: same numbers as
    ``TrainConfig(plateau=rule)`` with the bare optimizer, and stops when exhausted."""
    objective = LinearObjective(X, Y, losses.squared_error, losses.get_penalty(None), True)
    rule = reduce_on_plateau(factor=0.5, patience=1, min_scale=0.01, threshold=0.5)
    bare = optim.sgd(0.01)
    config = TrainConfig(max_epochs=60, batch_size=10, backend="numpy")
    chained = with_plateau(bare, rule)
    by_chain = train(objective, chained, init_state(np.zeros(5), chained), config)
    by_config = train(
        objective, bare, init_state(np.zeros(5), bare, rule), replace(config, plateau=rule)
    )
    np.testing.assert_array_equal(by_chain.state.params, by_config.state.params)
    assert by_chain.history.learning_rate == by_config.history.learning_rate
    assert by_chain.converged and "already at its minimum (0.01" in by_chain.message
    assert min(by_chain.history.learning_rate) == pytest.approx(0.01 * 0.01)


def test_partial_fit_keeps_the_scale() -> None:
    model = gdlab.GDRegressor(schedule="adaptive", batch_size=10, random_state=0)
    for _ in range(30):
        model.partial_fit(X, Y)
    assert model._train_state.plateau_state.scale == 1.0


def test_compiled_plan_reads_the_scale_from_the_state() -> None:
    from gdlab.backends.plan import optimizer_plan, pack_state, unpack_state

    tx = with_plateau(
        optim.chain(optim.clip_by_global_norm(2.0), optim.adam(0.1)), reduce_on_plateau()
    )
    plan = optimizer_plan(tx)
    assert plan.plateau and plan.name == "adam" and plan.clip_norm == 2.0
    state = tx.init(np.zeros(3))
    state = (state[0], PlateauState(0.25, 1.5, 2))
    packed = pack_state(plan, state, 3, np.dtype(np.float64))
    assert packed.scale == 0.25
    rebuilt = unpack_state(plan, packed, 4)
    assert rebuilt[1] == PlateauState(0.25, 1.5, 2)  # the engine, not the kernel, updates it
    assert rebuilt[0][1][0].count == 4  # adam's moments advanced by the 4 updates
