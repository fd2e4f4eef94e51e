"""Tests of discovery, the token endpoints and bearer-token checks."""

from __future__ import annotations

import httpx
import pytest

from airflow_provider_dbxscim.emulator import run_emulator

FORM = {"grant_type": "client_credentials", "scope": "all-apis"}


def test_account_discovery_names_the_account_oidc_endpoint(http, emulator):
    """The host metadata points at the account's OIDC root and carries the account id."""

    body = http.get("/.well-known/databricks-config").json()

    assert body["oidc_endpoint"] == f"{emulator.url}/oidc/accounts/{emulator.account_id}"
    assert body["account_id"] == emulator.account_id


@pytest.mark.parametrize(
    ("placeholder", "account_segment", "has_id"), [(False, None, True), (True, "{account_id}", False)]
)
def test_discovery_placeholder_switch(http, emulator, placeholder, account_segment, has_id):
    """With discovery_account_placeholder the endpoint carries a literal {account_id} and no account id."""
    emulator.state.configure(discovery_account_placeholder=placeholder)

    body = http.get("/.well-known/databricks-config").json()

    assert body["oidc_endpoint"] == f"{emulator.url}/oidc/accounts/{account_segment or emulator.account_id}"
    assert ("account_id" in body) is has_id


@pytest.mark.parametrize(("enabled", "status"), [(True, 200), (False, 404)])
def test_discovery_enabled_switch(http, emulator, enabled, status):
    """With discovery_enabled off the host metadata answers 404, as on older hosts."""
    emulator.state.configure(discovery_enabled=enabled)

    response = http.get("/.well-known/databricks-config")

    assert response.status_code == status


def test_authorization_server_metadata_names_the_token_endpoint(http, emulator):
    """The account and workspace OAuth metadata give their own token endpoints."""
    oidc = f"/oidc/accounts/{emulator.account_id}"

    account = http.get(f"{oidc}/.well-known/oauth-authorization-server").json()
    workspace = http.get("/ws/analytics/oidc/.well-known/oauth-authorization-server").json()
    workspace_host = http.get("/ws/analytics/.well-known/databricks-config").json()

    assert account["token_endpoint"] == f"{emulator.url}{oidc}/v1/token"
    assert workspace["token_endpoint"] == f"{emulator.url}/ws/analytics/oidc/v1/token"
    assert workspace_host["oidc_endpoint"] == f"{emulator.url}/ws/analytics/oidc"
    assert workspace_host["workspace_id"] == emulator.state.workspaces()["analytics"]


def test_token_with_basic_auth(http, emulator):
    """HTTP Basic client credentials get a Bearer token with a numeric expires_in of one hour."""

    response = http.post(
        f"/oidc/accounts/{emulator.account_id}/v1/token",
        auth=(emulator.client_id, emulator.client_secret),
        data=FORM,
    )

    body = response.json()
    assert response.status_code == 200
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 3600
    assert body["scope"] == "all-apis"
    assert body["access_token"] in emulator.state.issued_tokens()


def test_token_with_form_credentials(http, emulator):
    """Client credentials in the form body work as well as HTTP Basic."""
    form = {**FORM, "client_id": emulator.client_id, "client_secret": emulator.client_secret}

    response = http.post(f"/oidc/accounts/{emulator.account_id}/v1/token", data=form)

    assert response.status_code == 200


def test_wrong_secret_is_invalid_client(http, emulator):
    """A wrong secret gets 401 invalid_client in the OAuth error shape."""

    response = http.post(
        f"/oidc/accounts/{emulator.account_id}/v1/token", auth=(emulator.client_id, "x"), data=FORM
    )

    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"
    assert "error_description" in response.json()


def test_wrong_grant_type_is_refused(http, emulator):
    """A grant type other than client_credentials gets 400 unsupported_grant_type."""
    form = {"grant_type": "password", "scope": "all-apis"}

    response = http.post(
        f"/oidc/accounts/{emulator.account_id}/v1/token",
        auth=(emulator.client_id, emulator.client_secret),
        data=form,
    )

    assert response.status_code == 400
    assert response.json()["error"] == "unsupported_grant_type"


@pytest.mark.parametrize("path", ["/oidc/accounts/not-my-account/v1/token", "/oidc/accounts//v1/token"])
def test_wrong_or_empty_account_id_gets_the_login_page(http, emulator, path):
    """A token request for a wrong or empty account id gets an HTML sign-in page instead of JSON."""

    response = http.post(path, auth=(emulator.client_id, emulator.client_secret), data=FORM)

    assert response.headers["content-type"].startswith("text/html")
    assert "<html>" in response.text


