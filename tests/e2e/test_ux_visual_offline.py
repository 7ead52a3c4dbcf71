"""Nothing leaves the machine: every page loads without one request to a host other than the server.

Issue 18, item 13: the tab icon (``page_icon=":material/…:"``) was fetched from a Google fonts host on
every page load, which fails offline and sends traffic out of an NHS network. It is now the app's own PNG,
embedded in the page. Every request the browser
makes is intercepted here; one to any other host fails the test (and is refused, so the test does not
depend on the network either).
"""

from __future__ import annotations

import base64
from urllib.parse import urlsplit

from e2e_support import ROOT, assert_no_errors, open_app, page_paths


def _watch_requests(context, server_url: str) -> list[str]:
    """Refuse and record every request to a host other than the server's."""
    server = urlsplit(server_url).netloc
    outside: list[str] = []

    def handle(route):
        url = route.request.url
        parts = urlsplit(url)
        if parts.scheme in ("data", "blob") or parts.netloc == server:
            route.continue_()
        else:
            outside.append(url)
            route.abort()

    context.route("**/*", handle)
    return outside


def test_no_page_fetches_anything_from_outside_the_server(fresh_context, app_url):
    context = fresh_context()
    outside = _watch_requests(context, app_url)
    page = context.new_page()
    # Every page, then the presentation and presentation-safe views of the story.
    paths = sorted(set(page_paths().values())) + ["/?present=true", "/recovery?safe=true"]
    for path in paths:
        open_app(page, app_url, path)
        page.wait_for_load_state("networkidle")
        assert_no_errors(page)
    assert outside == [], f"requests left the machine: {sorted(set(outside))}"


def test_the_tab_icon_ships_with_the_app(fresh_context, app_url):
    """The tab icon is the app's own PNG, embedded in the page as a ``data:`` URL (dashboard/navigation.py):
    nothing is fetched for it from anywhere, the server included."""
    context = fresh_context()
    page = context.new_page()
    open_app(page, app_url, "/")
    href = page.evaluate("() => [...document.querySelectorAll('link[rel~=\"icon\"]')].map(l => l.href)")
    assert href, "the page has no tab icon"
    prefix = "data:image/png;base64,"
    assert all(h.startswith(prefix) for h in href), f"tab icon fetched from somewhere: {[h[:80] for h in href]}"
    assert base64.b64decode(href[0].removeprefix(prefix)) == (ROOT / "assets" / "page_icon.png").read_bytes()
