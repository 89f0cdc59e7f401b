"""The fitted state of the linear estimators: the one writer of fitted attributes, epoch
snapshots, and the state as plain data (a mixin of :class:`gdlab.estimators._base.BaseGD`).

A fit is prepared as a :class:`Run` (``BaseGD.prepare_run``); the engine's result is adopted by
:meth:`GDState._adopt`, the only place that writes ``coef_``, ``history_``, the training state and
the other fitted attributes (for the model at the end of a fit, each epoch's snapshot and the
batched sweep's runs); :meth:`GDState.state_dict` and :meth:`GDState.load_state_dict` give and take
the whole fitted state as dicts of arrays and numbers, which :mod:`gdlab.io` saves and loads.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
from numpy.typing import NDArray
from sklearn.exceptions import NotFittedError

from gdlab._averaging import fitted_params
from gdlab._objectives import LinearObjective
from gdlab.engine import TrainConfig, TrainState
from gdlab.estimators._builders import horizon_epochs
from gdlab.estimators._linear_checks import (
    check_linear_attributes,
    check_linear_state,
    linear_scaling,
)
from gdlab.estimators._plain import (
    check_int,
    check_sections,
    fitted_attributes,
    plain_attributes,
    plain_train_state,
    train_state_from_plain,
)
from gdlab.estimators._snapshot import SnapshotLog
from gdlab.history import History

Array = NDArray[np.floating[Any]]

__all__ = ["GDState", "Run", "public_attributes", "require_fitted"]


@dataclass
class Run:
    """One training call prepared by an estimator for :func:`gdlab.engine.train`.

    Attributes
    ----------
    objective, validation
        The training objective (scaled data) and the validation one or ``None``.
    optimizer : GradientTransformation
    config : TrainConfig
    state : TrainState
        The initial state (or the previous fit's, continued).
    history : History
        Where the engine records (the previous fit's records, a copy, in training units).
    horizon : int
        The schedule's horizon in epochs (``schedule_horizon_``).
    path_mark : int
        The recorded parameter vectors before this call (already in the units of ``X``).
    """

    objective: Any
    validation: Any
    optimizer: Any
    config: TrainConfig
    state: TrainState
    history: History
    horizon: int
    path_mark: int


class GDState:
    """Adopting results, snapshots and ``state_dict`` for
    :class:`~gdlab.estimators._base.BaseGD`."""

    # settings and fitting machinery of BaseGD and its units mixin
    schedule_params: Any
    max_iter: int
    fit_intercept: bool
    _seed: int
    _x_mean: Array | None
    _x_scale: Array | None
    _train_state: TrainState
    history_: History

    def _original_units(self, objective: Any, theta: Array) -> tuple[Array, Array]:
        raise NotImplementedError

    def _to_original_units(self, objective: Any, history: History, start: int) -> None:
        raise NotImplementedError

    def _path_point(self, objective: Any, theta: Array) -> Array:
        raise NotImplementedError

    def _target_scaling(self) -> float:
        raise NotImplementedError

    def _store_coef(self, coef: Array, intercept: Array) -> None:
        raise NotImplementedError

    def _optimizer(self, n_samples: int, horizon: int | None = None) -> Any:
        raise NotImplementedError

    def _warn_if_unsettled(self, result: Any) -> None:
        raise NotImplementedError

    def _snapshots(self, run: Run, callback: Any) -> Any:
        """An engine ``on_epoch_end`` hook calling ``callback(snapshot)`` after every epoch.

        ``snapshot`` is a shallow copy of this estimator that adopted the state at the end of the
        epoch (:meth:`_adopt`), its history a prefix of a
        :class:`~gdlab.estimators._snapshot.SnapshotLog`
        (O(1) per epoch); this estimator is not touched until its fit ends. Returning ``True``
        (exactly: ``save_checkpoint`` returns a path) stops training.
        """
        objective, start_epoch = run.objective, run.state.epoch

        def convert(theta: Array) -> Array:
            return self._path_point(objective, theta)

        log = SnapshotLog(run.history, self._target_scaling() ** 2, convert, run.path_mark)

        def on_epoch_end(state: TrainState, history: History) -> bool:
            snapshot = copy.copy(self)
            history = log.prefix()
            epochs = state.epoch - start_epoch
            snapshot._adopt(
                objective, replace(state), history, epochs, run.horizon, log.loss_curve()
            )
            return callback(snapshot) is True

        return on_epoch_end

    def adopt_run(
        self, run: Run, result: Any, *, warn: bool = True, fitted_like: Any = None
    ) -> None:
        """Take a finished :func:`~gdlab.engine.train` result of ``run`` as the fitted state.

        ``fitted_like``: an estimator whose :meth:`prepare_run` prepared ``run`` (the batched
        sweep's shared preparation): its shuffling seed, scaling and fitted data description
        (``n_features_in_``, ``classes_``...) are taken too, so that this estimator is left as its
        own ``fit`` would leave it.
        """
        if fitted_like is not None:
            self._adopt_preparation(fitted_like)
        self._adopt_result(run, result, warn=warn)

    def history_in_data_units(self, run: Run, history: History) -> History:
        """``history`` recorded by the engine on ``run`` (training units), converted in place to
        the units of the data as ``history_`` reports them (a failed run's, in the sweep)."""
        self._to_original_units(run.objective, history, run.path_mark)
        return history

    def _adopt_result(self, run: Run, result: Any, *, warn: bool = True) -> None:
        self._to_original_units(run.objective, result.history, run.path_mark)
        self._adopt(run.objective, result.state, result.history, result.n_epochs, run.horizon)
        if warn:
            self._warn_if_unsettled(result)

    def _adopt(
        self,
        objective: LinearObjective,
        state: TrainState,
        history: History,
        n_epochs: int,
        horizon: int | None,
        loss_curve: list[float] | None = None,
    ) -> None:
        """Take a training state and its history (in the units of the data) as the fitted state.

        The one writer of the fitted attributes, for the model at the end of a fit, each epoch's
        snapshot (whose ``loss_curve`` comes from its log, so that its history is not read) and
        the batched sweep's runs.
        """
        self._train_state = state
        if horizon is None:  # the batched sweep's fresh models
            horizon = horizon_epochs(self.schedule_params, self.max_iter)
        self.schedule_horizon_ = horizon
        self.history_ = history
        self.loss_curve_ = list(history.loss) if loss_curve is None else loss_curve
        self.n_iter_ = n_epochs
        self.t_ = state.step
        params = fitted_params(state.params, state.opt_state)  # averaged or not
        weights, intercept = self._original_units(objective, params)
        self._store_coef(weights.T, intercept)

    # ---- state as plain data ---------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        """The fitted state as plain data: dicts, lists, numbers, text and NumPy arrays only.

        ``attributes``: the public fitted attributes (``coef_``, ``history_`` as its
        :meth:`~gdlab.history.History.to_dict`...); ``seed``: the shuffling seed; ``scaling``: the
        feature scaling ``x_mean``/``x_scale`` (arrays or ``None``) and the target scale
        ``y_scale``; ``train_state``: the fields of the :class:`~gdlab.engine.TrainState` a warm
        start continues from (parameters, the optimizer state in its plain form
        (:func:`gdlab.optim._plain_state.to_plain`), counters). Model files hold exactly this.
        The arrays are this estimator's own (not copies).

        Raises
        ------
        sklearn.exceptions.NotFittedError
            Before a fit.

        Examples
        --------
        >>> import numpy as np, gdlab
        >>> X = np.arange(8.0).reshape(4, 2); y = X @ [1.0, 2.0]
        >>> model = gdlab.GDRegressor(max_iter=2, tol=None, random_state=0).fit(X, y)
        >>> state = model.state_dict()
        >>> state["train_state"]["epoch"], sorted(state["scaling"])
        (2, ['x_mean', 'x_scale', 'y_scale'])
        >>> state["attributes"]["history_"]["loss"] == model.loss_curve_
        True
        >>> again = gdlab.GDRegressor(max_iter=2, tol=None, random_state=0).load_state_dict(state)
        >>> bool(np.array_equal(again.predict(X), model.predict(X)))
        True
        """
        state = require_fitted(self)
        y_scale = getattr(self, "_y_scale", None)
        return {
            "attributes": plain_attributes(public_attributes(self)),
            "seed": int(self._seed),
            "scaling": {
                "x_mean": self._x_mean,
                "x_scale": self._x_scale,
                "y_scale": None if y_scale is None else float(y_scale),
            },
            "train_state": plain_train_state(state),
        }

    def load_state_dict(self, state: dict[str, Any]) -> Any:
        """Take ``state`` (from :meth:`state_dict`, or a model file) as the fitted state.

        Everything is checked before anything is set: the entries and their types, shapes that
        fit together and the settings, the optimizer state's structure (that of
        :meth:`init_optimizer_state`), ``coef_``/``intercept_`` against the training parameters.
        The history and the optimizer state are rebuilt; the arrays are taken, not copied.
        Returns the estimator.

        Raises
        ------
        ValueError
            When an entry is missing, malformed or inconsistent; the message names it.
        """
        sections = ("attributes", "seed", "scaling", "train_state")
        state = check_sections(state, sections, type(self).__name__)
        attrs = fitted_attributes(self, state["attributes"], History)
        scaling = linear_scaling(state["scaling"])
        seed = check_int(state["seed"], "the seed")
        shape = check_linear_attributes(self, attrs, scaling)
        train_state = train_state_from_plain(self, state["train_state"], shape)
        check_linear_state(self, attrs, scaling, train_state)
        self._x_mean, self._x_scale = scaling["x_mean"], scaling["x_scale"]
        self._y_scale = scaling["y_scale"]
        self._seed = seed
        self._train_state = train_state
        for name, value in attrs.items():
            setattr(self, name, value)
        return self

    def init_optimizer_state(self, params: Array) -> Any:
        """The optimizer state this estimator's settings start from at ``params``: the structure
        of ``state_dict()["train_state"]["opt_state"]`` (model files are checked against it)."""
        return self._optimizer(1).init(params)

    #: what the preparation of a fit sets and the batched sweep's runs share
    _PREPARED = (
        "n_features_in_",
        "feature_names_in_",
        "classes_",
        "_seed",
        "_x_mean",
        "_x_scale",
        "_y_scale",
    )

    def _adopt_preparation(self, other: Any) -> None:
        for name in self._PREPARED:
            if hasattr(other, name):
                setattr(self, name, getattr(other, name))


def public_attributes(model: Any) -> dict[str, Any]:
    """The fitted attributes of ``model``: public names ending in ``_`` that are not settings."""
    settings = model.get_params(deep=False)
    return {
        key: value
        for key, value in vars(model).items()
        if key.endswith("_") and not key.startswith("_") and key not in settings
    }


def require_fitted(model: Any) -> TrainState:
    """``model``'s training state; ``NotFittedError`` before a fit."""
    if not hasattr(model, "_train_state"):
        raise NotFittedError(
            f"This {type(model).__name__} is not fitted yet, so there is no model to save: "
            "call fit first (get_params() gives its settings)."
        )
    state: TrainState = model._train_state
    return state
