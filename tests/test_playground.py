"""gdlab.playground on the Python side: runs, the parts of each update, 2/L, storage, server, CLI.

The browser side (the page draws exactly these runs) is tested in test_playground_browser.py.
"""

from __future__ import annotations

import base64
import gzip
import json
import sys
import types
import urllib.error
import urllib.request

import numpy as np
import pytest
from click.testing import CliRunner

from gdlab import minimize, optim, testfunctions
from gdlab.cli import cli
from gdlab.lab.experiment import full_batch_gd
from gdlab.lab.lesson_data import line_data, stability_bound
from gdlab.playground import (
    OPTIMIZER_NAMES,
    SURFACE_NAMES,
    from_data,
    get_surface,
    run,
    trajectory,
)
from gdlab.playground import grid as grid_module
from gdlab.playground.grid import CONFIGS, encode_runs, make_variant
from gdlab.playground.server import PlaygroundServer, answer_runs

START = {name: get_surface(name).starts[0] for name in SURFACE_NAMES}


# ---- runs ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("surface", SURFACE_NAMES)
@pytest.mark.parametrize("optimizer", OPTIMIZER_NAMES)
def test_run_with_defaults_has_steps_plus_one_points_from_the_start(surface, optimizer):
    path = run(surface, optimizer, START[surface], 25)
    assert path.shape == (26, 2)
    np.testing.assert_array_equal(path[0], START[surface])
    assert np.all(np.isfinite(path))


