"""One playground run: gdlab's own optimizer on a surface, step by step, through the one engine.

The run goes through :func:`gdlab.engine.train` (the training loop of every gdlab fit) with the
named optimizer of :mod:`gdlab.optim` wrapped in a recorder that keeps, for every update, the
parameters, the gradient, the update and the optimizer's new state. From that real state the
update is split into its parts::

    u_t = (-eta * g_t) * s_t + m_t

where ``-eta * g_t`` is the plain gradient step, ``s_t`` the adaptive per-coordinate scale read
from the optimizer's state (``1 / (sqrt(v_hat_t) + eps)`` for Adam, ``1 / (sqrt(sum g^2) + eps)``
for Adagrad, ``1 / (sqrt(avg g^2) + eps)`` for RMSprop, 1 otherwise) and ``m_t`` the rest: the
momentum term (heavy ball ``-eta * mu * b_{t-1}``, Adam's ``-eta * (m_hat_t - g_t) * s_t``, PID's
integral and derivative terms).
"""

from __future__ import annotations

import inspect
import math
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np
from numpy.typing import ArrayLike, NDArray

from gdlab import optim
from gdlab.engine import TrainConfig, init_state, train
from gdlab.exceptions import DivergenceError
from gdlab.optim.transforms import AccumulatorState, AdamState, RmsState
from gdlab.playground.surfaces import Surface, get_surface

Array = NDArray[np.float64]

__all__ = ["MAX_STEPS", "OPTIMIZER_NAMES", "Trajectory", "run", "trajectory"]

#: The optimizers the playground offers, in the order of its menu.
OPTIMIZER_NAMES = ("sgd", "momentum", "nesterov", "adagrad", "rmsprop", "adam", "pid")
#: The longest run one call computes.
MAX_STEPS = 5000
_SURFACE_SETTINGS = ("condition",)


@dataclass(frozen=True)
class Trajectory:
    """A run on a surface, with what each step did.

    Attributes
    ----------
    path : array of shape (steps + 1, 2)
        The start, then the parameters after every update. Rows after a divergence are NaN.
    loss : array of shape (steps + 1,)
        The surface's (full-data) loss at every point of the path.
    grad : array of shape (steps, 2)
        The gradient each update used (a mini-batch gradient for mini-batch runs).
    gradient_step, momentum, scale : arrays of shape (steps, 2)
        The parts of each update ``u_t = gradient_step_t * scale_t + momentum_t`` (see the module).
    diverged_at : int or None
        The number of updates made when gdlab stopped a diverging run, else ``None``.
    message : str
        Why the run stopped early (gdlab's divergence message), or ``""``.
    """

    path: Array
    loss: Array
    grad: Array
    gradient_step: Array
    momentum: Array
    scale: Array
    diverged_at: int | None
    message: str


class _Step(NamedTuple):
    params: Array
    grad: Array
    update: Array
    state: Any


def _recorder(tx: optim.GradientTransformation, log: list[_Step]) -> optim.GradientTransformation:
    """``tx`` unchanged, but every update also appended to ``log``."""

    def update(grads: Array, state: Any, params: Array | None = None) -> tuple[Any, Any]:
        updates, new_state = tx.update(grads, state, params)
        log.append(_Step(np.array(params), np.array(grads), np.array(updates), new_state))
        return updates, new_state

    return optim.GradientTransformation(
        tx.init, update, name=tx.name, hyperparams=tx.hyperparams, rate=tx.rate
    )


def _states(state: Any) -> list[Any]:
    """The members of a (nested) chain state, flattened."""
    if isinstance(state, tuple) and not hasattr(state, "_fields"):
        return [member for part in state for member in _states(part)]
    return [state]


