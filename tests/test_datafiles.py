"""Reading CSV/Parquet files and splitting them into X and y, with errors that name the problem."""

from __future__ import annotations

import gzip

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from gdlab.data._files import (
    MAX_AUTO_CLASSES,
    feature_matrix,
    infer_task,
    read_table,
    split_xy,
    table_format,
    write_table,
)
from gdlab.exceptions import DataError, GDLabError

FRAME = pd.DataFrame(
    {"x1": [0.5, 1.0, 2.0, 3.5], "x2": [1, 2, 3, 4], "label": ["a", "b", "a", "b"]}
)


@pytest.fixture
def csv_file(tmp_path):
    path = tmp_path / "data.csv"
    FRAME.to_csv(path, index=False)
    return path


# ---- read_table -------------------------------------------------------------------------------


def test_read_csv_and_parquet_give_the_written_values(tmp_path, csv_file):
    parquet = tmp_path / "data.parquet"
    FRAME.to_parquet(parquet, index=False)
    for path in (csv_file, parquet):
        frame = read_table(path)
        assert list(frame.columns) == ["x1", "x2", "label"]
        np.testing.assert_array_equal(frame["x1"].to_numpy(), FRAME["x1"].to_numpy())
        assert list(frame["label"]) == ["a", "b", "a", "b"]


@pytest.mark.parametrize(
    ("name", "text"),
    [
        ("semi.csv", "x1;x2\n1,5;2\n3;4\n"),
        ("tabs.tsv", "x1\tx2\n1.5\t2\n3\t4\n"),
        ("bars.txt", "x1|x2\n1.5|2\n3|4\n"),
    ],
)
def test_the_delimiter_is_detected(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text)
    frame = read_table(path)
    assert list(frame.columns) == ["x1", "x2"]
    assert frame.shape == (2, 2)


def test_compressed_csv_is_read(tmp_path):
    path = tmp_path / "data.csv.gz"
    with gzip.open(path, "wt") as handle:
        handle.write("x,y\n1,2\n3,4\n")
    assert read_table(path)["y"].tolist() == [2, 4]


def test_parquet_content_wins_over_a_csv_name(tmp_path):
    path = tmp_path / "really_parquet.csv"
    FRAME.to_parquet(path, index=False)
    assert read_table(path).shape == FRAME.shape


@pytest.mark.parametrize(
    ("name", "content", "expected"),
    [
        ("missing.csv", None, "no such file"),
        ("empty.csv", b"", "the file is empty"),
        ("header.csv", b"x,y\n", "no data rows"),
        ("blank.csv", b"\n\n", "no columns"),
        ("garbage.csv", bytes(range(256)) * 4, "binary file"),
        ("latin1.csv", "x,name\n1,caf\xe9\n".encode("latin-1"), "not UTF-8"),
        ("data.xlsx", b"x,y\n1,2\n", "unknown file type ('.xlsx')"),
        ("noext", b"x,y\n1,2\n", "unknown file type (no extension)"),
        ("text.parquet", b"x,y\n1,2\n", "not a Parquet file"),
        ("cut.parquet", b"PAR1\x00\x01\x02garbage", "cannot be read as Parquet"),
    ],
)
def test_read_errors_name_the_file(tmp_path, name, content, expected):
    path = tmp_path / name
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(DataError, match="^" + str(path).replace("\\", "\\\\")) as info:
        read_table(path)
    assert expected in str(info.value)


def test_a_directory_is_refused(tmp_path):
    with pytest.raises(DataError, match="is a directory"):
        read_table(tmp_path)


@pytest.mark.parametrize(
    ("name", "text", "expected"),
    [
        ("dup.csv", "x,y,y\n1,2,3\n4,5,6\n", "'y' (columns 2 and 3)"),
        ("dup.tsv", "y\tx\ty\n1\t2\t3\n", "'y' (columns 1 and 3)"),
        ("two.csv", "a,b,a,b\n1,2,3,4\n", "'a' (columns 1 and 3), 'b' (columns 2 and 4)"),
    ],
)
def test_a_repeated_column_name_is_refused_not_renamed(tmp_path, name, text, expected):
    path = tmp_path / name
    path.write_text(text)
    with pytest.raises(DataError, match="same name to more than one column") as info:
        read_table(path)
    assert str(info.value).startswith(str(path))
    assert expected in str(info.value)


