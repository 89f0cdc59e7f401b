"""Machinery shared by :class:`~gdlab.GDRegressor` and :class:`~gdlab.GDClassifier`."""

from __future__ import annotations

import warnings
from dataclasses import replace
from typing import Any

import numpy as np
from numpy.typing import NDArray
from sklearn.base import BaseEstimator
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils.validation import check_is_fitted, validate_data

from gdlab import losses
from gdlab._averaging import averaged
from gdlab._guards import naming_text_cells
from gdlab._objectives import LinearObjective
from gdlab.data.dask_source import is_dask
from gdlab.data.sparse import is_sparse, to_csr
from gdlab.divergence import ended_above_start_advice, tol_stop_advice
from gdlab.engine import TrainConfig, TrainState, init_state, train
from gdlab.estimators._builders import (
    add_plateau,
    build_optimizer,
    build_schedule,
    check_params,
    horizon_epochs,
)
from gdlab.estimators._data_prep import DataPreparation
from gdlab.estimators._gd_state import GDState, Run
from gdlab.estimators._options import average_start
from gdlab.estimators._snapshot import copy_history
from gdlab.estimators._source_prep import (
    check_fit_arguments,
    dask_as_source,
    dask_decision,
    is_source,
    source_decision,
)
from gdlab.estimators._units import Units
from gdlab.exceptions import DivergenceError
from gdlab.history import History

Array = NDArray[np.floating[Any]]


WARM_START_INIT = (
    "coef_init/intercept_init cannot be combined with a warm start from a previous fit; set "
    "warm_start=False to start again from them."
)


