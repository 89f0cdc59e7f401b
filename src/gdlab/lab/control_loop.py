"""Experiment 12: gradient descent as a control loop. Step responses, poles, and momentum's I term.

On the lessons' line ``y = 3x + 7 + noise``, with the feature standardized, the MSE over
``theta = (w, b)`` is the quadratic ``L* + e^T H e / 2`` in the error ``e = theta - theta*``, with
``H = 2 A^T A / n``, and its gradient is exactly ``g = H e``: the gradient is the error signal,
the optimizer is the controller and the parameters are the plant (they add up the updates).

Along an eigenvector of ``H`` with curvature ``lambda`` every controller here is a small linear
recurrence in ``(e, I, g_prev)`` (PID) or ``(e, b)`` (heavy ball), so its behaviour is fixed by
the eigenvalues ("poles") of that recurrence's matrix (:func:`loop_matrix`):

- P only (plain GD, ``e_t = (1 - eta lambda) e_{t-1}``): one pole ``1 - eta lambda``; over-damped
  (monotone) when it lies in ``(0, 1)``, critically damped (dead-beat) at 0, oscillating in
  ``(-1, 0)``, unstable beyond ``-1`` (``eta > 2 / lambda``).
- PID (:func:`gdlab.optim.pid`): ``I_t = I_{t-1} + g_t``, ``D_t = g_t - g_{t-1}`` (``D_1 = 0``),
  ``theta_t = theta_{t-1} - eta (kp g_t + ki I_t + kd D_t)``.
- Heavy ball (:func:`gdlab.optim.sgd` with momentum ``beta``): ``b_t = beta b_{t-1} + g_t``
  (``b_1 = g_1``), ``theta_t = theta_{t-1} - eta b_t``. Unrolled, ``b_t = sum_{s<=t} beta^(t-s)
  g_s``: a *leaky* integral of the gradients. With ``beta = 1`` it is exactly the integral
  ``I_t`` of the PID, so heavy ball with ``beta -> 1`` is the pure-I controller
  ``pid(eta, kp=0, ki=1, kd=0)``, and for ``beta < 1`` the leak damps it: its complex poles have
  modulus ``sqrt(beta)`` exactly (their product is ``beta``), the pure integral's have modulus 1.
- Summing the updates to convergence gives two exact identities for the signed errors:
  ``sum_{t>=0} lambda e_t = (1 - beta) e_0 / eta`` for the heavy ball, and ``sum_{t>=0} e_t = 0``
  whenever ``ki > 0`` (at rest the integral term must be zero). A PID with an I term therefore
  always overshoots; the leak is what spares the heavy ball that obligation.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from gdlab import optim
from gdlab._closed_form import least_squares
from gdlab.lab.experiment import Experiment, Table, fmt, new_figure
from gdlab.lab.feature_scaling import mse_hessian
from gdlab.lab.lesson_data import line_data

__all__ = [
    "BAND",
    "CONTROLLERS",
    "Controller",
    "Response",
    "classify",
    "draw",
    "leaky_integral_updates",
    "loop_matrix",
    "overshoot",
    "run",
    "settling_step",
]

Array = NDArray[np.float64]

STEPS = 300
BAND = 0.02  # settled: the distance stays within 2% of the start distance


@dataclass(frozen=True)
class Controller:
    """One controller of the loop: a P, PI, PD, PID or heavy-ball update rule."""

    group: str
    label: str
    rate: float
    kp: float = 1.0
    ki: float = 0.0
    kd: float = 0.0
    momentum: float | None = None

    def transformation(self) -> optim.GradientTransformation:
        """The gdlab optimizer: ``sgd`` for P only and heavy ball, ``pid`` otherwise."""
        if self.momentum is not None:
            return optim.sgd(self.rate, momentum=self.momentum)
        if self.kp == 1.0 and self.ki == 0.0 and self.kd == 0.0:
            return optim.sgd(self.rate)
        return optim.pid(self.rate, kp=self.kp, ki=self.ki, kd=self.kd)

    @property
    def rule(self) -> str:
        if self.momentum is not None:
            return f"sgd({self.rate:g}, momentum={self.momentum:g})"
        if self.kp == 1.0 and self.ki == 0.0 and self.kd == 0.0:
            return f"sgd({self.rate:g})"
        return f"pid({self.rate:g}, kp={self.kp:g}, ki={self.ki:g}, kd={self.kd:g})"


P_GROUP, ID_GROUP, HB_GROUP = "P only", "adding I and D", "heavy ball"
CONTROLLERS: tuple[Controller, ...] = (
    Controller(P_GROUP, "P, eta = 0.1", 0.1),
    Controller(P_GROUP, "P, eta = 0.3", 0.3),
    Controller(P_GROUP, "P, eta = 0.5", 0.5),
    Controller(P_GROUP, "P, eta = 0.8", 0.8),
    Controller(P_GROUP, "P, eta = 0.95", 0.95),
    Controller(ID_GROUP, "PI (ki = 0.1)", 0.1, ki=0.1),
    Controller(ID_GROUP, "PD (kd = 1)", 0.1, kd=1.0),
    Controller(ID_GROUP, "PID (ki = 0.1, kd = 1)", 0.1, ki=0.1, kd=1.0),
    Controller(HB_GROUP, "heavy ball, beta = 0.5", 0.1, momentum=0.5),
    Controller(HB_GROUP, "heavy ball, beta = 0.9", 0.1, momentum=0.9),
    Controller(HB_GROUP, "pure I = heavy ball, beta = 1", 0.1, kp=0.0, ki=1.0),
)


def loop_matrix(controller: Controller, curvature: float) -> Array:
    """The closed loop along one curvature ``lambda``: ``x_t = M x_{t-1}``, error first in ``x``.

    The state holds only what the controller uses. PID: ``e``, then ``I`` when ``ki > 0``, then
    ``g_prev`` when ``kd > 0``, started at ``(e_0, 0, lambda e_0)`` so that ``D_1 = 0``::

        e_t = (1 - eta lambda (kp + ki + kd)) e_{t-1} - eta ki I_{t-1} + eta kd g_prev_{t-1}
        I_t = lambda e_{t-1} + I_{t-1};   g_prev_t = lambda e_{t-1}

    Heavy ball: ``(e, b)``, started at ``(e_0, 0)``::

        e_t = (1 - eta lambda) e_{t-1} - eta beta b_{t-1};   b_t = lambda e_{t-1} + beta b_{t-1}

    Examples
    --------
    >>> loop_matrix(Controller("P", "P", 0.25), 2.0)   # plain GD: the factor 1 - eta lambda
    array([[0.5]])
    """
    eta, lam = controller.rate, float(curvature)
    if controller.momentum is not None:
        beta = controller.momentum
        return np.array([[1.0 - eta * lam, -eta * beta], [lam, beta]])
    kp, ki, kd = controller.kp, controller.ki, controller.kd
    full = np.array(
        [
            [1.0 - eta * lam * (kp + ki + kd), -eta * ki, eta * kd],
            [lam, 1.0, 0.0],
            [lam, 0.0, 0.0],
        ]
    )
    used = [0] + ([1] if ki else []) + ([2] if kd else [])
    return full[np.ix_(used, used)]


def _start_state(controller: Controller, curvature: float) -> Array:
    if controller.momentum is not None:
        return np.array([1.0, 0.0])
    start = [1.0] + ([0.0] if controller.ki else []) + ([curvature] if controller.kd else [])
    return np.array(start)


def mode_response(controller: Controller, curvature: float, steps: int) -> Array:
    """``e_t / e_0`` along one curvature for ``t = 0..steps``, from the loop matrix."""
    matrix = loop_matrix(controller, curvature)
    state = _start_state(controller, curvature)
    out = np.empty(steps + 1)
    for t in range(steps + 1):
        out[t] = state[0]
        state = matrix @ state
    return out


def poles(controller: Controller, curvatures: Any) -> Array:
    """The loop's poles: the eigenvalues of :func:`loop_matrix` for every distinct curvature."""
    distinct = np.unique(np.round(np.asarray(curvatures, dtype=float), 12))
    return np.concatenate([np.linalg.eigvals(loop_matrix(controller, lam)) for lam in distinct])