def test_a_real_dotted_column_name_is_kept(tmp_path):
    path = tmp_path / "dotted.csv"
    path.write_text("y,y.1,x.2\n1,2,3\n")
    assert list(read_table(path).columns) == ["y", "y.1", "x.2"]


def test_truncated_parquet_is_refused(tmp_path):
    path = tmp_path / "cut.parquet"
    FRAME.to_parquet(path, index=False)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(DataError, match="cannot be read as Parquet"):
        read_table(path)


def test_data_error_is_a_value_error_and_a_gdlab_error():
    assert issubclass(DataError, ValueError)
    assert issubclass(DataError, GDLabError)


@given(st.binary(min_size=1, max_size=300))
def test_random_bytes_give_a_frame_or_a_data_error(tmp_path_factory, content):
    path = tmp_path_factory.mktemp("fuzz") / "fuzz.csv"
    path.write_bytes(content)
    try:
        frame = read_table(path)
    except DataError as error:
        assert str(path) in str(error)
    else:
        assert frame.shape[0] >= 1 and frame.shape[1] >= 1


# ---- write_table -------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["out.csv", "out.parquet", "out.tsv"])
def test_write_then_read_round_trips(tmp_path, name):
    path = write_table(FRAME, tmp_path / name)
    back = read_table(path)
    np.testing.assert_array_equal(back["x1"].to_numpy(), FRAME["x1"].to_numpy())
    assert list(back["label"]) == list(FRAME["label"])


def test_write_errors(tmp_path):
    with pytest.raises(DataError, match="unknown file type"):
        write_table(FRAME, tmp_path / "out.json")
    with pytest.raises(DataError, match="does not exist"):
        write_table(FRAME, tmp_path / "nowhere" / "out.csv")


def test_table_format():
    assert table_format("a.CSV") == "csv"
    assert table_format("a.tsv.bz2") == "csv"
    assert table_format("a.pq") == "parquet"


# ---- infer_task ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("values", "task"),
    [
        ([True, False, True], "classification"),
        (["cat", "dog", "cat"], "classification"),
        ([0, 1, 2, 1], "classification"),
        (list(range(MAX_AUTO_CLASSES)), "classification"),
        (list(range(MAX_AUTO_CLASSES + 1)), "regression"),
        ([0.0, 1.0, 0.0], "regression"),
        ([1.5, 2.5, 3.0], "regression"),
    ],
)
def test_infer_task_rule(values, task):
    assert infer_task(pd.Series(values))[0] == task


# ---- split_xy -----------------------------------------------------------------------------------


def test_split_returns_the_values_in_column_order():
    X, y, names = split_xy(FRAME, "label")
    assert names == ["x1", "x2"]
    assert X.dtype == np.float64 and X.flags.c_contiguous
    np.testing.assert_array_equal(X, FRAME[["x1", "x2"]].to_numpy(dtype=float))
    assert y.dtype.kind == "U" and y.tolist() == ["a", "b", "a", "b"]


def test_split_regression_target_is_float():
    _, y, names = split_xy(FRAME, "x1", features=["x2"])
    assert names == ["x2"] and y.dtype == np.float64
    np.testing.assert_array_equal(y, [0.5, 1.0, 2.0, 3.5])


def test_split_features_and_exclude():
    frame = FRAME.assign(id=[10, 11, 12, 13])
    _, _, names = split_xy(frame, "label", exclude=["id"])
    assert names == ["x1", "x2"]
    X, _, names = split_xy(frame, "label", features=["x2", "x1"])
    assert names == ["x2", "x1"]
    np.testing.assert_array_equal(X[:, 0], [1, 2, 3, 4])


