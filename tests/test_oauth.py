"""Tests of the pure OAuth token parsing and host checks."""

from __future__ import annotations

import json

import pytest

from airflow_provider_dbxscim import oauth
from airflow_provider_dbxscim.exceptions import ConfigurationError, TokenError, UnexpectedResponseError

URL = "https://accounts.cloud.databricks.com/oidc/accounts/acc/v1/token"
JSON = {"content-type": "application/json"}


def _token_body(**fields) -> bytes:
    body = {
        "access_token": "eyJ-token-value",
        "token_type": "Bearer",
        "expires_in": 3600,
        "scope": "all-apis",
    }
    body.update(fields)
    return json.dumps(body).encode()


def test_token_is_read_with_its_expiry():
    """A token answer gives the token and its expiry counted from when the request was sent."""
    token = oauth.parse_token_response(200, JSON, _token_body(), url=URL, now=100.0)

    assert token.value == "eyJ-token-value"
    assert token.expires_at == 3700.0


def test_expires_in_may_be_a_numeric_string():
    """An expires_in sent as a string of digits is read as seconds."""
    token = oauth.parse_token_response(200, JSON, _token_body(expires_in="120"), url=URL, now=0.0)

    assert token.expires_at == 120.0


@pytest.mark.parametrize("token_type", ["bearer", "BEARER", "Bearer"])
def test_token_type_is_compared_without_case(token_type):
    """Bearer is accepted in any case."""
    token = oauth.parse_token_response(200, JSON, _token_body(token_type=token_type), url=URL, now=0.0)

    assert token.value == "eyJ-token-value"


def test_other_token_types_are_refused():
    """A token that is not a bearer token is refused."""
    with pytest.raises(TokenError, match="'mac'"):
        oauth.parse_token_response(200, JSON, _token_body(token_type="mac"), url=URL, now=0.0)


@pytest.mark.parametrize("expires_in", ["soon", -5, 0, "inf"])
def test_unusable_expires_in_is_refused(expires_in):
    """An expires_in that is not a positive finite number is refused."""
    with pytest.raises(TokenError, match="expires_in"):
        oauth.parse_token_response(200, JSON, _token_body(expires_in=expires_in), url=URL, now=0.0)


def test_answer_without_access_token_is_refused():
    """JSON without an access_token is an error that does not quote the body."""
    content = json.dumps({"id_token": "secret-looking"}).encode()

    with pytest.raises(TokenError) as caught:
        oauth.parse_token_response(200, JSON, content, url=URL, now=0.0)

    assert "secret-looking" not in str(caught.value)


def test_html_answer_names_url_and_content_type_only():
    """An HTML login page fails with the URL and the content type, never the page."""
    page = b"<html><title>Databricks - Sign In</title></html>"

    with pytest.raises(UnexpectedResponseError) as caught:
        oauth.parse_token_response(200, {"content-type": "text/html"}, page, url=URL, now=0.0)

    assert URL in str(caught.value)
    assert "text/html" in str(caught.value)
    assert "Sign In" not in str(caught.value)


def test_invalid_client_explains_what_to_check():
    """invalid_client fails with a message about the secret, the admin role and the account id."""
    content = json.dumps(
        {"error": "invalid_client", "error_description": "Client authentication failed"}
    ).encode()

    with pytest.raises(TokenError) as caught:
        oauth.parse_token_response(401, JSON, content, url=URL, now=0.0)

    assert caught.value.status == 401
    assert caught.value.scim_type == "invalid_client"
    assert "client secret" in str(caught.value)


def test_throttled_token_request_carries_status_and_retry_after():
    """The token endpoint's 429 keeps its status and Retry-After for the retry policy."""
    content = json.dumps(
        {"error": "invalid_request", "error_description": "Temporarily throttled, too many requests"}
    ).encode()

    with pytest.raises(TokenError) as caught:
        oauth.parse_token_response(429, {**JSON, "retry-after": "3"}, content, url=URL, now=0.0, wall_now=0.0)

    assert caught.value.status == 429
    assert caught.value.retry_after == 3.0
    assert "Temporarily throttled" in str(caught.value)


def test_empty_refusal_names_size_and_content_type():
    """A 400 without a body or content type says so and points at the host and account id."""
    with pytest.raises(TokenError) as caught:
        oauth.parse_token_response(400, {}, b"", url=URL, now=0.0)

    assert "0 bytes of no content type" in str(caught.value)


def test_databricks_shaped_refusal_is_read():
    """A 403 in the Databricks error shape (an IP access list) gives its code and message."""
    content = json.dumps({"error_code": "IP_BLOCKED", "message": "Source IP address is blocked"}).encode()

    with pytest.raises(TokenError) as caught:
        oauth.parse_token_response(403, JSON, content, url=URL, now=0.0)

    assert caught.value.scim_type == "IP_BLOCKED"
    assert "Source IP address is blocked" in str(caught.value)