def classify(loop_poles: Any) -> str:
    """The regime set by the slowest poles (largest modulus), which decide how the error ends.

    Unstable beyond the unit circle, undamped on it, dead-beat when every pole is 0; otherwise
    oscillating when the slowest poles are complex or negative (the error keeps changing sign),
    over-damped when the slowest pole is positive and real (the error's tail is monotone).

    Examples
    --------
    >>> classify([0.8]), classify([0.0]), classify([-0.6]), classify([0.9 + 0.2j, 0.9 - 0.2j])
    ('over-damped', 'critically damped (dead-beat)', 'oscillating', 'oscillating')
    """
    values = np.asarray(loop_poles, dtype=complex)
    radius = float(np.max(np.abs(values)))
    slowest = values[np.abs(values) >= radius - 1e-9]
    rings = bool(np.any((np.abs(slowest.imag) > 1e-9) | (slowest.real < 0.0)))
    if radius > 1.0 + 1e-9:
        return "unstable"
    if radius < 1e-9:
        return "critically damped (dead-beat)"
    if radius > 1.0 - 1e-9:
        return "undamped (poles on the unit circle)" if rings else "marginal"
    return "oscillating" if rings else "over-damped"


def settling_step(distance: Any, band: float = BAND) -> int | None:
    """First step after which ``distance / distance[0]`` stays within ``band``; None if never.

    Examples
    --------
    >>> settling_step([1.0, 0.5, 0.01, 0.03, 0.01, 0.0])
    4
    """
    relative = np.asarray(distance, dtype=float) / float(distance[0])
    outside = np.flatnonzero(relative > band)
    if outside.size and outside[-1] == relative.size - 1:
        return None
    return int(outside[-1] + 1) if outside.size else 0


