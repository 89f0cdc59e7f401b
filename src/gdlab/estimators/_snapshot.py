"""Histories of the estimators: independent copies, and per-epoch snapshots at O(1) per epoch.

A fit with ``callback=`` (and the command line's checkpoints) hands out after every epoch a
snapshot of the model fitted so far, whose ``history_`` must not change when training goes on.
Copying the whole history every epoch would make a run of ``n`` epochs copy ``n**2 / 2`` records.
Instead a :class:`SnapshotLog` keeps an append-only copy of the fit's history in the units of the
data, extended by the records new since the previous epoch; each snapshot's history is a prefix of
it (:meth:`SnapshotLog.prefix`) that shares the log's storage until it is first read, when it
becomes an ordinary history holding its own lists. A snapshot that is saved or inspected pays for
its own copy; one that is dropped costs nothing.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import fields
from typing import Any, TypeVar

from gdlab.history import History

__all__ = ["SnapshotLog", "copy_history"]

H = TypeVar("H", bound=History)
#: the recorded losses, in training units during a fit (the units of ``y`` times a factor)
_LOSSES = ("loss", "val_loss", "step_loss")


def copy_history(history: H) -> H:
    """A copy of ``history`` whose lists can be changed independently of it.

    Every list is copied (its elements, floats and arrays that are never changed in place, are
    shared); a dict of lists (:class:`~gdlab.nn.diagnostics.NetworkHistory`'s per-layer rows) is
    copied one level deeper.

    Examples
    --------
    >>> from gdlab.history import History
    >>> h = History(loss=[2.0, 1.0])
    >>> c = copy_history(h); c.loss.append(0.5)
    >>> h.loss, c.loss
    ([2.0, 1.0], [2.0, 1.0, 0.5])
    """
    values: dict[str, Any] = {}
    for spec in fields(history):
        value = getattr(history, spec.name)
        if isinstance(value, list):
            value = list(value)
        elif isinstance(value, dict):
            value = {key: list(rows) for key, rows in value.items()}
        values[spec.name] = value
    return type(history)(**values)


class SnapshotLog:
    """An append-only copy of a fit's history in the units of the data, for epoch snapshots.

    Parameters
    ----------
    history : History
        The history the engine appends to during the fit (in training units).
    loss_factor : float
        What a recorded training loss is multiplied by to be in the units of ``y`` (a power of
        two: exact).
    convert_params : callable or None
        Converts a recorded parameter vector of this fit to the units of ``X`` (``None``: as is).
    path_mark : int
        The recorded parameter vectors before this one: already in the units of ``X``.

    Attributes
    ----------
    records_copied : int
        The list entries copied into the log so far (what making the snapshots has cost).
    """

    def __init__(
        self,
        history: History,
        loss_factor: float = 1.0,
        convert_params: Callable[[Any], Any] | None = None,
        path_mark: int = 0,
    ) -> None:
        self._source = history
        self._loss_factor = loss_factor
        self._convert = convert_params
        self._path_mark = path_mark
        self.log = type(history)()
        self.records_copied = 0

    def _extend(self, name: str, target: list[Any], source: list[Any]) -> None:
        start = len(target)
        new = source[start:]
        if name in _LOSSES and self._loss_factor != 1.0:  # as _scale_losses converts them
            new = [None if v is None else v * self._loss_factor for v in new]
        elif name == "params" and self._convert is not None:
            convert = self._convert
            mark = self._path_mark
            new = [p if start + i < mark else convert(p) for i, p in enumerate(new)]
        target.extend(new)
        self.records_copied += len(new)

    def loss_curve(self) -> list[float]:
        """The losses logged so far, as a new list (``loss_curve_`` of the latest snapshot).

        ``loss_curve_`` is a plain list, so each snapshot holds its own: one copy of the floats'
        references per epoch (a single memory copy), the part of a snapshot that is not O(1).
        """
        return self.log.loss[:]

    def prefix(self) -> History:
        """The fit's history up to now (in the units of the data), sharing the log's storage.

        Only the records new since the previous call are copied into the log; the returned
        history copies its lists out of the log the first time it is read.
        """
        lengths: dict[str, Any] = {}
        scalars: dict[str, Any] = {}
        for spec in fields(self._source):
            name = spec.name
            source, target = getattr(self._source, name), getattr(self.log, name)
            if isinstance(source, list):
                self._extend(name, target, source)
                lengths[name] = len(target)
            elif isinstance(source, dict):
                for key, rows in source.items():
                    self._extend(name, target.setdefault(key, []), rows)
                lengths[name] = {key: len(rows) for key, rows in target.items()}
            else:
                scalars[name] = source
        history_class: Any = type(self.log)  # a class: hashable (mypy sees the instances' hash)
        cls: Any = _prefix_class(history_class)
        prefix: History = cls.__new__(cls)
        prefix.__dict__.update(scalars)  # as they are now (a default would hide them)
        prefix.__dict__["_prefix_of"] = (self, lengths)
        return prefix


class _Prefix:
    """A history that is a prefix of a :class:`SnapshotLog`'s until first read (see the module)."""

    def __getattr__(self, name: str) -> Any:
        # only called for attributes not set yet: the fields, before the first read
        pending = self.__dict__.get("_prefix_of")
        if pending is None or name.startswith("__"):
            raise AttributeError(name)
        self._materialize()
        return getattr(self, name)

    def _materialize(self) -> None:
        owner, lengths = self.__dict__.pop("_prefix_of")
        log = owner.log
        self.__class__ = type(log)  # from now on an ordinary history
        for spec in fields(log):
            name = spec.name
            value = getattr(log, name)
            if isinstance(value, list):
                value = value[: lengths[name]]
            elif isinstance(value, dict):
                value = {key: value[key][:length] for key, length in lengths[name].items()}
            else:
                continue  # a scalar: set when the prefix was made
            setattr(self, name, value)

    def __eq__(self, other: object) -> bool:
        if "_prefix_of" in self.__dict__:
            self._materialize()
        return bool(self == other)

    def __reduce_ex__(self, protocol: Any) -> Any:  # pickle and deepcopy: as an ordinary history
        if "_prefix_of" in self.__dict__:
            self._materialize()
        return self.__reduce_ex__(protocol)

    __hash__ = None  # type: ignore[assignment]  # as the dataclass: mutable, not hashable


@functools.cache
def _prefix_class(cls: Any) -> Any:
    """The lazy-prefix variant of the history class ``cls`` (one per class)."""
    return type(f"_{cls.__name__}Prefix", (_Prefix, cls), {"__module__": __name__})
