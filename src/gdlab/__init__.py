"""gdlab: gradient descent you can see, trust and scale.

Importing gdlab loads NumPy, SciPy and scikit-learn only; plotting, compiled kernels and the
command line are imported when first used.

Examples
--------
>>> import numpy as np
>>> import gdlab
>>> result = gdlab.minimize(lambda x: float(x @ x), np.ones(2), jac=lambda x: 2 * x,
...                         optimizer=gdlab.optim.sgd(learning_rate=0.25))
>>> result.x
array([0., 0.])
"""

from gdlab import losses, optim, schedules, testfunctions
from gdlab.closed_form import compare as compare_closed_form
from gdlab.closed_form import least_squares
from gdlab.estimators import GDClassifier, GDRegressor
from gdlab.exceptions import DivergenceError, GDLabError
from gdlab.history import EpochRecord, History
from gdlab.minimize import minimize

__version__ = "0.1.0"

__all__ = [
    "DivergenceError",
    "EpochRecord",
    "GDClassifier",
    "GDLabError",
    "GDRegressor",
    "History",
    "__version__",
    "compare_closed_form",
    "least_squares",
    "losses",
    "minimize",
    "optim",
    "schedules",
    "testfunctions",
]
