"""Tests for gdlab.viz: each plot function draws on a Figure and the test checks what was drawn."""

from __future__ import annotations

import subprocess
import sys
from types import SimpleNamespace

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pytest
from matplotlib.contour import ContourSet
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from numpy.testing import assert_allclose, assert_array_equal
from PIL import Image

import gdlab
from gdlab import schedules, testfunctions, viz
from gdlab.history import History

# ------------------------------------------------------------------------------------ fixtures


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


@pytest.fixture
def ax():
    return Figure().add_subplot()


def make_history(losses, *, batches_per_epoch=1, n_samples=100, val_loss=None, params=None):
    n = len(losses)
    return History(
        epoch=list(range(n)),
        loss=list(losses),
        val_loss=list(val_loss) if val_loss is not None else [None] * n,
        learning_rate=[0.01] * n,
        grad_norm=[1.0] * n,
        n_updates=[batches_per_epoch * (i + 1) for i in range(n)],
        n_samples_seen=[n_samples * (i + 1) for i in range(n)],
        params=[np.asarray(p, dtype=float) for p in params] if params is not None else [],
    )


@pytest.fixture(scope="module")
def lesson_data():
    rng = np.random.default_rng(42)
    x = rng.uniform(0, 10, 100)
    y = 3 * x + 7 + rng.normal(0, 2, 100)
    return x, y


def legend_texts(axes):
    legend = axes.get_legend()
    assert legend is not None, "expected a legend"
    return [t.get_text() for t in legend.get_texts()]


# ------------------------------------------------------------------------------- import rules


def test_importing_gdlab_does_not_import_matplotlib():
    code = "import sys, gdlab; print('matplotlib' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_no_function_calls_plt_show(monkeypatch, tmp_path, lesson_data):
    def forbidden(*args, **kwargs):
        raise AssertionError("plt.show() was called")

    monkeypatch.setattr(plt, "show", forbidden)
    x, y = lesson_data
    h = make_history([3.0, 2.0, 1.0], params=[[0, 0], [1, 1], [2, 2], [3, 3]])
    sweep = SimpleNamespace(
        param="learning_rate", values=[0.1], histories=[h], final_loss=[1.0], diverged=[False]
    )
    quad = testfunctions.get("quadratic")
    viz.plot_loss_curve(h)
    viz.plot_params(h)
    viz.plot_fit_snapshots(x, y, h, epochs=(0, 3))
    viz.plot_landscape(quad, resolution=20)
    viz.plot_lr_sweep(sweep)
    viz.plot_modes({"batch": h})
    viz.plot_schedules({"constant": schedules.constant(0.1)}, 5)
    viz.animate_path(quad, [[-4, 1], [0, 0]], tmp_path / "a.gif", resolution=20, hold_frames=0)
    assert len(plt.get_fignums()) == 7  # ax=None made one pyplot figure each; the GIF none


# ------------------------------------------------------------------------------ loss curves


def test_loss_series_x_axis_choices():
    h = make_history([4.0, 2.0, 1.0], batches_per_epoch=4, n_samples=100)
    assert_array_equal(viz.loss_series(h, "epoch")[0], [0, 1, 2])
    assert_array_equal(viz.loss_series(h, "updates")[0], h.n_updates)
    assert_array_equal(viz.loss_series(h, "samples")[0], h.n_samples_seen)
    assert_array_equal(viz.loss_series(h)[1], h.loss)


def test_loss_series_marks_non_finite_losses_as_gaps():
    _, losses = viz.loss_series([1.0, np.inf, np.nan, 2.0])
    assert_array_equal(np.isnan(losses), [False, True, True, False])


@pytest.mark.parametrize("bad_x", ["minutes", "Epoch", None, 3])
def test_bad_x_axis_is_a_clear_value_error(bad_x, ax):
    h = make_history([1.0, 0.5])
    with pytest.raises(ValueError, match="'x' parameter must be one of 'epoch', 'updates'"):
        viz.plot_loss_curve(h, ax, x=bad_x)
    with pytest.raises(ValueError, match="'x' parameter"):
        viz.plot_modes({"batch": h}, ax, x=bad_x)


