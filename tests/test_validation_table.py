"""The input validation table of issue 5: one test per row, each with the message it must give.

Decisions recorded here:
- constant features with ``standardize=True`` are accepted, as scikit-learn's StandardScaler does:
  their scale is 1, their coefficient 0, and no warning is raised;
- sparse input is refused with scikit-learn's TypeError, which names sparse data and ``.toarray()``;
- text in a numeric column names the column and the first bad row.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp

import gdlab

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")

RNG = np.random.default_rng(3)
X = RNG.normal(size=(30, 2))
Y = X @ [1.0, 2.0] + 0.5
LABELS = (Y > 0.5).astype(int)
ESTIMATORS = {
    "regressor": (lambda **k: gdlab.GDRegressor(max_iter=5, random_state=0, **k), Y),
    "classifier": (lambda **k: gdlab.GDClassifier(max_iter=5, random_state=0, **k), LABELS),
}
BOTH = pytest.mark.parametrize("kind", sorted(ESTIMATORS))


def _with(array, row, column, value):
    out = np.array(array, dtype=float)
    out[row, column] = value
    return out


@BOTH
@pytest.mark.parametrize(
    ("value", "match"), [(np.nan, "Input X contains NaN"), (np.inf, "Input X contains infinity")]
)
def test_non_finite_features(kind, value, match) -> None:
    make, y = ESTIMATORS[kind]
    with pytest.raises(ValueError, match=match):
        make().fit(_with(X, 4, 1, value), y)
    model = make().fit(X, y)
    with pytest.raises(ValueError, match=match):
        model.predict(_with(X, 0, 0, value))


@pytest.mark.parametrize(
    ("value", "match"), [(np.nan, "Input y contains NaN"), (-np.inf, "Input y contains infinity")]
)
def test_non_finite_targets(value, match) -> None:
    y = Y.copy()
    y[7] = value
    with pytest.raises(ValueError, match=match):
        gdlab.GDRegressor().fit(X, y)
    with pytest.raises(ValueError, match="Input y contains NaN"):
        gdlab.GDClassifier().fit(X, np.where(LABELS > 0, np.nan, 0.0))


def test_text_in_numeric_columns_names_column_and_row() -> None:
    pd = pytest.importorskip("pandas")
    frame = pd.DataFrame(X, columns=["size", "price"]).astype(object)
    frame.loc[5, "price"] = "n/a"
    with pytest.raises(ValueError, match=r"column 'price' at row 5: 'n/a' is not a number"):
        gdlab.GDRegressor().fit(frame, Y)
    table = np.array(X, dtype=object)
    table[2, 0] = "abc"
    with pytest.raises(ValueError, match=r"column 0 at row 2: 'abc' is not a number"):
        gdlab.GDClassifier().fit(table, LABELS)
    model = gdlab.GDRegressor(max_iter=2).fit(X, Y)
    with pytest.raises(ValueError, match=r"column 0 at row 2"):
        model.predict(table)
    text_y = Y.astype(str)
    text_y[9] = "twelve"
    with pytest.raises(ValueError, match=r"y has text at row 9: 'twelve' is not a number"):
        gdlab.GDRegressor().fit(X, text_y)


def test_text_in_a_data_file_names_file_column_and_row(tmp_path: Path) -> None:
    datafiles = pytest.importorskip("gdlab.data._files")
    path = tmp_path / "data.csv"
    path.write_text("size,price,y\n1,2,3\n4,oops,6\n7,8,9\n")
    with pytest.raises(ValueError, match=r"price") as info:
        frame = datafiles.read_table(path)
        datafiles.split_xy(frame, "y")
    assert "oops" in str(info.value) or "row" in str(info.value)


@BOTH
def test_empty_data(kind) -> None:
    make, _ = ESTIMATORS[kind]
    with pytest.raises(ValueError, match=r"Found array with 0 sample\(s\)"):
        make().fit(np.empty((0, 2)), np.empty(0))
    with pytest.raises(ValueError, match=r"0 feature\(s\)"):
        make().fit(np.empty((5, 0)), np.arange(5) % 2)


def test_one_sample() -> None:
    model = gdlab.GDRegressor(max_iter=5).fit(X[:1], Y[:1])
    assert np.all(np.isfinite(model.coef_))
    np.testing.assert_allclose(model.predict(X[:1]), Y[:1])  # the intercept starts at mean(y)
    with pytest.raises(ValueError, match="needs samples of at least 2 classes"):
        gdlab.GDClassifier().fit(X[:1], LABELS[:1])
    with pytest.raises(ValueError, match="early_stopping needs at least one training"):
        gdlab.GDRegressor(early_stopping=True).fit(X[:1], Y[:1])


def test_one_class_for_a_classifier() -> None:
    with pytest.raises(ValueError, match=r"needs samples of at least 2 classes.*got 1 class"):
        gdlab.GDClassifier().fit(X, np.full(len(X), "spam"))


@BOTH
def test_mismatched_lengths(kind) -> None:
    make, y = ESTIMATORS[kind]
    with pytest.raises(ValueError, match=r"inconsistent numbers of samples: \[30, 29\]"):
        make().fit(X, y[:-1])
    with pytest.raises(ValueError, match=r"sample_weight.shape == \(3,\), expected \(30,\)"):
        make().fit(X, y, sample_weight=[1.0, 2.0, 3.0])


@BOTH
def test_wrong_number_of_features_at_predict(kind) -> None:
    make, y = ESTIMATORS[kind]
    model = make().fit(X, y)
    methods = ["predict", "score"] + (
        ["predict_proba", "decision_function"] * (kind != "regressor")
    )
    for method in methods:
        args = (np.hstack([X, X]), y) if method == "score" else (np.hstack([X, X]),)
        with pytest.raises(ValueError, match=r"X has 4 features, but .* is expecting 2 features"):
            getattr(model, method)(*args)


def test_constant_feature_with_standardize_is_accepted_like_standard_scaler() -> None:
    constant = np.column_stack([X, np.full(len(X), 5.0)])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        model = gdlab.GDRegressor(standardize=True, max_iter=50, tol=None, random_state=0)
        model.fit(constant, Y)
    assert model._x_scale[2] == 1.0
    assert model.coef_[2] == 0.0
    reference = gdlab.GDRegressor(standardize=True, max_iter=50, tol=None, random_state=0)
    reference.fit(X, Y)
    np.testing.assert_allclose(model.coef_[:2], reference.coef_, rtol=1e-12)
    np.testing.assert_allclose(model.intercept_, reference.intercept_, rtol=1e-12)


def test_integer_and_boolean_targets() -> None:
    ints = np.round(3 * Y).astype(np.int64)
    as_int = gdlab.GDRegressor(max_iter=5, random_state=0).fit(X, ints)
    as_float = gdlab.GDRegressor(max_iter=5, random_state=0).fit(X, ints.astype(float))
    np.testing.assert_array_equal(as_int.coef_, as_float.coef_)
    assert as_int.coef_.dtype == np.float64
    flags = LABELS.astype(bool)
    clf = gdlab.GDClassifier(max_iter=5, random_state=0).fit(X, flags)
    assert clf.classes_.tolist() == [False, True]
    assert clf.predict(X).dtype == bool
    numeric = gdlab.GDClassifier(max_iter=5, random_state=0).fit(X, LABELS)
    np.testing.assert_array_equal(clf.coef_, numeric.coef_)
    reg = gdlab.GDRegressor(max_iter=5, random_state=0).fit(X, flags)  # bools as 0/1 numbers
    np.testing.assert_array_equal(
        reg.coef_, gdlab.GDRegressor(max_iter=5, random_state=0).fit(X, LABELS * 1.0).coef_
    )


@BOTH
def test_sparse_input_gives_the_dense_numbers(kind) -> None:
    """CSR and CSC are taken since issue 10 (tests/test_sparse_input.py checks every optimizer)."""
    make, y = ESTIMATORS[kind]
    dense = make(backend="numpy", standardize=False).fit(X, y)  # sparse scaling does not centre
    for matrix in (sp.csr_matrix(X), sp.csc_array(X)):
        model = make(backend="numpy", standardize=False).fit(matrix, y)
        np.testing.assert_allclose(model.coef_, dense.coef_, rtol=1e-12)
        if kind == "classifier":
            np.testing.assert_array_equal(model.predict(matrix), dense.predict(X))
        else:
            np.testing.assert_allclose(model.predict(matrix), dense.predict(X), rtol=1e-12)


@BOTH
def test_pandas_frames(kind) -> None:
    pd = pytest.importorskip("pandas")
    make, y = ESTIMATORS[kind]
    frame = pd.DataFrame(X, columns=["size", "age"])
    model = make().fit(frame, pd.Series(y))
    assert model.feature_names_in_.tolist() == ["size", "age"]
    np.testing.assert_allclose(model.predict(frame), make().fit(X, y).predict(X), rtol=1e-12)
    with pytest.raises(ValueError, match="feature names should match"):
        model.predict(frame.rename(columns={"age": "weight"}))
    with pytest.raises(ValueError, match="same order as they were in fit"):
        model.predict(frame[["age", "size"]])
    with pytest.warns(UserWarning, match="fitted without feature names"):
        make().fit(X, y).predict(frame)
    missing = frame.astype("Float64")
    missing.iloc[3, 0] = pd.NA
    with pytest.raises(ValueError, match="Input X contains NaN"):
        make().fit(missing, y)


@BOTH
def test_polars_frames(kind) -> None:
    pl = pytest.importorskip("polars", reason="polars is in the test extra")
    make, y = ESTIMATORS[kind]
    frame = pl.DataFrame({"size": X[:, 0], "age": X[:, 1]})
    model = make().fit(frame, pl.Series("y", y))
    assert model.feature_names_in_.tolist() == ["size", "age"]
    np.testing.assert_allclose(model.predict(frame), make().fit(X, y).predict(X), rtol=1e-12)
    with pytest.raises(ValueError, match="feature names should match"):
        model.predict(frame.rename({"age": "weight"}))
    ages = [str(v) for v in X[:, 1]]
    ages[3] = "none"
    text = frame.with_columns(pl.Series("age", ages))
    with pytest.raises(ValueError, match=r"column 'age' at row 3"):
        make().fit(text, y)


@BOTH
def test_read_only_and_memory_mapped_arrays(kind, tmp_path: Path) -> None:
    make, y = ESTIMATORS[kind]
    expected = make().fit(X, y)
    frozen_X, frozen_y = X.copy(), np.array(y)
    frozen_X.setflags(write=False)
    frozen_y.setflags(write=False)
    model = make(standardize=True).fit(frozen_X, frozen_y)
    assert np.all(np.isfinite(model.coef_))
    np.testing.assert_array_equal(make().fit(frozen_X, frozen_y).coef_, expected.coef_)
    np.testing.assert_array_equal(frozen_X, X)  # never written to
    path = tmp_path / "X.dat"
    writer = np.memmap(path, dtype=np.float64, mode="w+", shape=X.shape)
    writer[:] = X
    writer.flush()
    mapped = np.memmap(path, dtype=np.float64, mode="r", shape=X.shape)
    model = make().fit(mapped, y)
    np.testing.assert_array_equal(model.coef_, expected.coef_)
    np.testing.assert_array_equal(model.predict(mapped), expected.predict(X))


@pytest.mark.parametrize(
    ("X_bad", "y_bad", "match"),
    [
        (X[:, 0], Y, "Expected 2D array, got 1D array"),
        (X[:, :, None], Y, "Found array with dim 3"),
        (X + 0j, Y, "Complex data not supported"),
    ],
)
def test_shapes_and_kinds_of_arrays(X_bad, y_bad, match) -> None:
    with pytest.raises(ValueError, match=match):
        gdlab.GDRegressor().fit(X_bad, y_bad)


def test_two_target_columns_need_a_multi_output_loss() -> None:
    """2-D targets are multi-output regression, except for the Poisson loss (one count column)."""
    assert gdlab.GDRegressor(max_iter=2).fit(X, np.column_stack([Y, Y])).coef_.shape[0] == 2
    with pytest.raises(ValueError, match="y should be a 1d array"):
        gdlab.GDRegressor(loss="poisson").fit(X, np.column_stack([Y, Y]) ** 2)


def test_continuous_target_for_a_classifier() -> None:
    with pytest.raises(ValueError, match="Unknown label type: continuous"):
        gdlab.GDClassifier().fit(X, Y)


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"x0": [np.nan, 1.0]}, ValueError, "x0 contains NaN"),
        ({"x0": []}, ValueError, "x0 is empty"),
        ({"x0": ["a"]}, ValueError, "x0 must be an array of real numbers"),
        ({"fun": "x ** 2"}, TypeError, "fun must be callable"),
        ({"fun": lambda x: np.inf}, ValueError, r"fun\(x0\) is not finite"),
        ({"fun": lambda x: x}, ValueError, "fun must return a scalar"),
        ({"jac": lambda x: np.ones(3)}, ValueError, r"jac returned an array of shape \(3,\)"),
        ({"max_iter": 0}, ValueError, "max_iter must be an int >= 1"),
    ],
)
def test_minimize_inputs(kwargs, error, match) -> None:
    arguments = {"fun": lambda x: float(np.sum(x**2)), "x0": [1.0, 2.0], **kwargs}
    fun, x0 = arguments.pop("fun"), arguments.pop("x0")
    with pytest.raises(error, match=match):
        gdlab.minimize(fun, x0, **arguments)
