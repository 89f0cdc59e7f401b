"""Hostile text from the user's data stays text: in report.html and in the terminal output; and the
Parquet reader is at a version without the known code-execution flaw (CVE-2023-47248)."""

from __future__ import annotations

import importlib.metadata
import tomllib
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest
from packaging.requirements import Requirement
from packaging.version import Version

SCRIPT = "<script>alert(1)</script>"
HOSTILE = [
    SCRIPT,
    '"><img src=x onerror=alert(2)>',
    "' onmouseover='alert(3)",
    "</table></section><iframe src=javascript:alert(4)>",
    "&lt;already&gt; &amp;",
]


class _Collector(HTMLParser):
    """Every tag, attribute and text node of a page, as the browser's parser sees them."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[str] = []
        self.attributes: list[tuple[str, str | None]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs) -> None:
        self.tags.append(tag)
        self.attributes.extend(attrs)

    def handle_data(self, data) -> None:
        self.text.append(data)


def test_report_html_keeps_hostile_text_as_text() -> None:
    pytest.importorskip("matplotlib")
    from gdlab.lab.experiment import Experiment, Table
    from gdlab.lab.report import render_html

    table = Table(HOSTILE[0], [HOSTILE[1], "value"])
    for text in HOSTILE:
        table.add(text, text)
    table.note = HOSTILE[3]
    experiment = Experiment(
        HOSTILE[2], SCRIPT, HOSTILE[3], list(HOSTILE), [table], {}, {}, lambda e: None
    )
    clean = Experiment(
        "ok", "plain", "lesson", ["p"], [Table("t", ["a"], [["1"]])], {}, {}, lambda e: None
    )
    page = render_html([experiment, clean], {HOSTILE[2]: b"\x89PNG"}, title=SCRIPT, meta=HOSTILE[1])
    parsed = _Collector()
    parsed.feed(page)
    reference = _Collector()
    reference.feed(render_html([clean], {}))
    assert "script" not in parsed.tags and "iframe" not in parsed.tags
    assert parsed.tags.count("img") == 1  # only the embedded figure
    assert set(parsed.tags) == set(reference.tags) | {"img", "figure", "figcaption"}
    assert not any(name.startswith("on") for name, _ in parsed.attributes)
    text = "".join(parsed.text)
    for hostile in HOSTILE:
        assert hostile in text  # shown to the reader exactly as written
    assert page.count("<script") == 0 and "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_command_line_prints_hostile_names_as_text(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from gdlab.cli import cli

    rng = np.random.default_rng(0)
    X = rng.normal(size=(40, 2))
    labels = np.where(X[:, 0] > 0, "[bold red]spam[/]", SCRIPT)
    names = [SCRIPT, "[link=http://evil]click[/link]"]
    path = tmp_path / "[bold red]data.csv"  # a tag that would swallow itself if interpreted
    lines = [",".join([*names, "label"])]
    lines += [f"{a:.6f},{b:.6f},{c}" for (a, b), c in zip(X, labels, strict=True)]
    path.write_text("\n".join(lines) + "\n")
    result = CliRunner().invoke(
        cli, ["fit", str(path), "--target", "label", "--epochs", "5", "--validation-fraction", "0"]
    )
    assert result.exit_code == 0, result.output
    output = " ".join(result.output.split())
    for text in [*names, "[bold red]spam[/]", "[bold red]data.csv"]:
        assert text in output  # rich markup printed literally, not interpreted


def test_pyarrow_is_required_at_a_safe_version() -> None:
    pyproject = tomllib.loads((Path(__file__).parents[1] / "pyproject.toml").read_text())
    extras = pyproject["project"]["optional-dependencies"]
    requirements = [Requirement(r) for group in extras.values() for r in group]
    pyarrow = [r for r in requirements if r.name == "pyarrow"]
    assert pyarrow, "pyarrow must be declared"
    for requirement in pyarrow:  # 14.0.0 and older have the Parquet deserialization flaw
        assert not requirement.specifier.contains("14.0.0")
        assert requirement.specifier.contains("14.0.1")
    installed = Version(importlib.metadata.version("pyarrow"))
    assert installed >= Version("14.0.1")