def test_plain_descent_on_the_quadratic_follows_the_closed_form():
    # x_t = (1 - eta)^t x_0 and y_t = (1 - eta kappa)^t y_0 for 0.5 (x^2 + kappa y^2)
    eta, kappa, start = 0.05, 10.0, np.array([-4.0, 1.5])
    path = run("quadratic", "sgd", start, 60, learning_rate=eta, condition=kappa)
    t = np.arange(61)
    expected = np.column_stack([(1 - eta) ** t * start[0], (1 - eta * kappa) ** t * start[1]])
    np.testing.assert_allclose(path, expected, rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("surface", ["rosenbrock", "saddle", "local_minima", "quadratic"])
@pytest.mark.parametrize(
    ("optimizer", "settings"),
    [("sgd", {}), ("nesterov", {"momentum": 0.5}), ("adam", {"b1": 0.5}), ("rmsprop", {})],
)
def test_run_is_the_path_gdlab_minimize_takes(surface, optimizer, settings):
    s = get_surface(surface)
    rate = s.adaptive_learning_rate if optimizer in ("adam", "rmsprop") else s.default_learning_rate
    tx = optim.get(optimizer, rate, **settings)
    objective = s.objective()
    reference = minimize(
        objective.fun, np.array(s.starts[0]), objective.jac, optimizer=tx, max_iter=40, tol=None
    )
    path = run(surface, optimizer, s.starts[0], 40, learning_rate=rate, **settings)
    np.testing.assert_array_equal(path, np.array(reference.history.params))


def test_full_batch_regression_is_the_lessons_gradient_descent():
    data = line_data(42, 100)
    path = run("regression", "sgd", [0.5, -1.0], 30, learning_rate=0.01)
    model = full_batch_gd(learning_rate=0.01, max_iter=30, record_params=True)
    model.fit(data.X, data.y, coef_init=[0.5], intercept_init=-1.0)
    np.testing.assert_allclose(path, model.history_.param_path(), rtol=1e-10, atol=1e-12)


def test_momentum_and_adam_follow_their_textbook_recurrences():
    surface, start, eta = "rosenbrock", np.array([-1.5, 2.0]), 1e-3
    grad = testfunctions.get("rosenbrock").gradient
    path = run(surface, "momentum", start, 30, learning_rate=eta, momentum=0.9)
    x, buffer = start.copy(), None  # PyTorch: b_1 = g_1, b_t = mu b_{t-1} + g_t
    for t in range(30):
        g = grad(x)
        buffer = g if buffer is None else 0.9 * buffer + g
        x = x - eta * buffer
        np.testing.assert_allclose(path[t + 1], x, rtol=1e-12)
    path = run(surface, "adam", start, 30, learning_rate=0.05, b1=0.9, b2=0.999)
    x, m, v = start.copy(), np.zeros(2), np.zeros(2)
    for t in range(1, 31):
        g = grad(x)
        m, v = 0.9 * m + 0.1 * g, 0.999 * v + 0.001 * g * g
        x = x - 0.05 * (m / (1 - 0.9**t)) / (np.sqrt(v / (1 - 0.999**t)) + 1e-8)
        np.testing.assert_allclose(path[t], x, rtol=1e-10)


# ---- the parts of each update --------------------------------------------------------------------


@pytest.mark.parametrize("surface", SURFACE_NAMES)
@pytest.mark.parametrize("optimizer", OPTIMIZER_NAMES)
def test_parts_add_up_to_the_update(surface, optimizer):
    t = trajectory(surface, optimizer, START[surface], 30)
    update = np.diff(t.path, axis=0)
    np.testing.assert_allclose(
        t.gradient_step * t.scale + t.momentum, update, rtol=1e-9, atol=1e-14
    )
    if optimizer in ("sgd", "momentum", "nesterov", "pid"):
        np.testing.assert_array_equal(t.scale, 1.0)
    if optimizer in ("sgd", "adagrad"):
        np.testing.assert_allclose(t.momentum, 0.0, atol=1e-15)


def test_parts_match_independent_recurrences():
    eta, start = 0.01, [-4.0, 1.5]
    t = trajectory("quadratic", "momentum", start, 20, learning_rate=eta, momentum=0.9)
    grads = np.column_stack([t.path[:-1, 0], 10.0 * t.path[:-1, 1]])  # gradient of the bowl
    np.testing.assert_allclose(t.grad, grads, rtol=1e-12)
    np.testing.assert_allclose(t.gradient_step, -eta * grads, rtol=1e-12)
    buffer = grads[0]
    for k in range(1, 20):  # heavy ball: u_t = -eta g_t - eta mu b_{t-1}
        np.testing.assert_allclose(t.momentum[k], -eta * 0.9 * buffer, rtol=1e-9, atol=1e-15)
        buffer = 0.9 * buffer + grads[k]
    t = trajectory("quadratic", "adam", start, 20, learning_rate=0.1)
    grads = np.column_stack([t.path[:-1, 0], 10.0 * t.path[:-1, 1]])
    m, v = np.zeros(2), np.zeros(2)
    for k in range(20):
        m, v = 0.9 * m + 0.1 * grads[k], 0.999 * v + 0.001 * grads[k] ** 2
        scale = 1.0 / (np.sqrt(v / (1 - 0.999 ** (k + 1))) + 1e-8)
        np.testing.assert_allclose(t.scale[k], scale, rtol=1e-9)
        m_hat = m / (1 - 0.9 ** (k + 1))
        np.testing.assert_allclose(t.momentum[k], -0.1 * (m_hat - grads[k]) * scale, atol=1e-12)
    t = trajectory("quadratic", "adagrad", start, 5, learning_rate=0.1)
    grads = np.column_stack([t.path[:-1, 0], 10.0 * t.path[:-1, 1]])
    np.testing.assert_allclose(
        t.scale, 1.0 / (np.sqrt(np.cumsum(grads**2, axis=0)) + 1e-10), rtol=1e-12
    )


def test_loss_is_the_surface_value_along_the_path():
    t = trajectory("rosenbrock", "adam", [-1.5, 2.0], 20, learning_rate=0.05)
    expected = [testfunctions.get("rosenbrock")(p) for p in t.path]
    np.testing.assert_allclose(t.loss, expected, rtol=1e-12)
    t = trajectory("regression", "sgd", [0.0, 0.0], 10, batch_size=10, seed=3)
    data = line_data(42, 100)
    expected = [np.mean((data.y - w * data.x - b) ** 2) for w, b in t.path]
    np.testing.assert_allclose(t.loss, expected, rtol=1e-10)


# ---- 2/L -----------------------------------------------------------------------------------------


def test_two_over_l_matches_closed_forms():
    assert get_surface("quadratic", condition=10).two_over_l == pytest.approx(0.2, rel=1e-12)
    assert get_surface("quadratic", condition=250).two_over_l == pytest.approx(2 / 250, rel=1e-12)
    # Rosenbrock's Hessian at (1, 1) is [[802, -400], [-400, 200]]
    largest = 501.0 + np.hypot(301.0, 400.0)
    assert get_surface("rosenbrock").two_over_l == pytest.approx(2 / largest, rel=1e-7)
    # saddle: diag(2, 3 y^2 - 2) at y = sqrt 2 -> L = 4; wavy bowl: 0.2 + 4 cos 0 = 4.2
    assert get_surface("saddle").two_over_l == pytest.approx(0.5, rel=1e-7)
    assert get_surface("local_minima").two_over_l == pytest.approx(2 / 4.2, rel=1e-7)
    data = line_data(42, 100)
    assert get_surface("regression").two_over_l == pytest.approx(
        stability_bound(data.X, data.y), rel=1e-12
    )


@pytest.mark.parametrize("surface", ["quadratic", "regression"])
def test_plain_descent_is_stable_just_below_two_over_l_and_not_above(surface):
    s = get_surface(surface)
    below = trajectory(s, "sgd", s.starts[0], 400, learning_rate=0.98 * s.two_over_l)
    above = trajectory(s, "sgd", s.starts[0], 400, learning_rate=1.05 * s.two_over_l)
    assert below.diverged_at is None and below.loss[-1] < below.loss[0]
    assert above.diverged_at is not None and "diverged" in above.message
    assert np.all(np.isnan(above.path[above.diverged_at + 1 :]))
    assert np.all(np.isfinite(above.path[: above.diverged_at + 1]))


# ---- user data -----------------------------------------------------------------------------------


def test_data_surface_holds_the_others_at_their_optimum():
    rng = np.random.RandomState(0)
    X = rng.randn(80, 3)
    y = X @ [2.0, -1.0, 0.5] + 4.0 + 0.1 * rng.randn(80)
    s = from_data(X, y, ["a", "b", "c"], ["b", "intercept"])
    design = np.column_stack([X, np.ones(80)])
    optimum = np.linalg.lstsq(design, y, rcond=None)[0]
    np.testing.assert_allclose(s.minima[0], optimum[[1, 3]], rtol=1e-10)
    full_mse = np.mean((y - design @ optimum) ** 2)
    assert float(s.value(np.array(s.minima[0]))) == pytest.approx(full_mse, rel=1e-8)
    point = np.array([0.3, 1.7])
    held = optimum.copy()
    held[[1, 3]] = point
    assert float(s.value(point)) == pytest.approx(np.mean((y - design @ held) ** 2), rel=1e-10)
    path = run(s, "sgd", s.starts[0], 5, batch_size=8, seed=1)
    again = run(s, "sgd", s.starts[0], 5, batch_size=8, seed=1)
    other = run(s, "sgd", s.starts[0], 5, batch_size=8, seed=2)
    np.testing.assert_array_equal(path, again)
    assert not np.array_equal(path, other)


def test_data_surface_rejects_unknown_coefficients():
    X, y = np.ones((5, 1)) * np.arange(5)[:, None], np.arange(5.0)
    with pytest.raises(ValueError, match="Unknown coefficient 'z'; choose two of: x, intercept"):
        from_data(X, y, ["x"], ["z", "intercept"])
    with pytest.raises(ValueError, match="two different coefficients"):
        from_data(X, y, ["x"], ["x", "x"])


# ---- bad input -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "kwargs", "message"),
    [
        (("hill", "sgd", [0, 0], 5), {}, "Unknown surface 'hill'"),
        (("saddle", "lbfgs", [0, 0], 5), {}, "Unknown optimizer 'lbfgs'"),
        (("saddle", "sgd", [0, np.nan], 5), {}, "'start' of a run must be two finite"),
        (("saddle", "sgd", [0, 1, 2], 5), {}, "'start' of a run must be two finite"),
        (("saddle", "sgd", [0, 1], 0), {}, r"'steps' of a run must be in \[1, 5000\]"),
        (("saddle", "sgd", [0, 1], 2.5), {}, "'steps' of a run must be an int"),
        (("saddle", "sgd", [0, 1], 5), {"b1": 0.9}, "'b1' is not a setting of the optimizer 'sgd'"),
        (("saddle", "sgd", [0, 1], 5), {"learning_rate": -1}, "must be a float > 0"),
        (("regression", "sgd", [0, 1], 5), {"batch_size": 0}, "'batch_size' setting must be"),
        (("regression", "sgd", [0, 1], 5), {"seed": "a"}, "'seed' setting must be an int"),
        (("quadratic", "sgd", [0, 1], 5), {"condition": 0.5}, "'condition' parameter"),
    ],
)
def test_bad_settings_are_named(args, kwargs, message):
    with pytest.raises(ValueError, match=message):
        run(*args, **kwargs)


