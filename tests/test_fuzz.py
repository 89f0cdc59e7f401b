"""Property-based and fuzz tests: whatever the data, gdlab ends with finite parameters or a clear
gdlab error; whatever the file, ``gdlab fit`` ends with exit code 2 and one line.

The counts of examples and fuzz cases that ran are written to the terminal at the end of the module
(``fuzz cases run: ...``). In CI, Hypothesis runs derandomized (the "ci" profile of conftest.py).
"""

from __future__ import annotations

import io
import math
import warnings
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from sklearn.exceptions import ConvergenceWarning

import gdlab
from gdlab import optim
from gdlab.exceptions import DivergenceError

COUNTS: Counter[str] = Counter()
SCALES = [1e-300, 1e-150, 1e-20, 1e-3, 1.0, 1e3, 1e20, 1e150, 1e300]
SLOW = [HealthCheck.too_slow, HealthCheck.function_scoped_fixture]


@pytest.fixture(scope="module", autouse=True)
def _report_counts(request):
    yield
    summary = ", ".join(f"{name}={count}" for name, count in sorted(COUNTS.items()))
    capture = request.config.pluginmanager.get_plugin("capturemanager")
    if summary and capture is not None:
        with capture.global_and_fixture_disabled():
            print(f"\nfuzz cases run: {summary} (total {sum(COUNTS.values())})")


def _elements(dtype: np.dtype) -> st.SearchStrategy[float]:
    width = 32 if dtype == np.float32 else 64
    finite = st.floats(allow_nan=False, allow_infinity=False, width=width)
    info = np.finfo(dtype)
    extreme = st.sampled_from(
        [0.0, -0.0, float(info.max), -float(info.max), float(info.smallest_subnormal),
         float(info.tiny), 1e300 if width == 64 else 1e38, -1e-310 if width == 64 else -1e-40]
    )  # fmt: skip
    return st.one_of(finite, extreme, st.floats(-10, 10, width=width))


@st.composite
def datasets(draw, classification: bool):
    dtype = np.dtype(draw(st.sampled_from([np.float32, np.float64])))
    n = draw(st.integers(1, 25))
    d = draw(st.integers(1, 4))
    X = draw(hnp.arrays(dtype, (n, d), elements=_elements(dtype)))
    column_scales = draw(st.lists(st.sampled_from(SCALES), min_size=d, max_size=d))
    with np.errstate(all="ignore"):
        X = (X * np.asarray(column_scales)).astype(dtype)
    if classification:
        y = draw(hnp.arrays(np.int64, n, elements=st.integers(0, 2)))
    else:
        y = draw(hnp.arrays(dtype, n, elements=_elements(dtype)))
    return X, y


SETTINGS = st.fixed_dictionaries(
    {
        "optimizer": st.sampled_from(["sgd", "momentum", "nesterov", "adagrad", "rmsprop", "adam"]),
        "learning_rate": st.sampled_from([1e-6, 0.01, 0.5, 10.0, 1e6]),
        "batch_size": st.sampled_from([None, 1, 4]),
        "standardize": st.booleans(),
        "max_iter": st.integers(1, 6),
        "clip_norm": st.sampled_from([None, 1.0]),
        "penalty": st.sampled_from([None, "l2", "elasticnet"]),
    }
)


