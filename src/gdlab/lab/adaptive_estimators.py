"""Experiment 10: gdlab's scikit-learn style estimators with an adaptive rate, beside sklearn's."""

from __future__ import annotations

import warnings
from typing import Any

from sklearn.exceptions import ConvergenceWarning

from gdlab.estimators._linear import GDClassifier, GDRegressor
from gdlab.history import History
from gdlab.lab.experiment import Experiment, Table, fmt, new_figure
from gdlab.lab.lesson_data import multivariate_data

__all__ = ["draw", "run"]

EPOCHS = 20


def run(seed: int = 42, fast: bool = False) -> Experiment:
    """GDRegressor / GDClassifier with ``schedule="adaptive"`` against scikit-learn's SGD models."""
    from sklearn.datasets import load_breast_cancer
    from sklearn.linear_model import SGDClassifier, SGDRegressor
    from sklearn.model_selection import train_test_split
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    data = multivariate_data(seed)
    Xr_train, Xr_test, yr_train, yr_test = train_test_split(
        data.X, data.y, test_size=0.25, random_state=seed
    )
    Xc, yc = load_breast_cancer(return_X_y=True)
    Xc_train, Xc_test, yc_train, yc_test = train_test_split(
        Xc, yc, test_size=0.25, random_state=seed, stratify=yc
    )
    common: dict[str, Any] = {
        "schedule": "adaptive",
        "learning_rate": 0.01,
        "random_state": seed,
        "max_iter": EPOCHS,
    }
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        reg = GDRegressor(optimizer="sgd", batch_size=1, standardize=True, **common)
        reg.fit(Xr_train, yr_train)
        clf = GDClassifier(optimizer="sgd", batch_size=1, standardize=True, **common)
        clf.fit(Xc_train, yc_train)
        sk_reg = make_pipeline(
            StandardScaler(),
            SGDRegressor(learning_rate="adaptive", eta0=0.01, max_iter=EPOCHS, random_state=seed),
        ).fit(Xr_train, yr_train)
        sk_clf = make_pipeline(
            StandardScaler(),
            SGDClassifier(
                loss="log_loss",
                learning_rate="adaptive",
                eta0=0.01,
                max_iter=EPOCHS,
                random_state=seed,
            ),
        ).fit(Xc_train, yc_train)
    table = Table(
        f"Held-out scores (25% test split), adaptive learning rate from 0.01, at most {EPOCHS} "
        "epochs",
        ["task", "model", "test score", "epochs", "final learning rate"],
        note=(
            "Regression: the lesson's three-feature data, R^2. Classification: scikit-learn's "
            "bundled breast-cancer data (30 features), accuracy. Both libraries standardize the "
            "features and update after every sample."
        ),
    )
    scores: list[float] = []
    for task, name, model, X_test, y_test in (
        ("regression", "gdlab GDRegressor", reg, Xr_test, yr_test),
        ("regression", "scikit-learn SGDRegressor", sk_reg, Xr_test, yr_test),
        ("classification", "gdlab GDClassifier", clf, Xc_test, yc_test),
        ("classification", "scikit-learn SGDClassifier", sk_clf, Xc_test, yc_test),
    ):
        scores.append(float(model.score(X_test, y_test)))
        table.add(task, name, fmt(scores[-1]), *_epochs_and_final_rate(model))
    return Experiment(
        key="10_estimators",
        title="Estimators in the scikit-learn style, with an adaptive rate",
        source="Lesson 003: gradient descent in scikit-learn (SGDRegressor, SGDClassifier)",
        explanation=[
            "gdlab's GDRegressor and GDClassifier follow scikit-learn's estimator contract, so "
            "they drop into the same code: fit, predict, score. Here both use per-sample updates "
            "with the 'adaptive' rate (divided by five whenever the loss stalls), as in the "
            "lesson's scikit-learn example, and reach the same held-out scores as scikit-learn's "
            "own SGD estimators.",
            "The top panels show the training loss per epoch, the bottom ones the learning rate: "
            "it steps down only where the loss has flattened, and a run whose loss is still "
            "improving keeps its starting rate.",
        ],
        tables=[table],
        numbers=dict(
            zip(
                ("gdlab_r2", "sklearn_r2", "gdlab_accuracy", "sklearn_accuracy"),
                scores,
                strict=True,
            )
        ),
        data={"histories": {"GDRegressor": reg.history_, "GDClassifier": clf.history_}},
        draw=draw,
    )


def _epochs_and_final_rate(model: Any) -> tuple[int, str]:
    """Epochs run and the last learning rate; a scikit-learn pipeline does not record its rate."""
    if not hasattr(model, "history_"):
        return model[-1].n_iter_, "-"
    rates = [r for r in model.history_.learning_rate if r is not None]
    return model.n_iter_, fmt(rates[-1], 3)


def draw(experiment: Experiment) -> object:
    """Training loss and learning rate per epoch for the two gdlab estimators."""
    from gdlab import viz

    histories: dict[str, History] = experiment.data["histories"]
    figure, axes = new_figure(2, 2, (14, 9))
    for j, (name, history) in enumerate(histories.items()):
        viz.plot_loss_curve(
            history,
            axes[0, j],
            title=f"{name}: training loss",
            ylabel="squared error" if j == 0 else "log loss",
        )
        rates = [float(r) for r in history.learning_rate if r is not None]
        viz.plot_loss_curve(
            rates,
            axes[1, j],
            title=f"{name}: learning rate per epoch",
            ylabel="learning rate",
            color="darkorange",
        )
    figure.suptitle("Adaptive learning rate in the scikit-learn style estimators", fontsize=14)
    return figure
