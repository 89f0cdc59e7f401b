"""class_weight on a streamed source (issue 10): the labels are counted in one more pass, then
every row weighs ``class_weight[label] * sample_weight`` as in memory (scikit-learn's rule)."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

import gdlab
from gdlab import GDClassifier
from gdlab.cli import cli
from gdlab.estimators._options import class_sample_weight

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")

N, BLOCK = 600, 64
RNG = np.random.default_rng(11)
X = RNG.normal(size=(N, 3)) * [1.0, 5.0, 0.2] + [1.0, -2.0, 3.0]
SCORE = X[:, 0] + 0.2 * X[:, 1] + 0.4 * RNG.normal(size=N)
LABELS = np.select([SCORE > 1.8, SCORE < -0.8], ["rare", "low"], "mid")  # three classes, unequal
WEIGHTS = RNG.uniform(0.0, 3.0, size=N)
FULL_BATCH = dict(batch_size=None, optimizer="sgd", learning_rate=0.1, max_iter=25, tol=None)
SETTINGS = {
    "defaults": {},
    "full batch": FULL_BATCH,
    "early stopping": dict(early_stopping=True, max_iter=6, n_iter_no_change=2),
}
CLASS_WEIGHTS = {"balanced": "balanced", "dict": {"rare": 4.0, "low": 0.5}}


@pytest.fixture(scope="module")
def parquet_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("cw") / "d.parquet"
    columns = {"a": X[:, 0], "b": X[:, 1], "c": X[:, 2], "label": LABELS, "w": WEIGHTS}
    pq.write_table(pa.table(columns), path, row_group_size=2 * BLOCK)
    return path


def _file(path, weighted):
    return gdlab.data.parquet(
        path, target="label", features=["a", "b", "c"], batch_rows=BLOCK,
        weight="w" if weighted else None,
    )  # fmt: skip


@pytest.mark.parametrize("weighted", [False, True], ids=["no weights", "weight column"])
@pytest.mark.parametrize("class_weight", list(CLASS_WEIGHTS))
@pytest.mark.parametrize("setting", list(SETTINGS))
def test_class_weights_on_a_file_are_the_combined_sample_weights(
    setting, class_weight, weighted, parquet_file
):
    """Oracle: the same blocks in memory with scikit-learn's combined weights as a weight column
    (``class_weight[y] * sample_weight``): the same numbers bit for bit."""
    settings = dict(random_state=3, **SETTINGS[setting])
    chosen = CLASS_WEIGHTS[class_weight]
    streamed = GDClassifier(class_weight=chosen, **settings).fit(_file(parquet_file, weighted))
    combined = class_sample_weight(
        chosen, np.unique(LABELS), LABELS, WEIGHTS if weighted else None, np.float64
    )
    blocks = gdlab.data.arrays(
        X, LABELS, batch_rows=BLOCK, group_rows=2 * BLOCK, sample_weight=combined
    )
    oracle = GDClassifier(**settings).fit(blocks)
    assert np.array_equal(streamed.coef_, oracle.coef_)
    assert np.array_equal(streamed.intercept_, oracle.intercept_)
    assert streamed.loss_curve_ == oracle.loss_curve_


def _agree(streamed, in_memory):
    """1e-12 relative to the largest parameter (the sums are added in another order)."""
    size = max(np.abs(in_memory.coef_).max(), np.abs(in_memory.intercept_).max())
    np.testing.assert_allclose(streamed.coef_, in_memory.coef_, rtol=0, atol=1e-12 * size)
    np.testing.assert_allclose(streamed.intercept_, in_memory.intercept_, rtol=0, atol=1e-12 * size)


@pytest.mark.parametrize("class_weight", list(CLASS_WEIGHTS))
def test_full_batch_with_class_weights_equals_the_in_memory_fit(class_weight, parquet_file):
    chosen = CLASS_WEIGHTS[class_weight]
    streamed = GDClassifier(class_weight=chosen, **FULL_BATCH).fit(_file(parquet_file, True))
    in_memory = GDClassifier(class_weight=chosen, **FULL_BATCH).fit(
        X, LABELS, sample_weight=WEIGHTS
    )
    _agree(streamed, in_memory)
    # the weights matter: balanced classes move the rare class's boundary
    plain = GDClassifier(**FULL_BATCH).fit(_file(parquet_file, True))
    assert not np.allclose(plain.coef_, streamed.coef_, rtol=1e-3)


def test_a_warm_start_counts_the_classes_of_its_own_rows_again(parquet_file):
    """As in memory: "balanced" is recomputed from the rows of each fit."""
    settings = dict(class_weight="balanced", warm_start=True, random_state=0, **FULL_BATCH)
    settings["max_iter"] = 5
    streamed = GDClassifier(**settings).fit(_file(parquet_file, False))
    streamed.fit(_file(parquet_file, False))
    in_memory = GDClassifier(**settings).fit(X, LABELS)
    in_memory.fit(X, LABELS)
    _agree(streamed, in_memory)


def test_a_bad_class_weight_gets_the_in_memory_message(parquet_file):
    bad = {"rare": 2.0, "absent": 1.0}
    with pytest.raises(ValueError) as in_memory:
        GDClassifier(class_weight=bad).fit(X, LABELS)
    with pytest.raises(ValueError) as streamed:
        GDClassifier(class_weight=bad).fit(_file(parquet_file, False))
    assert str(streamed.value) == str(in_memory.value)
    assert "absent" in str(streamed.value) or "'mid'" in str(streamed.value)


def test_gdlab_fit_streams_with_class_weight_balanced(parquet_file, tmp_path):
    """The command line with its defaults and --class-weight: the library's streamed model."""
    model_file = tmp_path / "m.npz"
    result = CliRunner().invoke(
        cli,
        ["fit", str(parquet_file), "--target", "label", "--stream", "--class-weight",
         "balanced", "--model-out", str(model_file)],
        catch_exceptions=False,
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "class weight balanced" in result.output
    saved = gdlab.load(model_file)
    assert saved.class_weight == "balanced"
    source = gdlab.data.parquet(parquet_file, target="label")
    again = GDClassifier(**saved.get_params()).fit(source)
    assert np.array_equal(saved.coef_, again.coef_)
