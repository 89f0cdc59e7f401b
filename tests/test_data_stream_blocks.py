"""Streamed blocks read fast: columns copied into a reused buffer and standardized as they are
copied (bitwise the standardized copy), the next record batch decoded ahead in a thread."""

from __future__ import annotations

import threading

import numpy as np
import pyarrow as pa
import pyarrow.csv as pcsv
import pyarrow.parquet as pq
import pytest

import gdlab
from gdlab import GDClassifier, GDRegressor
from gdlab.backends import numba_available
from gdlab.backends.scan import standardized
from gdlab.data._arrow_blocks import MIN_ELEMENTS, _fill_numpy, fill_block, read_ahead, recut
from gdlab.data.sources import FileSource
from gdlab.estimators._scaled_objective import standardized_copy

needs_numba = pytest.mark.skipif(not numba_available(), reason="the compiled kernel needs Numba")

# big enough for the compiled kernel: 4,096 rows x 16 columns = MIN_ELEMENTS values a block
ROWS, COLUMNS = 4096, 16


def _hostile_columns(rng, n, d):
    """Columns of ordinary, huge, tiny, signed-zero and integer-valued numbers."""
    X = rng.normal(size=(n, d)) * rng.choice([1e-300, 1e-8, 1.0, 1e8, 1e300], size=d)
    X[:, 0] = np.where(rng.random(n) < 0.5, 0.0, -0.0)
    X[:, 1] = rng.integers(-5, 5, size=n)
    return X


def _pieces(X, starts):
    """Slice-major column pieces of ``X`` (each a contiguous copy, as Arrow hands them over)."""
    d = X.shape[1]
    return [
        np.ascontiguousarray(X[starts[s] : starts[s + 1], j])
        for s in range(len(starts) - 1)
        for j in range(d)
    ]


@pytest.mark.parametrize("compiled", [False, pytest.param(True, marks=needs_numba)])
@pytest.mark.parametrize("starts", [[0, ROWS], [0, 1, 1000, 2048, ROWS]])
def test_fill_block_is_bitwise_the_standardized_copy(compiled, starts):
    rng = np.random.default_rng(0)
    X = _hostile_columns(rng, ROWS, COLUMNS)
    mean = rng.normal(size=COLUMNS) * np.abs(X).max(axis=0)
    scale = np.abs(rng.normal(size=COLUMNS)) * np.abs(X).max(axis=0) + 1e-310
    scale[2] = 3.0  # a division that does not round to a multiplication by 1/3
    expected = (X - mean) / scale  # NumPy's rounding: the oracle
    assert np.array_equal(standardized(X, mean, scale)[0], expected)
    out = np.full_like(X, np.nan)
    fill = fill_block if compiled else _fill_numpy
    assert out.size >= MIN_ELEMENTS
    assert fill(out, _pieces(X, starts), starts, mean, scale) is True
    assert np.array_equal(out, expected)
    assert np.array_equal(np.signbit(out), np.signbit(expected))  # -0.0 stays -0.0
    copied = np.full_like(X, np.nan)
    assert fill(copied, _pieces(X, starts), starts, None, None) is True
    assert np.array_equal(copied, X) and np.array_equal(np.signbit(copied), np.signbit(X))


@pytest.mark.parametrize("compiled", [False, pytest.param(True, marks=needs_numba)])
def test_fill_block_says_when_a_value_overflows(compiled):
    X = np.zeros((ROWS, COLUMNS))
    X[7, 3] = 1.5e308
    mean, scale = np.zeros(COLUMNS), np.ones(COLUMNS)
    mean[3] = -1e308  # x - mean overflows to infinity
    out = np.empty_like(X)
    fill = fill_block if compiled else _fill_numpy
    assert fill(out, _pieces(X, [0, ROWS]), [0, ROWS], mean, scale) is False
    assert np.isinf(out[7, 3]) and np.isfinite(np.delete(out.ravel(), 7 * COLUMNS + 3)).all()


def test_recut_cuts_blocks_of_batch_rows_within_each_group():
    batch = pa.record_batch({"x": np.arange(5.0)})
    items = iter([(0, batch), (0, batch.slice(0, 2)), (0, None), (1, None), (2, batch), (2, None)])
    got = [(g, [p.column("x").to_pylist() for p in pieces]) for g, pieces in recut(items, 3)]
    assert got == [
        (0, [[0.0, 1.0, 2.0]]),
        (0, [[3.0, 4.0], [0.0]]),
        (0, [[1.0]]),
        (2, [[0.0, 1.0, 2.0]]),
        (2, [[3.0, 4.0]]),
    ]