def test_plain_losses_only_against_epochs(ax):
    with pytest.raises(ValueError, match="needs a History"):
        viz.plot_loss_curve([3.0, 2.0], ax, x="updates")
    with pytest.raises(ValueError, match="no losses"):
        viz.plot_loss_curve([], ax)
    with pytest.raises(ValueError, match="1-D"):
        viz.plot_loss_curve([[1.0, 2.0]], ax)


def test_plot_loss_curve_draws_the_losses_on_a_log_axis(ax):
    losses = [100.0, 30.0, 10.0, 5.0]
    lines = viz.plot_loss_curve(losses, ax, ylabel="MSE loss", title="Loss decreases")
    assert len(lines) == 1 and ax.get_lines() == lines
    assert_array_equal(lines[0].get_xdata(), [0, 1, 2, 3])
    assert_array_equal(lines[0].get_ydata(), losses)
    assert ax.get_yscale() == "log"
    assert ax.get_xlabel() == "Epoch"
    assert ax.get_ylabel() == "MSE loss"
    assert ax.get_title() == "Loss decreases"
    assert ax.get_legend() is None  # one unlabelled series: no legend
    assert all(line.get_alpha() == pytest.approx(0.3) for line in ax.xaxis.get_gridlines())


def test_plot_loss_curve_linear_scale_options_and_label(ax):
    lines = viz.plot_loss_curve([3.0, 2.0], ax, log=False, label="adam", color="purple")
    assert ax.get_yscale() == "linear"
    assert lines[0].get_color() == "purple"
    assert legend_texts(ax) == ["adam"]


def test_plot_loss_curve_with_validation_and_x_switching(ax):
    h = make_history([4.0, 2.0, 1.0], batches_per_epoch=4, val_loss=[5.0, 3.0, 2.5])
    lines = viz.plot_loss_curve(h, ax, x="samples")
    assert len(lines) == 2
    assert_array_equal(lines[0].get_xdata(), h.n_samples_seen)
    assert_array_equal(lines[1].get_ydata(), [5.0, 3.0, 2.5])
    assert lines[1].get_linestyle() == "--"
    assert legend_texts(ax) == ["Training loss", "Validation loss"]
    assert ax.get_xlabel() == "Examples seen"


def test_plot_loss_curve_on_a_fitted_model(lesson_data):
    x, y = lesson_data
    model = gdlab.GDRegressor(
        optimizer="sgd",
        batch_size=None,
        learning_rate=0.01,
        max_iter=30,
        tol=None,
        shuffle=False,
        backend="numpy",
    ).fit(x[:, None], y)
    lines = viz.plot_loss_curve(model.history_, x="updates")  # ax=None: a new pyplot figure
    assert_array_equal(lines[0].get_xdata(), model.history_.n_updates)
    assert_allclose(lines[0].get_ydata(), model.loss_curve_)
    assert lines[0].figure is plt.gcf()


def test_short_log_axis_is_labelled_with_plain_numbers(ax):
    viz.plot_loss_curve([70.0, 40.0, 20.0, 12.0], ax)
    ax.figure.canvas.draw()
    labels = [t.get_text() for t in ax.yaxis.get_ticklabels(minor=True) if t.get_visible()]
    assert "60" in labels and "20" in labels


# -------------------------------------------------------------------------------- parameters


