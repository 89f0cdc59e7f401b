"""Estimators give their fitted state as plain data (dicts, lists, text, numbers and NumPy arrays
only) and take it back checked: ``load_state_dict`` rebuilds the history and the optimizer state
(its structure from ``init_optimizer_state``), and a round trip, in memory or through a model
file, predicts and trains on bit for bit."""

from __future__ import annotations

import copy
import json
import re
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import gdlab
from gdlab import optim
from gdlab.history import History
from gdlab.io._plain import ArrayStore
from gdlab.io._registry import known
from gdlab.io._tree import decode_plain, encode_plain
from gdlab.nn.diagnostics import NetworkHistory
from gdlab.optim._plain_state import from_plain, to_plain
from gdlab.optim.plateau import reduce_on_plateau, with_plateau

PLAIN = (str, int, float, bool, type(None))
RNG = np.random.default_rng(5)
X = RNG.normal(size=(48, 3)) * [1.0, 4.0, 0.5]
Y = X @ [1.0, -0.5, 2.0] + 1.0 + 0.1 * RNG.normal(size=48)
LABELS = np.array(["ant", "bee", "cow"])[(X[:, 0] > 0).astype(int) + (X[:, 2] > 0)]


def _models() -> dict[str, tuple[Any, np.ndarray]]:
    return {
        "GDRegressor default": (gdlab.GDRegressor(), Y),
        "GDClassifier default": (gdlab.GDClassifier(), LABELS),
        "MLPRegressor default": (gdlab.MLPRegressor(), Y),
        "MLPClassifier default": (gdlab.MLPClassifier(), LABELS),
        "GDRegressor plateau average": (
            gdlab.GDRegressor(schedule="adaptive", average=True, n_iter_no_change=1, max_iter=6),
            Y,
        ),
        "GDRegressor early stopping": (
            gdlab.GDRegressor(optimizer="adam", early_stopping=True, record_params=True),
            Y,
        ),
        "GDClassifier plateau pid": (
            gdlab.GDClassifier(optimizer="pid", schedule="adaptive", max_iter=5, tol=None),
            Y > 0,
        ),
        "MLPRegressor batch norm plateau": (
            gdlab.MLPRegressor(
                hidden_layer_sizes=(4, 3), batch_norm=True, schedule="adaptive", max_iter=5
            ),
            Y,
        ),
        "MLPClassifier dropout adamw": (
            gdlab.MLPClassifier(
                hidden_layer_sizes=(5,), dropout=0.3, optimizer="adamw", max_iter=4
            ),
            LABELS,
        ),
    }


def _fitted(name: str) -> tuple[Any, np.ndarray]:
    model, y = _models()[name]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # ConvergenceWarning of short fits
        model.set_params(random_state=0).fit(X, y)
    return model, y


def _leaves(node: Any, path: str = "state") -> list[tuple[str, Any]]:
    if isinstance(node, dict):
        assert all(type(key) is str for key in node), path
        return [leaf for key, value in node.items() for leaf in _leaves(value, f"{path}.{key}")]
    if type(node) is list:
        return [leaf for i, value in enumerate(node) for leaf in _leaves(value, f"{path}[{i}]")]
    return [(path, node)]


def _continue(model: Any, y: np.ndarray) -> Any:
    model.set_params(warm_start=True, max_iter=2)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return model.fit(X, y)


def _assert_same(a: Any, b: Any) -> None:
    np.testing.assert_array_equal(a.predict(X), b.predict(X))
    if hasattr(a, "predict_proba"):
        np.testing.assert_array_equal(a.predict_proba(X), b.predict_proba(X))
    assert a.loss_curve_ == b.loss_curve_
    assert repr(a._train_state) == repr(b._train_state)


def test_every_registered_kind_is_covered() -> None:
    assert {name.split()[0] for name in _models()} == set(known())


@pytest.mark.parametrize("name", sorted(_models()))
def test_state_dict_holds_only_plain_data(name: str) -> None:
    model, _ = _fitted(name)
    state = model.state_dict()
    leaves = _leaves(state)
    odd = [
        (path, type(v).__name__) for path, v in leaves if not isinstance(v, (np.ndarray, *PLAIN))
    ]
    assert not odd
    assert all(type(v) in PLAIN for _, v in leaves if not isinstance(v, np.ndarray))
    assert isinstance(state["attributes"]["history_"], dict)
    assert isinstance(state["train_state"]["opt_state"], list | dict)
    # JSON holds everything but the arrays (non-finite floats aside)
    json.dumps(state, default=lambda a: a.tolist())


@pytest.mark.parametrize("name", sorted(_models()))
def test_round_trips_predict_and_continue_bit_identically(name: str, tmp_path: Path) -> None:
    model, y = _fitted(name)
    twin = type(model)(**model.get_params()).load_state_dict(copy.deepcopy(model.state_dict()))
    loaded = gdlab.load(model.save(tmp_path / "model.npz"))
    assert type(twin.history_) is type(model.history_)
    assert twin.history_.to_dict() == model.history_.to_dict() == loaded.history_.to_dict()
    for other in (twin, loaded):
        _assert_same(other, model)
    for estimator in (model, twin, loaded):
        _continue(estimator, y)
    for other in (twin, loaded):
        _assert_same(other, model)


def test_plateau_and_average_are_in_the_plain_optimizer_state() -> None:
    model, _ = _fitted("GDRegressor plateau average")
    opt_state = model.state_dict()["train_state"]["opt_state"]
    assert opt_state["namedtuple"] == "AverageState"
    inner = opt_state["fields"]["inner"]
    assert inner[1]["namedtuple"] == "PlateauState"
    assert inner[1]["fields"]["scale"] == model._train_state.plateau_state.scale