def overshoot(signed: Any) -> float:
    """How far past the target the error went, as a share of the start: ``max(0, -min s_t)``.

    ``s_t = <e_t, e_0> / ||e_0||^2`` is the error along the start's direction (1 at the start,
    0 at the exact parameters, negative once past them).

    Examples
    --------
    >>> overshoot([1.0, 0.3, -0.25, 0.05])
    0.25
    """
    return float(max(0.0, -float(np.min(signed))))


def leaky_integral_updates(gradients: Any, rate: float, beta: float) -> Array:
    """``-rate * sum_{s<=t} beta^(t-s) g_s`` for every step ``t``: the discounted sum, unrolled.

    With ``beta < 1`` this is heavy-ball momentum's update, with ``beta = 1`` the pure integral.

    Examples
    --------
    >>> leaky_integral_updates([[1.0], [1.0], [1.0]], 1.0, 0.5).ravel().tolist()
    [-1.0, -1.5, -1.75]
    """
    g = np.asarray(gradients, dtype=float)
    t = np.arange(g.shape[0])
    weights = np.tril(beta ** np.clip(t[:, None] - t[None, :], 0, None).astype(float))
    return np.asarray(-rate * (weights @ g))


@dataclass
class Response:
    """One controller's run: its path, the errors, the poles and the step-response numbers."""

    controller: Controller
    path: Array
    signed: Array
    distance: Array
    poles: Array
    regime: str
    settling: int | None
    overshoot: float
    predicted: Array = field(default_factory=lambda: np.empty(0))


def _respond(controller: Controller, plant: dict[str, Any], steps: int) -> Response:
    from gdlab.estimators._linear import GDRegressor

    # The lab's full-batch settings (see full_batch_gd) with this controller as the update rule.
    model = GDRegressor(
        optimizer=controller.transformation(),
        batch_size=None,
        tol=None,
        shuffle=False,
        max_iter=steps,
        record_params=True,
        standardize=False,  # x is standardized by hand: the plant is the lesson's data as given
    )
    start = plant["start"]
    model.fit(plant["X"], plant["y"], coef_init=start[:1], intercept_init=start[1])
    path = model.history_.param_path()
    errors = path - plant["exact"]
    e0 = errors[0]
    signed = errors @ e0 / float(e0 @ e0)
    distance = np.linalg.norm(errors, axis=1) / float(np.linalg.norm(e0))
    curvatures, vectors = plant["eigenvalues"], plant["eigenvectors"]
    modes = np.array([mode_response(controller, lam, steps) for lam in curvatures])
    predicted = (modes.T * (vectors.T @ e0)) @ vectors.T + plant["exact"]
    loop_poles = poles(controller, curvatures)
    return Response(
        controller,
        path,
        signed,
        distance,
        loop_poles,
        classify(loop_poles),
        settling_step(distance),
        overshoot(signed),
        predicted,
    )


def _plant(seed: int) -> dict[str, Any]:
    data = line_data(seed, 100)
    w0, b0 = float(data.rng.randn()), float(data.rng.randn())
    mean, spread = float(data.x.mean()), float(data.x.std())
    z = ((data.x - mean) / spread)[:, None]
    exact = least_squares(z, data.y)
    hessian = mse_hessian(z)
    eigenvalues, eigenvectors = np.linalg.eigh(hessian)
    # The lesson's start (w0, b0) is the same line in standardized units: w0 * s, b0 + w0 * m.
    return {
        "X": z,
        "y": data.y,
        "exact": np.r_[exact.coef, exact.intercept],
        "start": np.array([w0 * spread, b0 + w0 * mean]),
        "hessian": hessian,
        "eigenvalues": eigenvalues,
        "eigenvectors": eigenvectors,
    }


