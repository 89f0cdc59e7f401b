"""Machinery shared by :class:`~gdlab.MLPRegressor` and :class:`~gdlab.MLPClassifier`.

A fit prepares a run (validated data, the :class:`~gdlab.nn.NetworkObjective`, the optimizer, the
initial or continued :class:`~gdlab.engine.TrainState`), hands it to :func:`gdlab.engine.train`
(the one training loop) and adopts the result as fitted attributes. The objective's non-gradient
state (batch-norm running statistics, the dropout stream's position) is kept in ``_bn_state`` and
``_draws`` and given back to the next warm-started fit.
"""

from __future__ import annotations

import copy
import numbers
import warnings
from dataclasses import replace
from typing import Any, cast

import numpy as np
from numpy.typing import NDArray
from sklearn.base import BaseEstimator
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted, validate_data

from gdlab._guards import check_magnitudes, mean_and_std, naming_text_cells
from gdlab.engine import TrainState, train
from gdlab.estimators._builders import (
    add_plateau,
    build_optimizer,
    build_schedule,
)
from gdlab.estimators._data_prep import check_sample_weight
from gdlab.estimators._gd_state import Run, public_attributes, require_fitted
from gdlab.estimators._mlp_checks import network_state
from gdlab.estimators._mlp_prepare import NetworkPreparation, _Data
from gdlab.estimators._plain import check_sections, plain_attributes, plain_train_state
from gdlab.estimators._settings import check_mlp_params
from gdlab.estimators._snapshot import SnapshotLog
from gdlab.exceptions import DivergenceError
from gdlab.losses import Loss
from gdlab.nn import Architecture, BatchNormState, NetworkObjective
from gdlab.nn.diagnostics import NetworkHistory

Array = NDArray[np.floating[Any]]


