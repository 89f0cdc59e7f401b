"""Model files and a checkpoint written before the ``gdlab.io`` redesign still load, exactly.

The files in ``tests/data/legacy/`` were written by ``scripts/make_legacy_models.py`` with the gdlab
of main before issue 9; ``expected.json`` holds that gdlab's predictions from them, and after three
more warm-started epochs (for the checkpoint: after resuming it with ``gdlab fit --resume``).
"""

from __future__ import annotations

import json
import shutil
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

import gdlab
from gdlab.cli import cli as cli_main
from gdlab.io import load_checkpoint

LEGACY = Path(__file__).parent / "data" / "legacy"
EXPECTED = json.loads((LEGACY / "expected.json").read_text())
MODELS = [
    "gd_regressor",
    "gd_regressor_default",
    "gd_classifier",
    "mlp_regressor",
    "mlp_classifier",
]


def _check_outputs(model: Any, X: Any, expected: dict[str, Any]) -> None:
    np.testing.assert_array_equal(np.asarray(model.predict(X)), np.asarray(expected["predict"]))
    if "predict_proba" in expected:
        np.testing.assert_array_equal(model.predict_proba(X), np.asarray(expected["predict_proba"]))


@pytest.mark.parametrize("name", MODELS)
def test_legacy_model_predicts_as_before(name: str) -> None:
    model = gdlab.load(LEGACY / f"{name}.npz")
    _check_outputs(model, np.asarray(EXPECTED["X_test"]), EXPECTED[name]["now"])


@pytest.mark.parametrize("name", MODELS)
def test_legacy_model_continues_training_as_before(name: str) -> None:
    expected = EXPECTED[name]
    model = gdlab.load(LEGACY / f"{name}.npz")
    model.set_params(warm_start=True, max_iter=3)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # ConvergenceWarning after three epochs
        model.fit(np.asarray(EXPECTED["X"]), np.asarray(EXPECTED[expected["target"]]))
    _check_outputs(model, np.asarray(EXPECTED["X_test"]), expected["continued"])


def test_legacy_cli_checkpoint_loads_and_resumes(tmp_path: Path) -> None:
    expected = EXPECTED["cli_run"]
    frame = pd.DataFrame(EXPECTED["X_test"], columns=["a", "b", "c"])
    model, metadata = load_checkpoint(LEGACY / "cli_run.ckpt")
    assert metadata == expected["metadata"]
    _check_outputs(model, frame, expected["now"])
    checkpoint, out = tmp_path / "run.ckpt", tmp_path / "model.npz"
    shutil.copy(LEGACY / "cli_run.ckpt", checkpoint)
    data = tmp_path / "cli_data.csv"
    shutil.copy(LEGACY / "cli_data.csv", data)
    arguments = ["fit", str(data), "--target", "y", "--epochs", "6", "--checkpoint",
                 str(checkpoint), "--resume", "--model-out", str(out)]  # fmt: skip
    result = CliRunner().invoke(cli_main, arguments)
    assert result.exit_code == 0, result.output
    assert "Continuing the finished run" in result.output
    assert "after epoch 4, up to 6" in result.output
    _check_outputs(gdlab.load(out), frame, expected["resumed"])