def _identities(plant: dict[str, Any], responses: dict[str, Response]) -> tuple[Table, dict]:
    """Heavy ball as a leaky integrator, checked on the recorded runs."""
    hessian, exact = plant["hessian"], plant["exact"]
    table = Table(
        "Heavy ball is a leaky integral of the gradients: the identities, on the runs above",
        ["identity", "run", "left side", "right side", "|difference|"],
        note=(
            "Gradients are g_t = H (theta_{t-1} - theta*), exact for squared error. The error "
            f"sums run over the {STEPS} recorded steps; what would follow is below 1e-7."
        ),
    )
    numbers: dict[str, float] = {}
    lam = float(np.mean(plant["eigenvalues"]))
    for label in (
        "heavy ball, beta = 0.5",
        "heavy ball, beta = 0.9",
        "pure I = heavy ball, beta = 1",
    ):
        r = responses[label]
        c = r.controller
        beta = 1.0 if c.momentum is None else c.momentum
        gradients = (r.path[:-1] - exact) @ hessian
        steps = np.diff(r.path, axis=0)
        gap = float(np.max(np.abs(steps - leaky_integral_updates(gradients, c.rate, beta))))
        table.add(
            "theta_t - theta_{t-1} = -eta sum_s beta^(t-s) g_s, s = 1..t",
            r.controller.rule,
            "recorded step",
            f"discounted sum, beta = {beta:g}",
            fmt(gap, 2),
        )
        numbers[f"leaky_sum_gap_beta_{beta:g}"] = gap
    for label in ("heavy ball, beta = 0.5", "heavy ball, beta = 0.9", "PI (ki = 0.1)"):
        r = responses[label]
        c = r.controller
        total = float(np.sum(r.signed))
        expected = 0.0 if c.momentum is None else (1.0 - c.momentum) / (c.rate * lam)
        formula = "0 (any ki above 0)" if c.momentum is None else "(1 - beta) / (eta lambda)"
        table.add(
            "sum_t e_t / e_0 along the start direction",
            c.rule,
            fmt(total, 6),
            f"{formula} = {fmt(expected, 6)}",
            fmt(abs(total - expected), 2),
        )
        numbers[f"error_sum_{label}"] = total
    return table, numbers


def run(seed: int = 42, fast: bool = False) -> Experiment:
    """Every controller on the standardized line: step responses, poles, settling, overshoot."""
    plant = _plant(seed)
    responses = {c.label: _respond(c, plant, STEPS) for c in CONTROLLERS}
    lam = plant["eigenvalues"]
    table = Table(
        "The loop's poles and the step-response numbers of each controller",
        ["controller", "gdlab update rule", "poles", "regime", "settling step", "overshoot"],
        note=(
            f"Curvatures (eigenvalues of H): {fmt(lam[0], 6)} and {fmt(lam[-1], 6)}. "
            "Settling step: the first step after which the distance to the exact parameters "
            "stays within "
            f"{BAND:.0%} of the start distance. Overshoot: how "
            "far the error went past the exact parameters along the start's direction, as a share "
            "of the start error."
        ),
    )
    numbers: dict[str, float] = {"curvature_min": float(lam[0]), "curvature_max": float(lam[-1])}
    for label, r in responses.items():
        table.add(
            label,
            r.controller.rule,
            _format_poles(r.poles),
            r.regime,
            f"not within {STEPS}" if r.settling is None else r.settling,
            f"{r.overshoot:.1%}",
        )
        numbers[f"settling {label}"] = float("nan") if r.settling is None else float(r.settling)
        numbers[f"overshoot {label}"] = r.overshoot
        numbers[f"spectral_radius {label}"] = float(np.max(np.abs(r.poles)))
        numbers[f"prediction_gap {label}"] = float(np.max(np.abs(r.path - r.predicted)))
    identities, extra = _identities(plant, responses)
    numbers |= extra
    return Experiment(
        key="12_control_loop",
        title="Gradient descent as a control loop",
        source="Lesson 000: connection to PID control",
        explanation=_explanation(),
        tables=[table, identities],
        numbers=numbers,
        data={"responses": responses},
        draw=draw,
    )


def _format_poles(values: Array) -> str:
    unique: list[complex] = []
    for v in np.asarray(values, dtype=complex):
        if all(abs(v - u) > 1e-9 for u in unique):
            unique.append(complex(v))
    parts = []
    for v in unique:
        if abs(v.imag) < 1e-9:
            parts.append(f"{v.real:.3f}")
        elif v.imag > 0:
            parts.append(f"{v.real:.3f} +/- {v.imag:.3f}i (|z| = {abs(v):.3f})")
    return ", ".join(parts)


