"""Slow tier: the docs site builds strictly (`make docs`), and every page opens in headless
Chromium with no console error, no failed request, no image left unshown and no internal link
to a page or anchor that does not exist. A screenshot of each page is kept in
build/screenshots/docs/."""

from __future__ import annotations

import functools
import http.server
import subprocess
import sys
import threading
import urllib.parse

import pytest
from browser import browser, visit
from conftest import TEMPLATE_DIR

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> str:
    out = tmp_path_factory.mktemp("site")
    done = subprocess.run(
        [sys.executable, str(TEMPLATE_DIR / "tools" / "docs_site.py"), "--out", str(out)],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(out))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/", out
    finally:
        server.shutdown()


def test_every_page_opens_clean_in_chromium(site):
    base, out = site
    pages = sorted(path.relative_to(out) for path in out.rglob("index.html"))
    pages = [page for page in pages if page.parts[0] not in ("assets", "search")]
    assert len(pages) >= 20  # home, getting started, options, tutorials, components...
    seen_ids: dict[str, set[str]] = {}
    links: set[tuple[str, str]] = set()
    with browser() as chrome:
        for page_path in pages:
            url = base + page_path.parent.as_posix().removeprefix(".") + "/"
            url = url.replace("//", "/").replace(":/", "://")
            name = "-".join(page_path.parent.parts) or "home"
            with visit(chrome, url, f"docs/{name}.png") as seen:
                assert seen.problems == [], (url, seen.problems)
                assert seen.page.locator("article h1").count() == 1, url
                seen_ids[url] = set(seen.page.eval_on_selector_all("[id]", "n => n.map(e => e.id)"))
                hrefs = seen.page.eval_on_selector_all("article a[href]", "n => n.map(a => a.href)")
                links |= {(url, href) for href in hrefs if href.startswith(base)}
    for source, href in sorted(links):
        target, _, fragment = href.partition("#")
        target = (
            target if target.endswith("/") or "." in target.rsplit("/", 1)[-1] else target + "/"
        )
        if target.endswith("/"):
            assert target in seen_ids, f"{source} links to a missing page {href}"
            if fragment:
                assert urllib.parse.unquote(fragment) in seen_ids[target], f"{source}: {href}"
        else:
            assert (out / target.removeprefix(base)).exists(), f"{source}: {href}"
    screenshots = TEMPLATE_DIR / "build" / "screenshots" / "docs"
    assert len(list(screenshots.glob("*.png"))) >= len(pages)