def test_wrong_optimizer_state_is_refused_naming_the_entry() -> None:
    model, _ = _fitted("MLPRegressor batch norm plateau")  # adam + plateau block
    fresh = type(model)(**model.get_params())
    state = model.state_dict()
    adam = state["train_state"]["opt_state"][0][0]
    assert adam["namedtuple"] == "AdamState"
    cases = {
        "opt_state[0][0] should be a AdamState (count, mu, nu)": {**adam, "namedtuple": "X"},
        "opt_state[0][0].mu has shape (2,)": {
            **adam,
            "fields": {**adam["fields"], "mu": np.ones(2)},
        },
        "opt_state[0][0].count should be a number": {
            **adam,
            "fields": {**adam["fields"], "count": "3"},
        },
    }
    for message, wrong in cases.items():
        bad = copy.deepcopy(state)
        bad["train_state"]["opt_state"][0][0] = wrong
        with pytest.raises(ValueError, match=re.escape(message)):
            fresh.load_state_dict(bad)
        assert not hasattr(fresh, "_train_state")  # nothing was set
    bad = copy.deepcopy(state)
    bad["train_state"]["opt_state"] = bad["train_state"]["opt_state"][0]
    with pytest.raises(ValueError, match="structure of this optimizer's state"):
        fresh.load_state_dict(bad)


def test_wrong_sections_history_and_attributes_are_refused() -> None:
    model, _ = _fitted("GDRegressor plateau average")
    fresh = type(model)(**model.get_params())
    state = model.state_dict()
    with pytest.raises(ValueError, match=r"missing \['seed'\]"):
        fresh.load_state_dict({k: v for k, v in state.items() if k != "seed"})
    bad = copy.deepcopy(state)
    bad["attributes"]["history_"]["loss"][1] = "x"
    with pytest.raises(ValueError, match=r"history_: The history's loss\[1\] should be a number"):
        fresh.load_state_dict(bad)
    bad = copy.deepcopy(state)
    bad["attributes"]["history_"]["epoch"].pop()
    with pytest.raises(ValueError, match="different lengths"):
        fresh.load_state_dict(bad)
    bad = copy.deepcopy(state)
    bad["train_state"]["params"] = np.zeros(7)
    with pytest.raises(ValueError, match=r"training parameters have shape \(7,\), expected \(4,\)"):
        fresh.load_state_dict(bad)
    bad = copy.deepcopy(state)
    bad["attributes"]["fit"] = 1
    with pytest.raises(ValueError, match="'fit' is not a fitted attribute name"):
        fresh.load_state_dict(bad)


def test_history_dicts_round_trip_with_the_path_as_an_array() -> None:
    model, _ = _fitted("GDRegressor early stopping")
    history = model.history_
    data = history.to_dict(params_as_array=True)
    assert isinstance(data["params"], np.ndarray) and data["params"].dtype == np.float64
    assert data["params"].shape == (len(history) + 1, 4)
    again = History.from_dict(data)
    assert again.to_dict() == history.to_dict()
    assert History.from_dict(history.to_dict()).to_dict() == history.to_dict()  # lists too
    net, _ = _fitted("MLPRegressor batch norm plateau")
    rebuilt = NetworkHistory.from_dict(net.history_.to_dict(params_as_array=True))
    assert rebuilt.layers == net.history_.layers and rebuilt.loss == net.history_.loss


@pytest.mark.parametrize("name", sorted(optim.OPTIMIZERS))
def test_every_optimizer_state_round_trips_as_plain_data(name: str) -> None:
    """After a few updates, the plain form rebuilt on the initial state's structure is the same
    state and updates on bit for bit (plateau block and averaging included)."""
    from gdlab._averaging import averaged

    rule = reduce_on_plateau(factor=0.5, patience=1)
    tx = averaged(
        with_plateau(optim.OPTIMIZERS[name](learning_rate=0.05), rule),
        start=2,
        n_samples=1,
        batch_size=None,
    )
    params, grads = np.array([1.0, -2.0, 0.5]), np.array([0.3, -0.1, 0.2])
    state = tx.init(params)
    for loss in (1.0, 2.0, 3.0):
        updates, state = tx.update(grads * loss, state, params)
        params = optim.apply_updates(params, updates)
        state, _ = tx.observe(state, loss)
    plain = to_plain(state)
    assert all(isinstance(v, (np.ndarray, *PLAIN)) for _, v in _leaves(plain))
    again = from_plain(copy.deepcopy(plain), tx.init(params))
    assert repr(again) == repr(state)
    for current in (state, again):
        updates, current = tx.update(grads, current, params)
        np.testing.assert_array_equal(updates, tx.update(grads, state, params)[0])


def test_io_tree_refuses_what_is_not_plain_data() -> None:
    for value, where in (((1, 2), "a"), (np.int64(3), "a"), ({1: 2}, "the top")):
        with pytest.raises(TypeError, match=r"plain data|keys of plain data"):
            encode_plain({"a": value} if where == "a" else value, {})
    arrays: dict[str, np.ndarray] = {}
    spec = encode_plain({"labels": np.array(["x", "y"], dtype=object), "nan": float("nan")}, arrays)
    back = decode_plain(json.loads(json.dumps(spec)), ArrayStore(arrays))
    assert back["labels"].dtype == object and back["labels"].tolist() == ["x", "y"]
    assert np.isnan(back["nan"])