def test_surface_settings_must_match_a_given_surface():
    with pytest.raises(ValueError, match="'condition' setting"):
        run(get_surface("quadratic", condition=10), "sgd", [1, 1], 3, condition=100.0)


# ---- storage -------------------------------------------------------------------------------------


def _decode(encoded, steps):
    raw = gzip.decompress(base64.b64decode(encoded["data"]))
    wide = np.frombuffer(raw[: encoded["bytes32"]], "<f4").reshape(encoded["n_runs"], -1)
    narrow = np.frombuffer(raw[encoded["bytes32"] :], "<f2").reshape(encoded["n_runs"], -1)
    return wide, narrow


def test_stored_runs_decode_to_the_runs_in_float32():
    runs = [
        trajectory("quadratic", "adam", [-4.0, 1.5], 12, learning_rate=0.1),
        trajectory("quadratic", "sgd", [-4.0, 1.5], 12, learning_rate=0.5),  # diverges
    ]
    encoded = encode_runs(runs)
    wide, narrow = _decode(encoded, 12)
    for r, t in enumerate(runs):
        np.testing.assert_array_equal(wide[r, :26], t.path.ravel().astype(np.float32))
        np.testing.assert_array_equal(wide[r, 26:39], t.loss.astype(np.float32))
        np.testing.assert_array_equal(wide[r, 39:], t.scale.ravel().astype(np.float32))
        with np.errstate(over="ignore"):
            half = t.gradient_step.ravel().astype(np.float16)
        np.testing.assert_array_equal(narrow[r, 24:48], half)
    assert encoded["stops"] == [-1, runs[1].diverged_at]
    assert "diverged" in encoded["messages"]["1"] and "Try:" not in encoded["messages"]["1"]