def adaptive_scale(state: Any, hyperparams: dict[str, Any]) -> Array | float:
    """The per-coordinate factor an adaptive optimizer's state puts on the gradient step.

    Examples
    --------
    >>> import numpy as np
    >>> from gdlab import optim
    >>> tx = optim.adagrad(learning_rate=0.1, eps=0.0)
    >>> _, state = tx.update(np.array([3.0, -4.0]), tx.init(np.zeros(2)))
    >>> adaptive_scale(state, dict(tx.hyperparams))   # 1 / sqrt(g^2)
    array([0.33333333, 0.25      ])
    """
    eps = hyperparams.get("eps", 0.0)
    for member in _states(state):
        if isinstance(member, AdamState):
            correction = 1.0 - hyperparams["b2"] ** member.count
            return np.asarray(1.0 / (np.sqrt(member.nu / correction) + eps))
        if isinstance(member, AccumulatorState):
            return np.asarray(1.0 / (np.sqrt(member.sum_of_squares) + eps))
        if isinstance(member, RmsState):
            variance = member.square_avg
            if hyperparams.get("centered"):
                variance = np.maximum(variance - member.grad_avg**2, 0.0)
            return np.asarray(1.0 / (np.sqrt(variance) + eps))
    return 1.0


def _split_settings(
    surface: Surface | str, optimizer: str, settings: dict[str, Any]
) -> tuple[Surface, dict[str, Any], int | None, int]:
    """(surface, optimizer keyword arguments, batch_size, seed) from ``run``'s settings."""
    settings = dict(settings)
    surface_settings = {k: settings.pop(k) for k in _SURFACE_SETTINGS if k in settings}
    if isinstance(surface, str):
        surface = get_surface(surface, **surface_settings)
    elif not isinstance(surface, Surface):
        raise TypeError(f"surface must be a surface name or a Surface; got {surface!r}.")
    else:
        for key, value in surface_settings.items():
            if surface.settings.get(key) != value:
                raise ValueError(
                    f"The {key!r} setting ({value!r}) does not match the surface given "
                    f"({surface.settings.get(key)!r}); pass the surface's name to change it."
                )
    batch_size = settings.pop("batch_size", None)
    seed = settings.pop("seed", 0)
    if batch_size is not None and (
        isinstance(batch_size, bool)
        or not isinstance(batch_size, int | np.integer)
        or not 1 <= batch_size <= surface.n_samples
    ):
        raise ValueError(
            f"The 'batch_size' setting must be None (full batch) or an int in "
            f"[1, {surface.n_samples}] for the surface {surface.name!r}. Got {batch_size!r}."
        )
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer):
        raise ValueError(f"The 'seed' setting must be an int. Got {seed!r} instead.")
    if optimizer not in OPTIMIZER_NAMES:
        raise ValueError(
            f"Unknown optimizer {optimizer!r}; choose one of: {', '.join(OPTIMIZER_NAMES)}."
        )
    settings.setdefault("learning_rate", surface.default_learning_rate)
    accepted = inspect.signature(optim.OPTIMIZERS[optimizer]).parameters
    for key in settings:
        if key not in accepted:
            raise ValueError(
                f"{key!r} is not a setting of the optimizer {optimizer!r}; its settings are: "
                f"{', '.join(accepted)}, and batch_size, seed, condition for the run."
            )
    return surface, settings, None if batch_size is None else int(batch_size), int(seed)


def _check_start_and_steps(start: ArrayLike, steps: Any) -> Array:
    point = np.array(start, dtype=float).reshape(-1)
    if point.shape != (2,) or not np.all(np.isfinite(point)):
        raise ValueError(f"The 'start' of a run must be two finite numbers. Got {start!r}.")
    if isinstance(steps, bool) or not isinstance(steps, int | np.integer):
        raise ValueError(f"The 'steps' of a run must be an int. Got {steps!r} instead.")
    if not 1 <= steps <= MAX_STEPS:
        raise ValueError(f"The 'steps' of a run must be in [1, {MAX_STEPS}]. Got {steps!r}.")
    return point


