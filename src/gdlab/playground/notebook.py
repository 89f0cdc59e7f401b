"""``gdlab.playground.show()``: the playground inline in a Jupyter notebook."""

from __future__ import annotations

import html
from collections.abc import Sequence
from typing import Any

from gdlab.playground.grid import file_variants
from gdlab.playground.page import build_page

__all__ = ["show"]


def show(surfaces: Sequence[str] | None = None, *, height: int = 1300) -> Any:
    """Display the playground in a notebook (an ``<iframe>`` holding the self-contained page).

    Parameters
    ----------
    surfaces : sequence of str, optional
        Only these surfaces (for example ``["rosenbrock"]``; smaller and quicker to build).
        Default: all of them.
    height : int, default 1300
        The frame's height in pixels.

    Returns
    -------
    IPython.display.HTML
        Also displayed at once when IPython is running.

    Raises
    ------
    ModuleNotFoundError
        When IPython is not installed (write the page with ``gdlab playground --out`` instead).
    """
    try:
        from IPython.display import HTML, display
    except ModuleNotFoundError:
        raise ModuleNotFoundError(
            "gdlab.playground.show() needs IPython (a Jupyter notebook); without it, write the "
            "page with 'gdlab playground --out playground.html' and open that file."
        ) from None
    variants = file_variants()
    if surfaces is not None:
        known = sorted({v.surface.name for v in variants})
        unknown = [s for s in surfaces if s not in known]
        if unknown or not surfaces:
            raise ValueError(
                f"The 'surfaces' parameter of show must name some of: {', '.join(known)}. "
                f"Got {list(surfaces)!r} instead."
            )
        variants = [v for v in variants if v.surface.name in surfaces]
    page = build_page(variants)
    frame = HTML(
        f'<iframe srcdoc="{html.escape(page, quote=True)}" style="width: 100%; '
        f'height: {int(height)}px; border: 0" title="gdlab playground"></iframe>'
    )
    display(frame)
    return frame