def test_plot_params_draws_each_parameter_and_its_target(ax):
    path = np.array([[0.0, 1.0], [1.5, 4.0], [2.5, 6.0], [2.9, 6.8]])
    lines = viz.plot_params(path, ax, targets=(3.0, 7.0), target_label="true")
    assert len(lines) == 4
    assert_array_equal(lines[0].get_ydata(), path[:, 0])
    assert_array_equal(lines[1].get_ydata(), path[:, 1])
    assert_array_equal(lines[0].get_xdata(), [0, 1, 2, 3])
    assert lines[2].get_ydata()[0] == 3.0 and lines[3].get_ydata()[0] == 7.0
    assert lines[2].get_linestyle() == "--"
    assert lines[2].get_color() == lines[0].get_color()
    assert legend_texts(ax) == [
        "w (final: 2.900)",
        "b (final: 6.800)",
        "w true: 3.000",
        "b true: 7.000",
    ]
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("Epoch", "Parameter value")
    assert ax.get_title()


def test_plot_params_from_history_with_dict_targets_and_epochs(ax):
    h = make_history([2.0, 1.0], params=[[0.0, 0.0], [1.0, 2.0], [2.0, 3.0]])
    lines = viz.plot_params(h, ax, targets={"b": 3.5}, epochs=[0, 10, 20])
    assert len(lines) == 3
    assert_array_equal(lines[1].get_xdata(), [0, 10, 20])
    assert lines[2].get_label() == "b target: 3.500"


def test_plot_params_bad_input(ax):
    path = np.zeros((3, 2))
    with pytest.raises(ValueError, match="names has 3 entries"):
        viz.plot_params(path, ax, names=("w1", "w2", "b"))
    with pytest.raises(ValueError, match="targets has 3 values"):
        viz.plot_params(path, ax, targets=(1, 2, 3))
    with pytest.raises(ValueError, match="not among names"):
        viz.plot_params(path, ax, targets={"c": 1.0})
    with pytest.raises(ValueError, match="epochs has 2 values"):
        viz.plot_params(path, ax, epochs=[0, 1])
    with pytest.raises(ValueError, match="No parameter path"):
        viz.plot_params(make_history([1.0]), ax)


# ----------------------------------------------------------------------------- fit snapshots


def test_plot_fit_snapshots_draws_data_and_one_line_per_epoch(ax, lesson_data):
    x, y = lesson_data
    path = np.column_stack([np.linspace(0, 3, 200), np.linspace(1, 7, 200)])
    artists = viz.plot_fit_snapshots(x, y, path, ax)
    scatter, lines = artists[0], artists[1:]
    assert_array_equal(scatter.get_offsets(), np.column_stack([x, y]))
    assert len(lines) == 5
    for line, epoch in zip(lines, (0, 5, 20, 50, 199), strict=True):
        w, b = path[epoch]
        assert_allclose(line.get_ydata(), w * line.get_xdata() + b)
        assert line.get_label() == f"Epoch {epoch}: w={w:.2f}, b={b:.2f}"
    assert lines[0].get_xdata().min() == pytest.approx(x.min())
    assert lines[0].get_xdata().max() == pytest.approx(x.max())
    assert legend_texts(ax)[0] == "Data"
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("x", "y")
    assert ax.get_title() == "Line fit over training"


def test_plot_fit_snapshots_negative_epoch_and_bad_input(ax):
    path = [[0.0, 0.0], [1.0, 1.0], [2.0, 1.0]]
    lines = viz.plot_fit_snapshots([[0.0], [1.0]], [1.0, 3.0], path, ax, epochs=(0, -1))
    assert lines[-1].get_label() == "Epoch 2: w=2.00, b=1.00"
    with pytest.raises(ValueError, match=r"epochs \[5\] are outside the path"):
        viz.plot_fit_snapshots([0.0, 1.0], [1.0, 3.0], path, ax, epochs=(0, 5))
    with pytest.raises(ValueError, match="same length"):
        viz.plot_fit_snapshots([0.0, 1.0], [1.0, 3.0, 4.0], path, ax)
    with pytest.raises(ValueError, match="one feature"):
        viz.plot_fit_snapshots(np.zeros((2, 2)), [1.0, 3.0], path, ax)
    with pytest.raises(ValueError, match="got 3 columns"):
        viz.plot_fit_snapshots([0.0, 1.0], [1.0, 3.0], np.zeros((3, 3)), ax)


