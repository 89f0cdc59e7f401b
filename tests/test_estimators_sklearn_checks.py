"""scikit-learn's estimator checks for GDRegressor and GDClassifier.

Four instances: the defaults (Adam, mini-batches of 32, shuffled), and the reference paths
(plain full-batch gradient descent on standardized features: without them plain GD at a fixed
rate diverges on the checks' unscaled data, as it should, with a DivergenceError; the hinge loss
with momentum). Every check passes; none is listed as an
expected failure. The sample-weight equivalence check fits 15 weighted rows against their
repetitions (about 30 rows), which both fit in one batch of 32, so there weighting and repeating
are the same mean loss; with several shuffled mini-batches per epoch they would not be (the
batches differ), which is why ``tests/test_regressor.py`` checks that equivalence for full-batch
training only.
"""

from __future__ import annotations

import pytest
from sklearn.utils.estimator_checks import parametrize_with_checks

from gdlab import GDClassifier, GDRegressor

ESTIMATORS = [
    GDRegressor(random_state=0),
    GDRegressor(
        optimizer="sgd",
        batch_size=None,
        learning_rate=0.1,
        max_iter=100,
        standardize=True,
        random_state=0,
    ),
    GDClassifier(random_state=0),
    GDClassifier(loss="hinge", optimizer="sgd", momentum=0.9, max_iter=50, random_state=0),
]


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@parametrize_with_checks(ESTIMATORS)
def test_scikit_learn_compatible(estimator, check):
    check(estimator)
