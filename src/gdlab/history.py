"""What training records, epoch by epoch."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

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

    def to_dict(self) -> dict[str, Any]:
        """The history as plain lists and strings (JSON-compatible)."""
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
            data["params"] = self.param_path().tolist()
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> History:
        """Rebuild a history from :meth:`to_dict`'s output."""
        params = [np.asarray(p, dtype=float) for p in data.get("params", [])]
        return cls(
            epoch=[int(v) for v in data["epoch"]],
            loss=[float(v) for v in data["loss"]],
            val_loss=list(data["val_loss"]),
            learning_rate=list(data["learning_rate"]),
            grad_norm=[float(v) for v in data["grad_norm"]],
            n_updates=[int(v) for v in data["n_updates"]],
            n_samples_seen=[int(v) for v in data["n_samples_seen"]],
            params=params,
            step_loss=[float(v) for v in data.get("step_loss", [])],
            backend=str(data.get("backend", "numpy")),
            stop_reason=str(data.get("stop_reason", "")),
        )
