"""Regenerate tests/data/standardize_references.json: coefficients, intercepts and loss curves of
fits with ``standardize=True`` on data large enough for the compiled path.

The numbers were first computed on main before the fits stopped making a standardized copy of
``X`` (issue 8 point 5); ``tests/test_standardize_on_read.py`` asserts that every fit still gives
them bit for bit. Regenerated once since, on purpose: the compiled optimizer update now rounds
as the NumPy path does (``gdlab.backends._rounding``: no fused multiply-add), which moved the
compiled fits' last bits. Run: ``python scripts/make_standardize_references.py``.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from gdlab import GDClassifier, GDRegressor

OUT = Path(__file__).resolve().parents[1] / "tests" / "data" / "standardize_references.json"
ROWS, COLUMNS = 20_000, 60  # 1.2 million values: the compiled scan and epochs

SGD_1 = {"optimizer": "sgd", "batch_size": 1, "learning_rate": 1e-3}
#: name -> (estimator, settings, float32, sample weights, classification)
CASES: dict[str, tuple[Any, dict[str, Any], bool, bool, bool]] = {
    "default": (GDRegressor, {}, False, False, False),
    "sgd_batch_1": (GDRegressor, SGD_1, False, False, False),
    "default_float32": (GDRegressor, {}, True, False, False),
    "default_weighted": (GDRegressor, {}, False, True, False),
    "adam_no_intercept": (GDRegressor, {"fit_intercept": False}, False, False, False),
    "sgd_no_shuffle": (GDRegressor, {"shuffle": False}, False, False, False),
    "full_batch": (GDRegressor, {"batch_size": None, "optimizer": "sgd"}, False, False, False),
    "early_stopping": (GDRegressor, {"early_stopping": True}, False, False, False),
    "classifier_default": (GDClassifier, {}, False, False, True),
    "warm_start": (GDRegressor, {"warm_start": True}, False, False, False),
    "partial_fit": (GDRegressor, {}, False, False, False),
}


def make_data(float32: bool, classification: bool) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(8)
    X = rng.normal(size=(ROWS, COLUMNS)) * np.logspace(-2, 2, COLUMNS)
    X = X + np.linspace(-30, 30, COLUMNS)
    signal = (X - X.mean(axis=0)) / X.std(axis=0) @ rng.normal(size=COLUMNS)
    y = 3.0 + 5.0 * signal + rng.normal(size=ROWS)
    if classification:
        y = (signal + 0.3 * rng.normal(size=ROWS) > 0).astype(int)
    return (X.astype(np.float32) if float32 else X), y


def fit(name: str) -> Any:
    estimator, settings, float32, weighted, classification = CASES[name]
    X, y = make_data(float32, classification)
    weight = np.random.default_rng(9).uniform(0.0, 2.0, ROWS) if weighted else None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if name == "partial_fit":  # two calls of one epoch each
            model = estimator(random_state=0, **settings)
            return model.partial_fit(X, y).partial_fit(X, y)
        if name == "warm_start":  # two calls of one epoch each, the second from the first
            model = estimator(max_iter=1, tol=None, random_state=0, **settings)
            return model.fit(X, y).fit(X, y)
        model = estimator(max_iter=2, tol=None, random_state=0, **settings)
        return model.fit(X, y, sample_weight=weight)


def record(model: Any) -> dict[str, Any]:
    return {
        "coef": [float(v).hex() for v in np.ravel(model.coef_)],
        "intercept": [float(v).hex() for v in np.ravel(model.intercept_)],
        "loss_curve": [float(v).hex() for v in model.loss_curve_],
        "backend": model.history_.backend,
    }


def main() -> None:
    references = {name: record(fit(name)) for name in CASES}
    OUT.write_text(json.dumps(references, indent=1) + "\n")
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
