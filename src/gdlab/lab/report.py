"""The lab's self-contained HTML report: every figure embedded, every table, our explanations.

Everything that is text goes through :func:`html.escape`, so a title, a cell or a note can never
inject markup, whatever it contains. The page has no scripts and loads nothing from outside.
"""

from __future__ import annotations

import base64
import html
from collections.abc import Mapping, Sequence

from gdlab.lab.experiment import Experiment, Table

__all__ = ["render_html"]

_STYLE = """
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; margin: 0 auto;
       max-width: 1180px; padding: 1.5em 2em 4em; color: #1d2430; line-height: 1.5; }
h1 { margin-bottom: 0.2em; }
h2 { border-top: 2px solid #d8dee8; padding-top: 1em; margin-top: 2.2em; }
.meta, .source { color: #5a6475; font-size: 0.92em; }
nav ol { columns: 2; }
table { border-collapse: collapse; margin: 0.8em 0 0.3em; font-size: 0.9em; }
caption { text-align: left; font-weight: 600; padding-bottom: 0.3em; }
th, td { border: 1px solid #cdd4df; padding: 0.25em 0.6em; text-align: right; }
th { background: #eef2f7; }
td:first-child, th:first-child { text-align: left; }
p.note { margin-top: 0.1em; font-size: 0.85em; color: #5a6475; }
figure { margin: 1.2em 0; }
figure img { max-width: 100%; height: auto; border: 1px solid #e3e7ee; }
figcaption { font-size: 0.85em; color: #5a6475; }
"""


def _e(text: object) -> str:
    return html.escape(str(text), quote=True)


def _table(table: Table) -> str:
    head = "".join(f"<th>{_e(c)}</th>" for c in table.columns)
    body = "".join(
        "<tr>" + "".join(f"<td>{_e(cell)}</td>" for cell in row) + "</tr>" for row in table.rows
    )
    note = f'<p class="note">{_e(table.note)}</p>' if table.note else ""
    return (
        f"<table><caption>{_e(table.title)}</caption><thead><tr>{head}</tr></thead>"
        f"<tbody>{body}</tbody></table>{note}"
    )


def _section(experiment: Experiment, image: bytes | None) -> str:
    parts = [
        f'<section id="{_e(experiment.key)}">',
        f"<h2>{_e(experiment.title)}</h2>",
        f'<p class="source">Reproduces: {_e(experiment.source)}</p>',
    ]
    parts += [f"<p>{_e(paragraph)}</p>" for paragraph in experiment.explanation]
    if image is not None:
        encoded = base64.b64encode(image).decode("ascii")
        parts.append(
            f'<figure><img src="data:image/png;base64,{encoded}" alt="{_e(experiment.title)}">'
            f"<figcaption>{_e(experiment.figure_name)}</figcaption></figure>"
        )
    parts += [_table(table) for table in experiment.tables]
    parts.append("</section>")
    return "\n".join(parts)


def render_html(
    experiments: Sequence[Experiment],
    images: Mapping[str, bytes],
    *,
    title: str = "gdlab: the gradient descent lab",
    meta: str = "",
    playground: str | None = None,
) -> str:
    """The complete report as one HTML string.

    Parameters
    ----------
    experiments : sequence of Experiment
    images : dict of experiment key to PNG bytes
        Embedded as base64 data URIs, so the file stands alone.
    title, meta : str
        The page heading and a line under it (seed, version, run time).
    playground : str, optional
        The relative address of the playground page, linked under the introduction.

    Examples
    --------
    >>> from gdlab.lab.experiment import Experiment, Table
    >>> t = Table("T", ["a"], [["<b>"]])
    >>> e = Experiment("k", "<script>x</script>", "s", ["p"], [t], {}, {}, lambda e: None)
    >>> page = render_html([e], {})
    >>> "<script>" in page, "&lt;script&gt;x" in page, "&lt;b&gt;" in page
    (False, True, True)
    """
    toc = "".join(f'<li><a href="#{_e(e.key)}">{_e(e.title)}</a></li>' for e in experiments)
    sections = "\n".join(_section(e, images.get(e.key)) for e in experiments)
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{_e(title)}</title>\n<style>{_STYLE}</style>\n</head>\n<body>\n"
        f"<h1>{_e(title)}</h1>\n"
        f'<p class="meta">{_e(meta)}</p>\n'
        "<p>Every experiment of the two gradient-descent lessons, recomputed with gdlab on "
        "the lessons' own synthetic data. Each section says what to look for, shows the figure "
        "and lists the numbers behind it.</p>\n"
        + (
            f'<p class="playground"><a href="{_e(playground)}">Open the playground</a>: steer '
            "gradient descent yourself (drag the start, slide the learning rate past 2/L, compare "
            "optimizers step by step).</p>\n"
            if playground
            else ""
        )
        + f"<nav><h3>Experiments</h3><ol>{toc}</ol></nav>\n"
        f"{sections}\n</body>\n</html>\n"
    )
