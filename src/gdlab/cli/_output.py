"""What the commands print and write: tables, numbers, figures, and the guard that no output
replaces an input.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from gdlab.cli._errors import EXIT_BAD_INPUT, CommandFailure


def batch_text(batch_size: int | None) -> str:
    """A batch size as the command line writes it: ``full`` for full-batch, else the number."""
    return "full" if batch_size is None else str(batch_size)


def console() -> Any:
    """A rich console on stdout (colours only on a terminal)."""
    from rich.console import Console

    return Console(highlight=False)


def fmt(value: Any, digits: int = 6) -> str:
    """A number for a table: ``g`` format, or ``-`` for None."""
    if value is None:
        return "-"
    if isinstance(value, float | int) and not isinstance(value, bool):
        return f"{value:.{digits}g}"
    return str(value)


def new_figure(width: float = 7.0, height: float = 4.5) -> Any:
    """A matplotlib Figure that belongs to no window (no pyplot state)."""
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), layout="constrained")


def facts_table(title: str) -> Any:
    """A rich table of two columns without a header: what (bold) and its value."""
    from rich.table import Table

    table = Table(title=title, show_header=False)
    table.add_column("what", style="bold")
    table.add_column("value")
    return table


def write_figure(out: Any, figure: Any, path: Path, what: str = "Figure") -> None:
    """Write ``figure`` to ``path`` atomically (folders made as needed) and print where it is."""
    from gdlab.io import atomic_write

    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(path, lambda handle: figure.savefig(handle, dpi=120, format=path.suffix[1:]))
    out.print(f"{what} written to {esc(path)}")


def refuse_overwriting_inputs(inputs: Sequence[Path], outputs: dict[str, Path | None]) -> None:
    """Exit 2 before any work when an output option names one of the input files.

    ``outputs`` maps an option (``"--out"``) to its path or ``None``; a path that is the same
    file as an input (same name once resolved, or the same file through a link) is refused.
    """

    for option, output in outputs.items():
        if output is None or not output.exists():
            continue
        for source in inputs:
            if source.exists() and os.path.samefile(output, source):
                raise CommandFailure(
                    f"{option} {output} is the input file {source}: writing there would destroy "
                    "it; choose another file name.",
                    EXIT_BAD_INPUT,
                )


def print_notes(out: Any, notes: Sequence[str]) -> None:
    """Print notes for the user (things that look wrong but are not errors)."""
    for note in notes:
        out.print(f"[yellow]Note:[/yellow] {esc(note)}")


def features_text(names: Sequence[str], limit: int = 8) -> str:
    """``"n: a, b, ..."``: the count and the first ``limit`` feature names, escaped for rich.

    >>> features_text([f"x{i}" for i in range(10)], limit=3)
    '10: x0, x1, x2, ... (7 more)'
    """
    shown = ", ".join(names[:limit])
    more = f", ... ({len(names) - limit} more)" if len(names) > limit else ""
    return f"{len(names)}: {esc(shown + more)}"


def esc(value: Any) -> str:
    """User text (file, column and class names) made safe for rich markup."""
    from rich.markup import escape

    return escape(str(value))