def test_access_token_repr_hides_the_value():
    """The repr of a token shows its expiry but not its value."""
    token = oauth.AccessToken(value="eyJ-secret", expires_at=10.0)

    assert "eyJ-secret" not in repr(token)


def test_token_is_unusable_within_the_margin():
    """A token is refreshed once fewer than the margin's seconds are left."""
    token = oauth.AccessToken(value="t", expires_at=100.0)

    assert token.usable(39.0, oauth.DEFAULT_REFRESH_MARGIN)
    assert not token.usable(40.0, oauth.DEFAULT_REFRESH_MARGIN)


def test_short_lived_token_is_refreshed_half_way_through_its_life():
    """A token living shorter than twice the margin stays usable for half its lifetime, not for no time."""
    token = oauth.parse_token_response(
        200, JSON, json.dumps({"access_token": "t", "expires_in": 10}).encode(), url=URL, now=100.0
    )

    assert token.usable(104.9, oauth.DEFAULT_REFRESH_MARGIN)
    assert not token.usable(105.0, oauth.DEFAULT_REFRESH_MARGIN)


@pytest.mark.parametrize(
    ("host", "expected"),
    [
        ("accounts.cloud.databricks.com", "https://accounts.cloud.databricks.com"),
        ("https://accounts.azuredatabricks.net/", "https://accounts.azuredatabricks.net"),
        ("https://accounts.gcp.databricks.com", "https://accounts.gcp.databricks.com"),
        ("https://accounts-dod.cloud.databricks.us", "https://accounts-dod.cloud.databricks.us"),
    ],
)
def test_account_hosts_are_accepted(host, expected):
    """Accounts console hosts of every cloud are accepted and given a scheme."""
    assert oauth.validate_host(host) == expected


@pytest.mark.parametrize(
    ("host", "allow_any_host", "message"),
    [
        ("", False, "no host"),
        ("http://accounts.cloud.databricks.com", False, "https://"),
        ("https://example.com", False, "not a Databricks host"),
        ("https://evilaccounts.cloud.databricks.com", False, "not a Databricks host"),
        ("http://127.0.0.1:8080", False, "not a Databricks host"),
        ("http://10.0.0.1:8080", True, "https://"),
        ("https://user:pw@accounts.cloud.databricks.com", False, "without credentials"),
        ("ftp://accounts.cloud.databricks.com", False, "not an http"),
    ],
)
def test_unsafe_account_hosts_are_refused(host, allow_any_host, message):
    """Hosts outside Databricks, plain HTTP off loopback and URLs with credentials are refused."""
    with pytest.raises(ConfigurationError, match=message):
        oauth.validate_host(host, allow_any_host=allow_any_host)


def test_loopback_needs_allow_any_host():
    """The local emulator on plain HTTP is accepted once the connection allows any host."""
    assert oauth.validate_host("http://127.0.0.1:8080/", allow_any_host=True) == "http://127.0.0.1:8080"


@pytest.mark.parametrize(
    "host",
    [
        "dbc-1234.cloud.databricks.com",
        "https://adb-1.2.azuredatabricks.net",
        "https://1.2.gcp.databricks.com",
    ],
)
def test_workspace_hosts_are_accepted(host):
    """Workspace hosts of every cloud are accepted."""
    assert oauth.validate_workspace_host(host).startswith("https://")


@pytest.mark.parametrize(
    "host", ["https://evilazuredatabricks.net", "https://example.com", "http://x.cloud.databricks.com"]
)
def test_unsafe_workspace_hosts_are_refused(host):
    """A workspace host must be a whole-label Databricks domain over HTTPS."""
    with pytest.raises(ConfigurationError):
        oauth.validate_workspace_host(host)


def test_urls_of_the_account_and_a_workspace():
    """Token and Users URLs follow the documented paths, and a user id is one encoded segment."""
    host = "https://accounts.cloud.databricks.com"

    assert oauth.account_token_url(host, "acc") == f"{host}/oidc/accounts/acc/v1/token"
    assert oauth.account_users_url(host, "acc") == f"{host}/api/2.0/accounts/acc/scim/v2/Users"
    assert oauth.workspace_token_url("https://w") == "https://w/oidc/v1/token"
    assert oauth.workspace_users_url("https://w") == "https://w/api/2.0/preview/scim/v2/Users"
    assert oauth.user_url("https://w/Users", "a/b?c") == "https://w/Users/a%2Fb%3Fc"