# ------------------------------------------------------------------------------- landscapes


def test_landscape_grid_evaluates_the_function_on_the_grid():
    X, Y, Z = viz.landscape_grid(lambda p: p[0] ** 2 + 3 * p[1], (-1, 2), (0, 1), resolution=4)
    assert X.shape == Y.shape == Z.shape == (4, 4)
    assert_allclose(X[0], np.linspace(-1, 2, 4))
    assert_allclose(Y[:, 0], np.linspace(0, 1, 4))
    assert_allclose(Z, X**2 + 3 * Y)


def test_landscape_grid_falls_back_to_pointwise_evaluation():
    def scalar_only(p):
        return float(np.dot(p, p))  # TypeError on a grid: only works point by point

    X, Y, Z = viz.landscape_grid(scalar_only, (-1, 1), (-2, 2), resolution=5)
    assert_allclose(Z, X**2 + Y**2)


def test_landscape_grid_non_finite_values_become_nan():
    _, _, Z = viz.landscape_grid(lambda p: 1.0 / p[0], (-1, 1), (0, 1), resolution=3)
    assert np.isnan(Z[:, 1]).all() and np.isfinite(Z[:, [0, 2]]).all()


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"resolution": 1}, ValueError, "resolution"),
        ({"resolution": 2.5}, TypeError, "resolution"),
        ({"xlim": (1, 0)}, ValueError, "xlim must be finite with low < high"),
        ({"ylim": "ab"}, ValueError, "ylim must be a pair"),
    ],
)
def test_landscape_grid_bad_input(kwargs, error, match):
    args = {"xlim": (0, 1), "ylim": (0, 1), "resolution": 3, **kwargs}
    with pytest.raises(error, match=match):
        viz.landscape_grid(lambda p: p[0], **args)


def test_mse_landscape_equals_the_lessons_double_loop(lesson_data):
    x, y = lesson_data
    fun = viz.mse_landscape(x, y)
    W, B = np.meshgrid(np.linspace(0, 6, 7), np.linspace(0, 14, 5))
    expected = np.zeros_like(W)
    for i in range(W.shape[0]):  # the lesson's loop, as the oracle
        for j in range(W.shape[1]):
            expected[i, j] = np.mean((y - (W[i, j] * x + B[i, j])) ** 2)
    assert_allclose(fun(np.stack([W, B])), expected, rtol=1e-12)
    assert_allclose(fun(np.array([3.0, 7.0])), np.mean((y - 3 * x - 7) ** 2), rtol=1e-12)


def test_mse_landscape_minimum_is_the_least_squares_line(lesson_data):
    x, y = lesson_data
    fun = viz.mse_landscape(x[:, None], y)
    w, b = np.polyfit(x, y, 1)
    best = fun(np.array([w, b]))
    assert best == pytest.approx(np.mean((y - w * x - b) ** 2), rel=1e-12)
    for dw, db in [(1e-3, 0), (0, 1e-3), (-1e-3, 1e-3)]:
        assert fun(np.array([w + dw, b + db])) > best


def test_mse_landscape_bad_input():
    with pytest.raises(ValueError, match="one feature"):
        viz.mse_landscape(np.zeros((3, 2)), np.zeros(3))
    with pytest.raises(ValueError, match="same length"):
        viz.mse_landscape(np.zeros(3), np.zeros(4))
    with pytest.raises(ValueError, match="finite"):
        viz.mse_landscape([0.0, np.nan], [1.0, 2.0])


