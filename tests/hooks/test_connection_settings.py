"""Tests of reading a dbxscim connection into checked settings, and of how a request is built."""

from __future__ import annotations

import json

import pytest

from airflow_provider_dbxscim import scim
from airflow_provider_dbxscim.exceptions import ConfigurationError
from airflow_provider_dbxscim.hooks._connection import WORKSPACE_GET_RATE, ConnectionSettings
from airflow_provider_dbxscim.hooks._transport import Audience, Call, TransportBase
from airflow_provider_dbxscim.hooks.dbxscim import DbxScimHook

HOST = "https://accounts.cloud.databricks.com"


def _settings(**extra) -> ConnectionSettings:
    return ConnectionSettings.from_fields(
        HOST, "client-id", "client-secret-value", {"account_id": "acc", **extra}
    )


def test_defaults():
    """Without optional extras the budgets are 2 PATCH and 20 GET per second and 50 terms per filter."""
    settings = _settings()

    assert (settings.patch_rate, settings.get_rate) == (2.0, 20.0)
    assert settings.terms_per_filter == scim.DEFAULT_TERMS_PER_FILTER
    assert settings.allow_any_host is False
    assert settings.rate_limit_dir is None


def test_extras_override_the_defaults():
    """Rates, terms per filter, the limiter directory and allow_any_host are read from the extra."""
    settings = ConnectionSettings.from_fields(
        "http://127.0.0.1:9000",
        "id",
        "secret",
        {
            "account_id": " acc ",
            "allow_any_host": "true",
            "patch_rate_per_second": "1.5",
            "get_rate_per_second": 10,
            "terms_per_filter": 500,
            "rate_limit_dir": "/var/tmp/limits",
        },
    )

    assert settings.account_id == "acc"
    assert (settings.patch_rate, settings.get_rate) == (1.5, 10.0)
    assert settings.terms_per_filter == 100
    assert settings.rate_limit_dir == "/var/tmp/limits"


@pytest.mark.parametrize(
    ("host", "login", "password", "extra", "message"),
    [
        (HOST, "id", "secret", {}, "account_id"),
        (HOST, None, "secret", {"account_id": "a"}, "client id"),
        (HOST, "id", "", {"account_id": "a"}, "OAuth secret"),
        (HOST, "id", "secret", {"account_id": "a", "patch_rate_per_second": 0}, "patch_rate_per_second"),
        (HOST, "id", "secret", {"account_id": "a", "get_rate_per_second": "fast"}, "get_rate_per_second"),
        (HOST, "id", "secret", {"account_id": "a", "allow_any_host": "maybe"}, "allow_any_host"),
        ("http://127.0.0.1:9000", "id", "secret", {"account_id": "a"}, "allow_any_host"),
    ],
)
def test_bad_connections_are_refused(host, login, password, extra, message):
    """Each mistake in a connection gets a ConfigurationError that names the field."""
    with pytest.raises(ConfigurationError, match=message):
        ConnectionSettings.from_fields(host, login, password, extra)


def test_settings_repr_hides_the_secret():
    """The settings' repr shows the host and account but not the client secret."""
    assert "client-secret-value" not in repr(_settings())


def test_workspace_budget_is_per_host_and_slower_for_reads():
    """A workspace has its own budget key and reads at most 255 a minute."""
    settings = _settings()

    first = Audience.workspace(settings, "https://a.cloud.databricks.com")
    second = Audience.workspace(settings, "https://b.cloud.databricks.com")

    assert first.budget != second.budget != Audience.account(settings).budget
    assert first.get_rate == WORKSPACE_GET_RATE
    assert first.token_url == "https://a.cloud.databricks.com/oidc/v1/token"


def test_patch_request_is_scim_json_with_a_boolean():
    """A PATCH is sent as application/scim+json with the JSON boolean, the bearer token in its header only."""
    settings = _settings()
    transport = TransportBase(settings, timeout=1, max_wait=1, clock=lambda: 0.0, log=None)
    call = Call("PATCH", f"{HOST}/Users/1", Audience.account(settings), body=scim.build_active_patch(True))

    sent = transport._request_kwargs(call, "token-value")

    assert sent["headers"] == {"Authorization": "Bearer token-value", "Content-Type": "application/scim+json"}
    assert json.loads(sent["content"])["Operations"][0]["value"] is True
    assert "token-value" not in call.what


def test_call_names_leave_the_query_out():
    """A lookup is named by method and URL, never by its filter of e-mail addresses."""
    call = Call(
        "GET", f"{HOST}/Users", Audience.account(_settings()), params={"filter": 'userName eq "a@b.c"'}
    )

    assert call.what == f"GET {HOST}/Users"


def test_hook_repr_names_only_the_connection_id():
    """The hook's repr shows its connection id and nothing loaded from the connection."""
    assert repr(DbxScimHook("my_conn")) == "DbxScimHook(dbxscim_conn_id='my_conn')"