def test_read_ahead_keeps_order_and_reads_one_item_ahead():
    made = []
    seen = []

    def items():
        for k in range(6):
            made.append(k)
            yield k

    for item in read_ahead(items()):
        seen.append(item)
        # the reading thread makes at most the next item while this one is used
        for _ in range(200):
            if len(made) > item + 1 or item == 5:
                break
            threading.Event().wait(0.005)
        assert len(made) <= item + 2
    assert seen == list(range(6))


def test_read_ahead_goes_past_markers_that_do_not_count():
    """An end-of-group marker does not use up the one item read ahead: while batch k is used,
    batch k + 1 is made even when a marker comes between them."""
    made = []

    def items():
        for k in range(4):
            made.append(k)
            yield ("batch", k)
            yield ("end", k)

    reader = read_ahead(items(), counts=lambda item: item[0] == "batch")
    assert next(reader) == ("batch", 0)
    for _ in range(400):  # the thread makes the marker, then batch 1
        if len(made) == 2:
            break
        threading.Event().wait(0.005)
    assert made == [0, 1]
    threading.Event().wait(0.05)
    assert made == [0, 1]  # and no further: one batch ahead
    assert list(reader) == [("end", 0), ("batch", 1), ("end", 1)] + [
        item for k in (2, 3) for item in (("batch", k), ("end", k))
    ]


def test_read_ahead_raises_the_readers_error_in_order_and_stops_its_thread():
    def items():
        yield 1
        yield 2
        raise OSError("disk gone")

    got = []
    with pytest.raises(OSError, match="disk gone"):
        for item in read_ahead(items()):
            got.append(item)
    assert got == [1, 2]
    assert not [t for t in threading.enumerate() if t.name == "gdlab-read-ahead"]


def test_leaving_read_ahead_early_closes_the_reader_and_the_thread():
    closed = []

    def items():
        try:
            k = 0
            while True:
                yield k
                k += 1
        finally:
            closed.append(True)

    reader = read_ahead(items())
    assert [next(reader) for _ in range(3)] == [0, 1, 2]
    reader.close()
    assert closed == [True]
    assert not [t for t in threading.enumerate() if t.name == "gdlab-read-ahead"]


@pytest.fixture(scope="module")
def wide(tmp_path_factory):
    """Two files, row groups of ROWS rows (blocks big enough for the compiled kernel), an int
    and a bool feature, a weight column; the second file ends with a short row group."""
    rng = np.random.default_rng(7)
    n = 3 * ROWS + 1500
    X = rng.normal(size=(n, COLUMNS)) * rng.uniform(0.1, 50, COLUMNS) + rng.normal(0, 20, COLUMNS)
    X[:, 0] = rng.integers(0, 100, size=n)
    X[:, 1] = rng.random(n) < 0.3
    y = X @ rng.normal(size=COLUMNS) / 10 + rng.normal(size=n)
    w = rng.uniform(0.5, 2.0, size=n)
    folder = tmp_path_factory.mktemp("wide")
    columns = {f"f{j}": X[:, j] for j in range(2, COLUMNS)}
    columns = {"count": X[:, 0].astype(np.int64), "flag": X[:, 1].astype(bool), **columns}
    table = pa.table({**columns, "y": y, "w": w})
    pq.write_table(table.slice(0, 2 * ROWS), folder / "part-0.parquet", row_group_size=ROWS)
    pq.write_table(table.slice(2 * ROWS), folder / "part-1.parquet", row_group_size=ROWS)
    return folder, X, y, w


def test_streamed_blocks_are_the_standardized_copy_of_the_rows(wide):
    folder, X, y, w = wide
    source = gdlab.data.parquet(folder, target="y", batch_rows=ROWS, weight="w")
    mean, scale = X.mean(axis=0), X.std(axis=0)
    groups = range(len(source.layout.group_rows))
    fresh = [Xb.copy() for g in groups for Xb, _ in source.group_blocks(g)]
    assert np.array_equal(np.vstack(fresh), X)
    position = 0
    buffers = set()
    for Xb, yb, wb in source.read_blocks(groups, (mean, scale), reuse=True):
        rows = slice(position, position + Xb.shape[0])
        assert np.array_equal(Xb, standardized_copy(X[rows], mean, scale))
        buffers.add(Xb.__array_interface__["data"][0])
        assert np.array_equal(yb, y[rows]) and np.array_equal(wb, w[rows])
        position += Xb.shape[0]
    assert position == X.shape[0]
    assert len(buffers) == 1  # one buffer filled block after block


