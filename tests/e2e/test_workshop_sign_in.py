"""Optional sign-in, end to end: st.login against a mock OpenID Connect provider on localhost, driven by
Playwright in Debian's chromium. An account at the allowed e-mail domain sees the dashboard; another is
told why not and may sign out; without signing in nothing of the dashboard is shown."""

from __future__ import annotations

import re

import pytest

from benchmarks.load import ROOT, Server, _free_port

pytest.importorskip("authlib", reason="st.login needs Authlib (requirements.txt)")
oidc_provider_mock = pytest.importorskip("oidc_provider_mock", reason="requirements-dev.txt: oidc-provider-mock")


@pytest.fixture(scope="module")
def signed_app(tmp_path_factory):
    with oidc_provider_mock.run_server_in_thread(port=_free_port()) as provider:
        port = _free_port()
        folder = tmp_path_factory.mktemp("sign-in")
        secrets = folder / "secrets.toml"
        secrets.write_text(f'''
[auth]
redirect_uri = "http://127.0.0.1:{port}/oauth2callback"
cookie_secret = "test-cookie-secret-not-for-production-0123456789"
client_id = "workshop-dashboard"
client_secret = "test-client-secret"
server_metadata_url = "http://localhost:{provider.server_port}/.well-known/openid-configuration"

[sign_in]
allowed_email_domains = ["nhs.net"]
''')
        with Server(ROOT / "test-artifacts" / "workshop-sign-in-streamlit.log", port=port,
                    extra_args=["--secrets.files", str(secrets)]) as server:
            yield server.url


def _sign_in_as(page, app_url: str, who: str) -> None:
    page.goto(app_url)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(re.compile(r".*/oauth2/authorize.*"))
    page.fill('input[name="sub"]', who)
    page.get_by_role("button", name="Authorize").click()
    page.wait_for_url(re.compile(re.escape(app_url) + r"/?(\?.*)?$"))


def test_without_signing_in_only_the_sign_in_button_shows(signed_app, fresh_context):
    page = fresh_context().new_page()
    page.goto(signed_app)
    page.get_by_role("button", name="Sign in").wait_for()
    assert page.locator('[data-testid="stMetric"]').count() == 0
    assert "Outcome headline" not in page.inner_text("body")


def test_an_account_at_the_allowed_domain_sees_the_dashboard(signed_app, fresh_context):
    page = fresh_context().new_page()
    _sign_in_as(page, signed_app, "alice@nhs.net")
    page.get_by_text("Outcome headline").wait_for(timeout=60_000)
    page.locator('[data-testid="stMetric"]').nth(3).wait_for(timeout=60_000)  # the four participant counts
    page.get_by_role("button", name="Sign out").wait_for()


def test_another_account_is_told_why_not_and_can_sign_out(signed_app, fresh_context):
    page = fresh_context().new_page()
    _sign_in_as(page, signed_app, "mallory@example.com")
    page.get_by_text("This account cannot see the dashboard").wait_for(timeout=60_000)
    assert "an e-mail address at nhs.net" in page.inner_text("body")
    assert page.locator('[data-testid="stMetric"]').count() == 0
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url(re.compile(r".*/oauth2/end_session.*"))  # the provider ends its session too
    page.get_by_role("button", name="End session").click()
    page.get_by_role("button", name="Sign in").wait_for(timeout=60_000)
    assert "This account cannot see the dashboard" not in page.inner_text("body")
