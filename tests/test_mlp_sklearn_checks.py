"""scikit-learn's estimator checks for MLPRegressor and MLPClassifier (defaults, and a small
network with batch norm and dropout). Every check passes, but one by design: weighting a row is
not repeating it for a network with batch norm and dropout (the batch statistics and the dropout
masks are per row, and the repeated rows fill other mini-batches)."""

from __future__ import annotations

import pytest
from sklearn.utils.estimator_checks import parametrize_with_checks

from gdlab.estimators._mlp import MLPClassifier, MLPRegressor

ESTIMATORS = [
    MLPRegressor(random_state=0),
    MLPClassifier(random_state=0),
    MLPClassifier((8, 8), batch_norm=True, dropout=0.1, batch_size=32, max_iter=30, random_state=0),
]


PER_ROW_BY_DESIGN = {
    "check_sample_weight_equivalence_on_dense_data": "batch norm and dropout act per row, "
    "so repeated rows are not weighted rows",
}


def _expected_failures(estimator):
    return PER_ROW_BY_DESIGN if estimator.batch_norm or estimator.dropout else {}


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@parametrize_with_checks(ESTIMATORS, expected_failed_checks=_expected_failures)
def test_scikit_learn_compatible(estimator, check):
    check(estimator)
