"""The scikit-learn estimators: linear models and multi-layer perceptrons trained by gdlab's engine.

Each estimator prepares a run (objective, optimizer, configuration, state) for the one training
loop in :mod:`gdlab.engine` and adopts its result; the modules inside are private:
``_base`` (the linear models' shared machinery), ``_linear`` (:class:`GDRegressor`,
:class:`GDClassifier`), ``_mlp_base`` and ``_mlp`` (:class:`MLPRegressor`,
:class:`MLPClassifier`), ``_units`` (standardization and target scaling).

Examples
--------
>>> import numpy as np
>>> from gdlab.estimators import GDRegressor
>>> X = np.random.default_rng(0).normal(size=(200, 2)); y = X @ [2.0, -1.0] + 5
>>> GDRegressor(random_state=0).fit(X, y).coef_.round(2)
array([ 2., -1.])
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover - for type checkers only
    from gdlab.estimators._linear import GDClassifier, GDRegressor
    from gdlab.estimators._mlp import MLPClassifier, MLPRegressor

__all__ = ["GDClassifier", "GDRegressor", "MLPClassifier", "MLPRegressor"]

# Imported on first use, so that importing one private module of this package (the settings
# tables, the units) does not import every estimator.
_HOME = {
    "GDClassifier": "_linear",
    "GDRegressor": "_linear",
    "MLPClassifier": "_mlp",
    "MLPRegressor": "_mlp",
}


def __getattr__(name: str) -> Any:
    if name not in _HOME:
        raise AttributeError(f"module 'gdlab.estimators' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"gdlab.estimators.{_HOME[name]}"), name)
    globals()[name] = value
    return value
