"""scikit-learn estimators trained by the engine: :class:`GDRegressor` and :class:`GDClassifier`."""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray
from scipy.special import expit, softmax
from sklearn.base import ClassifierMixin, RegressorMixin
from sklearn.utils.metaestimators import available_if
from sklearn.utils.multiclass import check_classification_targets

from gdlab import losses
from gdlab.estimators._base import BaseGD
from gdlab.estimators._options import class_sample_weight
from gdlab.estimators._sgd_targets import check_counts, modified_huber_proba, poisson_intercept
from gdlab.estimators._source_prep import SourceScore
from gdlab.io import register

Array = NDArray[np.floating[Any]]

__all__ = ["GDClassifier", "GDRegressor"]

_SHARED_PARAMETERS = """
    penalty : {None, "l2", "l1", "elasticnet"}, default None
        Penalty ``alpha * R(w)`` with ``R = ||w||^2 / 2`` (l2), ``||w||_1`` (l1) or their mix.
    alpha : float, default 0.0001
        Strength of the penalty.
    l1_ratio : float, default 0.15
        Share of L1 in the elastic net.
    fit_intercept : bool, default True
    optimizer : str or GradientTransformation, default "adam"
        The update rule: "sgd", "momentum", "nesterov", "adagrad", "rmsprop", "adam", "adamw",
        "pid", or any :mod:`gdlab.optim` transformation. Independent of ``batch_size``.
    learning_rate : float, default {rate}
        The step size (the initial one when a schedule is set).{rate_note}
    momentum : float or None, default None
        Momentum for "sgd", "momentum", "nesterov" and "rmsprop" (None: the optimizer's default).
    optimizer_params : dict or None
        Further keyword arguments of the optimizer (``b1``, ``eps``, ``weight_decay``, ``kp``...).
    schedule : str, callable or None, default None
        The name of a :mod:`gdlab.schedules` function: "constant", "inverse_scaling",
        "step_decay", "exponential_decay", "cosine_decay", "warmup_cosine_decay",
        "reduce_on_plateau" (divide the rate by 5 when the loss stalls, as scikit-learn's
        "adaptive"), "one_cycle", "cyclic", "multistep_decay", "polynomial_decay",
        "cosine_restarts"; the earlier names "invscaling", "step", "exponential", "cosine",
        "warmup_cosine" and "adaptive" are aliases. Or a callable of the update count that returns
        the rate (``learning_rate`` is then not used).
    schedule_params : dict or None
        Parameters of a named schedule, in epochs (see
        :func:`gdlab.estimators._builders.build_schedule`);
        ``horizon_epochs`` sets the horizon of the schedules that have one (default: ``max_iter``
        of the first fit, kept as ``schedule_horizon_``).
    batch_size : int or None, default 32
        ``None`` full-batch gradient descent, ``1`` stochastic, ``k`` mini-batch.
    max_iter : int, default 200
        The most epochs (passes over the data).
    tol : float or None, default 1e-4
        Stop when the loss improves by less than ``tol`` for ``n_iter_no_change`` epochs in a row;
        None trains for ``max_iter`` epochs.
    n_iter_no_change : int, default 5
    early_stopping : bool, default False
        Hold out ``validation_fraction`` of the data, monitor its loss instead, and keep the best
        parameters.
    validation_fraction : float, default 0.1
    shuffle : bool, default True
        Shuffle the rows each epoch (order drawn from the seed and the epoch number).
    random_state : int, RandomState or None
        Seeds the shuffling and the validation split.
    warm_start : bool, default False
        Continue from the previous fit: parameters, optimizer state, epoch, schedule step and
        stopping counters, so ``fit`` with ``max_iter=10`` twice equals one fit with
        ``max_iter=20`` when a schedule's horizon is planned with
        ``schedule_params={"horizon_epochs": 20}``: the horizon is decided by the first fit
        and kept.
    clip_norm : float or None, default None
        Clip each mini-batch gradient to this Euclidean norm.
    standardize : bool, default True
        Train on standardized features (and, for a regressor, on the target divided by the power
        of two nearest its standard deviation); ``coef_``, ``intercept_`` and the losses are
        reported in the original units. Penalties apply to the coefficients in training units.
        ``False`` trains on the data as given (the lessons' plain gradient descent).
    verbose : int, default 0
    record_params : bool, default False
        Keep the parameter path in ``history_.params``: the start, then one vector
        ``[coef_.ravel(), intercept_]`` (original units) after every epoch.
    backend : {"auto", "numpy", "numba"}, default "auto"
        The implementation of the epochs; "numpy" is the reference.
    average : bool or int, default False
        Polyak-Ruppert averaging, as scikit-learn's ``SGDRegressor(average=...)``: ``coef_`` and
        ``intercept_`` (what ``predict`` uses) are the mean of the parameters after each update
        from the one that sees the ``average``-th training sample (the first for ``True``) on.
        Works with every optimizer, on the NumPy path (:mod:`gdlab._averaging`).
"""

