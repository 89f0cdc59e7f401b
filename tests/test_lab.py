"""gdlab.lab.run_lab: every lesson experiment, its figures and the HTML report."""

from __future__ import annotations

import base64
import io
import re
import struct

import numpy as np
import pytest
from sklearn.linear_model import LinearRegression

import gdlab
from gdlab.lab import EXPERIMENTS, LabReport, run_lab
from gdlab.lab.experiment import Experiment, Table, fmt
from gdlab.lab.report import render_html

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
KEYS = [key for key, _ in EXPERIMENTS]


def png_size(data: bytes) -> tuple[int, int]:
    """Width and height from a PNG's IHDR chunk (after checking the signature)."""
    assert data[:8] == PNG_SIGNATURE
    assert data[12:16] == b"IHDR"
    return struct.unpack(">II", data[16:24])


def lesson_line(n: int) -> tuple[np.ndarray, np.ndarray, np.random.RandomState]:
    rng = np.random.RandomState(42)
    x = rng.uniform(0, 10, n)
    return x, 3 * x + 7 + rng.randn(n) * 2, rng


@pytest.fixture(scope="module")
def lab(tmp_path_factory) -> LabReport:
    return run_lab(tmp_path_factory.mktemp("lab"), quiet=True, fast=True)


@pytest.fixture(scope="module")
def page(lab) -> str:
    return lab.report.read_text(encoding="utf-8")


def test_every_experiment_has_a_valid_png(lab):
    assert [e.key for e in lab.experiments] == KEYS
    assert sorted(lab.figures) == sorted(KEYS)
    for key in KEYS:
        path = lab.figures[key]
        assert path == lab.out_dir / f"{key}.png"
        width, height = png_size(path.read_bytes())
        assert width >= 800 and height >= 450  # readable size at dpi 100
    written = {p.name for p in lab.out_dir.iterdir()}
    assert written == {f"{k}.png" for k in KEYS} | {"report.html", "playground.html"}


def test_report_embeds_every_figure_and_section(lab, page):
    images = re.findall(r'src="data:image/png;base64,([A-Za-z0-9+/=]+)"', page)
    assert len(images) == len(KEYS)
    for key, encoded in zip(KEYS, images, strict=True):
        assert base64.b64decode(encoded) == lab.figures[key].read_bytes()
    for experiment in lab.experiments:
        assert f'<section id="{experiment.key}">' in page
        assert f"<h2>{experiment.title}</h2>" in page
        for table in experiment.tables:
            for row in table.rows:
                for cell in row:
                    assert f"<td>{cell}</td>" in page.replace("&#x27;", "'")
    assert "<script" not in page.lower()
    assert "http://" not in page and "https://" not in page  # self-contained


def test_closed_form_numbers_match_least_squares_and_sklearn(lab, page):
    x, y, _ = lesson_line(150)
    exact = gdlab.least_squares(x[:, None], y)
    sk = LinearRegression().fit(x[:, None], y)
    assert exact.coef[0] == pytest.approx(sk.coef_[0], abs=1e-10)
    numbers = lab.numbers["06_closed_form"]
    assert f"{numbers['w_exact']:.4f}" == f"{exact.coef[0]:.4f}"
    assert f"{numbers['b_exact']:.4f}" == f"{exact.intercept:.4f}"
    row = (
        "<tr><td>closed form (gdlab.least_squares)</td>"
        f"<td>{exact.coef[0]:.4f}</td><td>{exact.intercept:.4f}</td><td>{exact.loss:.4f}</td></tr>"
    )
    assert row in page


def test_lesson_progress_table_numbers(page):
    """The lesson's own loop (seed 42) prints these; the report must show the same."""
    x, y, rng = lesson_line(100)
    w, b = rng.randn(), rng.randn()
    expected = []
    for epoch in range(200):
        y_pred = w * x + b
        loss = np.mean((y - y_pred) ** 2)
        w = w - 0.01 * (-2 * np.mean(x * (y - y_pred)))
        b = b - 0.01 * (-2 * np.mean(y - y_pred))
        if epoch % 20 == 0 or epoch == 199:
            expected.append(f"<td>{epoch}</td><td>{loss:.4f}</td><td>{w:.4f}</td><td>{b:.4f}</td>")
    for row in expected:
        assert row in page


def test_learning_rates_divergence_and_bound(lab):
    x, _, _ = lesson_line(100)
    A = np.column_stack([x, np.ones_like(x)])
    bound = 1.0 / np.linalg.eigvalsh(A.T @ A / x.size)[-1]  # 2 / L, L = 2 lambda_max
    numbers = lab.numbers["02_learning_rates"]
    assert numbers["bound_2_over_L"] == pytest.approx(bound, rel=1e-10)
    for rate in (0.0001, 0.01, 0.05, 0.1):
        assert numbers[f"diverged_{rate:g}"] == float(rate > bound)
    finder = lab.numbers["03_lr_finder"]
    assert finder["suggested"] < finder["bound_2_over_L"] < finder["diverged_at"]


