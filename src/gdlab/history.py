"""What training records, epoch by epoch."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Self

import numpy as np
from numpy.typing import NDArray

__all__ = ["EpochRecord", "History"]


@dataclass(frozen=True)
class EpochRecord:
    """One epoch's numbers, as passed to a training callback.

    ``loss`` is the mean of the mini-batch losses measured during the epoch, each before its update
    (for full-batch training, the loss at the parameters the epoch started from, as in the lessons).
    """

    epoch: int
    loss: float
    val_loss: float | None
    learning_rate: float | None
    grad_norm: float
    n_updates: int
    n_samples_seen: int
    params: NDArray[Any]


@dataclass
class History:
    """The training record of a fit or a minimisation.

    Attributes
    ----------
    epoch, loss, val_loss, learning_rate, grad_norm, n_updates, n_samples_seen : list
        One entry per epoch. ``n_updates`` and ``n_samples_seen`` are cumulative counts at the end
        of the epoch, so that curves can be drawn against updates or examples seen.
    params : list of arrays
        The parameter path (the start, then the parameters after each epoch) when recording was
        asked for, else empty.
    step_loss : list of float
        The loss of every mini-batch before its update, when recording steps was asked for.
    backend : str
        The implementation that ran the epochs (``"numpy"`` or a compiled one).
    stop_reason : str
        Why training stopped.

    Examples
    --------
    >>> h = History()
    >>> h.append(EpochRecord(0, 2.0, None, 0.1, 1.0, 10, 100, np.zeros(2)))
    >>> h.loss, len(h)
    ([2.0], 1)
    """

    epoch: list[int] = field(default_factory=list)
    loss: list[float] = field(default_factory=list)
    val_loss: list[float | None] = field(default_factory=list)
    learning_rate: list[float | None] = field(default_factory=list)
    grad_norm: list[float] = field(default_factory=list)
    n_updates: list[int] = field(default_factory=list)
    n_samples_seen: list[int] = field(default_factory=list)
    params: list[NDArray[Any]] = field(default_factory=list)
    step_loss: list[float] = field(default_factory=list)
    backend: str = "numpy"
    stop_reason: str = ""

    def __len__(self) -> int:
        return len(self.loss)

    def append(self, record: EpochRecord) -> None:
        """Add one epoch's numbers."""
        self.epoch.append(record.epoch)
        self.loss.append(record.loss)
        self.val_loss.append(record.val_loss)
        self.learning_rate.append(record.learning_rate)
        self.grad_norm.append(record.grad_norm)
        self.n_updates.append(record.n_updates)
        self.n_samples_seen.append(record.n_samples_seen)

    def param_path(self) -> NDArray[Any]:
        """The recorded parameter path as a 2-D array ``(n_points, n_params)``."""
        if not self.params:
            raise ValueError("No parameter path was recorded: fit with record_params=True.")
        return np.stack([np.ravel(p) for p in self.params])

    def to_dict(self, *, params_as_array: bool = False) -> dict[str, Any]:
        """The history as plain data: lists of numbers and strings (JSON-compatible).

        The parameter path (when recorded) is ``"params"``: a list of lists, or with
        ``params_as_array=True`` the 2-D array of :meth:`param_path` (dtype kept), as an
        estimator's ``state_dict()`` holds it. :meth:`from_dict` takes either.

        Examples
        --------
        >>> h = History()
        >>> h.append(EpochRecord(0, 2.0, None, 0.1, 1.0, 10, 100, np.zeros(2)))
        >>> h.to_dict()["loss"], History.from_dict(h.to_dict()).loss
        ([2.0], [2.0])
        """
        data: dict[str, Any] = {
            "epoch": list(self.epoch),
            "loss": [float(v) for v in self.loss],
            "val_loss": [None if v is None else float(v) for v in self.val_loss],
            "learning_rate": [None if v is None else float(v) for v in self.learning_rate],
            "grad_norm": [float(v) for v in self.grad_norm],
            "n_updates": list(self.n_updates),
            "n_samples_seen": list(self.n_samples_seen),
            "step_loss": [float(v) for v in self.step_loss],
            "backend": self.backend,
            "stop_reason": self.stop_reason,
        }
        if self.params:
            path = self.param_path()
            data["params"] = path if params_as_array else path.tolist()
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Self:
        """Rebuild a history from :meth:`to_dict`'s output, checked.

        Raises
        ------
        ValueError
            When an entry is missing or of the wrong type, or the per-epoch lists differ in
            length; the message names the entry.
        """
        _check_records(data)
        params = data.get("params", [])
        if isinstance(params, np.ndarray):
            if params.ndim != 2 or params.dtype.kind != "f":
                raise ValueError("The history's params should be a 2-D float array.")
            path = [np.array(row) for row in params]
        elif isinstance(params, list):
            path = [np.asarray(p, dtype=float) for p in params]
        else:
            raise ValueError("The history's params should be an array or a list of lists.")
        texts = {key: data.get(key, default) for key, default in _TEXTS.items()}
        for key, value in texts.items():
            if not isinstance(value, str):
                raise ValueError(f"The history's {key} should be text, not {value!r}.")
        return cls(
            epoch=[int(v) for v in data["epoch"]],
            loss=[float(v) for v in data["loss"]],
            val_loss=list(data["val_loss"]),
            learning_rate=list(data["learning_rate"]),
            grad_norm=[float(v) for v in data["grad_norm"]],
            n_updates=[int(v) for v in data["n_updates"]],
            n_samples_seen=[int(v) for v in data["n_samples_seen"]],
            params=path,
            step_loss=[float(v) for v in data.get("step_loss", [])],
            backend=texts["backend"],
            stop_reason=texts["stop_reason"],
        )


#: the per-epoch lists of a history: the kind of their entries (``"int"``, ``"float"`` or
#: ``"float?"``: a number or ``None``)
_RECORDS = {
    "epoch": "int",
    "loss": "float",
    "val_loss": "float?",
    "learning_rate": "float?",
    "grad_norm": "float",
    "n_updates": "int",
    "n_samples_seen": "int",
}
_TEXTS = {"backend": "numpy", "stop_reason": ""}


def _check_records(data: Any) -> None:
    """Check the per-epoch lists (and ``step_loss``) of a history's plain data."""
    if not isinstance(data, dict):
        raise ValueError(f"A history should be a dict, not a {type(data).__name__}.")
    lengths = set()
    for key, kind in {**_RECORDS, "step_loss": "float"}.items():
        entries = data.get(key, [] if key == "step_loss" else None)
        if not isinstance(entries, list):
            raise ValueError(f"The history's {key} should be a list, not {entries!r}.")
        if key != "step_loss":
            lengths.add(len(entries))
        for index, value in enumerate(entries):
            if value is None and kind == "float?":
                continue
            integral = isinstance(value, int) and not isinstance(value, bool)
            if not (integral or (kind != "int" and isinstance(value, float))):
                expected = "an integer" if kind == "int" else "a number"
                raise ValueError(
                    f"The history's {key}[{index}] should be {expected}, not {value!r}."
                )
    if len(lengths) != 1:
        raise ValueError("The history's per-epoch lists have different lengths.")
