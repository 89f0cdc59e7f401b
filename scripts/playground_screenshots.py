"""Screenshots of the playground (every surface, a narrow window, the served page after a drag),
the page's size and its time to first draw; writes docs/playground.png for the README.

Needs Playwright for Python and the system's Chromium (``GDLAB_CHROMIUM`` or ``chromium`` on the
PATH; never downloaded). Usage::

    python scripts/playground_screenshots.py OUT_DIR [--readme docs/playground.png]
"""

from __future__ import annotations

import argparse
import io
import os
import shutil
import tempfile
from pathlib import Path

from playwright.sync_api import sync_playwright

from gdlab.playground.page import write_page
from gdlab.playground.server import PlaygroundServer

ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
READY = "() => window.gdlabPlayground && window.gdlabPlayground.ready()"


def _small_png(png: bytes, path: Path) -> None:
    """Save ``png`` with a 128-colour palette (a few hundred KB at most)."""
    from PIL import Image

    image = Image.open(io.BytesIO(png)).convert("RGB").quantize(colors=128)
    image.save(path, optimize=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--readme", type=Path, default=None)
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    chromium = os.environ.get("GDLAB_CHROMIUM") or shutil.which("chromium")
    page_path = write_page(Path(tempfile.mkdtemp()) / "playground.html")
    print(f"page size: {page_path.stat().st_size / 1e6:.2f} MB")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 800})
        page.goto(page_path.as_uri())
        page.wait_for_function(READY)
        print(f"time to first draw: {page.evaluate('window.gdlabPlayground.firstDrawMs()'):.0f} ms")
        for name in page.locator("#surface option").evaluate_all("os => os.map(o => o.value)"):
            page.get_by_label("Surface", exact=True).select_option(name)
            page.wait_for_function(f"() => window.gdlabPlayground.state().surface === '{name}'")
            page.screenshot(path=str(args.out / f"{name}.png"), full_page=True)
            if name == "quadratic" and args.readme is not None:
                args.readme.parent.mkdir(parents=True, exist_ok=True)
                _small_png(page.screenshot(), args.readme)
        narrow = browser.new_page(viewport={"width": 400, "height": 800})
        narrow.goto(page_path.as_uri())
        narrow.wait_for_function(READY)
        narrow.screenshot(path=str(args.out / "narrow.png"), full_page=True)
        server = PlaygroundServer().start()
        served = browser.new_page(viewport={"width": 1280, "height": 800})
        served.goto(server.url)
        served.wait_for_function(READY)
        start = served.evaluate("window.gdlabPlayground.state().start")
        source = served.evaluate("([x, y]) => window.gdlabPlayground.toScreen(x, y)", start)
        target = served.evaluate("() => window.gdlabPlayground.toScreen(6.0, 12.0)")
        served.mouse.move(*source)
        served.mouse.down()
        served.mouse.move(*target, steps=8)
        served.mouse.up()
        served.wait_for_function(
            "() => { const s = window.gdlabPlayground.state(); "
            "return s.runs.length && s.runs[0].start[1] > 11; }"
        )
        served.screenshot(path=str(args.out / "served-after-drag.png"), full_page=True)
        server.stop()
        browser.close()
    print(f"screenshots in {args.out}")


if __name__ == "__main__":
    main()
