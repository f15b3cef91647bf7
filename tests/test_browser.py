"""The built book in a real browser: Debian's Chromium driven by Playwright, fully offline.

Every page of the table of contents is opened from a loopback HTTP server. A page passes when
it logs no console error, requests nothing outside 127.0.0.1, typesets its mathematics with
the local MathJax, every image has loaded, and axe-core (``axe-playwright-python``, which ships
the engine) finds no serious or critical accessibility violation. A screenshot of each chapter
is kept under ``artifacts/screenshots/`` for a person to look at.

Needs ``/usr/bin/chromium`` (``apt-get install chromium``; CI installs it); without it
these tests skip.
"""

from __future__ import annotations

import functools
import threading
from dataclasses import dataclass, field
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from helpers import CHAPTERS, CHROMIUM, CHROMIUM_ARGS, playwright_or_skip, toc_files

REPO = Path(__file__).resolve().parent.parent
SCREENSHOTS = REPO / "artifacts" / "screenshots"
# Pages whose mathematics must be typeset (the rest may have none).
PAGES_WITH_MATH = {f"book/{c}" for c in CHAPTERS} | {"book/glossary"}

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("book")]

sync_api = playwright_or_skip()


PAGES = toc_files()
# No CSSOM preload: axe-core would fetch the theme's stylesheets again to inspect them, and it
# resolves their relative @import ("../basic.css") against the site root, a request for
# /basic.css that fails and is logged as a console error on the page under test.
AXE_OPTIONS = {"resultTypes": ["violations"], "preload": False}
_AXE = pytest.importorskip(
    "axe_playwright_python.sync_playwright",
    reason="pip install -r requirements.txt (needs axe-playwright-python)").Axe()


@dataclass
class Visit:
    """What the browser saw on one page."""

    console_errors: list[str] = field(default_factory=list)
    outside_requests: list[str] = field(default_factory=list)
    failed_requests: list[str] = field(default_factory=list)
    math_elements: int = 0
    images: list[dict] = field(default_factory=list)
    animation_controls: dict = field(default_factory=dict)
    screenshot_bytes: int = 0  # size of the PNG this visit wrote (0: none taken)
    axe_violations: list[dict] = field(default_factory=list)  # serious and critical only


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format, *args):  # noqa: A002  (the base class's signature)
        pass


@pytest.fixture(scope="module")
def book_server(built_book):
    """The built HTML served on 127.0.0.1 at a free port; yields the base URL."""
    handler = functools.partial(_QuietHandler, directory=str(built_book.html))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def _visit(context, base: str, page_name: str, screenshot: Path | None) -> Visit:
    visit = Visit()
    page = context.new_page()
    page.on("console", lambda m: m.type == "error" and visit.console_errors.append(m.text))
    page.on("pageerror", lambda exc: visit.console_errors.append(str(exc)))
    page.on("requestfailed", lambda r: visit.failed_requests.append(r.url))
    try:
        page.goto(f"{base}/{page_name}.html", wait_until="load", timeout=60_000)
        # MathJax typesets asynchronously after load; its startup promise settles when done.
        page.wait_for_function("() => !window.MathJax || (window.MathJax.startup && "
                               "window.MathJax.startup.promise)", timeout=30_000)
        page.evaluate("() => window.MathJax ? window.MathJax.startup.promise : null")
        # Lazy images load only near the viewport: scroll through the page once.
        page.evaluate("""async () => {
            for (let y = 0; y < document.body.scrollHeight; y += window.innerHeight) {
                window.scrollTo(0, y);
                await new Promise(r => setTimeout(r, 30));
            }
            await Promise.all(Array.from(document.images).filter(i => !i.complete).map(
                i => new Promise(r => { i.onload = i.onerror = r; })));
            window.scrollTo(0, 0);
        }""")
        visit.math_elements = page.locator("mjx-container").count()
        visit.images = page.evaluate("""() => Array.from(document.querySelectorAll('main img'))
            .map(i => ({src: i.currentSrc || i.src || i.id, width: i.naturalWidth}))""")
        visit.axe_violations = [
            {"id": v["id"], "impact": v["impact"], "help": v["help"],
             "targets": [n["target"] for n in v["nodes"]][:5]}
            for v in _AXE.run(page, options=AXE_OPTIONS).response["violations"]
            if v["impact"] in ("serious", "critical")]
        visit.animation_controls = page.evaluate("""() => ({
            animations: document.querySelectorAll('main .animation').length,
            sliders: document.querySelectorAll('main .animation input[type=range]').length,
            buttons: document.querySelectorAll('main .animation button').length})""")
        if screenshot is not None:
            screenshot.parent.mkdir(parents=True, exist_ok=True)
            visit.screenshot_bytes = len(page.screenshot(path=str(screenshot)))
    finally:
        page.close()
    return visit