def test_non_numeric_feature_names_column_row_and_value():
    frame = pd.DataFrame({"size": ["1.5", "2", "abc", "x"], "y": [1.0, 2.0, 3.0, 4.0]})
    with pytest.raises(DataError) as info:
        split_xy(frame, "y", source="houses.csv")
    message = str(info.value)
    assert message.startswith("houses.csv: ")
    assert "'size'" in message and "row 3" in message and "'abc'" in message
    assert "2 rows in all" in message


def test_numbers_stored_as_text_are_accepted():
    frame = pd.DataFrame({"size": ["1.5", "2", "-3e2"], "y": [1.0, 2.0, 3.0]})
    X, _, _ = split_xy(frame, "y")
    np.testing.assert_array_equal(X.ravel(), [1.5, 2.0, -300.0])


def test_booleans_become_zero_and_one():
    X = feature_matrix(pd.DataFrame({"b": [True, False]}), ["b"])
    np.testing.assert_array_equal(X.ravel(), [1.0, 0.0])


@pytest.mark.parametrize(
    ("column", "expected"),
    [
        ([1.0, np.nan, 3.0], "missing value (empty or NaN) in row 2"),
        ([1.0, 2.0, np.inf], "infinite value (inf) in row 3"),
        ([-np.inf, 2.0, np.inf], "infinite value (-inf) in row 1 (2 rows in all)"),
        (pd.to_datetime(["2020-01-01"] * 3), "dates or times"),
        (pd.period_range("2020", periods=3, freq="Y"), "dates or times"),
        (np.array([1 + 1j, 2, 3]), "complex numbers"),
        ([[1, 2], [3], [4]], "row 1 holds [1, 2]"),
        (pd.Categorical(["a", "b", "a"]), "row 1 holds 'a'"),
        (pd.array([1, None, 3], dtype="Int64"), "missing value (empty or NaN) in row 2"),
    ],
)
def test_bad_feature_values_name_column_and_row(column, expected):
    frame = pd.DataFrame({"f": column, "y": [1.0, 2.0, 3.0]})
    with pytest.raises(DataError, match="'f'") as info:
        split_xy(frame, "y")
    assert expected in str(info.value)


def test_missing_target_lists_the_columns():
    with pytest.raises(DataError) as info:
        split_xy(FRAME, "price", source="d.csv")
    message = str(info.value)
    assert "target column 'price' not found" in message
    assert "'x1', 'x2', 'label'" in message


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        ({"features": ["x1", "nope"]}, "feature column 'nope' not found"),
        ({"features": ["x1", "label"]}, "cannot also be a feature"),
        ({"exclude": ["x1", "x2"]}, "no feature columns"),
        ({"exclude": ["zz"]}, "excluded column 'zz' not found"),
        ({"min_rows": 5}, "has 4 rows; at least 5"),
    ],
)
def test_split_argument_errors(kwargs, expected):
    with pytest.raises(DataError, match=expected.replace("(", r"\(")):
        split_xy(FRAME, "label", **kwargs)


def test_no_rows_is_refused():
    with pytest.raises(DataError, match="no rows"):
        split_xy(FRAME.iloc[:0], "label")


def test_target_errors():
    with pytest.raises(DataError, match=r"'label' is not numeric \(row 1 holds 'a'\)"):
        split_xy(FRAME, "label", task="regression")
    with pytest.raises(DataError, match=r"non-integer value 0\.5 in row 1"):
        split_xy(FRAME, "x1", task="classification")
    with pytest.raises(DataError, match="missing label in row 2"):
        split_xy(FRAME.assign(label=["a", None, "b", "a"]), "label")
    with pytest.raises(DataError, match="missing value"):
        split_xy(FRAME.assign(x1=[1.0, np.nan, 2.0, 3.0]), "x1", features=["x2"])
    with pytest.raises(ValueError, match="task must be"):
        split_xy(FRAME, "label", task="clustering")


def test_whole_float_labels_become_integers_for_classification():
    frame = FRAME.assign(x1=[0.0, 1.0, 1.0, 2.0])
    _, y, _ = split_xy(frame, "x1", task="classification", features=["x2"])
    assert y.dtype == np.int64 and y.tolist() == [0, 1, 1, 2]
