"""How a multi-layer perceptron prepares one training call: the network objective (and the
validation one with early stopping), the optimizer, the engine's configuration, the starting state
and the history. :class:`NetworkPreparation` is a mixin of
:class:`~gdlab.estimators._mlp_base.BaseMLP`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from gdlab.engine import TrainConfig, TrainState, init_state
from gdlab.estimators._gd_state import Run
from gdlab.estimators._snapshot import copy_history
from gdlab.estimators._validation_split import held_out, validation_split
from gdlab.nn import Architecture, NetworkObjective
from gdlab.nn.diagnostics import LayerTracker, NetworkHistory

Array = NDArray[np.floating[Any]]


@dataclass(frozen=True)
class _Data:
    """A fit's validated data: features, labels, encoded targets, row weights."""

    X: Array
    y: Any
    targets: Array
    weight: Array | None
    early_stopping: bool


class NetworkPreparation:
    """Preparing a network's run (a mixin of :class:`~gdlab.estimators._mlp_base.BaseMLP`)."""

    # settings and machinery of BaseMLP that this uses
    alpha: float
    batch_size: Any
    max_iter: int
    n_iter_no_change: int
    shuffle: bool
    tol: Any
    validation_fraction: float
    verbose: Any
    history_: Any
    _bn_state: Any
    _draws: int
    _seed: int
    _train_state: Any
    _initial_params: Any
    _loss_object: Any
    _optimizer: Any
    _scale: Any
    _stratify: Any

    def _objectives(
        self, data: _Data, arch: Architecture, continuing: bool, theta: Array
    ) -> tuple[NetworkObjective, NetworkObjective | None]:
        bn_state = self._bn_state.copy() if continuing else None
        X, targets, weight = self._scale(data.X), data.targets, data.weight
        validation = None
        if data.early_stopping:
            train_idx, val_idx = validation_split(
                X.shape[0], self.validation_fraction, self._seed, self._stratify(data.y)
            )
            X_val, t_val = X[val_idx], targets[val_idx]
            w_val = None if weight is None else weight[val_idx]
            X, targets = X[train_idx], targets[train_idx]
            weight = None if weight is None else weight[train_idx]
        loss = self._loss_object(arch.n_outputs)
        objective = NetworkObjective(
            X,
            targets,
            loss,
            arch,
            alpha=self.alpha,
            seed=self._seed + 1,
            bn_state=bn_state,
            draws=self._draws if continuing else 0,
            tracker=LayerTracker(arch, theta),
            sample_weight=weight,
        )
        if data.early_stopping:
            if w_val is not None and not np.sum(w_val) > 0:
                w_val = None  # held-out rows all of weight 0: score them unweighted
            validation = NetworkObjective(
                X_val,
                t_val,
                loss,
                arch,
                alpha=self.alpha,
                bn_state=objective.bn_state,
                sample_weight=w_val,
            )
        return objective, validation

    def _prepare_run(
        self,
        data: _Data,
        arch: Architecture,
        continuing: bool,
        init: tuple[Any, Any],
        partial: bool,
    ) -> Run:
        """The objective(s), optimizer, configuration, state and history of one training call."""
        n = data.X.shape[0]
        n_train = n - (held_out(n, self.validation_fraction) if data.early_stopping else 0)
        if continuing:
            previous = self._train_state
            state = TrainState(**{**vars(previous), "params": previous.params.copy()})
            history = copy_history(self.history_)
            horizon = self.max_iter if partial else state.epoch + self.max_iter
            optimizer = self._optimizer(n_train, horizon)
        else:
            horizon = self.max_iter
            optimizer = self._optimizer(n_train, self.max_iter)
            theta0 = self._initial_params(arch, *init)
            state = init_state(theta0, optimizer)
            history = NetworkHistory()
        objective, validation = self._objectives(data, arch, continuing, state.params)
        config = TrainConfig(
            batch_size=self.batch_size,
            max_epochs=1 if partial else self.max_iter,
            shuffle=bool(self.shuffle),
            seed=self._seed,
            tol=None if partial else self.tol,
            n_iter_no_change=self.n_iter_no_change,
            adapt=not partial,
            verbose=int(self.verbose),
            backend="auto",  # compiled for large enough networks: gdlab.backends.network_epochs
            check_final=not partial,
        )
        return Run(objective, validation, optimizer, config, state, history, horizon, 0)