@pytest.fixture(scope="module")
def visits(book_server) -> dict[str, Visit]:
    """Every TOC page visited once in headless Chromium, with the network cut off.

    Any request to a host other than 127.0.0.1 is recorded and aborted, so a CDN reference
    shows up as a failure here instead of silently working on a connected machine.
    """
    results: dict[str, Visit] = {}
    current: list[Visit] = []

    def guard(route):
        url = route.request.url
        if url.startswith(book_server + "/") or url.startswith("data:") or url.startswith("blob:"):
            route.continue_()
        else:
            current[-1].outside_requests.append(url)
            route.abort()

    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(viewport={"width": 1280, "height": 900},
                                          service_workers="block")
            context.route("**/*", guard)
            for name in PAGES:
                current.append(Visit())
                shot = (SCREENSHOTS / f"{Path(name).name}.png"
                        if Path(name).name in CHAPTERS else None)
                seen = _visit(context, book_server, name, shot)
                seen.outside_requests = current[-1].outside_requests
                results[name] = seen
        finally:
            browser.close()
    return results


@pytest.mark.parametrize("page", PAGES)
def test_page_loads_without_console_errors(visits, page):
    """Does the page load without a JavaScript error or a failed request?"""
    visit = visits[page]
    assert visit.console_errors == []
    local_failures = [u for u in visit.failed_requests if u not in visit.outside_requests]
    assert local_failures == []


@pytest.mark.parametrize("page", PAGES)
def test_page_has_no_serious_or_critical_accessibility_violation(visits, page):
    """Does axe-core, run on the rendered page, find no serious or critical violation (images
    without alt text, unnamed controls, broken ARIA, insufficient contrast, ...)?"""
    assert visits[page].axe_violations == []


@pytest.mark.parametrize("page", PAGES)
def test_page_requests_nothing_outside_loopback(visits, page):
    """Does opening the page leave every request on 127.0.0.1 (no CDN, fonts or analytics)?"""
    assert visits[page].outside_requests == []


@pytest.mark.parametrize("page", sorted(PAGES_WITH_MATH))
def test_math_is_typeset_by_local_mathjax(visits, page):
    """Does MathJax, served from the build, turn the page's TeX into rendered math?"""
    assert visits[page].math_elements > 0


@pytest.mark.parametrize("page", PAGES)
def test_every_image_loads(visits, page):
    """Has every image on the page been decoded (natural width above zero)?"""
    broken = [img["src"] for img in visits[page].images if img["width"] <= 0]
    assert broken == []


def test_chapter_pages_show_their_figures(visits):
    """Do the chapters' figures actually render in the browser (not just exist as tags)?"""
    for chapter in CHAPTERS:
        rendered = [img for img in visits[f"book/{chapter}"].images if img["width"] > 0]
        assert len(rendered) >= 2, chapter


def test_relu_chapter_animation_has_its_controls(visits):
    """Does chapter 3's zig-zag animation come with its slider and playback buttons?"""
    controls = visits["book/03_relu"].animation_controls
    assert controls["animations"] >= 1
    assert controls["sliders"] >= 1
    assert controls["buttons"] >= 3


def test_a_screenshot_is_saved_per_chapter(visits):
    """Did this run save a non-empty screenshot of every chapter under artifacts/screenshots?
    (Files from an earlier run do not count: the visit itself must have written them.)"""
    for chapter in CHAPTERS:
        shot = SCREENSHOTS / f"{chapter}.png"
        written = visits[f"book/{chapter}"].screenshot_bytes
        assert written > 10_000, chapter
        assert shot.is_file() and shot.stat().st_size == written, chapter