def _fit_or_clear_error(model, X, y) -> str:
    """Fit with every warning an error; return the outcome, or fail on anything unexplained."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("error")
        warnings.simplefilter("always", ConvergenceWarning)
        try:
            model.fit(X, y)
        except DivergenceError as error:
            assert "diverged in epoch" in str(error) and "Try:" in str(error)
            assert not hasattr(model, "coef_")
            return "diverged"
        except ValueError as error:
            assert len(str(error)) > 20  # a sentence, not a bare NumPy message
            return "refused"
    assert np.all(np.isfinite(model.coef_)) and np.all(np.isfinite(model.intercept_))
    assert np.all(np.isfinite(model._train_state.params))
    if caught:  # a ConvergenceWarning: the model may be poor, but the user was told
        return "warned"
    # no warning: a useful model, one whose loss ended no higher than where it started
    curve = model.loss_curve_
    assert curve[-1] <= curve[0] * (1 + 1e-6) + 1e-12, curve
    return "fitted"


@settings(suppress_health_check=SLOW)
@given(data=datasets(classification=False), options=SETTINGS, loss=st.sampled_from(
    ["squared_error", "huber"]))  # fmt: skip
def test_regressor_gives_finite_parameters_or_a_clear_error(data, options, loss) -> None:
    X, y = data
    model = gdlab.GDRegressor(loss=loss, random_state=0, **options)
    outcome = _fit_or_clear_error(model, X, y)
    if outcome == "fitted":
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            assert model.predict(X).shape == y.shape
    COUNTS[f"regressor_{outcome}"] += 1


@settings(suppress_health_check=SLOW)
@given(data=datasets(classification=True), options=SETTINGS, loss=st.sampled_from(
    ["log_loss", "hinge"]))  # fmt: skip
def test_classifier_gives_finite_parameters_or_a_clear_error(data, options, loss) -> None:
    X, y = data
    model = gdlab.GDClassifier(loss=loss, random_state=0, **options)
    outcome = _fit_or_clear_error(model, X, y)
    if outcome == "fitted":
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            assert set(model.predict(X)) <= set(model.classes_)
    COUNTS[f"classifier_{outcome}"] += 1


FUNCTIONS = {
    "bowl": (lambda x, s: float(s * np.sum(x * x)), lambda x, s: 2 * s * x),
    "rosenbrock": (
        lambda x, s: float(s * np.sum(100 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2)),
        None,
    ),
    "exp": (lambda x, s: float(np.sum(np.exp(s * x))), lambda x, s: s * np.exp(s * x)),
    "unbounded": (lambda x, s: float(-s * np.sum(x**4)), lambda x, s: -4 * s * x**3),
    "log": (lambda x, s: float(np.sum(np.log(x * x + s))), None),
}


@settings(suppress_health_check=SLOW)
@given(
    name=st.sampled_from(sorted(FUNCTIONS)),
    scale=st.sampled_from([1e-100, 1e-3, 1.0, 1e3, 1e100]),
    x0=hnp.arrays(np.float64, st.integers(2, 3), elements=_elements(np.dtype(np.float64))),
    optimizer=st.sampled_from(["sgd", "momentum", "adam", "rmsprop", "pid"]),
    rate=st.sampled_from([1e-8, 1e-3, 0.1, 10.0, 1e8]),
    numeric_gradient=st.booleans(),
)
def test_minimize_gives_finite_x_or_a_clear_error(
    name, scale, x0, optimizer, rate, numeric_gradient
) -> None:
    fun, jac = FUNCTIONS[name]
    gradient = None if numeric_gradient or jac is None else (lambda x: jac(x, scale))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        try:
            result = gdlab.minimize(
                lambda x: fun(x, scale), x0, jac=gradient,
                optimizer=optim.get(optimizer, rate), max_iter=30,
            )  # fmt: skip
        except DivergenceError as error:
            assert "diverged in iteration" in str(error)
            COUNTS["minimize_diverged"] += 1
            return
        except ValueError as error:
            assert "is not finite" in str(error) or "x0" in str(error), str(error)
            COUNTS["minimize_refused"] += 1
            return
    assert np.all(np.isfinite(result.x)) and math.isfinite(result.fun)
    COUNTS["minimize_finished"] += 1


# ---- files through the command line --------------------------------------------------------------
def _run_fit(path: Path, *extra: str):
    from click.testing import CliRunner

    from gdlab.cli import cli

    return CliRunner().invoke(cli, ["fit", str(path), "--target", "y", "--epochs", "3", *extra])


def _assert_one_line_exit_2(result, what: str) -> None:
    assert result.exit_code == 2, (what, result.output)
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("gdlab: error: "), (what, result.stderr)
    assert "Traceback" not in result.output


@settings(suppress_health_check=SLOW, max_examples=40)
@given(content=st.binary(max_size=400), suffix=st.sampled_from([".csv", ".parquet", ".txt"]))
def test_random_bytes_end_with_exit_code_2(tmp_path_factory, content, suffix) -> None:
    path = tmp_path_factory.mktemp("bytes") / f"data{suffix}"
    path.write_bytes(content)
    _assert_one_line_exit_2(_run_fit(path), content)
    COUNTS["random_bytes_files"] += 1


CELL = st.one_of(
    st.text(max_size=6),
    st.sampled_from(["", "NaN", "inf", "-inf", "1e999", "1,5", '"', "x", "\x00", "é", "  "]),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
)


@st.composite
def malformed_csv(draw) -> str:
    """A CSV that is broken in at least one way a user's file can be."""
    n_features = draw(st.integers(0, 3))
    names = [f"x{i}" for i in range(n_features)]
    kind = draw(st.sampled_from(["text", "ragged", "no_target", "no_rows", "nan"]))
    header = [*names, "y"] if kind != "no_target" else [*names, "z"]
    rows = [
        [f"{draw(st.floats(-5, 5)):.3f}" for _ in header] for _ in range(draw(st.integers(2, 6)))
    ]
    if kind == "no_rows":
        rows = []
    elif kind == "ragged":
        rows[draw(st.integers(0, len(rows) - 1))].extend(["1", "2"])
    elif kind == "text":
        row = draw(st.integers(0, len(rows) - 1))
        # text in a feature column (text in the target would make a valid classification task)
        rows[row][draw(st.integers(0, max(0, len(names) - 1)))] = draw(
            st.text(alphabet="abcxyz?!", min_size=1, max_size=5)
        )
    elif kind == "nan":
        rows = [[draw(st.sampled_from(["nan", "", "inf"])) for _ in header] for _ in rows]
    return "\n".join(",".join(row) for row in [header, *rows]) + draw(st.sampled_from(["", "\n"]))