def test_contour_levels_linear_and_log_spaced():
    Z = np.array([[2.0, 3.0], [12.0, 1002.0]])
    assert_allclose(viz.contour_levels(Z, 5), np.linspace(2, 1002, 5))
    levels = viz.contour_levels(Z, 4, log_scale=True)
    heights = levels - 2.0
    assert_allclose(heights[[0, -1]], [1.0, 1000.0])
    assert_allclose(heights[1:] / heights[:-1], 10.0)  # geometric spacing
    with pytest.raises(ValueError, match="not finite anywhere"):
        viz.contour_levels(np.full((2, 2), np.nan))


def test_plot_landscape_draws_contours_path_markers_and_minimum(ax, lesson_data):
    x, y = lesson_data
    path = np.array([[0.5, 1.0], [1.5, 3.0], [2.5, 5.0], [2.9, 6.5]])
    art = viz.plot_landscape(
        viz.mse_landscape(x, y),
        ax,
        xlim=(0, 6),
        ylim=(0, 14),
        paths={"GD path": path},
        minima=[(3.0, 7.0)],
        resolution=40,
        xlabel="w (weight)",
        ylabel="b (bias)",
    )
    assert isinstance(art["contour"], ContourSet)
    assert art["contour"] in ax.collections or art["contour"].axes is ax
    assert len(art["contour"].levels) == 30
    line = art["paths"]["GD path"]
    assert_array_equal(line.get_xydata(), path)
    assert line.get_marker() == "."
    (start,) = art["starts"]
    assert_array_equal(start.get_xydata(), path[:1])
    assert (start.get_marker(), start.get_color()) == ("o", "green")
    end = art["ends"]["GD path"]
    assert_array_equal(end.get_xydata(), path[-1:])
    assert end.get_marker() == "*"
    minimum = art["minima"]
    assert_array_equal(minimum.get_xydata(), [[3.0, 7.0]])
    assert (minimum.get_marker(), minimum.get_color()) == ("x", "black")
    assert legend_texts(ax) == ["GD path", "Start", "End", "Exact minimum"]
    assert ax.get_xlim() == (0, 6) and ax.get_ylim() == (0, 14)
    assert (ax.get_xlabel(), ax.get_ylabel(), ax.get_title()) == (
        "w (weight)",
        "b (bias)",
        "Loss landscape",
    )
    X, Y, Z = art["grid"]
    assert Z.shape == (40, 40)
    assert_allclose(Z, viz.mse_landscape(x, y)(np.stack([X, Y])))


def test_plot_landscape_of_a_test_function_with_several_paths(ax):
    rosen = testfunctions.get("rosenbrock")
    paths = {
        "GD": np.array([rosen.start, (-1.0, 1.0), (0.0, 0.2)]),
        "Adam": np.array([rosen.start, (0.5, 0.3), (0.9, 0.8), (1.0, 1.0)]),
    }
    art = viz.plot_landscape(rosen, ax, paths=paths, log_scale=True, levels=12, resolution=50)
    heights = art["contour"].levels - np.nanmin(art["grid"][2])
    assert_allclose(heights[1:] / heights[:-1], heights[1] / heights[0])  # log-spaced
    assert ax.get_xlim() == rosen.xlim and ax.get_ylim() == rosen.ylim
    assert "Rosenbrock" in ax.get_title() and "log" in ax.get_title()
    assert_array_equal(art["minima"].get_xydata(), [[1.0, 1.0]])
    assert len(art["starts"]) == 2 and set(art["ends"]) == {"GD", "Adam"}
    assert art["paths"]["GD"].get_color() != art["paths"]["Adam"].get_color()
    assert art["ends"]["Adam"].get_color() == art["paths"]["Adam"].get_color()
    assert legend_texts(ax) == ["GD", "Adam", "Start", "End (path colour)", "Exact minimum"]


def test_plot_landscape_several_minima_filled_and_no_paths(ax):
    himmelblau = testfunctions.get("himmelblau")
    art = viz.plot_landscape(himmelblau, ax, filled=True, colorbar=True, resolution=30)
    assert art["minima"].get_xydata().shape == (4, 2)
    assert legend_texts(ax) == ["Minima"]
    assert art["paths"] == {} and art["starts"] == []
    assert len(ax.figure.axes) == 2  # the colour bar