def test_grid_order_is_start_rate_config(monkeypatch):
    surface = get_surface("saddle")
    variant = make_variant(surface, starts=(0, 1))
    monkeypatch.setattr(grid_module, "FILE_STEPS", 3)
    runs = list(grid_module.grid_runs(variant, steps=3))
    n_rates, n_configs = len(surface.learning_rates), len(CONFIGS)
    assert len(runs) == 2 * n_rates * n_configs
    start, rate, config = 1, 4, 8
    optimizer, settings = CONFIGS[config]
    expected = run(
        surface,
        optimizer,
        surface.starts[1],
        3,
        learning_rate=surface.learning_rates[rate],
        **settings,
    )
    np.testing.assert_array_equal(
        runs[(start * n_rates + rate) * n_configs + config].path, expected
    )


def test_contour_is_the_surface_on_its_window():
    surface = get_surface("rosenbrock")
    data = grid_module.contour(surface, points=7)
    values = np.frombuffer(gzip.decompress(base64.b64decode(data["data"])), "<f4").reshape(7, 7)
    xs, ys = np.linspace(*surface.xlim, 7), np.linspace(*surface.ylim, 7)
    assert values[2, 5] == pytest.approx(testfunctions.get("rosenbrock")([xs[5], ys[2]]), rel=1e-6)