class BaseGD(DataPreparation, Units, GDState, BaseEstimator):
    """Shared fitting logic; subclasses define the targets, the loss and the outputs."""

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True  # scipy.sparse CSR/CSC (gdlab.data.sparse)
        return tags

    _losses: tuple[str, ...] = ()

    @classmethod
    def supported_losses(cls) -> tuple[str, ...]:
        """The names the ``loss`` parameter accepts, the default first.

        Examples
        --------
        >>> from gdlab import GDClassifier
        >>> GDClassifier.supported_losses()[:2]
        ('log_loss', 'hinge')
        """
        return cls._losses

    def validate_params(self) -> None:
        """Check the settings as :meth:`fit` does, without data (``loss`` first, then each
        parameter in order); nothing is changed.

        Raises
        ------
        TypeError or ValueError
            Naming the first bad parameter, in scikit-learn's words.

        Examples
        --------
        >>> from gdlab import GDRegressor
        >>> try:
        ...     GDRegressor(learning_rate=-1).validate_params()
        ... except ValueError as error:
        ...     print(error)
        The 'learning_rate' parameter of GDRegressor must be a float > 0. Got -1 instead.
        """
        check_params(self, self._losses)

    def _store_init_params(self, arguments: dict[str, Any]) -> None:
        """Store every ``__init__`` argument unchanged, as scikit-learn's contract asks."""
        for name, value in arguments.items():
            if name not in ("self", "__class__"):
                setattr(self, name, value)

    # set by fit: the shuffling seed, the feature scaling, the training state and record
    _seed: int
    _x_mean: Array | None
    _x_scale: Array | None
    _train_state: TrainState
    history_: History

    # ---- hooks for subclasses -------------------------------------------------------------
    def _encode_targets(self, y: Any, first_call: bool, classes: Any = None) -> Array:
        raise NotImplementedError

    def _loss_object(self, n_outputs: int) -> losses.Loss:
        raise NotImplementedError

    def _split_stratify(self, y: Any) -> Any:
        return None

    def _weigh_classes(self, y: Any, weight: Array | None, dtype: Any) -> Array | None:
        return weight  # the classifier multiplies in its class weights

    # ---- model files ------------------------------------------------------------------------
    def save(self, path: Any) -> Any:
        """Save the model (settings, fitted attributes, training state) as plain data.

        Writes a versioned ``.npz`` archive of JSON and arrays, atomically, never a pickle;
        read it back with :func:`gdlab.load`. See :mod:`gdlab.io`.

        Returns
        -------
        pathlib.Path
        """
        from gdlab.io import save

        return save(self, path)

    # ---- fitting ----------------------------------------------------------------------------
    def fit(
        self,
        X: Any,
        y: Any = None,
        coef_init: Any = None,
        intercept_init: Any = None,
        sample_weight: Any = None,
        callback: Any = None,
        block_callback: Any = None,
    ) -> Any:
        """Fit the model by gradient descent for up to ``max_iter`` epochs.

        With ``warm_start=True`` and a previous fit, training continues from the previous
        parameters, optimizer state, epoch count and schedule step, so ``fit`` twice with
        ``max_iter=10`` equals one fit with ``max_iter=20``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features), or a data source
            A source from :mod:`gdlab.data` (Parquet or CSV files, or in-memory blocks) is
            streamed block by block; it holds the target, so ``y`` is then left out.
        y : array-like of shape (n_samples,)
        coef_init : array-like, optional
            Initial coefficients in the units of ``X`` (default zeros).
        intercept_init : float or array-like, optional
            Initial intercept (default zero).
        sample_weight : array-like of shape (n_samples,), optional
            Weights in the mean loss (with a dask ``X``, a dask array or Series, or an array).
        callback : callable, optional
            ``callback(snapshot)`` after every epoch, where ``snapshot`` is a copy of the model
            fitted up to that epoch (save it with :func:`gdlab.io.save_checkpoint` to
            resume later); returning ``True`` stops training.
        block_callback : callable, optional
            On a data source (streamed, or a Dask collection, one block per partition):
            ``block_callback(snapshot)`` after every block of an epoch, ``snapshot`` the model in
            the middle of the epoch; its training state holds the block cursor, so a checkpoint
            of it (:func:`gdlab.io.save_checkpoint`) resumes, with ``warm_start=True``, exactly
            there. What it returns is ignored.

        Returns
        -------
        self
        """
        self.validate_params()
        # partitions of a dask collection (and its sample weights) become a source
        X, y, sample_weight = dask_as_source(X, y, sample_weight)
        if is_source(X):  # a data source streamed block by block (gdlab.data)
            check_fit_arguments(self, X, y, sample_weight=sample_weight)
            warm = self.warm_start and hasattr(self, "_train_state")
            if warm and (coef_init is not None or intercept_init is not None):
                raise ValueError(WARM_START_INIT)
            run = (X, None, None, coef_init, intercept_init, warm, self.max_iter, None)
            return self._fit(*run, callback=callback, block_callback=block_callback)
        continuing = self.warm_start and hasattr(self, "_train_state")
        if continuing and (coef_init is not None or intercept_init is not None):
            raise ValueError(WARM_START_INIT)
        X, y = self._validate_xy(X, y, reset=not continuing)
        return self._fit(
            X,
            y,
            sample_weight,
            coef_init,
            intercept_init,
            continuing,
            self.max_iter,
            None,
            callback=callback,
        )

    def _partial_fit(self, X: Any, y: Any, sample_weight: Any, classes: Any) -> Any:
        """One epoch over ``(X, y)`` from the current state (the first call starts one)."""
        self.validate_params()
        if is_source(X):
            raise ValueError(
                f"{type(self).__name__}.partial_fit takes arrays; a data source is trained with "
                "fit(source), which streams it for up to max_iter epochs."
            )
        continuing = hasattr(self, "_train_state")
        X, y = self._validate_xy(X, y, reset=not continuing)
        return self._fit(X, y, sample_weight, None, None, continuing, 1, classes, partial=True)

    def _validate_xy(self, X: Any, y: Any, reset: bool) -> tuple[Array, Any]:
        with naming_text_cells(X, y if self._y_numeric else None):
            X, y = validate_data(
                self,
                X,
                y,
                reset=reset,
                dtype=[np.float64, np.float32],
                accept_sparse=["csr", "csc"],
                y_numeric=self._y_numeric,
                multi_output=self._multi_output,
                order="C",
                ensure_all_finite=False,  # checked in the one pass of _check_x
            )
            if is_sparse(X):
                X = to_csr(X)
            if self._y_numeric and y.dtype.kind in "USO":  # text targets of a regressor
                y = y.astype(X.dtype)
        return X, y

    _y_numeric = True
    _multi_output = False

    def _fit(
        self,
        X: Array,
        y: Any,
        sample_weight: Any,
        coef_init: Any,
        intercept_init: Any,
        continuing: bool,
        epochs: int,
        classes: Any,
        partial: bool = False,
        callback: Any = None,
        block_callback: Any = None,
    ) -> Any:
        run = self._prepare_run(
            X, y, sample_weight, coef_init, intercept_init, continuing, epochs, classes, partial
        )
        on_epoch_end = on_block = None
        if callback is not None:
            on_epoch_end = self._snapshots(run, callback)
        if block_callback is not None:
            on_block = self._snapshots(run, block_callback)
        try:
            result = train(
                run.objective,
                run.optimizer,
                run.state,
                run.config,
                validation=run.validation,
                history=run.history,
                on_epoch_end=on_epoch_end,
                on_block=on_block,
            )
        except DivergenceError as error:
            # The error keeps what was recorded; the estimator is left as it was before this call
            # (unfitted for a fresh fit), so that a warm start never continues from a broken state.
            self._to_original_units(run.objective, run.history, run.path_mark)
            error.history = run.history
            if not continuing:
                self._forget_fit()
            raise
        self._adopt_result(run, result, warn=not partial)
        return self

    def prepare_run(
        self, X: Any, y: Any = None, sample_weight: Any = None, *, early_stopping: bool = False
    ) -> Run:
        """Prepare a fresh training run on ``(X, y)`` exactly as :meth:`fit` does, without training.

        For gdlab's tools that drive :func:`gdlab.engine.train` themselves (:func:`gdlab.lr_find`,
        the batched :func:`gdlab.sweep`): the settings and data are checked, the shuffling seed and
        the scaling are set (on this estimator), and the :class:`Run` holds the objective, the
        optimizer, the engine's configuration, the initial state and an empty history. A result of
        the engine becomes the fitted state with :meth:`adopt_run`.

        Parameters
        ----------
        X, y, sample_weight
            As for :meth:`fit` (arrays).
        early_stopping : bool, default=False
            Split off the validation share of the rows when the estimator asks for early stopping.

        Returns
        -------
        Run
        """
        self.validate_params()
        X, y = self._validate_xy(X, y, reset=True)
        split = bool(early_stopping and self.early_stopping)
        return self._prepare_run(
            X, y, sample_weight, None, None, False, self.max_iter, None, False, split=split
        )

    def _prepare_run(
        self,
        X: Array,
        y: Any,
        sample_weight: Any,
        coef_init: Any,
        intercept_init: Any,
        continuing: bool,
        epochs: int,
        classes: Any,
        partial: bool,
        split: bool | None = None,
    ) -> Run:
        """The run of one ``fit``/``partial_fit`` call on validated data (see :class:`Run`).

        ``split``: whether to split off a validation share (default: ``early_stopping`` of a fit).
        """
        objective, validation = self._prepare_objective(
            X,
            y,
            sample_weight,
            continuing=continuing,
            classes=classes,
            early_stopping=self.early_stopping and not partial if split is None else split,
        )
        if continuing:
            previous: TrainState = self._train_state
            if previous.params.shape != (objective.n_params,):
                raise ValueError(
                    f"The data's shape changed since the previous fit: {objective.n_params} "
                    f"parameters are needed now, {previous.params.shape[0]} were trained."
                )
            history: History = copy_history(self.history_)
            self._scale_losses(history, 1.0 / self._target_scaling() ** 2)  # to training units
            state = previous
            if previous.params.dtype != X.dtype:
                state = replace(previous, params=previous.params.astype(X.dtype))
            # The schedule's horizon was decided by the first fit (schedule_horizon_); files
            # saved before it was stored stretch it to end with this call, as gdlab did then.
            horizon = getattr(self, "schedule_horizon_", None)
            if horizon is None:
                horizon = self.max_iter if partial else state.epoch + self.max_iter
            optimizer = self._optimizer(objective.n_samples, horizon)
        else:
            horizon = horizon_epochs(self.schedule_params, self.max_iter)
            optimizer = self._optimizer(objective.n_samples, horizon)
            theta0 = self._initial_params(objective, coef_init, intercept_init, X.dtype)
            state = init_state(theta0, optimizer)
            history = History()
        config = self._config(epochs, partial)
        return Run(
            objective, validation, optimizer, config, state, history, horizon, len(history.params)
        )

    def _config(self, epochs: int, partial: bool) -> TrainConfig:
        return TrainConfig(
            batch_size=self.batch_size,
            max_epochs=epochs,
            shuffle=bool(self.shuffle),
            seed=self._seed,
            tol=None if partial else self.tol,
            n_iter_no_change=self.n_iter_no_change,
            adapt=not partial,
            record_params=bool(self.record_params),
            verbose=int(self.verbose),
            backend=self.backend,
            check_final=not partial,
            loss_scale=self._target_scaling() ** 2,
        )

    def _warn_if_unsettled(self, result: Any) -> None:
        """A ``ConvergenceWarning`` when the loss at the returned parameters is above the loss at
        the start, where that is known (a fresh fit from zero weights, or full batch;
        :func:`gdlab.divergence.ended_above_start_advice`, whatever stopped the run),
        when the run ran out of epochs, or when the ``tol`` rule stopped a loss that never
        improved or was oscillating (:func:`gdlab.divergence.tol_stop_advice`)."""
        name = type(self).__name__
        rate = self.learning_rate if self.schedule is None else None
        if result.final_loss is not None and result.start_loss is not None:
            scale = self._target_scaling() ** 2  # the loss in the units of y, as the record
            advice = ended_above_start_advice(
                scale * result.start_loss, scale * result.final_loss, rate, self.standardize
            )
            if advice is not None:
                warnings.warn(
                    f"{name} ended worse than it started after {result.n_epochs} epochs: {advice}.",
                    ConvergenceWarning,
                    stacklevel=5,
                )
                return
        if self.tol is None:
            return
        if not result.converged and result.message.startswith("Reached max_iter"):
            warnings.warn(
                f"{name} reached max_iter={self.max_iter} epochs before the loss settled; "
                "consider increasing max_iter or the learning rate.",
                ConvergenceWarning,
                stacklevel=5,
            )
        elif result.message.startswith("The training loss improved by less than tol"):
            advice = tol_stop_advice(
                result.history.loss, self.n_iter_no_change, rate, self.tol, self.standardize
            )
            if advice is not None:
                warnings.warn(
                    f"{name} stopped after {result.n_epochs} epochs without converging: {advice}.",
                    ConvergenceWarning,
                    stacklevel=5,
                )

    def _forget_fit(self) -> None:
        """Drop every fitted attribute, so that the estimator reads as not fitted."""
        for name in (
            "_train_state",
            "history_",
            "loss_curve_",
            "n_iter_",
            "t_",
            "schedule_horizon_",
            "coef_",
            "intercept_",
            "_y_scale",
            "classes_",
            "n_features_in_",
            "feature_names_in_",
        ):
            if hasattr(self, name):
                delattr(self, name)

    def optimizer_for(self, n_samples: int) -> Any:
        """The optimizer a fresh :meth:`fit` of these settings on ``n_samples`` training rows
        trains with (the schedule, clipping, plateau rule and averaging included).

        For gdlab's tools that train several runs themselves (the batched :func:`gdlab.sweep`);
        :meth:`prepare_run` gives it too, with the data prepared.

        Returns
        -------
        GradientTransformation

        Examples
        --------
        >>> import numpy as np
        >>> from gdlab import GDRegressor
        >>> tx = GDRegressor(optimizer="sgd", learning_rate=0.1).optimizer_for(100)
        >>> float(tx.rate(tx.init(np.zeros(2))))
        0.1
        """
        return self._optimizer(n_samples)

    def _optimizer(self, n_samples: int, horizon: int | None = None) -> Any:
        """The optimizer of a fit; ``horizon`` (default ``max_iter``) in epochs for schedules."""
        if horizon is None:
            horizon = horizon_epochs(self.schedule_params, self.max_iter)
        rate = build_schedule(
            self.schedule,
            self.learning_rate,
            n_samples=n_samples,
            batch_size=self.batch_size,
            max_iter=horizon,
            parameters=self.schedule_params,
        )
        tx = build_optimizer(
            self.optimizer,
            rate,
            momentum=self.momentum,
            extra=self.optimizer_params,
            clip_norm=self.clip_norm,
        )
        tx = add_plateau(
            tx,
            self.schedule,
            self.schedule_params,
            n_iter_no_change=self.n_iter_no_change,
            tol=self.tol,
        )
        start = average_start(getattr(self, "average", False))
        return averaged(tx, start, n_samples, self.batch_size) if start else tx

    def _set_coef(self, objective: LinearObjective, theta: Array) -> None:
        weights, intercept = self._original_units(objective, theta)
        self._store_coef(weights.T, intercept)

    def _store_coef(self, coef: Array, intercept: Array) -> None:
        raise NotImplementedError

    def _decision(self, X: Any) -> Array:
        check_is_fitted(self)
        if is_dask(X):  # lazy: one block of decision values per partition
            return dask_decision(self, X)
        if is_source(X):
            return source_decision(self, X)
        with naming_text_cells(X):
            X = validate_data(
                self, X, reset=False, dtype=[np.float64, np.float32], accept_sparse=["csr", "csc"]
            )
        with np.errstate(over="ignore", invalid="ignore"):
            scores = X @ self.coef_.T + self.intercept_
        if not np.all(np.isfinite(scores)):
            raise ValueError(
                f"The decision values overflow {scores.dtype}: X has values up to "
                f"{float(abs(X).max()):.3g} and the coefficients up to "
                f"{float(np.max(np.abs(self.coef_))):.3g}. Pass X as float64, or refit on "
                "rescaled features (standardize=True)."
            )
        return scores
