"""Tests of the hook's OAuth tokens against the emulator: caching, refresh, refusals and token errors."""

from __future__ import annotations

import pytest

from airflow_provider_dbxscim.exceptions import (
    AuthenticationError,
    ConfigurationError,
    TokenError,
    UnexpectedResponseError,
)
from airflow_provider_dbxscim.hooks.dbxscim import DbxScimHook
from airflow_provider_dbxscim.oauth import DEFAULT_REFRESH_MARGIN


def test_token_is_fetched_once_and_cached(hook, emu, requests_of):
    """Several calls share one account token."""
    first = hook.get_account_token()

    hook.find_account_users(["a@example.com"])
    hook.find_account_users(["b@example.com"])

    assert hook.get_account_token() == first
    assert requests_of("token") == {"200": 1}
    assert emu.state.issued_tokens() == [first]


def test_token_is_refreshed_before_it_expires(hook, emu, fake_time, requests_of):
    """A token is kept until the refresh margin is reached, then replaced before the service refuses it."""
    first = hook.get_account_token()
    fake_time.advance(3600 - DEFAULT_REFRESH_MARGIN - 1)

    kept = hook.get_account_token()
    fake_time.advance(2)
    replaced = hook.get_account_token()
    hook.find_account_users(["a@example.com"])

    assert kept == first
    assert replaced != first
    assert requests_of("token") == {"200": 2}
    assert requests_of("scim_list") == {"200": 1}


def test_short_lived_tokens_are_reused_until_half_their_lifetime(hook, emu, fake_time, requests_of):
    """Ten-second tokens serve the calls of their first five seconds instead of one token per call."""
    emu.state.configure(token_lifetime_seconds=10, token_expiry_margin_seconds=2)

    for _ in range(4):
        hook.find_account_users(["a@example.com"])
        fake_time.advance(1)
    fake_time.advance(2)
    hook.find_account_users(["a@example.com"])

    assert requests_of("token") == {"200": 2}
    assert requests_of("scim_list") == {"200": 5}


def test_expires_in_as_a_string_is_understood(hook, emu, fake_time, requests_of):
    """A token whose expires_in came as a string is cached for its lifetime like any other."""
    emu.state.configure(expires_in_as_string=True)

    hook.get_account_token()
    fake_time.advance(600)
    hook.get_account_token()

    assert requests_of("token") == {"200": 1}


@pytest.mark.parametrize("status", [401, 403])
def test_refused_token_is_replaced_once(hook, emu, status, requests_of):
    """A 401 or a 403 for an expired token drops the token, fetches a new one and retries the call."""
    emu.state.configure(invalid_token_status=status)
    emu.state.seed({"users": [{"userName": "a@example.com", "active": False}]})
    hook.get_account_token()
    emu.state.expire_tokens()

    found = hook.find_account_users(["a@example.com"])

    assert list(found) == ["a@example.com"]
    assert requests_of("token") == {"200": 2}
    assert requests_of("scim_list") == {str(status): 1, "200": 1}


@pytest.mark.parametrize("status", [401, 403])
def test_second_refusal_is_final(hook, emu, status, requests_of):
    """When the fresh token is refused too, the call fails instead of fetching tokens forever."""
    emu.state.configure(invalid_token_status=status, token_lifetime_seconds=10)

    with pytest.raises(AuthenticationError) as caught:
        hook.find_account_users(["a@example.com"])

    assert caught.value.status == status
    assert requests_of("token") == {"200": 2}
    assert requests_of("scim_list") == {str(status): 2}


def test_token_throttling_is_retried(hook, emu, fake_time, requests_of):
    """The token endpoint's 429 "Temporarily throttled" is retried with backoff until a token comes."""
    emu.state.configure(fault_rate_token_throttle=1.0, fault_route_kinds=["token"])
    fake_time.on_sleep.append(
        lambda: len(fake_time.waits) == 2 and emu.state.configure(fault_rate_token_throttle=0.0)
    )

    token = hook.get_account_token()

    assert token in emu.state.issued_tokens()
    assert requests_of("token") == {"429": 2, "200": 1}
    assert len(fake_time.waits) == 2


def test_invalid_client_fails_at_once_with_advice(connect, emu, fake_time, requests_of):
    """A wrong secret fails on the first answer with a message that says what to check, without the secret."""
    conn_id = connect(password="not-the-right-secret")

    with (
        DbxScimHook(conn_id, sleep=fake_time.sleep, clock=fake_time.monotonic) as hook,
        pytest.raises(TokenError) as caught,
    ):
        hook.get_account_token()

    assert "invalid_client" in str(caught.value)
    assert "not-the-right-secret" not in str(caught.value)
    assert requests_of("token") == {"401": 1}
    assert fake_time.waits == []


def test_html_token_answer_names_url_and_content_type(connect, emu, fake_time, requests_of):
    """A login page from the token endpoint (wrong account id) fails with the URL and content type only."""
    conn_id = connect(account_id="00000000-0000-0000-0000-000000000000")

    with (
        DbxScimHook(conn_id, sleep=fake_time.sleep, clock=fake_time.monotonic) as hook,
        pytest.raises(UnexpectedResponseError) as caught,
    ):
        hook.get_account_token()

    message = str(caught.value)
    assert f"{emu.url}/oidc/accounts/00000000-0000-0000-0000-000000000000/v1/token" in message
    assert "text/html" in message
    assert "<" not in message
    assert requests_of("token") == {"200": 1}


def test_missing_account_id_is_named(connect, fake_time):
    """A connection without account_id fails before any request, naming the field."""
    conn_id = connect(account_id=None)

    with pytest.raises(ConfigurationError, match="account_id"):
        DbxScimHook(conn_id, sleep=fake_time.sleep, clock=fake_time.monotonic).get_account_token()


def test_workspace_tokens_are_fetched_per_host(hook, emu, requests_of):
    """Each workspace gets its own token, apart from the account's, and reuses it."""
    emu.state.seed(
        {
            "users": [{"userName": "a@example.com", "active": True}],
            "workspaces": {
                name: {"users": [{"userName": "a@example.com", "active": False}]} for name in ("ws1", "ws2")
            },
        }
    )
    hosts = [emu.workspace_url("ws1"), emu.workspace_url("ws2")]

    for host in hosts:
        user = hook.find_workspace_users(host, ["A@example.com"])["a@example.com"]
        hook.set_workspace_user_active(host, user.id)

    assert requests_of("ws_token") == {"200": 2}
    assert requests_of("token") == {}
    assert requests_of("ws_scim_patch") == {"200": 2}
    assert all(emu.state.get_user("a@example.com", name)["active"] for name in ("ws1", "ws2"))
