"""Optional passcode for shared or workshop deployments, and optional sign-in (OIDC) for NHS ones.

Set ``passcode = "..."`` in ``.streamlit/secrets.toml`` (or the host's secrets) to
turn it on; with no passcode configured the app is open. The comparison is in
constant time (``hmac.compare_digest``).
"""

from __future__ import annotations

import hmac

import streamlit as st

from dashboard import operator_settings

_OK_KEY = "_passcode_ok"


def configured_passcode() -> str | None:
    value = operator_settings.secret("passcode")  # read once per run
    return str(value) if value else None


def passcode_matches(given: str, expected: str) -> bool:
    return hmac.compare_digest(given.encode("utf-8"), expected.encode("utf-8"))


def passcode_ok() -> bool:
    expected = configured_passcode()
    if expected is None or st.session_state.get(_OK_KEY):
        return True
    st.title("Physical activity in NHS Talking Therapies")
    with st.form("passcode"):
        given = st.text_input("Passcode", type="password")
        submitted = st.form_submit_button("Enter")
    if submitted:
        if passcode_matches(given, expected):
            st.session_state[_OK_KEY] = True
            st.rerun()
        st.error("That passcode is not right.")
    return False


# --- optional sign-in (OIDC, e.g. Microsoft Entra ID) ---------------------------------------------------------
# Turned on by an [auth] section in .streamlit/secrets.toml (Streamlit's st.login; needs Authlib):
#
#   [auth]
#   redirect_uri = "https://dashboard.example.nhs.uk/oauth2callback"
#   cookie_secret = "a long random string"
#   client_id = "..."          # the app registration's Application (client) ID
#   client_secret = "..."
#   server_metadata_url = "https://login.microsoftonline.com/<tenant-id>/v2.0/.well-known/openid-configuration"
#
#   [sign_in]                  # who may enter (either list, or both; neither = any account the provider signs in)
#   allowed_email_domains = ["nhs.net"]
#   allowed_tenant_ids = ["<tenant-id>"]   # Entra's tid claim

SIGN_IN_SECTION = "sign_in"


def sign_in_configured() -> bool:
    auth = operator_settings.secret("auth")
    return bool(auth) and bool(auth.get("redirect_uri")) and bool(auth.get("server_metadata_url"))


def _sign_in_rules() -> tuple[tuple[str, ...], tuple[str, ...]]:
    section = operator_settings.secret(SIGN_IN_SECTION) or {}
    domains = tuple(str(d).strip().lower().lstrip("@") for d in section.get("allowed_email_domains", ()) if str(d).strip())
    tenants = tuple(str(t).strip().lower() for t in section.get("allowed_tenant_ids", ()) if str(t).strip())
    return domains, tenants


def account_allowed(claims: dict, domains: tuple[str, ...], tenants: tuple[str, ...]) -> tuple[bool, str]:
    """(allowed, why) for an identity token's claims.

    An e-mail domain matches the address in ``email`` (or Entra's ``preferred_username``, its sign-in
    name, when there is no e-mail claim) exactly after the ``@``; a tenant matches Entra's ``tid``.
    With both lists, either is enough; with neither, any signed-in account is allowed.
    """
    if not domains and not tenants:
        return True, "any signed-in account is allowed"
    address = str(claims.get("email") or claims.get("preferred_username") or "").strip().lower()
    domain = address.rpartition("@")[2] if "@" in address else ""
    if domain and domain in domains:
        return True, f"e-mail domain {domain}"
    tenant = str(claims.get("tid") or "").strip().lower()
    if tenant and tenant in tenants:
        return True, "organisation (tenant)"
    allowed = " or ".join(filter(None, [
        ("an e-mail address at " + ", ".join(domains)) if domains else "",
        "an account of the allowed organisation" if tenants else ""]))
    return False, f"this dashboard is for {allowed}"


def sign_in_ok() -> bool:
    """With sign-in configured: True for a signed-in, allowed account; otherwise draws the sign-in page."""
    if not sign_in_configured():
        return True
    if not st.user.get("is_logged_in", False):
        st.title("Physical activity in NHS Talking Therapies")
        st.markdown("Sign in with your organisation's account to see the dashboard.")
        st.button("Sign in", on_click=st.login, type="primary", key="_sign_in")
        return False
    allowed, why = account_allowed(st.user.to_dict(), *_sign_in_rules())
    if not allowed:
        st.title("Physical activity in NHS Talking Therapies")
        st.error(f"This account cannot see the dashboard: {why}.")
        st.text(str(st.user.get("email") or st.user.get("preferred_username") or ""))  # user text: literally
        st.button("Sign out", on_click=st.logout, key="_sign_out")
        return False
    st.sidebar.button("Sign out", on_click=st.logout, key="_sign_out", icon=":material/logout:")
    return True
