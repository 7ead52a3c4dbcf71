"""Scale-out: 2 `streamlit run app.py` processes behind Debian's nginx (deploy/nginx.conf.template).

The protocol harness visits through the proxy: every visitor is served (first view, filter change) and,
after its websocket is dropped and reopened with its session id, comes back to the same session on the
same process (sticky sessions by the route cookie); both processes take visitors.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from benchmarks.load import ROOT
from benchmarks.protocol import WORKSHOP_PAGES, _cookies, _http_get, run_protocol, run_sync
from benchmarks.proxy import Proxy, find_nginx


@pytest.fixture(scope="module")
def proxy():
    if find_nginx() is None:
        if os.environ.get("CI", "").strip().lower() == "true":
            pytest.fail("nginx is not installed (CI=true: .ci/run installs it)", pytrace=False)
        pytest.skip("nginx is not installed (apt-get install nginx)")
    with Proxy(2, ROOT / "test-artifacts") as running:
        yield running


def test_every_visitor_is_served_through_nginx_and_keeps_its_session(proxy):
    visitors = 16
    result = run_sync(run_protocol(proxy.url, visitors, list(WORKSHOP_PAGES), timeout_s=240, sticky=True,
                                      server_pids=proxy.server_pids))
    assert result.errors == []
    assert len(result.times("first")) == len(result.times("filtered")) == len(result.times("reconnect")) == visitors
    assert [v.sticky for v in result.visits] == [True] * visitors
    ours = {s.url.removeprefix("http://") for s in proxy.servers}
    assert set(result.upstreams) == ours  # both processes served visitors: the route keys spread them
    assert sum(result.upstreams.values()) == visitors


def test_the_route_cookie_is_set_once_and_then_keeps_a_browser_on_one_process(proxy):
    async def go():
        status, headers = await _http_get(proxy.url + "/", "", 30)
        cookie = _cookies(headers)
        again = [await _http_get(proxy.url + "/_stcore/health", cookie, 30) for _ in range(6)]
        return status, headers, cookie, again

    status, headers, cookie, again = run_sync(go())
    assert status == 200 and cookie.startswith("workshop_route=")
    assert all(h.get("x-upstream") == headers.get("x-upstream") for _, h in again)  # same process every time
    assert all("set-cookie" not in h or not any("workshop_route" in c for c in h["set-cookie"]) for _, h in again)


def test_the_rendered_compose_config_is_the_template_rendered():
    """deploy/nginx.conf (used by deploy/compose.yaml) is what render_nginx.py writes from the template."""
    rendered = subprocess.run([sys.executable, str(ROOT / "deploy" / "render_nginx.py"), "--listen", "80",
                               "--server", "app:8501"], capture_output=True, text=True, check=True).stdout
    assert rendered == (ROOT / "deploy" / "nginx.conf").read_text()
    assert "X-Upstream" not in rendered  # the debugging header is for tests only


def test_nginx_never_spools_request_or_response_bodies_to_disk():
    """Uploads and downloads are patient-level data: no temp files (README, Privacy)."""
    text = (ROOT / "deploy" / "nginx.conf.template").read_text()
    assert "proxy_request_buffering off;" in text and "proxy_max_temp_file_size 0;" in text
