"""The errors gdlab raises on purpose."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

__all__ = ["DataError", "DivergenceError", "GDLabError", "ModelFileError"]


class GDLabError(Exception):
    """Base of gdlab's own errors."""


class DataError(GDLabError, ValueError):
    """A data file or table that cannot be used, with the file, column and row named."""


class ModelFileError(GDLabError, ValueError):
    """A model or checkpoint file that is not a valid gdlab file; the message names the problem.

    Raised for files that are truncated, corrupted, edited, written by a newer gdlab, or not gdlab
    files at all (a pickle posing as one included); loading such a file never runs code from it.
    """


class DivergenceError(GDLabError, ArithmeticError):
    """Training stopped because the loss became non-finite or exploded.

    Attributes
    ----------
    epoch : int
        The epoch (0-based) during which the loss diverged.
    losses : list of float
        The last epoch losses before and at divergence.
    suggested_learning_rate : float or None
        A step size that is expected to be stable, when one could be computed.
    history : History or None
        What was recorded up to the divergence.
    """

    def __init__(
        self,
        message: str,
        *,
        epoch: int,
        losses: Sequence[float] = (),
        suggested_learning_rate: float | None = None,
        history: Any = None,
    ) -> None:
        super().__init__(message)
        self.epoch = epoch
        self.losses = list(losses)
        self.suggested_learning_rate = suggested_learning_rate
        self.history = history