_FITTED_ATTRIBUTES = """
    Attributes
    ----------
    coef_, intercept_ : ndarray
        The fitted parameters, in the units of the input features.
    n_iter_ : int
        Epochs run by the last call of ``fit``.
    t_ : int
        Total number of updates made.
    loss_curve_ : list of float
        Mean training loss per epoch, each mini-batch measured before its update.
    history_ : History
        Everything recorded per epoch.
    schedule_horizon_ : int
        The horizon in epochs of a named schedule, decided by the first fit.
"""


@register  # model files name it (gdlab.io)
class GDRegressor(SourceScore, RegressorMixin, BaseGD):
    __doc__ = (
        """Linear regression trained by gradient descent.

    Minimises ``mean((y - X w - b)^2) + alpha R(w)`` for ``loss="squared_error"`` (the mean squared
    error of the lessons and PyTorch; scikit-learn's ``SGDRegressor`` uses half of it), or the Huber
    loss with threshold ``epsilon``. Every update is ``theta <- theta + optimizer(gradient)``.

    Parameters
    ----------
    loss : {"squared_error", "huber", "epsilon_insensitive", "squared_epsilon_insensitive", \
"poisson"}, default "squared_error"
        The epsilon-insensitive losses are scikit-learn's (a linear SVR); "poisson" is the Poisson
        negative log-likelihood with a log link (PyTorch's ``PoissonNLLLoss``): ``predict``
        returns ``exp(X @ coef_ + intercept_)`` and the targets must be counts >= 0.
    epsilon : float, default 1.0
        Threshold of the Huber loss and width of the epsilon-insensitive tube."""
        + _SHARED_PARAMETERS.replace("{rate}", "0.03").replace(
            "{rate_note}",
            """
        Adam's steps are about this size in each coefficient, so 0.03 reaches coefficients
        of a few tens (targets in the hundreds on standardized features) in 200 epochs.""",
        )
        + _FITTED_ATTRIBUTES
        + """
    Notes
    -----
    Unless ``intercept_init`` is given, the intercept starts at the weighted mean of ``y``.

    Examples
    --------
    >>> import numpy as np
    >>> from gdlab import GDRegressor
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(200, 2)); y = X @ [2.0, -1.0] + 5
    >>> model = GDRegressor(random_state=0).fit(X, y)
    >>> model.coef_.round(2), model.intercept_.round(2)
    (array([ 2., -1.]), array([5.]))
    """
    )

    _losses = (
        "squared_error",
        "huber",
        "epsilon_insensitive",
        "squared_epsilon_insensitive",
        "poisson",
    )

    def __init__(
        self,
        loss: str = "squared_error",
        *,
        penalty: str | None = None,
        alpha: float = 0.0001,
        l1_ratio: float = 0.15,
        fit_intercept: bool = True,
        optimizer: Any = "adam",
        learning_rate: float = 0.03,
        momentum: float | None = None,
        optimizer_params: dict[str, Any] | None = None,
        schedule: Any = None,
        schedule_params: dict[str, Any] | None = None,
        batch_size: int | None = 32,
        max_iter: int = 200,
        tol: float | None = 1e-4,
        n_iter_no_change: int = 5,
        early_stopping: bool = False,
        validation_fraction: float = 0.1,
        shuffle: bool = True,
        random_state: Any = None,
        warm_start: bool = False,
        clip_norm: float | None = None,
        standardize: bool = True,
        epsilon: float = 1.0,
        verbose: int = 0,
        record_params: bool = False,
        backend: str = "auto",
        average: bool | int = False,
    ) -> None:
        self._store_init_params(locals())

    def _encode_targets(self, y: Any, first_call: bool, classes: Any = None) -> Array:
        if self.loss == "poisson":
            check_counts(np.asarray(y, dtype=np.float64), type(self).__name__)
        y = np.asarray(y)
        if first_call:
            self._targets_2d = y.ndim == 2
        elif self._fitted_2d() != (y.ndim == 2):
            raise ValueError(
                f"y has shape {y.shape}, but {type(self).__name__} was fitted on "
                + ("2-D targets (n_samples, n_targets)." if self._fitted_2d() else "1-D targets.")
            )
        return y

    def _fitted_2d(self) -> bool:
        flag = getattr(self, "_targets_2d", None)
        return bool(np.ndim(getattr(self, "coef_", 0.0)) == 2) if flag is None else bool(flag)

    _scales_target = True

    def _target_scalable(self) -> bool:
        """Whether ``y / s_y`` training is the same problem: the loss is homogeneous of degree 2
        in the residual (its thresholds scaled with ``y``) and the penalty quadratic, so the whole
        objective is ``s_y**2`` times the one in training units. Not so for Poisson's log link,
        the degree-1 epsilon-insensitive loss or an L1 part (their ``alpha`` would change
        meaning): those train on ``y`` as given."""
        return self.loss in ("squared_error", "huber", "squared_epsilon_insensitive") and (
            self.penalty in (None, "l2")
        )

    def _loss_object(self, n_outputs: int) -> losses.Loss:
        # thresholds in training units (y / s_y)
        if self.loss == "huber":
            return losses.get(self.loss, delta=self.epsilon / self._target_scaling())
        if self.loss in losses.EPSILON_LOSSES:
            return losses.get(self.loss, epsilon=self.epsilon / self._target_scaling())
        return losses.get(self.loss)

    def _initial_params(
        self, objective: Any, coef_init: Any, intercept_init: Any, dtype: Any
    ) -> Array:
        theta = super()._initial_params(objective, coef_init, intercept_init, dtype)
        if intercept_init is None and self.fit_intercept:
            # The best intercept for the initial coefficients: the weighted mean residual
            # (mean(y) from zero coefficients), computed in the training units.
            weights, _ = objective.split(theta)
            k = objective.n_outputs
            mean_residual = getattr(objective, "mean_residual", None)
            if mean_residual is not None:  # a data source: streamed means
                theta[-k:] = mean_residual(weights)
                if self.loss == "poisson":
                    theta[-k:] = np.log(
                        np.maximum(mean_residual(0 * weights), np.finfo(float).tiny)
                    )
                return theta
            residual = objective.targets
            if np.any(weights):  # skip X @ 0: it would only wake the BLAS threads
                residual = residual - objective.X @ weights
            k = objective.n_outputs
            theta[-k:] = np.average(residual, axis=0, weights=objective.sample_weight)
            if self.loss == "poisson":  # the log of the mean count: the best intercept at w = 0
                theta[-k:] = poisson_intercept(objective.targets, objective.sample_weight)
        return theta

    @property
    def _multi_output(self) -> bool:  # type: ignore[override]
        """2-D targets (several outputs trained jointly) with every loss but "poisson"."""
        return self.loss != "poisson"

    def _store_coef(self, coef: Array, intercept: Array) -> None:
        two_d = getattr(self, "_targets_2d", None)
        if two_d is None:  # a loaded model: its coef_ tells
            two_d = np.ndim(getattr(self, "coef_", 0.0)) == 2
        self.coef_ = coef if two_d else coef.ravel()
        self.intercept_ = intercept.ravel()

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.target_tags.positive_only = self.loss == "poisson"
        tags.target_tags.multi_output = self._multi_output
        return tags

    def partial_fit(self, X: Any, y: Any, sample_weight: Any = None) -> Any:
        """Run one epoch over ``(X, y)``, continuing from the current state.

        With ``standardize=True`` the feature means and scales of the first call are kept;
        schedules with a horizon take ``max_iter`` as the planned number of calls.
        """
        return self._partial_fit(X, y, sample_weight, None)

    def predict(self, X: Any) -> Array:
        """Predicted targets ``X @ coef_ + intercept_`` (``exp`` of it for ``loss="poisson"``)."""
        scores = self._decision(X)
        if self.loss == "poisson":
            return np.exp(scores)
        return scores


