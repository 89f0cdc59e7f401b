"""``gdlab predict`` always predicts in fixed-size row chunks and shows rows, rows/s and time
left on a terminal only.

A terminal is faked with ``CliRunner(env={"TTY_COMPATIBLE": "1"})``. The chunk size is made small
(``CHUNK_ROWS``) so that the data spans several chunks while the tests stay fast.
"""

from __future__ import annotations

import importlib
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

import gdlab
from gdlab.cli import cli
from gdlab.io import save

predict_module = importlib.import_module("gdlab.cli.predict")  # the module, not the command

TERMINAL = {"TTY_COMPATIBLE": "1"}
ROWS = 1_000
CHUNK = 96  # ROWS is not a multiple of it: the last chunk is partial


def _frame(seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(ROWS, 3))
    frame = pd.DataFrame(X, columns=["a", "b", "c"])
    frame["y"] = X @ [1.0, -2.0, 0.5] + 3 + 0.1 * rng.normal(size=ROWS)
    frame["y2"] = np.sin(X[:, 0]) - X[:, 1] * X[:, 2]
    frame["label"] = np.where(X[:, 0] + 0.5 * X[:, 1] > 0, "up", "down")
    return frame


def _models() -> dict[str, tuple[object, str, list[str]]]:
    """name -> (fitted model, the frame's target columns, predict's extra options)."""
    X = _frame()[["a", "b", "c"]]
    frame = _frame()
    return {
        "linear default": (gdlab.GDRegressor().fit(X, frame["y"]), "y", []),
        "classifier proba": (
            gdlab.GDClassifier(loss="log_loss", max_iter=20).fit(X, frame["label"]),
            "label",
            ["--proba"],
        ),
        "multi-output": (gdlab.GDRegressor().fit(X, frame[["y", "y2"]]), "y,y2", []),
        "mlp regressor": (
            gdlab.MLPRegressor(hidden_layer_sizes=(8,), max_iter=5).fit(X, frame["y2"]),
            "y2",
            [],
        ),
        "mlp classifier proba": (
            gdlab.MLPClassifier(hidden_layer_sizes=(8,), max_iter=5).fit(X, frame["label"]),
            "label",
            ["--proba"],
        ),
    }


NAMES = ["linear default", "classifier proba", "multi-output", "mlp regressor",
         "mlp classifier proba"]  # fmt: skip


@pytest.fixture(scope="module")
def models() -> dict[str, tuple[object, str, list[str]]]:
    with warnings.catch_warnings():  # short fits: the models need not converge
        warnings.simplefilter("ignore")
        built = _models()
    assert list(built) == NAMES
    return built


@pytest.fixture(scope="module")
def data_csv(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("predict-progress") / "data.csv"
    _frame(seed=1).to_csv(path, index=False)
    return path


@pytest.mark.parametrize("name", NAMES)
def test_chunked_file_is_the_same_everywhere_and_matches_the_library(
    name, models, data_csv, tmp_path, monkeypatch
):
    monkeypatch.setattr(predict_module, "CHUNK_ROWS", CHUNK)
    model, target, extra = models[name]
    model_path = tmp_path / "model.npz"
    save(model, model_path, metadata={"target": target})
    written = {}
    ways = [("terminal", TERMINAL, []), ("piped", None, []), ("quiet", None, ["-q"])]
    for how, env, quiet in ways:
        out = tmp_path / f"{how}.csv"
        args = ["predict", str(model_path), str(data_csv), "--out", str(out), *extra, *quiet]
        result = CliRunner(env=env).invoke(cli, args)
        assert result.exit_code == 0, result.output
        written[how] = out.read_bytes()
        if how == "terminal":
            assert f"{ROWS:,}/{ROWS:,} rows" in result.stderr and "rows/s" in result.stderr
        else:
            assert result.stderr == ""  # nothing extra when piped or with -q
    assert written["terminal"] == written["piped"] == written["quiet"]

    # the oracle: the library's one call over every row; chunking may change the last bits only
    frame = pd.read_csv(tmp_path / "piped.csv")
    X = pd.read_csv(data_csv)[["a", "b", "c"]]
    expected = np.asarray(model.predict(X))  # type: ignore[attr-defined]
    if expected.ndim == 2:
        got = frame[[f"prediction_{t}" for t in target.split(",")]].to_numpy()
    else:
        got = frame["prediction"].to_numpy()
    if expected.dtype.kind in "fc":
        np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-12 * np.abs(expected).max())
    else:
        np.testing.assert_array_equal(got.astype(str), expected.astype(str))
    if "--proba" in extra:
        probabilities = model.predict_proba(X)  # type: ignore[attr-defined]
        classes = model.classes_  # type: ignore[attr-defined]
        got = frame[[f"proba_{label}" for label in classes]].to_numpy()
        np.testing.assert_allclose(got, probabilities, rtol=1e-12, atol=1e-15)


def test_every_chunk_is_one_model_call_of_at_most_chunk_rows(
    models, data_csv, tmp_path, monkeypatch
):
    monkeypatch.setattr(predict_module, "CHUNK_ROWS", CHUNK)
    sizes: list[int] = []
    original = gdlab.GDRegressor.predict

    def counting(self, X):
        sizes.append(len(X))
        return original(self, X)

    monkeypatch.setattr(gdlab.GDRegressor, "predict", counting)
    model, target, _ = models["linear default"]
    model_path = tmp_path / "model.npz"
    save(model, model_path, metadata={"target": target})
    out = tmp_path / "p.csv"
    result = CliRunner().invoke(cli, ["predict", str(model_path), str(data_csv), "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert sizes == [CHUNK] * (ROWS // CHUNK) + [ROWS % CHUNK]


def test_default_chunk_is_one_call_for_small_data(models, data_csv, tmp_path):
    """With the default CHUNK_ROWS a file under 65,536 rows is predicted exactly as one call."""
    assert predict_module.CHUNK_ROWS == 65_536
    model, target, _ = models["linear default"]
    model_path = tmp_path / "model.npz"
    save(model, model_path, metadata={"target": target})
    out = tmp_path / "p.csv"
    result = CliRunner(env=TERMINAL).invoke(
        cli, ["predict", str(model_path), str(data_csv), "-o", str(out)]
    )
    assert result.exit_code == 0, result.output
    assert "rows/s" in result.stderr and "0:00:0" in result.stderr  # rate and time left
    X = pd.read_csv(data_csv)[["a", "b", "c"]]
    np.testing.assert_array_equal(pd.read_csv(out)["prediction"], model.predict(X))  # type: ignore[attr-defined]