class BaseMLP(NetworkPreparation, BaseEstimator):
    """Shared fitting logic; subclasses define the targets, the loss and the outputs."""

    _seed: int
    _x_mean: Array | None
    _x_scale: Array | None
    _train_state: TrainState
    _bn_state: BatchNormState
    _draws: int
    history_: NetworkHistory

    def _store_init_params(self, arguments: dict[str, Any]) -> None:
        for name, value in arguments.items():
            if name not in ("self", "__class__"):
                setattr(self, name, value)

    # ---- hooks for subclasses -------------------------------------------------------------
    def _encode_targets(
        self, y: Any, first_call: bool, classes: Any = None, partial: bool = False
    ) -> Array:
        raise NotImplementedError

    def _loss_object(self, n_outputs: int) -> Loss:
        raise NotImplementedError

    def _stratify(self, y: Any) -> Any:
        return None

    # ---- model files ----------------------------------------------------------------------
    def save(self, path: Any) -> Any:
        """Save the model as plain data (JSON and arrays, atomically); see :func:`gdlab.load`."""
        from gdlab.io import save

        return save(self, path)

    def validate_params(self) -> None:
        """Check the settings as :meth:`fit` does, without data (a ``TypeError`` or ``ValueError``
        names the first bad one, as the linear models' ``validate_params``); nothing is changed.

        >>> from gdlab import MLPRegressor
        >>> MLPRegressor(hidden_layer_sizes=(0,)).validate_params()  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ValueError: ...hidden_layer_sizes...
        """
        check_mlp_params(self)

    # ---- fitting --------------------------------------------------------------------------
    def _hidden(self) -> tuple[int, ...]:
        sizes = self.hidden_layer_sizes
        return (int(sizes),) if isinstance(sizes, numbers.Integral) else tuple(map(int, sizes))

    def fit(
        self,
        X: Any,
        y: Any,
        coefs_init: Any = None,
        intercepts_init: Any = None,
        sample_weight: Any = None,
        callback: Any = None,
    ) -> Any:
        """Train the network by gradient descent for up to ``max_iter`` epochs.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
        coefs_init, intercepts_init : list of arrays, optional
            Starting weights in scikit-learn's layout (``coefs_init[l]`` of shape
            ``(fan_in, fan_out)``, in the units of ``X``), so that any run can be reproduced.
        sample_weight : array-like of shape (n_samples,), optional
            Weights in the mean loss, as for the linear estimators: a batch ``B`` contributes
            ``sum_B w_i loss_i / (|B| mean(w))`` (``mean(w)`` over all training rows). Batch
            norm's batch statistics stay unweighted (as PyTorch's ``BatchNorm1d``).
        callback : callable, optional
            ``callback(snapshot)`` after every epoch, where ``snapshot`` is a copy of the model
            fitted up to that epoch (save it with :func:`gdlab.io.save_checkpoint` and
            continue it with ``warm_start=True``: the result is bitwise that of an uninterrupted
            fit); returning ``True`` stops training.

        Returns
        -------
        self
        """
        self.validate_params()
        continuing = bool(self.warm_start) and hasattr(self, "_train_state")
        if continuing and (coefs_init is not None or intercepts_init is not None):
            raise ValueError(
                "coefs_init/intercepts_init cannot be combined with a warm start from a previous "
                "fit; set warm_start=False to start again from them."
            )
        return self._fit(X, y, continuing, sample_weight, callback, coefs_init, intercepts_init)

    def _partial_fit(self, X: Any, y: Any, sample_weight: Any, classes: Any) -> Any:
        """One epoch over ``(X, y)`` from the current state (the first call starts one)."""
        self.validate_params()
        continuing = hasattr(self, "_train_state")
        return self._fit(X, y, continuing, sample_weight, None, None, None, classes, partial=True)

    def _fit(
        self,
        X: Any,
        y: Any,
        continuing: bool,
        sample_weight: Any,
        callback: Any,
        coefs_init: Any,
        intercepts_init: Any,
        classes: Any = None,
        partial: bool = False,
        prepare_only: bool = False,
    ) -> Any:
        with naming_text_cells(X, y if self._y_numeric else None):
            X, y = validate_data(
                self,
                X,
                y,
                reset=not continuing,
                dtype=np.float64,
                multi_output=self._y_numeric,
                y_numeric=self._y_numeric,
            )
        targets = self._encode_targets(y, not continuing, classes, partial)
        weight = check_sample_weight(sample_weight, X.shape[0], X.dtype)
        check_magnitudes(X, targets, standardize=self.standardize, owner=type(self).__name__)
        if not continuing:
            self._seed = int(check_random_state(self.random_state).randint(np.iinfo(np.int32).max))
            self._set_scaling(X, weight)
        n_outputs = 1 if targets.ndim == 1 else targets.shape[1]
        arch = Architecture(
            X.shape[1], self._hidden(), n_outputs, self.activation, self.batch_norm, self.dropout
        )
        if continuing and self._train_state.params.shape != (arch.n_params,):
            raise ValueError(
                f"The data's shape changed since the previous fit: {arch.n_params} parameters are "
                f"needed now, {self._train_state.params.shape[0]} were trained."
            )
        data = _Data(X, y, targets, weight, self.early_stopping and not partial)
        run = self._prepare_run(data, arch, continuing, (coefs_init, intercepts_init), partial)
        if prepare_only:
            return run
        return self._train_run(run, arch, continuing, callback, partial)

    def prepare_run(self, X: Any, y: Any, sample_weight: Any = None) -> Run:
        """Prepare a fresh training run on ``(X, y)`` exactly as :meth:`fit` does, without
        training: the settings and data are checked, the shuffling seed and the scaling are set
        (on this estimator), and the :class:`~gdlab.estimators._gd_state.Run` holds the network
        objective (and the validation one with ``early_stopping``), the optimizer, the engine's
        configuration, the initial state and an empty history.

        Examples
        --------
        >>> import numpy as np
        >>> from gdlab import MLPRegressor
        >>> X = np.random.default_rng(0).normal(size=(64, 3)); y = X.sum(axis=1)
        >>> run = MLPRegressor(hidden_layer_sizes=(4,), random_state=0).prepare_run(X, y)
        >>> run.state.params.shape, run.config.max_epochs
        ((21,), 200)
        """
        check_mlp_params(self)
        return self._fit(X, y, False, sample_weight, None, None, None, prepare_only=True)

    def _train_run(
        self, run: Run, arch: Architecture, continuing: bool, callback: Any, partial: bool
    ) -> Any:
        """Train a prepared run with the engine and adopt its result (:meth:`_set_fitted`)."""
        objective, history = run.objective, cast(NetworkHistory, run.history)
        start_epoch = run.state.epoch
        log = SnapshotLog(history)  # each snapshot's history: O(1) per epoch

        def on_epoch_end(train_state: TrainState, record: Any) -> bool:
            if objective.tracker is not None:
                history.add_layers(objective.tracker.finish(train_state.params))
            if callback is None:
                return False
            snapshot = copy.copy(self)
            snapshot._set_fitted(
                arch,
                replace(train_state, params=train_state.params.copy()),
                objective,
                log.prefix(),
                train_state.epoch - start_epoch,
                log.loss_curve(),
            )
            return callback(snapshot) is True  # not any truthy value: a saved path goes on

        try:
            with _blas_threads(arch, self.batch_size, objective.n_samples):
                result = train(
                    objective,
                    run.optimizer,
                    run.state,
                    run.config,
                    validation=run.validation,
                    history=history,
                    on_epoch_end=on_epoch_end,
                )
        except DivergenceError:
            if not continuing:
                self._forget_fit()
            raise
        self._set_fitted(arch, result.state, objective, result.history, result.n_epochs)
        if not partial and not result.converged and self.tol is not None:
            if "max_iter" in result.message:
                warnings.warn(
                    f"{type(self).__name__} reached max_iter={self.max_iter} epochs before the "
                    "loss settled; consider increasing max_iter or the learning rate.",
                    ConvergenceWarning,
                    stacklevel=4,
                )
        return self

    def _set_fitted(
        self,
        arch: Architecture,
        state: TrainState,
        objective: NetworkObjective,
        history: Any,
        n_epochs: int,
        loss_curve: list[float] | None = None,
    ) -> None:
        """Take a training state as the fitted state (of the model, or of an epoch's snapshot):
        the one writer of the fitted attributes (a snapshot's ``loss_curve`` comes from its log,
        so that its history is not read)."""
        self._train_state = state
        self._bn_state = objective.bn_state.copy()
        self._draws = objective.draws
        self.history_ = history
        self.loss_curve_ = list(history.loss) if loss_curve is None else loss_curve
        self.n_iter_ = n_epochs
        self.t_ = state.step
        self.n_layers_ = arch.n_layers + 1
        self.n_outputs_ = arch.n_outputs
        self.coefs_, self.intercepts_ = self._original_units(arch, state.params)

    # ---- state as plain data -------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        """The fitted state as plain data: dicts, lists, numbers, text and NumPy arrays only.

        As :meth:`gdlab.GDRegressor.state_dict` (``attributes``, ``seed``, ``scaling``,
        ``train_state``), with ``draws`` (the dropout stream's position) and ``batch_norm`` (the
        running ``mean`` and ``var`` of each batch-normalized layer), which an exact warm start
        needs; ``history_`` holds the per-layer numbers too (``"layers"``). The arrays are this
        estimator's own (not copies).

        Examples
        --------
        >>> import numpy as np, gdlab
        >>> X = np.arange(8.0).reshape(4, 2); y = X @ [1.0, 2.0]
        >>> net = gdlab.MLPRegressor(hidden_layer_sizes=(3,), max_iter=2, tol=None, random_state=0)
        >>> state = net.fit(X, y).state_dict()
        >>> state["train_state"]["epoch"], sorted(state["batch_norm"])
        (2, ['mean', 'var'])
        >>> sorted(state["attributes"]["history_"]["layers"])[:2]
        ['activation_mean', 'activation_std']
        """
        state = require_fitted(self)
        bn = self._bn_state
        return {
            "attributes": plain_attributes(public_attributes(self)),
            "seed": int(self._seed),
            "scaling": {"x_mean": self._x_mean, "x_scale": self._x_scale},
            "draws": int(self._draws),
            "batch_norm": {"mean": list(bn.running_mean), "var": list(bn.running_var)},
            "train_state": plain_train_state(state),
        }

    def load_state_dict(self, state: dict[str, Any]) -> Any:
        """Take ``state`` (from :meth:`state_dict`, or a model file) as the fitted state.

        Everything is checked before anything is set: the architecture is rebuilt from the
        settings and ``n_features_in_``/``n_outputs_`` and every array must have the shape it
        implies, the optimizer state has the structure of :meth:`init_optimizer_state`, and
        ``coefs_``/``intercepts_`` must be those of the training parameters. The history and the
        optimizer state are rebuilt; the arrays are taken, not copied. Returns the estimator.

        Raises
        ------
        ValueError
            When an entry is missing, malformed or inconsistent; the message names it.
        """
        sections = ("attributes", "seed", "scaling", "draws", "batch_norm", "train_state")
        checked = network_state(self, check_sections(state, sections, type(self).__name__))
        self._x_mean, self._x_scale = checked.scaling
        self._seed, self._draws = checked.seed, checked.draws
        self._bn_state = checked.batch_norm
        self._train_state = checked.train_state
        for name, value in checked.attrs.items():
            setattr(self, name, value)
        return self

    def init_optimizer_state(self, params: Array) -> Any:
        """The optimizer state this estimator's settings start from at ``params`` (the structure
        of ``state_dict()["train_state"]["opt_state"]``)."""
        return self._optimizer(1).init(params)

    def _forget_fit(self) -> None:
        for name in (
            "_train_state",
            "_bn_state",
            "_draws",
            "history_",
            "loss_curve_",
            "n_iter_",
            "t_",
            "coefs_",
            "intercepts_",
            "classes_",
            "n_layers_",
            "n_outputs_",
            "n_features_in_",
            "feature_names_in_",
        ):
            if hasattr(self, name):
                delattr(self, name)

    def _optimizer(self, n_samples: int, horizon: int | None = None) -> Any:
        rate = build_schedule(
            self.schedule,
            self.learning_rate,
            n_samples=n_samples,
            batch_size=self.batch_size,
            max_iter=self.max_iter if horizon is None else horizon,
            parameters=self.schedule_params,
        )
        tx = build_optimizer(
            self.optimizer,
            rate,
            momentum=self.momentum,
            extra=self.optimizer_params,
            clip_norm=self.clip_norm,
        )
        return add_plateau(
            tx,
            self.schedule,
            self.schedule_params,
            n_iter_no_change=self.n_iter_no_change,
            tol=self.tol,
        )

    # ---- units ----------------------------------------------------------------------------
    def _set_scaling(self, X: Array, weight: Array | None) -> None:
        if not self.standardize:
            self._x_mean = self._x_scale = None
            return
        mean, scale = mean_and_std(X, weight)
        scale[~(scale > 10 * np.finfo(X.dtype).eps * np.maximum(1.0, np.abs(mean)))] = 1.0
        self._x_mean, self._x_scale = mean, scale

    def _scale(self, X: Array) -> Array:
        mean, scale = getattr(self, "_x_mean", None), getattr(self, "_x_scale", None)
        if mean is None or scale is None:
            return X
        return (X - mean) / scale

    def _initial_params(self, arch: Architecture, coefs: Any, intercepts: Any) -> Array:
        rng = np.random.default_rng([self._seed, 1])
        theta = arch.initial_params(self.init, rng, self.init_scale)
        if coefs is None and intercepts is None:
            return theta
        given_w = [np.asarray(w, dtype=float) for w in (coefs or arch.weights(theta))]
        given_b = [np.asarray(b, dtype=float) for b in (intercepts or arch.biases(theta))]
        expected = [(a, b) for a, b in zip(arch.sizes[:-1], arch.sizes[1:], strict=True)]
        if len(given_w) != arch.n_layers or [w.shape for w in given_w] != expected:
            raise ValueError(
                f"coefs_init must be {arch.n_layers} arrays of shapes {expected}; got "
                f"{[w.shape for w in given_w]}."
            )
        if [b.shape for b in given_b] != [(b,) for _, b in expected]:
            raise ValueError(
                f"intercepts_init must be {arch.n_layers} arrays of shapes "
                f"{[(b,) for _, b in expected]}; got {[b.shape for b in given_b]}."
            )
        if not all(np.all(np.isfinite(a)) for a in given_w + given_b):
            raise ValueError("coefs_init and intercepts_init must be finite.")
        if self._x_scale is not None and self._x_mean is not None:
            # units of X -> standardized units: W_s = diag(s) W, b_s = b + mean @ W
            given_b[0] = given_b[0] + self._x_mean @ given_w[0]
            given_w[0] = given_w[0] * self._x_scale[:, None]
        return arch.pack(given_w, given_b, theta)

    def _original_units(
        self, arch: Architecture, theta: Array, scaling: tuple[Any, Any] | None = None
    ) -> tuple[list[Array], list[Array]]:
        """The layers in the units of ``X``, with this estimator's scaling or ``scaling``."""
        coefs = [w.copy() for w in arch.weights(theta)]
        intercepts = [b.copy() for b in arch.biases(theta)]
        mean, scale = (self._x_mean, self._x_scale) if scaling is None else scaling
        if scale is not None and mean is not None:
            coefs[0] = coefs[0] / scale[:, None]
            intercepts[0] = intercepts[0] - mean @ coefs[0]
        return coefs, intercepts

    def _architecture(self) -> Architecture:
        """The fitted network's architecture (from the fitted attributes and the settings)."""
        return Architecture(
            self.n_features_in_,
            self._hidden(),
            self.n_outputs_,
            self.activation,
            self.batch_norm,
            self.dropout,
        )

    # ---- prediction -----------------------------------------------------------------------
    def _raw_output(self, X: Any) -> Array:
        check_is_fitted(self, "coefs_")
        with naming_text_cells(X):
            X = validate_data(self, X, reset=False, dtype=np.float64)
        arch = self._architecture()
        theta = arch.pack(self.coefs_, self.intercepts_, self._train_state.params)
        with np.errstate(over="ignore", invalid="ignore"):
            raw = arch.forward(theta, X, training=False, bn_state=self._bn_state)
        if not np.all(np.isfinite(raw)):
            raise ValueError(
                "The network's outputs overflow float64 on this X (values up to "
                f"{float(np.max(np.abs(X))):.3g}); refit on rescaled features (standardize=True)."
            )
        return raw


#: the largest matrix product (rows x fan_in x fan_out) that trains faster on one BLAS thread
SMALL_PRODUCT = 2**23


def _blas_threads(arch: Architecture, batch_size: int | None, n_samples: int) -> Any:
    """One BLAS thread for the training loop when every matrix product of a batch is small.

    A network's mini-batch products (a few hundred rows by a few hundred units) take tens of
    microseconds: waking and synchronising BLAS worker threads costs as much, and on a busy
    machine far more (measured here: 20x slower epochs with two threads on two shared cores).
    Large products keep the BLAS default. The limit applies only while ``train`` runs.
    """
    from contextlib import nullcontext

    rows = n_samples if batch_size is None else min(batch_size, n_samples)
    largest = max(rows * a * b for a, b in zip(arch.sizes[:-1], arch.sizes[1:], strict=True))
    if largest > SMALL_PRODUCT:
        return nullcontext()
    import scipy.linalg.cython_blas  # noqa: F401  (the compiled epochs' BLAS, limited too)
    from threadpoolctl import threadpool_limits

    return threadpool_limits(limits=1, user_api="blas")
