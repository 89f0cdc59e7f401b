"""``gdlab fit --checkpoint FILE [--resume]``: a checkpoint after every epoch, and exact resume.

Each epoch's checkpoint replaces the previous one atomically (write, fsync, rename), so a process
killed at any moment leaves a valid checkpoint. ``--resume`` loads it, checks that the data and the
options are those of the interrupted run, and trains the remaining epochs with ``warm_start``: the
final model is bitwise the one an uninterrupted run gives.

Streamed and Dask fits are also checkpointed in the middle of an epoch, between two blocks (the
cadence, in one place: :data:`CHECKPOINT_EVERY`, ``--checkpoint-every SECONDS``): the
checkpoint then holds the block cursor (the blocks of the epoch's seeded order done, the epoch's
running sums, for a full batch the partial loss and gradient sums; see
:mod:`gdlab.data.objective`), and ``--resume`` goes on from that block, bit for bit as if the run
had never stopped. A Dask full-batch epoch computes its partitions in parallel and gathers their
sums in partition order, a cursor after each.

A run that diverges keeps a checkpoint only if it holds the last good epoch: the last one whose
parameters had the lowest loss so far (their loss is the next epoch's, measured before its
updates) and whose history passed :func:`gdlab.divergence.verdict`; the message names that epoch
(epochs counted from 1, as everywhere). Without one the checkpoint file is removed (or, when
resuming, left as it was).
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from gdlab.cli._errors import (
    EXIT_BAD_INPUT,
    EXIT_DIVERGED,
    EXIT_INTERRUPTED,
    CommandFailure,
    cli_message,
)
from gdlab.cli._output import esc
from gdlab.divergence import verdict
from gdlab.exceptions import DivergenceError
from gdlab.io import load_checkpoint, save_checkpoint

__all__ = ["CHECKPOINT_EVERY", "checkpointed_fit", "data_fingerprint", "epochs_trained"]

#: settings that may differ between an interrupted run and its resumption
_RESUME_SETTINGS = ("warm_start", "max_iter")
#: seconds between mid-epoch checkpoints of a streamed or Dask fit (``--checkpoint-every``): one
#: is written after the first block that ends at least this long after the previous checkpoint
#: (0: after every block); an epoch's end always writes one
CHECKPOINT_EVERY = 60.0


def data_fingerprint(X: Any, y: Any) -> str:
    """SHA-256 of the training features (with their column names) and targets."""
    digest = hashlib.sha256()
    if hasattr(X, "group_blocks"):  # a data source (gdlab.data): hashed block by block
        return _source_fingerprint(X, digest)
    columns = getattr(X, "columns", None)
    if columns is not None:
        digest.update("\x1f".join(map(str, columns)).encode())
    features = np.ascontiguousarray(np.asarray(X, dtype=np.float64))
    digest.update(str(features.shape).encode())
    digest.update(features.tobytes())
    targets = np.asarray(y)
    if targets.dtype.kind in "biuf":
        digest.update(np.ascontiguousarray(targets).tobytes())
    else:
        digest.update("\x1f".join(map(str, targets.tolist())).encode())
    return digest.hexdigest()


def epochs_trained(model: Any) -> int:
    """The epochs ``model`` has been trained for, over all its warm-started fits."""
    return int(model.state_dict()["train_state"]["epoch"])


def _cursor(model: Any) -> dict[str, Any] | None:
    """The block cursor of ``model``'s training state: ``None`` between two epochs."""
    cursor: dict[str, Any] | None = model.state_dict()["train_state"].get("cursor")
    return cursor


def _position(model: Any, unit: str = "blocks") -> str:
    """Where the run of a checkpoint stands: "after epoch N", or inside the next one, after so
    many of its ``unit`` (blocks; a Dask fit's are its partitions)."""
    cursor, epoch = _cursor(model), epochs_trained(model)
    if cursor is None:
        return f"after epoch {epoch}"
    return f"in epoch {epoch + 1}, after {cursor['block']} of its {unit}"


def _unit(X: Any) -> str:
    """What a block cursor over ``X`` counts: a Dask source's blocks are its partitions."""
    return "partitions" if hasattr(X, "scan_groups") else "blocks"


def _layout(X: Any) -> dict[str, Any] | None:
    """The blocks of a data source (a block cursor counts them), for the checkpoint's metadata."""
    layout = getattr(X, "layout", None)
    if layout is None:
        return None
    return {"group_rows": list(layout.group_rows), "batch_rows": layout.batch_rows}


