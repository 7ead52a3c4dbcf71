"""What a room sees before it is let in, in a real browser: the passcode form alone (no list of the app's
page files in a sidebar), then, with the passcode, the page the link named; and a secrets file that cannot
be read keeps the page closed, saying so."""

from __future__ import annotations

import pytest
from e2e_support import open_app, save_viewport_screenshot, wait_for_rerun
from playwright.sync_api import expect

from benchmarks.load import ROOT, Server


@pytest.fixture
def server_with(tmp_path):
    servers = []

    def start(secrets_text: str) -> str:
        secrets = tmp_path / "secrets.toml"
        secrets.write_text(secrets_text)
        server = Server(ROOT / "test-artifacts" / f"closed-screens-{len(servers)}.log",
                        extra_args=["--secrets.files", str(secrets)])
        servers.append(server.__enter__())
        return server.url

    yield start
    for server in servers:
        server.__exit__(None, None, None)


def test_the_passcode_form_stands_alone_and_lets_the_room_into_the_linked_page(server_with, fresh_context):
    url = server_with('passcode = "letmein"\n')
    page = fresh_context().new_page()
    open_app(page, url, "/recovery")
    expect(page.get_by_label("Passcode")).to_be_visible()
    expect(page.locator('[data-testid="stSidebarNav"]')).to_have_count(0)  # no "app, adjusted, data, ..." list
    expect(page.get_by_role("link", name="adjusted")).to_have_count(0)
    save_viewport_screenshot(page, "closed-passcode-form")
    page.get_by_label("Passcode").fill("letmein")
    page.get_by_role("button", name="Enter").click()
    wait_for_rerun(page)
    expect(page.get_by_role("heading", name="Recovery and reliable change")).to_be_visible()
    expect(page.get_by_role("button", name="Outcomes")).to_be_visible()  # the app's own navigation, once in


def test_a_secrets_file_that_cannot_be_read_keeps_the_page_closed(server_with, fresh_context):
    url = server_with('passcode = "letmein\n')  # the closing quote forgotten
    page = fresh_context().new_page()
    open_app(page, url, "/recovery")
    expect(page.get_by_text("could not be read, so the dashboard stays closed")).to_be_visible()
    expect(page.get_by_role("heading", name="Recovery and reliable change")).to_have_count(0)
    expect(page.get_by_label("Passcode")).to_have_count(0)
    expect(page.locator('[data-testid="stSidebarNav"]')).to_have_count(0)
    save_viewport_screenshot(page, "closed-secrets-unreadable")