@register  # model files name it (gdlab.io)
class GDClassifier(SourceScore, ClassifierMixin, BaseGD):
    __doc__ = (
        """Linear classification trained by gradient descent.

    ``loss="log_loss"`` is logistic regression for two classes and true multinomial (softmax)
    regression for more; ``loss="hinge"`` is a linear SVM (one-vs-rest for more than two classes).

    Parameters
    ----------
    loss : {"log_loss", "hinge", "modified_huber", "squared_hinge", "perceptron"}, \
default "log_loss"
        As scikit-learn's ``SGDClassifier``; ``predict_proba`` exists for "log_loss" and
        "modified_huber" (scikit-learn's ``(clip(d, -1, 1) + 1) / 2`` estimate)."""
        + _SHARED_PARAMETERS.replace("{rate}", "0.01").replace("{rate_note}", "")
        + _FITTED_ATTRIBUTES
        + """    classes_ : ndarray
        The class labels.

    The classifier also takes ``class_weight`` (a dict ``{label: weight}`` or ``"balanced"``:
    ``n_samples / (n_classes * count(label))``), multiplied into ``sample_weight`` as
    scikit-learn's ``SGDClassifier`` does; on a streamed source one more pass counts the labels
    first (:mod:`gdlab.data.class_weighted`).

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> from gdlab import GDClassifier
    >>> X, y = load_iris(return_X_y=True)
    >>> model = GDClassifier(standardize=True, learning_rate=0.1, random_state=0).fit(X, y)
    >>> model.score(X, y) > 0.95
    True
    """
    )

    _losses = ("log_loss", "hinge", "modified_huber", "squared_hinge", "perceptron")

    def _weigh_classes(self, y: Any, weight: Array | None, dtype: Any) -> Array | None:
        combined = class_sample_weight(self.class_weight, self.classes_, y, weight, dtype)
        if combined is not None and not combined.sum() > 0:
            raise ValueError(
                "class_weight and sample_weight together give every sample a weight of zero."
            )
        return combined

    _y_numeric = False

    def __init__(
        self,
        loss: str = "log_loss",
        *,
        penalty: str | None = None,
        alpha: float = 0.0001,
        l1_ratio: float = 0.15,
        fit_intercept: bool = True,
        optimizer: Any = "adam",
        learning_rate: float = 0.01,
        momentum: float | None = None,
        optimizer_params: dict[str, Any] | None = None,
        schedule: Any = None,
        schedule_params: dict[str, Any] | None = None,
        batch_size: int | None = 32,
        max_iter: int = 200,
        tol: float | None = 1e-4,
        n_iter_no_change: int = 5,
        early_stopping: bool = False,
        validation_fraction: float = 0.1,
        shuffle: bool = True,
        random_state: Any = None,
        warm_start: bool = False,
        clip_norm: float | None = None,
        standardize: bool = True,
        verbose: int = 0,
        record_params: bool = False,
        backend: str = "auto",
        class_weight: Any = None,
        average: bool | int = False,
    ) -> None:
        self._store_init_params(locals())

    def _encode_targets(self, y: Any, first_call: bool, classes: Any = None) -> Array:
        check_classification_targets(y)
        if first_call:
            labels = np.unique(classes if classes is not None else y)
            if labels.size < 2:
                raise ValueError(
                    f"{type(self).__name__} needs samples of at least 2 classes in the data; got "
                    f"1 class ({labels[0]!r})."
                )
            self.classes_ = labels
        elif classes is not None and not np.array_equal(np.unique(classes), self.classes_):
            raise ValueError(
                f"classes={classes!r} differs from the classes of the first call, "
                f"{self.classes_!r}."
            )
        index = np.searchsorted(self.classes_, y)
        index = np.clip(index, 0, self.classes_.size - 1)
        unknown = self.classes_[index] != y
        if np.any(unknown):
            unseen = np.unique(np.asarray(y)[unknown])
            raise ValueError(f"y contains labels not seen in the first call: {unseen!r}.")
        dtype = np.float64
        if self.classes_.size == 2:
            positive = (index == 1).astype(dtype)
            return positive if self.loss == "log_loss" else 2.0 * positive - 1.0
        one_hot = np.zeros((index.size, self.classes_.size), dtype=dtype)
        one_hot[np.arange(index.size), index] = 1.0
        return one_hot if self.loss == "log_loss" else 2.0 * one_hot - 1.0

    def _split_stratify(self, y: Any) -> Any:
        return y

    def _loss_object(self, n_outputs: int) -> losses.Loss:
        if self.loss == "hinge":
            return losses.hinge
        if self.loss != "log_loss":
            return losses.get(self.loss)
        return losses.log_loss if n_outputs == 1 else losses.softmax_cross_entropy

    def partial_fit(self, X: Any, y: Any, classes: Any = None, sample_weight: Any = None) -> Any:
        """Run one epoch over ``(X, y)``; ``classes`` is required on the first call."""
        if not hasattr(self, "_train_state") and classes is None:
            raise ValueError("classes must be passed on the first call to partial_fit.")
        if self.class_weight == "balanced":
            raise ValueError(
                "class_weight 'balanced' is not supported for partial_fit: the class counts of one "
                "call are not those of the data. Compute the weights over all the data with "
                "sklearn.utils.class_weight.compute_class_weight and pass them as a dict."
            )
        return self._partial_fit(X, y, sample_weight, classes)

    def _store_coef(self, coef: Array, intercept: Array) -> None:
        self.coef_ = coef
        self.intercept_ = intercept.ravel()

    def decision_function(self, X: Any) -> Array:
        """Signed distances (logits): shape (n_samples,) for two classes, else (n, n_classes)."""
        scores = self._decision(X)
        return scores.ravel() if scores.shape[1] == 1 else scores

    def predict(self, X: Any) -> Any:
        """The most likely class of each row."""
        scores = self.decision_function(X)
        if scores.ndim == 1:
            return self.classes_[(scores > 0).astype(int)]
        return self.classes_[np.argmax(scores, axis=1)]

    def _has_probabilities(self) -> bool:
        return self.loss in ("log_loss", "modified_huber")

    @available_if(_has_probabilities)
    def predict_proba(self, X: Any) -> Array:
        """Class probabilities: the sigmoid of the logit, or the softmax for several classes.

        For ``loss="modified_huber"`` scikit-learn's estimate ``(clip(d, -1, 1) + 1) / 2`` of the
        decision value ``d``, normalised over the classes (uniform where all are 0).
        """
        scores = self.decision_function(X)
        if self.loss == "modified_huber":
            return modified_huber_proba(scores)
        if scores.ndim == 1:
            positive = expit(scores)
            return np.column_stack([1.0 - positive, positive])
        return softmax(scores, axis=1)

    @available_if(_has_probabilities)
    def predict_log_proba(self, X: Any) -> Array:
        """The logarithm of :meth:`predict_proba`."""
        with np.errstate(divide="ignore"):
            return np.log(self.predict_proba(X))