@settings(suppress_health_check=SLOW, max_examples=40)
@given(text=malformed_csv())
def test_malformed_csv_ends_with_exit_code_2(tmp_path_factory, text) -> None:
    path = tmp_path_factory.mktemp("csv") / "data.csv"
    path.write_text(text)
    _assert_one_line_exit_2(_run_fit(path), text)
    COUNTS["malformed_csv_files"] += 1


def _parquet_bytes(frame) -> bytes:
    buffer = io.BytesIO()
    frame.to_parquet(buffer)
    return buffer.getvalue()


@settings(suppress_health_check=SLOW, max_examples=30)
@given(cut=st.floats(0.0, 0.999), garbage=st.binary(max_size=64), mode=st.sampled_from(
    ["truncate", "garbage_inside_magic", "tail_garbage"]))  # fmt: skip
def test_malformed_parquet_ends_with_exit_code_2(tmp_path_factory, cut, garbage, mode) -> None:
    pd = pytest.importorskip("pandas")
    pytest.importorskip("pyarrow")
    good = _parquet_bytes(pd.DataFrame({"x": np.arange(6.0), "y": np.arange(6.0) * 2}))
    if mode == "truncate":
        content = good[: int(cut * len(good))]
    elif mode == "garbage_inside_magic":
        content = b"PAR1" + garbage + b"PAR1"
    else:
        content = good[:-8] + garbage  # the footer's length and magic replaced
        assume(content[-4:] != b"PAR1")
    path = tmp_path_factory.mktemp("parquet") / "data.parquet"
    path.write_bytes(content)
    _assert_one_line_exit_2(_run_fit(path), mode)
    COUNTS["malformed_parquet_files"] += 1


@pytest.mark.parametrize(
    ("frame", "what"),
    [
        ({"x": ["a", "b", "c"], "y": [1.0, 2.0, 3.0]}, "text feature"),
        ({"x": [1.0, 2.0, 3.0], "z": [1.0, 2.0, 3.0]}, "missing target"),
        ({"x": [[1.0], [2.0], [3.0]], "y": [1.0, 2.0, 3.0]}, "nested lists"),
        ({"x": [], "y": []}, "no rows"),
        ({"x": [1.0, None, 3.0], "y": [1.0, 2.0, None]}, "missing values"),
    ],
)
def test_parquet_with_a_wrong_schema_ends_with_exit_code_2(tmp_path, frame, what) -> None:
    pd = pytest.importorskip("pandas")
    pytest.importorskip("pyarrow")
    path = tmp_path / "data.parquet"
    path.write_bytes(_parquet_bytes(pd.DataFrame(frame)))
    _assert_one_line_exit_2(_run_fit(path), what)
    COUNTS["wrong_schema_parquet_files"] += 1
