"""Who may enter when sign-in (st.login, OIDC) is configured: dashboard.access.account_allowed, and the
page a visitor sees before signing in. The browser flow against a mock provider is tests/e2e/test_workshop_sign_in.py."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from dashboard.access import account_allowed
from tests.apptest_support import APP

TENANT = "72f988bf-86f1-41af-91ab-2d7cd011db47"


@pytest.mark.parametrize(("claims", "domains", "tenants", "ok"), [
    ({"email": "alice@nhs.net"}, ("nhs.net",), (), True),
    ({"email": "Alice@NHS.NET"}, ("nhs.net",), (), True),
    ({"email": "alice@nhs.net.evil.com"}, ("nhs.net",), (), False),
    ({"email": "alice@evil-nhs.net"}, ("nhs.net",), (), False),
    ({"email": "nhs.net@evil.com"}, ("nhs.net",), (), False),
    ({"preferred_username": "bob@nhs.net"}, ("nhs.net",), (), True),  # Entra without an e-mail claim
    ({}, ("nhs.net",), (), False),
    ({"email": "carol@trust.example", "tid": TENANT.upper()}, ("nhs.net",), (TENANT,), True),
    ({"email": "carol@trust.example", "tid": "another"}, ("nhs.net",), (TENANT,), False),
    ({"email": "anyone@anywhere.example"}, (), (), True),
])
def test_account_allowed(claims, domains, tenants, ok):
    allowed, why = account_allowed(claims, domains, tenants)
    assert allowed is ok
    assert why


def test_the_refusal_says_who_may_enter():
    allowed, why = account_allowed({"email": "x@y.example"}, ("nhs.net",), (TENANT,))
    assert not allowed
    assert why == "this dashboard is for an e-mail address at nhs.net or an account of the allowed organisation"


def test_with_sign_in_configured_a_visitor_sees_only_the_sign_in_button():
    at = AppTest.from_file(APP, default_timeout=60)
    at.secrets["auth"] = {"redirect_uri": "http://127.0.0.1:8501/oauth2callback", "cookie_secret": "x" * 32,
                          "client_id": "id", "client_secret": "secret",
                          "server_metadata_url": "http://127.0.0.1:9/.well-known/openid-configuration"}
    at.run()
    assert not at.exception
    assert [b.label for b in at.button] == ["Sign in"]
    assert not at.metric and not at.table and not at.dataframe and not at.get("plotly_chart") and not at.sidebar.children