def _explanation() -> list[str]:
    return [
        "The lesson's line again, with x standardized so that both parameters feel the same "
        "curvature (the chapter on feature scaling shows why that matters). Read gradient "
        "descent as a feedback loop: the gradient is the error signal, the learning rate the "
        "controller's gain, the update the actuator, and the parameters integrate the updates "
        "the way a plant does. For squared error the loop is linear, so every response below is "
        "decided by a few numbers, the poles of the loop, computed from the Hessian.",
        "P only is plain gradient descent. Each step multiplies the error by 1 - eta * lambda. "
        "With lambda = 2 here, eta = 0.1 and 0.3 give a factor between 0 and 1: the error shrinks "
        "monotonically, slowly for small gains (over-damped). eta = 0.5 gives a factor 0: the "
        "error is gone after one step (critically damped; in discrete time this is "
        "a dead-beat response). Above that the factor is negative: each step "
        "overshoots the exact parameters and the error alternates in sign, slower the closer the "
        "gain gets to 2 / lambda = 1, where the loop turns unstable.",
        "Adding an I term (pid with ki > 0) feeds back the sum of all past gradients. Here the "
        "plant already integrates, and at rest the integral term must vanish, which forces the "
        "errors to sum to zero: the response must go past the target and come back. The loop "
        "gets a pair of complex poles (a slow oscillation) and settles later than P alone. The D "
        "term reacts to the change of the gradient; in this loop it acts like added inertia "
        "rather than a brake, because the error it differentiates is already the output of an "
        "integrator, so it slows the response a little instead of damping it.",
        "Heavy-ball momentum keeps b_t = beta b_{t-1} + g_t, which unrolls to a sum of past "
        "gradients discounted by beta per step: an integral that leaks. With beta = 1 it is "
        "exactly the I term alone, pid(eta, kp=0, ki=1, kd=0), whose poles sit on the unit "
        "circle so it oscillates for ever. The leak pulls the poles inside to radius sqrt(beta) "
        "and frees the errors from having to sum to zero (they sum to (1 - beta) / (eta * lambda) "
        "times the start error), which is why momentum can settle with a small overshoot. The "
        "second table checks both identities on the recorded runs.",
        "On this round bowl the best controller is the simplest: P at eta = 1 / lambda. Memory "
        "pays off on elongated bowls, where one gain cannot suit the steep and the flat "
        "direction at once: there the best plain rate shrinks the error by (kappa - 1) / "
        "(kappa + 1) per step, while the heavy ball with eta = 4 / (sqrt(L) + sqrt(mu))^2 and "
        "sqrt(beta) = (sqrt(kappa) - 1) / (sqrt(kappa) + 1) puts every pole of its loop on the "
        "circle of radius sqrt(beta) (Polyak's choice). For a kappa in the thousands, as in the "
        "chapter before, that is tens of steps per tenfold reduction of the error instead of "
        "thousands.",
    ]


def draw(experiment: Experiment) -> object:
    """Step responses of the three groups of controllers and their poles on the unit circle."""
    from gdlab import viz

    responses: dict[str, Response] = experiment.data["responses"]
    figure, axes = new_figure(2, 2, (15, 11))
    groups = ((axes[0, 0], P_GROUP, 40), (axes[0, 1], ID_GROUP, 80), (axes[1, 0], HB_GROUP, 80))
    for ax, group, steps in groups:
        members = {k: r for k, r in responses.items() if r.controller.group == group}
        baseline = {"P, eta = 0.1": responses["P, eta = 0.1"]} if group != P_GROUP else {}
        if group == HB_GROUP:
            baseline["PI (ki = 0.1)"] = responses["PI (ki = 0.1)"]
        members = {**baseline, **members}
        viz.plot_step_responses(
            {label: 1.0 - r.signed[: steps + 1] for label, r in members.items()},
            ax,
            band=BAND,
            title=f"{group}: step responses",
            legend_loc="upper right" if group == HB_GROUP else "best",
        )
        if group == HB_GROUP:  # room above the undamped curve for the legend
            ax.set_ylim(-0.1, 3.0)
    viz.plot_poles(
        {label: r.poles for label, r in responses.items()},
        axes[1, 1],
        title="Poles of each loop (inside the unit circle: stable)",
    )
    figure.suptitle(
        "Gradient descent as a feedback loop on y = 3x + 7 + noise (x standardized)", fontsize=15
    )
    return figure
