"""scikit-learn's estimator checks for MLPRegressor and MLPClassifier (defaults, and a small
network with batch norm and dropout). Every check passes; none is an expected failure."""

from __future__ import annotations

import pytest
from sklearn.utils.estimator_checks import parametrize_with_checks

from gdlab.mlp import MLPClassifier, MLPRegressor

ESTIMATORS = [
    MLPRegressor(random_state=0),
    MLPClassifier(random_state=0),
    MLPClassifier((8, 8), batch_norm=True, dropout=0.1, batch_size=32, max_iter=30, random_state=0),
]


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@parametrize_with_checks(ESTIMATORS)
def test_scikit_learn_compatible(estimator, check):
    check(estimator)