# ---- server --------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def server():
    variants = [
        make_variant(get_surface("saddle")),
        make_variant(get_surface("quadratic"), condition=10),
    ]
    running = PlaygroundServer(variants).start()
    yield running
    running.stop()


def _post(server, body):
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    try:
        with urllib.request.urlopen(server.url + "api/run", data) as answer:
            return answer.status, json.load(answer)
    except urllib.error.HTTPError as error:
        return error.code, json.load(error)


def test_server_is_local_and_serves_the_page(server):
    assert server.url.startswith("http://127.0.0.1:")
    with urllib.request.urlopen(server.url) as answer:
        page = answer.read().decode()
    assert '"mode":"server"' in page and "gdlabPlayground" in page


def test_server_computes_exact_runs(server):
    status, answer = _post(
        server,
        {
            "key": "quadratic|10|full",
            "steps": 15,
            "runs": [
                {
                    "optimizer": "nesterov",
                    "start": [1.25, -0.75],
                    "settings": {"learning_rate": 0.05, "momentum": 0.8, "condition": 10.0},
                },
                {"optimizer": "sgd", "start": [1.0, 1.0], "settings": {"learning_rate": 0.3}},
            ],
        },
    )
    assert status == 200
    expected = run("quadratic", "nesterov", [1.25, -0.75], 15, learning_rate=0.05, momentum=0.8)
    np.testing.assert_array_equal(np.array(answer["runs"][0]["path"], dtype=float), expected)
    diverged = answer["runs"][1]
    assert diverged["diverged_at"] is not None and diverged["path"][-1] == [None, None]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"key": "nope", "runs": []}, "Unknown surface variant 'nope'"),
        ({"key": "saddle||full", "runs": []}, "'runs' must be a list of 1 to 32"),
        ({"key": "saddle||full", "steps": 0, "runs": [{}]}, r"'steps' must be an int in \[1"),
        (
            {
                "key": "saddle||full",
                "runs": [{"optimizer": "sgd", "start": [0, 0], "settings": {"b1": 0.5}}],
            },
            "'b1' is not a setting",
        ),
        (
            {
                "key": "quadratic|10|full",
                "runs": [{"optimizer": "sgd", "start": [0, 0], "settings": {"condition": 3}}],
            },
            "'condition' must be 10.0",
        ),
        (b"{not json", "Expecting property name"),
    ],
)
def test_server_names_what_is_wrong_with_a_request(server, body, message):
    status, answer = _post(server, body)
    assert status == 400
    assert answer["error"] and pytest.importorskip("re").search(message, answer["error"])


def test_server_answers_404_elsewhere(server):
    with pytest.raises(urllib.error.HTTPError) as caught:
        urllib.request.urlopen(server.url + "secrets")
    assert caught.value.code == 404


def test_answer_runs_rejects_a_non_object():
    with pytest.raises(ValueError, match="JSON object"):
        answer_runs({}, [1, 2])


# ---- command line, lab, notebook -----------------------------------------------------------------


@pytest.fixture
def small_file(monkeypatch):
    """Pages hold one small variant, so that writing one takes a fraction of a second."""
    monkeypatch.setattr(
        "gdlab.playground.page.file_variants", lambda: [make_variant(get_surface("saddle"))]
    )


