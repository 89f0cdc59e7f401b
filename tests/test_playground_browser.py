"""The playground page in a real browser (Playwright for Python driving the system's Chromium).

What the page draws must be what gdlab computes: every test compares the page's read-only hook
``window.gdlabPlayground.state()`` with :func:`gdlab.playground.run`. The browser is never
downloaded: it is found through ``GDLAB_CHROMIUM`` or ``chromium`` on the PATH (Debian's package,
which ``make test`` installs where it can). Without it these tests are skipped with a warning that
names what is missing.
"""

from __future__ import annotations

import math
import os
import shutil
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from gdlab.playground import get_surface, run
from gdlab.playground.page import MAX_PAGE_BYTES, write_page
from gdlab.playground.server import PlaygroundServer

pytestmark = pytest.mark.xdist_group("playground-browser")

CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
OKABE_ITO_BLUE = (0, 114, 178)


def chromium_path() -> str | None:
    """The Chromium to drive: ``$GDLAB_CHROMIUM``, else ``chromium`` on the PATH."""
    configured = os.environ.get("GDLAB_CHROMIUM")
    if configured:
        return configured if Path(configured).exists() else None
    return shutil.which("chromium") or shutil.which("chromium-browser")


def _skip_loudly(reason: str) -> None:
    message = f"playground browser tests SKIPPED: {reason}"
    warnings.warn(message, stacklevel=2)
    pytest.skip(message)


@pytest.fixture(scope="module")
def browser() -> Any:
    try:
        from playwright.sync_api import sync_playwright
    except ModuleNotFoundError:
        _skip_loudly("Playwright for Python is missing (pip install 'gdlab[playground]').")
    path = chromium_path()
    if path is None and os.environ.get("GDLAB_CHROMIUM"):
        _skip_loudly(f"GDLAB_CHROMIUM={os.environ['GDLAB_CHROMIUM']!r} is not a file.")
    if path is None:
        _skip_loudly(
            "no Chromium found: install Debian's 'chromium' package (make test does this as root) "
            "or set GDLAB_CHROMIUM to a Chromium binary."
        )
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=path, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.fixture(scope="module")
def page_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_page(tmp_path_factory.mktemp("playground") / "playground.html")


@pytest.fixture(scope="module")
def screenshots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = os.environ.get("GDLAB_SCREENSHOTS")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        return Path(folder)
    return tmp_path_factory.mktemp("screenshots")


class Opened:
    """A page with everything it logged and requested."""

    def __init__(self, browser: Any, url: str, width: int = 1280, height: int = 800) -> None:
        self.context = browser.new_context(viewport={"width": width, "height": height})
        self.page = self.context.new_page()
        self.errors: list[str] = []
        self.requests: list[str] = []
        self.page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.on("request", lambda r: self.requests.append(r.url))
        self.page.goto(url)
        self.page.wait_for_function(
            "() => window.gdlabPlayground && window.gdlabPlayground.ready()"
        )

    def state(self) -> dict[str, Any]:
        return self.page.evaluate("() => window.gdlabPlayground.state()")

    def wait(self, predicate: str, arg: Any = None) -> dict[str, Any]:
        """Wait until ``predicate(state, arg)`` (JavaScript) holds; return the state."""
        self.page.wait_for_function(
            f"([arg]) => {{ const s = window.gdlabPlayground.state(); return ({predicate}); }}",
            arg=[arg],
        )
        return self.state()

    def check_clean(self, allowed: tuple[str, ...] = ("file://", "data:")) -> None:
        assert self.errors == []
        outside = [u for u in self.requests if not u.startswith(allowed)]
        assert outside == []

    def close(self) -> None:
        self.context.close()


@pytest.fixture
def opened(browser: Any, page_file: Path) -> Any:
    page = Opened(browser, page_file.as_uri())
    yield page
    page.close()


def drawn_equals_python(state: dict[str, Any], exact: bool = False) -> int:
    """Assert every drawn path is :func:`run` for its settings; return how many were checked."""
    for drawn in state["runs"]:
        path = np.array(
            [[math.nan if v is None else v for v in p] for p in drawn["path"]], dtype=float
        )
        expected = run(
            state["surface"], drawn["optimizer"], drawn["start"], len(path) - 1, **drawn["settings"]
        )
        if not exact:
            with np.errstate(over="ignore"):
                expected = expected.astype(np.float32).astype(float)
        np.testing.assert_array_equal(path, expected)
    return len(state["runs"])


