"""Named optimizers, each a short chain of building blocks, and a registry of them by name.

Every rule agrees step for step with PyTorch's documented update rule for the optimizer of the same
name (``torch.optim.SGD``, ``Adagrad``, ``RMSprop``, ``Adam``, ``AdamW``); the tests compare
trajectories recorded from PyTorch 2.13. Beside each chain, the optimizer declares its
compiled-kernel form (:class:`~gdlab.optim.kernel.KernelForm`, collected in :data:`KERNEL_FORMS`):
the blocks the kernels recognise, where their hyperparameters come from and where the state lives.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from gdlab.optim.base import GradientTransformation, ScalarOrSchedule, chain
from gdlab.optim.kernel import Kernel, KernelForm
from gdlab.optim.transforms import (
    accumulate,
    add_decayed_weights,
    check_fraction,
    check_learning_rate,
    check_non_negative,
    clip_by_global_norm,
    scale_by_adagrad,
    scale_by_adam,
    scale_by_learning_rate,
    scale_by_pid,
    scale_by_rms,
    trace,
)


def _named(name: str, tx: GradientTransformation, **hyperparams: Any) -> GradientTransformation:
    return GradientTransformation(
        tx.init, tx.update, name=name, hyperparams=hyperparams, kernel=tx.kernel, rate=tx.rate
    )


def _check_flag(name: str, value: Any, owner: str) -> bool:
    if not isinstance(value, bool | np.bool_):
        raise TypeError(f"The {name!r} parameter of {owner} must be True or False. Got {value!r}.")
    return bool(value)


def sgd(
    learning_rate: ScalarOrSchedule, momentum: float = 0.0, nesterov: bool = False
) -> GradientTransformation:
    """Stochastic gradient descent, with optional (Nesterov) momentum.

    Update rule (PyTorch's ``SGD``), with ``eta`` the learning rate::

        b_1 = g_1;  b_t = momentum * b_{t-1} + g_t
        d_t = g_t + momentum * b_t   if nesterov   else   b_t     (d_t = g_t when momentum = 0)
        theta_t = theta_{t-1} - eta * d_t

    Parameters
    ----------
    learning_rate : float or schedule
        The step size ``eta``.
    momentum : float, default 0.0
        The momentum factor in ``[0, 1)``.
    nesterov : bool, default False
        Use Nesterov's look-ahead form; needs ``momentum > 0``.

    Examples
    --------
    >>> import numpy as np
    >>> from gdlab import optim
    >>> tx = optim.sgd(learning_rate=0.1, momentum=0.9)
    >>> theta = np.array([1.0]); state = tx.init(theta)
    >>> for _ in range(2):
    ...     updates, state = tx.update(2 * theta, state, theta)   # gradient of theta^2
    ...     theta = optim.apply_updates(theta, updates)
    >>> theta.round(4)
    array([0.46])
    """
    learning_rate = check_learning_rate(learning_rate, "sgd")
    momentum = check_fraction("momentum", momentum, "sgd")
    nesterov = _check_flag("nesterov", nesterov, "sgd")
    if nesterov and momentum == 0:
        raise ValueError(
            "The 'nesterov' parameter of sgd needs a momentum > 0 (Nesterov's look-ahead works "
            f"on the momentum buffer). Got momentum={momentum!r}."
        )
    blocks = [trace(momentum, nesterov)] if momentum else []
    tx = chain(*blocks, scale_by_learning_rate(learning_rate))
    return _named("sgd", tx, learning_rate=learning_rate, momentum=momentum, nesterov=nesterov)


#: sgd in the kernels (code 0): hyper ``(momentum, nesterov)``, the momentum buffer in ``s1``
SGD_FORMS = (
    KernelForm("sgd", 0, ("scale_by_learning_rate",), (0.0, 0.0)),
    KernelForm(
        "sgd",
        0,
        ("trace", "scale_by_learning_rate"),
        ((0, "momentum"), (0, "nesterov")),
        ((0, "trace", 0),),
    ),
)


def adagrad(
    learning_rate: ScalarOrSchedule, eps: float = 1e-10, initial_accumulator_value: float = 0.0
) -> GradientTransformation:
    """Adagrad: per-coordinate steps shrink with the sum of past squared gradients.

    Update rule (PyTorch's ``Adagrad`` without ``lr_decay``)::

        s_t = s_{t-1} + g_t^2              (s_0 = initial_accumulator_value)
        theta_t = theta_{t-1} - eta * g_t / (sqrt(s_t) + eps)

    Examples
    --------
    >>> import numpy as np
    >>> from gdlab import optim
    >>> tx = optim.adagrad(learning_rate=0.5)
    >>> updates, _ = tx.update(np.array([4.0]), tx.init(np.zeros(1)))
    >>> updates
    array([-0.5])
    """
    learning_rate = check_learning_rate(learning_rate, "adagrad")
    eps = check_non_negative("eps", eps, "adagrad")
    initial = check_non_negative("initial_accumulator_value", initial_accumulator_value, "adagrad")
    tx = chain(scale_by_adagrad(eps, initial), scale_by_learning_rate(learning_rate))
    return _named(
        "adagrad", tx, learning_rate=learning_rate, eps=eps, initial_accumulator_value=initial
    )


#: adagrad in the kernels (code 1): hyper ``(eps,)``, the sum of squares in ``s1``
ADAGRAD_FORM = KernelForm(
    "adagrad",
    1,
    ("scale_by_adagrad", "scale_by_learning_rate"),
    ((0, "eps"),),
    ((0, "sum_of_squares", 0),),
)


def rmsprop(
    learning_rate: ScalarOrSchedule,
    decay: float = 0.99,
    eps: float = 1e-8,
    momentum: float = 0.0,
    centered: bool = False,
) -> GradientTransformation:
    """RMSprop: divide the gradient by a running root-mean-square of recent gradients.

    Update rule (PyTorch's ``RMSprop``; ``decay`` is PyTorch's ``alpha``)::

        a_t = decay * a_{t-1} + (1 - decay) * g_t^2
        c_t = decay * c_{t-1} + (1 - decay) * g_t        (only if centered; then a_t -> a_t - c_t^2)
        d_t = g_t / (sqrt(a_t) + eps)
        b_t = momentum * b_{t-1} + d_t  (b_0 = 0; only if momentum > 0, then d_t -> b_t)
        theta_t = theta_{t-1} - eta * d_t

    Examples
    --------
    >>> import numpy as np
    >>> from gdlab import optim
    >>> tx = optim.rmsprop(learning_rate=0.01, eps=0.0)
    >>> updates, _ = tx.update(np.array([3.0]), tx.init(np.zeros(1)))
    >>> updates.round(6)   # -0.01 * 3 / sqrt(0.01 * 9)
    array([-0.1])
    """
    learning_rate = check_learning_rate(learning_rate, "rmsprop")
    decay = check_fraction("decay", decay, "rmsprop")
    eps = check_non_negative("eps", eps, "rmsprop")
    momentum = check_fraction("momentum", momentum, "rmsprop")
    centered = _check_flag("centered", centered, "rmsprop")
    blocks = [scale_by_rms(decay, eps, centered)]
    if momentum:
        blocks.append(accumulate(momentum))
    tx = chain(*blocks, scale_by_learning_rate(learning_rate))
    return _named(
        "rmsprop",
        tx,
        learning_rate=learning_rate,
        decay=decay,
        eps=eps,
        momentum=momentum,
        centered=centered,
    )


#: rmsprop in the kernels (code 2): hyper ``(decay, eps, momentum, centered)``; the averages of
#: squares and of gradients in ``s1``, ``s2``, the momentum buffer (``accumulate``) in ``s3``
RMSPROP_FORMS = (
    KernelForm(
        "rmsprop",
        2,
        ("scale_by_rms", "scale_by_learning_rate"),
        ((0, "decay"), (0, "eps"), 0.0, (0, "centered")),
        ((0, "square_avg", 0), (0, "grad_avg", 1)),
    ),
    KernelForm(
        "rmsprop",
        2,
        ("scale_by_rms", "accumulate", "scale_by_learning_rate"),
        ((0, "decay"), (0, "eps"), (1, "momentum"), (0, "centered")),
        ((0, "square_avg", 0), (0, "grad_avg", 1), (1, "trace", 2)),
    ),
)


def adam(
    learning_rate: ScalarOrSchedule, b1: float = 0.9, b2: float = 0.999, eps: float = 1e-8
) -> GradientTransformation:
    """Adam: momentum on the gradient and on its square, with bias correction.

    Update rule (PyTorch's ``Adam``; ``eps`` outside the square root)::

        m_t = b1 * m_{t-1} + (1 - b1) * g_t
        v_t = b2 * v_{t-1} + (1 - b2) * g_t^2
        theta_t = theta_{t-1} - eta * (m_t / (1 - b1^t)) / (sqrt(v_t / (1 - b2^t)) + eps)

    Examples
    --------
    >>> import numpy as np
    >>> from gdlab import optim
    >>> tx = optim.adam(learning_rate=0.1)
    >>> updates, _ = tx.update(np.array([5.0, -0.2]), tx.init(np.zeros(2)))
    >>> updates.round(6)   # the first Adam step is -eta * sign(g)
    array([-0.1,  0.1])
    """
    learning_rate = check_learning_rate(learning_rate, "adam")
    b1 = check_fraction("b1", b1, "adam")
    b2 = check_fraction("b2", b2, "adam")
    eps = check_non_negative("eps", eps, "adam")
    tx = chain(scale_by_adam(b1, b2, eps), scale_by_learning_rate(learning_rate))
    return _named("adam", tx, learning_rate=learning_rate, b1=b1, b2=b2, eps=eps)


#: adam in the kernels (code 3): hyper ``(b1, b2, eps, weight_decay=0)``, the moments in ``s1, s2``
ADAM_FORM = KernelForm(
    "adam",
    3,
    ("scale_by_adam", "scale_by_learning_rate"),
    ((0, "b1"), (0, "b2"), (0, "eps"), 0.0),
    ((0, "mu", 0), (0, "nu", 1)),
)


def adamw(
    learning_rate: ScalarOrSchedule,
    b1: float = 0.9,
    b2: float = 0.999,
    eps: float = 1e-8,
    weight_decay: float = 0.01,
) -> GradientTransformation:
    """AdamW: Adam with decoupled weight decay (Loshchilov and Hutter, 2019).

    Update rule (PyTorch's ``AdamW``)::

        theta_t = theta_{t-1} - eta * (adam_direction_t + weight_decay * theta_{t-1})

    where ``adam_direction_t`` is Adam's bias-corrected ``m_hat / (sqrt(v_hat) + eps)``.

    Examples
    --------
    >>> import numpy as np
    >>> from gdlab import optim
    >>> tx = optim.adamw(learning_rate=0.1, weight_decay=0.5)
    >>> theta = np.array([2.0])
    >>> updates, _ = tx.update(np.array([1.0]), tx.init(theta), theta)
    >>> updates.round(6)   # -0.1 * (1 + 0.5 * 2)
    array([-0.2])
    """
    learning_rate = check_learning_rate(learning_rate, "adamw")
    b1 = check_fraction("b1", b1, "adamw")
    b2 = check_fraction("b2", b2, "adamw")
    eps = check_non_negative("eps", eps, "adamw")
    weight_decay = check_non_negative("weight_decay", weight_decay, "adamw")
    tx = chain(
        scale_by_adam(b1, b2, eps),
        add_decayed_weights(weight_decay),
        scale_by_learning_rate(learning_rate),
    )
    return _named(
        "adamw", tx, learning_rate=learning_rate, b1=b1, b2=b2, eps=eps, weight_decay=weight_decay
    )


#: adamw in the kernels (code 4): hyper ``(b1, b2, eps, weight_decay)``, as adam's state
ADAMW_FORM = KernelForm(
    "adamw",
    4,
    ("scale_by_adam", "add_decayed_weights", "scale_by_learning_rate"),
    ((0, "b1"), (0, "b2"), (0, "eps"), (1, "weight_decay")),
    ((0, "mu", 0), (0, "nu", 1)),
)


def pid(
    learning_rate: ScalarOrSchedule, kp: float = 1.0, ki: float = 0.0, kd: float = 0.0
) -> GradientTransformation:
    """A PID controller that drives the gradient (the error signal) to zero.

    The lesson's analogy made real: plain gradient descent is the proportional term alone
    (``kp=1, ki=kd=0``); the integral term accumulates past gradients like momentum, and the
    derivative term reacts to their change, damping oscillation. The control law is the textbook
    discrete PID (K. J. Astrom and R. M. Murray, *Feedback Systems*, 2nd ed., Princeton University
    Press, 2021, ch. 11) with unit sample time; its use as an optimizer follows W. An, H. Wang,
    Q. Sun, J. Xu, Q. Dai and L. Zhang, "A PID Controller Approach for Stochastic Optimization of
    Deep Networks", CVPR 2018.

    Update rule::

        I_t = I_{t-1} + g_t                 (I_0 = 0)
        D_t = g_t - g_{t-1}                 (D_1 = 0)
        theta_t = theta_{t-1} - eta * (kp * g_t + ki * I_t + kd * D_t)

    Examples
    --------
    >>> import numpy as np
    >>> from gdlab import optim
    >>> tx = optim.pid(learning_rate=0.1, kp=1.0, ki=0.5, kd=0.0)
    >>> updates, _ = tx.update(np.array([2.0]), tx.init(np.zeros(1)))
    >>> updates   # -0.1 * (1 * 2 + 0.5 * 2)
    array([-0.3])
    """
    learning_rate = check_learning_rate(learning_rate, "pid")
    kp = check_non_negative("kp", kp, "pid")
    ki = check_non_negative("ki", ki, "pid")
    kd = check_non_negative("kd", kd, "pid")
    tx = chain(scale_by_pid(kp, ki, kd), scale_by_learning_rate(learning_rate))
    return _named("pid", tx, learning_rate=learning_rate, kp=kp, ki=ki, kd=kd)


#: pid in the kernels (code 5): hyper ``(kp, ki, kd)``, the integral and last gradient in ``s1, s2``
PID_FORM = KernelForm(
    "pid",
    5,
    ("scale_by_pid", "scale_by_learning_rate"),
    ((0, "kp"), (0, "ki"), (0, "kd")),
    ((0, "integral", 0), (0, "previous", 1)),
)


def momentum(learning_rate: ScalarOrSchedule, momentum: float = 0.9) -> GradientTransformation:
    """Gradient descent with heavy-ball momentum: :func:`sgd` with ``momentum=0.9`` by default."""
    return sgd(learning_rate, momentum=momentum)


def nesterov(learning_rate: ScalarOrSchedule, momentum: float = 0.9) -> GradientTransformation:
    """Gradient descent with Nesterov momentum: :func:`sgd` with ``nesterov=True``."""
    return sgd(learning_rate, momentum=momentum, nesterov=True)


OPTIMIZERS: dict[str, Callable[..., GradientTransformation]] = {
    "sgd": sgd,
    "momentum": momentum,
    "nesterov": nesterov,
    "adagrad": adagrad,
    "rmsprop": rmsprop,
    "adam": adam,
    "adamw": adamw,
    "pid": pid,
}

#: every compiled form: a chain whose blocks (after an optional clip_by_global_norm) have these
#: kinds runs in the kernels, whether it was built by name or by hand
KERNEL_FORMS: tuple[KernelForm, ...] = (
    *SGD_FORMS,
    ADAGRAD_FORM,
    *RMSPROP_FORMS,
    ADAM_FORM,
    ADAMW_FORM,
    PID_FORM,
)


def kernel_of(tx: GradientTransformation) -> Kernel | None:
    """The compiled-kernel description of ``tx``: its own, else, for a transformation that only
    names a gdlab optimizer and carries its hyperparameters (as clipped optimizers were built
    before descriptions existed: ``hyperparams={**adam.hyperparams, "clip_norm": 1.0}``), the
    description of that optimizer rebuilt from them, after ``clip_by_global_norm(clip_norm)``.

    Examples
    --------
    >>> from gdlab import optim
    >>> adam = optim.adam(0.1)
    >>> bare = optim.GradientTransformation(adam.init, adam.update, name="adam",
    ...                                     hyperparams=adam.hyperparams)
    >>> kernel_of(bare) == adam.kernel
    True
    """
    if tx.kernel is not None or tx.name not in OPTIMIZERS:
        return tx.kernel
    settings = dict(tx.hyperparams)
    clip_norm = settings.pop("clip_norm", None)
    try:
        named = OPTIMIZERS[tx.name](**settings)
        clipped = named if clip_norm is None else chain(clip_by_global_norm(clip_norm), named)
    except (TypeError, ValueError):
        return None
    return clipped.kernel


def get(name: str, learning_rate: ScalarOrSchedule, **kwargs: Any) -> GradientTransformation:
    """Build a named optimizer: ``get("adam", 0.01)`` is ``adam(learning_rate=0.01)``.

    Examples
    --------
    >>> from gdlab import optim
    >>> optim.get("momentum", 0.05).hyperparams["momentum"]
    0.9
    """
    try:
        factory = OPTIMIZERS[name]
    except (KeyError, TypeError):
        known = ", ".join(sorted(OPTIMIZERS))
        raise ValueError(f"Unknown optimizer {name!r}; choose one of: {known}.") from None
    return factory(learning_rate, **kwargs)