def test_multivariate_and_bias_column_against_exact_solutions(lab):
    rng = np.random.RandomState(42)
    X = rng.randn(200, 3)
    y = X @ [2.0, -1.0, 0.5] + 5.0 + rng.randn(200) * 0.5
    exact = gdlab.least_squares(X, y)
    multi = lab.numbers["04_multivariate"]
    np.testing.assert_allclose([multi["w1"], multi["w2"], multi["w3"]], exact.coef, atol=1e-6)
    assert multi["intercept"] == pytest.approx(exact.intercept, abs=1e-6)
    rng = np.random.RandomState(42)
    X1 = 2 * rng.rand(100, 1)
    y1 = (4 + 3 * X1 + rng.randn(100, 1) * 0.5).ravel()
    theta = np.linalg.lstsq(np.c_[np.ones(100), X1], y1, rcond=None)[0]
    bias = lab.numbers["07_bias_column"]
    np.testing.assert_allclose([bias["theta0"], bias["theta1"]], theta, atol=1e-8)
    assert abs(bias["theta0"] - 4) < 0.3 and abs(bias["theta1"] - 3) < 0.3
    assert bias["lesson_loop_max_difference"] < 1e-10


def test_optimizer_experiment_outcomes(lab):
    numbers = lab.numbers["08_optimizers"]
    # The exploding-gradient case: unclipped GD diverges (reported, not raised), clipping tames it.
    assert numbers["quartic_gd_diverged"] == 1.0
    assert numbers["quartic_gd_clipped_diverged"] == 0.0
    assert numbers["quartic_gd_clipped_distance"] < 0.5
    # Saddle: momentum escapes to a minimum, plain GD is still near the saddle.
    assert numbers["saddle_momentum_distance"] < 1e-3
    assert numbers["saddle_gd_distance"] > 0.5
    experiment = lab.experiment("08_optimizers")
    pid_table = experiment.tables[-1]
    assert pid_table.rows[-1][-1] == "0.00"  # P-only PID equals plain GD exactly


def test_lab_report_helpers(lab):
    assert lab.experiment("01_batch_gd").figure_name == "01_batch_gd.png"
    with pytest.raises(KeyError, match="No experiment 'nope'"):
        lab.experiment("nope")
    assert lab.seed == 42 and lab.seconds > 0


def test_html_escapes_hostile_text():
    hostile = "<script>alert(1)</script>"
    table = Table(hostile, [hostile, "b"], [[hostile, "<img src=x onerror=alert(1)>"]], hostile)
    experiment = Experiment(
        key='k" onmouseover="x',
        title=hostile,
        source=hostile,
        explanation=[hostile],
        tables=[table],
        numbers={},
        data={},
        draw=lambda e: None,
    )
    html_text = render_html([experiment], {experiment.key: b"\x89PNG"}, title=hostile, meta=hostile)
    assert "<script" not in html_text.lower()
    assert "<img src=x" not in html_text
    assert 'id="k" onmouseover' not in html_text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html_text


def test_format_helper():
    assert fmt(3.14159) == "3.1416"
    assert fmt(float("nan")) == "-"
    assert fmt(1e-9, 2) == "1.0e-09"


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"seed": -1}, ValueError, "seed must be between"),
        ({"seed": 1.5}, TypeError, "seed must be an int"),
        ({"seed": True}, TypeError, "seed must be an int"),
    ],
)
def test_bad_arguments(tmp_path, kwargs, error, match):
    with pytest.raises(error, match=match):
        run_lab(tmp_path, quiet=True, **kwargs)


def test_out_dir_that_is_a_file(tmp_path):
    target = tmp_path / "file.txt"
    target.write_text("x")
    with pytest.raises(ValueError, match="exists and is not a folder"):
        run_lab(target, quiet=True)
    with pytest.raises(TypeError, match="out_dir must be a path"):
        run_lab(42, quiet=True)


@pytest.mark.slow
def test_full_default_run_prints_tables_and_where_the_files_are(tmp_path):
    from rich.console import Console

    buffer = io.StringIO()
    console = Console(file=buffer, width=120, force_terminal=False, color_system=None)
    report = run_lab(tmp_path / "out", console=console)
    text = buffer.getvalue()
    for experiment in report.experiments:
        assert experiment.title in text
    assert "DIVERGED" in text
    assert str(report.report) in text.replace("\n", "")
    assert "report.html" in text and "01_batch_gd.png" in text
    for key in KEYS:
        png_size(report.figures[key].read_bytes())
    modes = report.numbers["05_modes"]
    assert modes["sgd_updates"] == 100 * 200  # 100 epochs of 200 single-row updates
    assert modes["minibatch_updates"] == 100 * 7
    # The lesson's protocol table (seed 42): batch, SGD and mini-batch final losses.
    assert f"{modes['lesson_batch_final_loss']:.4f}" in text
