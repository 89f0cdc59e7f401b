"""Model files and checkpoints as plain data: JSON for the configuration, arrays for the numbers.

A gdlab model file is a NumPy ``.npz`` archive (an uncompressed zip of ``.npy`` arrays) holding

* ``gdlab_header``: a UTF-8 JSON document stored as a ``uint8`` array: the format name and version,
  the gdlab version, the estimator's class name and ``get_params()``, its fitted state (the plain
  tree of ``state_dict()``: fitted attributes, history, training state with the optimizer state,
  scaling) with each array replaced by a reference, the dtype, shape and SHA-256 of every array,
  and free metadata;
* one plain array (numbers, booleans or unicode text, never ``object``) per array of the state
  (``coef_``, ``classes_``, the parameters, the optimizer moments...), named by its path in the
  tree (``attributes.coef_``), so that training can continue exactly where it stopped.

Format 2 stores ``state_dict()`` as it is (:mod:`gdlab.io._tree`); files of format 1 (gdlab before
the estimators gave their state as plain data) are read into the same plain state
(:mod:`gdlab.io._format1`). The estimator's ``load_state_dict`` checks the state either way.

Files are written atomically (:func:`atomic_write`) and read with
``np.load(allow_pickle=False)``: loading a file never runs code from it. A file that is not exactly
this (a pickle posing as a model, a truncated or corrupted archive, edited arrays or header, a
format newer than this gdlab reads, an unknown estimator, shapes that do not fit together) is
refused with :class:`~gdlab.exceptions.ModelFileError` naming the problem.

The estimator classes are found by name in a registry that the estimator modules fill
(:func:`register`): this package imports no estimator. Loading a file of a class not registered
yet imports it through the public package (``gdlab.GDRegressor``...), which registers it.

Examples
--------
>>> import numpy as np, tempfile, pathlib, gdlab
>>> X = np.arange(20.0).reshape(10, 2); y = X @ [1.0, 2.0] + 3
>>> model = gdlab.GDRegressor(max_iter=5, tol=None, random_state=0).fit(X, y)
>>> path = model.save(pathlib.Path(tempfile.mkdtemp()) / "model.npz")
>>> again = gdlab.load(path)
>>> bool(np.array_equal(again.predict(X), model.predict(X)))
True
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, NamedTuple

from gdlab.exceptions import ModelFileError
from gdlab.io._atomic import atomic_write
from gdlab.io._container import FORMAT_NAME, FORMAT_VERSION, HEADER_KEY, read_container
from gdlab.io._container import write_container as _write_container
from gdlab.io._registry import register

__all__ = [
    "FORMAT_NAME",
    "FORMAT_VERSION",
    "HEADER_KEY",
    "Checkpoint",
    "atomic_write",
    "load",
    "load_checkpoint",
    "register",
    "save",
    "save_checkpoint",
]


class Checkpoint(NamedTuple):
    """What :func:`load_checkpoint` returns: the estimator and the metadata saved with it."""

    model: Any
    metadata: dict[str, Any]


# ---- writing -----------------------------------------------------------------------------------
def save(
    model: Any, path: str | os.PathLike[str], *, metadata: dict[str, Any] | None = None
) -> Path:
    """Save a fitted estimator to ``path`` as plain data, atomically.

    The file holds the parameters, the fitted attributes and the complete training state, so
    ``gdlab.load(path)`` gives a model that predicts the same and, with ``warm_start=True``,
    trains on exactly as the original would have.

    Parameters
    ----------
    model : GDRegressor or GDClassifier
    path : str or path-like
        Where to write (the name is used as given; ``.npz`` is a good suffix).
    metadata : dict, optional
        JSON-compatible data stored alongside (returned by :func:`load_checkpoint`).

    Returns
    -------
    Path

    Raises
    ------
    sklearn.exceptions.NotFittedError
        When the model is not fitted: a file of settings alone would load as a model that cannot
        predict (``get_params()`` gives the settings).
    TypeError
        When a setting cannot be stored as data: a custom optimizer object, a schedule function
        that is not a :mod:`gdlab.schedules` schedule, a ``RandomState`` as ``random_state``.
    """
    return _write(model, path, "model", metadata)


def save_checkpoint(
    model: Any, path: str | os.PathLike[str], *, metadata: dict[str, Any] | None = None
) -> Path:
    """Save a training checkpoint (same format as :func:`save`), atomically.

    Killing the process at any moment leaves either the previous checkpoint or the new one, never
    a partial file. ``metadata`` (JSON-compatible) is stored with it, for example the planned
    number of epochs.

    Examples
    --------
    >>> import numpy as np, tempfile, pathlib, gdlab
    >>> from gdlab.io import save_checkpoint, load_checkpoint
    >>> X = np.arange(20.0).reshape(10, 2); y = X @ [1.0, 2.0]
    >>> model = gdlab.GDRegressor(max_iter=3, tol=None, random_state=0).fit(X, y)
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "run.ckpt"
    >>> _ = save_checkpoint(model, path, metadata={"epochs": 10})
    >>> resumed, meta = load_checkpoint(path)
    >>> resumed.n_iter_, meta
    (3, {'epochs': 10})
    """
    return _write(model, path, "checkpoint", metadata)


def _write(model: Any, path: str | os.PathLike[str], kind: str, metadata: Any) -> Path:
    from gdlab.io._codec import encode_model

    body, arrays = encode_model(model)
    header = {"kind": kind, **body, "metadata": {} if metadata is None else metadata}
    return _write_container(path, header, arrays, type(model).__name__)


# ---- reading -----------------------------------------------------------------------------------
def load(path: str | os.PathLike[str]) -> Any:
    """Load an estimator saved with :meth:`save` / :func:`save` (or a checkpoint).

    The file is checked before anything is built from it (format and version, estimator name,
    every parameter, shapes, dtypes, checksums, finite numbers) and read without unpickling, so a
    hostile file cannot run code.

    Raises
    ------
    ModelFileError
        The file is not a valid gdlab model file; the message says why.
    FileNotFoundError
        There is no file at ``path``.
    """
    return _read(path).model


def load_checkpoint(path: str | os.PathLike[str]) -> Checkpoint:
    """Load a checkpoint: ``(model, metadata)``; continue it with ``warm_start=True``.

    Raises
    ------
    ModelFileError
        The file is not a valid gdlab checkpoint; the message says why.
    """
    return _read(path)


def _read(path: str | os.PathLike[str]) -> Checkpoint:
    from gdlab.io._codec import decode_model

    path = Path(path)
    if not path.is_file():
        if path.exists():
            raise ModelFileError(f"Cannot load {str(path)!r}: it is not a regular file.")
        raise FileNotFoundError(f"No model file at {str(path)!r}.")
    try:
        header, arrays = read_container(path)
        model = decode_model(header, arrays)
        metadata = header.get("metadata", {})
        if not isinstance(metadata, dict):
            raise ModelFileError("the metadata is not a JSON object")
    except ModelFileError as error:
        raise ModelFileError(f"Cannot load {str(path)!r}: {error}") from None
    except (TypeError, ValueError, KeyError, AttributeError, IndexError, RecursionError) as error:
        # a check missed a malformed value: still a refusal, never a half-built model
        raise ModelFileError(f"Cannot load {str(path)!r}: malformed content ({error!r})") from None
    return Checkpoint(model, metadata)
