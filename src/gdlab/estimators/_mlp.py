"""Multi-layer perceptrons trained by the engine: MLPRegressor and MLPClassifier."""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray
from scipy.special import expit, softmax
from sklearn.base import ClassifierMixin, RegressorMixin
from sklearn.utils.multiclass import _check_partial_fit_first_call, check_classification_targets

from gdlab import losses
from gdlab.estimators._mlp_base import BaseMLP
from gdlab.io import register

Array = NDArray[np.floating[Any]]

__all__ = ["MLPClassifier", "MLPRegressor"]

_PARAMETERS = """
    Parameters
    ----------
    hidden_layer_sizes : tuple of int, default (100,)
        Units of each hidden layer.
    activation : {"relu", "leaky_relu", "tanh", "sigmoid", "identity"}, default "relu"
    init : {"auto", "he_normal", "he_uniform", "xavier_normal", "xavier_uniform", "normal", \
"zeros"}, default "auto"
        Initial weights (:mod:`gdlab.nn.init`): "auto" is He for ReLU-like activations, Xavier
        (Glorot) otherwise; "normal" draws ``N(0, init_scale^2)``.
    init_scale : float, default 0.01
        Standard deviation of ``init="normal"``.
    batch_norm : bool, default False
        ``BatchNorm1d`` after each hidden linear map (PyTorch semantics: batch mean and biased
        variance in training, running mean and unbiased running variance with momentum 0.1 at
        prediction, eps 1e-5).
    dropout : float, default 0.0
        Inverted dropout of hidden activations in training (off at prediction).
    alpha : float, default 0.0001
        L2 penalty ``alpha / 2 * sum ||W||^2`` on the weights, added to the mean loss of every
        batch. scikit-learn's MLP adds ``alpha / 2 * sum ||W||^2 / n_batch`` instead (and for
        regression halves the squared error): ``alpha_sklearn = alpha * n_batch / 2`` for the
        regressor and ``alpha * n_batch`` for the classifier give the same minimiser.
    optimizer : str, default "adam"
        "sgd", "momentum", "nesterov", "adagrad", "rmsprop", "adam", "adamw" or "pid".
    learning_rate : float, default 0.001
    momentum : float or None, default None
    optimizer_params : dict or None
    schedule, schedule_params
        As for :class:`~gdlab.GDRegressor`.
    batch_size : int or None, default 200
        Rows per update (``min(batch_size, n_samples)``); None is full batch.
    max_iter : int, default 200
        The most epochs.
    tol : float or None, default 1e-4
    n_iter_no_change : int, default 10
    early_stopping : bool, default False
        Hold out ``validation_fraction`` of the rows, monitor their loss (evaluation mode) and
        keep the best epoch's parameters (the batch-norm running statistics are the last epoch's).
    validation_fraction : float, default 0.1
    shuffle : bool, default True
    clip_norm : float or None, default None
        Clip every mini-batch gradient to this Euclidean norm (the cure for exploding gradients).
    standardize : bool, default False
        Train on standardized features; ``coefs_[0]`` and ``intercepts_[0]`` are reported in the
        units of ``X``.
    random_state : int, RandomState or None
        Seeds the initial weights, the shuffling, the dropout masks and the validation split.
    warm_start : bool, default False
        Continue from the previous fit (parameters, optimizer state, batch-norm statistics,
        dropout stream, counters): ``fit`` twice with ``max_iter=10`` equals ``max_iter=20``.
    verbose : int, default 0

    Attributes
    ----------
    coefs_ : list of ndarray
        ``coefs_[l]`` has shape ``(fan_in, fan_out)``, as scikit-learn's.
    intercepts_ : list of ndarray
    loss_curve_ : list of float
        Mean training loss (training mode) per epoch.
    n_iter_, t_ : int
        Epochs of the last fit; updates in total.
    n_layers_, n_outputs_ : int
    history_ : NetworkHistory
        Per epoch; ``history_.layers`` holds per-layer gradient norms, weight norms,
        update-to-weight ratios, activation means and standard deviations and the fraction of
        saturated (sigmoid/tanh) or dead (ReLU) units (:mod:`gdlab.nn.diagnostics`).
"""


class _MLPParams(BaseMLP):
    """The parameters the two networks share (one ``__init__``: scikit-learn reads it)."""

    def __init__(
        self,
        hidden_layer_sizes: Any = (100,),
        activation: str = "relu",
        *,
        init: str = "auto",
        init_scale: float = 0.01,
        batch_norm: bool = False,
        dropout: float = 0.0,
        alpha: float = 0.0001,
        optimizer: Any = "adam",
        learning_rate: float = 0.001,
        momentum: float | None = None,
        optimizer_params: dict[str, Any] | None = None,
        schedule: Any = None,
        schedule_params: dict[str, Any] | None = None,
        batch_size: int | None = 200,
        max_iter: int = 200,
        tol: float | None = 1e-4,
        n_iter_no_change: int = 10,
        early_stopping: bool = False,
        validation_fraction: float = 0.1,
        shuffle: bool = True,
        clip_norm: float | None = None,
        standardize: bool = False,
        random_state: Any = None,
        warm_start: bool = False,
        verbose: int = 0,
    ) -> None:
        self._store_init_params(locals())


