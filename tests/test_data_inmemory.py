"""gdlab.data.inmemory: a file read straight into one float64 matrix gives what the pandas path
gave (same numbers bit for bit, names, target, task, notes), hands every unusual file to the
pandas path (whose error messages other tests pin), and peaks at no more than 1.5x the numbers."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from gdlab.cli._data import Dataset
from gdlab.data._files import id_like_columns, infer_task, read_table, split_xy
from gdlab.data.inmemory import read_xy


def _frame(n=300, seed=0):
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "id": np.arange(1, n + 1),
            "a": rng.normal(size=n),
            "b": rng.integers(-5, 5, size=n),
            "flag": rng.random(n) > 0.5,
            "c": rng.normal(size=n).astype(np.float32),
            "y": rng.normal(size=n) * 3 + 1,
            "label": rng.choice(["cat", "dog", "eel"], size=n),
            "k": rng.integers(0, 3, size=n),
        }
    )


def _write(frame, path):
    if path.suffix == ".parquet":
        frame.to_parquet(path, index=False, row_group_size=70)  # several row groups
    else:
        frame.to_csv(path, index=False, compression="infer")
    return path


def _oracle(path, target, task="auto", features=None, exclude=()):
    """What the pandas path (read_table + split_xy) gives."""
    frame = read_table(path)
    task = infer_task(frame[target])[0] if task == "auto" else task
    X, y, names = split_xy(frame, target, task, features=features, exclude=exclude)
    return X, y, names, task, id_like_columns(frame, names)


CASES = [
    ("y", None, ("label",)),
    ("label", None, ("y",)),
    ("k", ["a", "c", "flag"], ()),
    ("y", ["b", "a", "b"], ()),
]


@pytest.mark.parametrize("name", ["d.csv", "d.parquet", "d.csv.gz", "d.tsv"])
@pytest.mark.parametrize(("target", "features", "exclude"), CASES)
def test_same_numbers_names_target_and_notes_as_the_pandas_path(
    tmp_path, name, target, features, exclude
):
    frame = _frame()
    if name.endswith(".tsv"):
        path = tmp_path / name
        frame.to_csv(path, index=False, sep="\t")
    else:
        path = _write(frame, tmp_path / name)
    table = read_xy(path, target, features=features, exclude=exclude)
    assert table is not None
    X, y, names, task, id_like = _oracle(path, target, features=features, exclude=exclude)
    assert table.X.tobytes() == X.tobytes() and table.X.shape == X.shape
    assert table.X.flags.c_contiguous and table.X.dtype == np.float64
    assert table.names == names and table.id_like == id_like
    assert infer_task(table.target) == infer_task(read_table(path)[target])
    data = Dataset(
        path, target, "auto", ",".join(features) if features else None, ",".join(exclude) or None
    )
    assert data.task == task and data.feature_names == names
    np.testing.assert_array_equal(data.y, y)
    assert data.y.dtype == y.dtype


def test_a_csv_bigger_than_one_read_block_and_without_a_last_line_end(tmp_path):
    frame = _frame(n=120_000, seed=1)[["id", "a", "b", "y"]]
    path = tmp_path / "big.csv"
    path.write_text(frame.to_csv(index=False).rstrip("\n"))
    table = read_xy(path, "y")
    X, y, _, _, id_like = _oracle(path, "y")
    assert table is not None and table.X.tobytes() == X.tobytes()
    assert id_like == table.id_like == ["id"]
    np.testing.assert_array_equal(table.target.to_numpy(), y)


UNUSUAL = {
    "text feature": "x,y\n1,2\nfoo,3\n2,4\n",
    "missing feature": "x,y\n1,2\n,3\n2,4\n",
    "infinite feature": "x,y\n1,2\ninf,3\n2,4\n",
    "nan feature": "x,y\n1,2\nnan,3\n2,4\n",
    "repeated name": "x,x,y\n1,2,3\n4,5,6\n",
    "empty name": ",x,y\n1,2,3\n4,5,6\n",
    "one row": "x,y\n1,2\n",
    "header only": "x,y\n",
    "ragged row": "x,y\n1,2\n3,4,5\n",
    "dates": "x,y\n2020-01-01,2\n2020-01-02,3\n2020-01-03,3\n",
}


@pytest.mark.parametrize("case", sorted(UNUSUAL))
def test_unusual_files_go_to_the_pandas_path(tmp_path, case):
    path = tmp_path / "d.csv"
    path.write_text(UNUSUAL[case])
    assert read_xy(path, "y") is None


def test_missing_columns_and_bad_files_go_to_the_pandas_path(tmp_path):
    path = _write(_frame(), tmp_path / "d.parquet")
    assert read_xy(path, "nope") is None
    assert read_xy(path, "y", features=["a", "nope"]) is None
    assert read_xy(path, "y", exclude=["nope"]) is None
    assert read_xy(path, "y", features=["a", "y"]) is None
    broken = tmp_path / "broken.parquet"
    broken.write_bytes(b"PAR1 not really")
    assert read_xy(broken, "y") is None
    assert read_xy(tmp_path / "absent.csv", "y") is None
    indexed = tmp_path / "indexed.parquet"
    _frame().set_index("label").to_parquet(indexed)  # pandas reads "label" as the index
    assert read_xy(indexed, "y") is None


def test_errors_of_the_command_line_are_those_of_the_pandas_path(tmp_path):
    path = tmp_path / "d.csv"
    path.write_text("x,y\n1,2\nfoo,3\n2,4\n")
    with pytest.raises(ValueError, match=r"column 'x' is not numeric: row 2 holds 'foo'"):
        Dataset(path, "y")
    good = _write(_frame(), tmp_path / "g.csv")
    with pytest.raises(ValueError, match=r"target column 'label' is not numeric"):
        Dataset(good, "label", "regression", exclude="y")


def test_defaults_of_a_fit_from_a_file_are_those_of_the_pandas_path(tmp_path):
    from gdlab import GDRegressor

    path = _write(_frame(), tmp_path / "d.parquet")
    data = Dataset(path, "y", exclude="label")
    X, y, *_ = _oracle(path, "y", exclude=("label",))
    # the defaults but a seed (without one, the shuffled default fit differs from run to run)
    a = GDRegressor(random_state=0).fit(data.X, data.y)
    b = GDRegressor(random_state=0).fit(X, y)
    assert a.coef_.tobytes() == b.coef_.tobytes() and a.intercept_ == b.intercept_


LOAD = """
import json, sys
from pathlib import Path
from gdlab.data.synthetic import peak_rss_bytes
import gdlab.cli._data, pyarrow.parquet, pyarrow.csv, pandas, numpy  # imports before the baseline
base = peak_rss_bytes()
data = gdlab.cli._data.Dataset(Path(sys.argv[1]), "y")
print(json.dumps({"base": base, "peak": peak_rss_bytes(), "numbers": data.X.nbytes + data.y.nbytes,
                  "sum": float(data.X.sum())}))
"""


def _load_peak(path):
    out = subprocess.run(
        [sys.executable, "-c", LOAD, str(path)],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"},
    )
    return json.loads(out.stdout)


@pytest.mark.slow
@pytest.mark.parametrize("suffix", [".parquet", ".csv"])
def test_loading_a_file_peaks_at_most_1_5x_the_numbers(tmp_path, suffix):
    from gdlab.data.synthetic import write_regression_parquet

    path = write_regression_parquet(tmp_path / "d.parquet", 400_000, 20)  # 67 MB of numbers
    if suffix == ".csv":
        import pyarrow.csv as pcsv
        import pyarrow.parquet as pq

        csv_path = tmp_path / "d.csv"
        pcsv.write_csv(pq.read_table(path), csv_path)
        path.unlink()
        path = csv_path
    got = _load_peak(path)
    ratio = (got["peak"] - got["base"]) / got["numbers"]
    assert got["numbers"] == 400_000 * 21 * 8
    assert ratio <= 1.5, f"loading peaked at {ratio:.2f}x the numbers"
    assert np.isfinite(got["sum"])
