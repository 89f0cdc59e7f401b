"""The model-file container: a ``.npz`` archive of plain arrays whose ``gdlab_header`` member is
a JSON document describing the rest, read back with every check made before anything is used.

Private to :mod:`gdlab.io`; see its docstring for the format.
"""

from __future__ import annotations

import hashlib
import json
import os
import zipfile
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np

from gdlab.exceptions import ModelFileError
from gdlab.io._atomic import atomic_write

__all__ = [
    "FORMAT_NAME",
    "FORMAT_VERSION",
    "HEADER_KEY",
    "check_plain",
    "digest",
    "read_container",
    "write_container",
]

FORMAT_NAME = "gdlab-model"
FORMAT_VERSION = 2
HEADER_KEY = "gdlab_header"

#: dtype kinds a model file may hold: booleans, integers, floats and unicode text.
_PLAIN_KINDS = frozenset("biufU")
_MAX_HEADER_BYTES = 256 * 2**20
_MAX_MEMBERS = 10_000
_MAX_EXPANSION = 16 * 2**20  # allowed uncompressed bytes beyond 100 times the archive size


def digest(array: np.ndarray) -> str:
    """The SHA-256 of an array's bytes (C order)."""
    return hashlib.sha256(np.ascontiguousarray(array).tobytes()).hexdigest()


def check_plain(array: np.ndarray, what: str) -> None:
    """Refuse arrays that cannot be stored as plain data (object, void, bytes, datetime...)."""
    if array.dtype.kind not in _PLAIN_KINDS or array.dtype.hasobject:
        raise TypeError(
            f"{what} has dtype {array.dtype}, which a gdlab model file cannot hold as plain data "
            "(allowed: booleans, integers, floats and unicode text)."
        )


def write_container(
    path: str | os.PathLike[str], header: dict[str, Any], arrays: dict[str, np.ndarray], owner: str
) -> Path:
    """Write ``header`` (JSON) and the named plain ``arrays`` to ``path`` atomically.

    ``owner`` names what is saved, for the message when the header is not plain JSON.
    """
    for name, array in arrays.items():
        check_plain(array, name)
    header = {
        "format": FORMAT_NAME,
        "format_version": FORMAT_VERSION,
        "gdlab_version": gdlab_version(),
        **header,
        "arrays": {
            name: {"dtype": array.dtype.str, "shape": list(array.shape), "sha256": digest(array)}
            for name, array in arrays.items()
        },
    }
    try:
        text = json.dumps(header, allow_nan=False, sort_keys=True)
    except (TypeError, ValueError) as error:
        raise TypeError(
            f"Cannot save {owner}: its metadata or settings are not plain JSON data ({error})."
        ) from None
    members: dict[str, np.ndarray] = {
        HEADER_KEY: np.frombuffer(text.encode("utf-8"), dtype=np.uint8)
    }
    members.update(arrays)
    return atomic_write(
        path,
        lambda handle: np.savez(handle, allow_pickle=False, **members),
    )


def gdlab_version() -> str:
    import gdlab

    return str(gdlab.__version__)


def _sniff(handle: BinaryIO) -> None:
    """Refuse files that are not zip archives, naming what they look like."""
    handle.seek(0)
    start = handle.read(8)
    if start.startswith(b"PK\x03\x04"):
        return
    if not start:
        raise ModelFileError("the file is empty")
    if start[:1] == b"\x80":
        raise ModelFileError(
            "it looks like a Python pickle; gdlab model files never contain pickles and gdlab "
            "will not unpickle a file, which could run arbitrary code"
        )
    if start.startswith(b"\x93NUMPY"):
        raise ModelFileError("it is a single .npy array, not a gdlab model archive")
    raise ModelFileError("it is not a gdlab model file (expected a .npz archive)")


def _check_archive(handle: BinaryIO) -> list[str]:
    """Member names of the zip, after checking its directory, names, sizes and array headers."""
    try:
        with zipfile.ZipFile(handle) as archive:
            infos = archive.infolist()
            if len(infos) > _MAX_MEMBERS:
                raise ModelFileError(f"the archive has {len(infos)} members; too many")
            limit = 100 * os.fstat(handle.fileno()).st_size + _MAX_EXPANSION
            if sum(info.file_size for info in infos) > limit:
                raise ModelFileError(
                    "the archive's members expand to far more than its size (zip bomb)"
                )
            names = [_check_member(archive, info) for info in infos]
    except ModelFileError:
        raise
    except Exception as error:  # any failure to parse untrusted bytes means a broken file
        raise ModelFileError(f"the archive is corrupted or truncated ({error!r})") from None
    if len(set(names)) != len(names):
        raise ModelFileError("the archive has duplicate members")
    return names


