"""DATA as the commands see it: a table read from a file, split into features and target."""

from __future__ import annotations

import shlex
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from gdlab.cli._options import column_list
from gdlab.cli._output import esc


class Dataset:
    """A table read from DATA and split into features and target, with the task resolved."""

    def __init__(
        self,
        path: Path,
        target: str,
        task: str = "auto",
        features: str | None = None,
        exclude: str | None = None,
        min_rows: int = 2,
    ) -> None:
        from gdlab.data.inmemory import read_xy

        self.path = path
        self.target = target
        table = read_xy(
            path,
            target,
            features=column_list(features),
            exclude=column_list(exclude) or (),
            min_rows=min_rows,
        )
        if table is None:  # anything unusual: pandas reads it and words any error
            self._read_frame(path, target, task, features, exclude, min_rows)
            return
        from gdlab.data._files import _target, infer_task

        if task == "auto":
            self.task, self.task_reason = infer_task(table.target)
        else:
            self.task, self.task_reason = task, "chosen with --task"
        self.y = _target(table.target, target, self.task, str(path))
        self.X, self.feature_names = table.X, table.names
        self.notes = _id_notes(table.id_like)

    def _read_frame(
        self,
        path: Path,
        target: str,
        task: str,
        features: str | None,
        exclude: str | None,
        min_rows: int,
    ) -> None:
        from gdlab.data._files import id_like_columns, infer_task, read_table, split_xy

        frame = read_table(path)
        source = str(path)
        if target not in frame.columns:
            # let split_xy word the error (it lists the columns there are)
            split_xy(frame, target, source=source)
        if task == "auto":
            self.task, self.task_reason = infer_task(frame[target])
        else:
            self.task, self.task_reason = task, "chosen with --task"
        self.X, self.y, self.feature_names = split_xy(
            frame,
            target,
            self.task,
            features=column_list(features),
            exclude=column_list(exclude) or (),
            min_rows=min_rows,
            source=source,
        )
        self.notes = _id_notes(id_like_columns(frame, self.feature_names))

    @property
    def n_rows(self) -> int:
        return int(self.X.shape[0])

    @property
    def heading(self) -> str:
        """``file -> target`` for a table title (escaped for rich markup)."""
        return f"{esc(self.path.name)} -> {esc(self.target)}"

    @property
    def score_name(self) -> str:
        """What ``model.score`` measures for the task: accuracy or R^2."""
        return "accuracy" if self.task == "classification" else "R^2"

    def frame(self, X: Any = None) -> Any:
        """``X`` (default all rows) as a DataFrame with the feature names as columns."""
        import pandas as pd

        return pd.DataFrame(self.X if X is None else X, columns=self.feature_names)


def _id_notes(names: Sequence[str]) -> list[str]:
    return [
        f"column {name!r} counts up by one like a row number; if it is an id, leave it out "
        f"with --exclude {shlex.quote(name)}."
        for name in names
    ]