def test_plot_landscape_bad_input(ax):
    with pytest.raises(ValueError, match="xlim and ylim are required"):
        viz.plot_landscape(lambda p: p[0] ** 2, ax)
    with pytest.raises(
        ValueError, match=r"paths\['bad'\] must be an array of shape \(n_points, 2\)"
    ):
        viz.plot_landscape(lambda p: p[0], ax, xlim=(0, 1), ylim=(0, 1), paths={"bad": [1, 2, 3]})
    with pytest.raises(TypeError, match="callable"):
        viz.plot_landscape(42, ax, xlim=(0, 1), ylim=(0, 1))


# ------------------------------------------------------------------------------------ sweeps


@pytest.fixture(scope="module")
def lesson_sweep(lesson_data):
    """The lesson's learning-rate comparison, fitted with gdlab (0.1 diverges)."""
    x, y = lesson_data
    histories, final, diverged = [], [], []
    for lr in [0.0001, 0.01, 0.1]:
        model = gdlab.GDRegressor(
            optimizer="sgd",
            standardize=False,
            batch_size=None,
            learning_rate=lr,
            max_iter=50,
            tol=None,
            shuffle=False,
            backend="numpy",
        )
        try:
            model.fit(x[:, None], y)
        except gdlab.DivergenceError as err:
            histories.append(err.history)
            final.append(float("nan"))
            diverged.append(True)
        else:
            histories.append(model.history_)
            final.append(model.history_.loss[-1])
            diverged.append(False)
    return SimpleNamespace(
        param="learning_rate",
        values=[0.0001, 0.01, 0.1],
        histories=histories,
        final_loss=final,
        diverged=diverged,
    )


def test_plot_lr_sweep_marks_the_diverged_run(ax, lesson_sweep):
    assert lesson_sweep.diverged == [False, False, True]
    lines = viz.plot_lr_sweep(lesson_sweep, ax)
    assert len(lines) == 3 and all(isinstance(line, Line2D) for line in lines)
    for line, history in zip(lines, lesson_sweep.histories, strict=True):
        assert_allclose(line.get_ydata(), history.loss)
        assert_array_equal(line.get_xdata(), history.epoch)
    assert lines[2].get_color() == "red"
    assert "red" not in {lines[0].get_color(), lines[1].get_color()}
    assert legend_texts(ax) == [
        "learning_rate = 0.0001",
        "learning_rate = 0.01",
        "learning_rate = 0.1 (diverged)",
    ]
    assert "diverged: learning_rate = 0.1" in ax.get_title()
    assert ax.get_yscale() == "log"
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("Epoch", "Loss")
    # the view stays on the stable runs; the diverged one leaves through the top
    assert ax.get_ylim()[1] < max(lesson_sweep.histories[2].loss)


def test_plot_lr_sweep_one_panel_per_value(lesson_sweep):
    fig = Figure(figsize=(10, 8))
    axes = fig.subplots(2, 2)
    lines = viz.plot_lr_sweep(lesson_sweep, axes)
    flat = axes.ravel()
    assert [len(a.get_lines()) for a in flat[:3]] == [1, 1, 1]
    assert not flat[3].get_visible()
    assert flat[2].get_title() == "learning_rate = 0.1: DIVERGED"
    assert flat[2].title.get_color() == "red" and lines[2].get_color() == "red"
    final = lesson_sweep.final_loss[1]
    assert flat[1].get_title() == f"learning_rate = 0.01: final loss = {final:.4g}"
    assert all(a.get_yscale() == "log" for a in flat[:3])
    assert fig.get_suptitle() == "Effect of the learning rate on training"
    with pytest.raises(ValueError, match="axes has 2 panels but the sweep has 3 runs"):
        viz.plot_lr_sweep(lesson_sweep, Figure().subplots(1, 2))


