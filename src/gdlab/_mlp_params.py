"""The hyperparameter checks of :class:`~gdlab.MLPRegressor` and :class:`~gdlab.MLPClassifier`.

They live in the declarative tables of :mod:`gdlab._settings` (:data:`~gdlab._settings.MLP_SETTINGS`
after the training settings shared with the linear estimators); this name stays for the modules
that import it.
"""

from __future__ import annotations

from gdlab._settings import check_mlp_params

__all__ = ["check_mlp_params"]