def _check_same_run(
    model: Any, loaded: Any, meta: dict[str, Any], data: str, path: Path, data_blocks: Any
) -> None:
    if type(loaded) is not type(model):
        raise CommandFailure(
            f"{path} is a checkpoint of a {type(loaded).__name__}, but this run trains a "
            f"{type(model).__name__}; use the same --task, or another --checkpoint file.",
            EXIT_BAD_INPUT,
        )
    saved_blocks = meta.get("blocks")  # absent in files before mid-epoch checkpoints
    rows = (saved_blocks or {}).get("batch_rows"), (data_blocks or {}).get("batch_rows")
    if saved_blocks is not None and rows[0] != rows[1]:
        raise CommandFailure(
            f"{path} was made with --batch-rows {rows[0]}, but this run asks for "
            f"--batch-rows {rows[1]}; resume with the blocks of the interrupted run.",
            EXIT_BAD_INPUT,
        )
    if meta.get("data_sha256") != data:
        raise CommandFailure(
            f"{path} was made on other data (or other --features/--validation-fraction/--seed); "
            "resume on the same data, or start again without --resume.",
            EXIT_BAD_INPUT,
        )
    wanted, saved = model.get_params(), loaded.get_params()
    for name in sorted(set(wanted) | set(saved)):
        if name not in _RESUME_SETTINGS and wanted.get(name) != saved.get(name):
            raise CommandFailure(
                f"{path} was made with {name}={saved.get(name)!r}, but this run asks for "
                f"{name}={wanted.get(name)!r}; resume with the options of the interrupted run.",
                EXIT_BAD_INPUT,
            )


def _saved_epoch(path: Path, written: int | None, unit: str) -> str:
    """What the checkpoint holds after an interruption, read from the file itself (the signal
    may have come between the rename and the bookkeeping)."""
    if written is None and not path.exists():
        return "no epoch had finished, so there is no checkpoint yet"
    try:
        where = _position(load_checkpoint(path).model, unit)
    except Exception:  # pragma: no cover - the atomic write makes this unreachable
        return f"the last complete checkpoint is in {path}"
    return f"{path} holds the run {where}; add --resume to continue"


def _keep_last_good(good: Any, path: Path, metadata: dict[str, Any], unit: str) -> str:
    """Leave in ``path`` the last good epoch of a diverged run (or nothing); say which."""
    if good is None:
        path.unlink(missing_ok=True)
        return f"No epoch before the divergence was good, so no checkpoint is kept at {path}."
    save_checkpoint(good, path, metadata=metadata)
    return (
        f"The checkpoint {path} keeps the run {_position(good, unit)}, the last good one (its loss "
        "was the lowest of the run); a resume needs the same options, so start again with a "
        "smaller --learning-rate instead."
    )


def _finish(model: Any, epochs: int) -> None:
    """Report the resumed run as one fit of ``epochs`` epochs, as an uninterrupted one."""
    model.set_params(warm_start=False, max_iter=epochs)
    state = model.state_dict()
    state["attributes"]["n_iter_"] = epochs_trained(model)
    model.load_state_dict(state)


def _source_fingerprint(source: Any, digest: Any) -> str:
    from gdlab.data.sources import weighted_blocks

    digest.update("\x1f".join(source.feature_names).encode())
    for group in range(len(source.layout.group_rows)):
        for X, y, weight in weighted_blocks(source, group):
            digest.update(np.ascontiguousarray(X).tobytes())
            digest.update("\x1f".join(map(str, np.asarray(y).tolist())).encode())
            if weight is not None:  # a source's weight column (--sample-weight)
                digest.update(weight.tobytes())
    return digest.hexdigest()


def fit_and_checkpoint(
    model: Any,
    X: Any,
    y: Any,
    checkpoint: Path | None,
    *,
    resume: bool,
    epochs: int,
    train: Callable[..., list[str]],
    out: Any,
    every: float | None = None,
) -> tuple[Any, list[str]]:
    """``train(model, X, y)``, through :func:`checkpointed_fit` when ``checkpoint`` names a file
    (the commands' ``--checkpoint``/``--resume``/``--checkpoint-every``); the fitted model and
    the notes for the user."""
    if checkpoint is None:
        return model, train(model, X, y)
    say = functools.partial(out.print, soft_wrap=True)  # a path is never cut in two
    return checkpointed_fit(
        model, X, y, checkpoint, resume=resume, epochs=epochs, train=train, say=say, every=every
    )


def fit_source(
    model: Any,
    source: Any,
    shown: Any,
    checkpoint: Path | None,
    *,
    resume: bool,
    out: Any,
    every: float | None,
) -> tuple[Any, float]:
    """Fit ``model`` on a streamed or Dask ``source`` through :func:`fit_and_checkpoint`, the
    progress display ``shown`` (``None`` when nothing is drawn) told of every epoch; the fitted
    model and the seconds the fit took."""

    def train(
        fitting: Any, X: Any, y: Any, callback: Any = None, block_callback: Any = None
    ) -> list[str]:
        def each_epoch(snapshot: Any) -> None:
            for hook in (shown, callback):
                if hook is not None:
                    hook(snapshot)

        with shown or contextlib.nullcontext():
            data = X if shown is None else shown.watch(X)
            fitting.fit(data, callback=each_epoch, block_callback=block_callback)
        return []

    started = time.perf_counter()
    model, _ = fit_and_checkpoint(
        model, source, None, checkpoint, resume=resume, epochs=model.max_iter, train=train,
        out=out, every=every,
    )  # fmt: skip
    return model, time.perf_counter() - started


