"""Pages opened as a person would: headless Chromium (Debian's `chromium`) driven by Playwright.

`visit` loads a page, keeps a screenshot in build/screenshots/ (the slow tier's artifacts) and
returns what went wrong on it: console errors, uncaught exceptions, requests that failed
(missing images, stylesheets, scripts) and images that did not render.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from conftest import TEMPLATE_DIR

SCREENSHOTS = TEMPLATE_DIR / "build" / "screenshots"


@dataclass
class Visit:
    page: object  # playwright's Page, still open while the `with` block runs
    problems: list[str] = field(default_factory=list)


@contextmanager
def browser() -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    assert chromium, "chromium is missing: make system-deps installs it"
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
        try:
            yield launched
        finally:
            launched.close()


@contextmanager
def visit(chrome, url: str, screenshot: str, width: int = 1100) -> Iterator[Visit]:
    page = chrome.new_page(viewport={"width": width, "height": 900})
    seen = Visit(page)
    page.on(
        "console",
        lambda message: (
            seen.problems.append(f"console: {message.text}") if message.type == "error" else None
        ),
    )
    page.on("pageerror", lambda error: seen.problems.append(f"exception: {error}"))
    page.on(
        "requestfailed",
        lambda request: seen.problems.append(f"failed request: {request.url}"),
    )
    page.on(
        "response",
        lambda response: (
            seen.problems.append(f"HTTP {response.status}: {response.url}")
            if response.status >= 400
            else None
        ),
    )
    try:
        page.goto(url, wait_until="load")
        broken = page.eval_on_selector_all(
            "img", "images => images.filter(i => !i.complete || !i.naturalWidth).map(i => i.src)"
        )
        seen.problems += [f"image not shown: {src}" for src in broken]
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / screenshot), full_page=True)
        yield seen
    finally:
        page.close()
