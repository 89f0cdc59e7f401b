"""Model files: plain data, exact round trips, atomic writes, and hostile or broken files refused
without running any code from them."""

from __future__ import annotations

import hashlib
import io
import json
import os
import pickle
import warnings
import zipfile
from pathlib import Path

import numpy as np
import pytest
from sklearn.datasets import load_iris
from sklearn.exceptions import ConvergenceWarning, NotFittedError

import gdlab
from gdlab import optim, schedules
from gdlab.exceptions import GDLabError, ModelFileError
from gdlab.io import FORMAT_VERSION, HEADER_KEY, atomic_write, load_checkpoint, save_checkpoint

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")

RNG = np.random.default_rng(7)
X_REG = RNG.normal(size=(60, 3)) * [1.0, 5.0, 0.2]
Y_REG = X_REG @ [1.5, -0.5, 4.0] + 2.0 + 0.1 * RNG.normal(size=60)
X_IRIS, Y_IRIS = load_iris(return_X_y=True)


class Payload:
    """A pickle that creates a marker file when unpickled: proof that code ran."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (open, (str(self.marker), "w"))


def _fitted_models():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return _fit_models()


def _fit_models():
    reg = gdlab.GDRegressor(max_iter=8, random_state=0, standardize=True, record_params=True)
    reg.fit(X_REG, Y_REG)
    labels = np.array(["setosa", "versicolor", "virginica"], dtype=object)[Y_IRIS]
    multi = gdlab.GDClassifier(max_iter=5, random_state=1, optimizer="sgd", momentum=0.9)
    multi.fit(X_IRIS, labels)
    binary = gdlab.GDClassifier(max_iter=4, random_state=2, loss="hinge", fit_intercept=False)
    binary.fit(X_IRIS, Y_IRIS > 0)
    f32 = gdlab.GDRegressor(max_iter=3, random_state=3, optimizer="rmsprop", clip_norm=1.0)
    f32.fit(X_REG.astype(np.float32), Y_REG.astype(np.float32))
    early = gdlab.GDRegressor(
        early_stopping=True, schedule="adaptive", max_iter=30, n_iter_no_change=2, random_state=4
    ).fit(X_REG, Y_REG)
    assert early._train_state.best_params is not None  # covers the best parameters and plateau
    assert early._train_state.plateau_state is not None
    partial = gdlab.GDClassifier(optimizer="adagrad", random_state=5)
    for _ in range(3):
        partial.partial_fit(X_IRIS, Y_IRIS, classes=[0, 1, 2])
    return {
        "regressor": reg,
        "multiclass": multi,
        "binary-bool": binary,
        "float32": f32,
        "early-stopping": early,
        "partial-fit": partial,
    }


MODELS = _fitted_models()


def _assert_same_model(a, b) -> None:
    assert type(a) is type(b)
    assert a.get_params() == b.get_params()
    for name in ("coef_", "intercept_", "n_features_in_", "n_iter_", "t_", "loss_curve_"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name))
    assert a.coef_.dtype == b.coef_.dtype
    if hasattr(a, "classes_"):
        np.testing.assert_array_equal(a.classes_, b.classes_)
        assert a.classes_.dtype == b.classes_.dtype
    assert a.history_.to_dict() == b.history_.to_dict()
    sa, sb = a._train_state, b._train_state
    np.testing.assert_array_equal(sa.params, sb.params)
    assert sa.params.dtype == sb.params.dtype
    assert repr(sa.opt_state) == repr(sb.opt_state)
    for field in ("epoch", "step", "plateau_state", "best_loss", "bad_epochs", "first_loss"):
        assert getattr(sa, field) == getattr(sb, field)
    assert a._seed == b._seed


@pytest.mark.parametrize("name", sorted(MODELS))
def test_round_trip_is_exact(tmp_path: Path, name: str) -> None:
    model = MODELS[name]
    path = model.save(tmp_path / "model.npz")
    assert path == tmp_path / "model.npz"
    again = gdlab.load(path)
    _assert_same_model(model, again)
    X = X_IRIS if isinstance(model, gdlab.GDClassifier) else X_REG
    X = X.astype(model.coef_.dtype)
    np.testing.assert_array_equal(again.predict(X), model.predict(X))
    if hasattr(model, "predict_proba"):
        np.testing.assert_array_equal(again.predict_proba(X), model.predict_proba(X))


def test_file_is_plain_data_without_object_arrays(tmp_path: Path) -> None:
    path = MODELS["multiclass"].save(tmp_path / "m.npz")
    with zipfile.ZipFile(path) as archive:
        names = archive.namelist()
    assert f"{HEADER_KEY}.npy" in names
    with np.load(path, allow_pickle=False) as data:  # would raise on any object array
        arrays = {name: data[name] for name in data.files}
    assert all(array.dtype.kind in "biufU" for array in arrays.values())
    header = json.loads(arrays[HEADER_KEY].tobytes())
    assert header["format"] == "gdlab-model"
    assert header["format_version"] == FORMAT_VERSION
    assert header["estimator"] == "GDClassifier"
    assert header["gdlab_version"] == gdlab.__version__
    assert header["params"]["momentum"] == 0.9


def test_pandas_feature_names_and_unfitted_model(tmp_path: Path) -> None:
    pd = pytest.importorskip("pandas")
    frame = pd.DataFrame(X_REG, columns=["size", "age", "<b>rooms</b>"])
    model = gdlab.GDRegressor(max_iter=3, random_state=0).fit(frame, Y_REG)
    again = gdlab.load(model.save(tmp_path / "m.npz"))
    np.testing.assert_array_equal(again.feature_names_in_, model.feature_names_in_)
    assert again.feature_names_in_.dtype == object
    np.testing.assert_array_equal(again.predict(frame), model.predict(frame))
    fresh = gdlab.GDClassifier(learning_rate=0.5, batch_size=None)
    with pytest.raises(NotFittedError, match="not fitted yet, so there is no model to save"):
        fresh.save(tmp_path / "fresh.npz")
    assert not (tmp_path / "fresh.npz").exists()


def test_named_schedule_object_is_saved_as_data(tmp_path: Path) -> None:
    schedule = schedules.linear_warmup(schedules.cosine_decay(0.003, 50), warmup_steps=5)
    model = gdlab.GDRegressor(optimizer="sgd", schedule=schedule, max_iter=3, random_state=0)
    model.fit(X_REG, Y_REG)
    again = gdlab.load(model.save(tmp_path / "m.npz"))
    assert again.schedule == schedule


@pytest.mark.parametrize(
    ("settings", "match"),
    [
        ({"optimizer": optim.adam(learning_rate=0.1)}, "custom optimizer object"),
        ({"schedule": lambda t: 0.1}, "is a function"),
        ({"random_state": np.random.RandomState(0)}, "use an int seed"),
    ],
)
def test_code_cannot_be_saved(tmp_path: Path, settings, match) -> None:
    model = gdlab.GDRegressor(max_iter=2, **settings).fit(X_REG, Y_REG)
    with pytest.raises(TypeError, match=match):
        model.save(tmp_path / "m.npz")
    assert list(tmp_path.iterdir()) == []  # nothing written, not even a temporary file


def test_checkpoint_metadata_round_trip(tmp_path: Path) -> None:
    path = save_checkpoint(MODELS["regressor"], tmp_path / "c.ckpt", metadata={"epochs": 40})
    model, metadata = load_checkpoint(path)
    assert metadata == {"epochs": 40}
    _assert_same_model(MODELS["regressor"], model)
    with pytest.raises(TypeError, match="not plain JSON"):
        save_checkpoint(MODELS["regressor"], tmp_path / "d.ckpt", metadata={"x": object()})


# ---- atomic writes ------------------------------------------------------------------------------
def test_atomic_write_replaces_or_keeps_old_file(tmp_path: Path) -> None:
    target = tmp_path / "model.npz"
    MODELS["regressor"].save(target)
    before = target.read_bytes()

    def failing(handle):
        handle.write(b"PK\x03\x04 half a file")
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        atomic_write(target, failing)
    assert target.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["model.npz"]  # temporary file removed
    MODELS["binary-bool"].save(target)
    assert isinstance(gdlab.load(target), gdlab.GDClassifier)
    assert [p.name for p in tmp_path.iterdir()] == ["model.npz"]
    mode = target.stat().st_mode & 0o777
    umask = os.umask(0)
    os.umask(umask)
    assert mode == 0o666 & ~umask  # like a file made by open(), not a private temp file


# ---- hostile files ------------------------------------------------------------------------------
def test_pickle_posing_as_model_runs_no_code(tmp_path: Path, monkeypatch) -> None:
    marker = tmp_path / "pwned"
    evil = pickle.dumps(Payload(marker))
    pickle.loads(evil)  # the payload is live: unpickling it creates the marker
    assert marker.exists()
    marker.unlink()
    path = tmp_path / "model.npz"
    path.write_bytes(evil)
    with pytest.raises(ModelFileError, match="looks like a Python pickle"):
        gdlab.load(path)
    assert not marker.exists()


def _rewrite(path: Path, out: Path, *, header=None, arrays=None, raw=None) -> Path:
    """Write an archive with the members of ``path``, some replaced."""
    with np.load(path, allow_pickle=False) as data:
        members = {name: data[name] for name in data.files}
    head = json.loads(members[HEADER_KEY].tobytes())
    if header is not None:
        header(head)
    members[HEADER_KEY] = np.frombuffer(json.dumps(head).encode(), dtype=np.uint8)
    members.update(arrays or {})
    buffer = io.BytesIO()
    np.savez(buffer, **members)
    data = buffer.getvalue()
    if raw is not None:
        with zipfile.ZipFile(io.BytesIO(data)) as source:
            buffer = io.BytesIO()
            with zipfile.ZipFile(buffer, "w") as target:
                for name in source.namelist():
                    target.writestr(name, source.read(name))
                for name, content in raw.items():
                    target.writestr(name, content)
        data = buffer.getvalue()
    out.write_bytes(data)
    return out


def test_pickles_inside_the_archive_run_no_code(tmp_path: Path, monkeypatch) -> None:
    marker = tmp_path / "pwned"
    good = MODELS["regressor"].save(tmp_path / "good.npz")
    object_array = np.array([Payload(marker), 1], dtype=object)
    cases = {
        "object array": _rewrite(
            good, tmp_path / "a.npz", arrays={"attributes.coef_": object_array}
        ),
        "extra object member": _rewrite(good, tmp_path / "b.npz", arrays={"evil": object_array}),
        "pickle as member": _rewrite(
            good, tmp_path / "c.npz", raw={"evil.npy": pickle.dumps(Payload(marker))}
        ),
    }

    def forbidden(*args, **kwargs):
        raise AssertionError("gdlab tried to unpickle")

    monkeypatch.setattr(pickle, "load", forbidden)
    monkeypatch.setattr(pickle, "loads", forbidden)
    monkeypatch.setattr(pickle, "Unpickler", forbidden)
    for name, path in cases.items():
        with pytest.raises(ModelFileError) as info:
            gdlab.load(path)
        assert str(path) in str(info.value), name
    assert gdlab.load(good).coef_.shape == (3,)  # a valid file loads without pickle
    assert not marker.exists()


def _tamper_cases(good: Path, tmp: Path):
    def set_key(*keys, value):
        def edit(head):
            node = head
            for key in keys[:-1]:
                node = node[key]
            node[keys[-1]] = value

        return edit

    coef = np.load(good)["attributes.coef_"]
    bigger = np.append(coef, 1.0)
    yield "format", set_key("format", value="other"), None, "not 'gdlab-model'"
    yield "newer", set_key("format_version", value=FORMAT_VERSION + 1), None, "newer gdlab"
    yield "version type", set_key("format_version", value="1"), None, "format version"
    yield "kind", set_key("kind", value="script"), None, "unknown file kind"
    yield "estimator", set_key("estimator", value="os.system"), None, "unknown estimator"
    yield "param name", set_key("params", "__class__", value=1), None, "unknown parameters"
    yield "param value", set_key("params", "learning_rate", value=-1), None, "learning_rate"
    yield "param type", set_key("params", "alpha", value=[1]), None, "'alpha' parameter"
    yield "param object", set_key("params", "alpha", value={"$x": 1}), None, "must be a float"
    horizon = set_key("state", "attributes", "schedule_horizon_", value=0)
    yield "horizon", horizon, None, "schedule_horizon_ should be a positive integer"
    yield (
        "schedule",
        set_key("params", "schedule", value={"$schedule": {"name": "x"}}),
        None,
        ("not a valid schedule"),
    )
    yield (
        "attribute name",
        set_key("state", "attributes", "predict", value={}),
        None,
        "not a fitted",
    )
    yield "seed", set_key("state", "seed", value=-3), None, "the seed"
    yield "epoch", set_key("state", "train_state", "epoch", value=1.5), None, "epoch"
    yield (
        "optimizer tree",
        set_key("state", "train_state", "opt_state", value={"tuple": []}),
        None,
        "structure",
    )
    yield "n_features", set_key("state", "attributes", "n_features_in_", value=4), None, "shape"
    yield "t_", set_key("state", "attributes", "t_", value=10**6), None, "t_="
    yield "fitted", set_key("fitted", value="yes"), None, "fitted"
    yield "checksum", None, {"attributes.coef_": coef + 1.0}, "checksum"

    def consistent(head):  # a tamperer who also updates the checksum
        head["arrays"]["attributes.coef_"]["sha256"] = hashlib.sha256(
            (coef + 1.0).tobytes()
        ).hexdigest()

    yield "coef vs state", consistent, {"attributes.coef_": coef + 1.0}, "do not match the saved"

    def shape(head):
        head["arrays"]["attributes.coef_"]["shape"] = [4]
        head["arrays"]["attributes.coef_"]["sha256"] = hashlib.sha256(bigger.tobytes()).hexdigest()

    yield "coef shape", shape, {"attributes.coef_": bigger}, "shape"
    nan = coef.copy()
    nan[0] = np.nan

    def nan_sha(head):
        head["arrays"]["attributes.coef_"]["sha256"] = hashlib.sha256(nan.tobytes()).hexdigest()

    yield "nan", nan_sha, {"attributes.coef_": nan}, "NaN"
    yield "extra array", None, {"unused": np.zeros(2)}, "do not match the header"


def test_tampered_files_are_refused(tmp_path: Path) -> None:
    good = MODELS["regressor"].save(tmp_path / "good.npz")
    count = 0
    for index, (name, header, arrays, match) in enumerate(_tamper_cases(good, tmp_path)):
        path = _rewrite(good, tmp_path / f"t{index}.npz", header=header, arrays=arrays)
        with pytest.raises(ModelFileError, match=match) as info:
            gdlab.load(path)
        assert str(path) in str(info.value), name
        count += 1
    print(f"tampered-file cases refused: {count}")
    assert count >= 20


def test_truncated_and_corrupted_files(tmp_path: Path) -> None:
    model = MODELS["multiclass"]
    good = model.save(tmp_path / "good.npz").read_bytes()
    path = tmp_path / "bad.npz"
    cases = 0
    for length in [0, 1, 3, 4, 30, 100, *range(200, len(good), max(1, len(good) // 25))]:
        path.write_bytes(good[:length])
        with pytest.raises(ModelFileError):
            gdlab.load(path)
        cases += 1
    refused = accepted = 0
    for position in range(0, len(good), 11):  # flip one byte at a time
        flipped = bytearray(good)
        flipped[position] ^= 0xFF
        path.write_bytes(bytes(flipped))
        try:
            again = gdlab.load(path)
        except ModelFileError:
            refused += 1
        else:  # the flip hit bytes no reader uses (zip timestamps...): same model, never another
            accepted += 1
            _assert_same_model(model, again)
        cases += 1
    print(f"truncated/corrupted cases: {cases} (bit flips refused {refused}, harmless {accepted})")
    assert refused > 0.9 * (refused + accepted)


@pytest.mark.parametrize(
    ("content", "match"),
    [
        (b"", "empty"),
        (b"w,b\n1,2\n", "not a gdlab model file"),
        (b"\x93NUMPY\x01\x00", "single .npy array"),
    ],
)
def test_files_that_are_not_models(tmp_path: Path, content: bytes, match: str) -> None:
    path = tmp_path / "x.npz"
    path.write_bytes(content)
    with pytest.raises(ModelFileError, match=match) as info:
        gdlab.load(path)
    assert isinstance(info.value, GDLabError) and isinstance(info.value, ValueError)


def test_missing_file_and_directory(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="No model file"):
        gdlab.load(tmp_path / "missing.npz")
    with pytest.raises(ModelFileError, match="not a regular file"):
        gdlab.load(tmp_path)


def test_zip_bomb_is_refused_before_reading(tmp_path: Path) -> None:
    path = tmp_path / "bomb.npz"
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(f"{HEADER_KEY}.npy", b"")
        with archive.open("big.npy", "w", force_zip64=True) as member:
            chunk = bytes(2**24)
            for _ in range(3):  # 48 MiB of zeros in a file of about 50 KiB
                member.write(chunk)
    assert path.stat().st_size < 2**20
    with pytest.raises(ModelFileError, match="zip bomb"):
        gdlab.load(path)


def test_warm_start_after_load_continues_training(tmp_path: Path) -> None:
    model = gdlab.load(MODELS["regressor"].save(tmp_path / "m.npz"))
    model.set_params(warm_start=True, max_iter=2)
    model.fit(X_REG, Y_REG)
    assert model._train_state.epoch == MODELS["regressor"]._train_state.epoch + 2
    partial = gdlab.load(MODELS["partial-fit"].save(tmp_path / "p.npz"))
    reference = gdlab.GDClassifier(optimizer="adagrad", random_state=5)
    for _ in range(4):
        reference.partial_fit(X_IRIS, Y_IRIS, classes=[0, 1, 2])
    partial.partial_fit(X_IRIS, Y_IRIS)  # the fourth call, after a save and a load
    np.testing.assert_array_equal(partial.coef_, reference.coef_)


def test_predict_command_refuses_a_pickle_model_without_running_it(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from gdlab.cli import cli

    marker = tmp_path / "pwned"
    model = tmp_path / "model.npz"
    model.write_bytes(pickle.dumps(Payload(marker)))
    data = tmp_path / "data.csv"
    data.write_text("a,b,c\n1,2,3\n4,5,6\n")
    result = CliRunner().invoke(cli, ["predict", str(model), str(data)])
    assert result.exit_code == 2
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "looks like a Python pickle" in lines[0]
    assert not marker.exists()
