"""gdlab: gradient descent you can see, trust and scale.

``import gdlab`` stays light (NumPy only): the estimators (scikit-learn), :func:`minimize`
(SciPy), plotting (matplotlib), compiled kernels (Numba) and the command line are imported the
first time they are used.

Examples
--------
>>> import numpy as np
>>> import gdlab
>>> result = gdlab.minimize(lambda x: float(x @ x), np.ones(2), jac=lambda x: 2 * x,
...                         optimizer=gdlab.optim.sgd(learning_rate=0.25))
>>> result.x
array([0., 0.])
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from gdlab import optim, schedules
from gdlab.exceptions import DivergenceError, GDLabError
from gdlab.history import EpochRecord, History

if TYPE_CHECKING:  # pragma: no cover - for type checkers and IDEs only
    from gdlab import data, losses, playground, testfunctions
    from gdlab._closed_form import compare as compare_closed_form
    from gdlab._closed_form import least_squares
    from gdlab._lr_finder import lr_find
    from gdlab._minimizer import minimize
    from gdlab._sweeps import sweep
    from gdlab.estimators._linear import GDClassifier, GDRegressor
    from gdlab.estimators._mlp import MLPClassifier, MLPRegressor
    from gdlab.io import load

__version__ = "0.1.0"

# public name -> (module, attribute or None for the module itself), imported on first access
_LAZY: dict[str, tuple[str, str | None]] = {
    "GDRegressor": ("gdlab.estimators._linear", "GDRegressor"),
    "GDClassifier": ("gdlab.estimators._linear", "GDClassifier"),
    "minimize": ("gdlab._minimizer", "minimize"),
    "least_squares": ("gdlab._closed_form", "least_squares"),
    "compare_closed_form": ("gdlab._closed_form", "compare"),
    "sweep": ("gdlab._sweeps", "sweep"),
    "lr_find": ("gdlab._lr_finder", "lr_find"),
    "load": ("gdlab.io", "load"),
    "losses": ("gdlab.losses", None),
    "testfunctions": ("gdlab.testfunctions", None),
    "playground": ("gdlab.playground", None),
    "MLPRegressor": ("gdlab.estimators._mlp", "MLPRegressor"),
    "MLPClassifier": ("gdlab.estimators._mlp", "MLPClassifier"),
    "data": ("gdlab.data", None),
}

__all__ = [
    "DivergenceError",
    "EpochRecord",
    "GDClassifier",
    "GDLabError",
    "GDRegressor",
    "History",
    "MLPClassifier",
    "MLPRegressor",
    "__version__",
    "compare_closed_form",
    "data",
    "least_squares",
    "load",
    "losses",
    "lr_find",
    "minimize",
    "optim",
    "playground",
    "schedules",
    "sweep",
    "testfunctions",
]


def __getattr__(name: str) -> Any:
    try:
        module_name, attribute = _LAZY[name]
    except KeyError:
        raise AttributeError(f"module 'gdlab' has no attribute {name!r}") from None
    module = importlib.import_module(module_name)
    value = module if attribute is None else getattr(module, attribute)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