@register  # model files name it (gdlab.io)
class MLPRegressor(RegressorMixin, _MLPParams):
    __doc__ = (
        """A multi-layer perceptron for regression, trained by gdlab's engine.

    Minimises the mean squared error ``mean((y - f(X))^2)`` (scikit-learn's MLP uses half of
    it) plus the L2 penalty.
"""
        + _PARAMETERS
        + """
    Examples
    --------
    >>> import numpy as np
    >>> from gdlab import MLPRegressor
    >>> rng = np.random.default_rng(0)
    >>> X = rng.uniform(-2, 2, size=(300, 1)); y = np.sin(2 * X[:, 0])
    >>> model = MLPRegressor((32,), activation="tanh", learning_rate=0.01, batch_size=32,
    ...                      max_iter=300, random_state=0).fit(X, y)
    >>> float(model.score(X, y)) > 0.95
    True
    """
    )

    _y_numeric = True

    def _encode_targets(
        self, y: Any, first_call: bool, classes: Any = None, partial: bool = False
    ) -> Array:
        y = np.asarray(y, dtype=np.float64)
        if y.ndim == 2 and y.shape[1] == 1:
            y = y.ravel()
        if not first_call and (1 if y.ndim == 1 else y.shape[1]) != self.n_outputs_:
            raise ValueError(
                f"y has {1 if y.ndim == 1 else y.shape[1]} outputs; the previous fit had "
                f"{self.n_outputs_}."
            )
        return y

    def _loss_object(self, n_outputs: int) -> losses.Loss:
        return losses.squared_error

    def partial_fit(self, X: Any, y: Any, sample_weight: Any = None) -> MLPRegressor:
        """One epoch over ``(X, y)`` (``batch_size`` rows per update) from the current state.

        The first call starts a network (as ``fit`` would, with ``max_iter`` as the schedule's
        horizon); every later call continues its parameters, optimizer state, batch-norm
        statistics and dropout stream. No stopping rule applies.
        """
        return self._partial_fit(X, y, sample_weight, None)

    def predict(self, X: Any) -> Array:
        """The network's output: shape (n_samples,) or (n_samples, n_outputs)."""
        raw = self._raw_output(X)
        return raw[:, 0] if raw.shape[1] == 1 else raw

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        return tags


@register  # model files name it (gdlab.io)
class MLPClassifier(ClassifierMixin, _MLPParams):
    __doc__ = (
        """A multi-layer perceptron for classification, trained by gdlab's engine.

    Two classes: one output and the log-loss of its sigmoid; more: one output per class and the
    softmax cross-entropy (computed with log-sum-exp).
"""
        + _PARAMETERS
        + """    classes_ : ndarray

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> from gdlab import MLPClassifier
    >>> X, y = load_iris(return_X_y=True)
    >>> model = MLPClassifier((16,), learning_rate=0.01, batch_size=32, max_iter=200,
    ...                       standardize=True, random_state=0).fit(X, y)
    >>> float(model.score(X, y)) > 0.95
    True
    """
    )

    _y_numeric = False
    classes_: Any

    def _encode_targets(
        self, y: Any, first_call: bool, classes: Any = None, partial: bool = False
    ) -> Array:
        y = np.asarray(y)
        if y.ndim == 2 and y.shape[1] == 1:
            y = y.ravel()
        if y.ndim != 1:
            raise ValueError(
                f"y must be 1-D (one label per row) for {type(self).__name__}; got shape {y.shape}."
            )
        check_classification_targets(y)
        if partial:
            if _check_partial_fit_first_call(self, classes) and self.classes_.size < 2:
                raise ValueError(
                    f"classes must hold at least 2 classes; got {self.classes_.tolist()!r}."
                )
        elif first_call:
            labels = np.unique(y)
            if labels.size < 2:
                raise ValueError(
                    f"{type(self).__name__} needs samples of at least 2 classes in the data; got "
                    f"1 class ({labels[0]!r})."
                )
            self.classes_ = labels
        index = np.clip(np.searchsorted(self.classes_, y), 0, self.classes_.size - 1)
        unknown = self.classes_[index] != y
        if np.any(unknown):
            raise ValueError(
                f"y contains labels not seen in the first fit: {np.unique(y[unknown])!r}."
            )
        if self.classes_.size == 2:
            return (index == 1).astype(np.float64)
        return np.eye(self.classes_.size)[index]

    def _stratify(self, y: Any) -> Any:
        return y

    def partial_fit(
        self, X: Any, y: Any, classes: Any = None, sample_weight: Any = None
    ) -> MLPClassifier:
        """One epoch over ``(X, y)`` (``batch_size`` rows per update) from the current state.

        ``classes`` (every label of all calls) is required on the first call, as in
        scikit-learn; later calls continue the network's parameters, optimizer state,
        batch-norm statistics and dropout stream. No stopping rule applies.
        """
        return self._partial_fit(X, y, sample_weight, classes)

    def _loss_object(self, n_outputs: int) -> losses.Loss:
        return losses.log_loss if n_outputs == 1 else losses.softmax_cross_entropy

    def predict_proba(self, X: Any) -> Array:
        """Class probabilities (sigmoid for two classes, softmax for more)."""
        raw = self._raw_output(X)
        if raw.shape[1] == 1:
            positive = expit(raw[:, 0])
            return np.column_stack([1.0 - positive, positive])
        return softmax(raw, axis=1)

    def predict_log_proba(self, X: Any) -> Array:
        """The logarithm of :meth:`predict_proba`."""
        with np.errstate(divide="ignore"):
            return np.log(self.predict_proba(X))

    def predict(self, X: Any) -> Any:
        """The most likely class of each row."""
        raw = self._raw_output(X)
        if raw.shape[1] == 1:
            return self.classes_[(raw[:, 0] > 0).astype(int)]
        return self.classes_[np.argmax(raw, axis=1)]