def trajectory(
    surface: Surface | str, optimizer: str, start: ArrayLike, steps: int, **settings: Any
) -> Trajectory:
    """Run ``optimizer`` on ``surface`` from ``start`` for ``steps`` updates; keep every part.

    Parameters are those of :func:`run`.

    Examples
    --------
    >>> t = trajectory("quadratic", "momentum", start=[-4.0, 1.5], steps=3, learning_rate=0.1)
    >>> t.path.shape, t.momentum.shape
    ((4, 2), (3, 2))
    >>> bool(np.allclose(np.diff(t.path, axis=0), t.gradient_step * t.scale + t.momentum))
    True
    """
    point = _check_start_and_steps(start, steps)
    surface, kwargs, batch_size, seed = _split_settings(surface, optimizer, settings)
    tx = optim.get(optimizer, **kwargs)
    log: list[_Step] = []
    recorder = _recorder(tx, log)
    objective = surface.objective()
    per_epoch = 1 if batch_size is None else math.ceil(objective.n_samples / batch_size)
    config = TrainConfig(
        batch_size=batch_size,
        max_epochs=math.ceil(steps / per_epoch),
        shuffle=batch_size is not None,
        seed=seed,
        backend="numpy",
    )
    message = ""
    try:
        train(objective, recorder, init_state(point, recorder), config)
    except DivergenceError as error:
        message = str(error).splitlines()[0] if str(error) else "The run diverged."
    made = min(len(log), steps)
    diverged_at = made if made < steps else None
    return _assemble(surface, tx, log[:made], point, steps, diverged_at, message)


def _assemble(
    surface: Surface,
    tx: optim.GradientTransformation,
    log: list[_Step],
    start: Array,
    steps: int,
    diverged_at: int | None,
    message: str,
) -> Trajectory:
    path = np.full((steps + 1, 2), np.nan)
    grad, gradient_step, momentum, scale = (np.full((steps, 2), np.nan) for _ in range(4))
    path[0] = start
    rate = float(tx.hyperparams["learning_rate"])
    hyperparams = dict(tx.hyperparams)
    with np.errstate(all="ignore"):
        for t, step in enumerate(log):
            path[t + 1] = optim.apply_updates(step.params, step.update)
            grad[t] = step.grad
            gradient_step[t] = -rate * step.grad
            scale[t] = adaptive_scale(step.state, hyperparams)
            momentum[t] = step.update - gradient_step[t] * scale[t]
        loss = np.asarray(surface.value(path.T), dtype=float)
    return Trajectory(
        path,
        loss,
        grad,
        gradient_step,
        momentum,
        scale,
        diverged_at,
        message if diverged_at else "",
    )


def run(
    surface: Surface | str, optimizer: str, start: ArrayLike, steps: int, **settings: Any
) -> Array:
    """The path of ``optimizer`` on ``surface`` from ``start``: what the playground draws.

    Parameters
    ----------
    surface : str or Surface
        ``"regression"``, ``"quadratic"``, ``"rosenbrock"``, ``"saddle"``, ``"local_minima"``, or
        a :class:`~gdlab.playground.surfaces.Surface` (such as one from your data).
    optimizer : str
        One of ``sgd``, ``momentum``, ``nesterov``, ``adagrad``, ``rmsprop``, ``adam``, ``pid``
        (:mod:`gdlab.optim`'s named optimizers).
    start : pair of float
    steps : int
        The number of updates.
    **settings
        The optimizer's parameters (``learning_rate``, default the surface's; ``momentum``,
        ``b1``, ``b2``, ...), ``batch_size`` (``None`` full batch, ``1`` stochastic, ``k``
        mini-batch; for data surfaces), ``seed`` (the shuffling of mini-batches) and
        ``condition`` (the quadratic's condition number).

    Returns
    -------
    array of shape (steps + 1, 2)
        The start, then the parameters after each update. When gdlab's divergence rule stops a
        run (the loss exploded), the rows after the last point reached are NaN.

    Examples
    --------
    >>> path = run("quadratic", "sgd", start=[-4.0, 1.5], steps=2, learning_rate=0.1)
    >>> path   # x <- x - 0.1 x,  y <- y - 0.1 * 10 y
    array([[-4.  ,  1.5 ],
           [-3.6 ,  0.  ],
           [-3.24,  0.  ]])
    """
    return trajectory(surface, optimizer, start, steps, **settings).path