def test_page_file_is_self_contained_and_under_5_mb(page_file: Path) -> None:
    text = page_file.read_text(encoding="utf-8")
    assert page_file.stat().st_size <= MAX_PAGE_BYTES
    assert "http://" not in text and "https://" not in text
    assert "default-src 'none'" in text  # the page may not load anything


def test_every_surface_draws_the_runs_python_computes(opened: Opened, screenshots: Path) -> None:
    surfaces = opened.page.locator("#surface option").evaluate_all("os => os.map(o => o.value)")
    assert surfaces == ["regression", "quadratic", "rosenbrock", "saddle", "local_minima"]
    checked = 0
    for name in surfaces:
        opened.page.get_by_label("Surface", exact=True).select_option(name)
        state = opened.wait("s.surface === arg && s.runs.length === 3", name)
        checked += drawn_equals_python(state)
        opened.page.screenshot(path=str(screenshots / f"playground-{name}.png"), full_page=True)
    assert checked == 15
    opened.page.get_by_label("Random restarts").check()
    state = opened.wait("s.runs.length === 4")
    assert len({tuple(r["start"]) for r in state["runs"]}) == 4
    drawn_equals_python(state)
    opened.page.screenshot(path=str(screenshots / "playground-restarts.png"), full_page=True)
    opened.check_clean()


def test_learning_rate_slider_changes_the_drawn_path(opened: Opened) -> None:
    before = opened.state()
    slider = opened.page.get_by_label("Learning rate (run 1)")
    assert slider.get_attribute("type") == "range"
    slider.focus()
    opened.page.keyboard.press("ArrowRight")  # keyboard-operable
    rate = before["runs"][0]["settings"]["learning_rate"]
    after = opened.wait("s.runs[0].settings.learning_rate > arg", rate)
    assert after["runs"][0]["path"] != before["runs"][0]["path"]
    drawn_equals_python(after)
    opened.check_clean()


@pytest.mark.parametrize("surface", ["regression", "quadratic", "rosenbrock"])
def test_the_two_over_l_mark_sits_at_two_over_l(opened: Opened, surface: str) -> None:
    opened.page.get_by_label("Surface", exact=True).select_option(surface)
    opened.wait("s.surface === arg", surface)
    python = get_surface(surface)
    mark = opened.page.locator("#runs .mark").first
    assert float(mark.get_attribute("data-value")) == pytest.approx(python.two_over_l, rel=1e-12)
    rates = np.log(python.learning_rates)
    fraction = (np.log(python.two_over_l) - rates[0]) / (rates[-1] - rates[0])
    track = opened.page.get_by_label("Learning rate (run 1)").bounding_box()
    box = mark.bounding_box()
    thumb = 16  # the thumb's width in the page's style: its centre runs from 8 px to width - 8 px
    expected = track["x"] + thumb / 2 + fraction * (track["width"] - thumb)
    assert box["x"] + box["width"] / 2 == pytest.approx(expected, abs=1.5)


def test_dragging_the_start_in_the_file_snaps_to_a_held_start(opened: Opened) -> None:
    opened.page.get_by_label("Surface", exact=True).select_option("rosenbrock")
    state = opened.wait("s.surface === 'rosenbrock'")
    held = get_surface("rosenbrock").starts
    assert state["start"] == list(held[0])
    source = opened.page.evaluate("([x, y]) => window.gdlabPlayground.toScreen(x, y)", held[0])
    near = opened.page.evaluate(
        "([x, y]) => window.gdlabPlayground.toScreen(x + 0.1, y - 0.1)", held[1]
    )
    opened.page.mouse.move(*source)
    opened.page.mouse.down()
    opened.page.mouse.move(*near, steps=5)
    opened.page.mouse.up()
    state = opened.wait("s.runs.every(r => r.start[0] === arg)", held[1][0])
    assert state["start"] == list(held[1])
    drawn_equals_python(state)
    opened.check_clean()