def _check_member(archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> str:
    """Check one member's name and ``.npy`` header (plain dtype, size that matches its shape)."""
    name = info.filename
    if not name.endswith(".npy") or "/" in name or "\\" in name or name.startswith("."):
        raise ModelFileError(f"unexpected member {name!r} in the archive")
    with archive.open(info) as handle:
        version = np.lib.format.read_magic(handle)
        if version == (1, 0):
            shape, _, dtype = np.lib.format.read_array_header_1_0(handle)
        elif version in ((2, 0), (3, 0)):
            shape, _, dtype = np.lib.format.read_array_header_2_0(handle)
        else:
            raise ModelFileError(f"member {name!r} has an unknown .npy version {version}")
        if dtype.hasobject:
            raise ModelFileError(
                f"member {name!r} holds pickled (object) data, which gdlab never writes and "
                "will not load"
            )
        expected = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
        if expected != info.file_size - handle.tell():
            raise ModelFileError(f"member {name!r} does not hold the data its header declares")
    return name[: -len(".npy")]


def read_container(path: Path) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    # One open file for every read: a checkpoint replaced meanwhile is read as one version.
    with path.open("rb") as handle:
        return _read_open(handle)


def _read_open(handle: BinaryIO) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    _sniff(handle)
    names = _check_archive(handle)
    if HEADER_KEY not in names:
        raise ModelFileError(f"the archive has no {HEADER_KEY!r} member: not a gdlab model file")
    arrays: dict[str, np.ndarray] = {}
    try:
        handle.seek(0)
        with np.load(handle, allow_pickle=False) as archive:
            for name in names:
                arrays[name] = archive[name]
    except Exception as error:  # any failure to parse untrusted bytes means a broken file
        if "pickle" in str(error).lower() or "object arrays" in str(error).lower():
            raise ModelFileError(
                "it contains pickled (object) data, which gdlab never writes and will not load"
            ) from None
        raise ModelFileError(f"the archive is corrupted or truncated ({error!r})") from None
    header = _parse_header(arrays.pop(HEADER_KEY))
    _check_arrays(header, arrays)
    return header, arrays


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise ModelFileError(f"the header repeats the key {key!r}")
        result[key] = value
    return result


def _reject_constant(name: str) -> Any:
    raise ModelFileError(f"the header holds {name}, which is not plain JSON")


def _parse_header(raw: np.ndarray) -> dict[str, Any]:
    if raw.dtype != np.uint8 or raw.ndim != 1:
        raise ModelFileError("the header is not a byte array")
    if raw.size > _MAX_HEADER_BYTES:
        raise ModelFileError("the header is too large")
    try:
        header = json.loads(
            raw.tobytes().decode("utf-8"),
            object_pairs_hook=_no_duplicates,
            parse_constant=_reject_constant,
        )
    except ModelFileError:
        raise
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as error:
        raise ModelFileError(f"the header is not valid JSON ({error})") from None
    if not isinstance(header, dict):
        raise ModelFileError("the header is not a JSON object")
    if header.get("format") != FORMAT_NAME:
        raise ModelFileError(
            f"the header's format is {header.get('format')!r}, not {FORMAT_NAME!r}: not a gdlab "
            "model file"
        )
    version = header.get("format_version")
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise ModelFileError(f"the format version {version!r} is not valid")
    if version > FORMAT_VERSION:
        raise ModelFileError(
            f"it was written by a newer gdlab ({header.get('gdlab_version')!r}, file format "
            f"{version}); this gdlab ({gdlab_version()}) reads format {FORMAT_VERSION}. "
            "Upgrade gdlab to load it"
        )
    if header.get("kind") not in ("model", "checkpoint"):
        raise ModelFileError(f"unknown file kind {header.get('kind')!r}")
    return header


def _check_arrays(header: dict[str, Any], arrays: dict[str, np.ndarray]) -> None:
    """Every array must be listed in the header with the same dtype, shape and checksum."""
    listed = header.get("arrays")
    if not isinstance(listed, dict):
        raise ModelFileError("the header has no table of arrays")
    if set(listed) != set(arrays):
        missing = sorted(set(listed) - set(arrays))
        extra = sorted(set(arrays) - set(listed))
        raise ModelFileError(
            f"the arrays do not match the header (missing {missing}, extra {extra})"
        )
    for name, array in arrays.items():
        entry = listed[name]
        if not isinstance(entry, dict):
            raise ModelFileError(f"the header's entry for array {name!r} is malformed")
        try:
            check_plain(array, f"array {name!r}")
        except TypeError as error:
            raise ModelFileError(str(error)) from None
        if entry.get("dtype") != array.dtype.str or entry.get("shape") != list(array.shape):
            raise ModelFileError(
                f"array {name!r} is {array.dtype.str} {list(array.shape)} but the header says "
                f"{entry.get('dtype')} {entry.get('shape')}"
            )
        if entry.get("sha256") != digest(array):
            raise ModelFileError(
                f"array {name!r} does not match its checksum: the file was altered"
            )