def test_plot_lr_sweep_run_without_history_and_bad_results(ax):
    ok = make_history([4.0, 1.0])
    result = SimpleNamespace(
        param="learning_rate",
        values=[np.float32(0.5), 10.0],
        histories=[ok, None],
        final_loss=[1.0, float("nan")],
        diverged=[False, True],
    )
    lines = viz.plot_lr_sweep(result, ax)
    assert len(lines) == 2 and len(lines[1].get_xdata()) == 0
    assert legend_texts(ax)[1] == "learning_rate = 10 (diverged)"
    with pytest.raises(TypeError, match="has no histories, diverged"):
        viz.plot_lr_sweep(SimpleNamespace(param="x", values=[1], final_loss=[1.0]), ax)
    result.diverged = [False]
    with pytest.raises(ValueError, match="2 values but 1 entries in 'diverged'"):
        viz.plot_lr_sweep(result, ax)


# ------------------------------------------------------------------------------------- modes


@pytest.fixture(scope="module")
def mode_histories(lesson_data):
    x, y = lesson_data
    runs = {}
    for name, batch_size in [("Batch", None), ("SGD", 1), ("Mini-batch (32)", 32)]:
        model = gdlab.GDRegressor(
            optimizer="sgd",
            batch_size=batch_size,
            learning_rate=0.001,
            max_iter=5,
            tol=None,
            backend="numpy",
        )
        runs[name] = model.fit(x[:, None], y).history_
    return runs


@pytest.mark.parametrize(
    ("x_axis", "field", "xlabel"),
    [
        ("epoch", "epoch", "Epoch"),
        ("updates", "n_updates", "Updates (parameter steps)"),
        ("samples", "n_samples_seen", "Examples seen"),
    ],
)
def test_plot_modes_x_axis_switching(ax, mode_histories, x_axis, field, xlabel):
    lines = viz.plot_modes(mode_histories, ax, x=x_axis)
    assert len(lines) == 3
    for line, history in zip(lines, mode_histories.values(), strict=True):
        assert_array_equal(line.get_xdata(), getattr(history, field))
        assert_allclose(line.get_ydata(), history.loss)
    assert ax.get_xlabel() == xlabel
    assert ax.get_yscale() == "log"
    assert [t.split(" (final")[0] for t in legend_texts(ax)] == list(mode_histories)
    assert len({line.get_color() for line in lines}) == 3


def test_plot_modes_updates_counts_follow_the_batch_size(ax, mode_histories):
    lines = viz.plot_modes(mode_histories, ax, x="updates", logx=True)
    # 100 samples, 5 epochs: batch 1 update per epoch, SGD 100, mini-batch ceil(100 / 32) = 4
    assert [line.get_xdata()[-1] for line in lines] == [5, 500, 20]
    assert ax.get_xscale() == "log"


def test_plot_modes_bad_input(ax):
    with pytest.raises(ValueError, match="non-empty dict"):
        viz.plot_modes({}, ax)
    with pytest.raises(TypeError, match=r"histories\['sgd'\] must be a History"):
        viz.plot_modes({"sgd": [1.0, 2.0]}, ax)
    short = make_history([1.0, 0.5])
    short.n_updates = [1]
    with pytest.raises(ValueError, match="entries in 'n_updates'"):
        viz.plot_modes({"batch": short}, ax, x="updates")


# --------------------------------------------------------------------------------- schedules


