"""The ``--model mlp`` options of ``gdlab fit``: a network instead of a linear model.

``gdlab fit DATA --target y --model mlp --hidden 64,64 --activation relu --batch-norm
--dropout 0.1`` trains :class:`~gdlab.MLPRegressor` or :class:`~gdlab.MLPClassifier` with the
command's other training settings (optimizer, learning rate, batch size, epochs, tol,
standardize, seed, clipping). The command layer only builds the estimator and prints what it
learned; the training is the library's.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import click

from gdlab.nn.activations import ACTIVATIONS

__all__ = ["NETWORK_OPTIONS", "describe_model", "layer_table", "mlp_estimator", "mlp_options"]

MODELS = ("linear", "mlp")
#: The keyword names that :func:`mlp_options` adds to a command.
NETWORK_OPTIONS = ("model_kind", "hidden", "activation", "batch_norm", "dropout")


def _hidden_sizes(ctx: Any, param: Any, value: str) -> tuple[int, ...]:
    try:
        sizes = tuple(int(part) for part in value.split(",") if part.strip())
    except ValueError:
        raise click.BadParameter(
            f"{value!r} is not a comma-separated list of layer widths such as 64,64."
        ) from None
    if not sizes or min(sizes) < 1:
        raise click.BadParameter(f"{value!r}: every hidden layer needs at least 1 unit.")
    return sizes


def mlp_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """Add ``--model``, ``--hidden``, ``--activation``, ``--batch-norm`` and ``--dropout``."""
    options = [
        click.option(
            "--model",
            "model_kind",
            type=click.Choice(MODELS),
            default="linear",
            show_default=True,
            help="linear: GDRegressor/GDClassifier; mlp: a neural network (MLPRegressor/"
            "MLPClassifier).",
        ),
        click.option(
            "--hidden",
            callback=_hidden_sizes,
            default="100",
            show_default=True,
            help="With --model mlp: units of each hidden layer, comma-separated (64,64).",
        ),
        click.option(
            "--activation",
            type=click.Choice(tuple(ACTIVATIONS)),
            default="relu",
            show_default=True,
            help="With --model mlp: activation of the hidden layers.",
        ),
        click.option(
            "--batch-norm", is_flag=True, help="With --model mlp: batch normalization per layer."
        ),
        click.option(
            "--dropout",
            type=click.FloatRange(min=0.0, max=1.0, max_open=True),
            default=0.0,
            show_default=True,
            help="With --model mlp: probability of dropping a hidden unit in training.",
        ),
    ]
    for option in reversed(options):
        command = option(command)
    return command


def mlp_estimator(
    linear: Any,
    *,
    model_kind: str = "linear",
    hidden: tuple[int, ...] = (100,),
    activation: str = "relu",
    batch_norm: bool = False,
    dropout: float = 0.0,
) -> Any:
    """``linear`` itself for ``--model linear``, else a network with its training settings."""
    if model_kind == "linear":
        if batch_norm or dropout or hidden != (100,) or activation != "relu":
            raise click.UsageError(
                "--hidden, --activation, --batch-norm and --dropout describe a network: add "
                "--model mlp."
            )
        return linear
    from sklearn.base import is_classifier

    from gdlab.estimators._mlp import MLPClassifier, MLPRegressor

    classifier = is_classifier(linear)
    if linear.loss not in ("squared_error", "log_loss"):
        raise click.BadParameter(
            f"--model mlp trains with squared_error (regression) or log_loss (classification); "
            f"got {linear.loss!r}.",
            param_hint="'--loss'",
        )
    _refuse_linear_only(linear)
    cls = MLPClassifier if classifier else MLPRegressor
    return cls(
        hidden,
        activation,
        batch_norm=batch_norm,
        dropout=dropout,
        optimizer=linear.optimizer,
        learning_rate=linear.learning_rate,
        batch_size=linear.batch_size,
        max_iter=linear.max_iter,
        tol=linear.tol,
        standardize=linear.standardize,
        random_state=linear.random_state,
        clip_norm=linear.clip_norm,
        alpha=linear.alpha if linear.penalty == "l2" else 0.0,
        momentum=linear.momentum,
        schedule=linear.schedule,
        schedule_params=linear.schedule_params,
        early_stopping=linear.early_stopping,
    )


def _refuse_linear_only(linear: Any) -> None:
    """A usage error for the options of ``gdlab fit`` that only a linear model has."""
    refused = []
    if linear.penalty not in (None, "l2"):
        refused.append(f"--penalty {linear.penalty} (a network takes l2 only)")
    if linear.average:
        refused.append("--average")
    if getattr(linear, "class_weight", None) is not None:
        refused.append("--class-weight")
    if refused:
        raise click.UsageError(
            f"{', '.join(refused)}: for linear models; --model mlp trains without."
        )


def is_network(model: Any) -> bool:
    return hasattr(model, "hidden_layer_sizes")


def describe_model(model: Any) -> str:
    """The 'model' row of the summary."""
    if not is_network(model):
        return f"{type(model).__name__}(loss={model.loss})"
    layers = "-".join(str(coef.shape[1]) for coef in model.coefs_[:-1])  # fitted widths
    extras = [model.activation]
    if model.batch_norm:
        extras.append("batch norm")
    if model.dropout:
        extras.append(f"dropout {model.dropout:g}")
    return f"{type(model).__name__}(hidden {layers}, {', '.join(extras)})"


def layer_table(model: Any) -> Any:
    """Per-layer numbers of the last epoch: weights, gradient, update ratio, activations."""
    from rich.table import Table

    from gdlab.cli._output import fmt

    layers = model.history_.layers
    table = Table(title="Layers after the last epoch")
    for name in ("layer", "shape", "|W|", "|grad|", "update/weight", "act mean", "act std"):
        table.add_column(name, justify="left" if name == "layer" else "right")
    table.add_column("dead" if model.activation == "relu" else "saturated", justify="right")
    n_hidden = len(model.coefs_) - 1
    for index, weights in enumerate(model.coefs_):
        hidden = index < n_hidden
        row = [
            f"hidden {index + 1}" if hidden else "output",
            f"{weights.shape[0]} x {weights.shape[1]}",
            fmt(layers["weight_norm"][-1][index], 4),
            fmt(layers["grad_norm"][-1][index], 4),
            fmt(layers["update_ratio"][-1][index], 3),
        ]
        for metric in ("activation_mean", "activation_std", "saturated"):
            row.append(fmt(layers[metric][-1][index], 3) if hidden else "-")
        table.add_row(*row)
    return table