def test_the_overflow_fallback_is_the_copys(tmp_path):
    X = np.zeros((ROWS, COLUMNS))
    X[5, 2], X[6, 2] = 1.5e308, -1.5e308
    pq.write_table(
        pa.table({**{f"x{j}": X[:, j] for j in range(COLUMNS)}, "y": X[:, 0]}), tmp_path / "d.pq"
    )
    source = gdlab.data.parquet(tmp_path / "d.pq", target="y", batch_rows=ROWS)
    mean, scale = np.zeros(COLUMNS), np.ones(COLUMNS)
    mean[2], scale[2] = -1e308, 1e308
    ((Xb, _, _),) = source.read_blocks([0], (mean, scale), reuse=True)
    assert np.array_equal(Xb, standardized_copy(X, mean, scale))
    assert np.all(np.isfinite(Xb))


def test_a_csv_block_made_of_several_record_batches_reads_the_same(tmp_path):
    rng = np.random.default_rng(1)
    X, y = rng.normal(size=(3 * ROWS, COLUMNS)), rng.normal(size=3 * ROWS)
    pcsv.write_csv(
        pa.table({**{f"x{j}": X[:, j] for j in range(COLUMNS)}, "y": y}), tmp_path / "d.csv"
    )
    options = {"delimiter": ",", "block_size": 1 << 16}  # record batches of ~900 rows
    source = FileSource([str(tmp_path / "d.csv")], "csv", "y", None, ROWS, options)
    assert len(list(source._csv_batches(source.paths[0], source.columns))) > 3 * 3
    mean, scale = X.mean(axis=0), X.std(axis=0)
    blocks = list(source.read_blocks([0], (mean, scale)))  # fresh arrays: they may be kept
    assert [Xb.shape[0] for Xb, _, _ in blocks] == [ROWS] * 3
    read = np.vstack([Xb for Xb, _, _ in blocks])
    assert np.array_equal(read, standardized(X, mean, scale)[0])
    assert np.array_equal(np.concatenate([yb for _, yb, _ in blocks]), y)


SETTINGS = [
    dict(batch_size=None, optimizer="nesterov", learning_rate=0.05, max_iter=4, tol=None),
    dict(batch_size=None, standardize=False, learning_rate=1e-5, max_iter=3, tol=None),
    dict(batch_size=512, optimizer="adam", max_iter=2, tol=None),
    dict(early_stopping=True, max_iter=3, n_iter_no_change=1),
    {},  # the defaults
]


@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("settings", SETTINGS)
def test_fused_streamed_fit_is_bit_identical_to_in_memory_blocks(settings, weighted, wide):
    folder, X, y, w = wide
    weight = "w" if weighted else None
    features = ["count", "flag", *(f"f{j}" for j in range(2, COLUMNS))]  # not "w"
    source = gdlab.data.parquet(folder, "y", features, batch_rows=ROWS, weight=weight)
    assert source.layout.group_rows == [ROWS, ROWS, ROWS, 1500]
    twin = gdlab.data.arrays(X, y, batch_rows=ROWS, sample_weight=w if weighted else None)
    streamed = GDRegressor(random_state=3, **settings).fit(source)
    in_memory = GDRegressor(random_state=3, **settings).fit(twin)
    assert np.array_equal(streamed.coef_, in_memory.coef_)
    assert np.array_equal(streamed.intercept_, in_memory.intercept_)
    assert streamed.loss_curve_ == in_memory.loss_curve_
    assert streamed.n_iter_ == in_memory.n_iter_


def test_fused_classifier_stream_with_default_settings_is_bit_identical(wide):
    folder, X, y, _ = wide
    labels = np.where(y > np.median(y), "high", "low")
    table = pq.read_table(folder).drop_columns(["y", "w"]).append_column("label", pa.array(labels))
    path = folder.parent / "labels.parquet"
    pq.write_table(table, path, row_group_size=ROWS)
    streamed = GDClassifier(random_state=0).fit(
        gdlab.data.parquet(path, target="label", batch_rows=ROWS)
    )
    in_memory = GDClassifier(random_state=0).fit(gdlab.data.arrays(X, labels, batch_rows=ROWS))
    assert np.array_equal(streamed.coef_, in_memory.coef_)
    assert streamed.loss_curve_ == in_memory.loss_curve_
    assert streamed.score(gdlab.data.parquet(path, target="label")) > 0.9
