"""gdlab.io finds estimator classes in a registry the estimators fill, and never imports them
itself; estimators give and take their fitted state as plain data (state_dict/load_state_dict)."""

from __future__ import annotations

import subprocess
import sys
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from sklearn.exceptions import NotFittedError

import gdlab
from gdlab.io import load, register, save


def _data() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(3)
    X = rng.normal(size=(30, 2)) * [1.0, 20.0]
    y = X @ [2.0, 0.1] + 1.0 + rng.normal(size=30)
    return X, y, np.where(y > np.median(y), "hi", "lo")


def test_io_imports_no_estimator_and_load_registers_them(tmp_path: Path) -> None:
    X, y, _ = _data()
    path = gdlab.GDRegressor(max_iter=3, tol=None, random_state=0).fit(X, y).save(tmp_path / "m")
    code = (
        "import sys, gdlab.io\n"
        "assert 'gdlab.estimators._linear' not in sys.modules\n"
        "assert 'gdlab.estimators._base' not in sys.modules\n"
        f"model = gdlab.io.load({str(path)!r})\n"
        "print(type(model).__module__, type(model).__name__)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["gdlab.estimators._linear", "GDRegressor"]


def test_register_refuses_a_second_class_of_the_same_name() -> None:
    assert register(gdlab.GDRegressor) is gdlab.GDRegressor  # registering again is harmless

    class GDRegressor(gdlab.GDRegressor):  # a user's class with a gdlab name
        pass

    with pytest.raises(ValueError, match="already registered"):
        register(GDRegressor)


def test_unregistered_subclass_cannot_be_saved(tmp_path: Path) -> None:
    class Mine(gdlab.GDRegressor):
        pass

    X, y, _ = _data()
    model = Mine(max_iter=2, tol=None, random_state=0).fit(X, y)
    with pytest.raises(TypeError, match="gdlab can save GDClassifier and GDRegressor"):
        save(model, tmp_path / "mine.npz")


def _models() -> list[tuple[Any, str]]:
    return [
        (gdlab.GDRegressor(optimizer="adam", max_iter=4, tol=None, random_state=0), "y"),
        (gdlab.GDRegressor(), "y"),  # defaults
        (
            gdlab.GDClassifier(optimizer="sgd", momentum=0.9, max_iter=4, tol=None, random_state=1),
            "labels",
        ),
        (gdlab.MLPRegressor(hidden_layer_sizes=(3,), batch_norm=True, max_iter=3, tol=None), "y"),
        (gdlab.MLPClassifier(hidden_layer_sizes=(3,), dropout=0.2, max_iter=3, tol=None), "labels"),
    ]


@pytest.mark.parametrize("index", range(5))
def test_state_dict_round_trip_predicts_and_trains_on_identically(index: int) -> None:
    X, y, labels = _data()
    model, target = _models()[index]
    targets = y if target == "y" else labels
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # ConvergenceWarning of short fits
        model.fit(X, targets)
        state = model.state_dict()
        assert set(state) >= {"attributes", "seed", "scaling", "train_state"}
        assert state["train_state"]["epoch"] == model.n_iter_
        twin = type(model)(**model.get_params()).load_state_dict(state)
        np.testing.assert_array_equal(twin.predict(X), model.predict(X))
        for estimator in (model, twin):  # an exact warm start from the adopted state
            estimator.set_params(warm_start=True, max_iter=2)
            estimator.fit(X, targets)
    np.testing.assert_array_equal(twin.predict(X), model.predict(X))
    assert twin.loss_curve_ == model.loss_curve_


def test_state_dict_before_fit_says_not_fitted() -> None:
    for model in (gdlab.GDRegressor(), gdlab.MLPClassifier()):
        with pytest.raises(NotFittedError, match="not fitted yet"):
            model.state_dict()


def test_mlp_load_state_dict_refuses_coefs_that_are_not_the_parameters() -> None:
    X, y, _ = _data()
    net = gdlab.MLPRegressor(hidden_layer_sizes=(2,), max_iter=2, tol=None, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        state = net.fit(X, y).state_dict()
    state["attributes"]["coefs_"] = [w + 1.0 for w in state["attributes"]["coefs_"]]
    with pytest.raises(ValueError, match="do not match the saved training parameters"):
        gdlab.MLPRegressor(hidden_layer_sizes=(2,)).load_state_dict(state)


def test_load_roundtrip_through_io(tmp_path: Path) -> None:
    X, _, labels = _data()
    model = gdlab.GDClassifier(max_iter=3, tol=None, random_state=0).fit(X, labels)
    again = load(save(model, tmp_path / "c.npz"))
    np.testing.assert_array_equal(again.predict_proba(X), model.predict_proba(X))