def test_cli_writes_the_page(tmp_path, small_file):
    out = tmp_path / "sub" / "p.html"
    result = CliRunner().invoke(cli, ["playground", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "Playground written to" in result.output and out.exists()
    assert out.read_text().startswith("<!DOCTYPE html>")


def test_cli_default_writes_playground_html_here(tmp_path, small_file, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(cli, ["playground"])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "playground.html").exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--serve", "--out", "x.html"], "Choose one"),
        (["--data", "d.csv", "--target", "y"], "--data needs --serve"),
        (["--target", "y"], "go with --data"),
        (["--serve", "--data", "d.csv"], "--data needs --target"),
        (["--serve", "--port", "70000"], "70000 is not in the range"),
    ],
)
def test_cli_usage_errors(args, message):
    result = CliRunner().invoke(cli, ["playground", *args])
    assert result.exit_code == 2
    assert message in result.output


def test_cli_serve_with_data(tmp_path, monkeypatch):
    rng = np.random.RandomState(1)
    x = rng.uniform(0, 5, 40)
    (tmp_path / "d.csv").write_text(
        "x,noise,y\n"
        + "".join(f"{a},{b},{3 * a + 1 + b}\n" for a, b in zip(x, rng.randn(40), strict=True))
    )
    seen = {}

    def fake_serve(self):
        seen["keys"] = list(self.httpd.variants)
        seen["surface"] = self.httpd.variants["data||full"].surface
        self.httpd.server_close()
        raise KeyboardInterrupt

    monkeypatch.setattr(PlaygroundServer, "serve_forever", fake_serve)
    args = ["playground", "--serve", "--port", "0", "--data", str(tmp_path / "d.csv")]
    result = CliRunner().invoke(cli, [*args, "--target", "y", "--coefficients", "x,intercept"])
    assert result.exit_code == 0, result.output
    assert "Serving the playground at http://127.0.0.1:" in result.output
    assert "Stopped." in result.output
    assert seen["keys"][:3] == ["data||full", "data||10", "data||1"]
    assert seen["surface"].axes == ("x", "intercept")
    bad = CliRunner().invoke(cli, [*args, "--target", "y", "--coefficients", "x,zz"])
    assert bad.exit_code == 2 and "Unknown coefficient 'zz'" in bad.output


def test_lab_writes_the_playground_beside_the_report_and_links_it(
    tmp_path, small_file, monkeypatch
):
    from gdlab.lab import run_lab

    monkeypatch.setattr("gdlab.lab.EXPERIMENTS", ())
    report = run_lab(tmp_path / "lab", quiet=True)
    assert (tmp_path / "lab" / "playground.html").exists()
    assert '<a href="playground.html">Open the playground</a>' in report.report.read_text()


def test_show_displays_the_page_in_an_iframe(monkeypatch):
    shown = []
    display = types.ModuleType("IPython.display")
    display.HTML = lambda text: ("HTML", text)
    display.display = shown.append
    monkeypatch.setitem(sys.modules, "IPython", types.ModuleType("IPython"))
    monkeypatch.setitem(sys.modules, "IPython.display", display)
    from gdlab.playground import show

    frame = show(["saddle"], height=900)
    assert shown == [frame]
    assert frame[1].startswith('<iframe srcdoc="&lt;!DOCTYPE html&gt;') and "900px" in frame[1]
    with pytest.raises(ValueError, match="'surfaces' parameter of show must name some of"):
        show(["mountain"])


def test_show_without_ipython_says_what_to_do(monkeypatch):
    monkeypatch.setitem(sys.modules, "IPython", None)
    monkeypatch.setitem(sys.modules, "IPython.display", None)
    from gdlab.playground import show

    with pytest.raises(ModuleNotFoundError, match=r"gdlab playground --out playground\.html"):
        show()