def test_identity_switches_set_the_expected_credentials(emulator):
    """account_id, client_id and client_secret replace the demo identity."""
    config = {"account_id": "acc-1", "client_id": "cid", "client_secret": "s3cret"}

    with run_emulator(config) as custom, httpx.Client(base_url=custom.url) as client:
        good = client.post("/oidc/accounts/acc-1/v1/token", auth=("cid", "s3cret"), data=FORM)
        demo = client.post(
            "/oidc/accounts/acc-1/v1/token", auth=(emulator.client_id, emulator.client_secret), data=FORM
        )

    assert good.status_code == 200
    assert demo.status_code == 401


@pytest.mark.parametrize(("as_string", "expected"), [(False, 3600), (True, "3600")])
def test_expires_in_as_string_switch(http, emulator, as_string, expected):
    """expires_in_as_string sends the lifetime as a numeric string instead of a number."""
    emulator.state.configure(expires_in_as_string=as_string)

    body = http.post(
        f"/oidc/accounts/{emulator.account_id}/v1/token",
        auth=(emulator.client_id, emulator.client_secret),
        data=FORM,
    ).json()

    assert body["expires_in"] == expected


@pytest.mark.parametrize(("lifetime", "advance", "status"), [(3600, 3580, 401), (7200, 3580, 200)])
def test_token_lifetime_switch(http, scim, emulator, get_token, lifetime, advance, status):
    """A token stops working once its lifetime, less the 30 s margin, has passed on the emulator clock."""
    emulator.state.configure(token_lifetime_seconds=lifetime)
    headers = {"Authorization": f"Bearer {get_token()}"}
    emulator.state.advance_clock(advance)

    response = scim.get("/Users", headers=headers)

    assert response.status_code == status


@pytest.mark.parametrize(("margin", "status"), [(30.0, 401), (0.0, 200)])
def test_token_expiry_margin_switch(scim, emulator, get_token, margin, status):
    """A token with 20 s left is refused under the default 30 s margin and accepted without one."""
    emulator.state.configure(token_expiry_margin_seconds=margin)
    headers = {"Authorization": f"Bearer {get_token()}"}
    emulator.state.advance_clock(3580)

    response = scim.get("/Users", headers=headers)

    assert response.status_code == status


@pytest.mark.parametrize(("status", "code"), [(401, "UNAUTHENTICATED"), (403, "PERMISSION_DENIED")])
def test_invalid_token_status_switch(scim, emulator, status, code):
    """An expired token is answered with the configured status in the Databricks error shape."""
    emulator.state.configure(invalid_token_status=status)
    emulator.state.expire_tokens()

    response = scim.get("/Users")

    assert response.status_code == status
    assert response.json()["error_code"] == code
    assert response.json()["message"].startswith("Invalid access token")


def test_unknown_and_missing_tokens_are_refused(scim):
    """A token the emulator never issued, or none at all, gets 401."""

    unknown = scim.get("/Users", headers={"Authorization": "Bearer made-up"})
    missing = scim.get("/Users", headers={"Authorization": ""})

    assert unknown.status_code == 401
    assert missing.status_code == 401


def test_account_and_workspace_tokens_do_not_cross(http, emulator, get_token):
    """An account token is refused by workspace SCIM and a workspace token by account SCIM."""
    account_token, workspace_token = get_token(), get_token("analytics")
    account_users = f"/api/2.0/accounts/{emulator.account_id}/scim/v2/Users"
    workspace_users = "/ws/analytics/api/2.0/preview/scim/v2/Users"

    crossed = [
        http.get(workspace_users, headers={"Authorization": f"Bearer {account_token}"}).status_code,
        http.get(account_users, headers={"Authorization": f"Bearer {workspace_token}"}).status_code,
    ]
    straight = [
        http.get(workspace_users, headers={"Authorization": f"Bearer {workspace_token}"}).status_code,
        http.get(account_users, headers={"Authorization": f"Bearer {account_token}"}).status_code,
    ]

    assert crossed == [401, 401]
    assert straight == [200, 200]


@pytest.mark.parametrize(("admin", "status"), [(True, 200), (False, 403)])
def test_account_admin_switch(scim, emulator, admin, status):
    """A service principal that is not an account admin gets 403 from account SCIM."""
    emulator.state.configure(account_admin=admin)

    response = scim.get("/Users")

    assert response.status_code == status
