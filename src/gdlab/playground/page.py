"""The playground page: one self-contained HTML file (styles, script and data inlined).

The page loads nothing: its Content-Security-Policy forbids every request except, when served,
to the server that sent it.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from importlib import resources
from pathlib import Path
from typing import Any

from gdlab.io import atomic_write
from gdlab.playground.grid import FILE_STEPS, Variant, file_variants, page_data

__all__ = ["MAX_PAGE_BYTES", "build_page", "write_page"]

#: The largest page the playground writes (the issue's budget).
MAX_PAGE_BYTES = 5_000_000


def _asset(name: str) -> str:
    return resources.files("gdlab.playground").joinpath("assets", name).read_text(encoding="utf-8")


def _json_for_script(data: dict[str, Any]) -> str:
    """JSON that cannot end its ``<script>`` element early (``</`` is written ``<\\/``)."""
    return json.dumps(data, separators=(",", ":"), allow_nan=False).replace("</", "<\\/")


def render(data: dict[str, Any]) -> str:
    """The page's HTML around the given data (the result of :func:`~grid.page_data`)."""
    page = _asset("playground.html")
    for placeholder, text in (
        ("/*GDLAB_CSS*/", _asset("playground.css")),
        ("/*GDLAB_JS*/", _asset("playground.js")),
        ("/*GDLAB_DATA*/", _json_for_script(data)),
    ):
        page = page.replace(placeholder, text, 1)
    return page


def build_page(
    variants: Sequence[Variant] | None = None, *, mode: str = "file", steps: int = FILE_STEPS
) -> str:
    """The playground page as one HTML string.

    Parameters
    ----------
    variants : sequence of Variant, optional
        The surfaces and settings it offers (default: :func:`~grid.file_variants`).
    mode : {"file", "server"}
        ``"file"`` embeds every run of the grid; ``"server"`` embeds the surfaces only and asks
        the server that sent it for runs.
    steps : int
        Updates per run.

    Examples
    --------
    >>> from gdlab.playground import get_surface
    >>> from gdlab.playground.grid import make_variant
    >>> page = build_page([make_variant(get_surface("saddle"))], mode="server")
    >>> page.startswith("<!DOCTYPE html>"), "gdlabPlayground" in page
    (True, True)
    """
    if mode not in ("file", "server"):
        raise ValueError(
            f"The 'mode' parameter of build_page must be 'file' or 'server'. Got {mode!r}."
        )
    chosen = list(variants) if variants is not None else file_variants()
    return render(page_data(chosen, mode=mode, steps=steps))


def write_page(path: str | Path, variants: Sequence[Variant] | None = None) -> Path:
    """Write the self-contained playground (file mode) to ``path``, atomically.

    Raises
    ------
    ValueError
        If the page would exceed :data:`MAX_PAGE_BYTES`.
    """
    text = build_page(variants).encode("utf-8")
    if len(text) > MAX_PAGE_BYTES:
        raise ValueError(
            f"The playground page would be {len(text) / 1e6:.2f} MB, over its "
            f"{MAX_PAGE_BYTES / 1e6:.0f} MB budget; hold fewer variants."
        )
    return atomic_write(Path(path), lambda handle: handle.write(text))