def save_fitted(model: Any, path: Path | None, metadata: dict[str, Any], out: Any) -> None:
    """Save ``model`` to ``path`` (``--model-out``; nothing when ``None``) and say so."""
    if path is None:
        return
    from gdlab.io import save

    save(model, path, metadata=metadata)
    out.print(f"Model saved to {esc(path)}", soft_wrap=True)


def checkpointed_fit(
    model: Any,
    X: Any,
    y: Any,
    path: Path,
    *,
    resume: bool,
    epochs: int,
    train: Callable[..., list[str]],
    say: Callable[[str], Any],
    every: float | None = None,
) -> tuple[Any, list[str]]:
    """Fit ``model`` (or resume the run in ``path``) writing a checkpoint after every epoch.

    ``train(model, X, y, callback=...)`` runs the fit and returns notes; ``say`` prints a line.
    With ``every`` (seconds; a streamed or Dask fit) a checkpoint is also written between two
    blocks of an epoch when ``every`` seconds have passed since the previous one, through
    ``train(..., block_callback=...)``. Returns the fitted model (the resumed one when
    resuming) and the notes.
    """
    data, blocks, unit = data_fingerprint(X, y), _layout(X), _unit(X)
    metadata: dict[str, Any] = {"epochs": int(epochs), "data_sha256": data}
    if blocks is not None:
        metadata["blocks"] = blocks
    fitting = model
    if resume and path.exists():
        loaded, meta = load_checkpoint(path)
        _check_same_run(model, loaded, meta, data, path, blocks)
        done, cursor = epochs_trained(loaded), _cursor(loaded)
        if cursor is not None and done >= epochs:
            raise CommandFailure(
                f"{path} holds the run {_position(loaded, unit)}, past --epochs {epochs}; resume "
                f"with --epochs {done + 1} or more.",
                EXIT_BAD_INPUT,
            )
        if done >= epochs:
            say(
                f"{esc(path)} holds a finished run ({done} epochs); nothing left to train "
                "(a larger --epochs continues it)."
            )
            _finish(loaded, epochs)
            return loaded, []
        if cursor is not None:  # stopped between two blocks of an epoch
            say(f"Resuming from {esc(path)} {_position(loaded, unit)} (of {epochs} epochs).")
        elif loaded.history_.stop_reason:  # it stopped (converged or at its --epochs): go on
            say(f"Continuing the finished run in {esc(path)} after epoch {done}, up to {epochs}.")
        else:
            say(f"Resuming from {esc(path)} after epoch {done} of {epochs}.")
        loaded.set_params(warm_start=True, max_iter=epochs - done)
        fitting = loaded
    elif resume:
        say(f"No checkpoint at {esc(path)} yet: starting from the first epoch.")
    reached: dict[str, int | None] = {"epoch": None}
    # the last snapshot known to be good, and the latest one (its loss is known one epoch later)
    kept: dict[str, Any] = {"good": fitting if fitting is not model else None, "latest": None}

    def checkpoint(snapshot: Any) -> None:
        # the latest snapshot's parameters have the loss of this epoch: judge it now
        losses = snapshot.history_.loss
        lowest = losses[-1] <= min(losses)
        if kept["latest"] is not None and lowest and verdict(losses, finished=True) is None:
            kept["good"] = kept["latest"]
        kept["latest"] = snapshot
        save_checkpoint(snapshot, path, metadata=metadata)
        reached["epoch"] = epochs_trained(snapshot)
        written[0] = time.monotonic()

    written = [time.monotonic()]

    def between_blocks(snapshot: Any) -> None:
        if every is not None and time.monotonic() - written[0] >= every:
            save_checkpoint(snapshot, path, metadata=metadata)
            reached["epoch"] = epochs_trained(snapshot)
            written[0] = time.monotonic()

    blocks_too = {} if every is None else {"block_callback": between_blocks}
    try:
        notes = train(fitting, X, y, callback=checkpoint, **blocks_too)
    except KeyboardInterrupt:
        raise CommandFailure(
            f"interrupted (Ctrl-C); {_saved_epoch(path, reached['epoch'], unit)}.", EXIT_INTERRUPTED
        ) from None
    except DivergenceError as error:
        raise CommandFailure(
            f"{cli_message(error)} {_keep_last_good(kept['good'], path, metadata, unit)}",
            EXIT_DIVERGED,
        ) from None
    _finish(fitting, epochs)
    save_checkpoint(fitting, path, metadata=metadata)
    return fitting, notes
