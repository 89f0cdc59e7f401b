"""Model files and checkpoints of file format 1, written by main just before the estimators gave
their state as plain data (``tests/data/format1/``, ``scripts/make_format1_models.py``), still load,
predict, continue and resume exactly as main did, and are saved again in today's format.

``expected.json`` holds main's own numbers for each file: its predictions, those after three more
warm-started epochs, and those of the checkpoint resumed to the end of its fit (which main found
equal to the uninterrupted fit's).
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import gdlab
from gdlab.io import FORMAT_VERSION, load_checkpoint

DATA = Path(__file__).parent / "data" / "format1"
EXPECTED = json.loads((DATA / "expected.json").read_text())
CASES = sorted(name for name in EXPECTED if isinstance(EXPECTED[name], dict))
RESUMED = [name for name in CASES if "resumed" in EXPECTED[name]]


def _header(path: Path) -> dict[str, Any]:
    return json.loads(bytes(np.load(path)["gdlab_header"]).decode())


def _check_outputs(model: Any, expected: dict[str, Any]) -> None:
    X = np.asarray(EXPECTED["X_test"])
    np.testing.assert_array_equal(np.asarray(model.predict(X)), np.asarray(expected["predict"]))
    if "predict_proba" in expected:
        np.testing.assert_array_equal(model.predict_proba(X), np.asarray(expected["predict_proba"]))


def _fit(model: Any, case: str, **settings: Any) -> Any:
    model.set_params(warm_start=True, **settings)
    target = np.asarray(EXPECTED[EXPECTED[case]["target"]])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # ConvergenceWarning of short fits
        return model.fit(np.asarray(EXPECTED["X"]), target)


def test_the_files_are_format_1() -> None:
    assert FORMAT_VERSION == 2
    assert {_header(path)["format_version"] for path in DATA.glob("*.npz")} == {1}
    assert len(CASES) == 6 and len(RESUMED) == 4


@pytest.mark.parametrize("case", CASES)
def test_format1_model_predicts_and_continues_as_main(case: str) -> None:
    model = gdlab.load(DATA / f"{case}.npz")
    _check_outputs(model, EXPECTED[case]["now"])
    _check_outputs(_fit(model, case, max_iter=3), EXPECTED[case]["continued"])


@pytest.mark.parametrize("case", RESUMED)
def test_format1_checkpoint_resumes_bit_identically(case: str) -> None:
    expected = EXPECTED[case]
    model, metadata = load_checkpoint(DATA / f"{case}.ckpt")
    assert metadata == {"case": case}
    assert model.n_iter_ == expected["checkpoint_epoch"]
    remaining = expected["epochs"] - expected["checkpoint_epoch"]
    _check_outputs(_fit(model, case, max_iter=remaining), expected["resumed"])
    assert expected["resumed"] == expected["now"]  # main: resumed == uninterrupted


@pytest.mark.parametrize("case", RESUMED)
def test_format1_checkpoint_saved_again_in_format_2_is_the_same(case: str, tmp_path: Path) -> None:
    old, _ = load_checkpoint(DATA / f"{case}.ckpt")
    path = old.save(tmp_path / "again.npz")
    assert _header(path)["format_version"] == FORMAT_VERSION
    new = gdlab.load(path)
    assert repr(new._train_state) == repr(old._train_state)  # optimizer state included
    assert new.history_.to_dict() == old.history_.to_dict()
    remaining = EXPECTED[case]["epochs"] - EXPECTED[case]["checkpoint_epoch"]
    _check_outputs(_fit(new, case, max_iter=remaining), EXPECTED[case]["resumed"])
