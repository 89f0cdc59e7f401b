"""Write model files and checkpoints in file format 1, for the compatibility tests.

Format 1 is what gdlab wrote until the estimators gave their state as plain data (issue 9, point 2:
format 2 stores the ``state_dict()`` tree generically). This script was run once with main at that
point (commit 7b6e1a0), so that the files hold what main wrote::

    .venv/bin/python scripts/make_format1_models.py

For each case of :func:`cases` it fits the estimator for ``epochs`` epochs, saving a checkpoint
after epoch ``at`` (from the fit's callback) and the final model, and writes into
``tests/data/format1/``:

* ``<case>.npz``: the fitted model (``gdlab.save``); ``<case>.ckpt``: the checkpoint;
* ``expected.json``: per case, the predictions (and probabilities) on ``X_test`` of the model, after
  three more epochs with ``warm_start=True``, and of the checkpoint resumed with ``warm_start=True``
  for the remaining epochs, all computed by the gdlab that wrote the files.

``tests/test_io_format1.py`` loads them with today's gdlab and compares, exactly.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path
from typing import Any

import numpy as np

import gdlab
from gdlab.io import load_checkpoint, save_checkpoint

OUT = Path(__file__).resolve().parents[1] / "tests" / "data" / "format1"


def data() -> dict[str, Any]:
    rng = np.random.default_rng(20261202)
    X = rng.normal(size=(64, 3)) * [1.0, 10.0, 0.1] + [0.0, 5.0, -1.0]
    y = X @ [1.5, -0.2, 4.0] + 0.5 + 0.1 * rng.normal(size=64)
    labels = np.array(["cat", "dog", "emu"])[(X[:, 0] > 0).astype(int) + (X[:, 2] > -1)]
    X_test = rng.normal(size=(7, 3)) * [1.0, 10.0, 0.1] + [0.0, 5.0, -1.0]
    return {"X": X, "y": y, "labels": labels, "X_test": X_test}


def cases() -> dict[str, tuple[Any, str, int, int]]:
    """name -> (estimator, target, epochs, checkpoint epoch)."""
    return {
        "gd_regressor_default": (gdlab.GDRegressor(random_state=1), "y", 0, 0),
        "gd_regressor_plateau_average": (
            gdlab.GDRegressor(
                schedule="adaptive",
                average=True,
                learning_rate=0.05,
                batch_size=8,
                max_iter=9,
                tol=None,
                n_iter_no_change=1,
                random_state=0,
            ),
            "y",
            9,
            5,
        ),
        "gd_classifier_early_stopping": (
            gdlab.GDClassifier(
                optimizer="adam",
                early_stopping=True,
                validation_fraction=0.2,
                schedule="adaptive",
                n_iter_no_change=3,
                learning_rate=0.02,
                batch_size=16,
                max_iter=8,
                random_state=2,
            ),
            "labels",
            8,
            4,
        ),
        "mlp_regressor_batch_norm": (
            gdlab.MLPRegressor(
                hidden_layer_sizes=(5, 4),
                batch_norm=True,
                schedule="adaptive",
                n_iter_no_change=1,
                learning_rate=0.01,
                batch_size=16,
                max_iter=6,
                tol=None,
                random_state=3,
            ),
            "y",
            6,
            3,
        ),
        "mlp_classifier_default": (gdlab.MLPClassifier(random_state=4), "labels", 0, 0),
        "mlp_classifier_dropout": (
            gdlab.MLPClassifier(
                hidden_layer_sizes=(6,),
                dropout=0.25,
                optimizer="rmsprop",
                learning_rate=0.01,
                batch_size=8,
                max_iter=5,
                tol=None,
                random_state=5,
            ),
            "labels",
            5,
            2,
        ),
    }


def outputs(model: Any, X: np.ndarray) -> dict[str, Any]:
    out = {"predict": np.asarray(model.predict(X)).tolist()}
    if hasattr(model, "predict_proba"):
        out["predict_proba"] = model.predict_proba(X).tolist()
    return out


def main() -> None:
    d = data()
    expected: dict[str, Any] = {k: np.asarray(v).tolist() for k, v in d.items()}
    for name, (model, target, epochs, at) in cases().items():
        y = d[target]
        path = OUT / f"{name}.ckpt"

        def callback(snapshot: Any, path: Path = path, at: int = at, name: str = name) -> None:
            if snapshot.n_iter_ == at:
                save_checkpoint(snapshot, path, metadata={"case": name})

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # ConvergenceWarning of short fits
            model.fit(d["X"], y, callback=callback if at else None)
            model.save(OUT / f"{name}.npz")
            entry: dict[str, Any] = {"target": target, "now": outputs(model, d["X_test"])}
            if at:
                resumed, _ = load_checkpoint(path)
                resumed.set_params(warm_start=True, max_iter=epochs - at)
                resumed.fit(d["X"], y)
                entry["resumed"] = outputs(resumed, d["X_test"])
                entry["checkpoint_epoch"] = at
                entry["epochs"] = epochs
            again = gdlab.load(OUT / f"{name}.npz")
            again.set_params(warm_start=True, max_iter=3)
            again.fit(d["X"], y)
            entry["continued"] = outputs(again, d["X_test"])
        expected[name] = entry
    (OUT / "expected.json").write_text(json.dumps(expected, indent=1) + "\n")


if __name__ == "__main__":
    main()
