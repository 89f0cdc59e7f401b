"""Write model files and a checkpoint with this gdlab, for the compatibility tests.

Run once with the gdlab whose files must keep loading (it was run with main before the
``gdlab.io`` redesign of issue 9)::

    .venv/bin/python scripts/make_legacy_models.py

It writes into ``tests/data/legacy/``:

* ``gd_regressor.npz``, ``gd_regressor_default.npz``, ``gd_classifier.npz``,
  ``mlp_regressor.npz``, ``mlp_classifier.npz``: fitted estimators saved with ``model.save``;
* ``cli_run.ckpt``: the checkpoint of ``gdlab fit data.csv --target y --epochs 4 --checkpoint``
  (``cli_data.csv`` is its data), and the predictions after resuming it to 6 epochs with
  ``--resume``;
* ``expected.json``: for each file, the predictions (and probabilities) on ``X_test`` and those
  after three more epochs with ``warm_start=True`` on the training data, computed by the gdlab
  that wrote the files. ``tests/test_io_legacy.py`` loads the files with today's gdlab and
  compares, exactly.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import pandas

import gdlab
from gdlab.io import load_checkpoint

OUT = Path(__file__).resolve().parents[1] / "tests" / "data" / "legacy"


def data() -> dict[str, Any]:
    rng = np.random.default_rng(20261201)
    X = rng.normal(size=(60, 3)) * [1.0, 10.0, 0.1] + [0.0, 5.0, -1.0]
    y = X @ [1.5, -0.2, 4.0] + 0.5 + 0.1 * rng.normal(size=60)
    labels = np.array(["cat", "dog", "emu"])[(X[:, 0] > 0).astype(int) + (X[:, 2] > -1)]
    X_test = rng.normal(size=(7, 3)) * [1.0, 10.0, 0.1] + [0.0, 5.0, -1.0]
    return {"X": X, "y": y, "labels": labels, "X_test": X_test}


def models() -> dict[str, tuple[Any, str]]:
    return {
        "gd_regressor": (
            gdlab.GDRegressor(
                optimizer="adam",
                learning_rate=0.05,
                batch_size=8,
                max_iter=6,
                tol=None,
                random_state=0,
            ),
            "y",
        ),
        "gd_regressor_default": (gdlab.GDRegressor(max_iter=5, random_state=1), "y"),
        "gd_classifier": (
            gdlab.GDClassifier(
                optimizer="sgd",
                momentum=0.9,
                learning_rate=0.05,
                batch_size=16,
                max_iter=5,
                tol=None,
                random_state=2,
            ),
            "labels",
        ),
        "mlp_regressor": (
            gdlab.MLPRegressor(
                hidden_layer_sizes=(5,),
                batch_norm=True,
                max_iter=4,
                tol=None,
                batch_size=16,
                random_state=3,
            ),
            "y",
        ),
        "mlp_classifier": (
            gdlab.MLPClassifier(
                hidden_layer_sizes=(4, 3),
                dropout=0.1,
                max_iter=4,
                tol=None,
                batch_size=16,
                random_state=4,
            ),
            "labels",
        ),
    }


def outputs(model: Any, X: Any) -> dict[str, Any]:
    result: dict[str, Any] = {"predict": np.asarray(model.predict(X)).tolist()}
    if hasattr(model, "predict_proba"):
        result["predict_proba"] = np.asarray(model.predict_proba(X)).tolist()
    return result


def record(model: Any, d: dict[str, Any], target: str) -> dict[str, Any]:
    """Predictions now, and after three more epochs of a warm start."""
    now = outputs(model, d["X_test"])
    model.set_params(warm_start=True, max_iter=3)
    model.fit(d["X"], d[target])
    return {"target": target, "now": now, "continued": outputs(model, d["X_test"])}


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    d = data()
    expected: dict[str, Any] = {
        "gdlab_version": gdlab.__version__,
        "X": d["X"].tolist(),
        "y": d["y"].tolist(),
        "labels": d["labels"].tolist(),
        "X_test": d["X_test"].tolist(),
    }
    for name, (model, target) in models().items():
        model.fit(d["X"], d[target])
        model.save(OUT / f"{name}.npz")
        expected[name] = record(model, d, target)
    csv = OUT / "cli_data.csv"
    table = np.column_stack([d["X"], d["y"]])
    rows = ["a,b,c,y"] + [",".join(repr(float(v)) for v in row) for row in table]
    csv.write_text("\n".join(rows) + "\n")
    ckpt = OUT / "cli_run.ckpt"
    ckpt.unlink(missing_ok=True)
    gdlab_command = str(Path(sys.executable).parent / "gdlab")
    command = [gdlab_command, "fit", str(csv), "--target", "y", "--epochs", "4",
               "--checkpoint", str(ckpt), "--quiet"]  # fmt: skip
    subprocess.run(command, check=True, cwd=OUT, capture_output=True)
    model, metadata = load_checkpoint(ckpt)
    frame = pandas.DataFrame(d["X_test"], columns=["a", "b", "c"])
    expected["cli_run"] = {"metadata": metadata, "now": outputs(model, frame)}
    with tempfile.TemporaryDirectory() as folder:  # resume the run to 6 epochs with the CLI
        copy, out = Path(folder) / "run.ckpt", Path(folder) / "model.npz"
        shutil.copy(ckpt, copy)
        resume = [gdlab_command, "fit", str(csv), "--target", "y", "--epochs", "6",
                  "--checkpoint", str(copy), "--resume", "--model-out", str(out)]  # fmt: skip
        subprocess.run(resume, check=True, cwd=folder, capture_output=True)
        expected["cli_run"]["resumed"] = outputs(gdlab.load(out), frame)
    (OUT / "expected.json").write_text(json.dumps(expected, indent=1) + "\n")


if __name__ == "__main__":
    main()
