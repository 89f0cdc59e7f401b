"""The linear estimator a command trains, built from its options."""

from __future__ import annotations

from typing import Any

import click


def make_estimator(
    task: str,
    *,
    optimizer: str,
    learning_rate: float,
    batch_size: int | None,
    epochs: int,
    standardize: bool,
    seed: int,
    tol: float | None = None,
    loss: str | None = None,
    clip_norm: float | None = None,
    record_params: bool = False,
    extra: dict[str, Any] | None = None,
) -> Any:
    """A GDRegressor or GDClassifier with the command's settings (``extra``: further ones)."""
    from gdlab.estimators._linear import GDClassifier, GDRegressor

    cls = GDClassifier if task == "classification" else GDRegressor
    kwargs: dict[str, Any] = {
        "optimizer": optimizer,
        "learning_rate": learning_rate,
        "batch_size": batch_size,
        "max_iter": epochs,
        "tol": tol,
        "standardize": standardize,
        "random_state": seed,
        "clip_norm": clip_norm,
        "record_params": record_params,
    }
    if loss is not None:
        allowed = cls.supported_losses()
        if loss not in allowed:
            raise click.BadParameter(
                f"{loss!r} is not a {task} loss; choose one of {', '.join(allowed)}.",
                param_hint="'--loss'",
            )
        kwargs["loss"] = loss
    return cls(**kwargs, **(extra or {}))