def test_canvas_is_not_blank(opened: Opened) -> None:
    counts = opened.page.evaluate(
        """([r, g, b]) => {
            const c = document.getElementById('surface-canvas');
            const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
            const colours = new Set(); let run = 0;
            for (let i = 0; i < d.length; i += 4) {
                colours.add((d[i] << 16) | (d[i + 1] << 8) | d[i + 2]);
                const near = (k, v) => Math.abs(d[i + k] - v) < 8;
                if (near(0, r) && near(1, g) && near(2, b)) run++;
            }
            return {colours: colours.size, run};
        }""",
        list(OKABE_ITO_BLUE),
    )
    assert counts["colours"] > 50  # contours, paths, markers, labels
    assert counts["run"] > 50  # run 1's path, in Okabe-Ito blue


def test_state_is_kept_in_the_url(opened: Opened, browser: Any) -> None:
    opened.page.get_by_label("Surface", exact=True).select_option("saddle")
    opened.wait("s.surface === 'saddle'")
    opened.page.get_by_label("Optimizer").first.select_option("nesterov")
    state = opened.wait("s.runs[0].optimizer === 'nesterov'")
    again = Opened(browser, opened.page.url)
    try:
        assert again.state() == state
    finally:
        again.close()


def test_controls_are_labelled_and_playback_steps(opened: Opened) -> None:
    unlabelled = opened.page.evaluate(
        """() => [...document.querySelectorAll('select, input, button')]
            .filter(e => !e.closest('[hidden]'))
            .filter(e => !(e.labels && e.labels.length) && !e.getAttribute('aria-label')
                         && !(e.tagName === 'BUTTON' && e.textContent.trim()))
            .map(e => e.id || e.outerHTML)"""
    )
    assert unlabelled == []
    opened.page.get_by_role("button", name="Step", exact=True).click()
    assert opened.state()["step"] == 0
    opened.page.get_by_role("button", name="Step", exact=True).click()
    assert opened.state()["step"] == 1
    scrub = opened.page.get_by_label("Step", exact=True)
    scrub.focus()
    opened.page.keyboard.press("End")
    assert opened.state()["step"] == 100
    opened.check_clean()


def test_narrow_window_has_no_sideways_scrolling(
    browser: Any, page_file: Path, screenshots: Path
) -> None:
    narrow = Opened(browser, page_file.as_uri(), width=400, height=800)
    try:
        width = narrow.page.evaluate("() => document.documentElement.scrollWidth")
        assert width <= 400
        box = narrow.page.locator("#surface-canvas").bounding_box()
        assert 250 < box["width"] <= 400
        narrow.page.screenshot(path=str(screenshots / "playground-narrow.png"), full_page=True)
        narrow.check_clean()
    finally:
        narrow.close()


def test_served_page_runs_from_where_the_start_is_dragged(browser: Any) -> None:
    server = PlaygroundServer().start()
    served = Opened(browser, server.url)
    try:
        served.page.get_by_label("Surface", exact=True).select_option("quadratic")
        state = served.wait("s.surface === 'quadratic' && s.runs.length === 3")
        start = state["start"]
        source = served.page.evaluate("([x, y]) => window.gdlabPlayground.toScreen(x, y)", start)
        target = served.page.evaluate("() => window.gdlabPlayground.toScreen(2.5, -1.2)")
        served.page.mouse.move(*source)
        served.page.mouse.down()
        served.page.mouse.move(*target, steps=6)
        served.page.mouse.up()
        state = served.wait(
            "s.runs.length === 3 && s.runs.every(r => r.start[0] === s.start[0] && "
            "r.start[1] === s.start[1]) && Math.abs(s.start[0] - 2.5) < 0.1"
        )
        assert state["start"] != start
        assert state["start"] == pytest.approx([2.5, -1.2], abs=0.1)
        for drawn in state["runs"]:
            assert drawn["path"][0] == state["start"]
        drawn_equals_python(state, exact=True)  # JSON carries the float64 numbers themselves
        served.check_clean(allowed=(server.url,))
    finally:
        served.close()
        server.stop()