def test_plot_schedules_draws_the_rate_per_step(ax):
    lines = viz.plot_schedules(
        {
            "step decay": schedules.step_decay(0.1, step_size=10, gamma=0.5),
            "inverse scaling": schedules.inverse_scaling(0.1, power_t=0.5),
        },
        40,
        ax,
    )
    assert len(lines) == 2
    steps = np.arange(40)
    assert_array_equal(lines[0].get_xdata(), steps)
    assert_allclose(lines[0].get_ydata(), 0.1 * 0.5 ** (steps // 10))  # eta0 * gamma^floor(t/s)
    assert_allclose(lines[1].get_ydata(), 0.1 / (steps + 1.0) ** 0.5)  # eta0 / (t + 1)^power_t
    assert legend_texts(ax) == ["step decay", "inverse scaling"]
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("Step (updates)", "Learning rate")
    assert ax.get_title() == "Learning-rate schedules"
    assert ax.get_yscale() == "linear"
    viz.plot_schedules({"c": schedules.constant(0.1)}, 3, ax, log=True)
    assert ax.get_yscale() == "log"


def test_plot_schedules_bad_input(ax):
    with pytest.raises(ValueError, match="n_steps must be a positive int"):
        viz.plot_schedules({"c": schedules.constant(0.1)}, 0, ax)
    with pytest.raises(TypeError, match=r"schedules\['c'\]: A schedule must be callable"):
        viz.plot_schedules({"c": 0.1}, 5, ax)
    with pytest.raises(ValueError, match="non-empty dict"):
        viz.plot_schedules({}, 5, ax)


# --------------------------------------------------------------------------------- animation


def test_frame_iterations_subsample_long_paths():
    assert viz.frame_iterations(5) == [0, 1, 2, 3, 4]
    frames = viz.frame_iterations(2001, max_frames=120)
    assert len(frames) == 120 and frames[0] == 0 and frames[-1] == 2000
    with pytest.raises(ValueError, match="max_frames"):
        viz.frame_iterations(10, max_frames=1)


def test_animate_path_writes_a_gif(tmp_path):
    quad = testfunctions.get("quadratic")
    t = np.linspace(0, 1, 500)[:, None]
    paths = {
        "GD": np.array(quad.start) * (1 - t),
        "Adam": np.array(quad.start) * (1 - t) ** 2,
    }
    out = viz.animate_path(
        quad, paths, tmp_path / "sub" / "paths.gif", fps=4, max_frames=8, resolution=30, dpi=40
    )
    assert out == tmp_path / "sub" / "paths.gif" and out.is_file()
    with Image.open(out) as gif:
        assert gif.format == "GIF"
        assert gif.n_frames == 8  # 500 points subsampled to max_frames
        assert gif.info["duration"] == 250  # 4 frames per second
        first = np.asarray(gif.convert("RGB"))
        gif.seek(gif.n_frames - 1)
        assert gif.info["duration"] == 250 * (1 + 4)  # last frame held for fps more frames
        assert not np.array_equal(first, np.asarray(gif.convert("RGB")))  # the paths moved
        assert gif.size == (240, 200)  # figsize 6 x 5 inches at 40 dpi
    assert plt.get_fignums() == []  # drawn on its own Figure, not left open in pyplot


def test_animate_path_plain_callable_and_bad_input(tmp_path):
    path = np.array([[1.0, 1.0], [0.5, 0.2], [0.0, 0.0]])
    out = viz.animate_path(
        lambda p: p[0] ** 2 + p[1] ** 2,
        path,
        tmp_path / "one.gif",
        xlim=(-1, 1.5),
        ylim=(-1, 1.5),
        resolution=20,
        dpi=30,
        hold_frames=0,
    )
    with Image.open(out) as gif:
        assert gif.n_frames == 3
    with pytest.raises(ValueError, match=r"must end in \.gif"):
        viz.animate_path(lambda p: p[0], path, tmp_path / "a.mp4", xlim=(0, 1), ylim=(0, 1))
    with pytest.raises(ValueError, match="fps"):
        viz.animate_path(lambda p: p[0], path, tmp_path / "a.gif", xlim=(0, 1), ylim=(0, 1), fps=0)
    with pytest.raises(ValueError, match="paths is empty"):
        viz.animate_path(lambda p: p[0], {}, tmp_path / "a.gif", xlim=(0, 1), ylim=(0, 1))
