"""scikit-learn's estimator checks for the estimator features of issue 12.

The new losses (modified_huber with its probabilities, squared_hinge, perceptron, the
epsilon-insensitive losses, poisson with positive targets), named schedules, class weights,
multi-output regression and averaging each go through every check, none listed as an expected
failure except four of class_weight="balanced", which fail for scikit-learn's SGDClassifier
(class_weight="balanced") too, by design: its partial_fit refuses "balanced" (the counts of one call
are not those of the data), and "balanced" counts the rows given, not their weights, so weighted
rows and repeated rows are weighted differently.
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
    GDClassifier(class_weight="balanced", average=True, schedule="multistep_decay", random_state=0),
    GDRegressor(average=10, schedule="polynomial_decay", random_state=0),  # also multi-output
]


BALANCED_BY_DESIGN = {
    "check_fit_score_takes_y": "partial_fit refuses class_weight='balanced'",
    "check_n_features_in_after_fitting": "partial_fit refuses class_weight='balanced'",
    "check_estimators_partial_fit_n_features": "partial_fit refuses class_weight='balanced'",
    "check_sample_weight_equivalence_on_dense_data": "'balanced' counts rows, not weights",
    "check_sample_weight_equivalence_on_sparse_data": "'balanced' counts rows, not weights",
}


def _expected_failures(estimator):
    if getattr(estimator, "class_weight", None) == "balanced":
        return BALANCED_BY_DESIGN
    if (
        isinstance(estimator, GDRegressor)
        and estimator.optimizer == "adam"
        and estimator.loss == "squared_error"
    ):
        return {  # as in test_estimators_sklearn_checks: the default Adam regressor
            "check_sample_weight_equivalence_on_dense_data": "rounding of the standardization "
            "amplified by Adam's fixed-rate steps (see test_estimators_sklearn_checks)"
        }
    return {}


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@parametrize_with_checks(ESTIMATORS, expected_failed_checks=_expected_failures)
def test_scikit_learn_compatible(estimator, check):
    check(estimator)
