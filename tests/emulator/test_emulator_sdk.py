"""Tests that drive the emulator with the official databricks-sdk AccountClient over OAuth M2M."""

from __future__ import annotations

import os
from collections.abc import Callable

import pytest
from databricks.sdk import AccountClient
from databricks.sdk.clock import Clock
from databricks.sdk.config import Config
from databricks.sdk.errors import (
    BadRequest,
    InternalError,
    NotFound,
    PermissionDenied,
    RequestLimitExceeded,
    TooManyRequests,
    Unauthenticated,
)
from databricks.sdk.service.iam import Patch, PatchOp, PatchSchema

from airflow_provider_dbxscim.emulator import make_users

ALICE = "1000000000000001"
BOB = "1000000000000002"


class FakeClock(Clock):
    """SDK clock whose sleeps take no time, so its retries of 429 finish at once."""

    def __init__(self) -> None:
        self.now = 1_000_000.0
        self.slept: list[float] = []

    def time(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


@pytest.fixture
def sdk_env(monkeypatch) -> None:
    """Hide any DATABRICKS_* or Azure settings of the machine from the SDK."""
    for name in list(os.environ):
        if name.startswith(("DATABRICKS_", "ARM_", "AZURE_")):
            monkeypatch.delenv(name)


@pytest.fixture
def account_client(emulator, sdk_env) -> Callable[[], AccountClient]:
    """Build an AccountClient on the emulator whose retries run on a fake clock."""

    def build() -> AccountClient:
        config = Config(
            host=emulator.url,
            account_id=emulator.account_id,
            client_id=emulator.client_id,
            client_secret=emulator.client_secret,
            auth_type="oauth-m2m",
            retry_timeout_seconds=30,
            clock=FakeClock(),
        )
        return AccountClient(config=config)

    return build


@pytest.mark.parametrize("placeholder", [False, True])
def test_discovery_token_and_get(emulator, sdk_env, placeholder):
    """The SDK discovers the OIDC endpoints, fetches a token and reads a user, with either discovery form."""
    emulator.state.configure(discovery_account_placeholder=placeholder)
    client = AccountClient(
        host=emulator.url,
        account_id=emulator.account_id,
        client_id=emulator.client_id,
        client_secret=emulator.client_secret,
        auth_type="oauth-m2m",
    )

    user = client.users.get(ALICE)

    requests = emulator.state.stats()["requests"]
    assert user.user_name == "alice.active@example.com"
    assert user.active is True
    assert requests["discovery"] == {"200": 2}
    assert requests["token"] == {"200": 1}


def test_list_pages_through_every_user(emulator, account_client):
    """users.list with a filter walks pages capped at 100 until an empty page, yielding each user once."""
    emulator.state.seed({"users": make_users(250) + make_users(20, prefix="on", inactive_every=0)})

    users = list(account_client().users.list(filter="active eq false"))

    assert len({user.id for user in users}) == 250
    assert all(user.active is False for user in users)
    assert emulator.state.stats()["requests"]["scim_list"] == {"200": 4}


def test_patch_reactivates(emulator, account_client):
    """users.patch with a boolean replace of active reactivates the user."""
    client = account_client()

    client.users.patch(
        BOB,
        operations=[Patch(op=PatchOp.REPLACE, path="active", value=True)],
        schemas=[PatchSchema.URN_IETF_PARAMS_SCIM_API_MESSAGES_2_0_PATCH_OP],
    )

    assert client.users.get(BOB).active is True
    assert emulator.state.stats()["patches"][0]["active"] is True


def test_bad_filter_is_bad_request(account_client):
    """A 400 invalidFilter surfaces as BadRequest."""

    with pytest.raises(BadRequest):
        list(account_client().users.list(filter='userName gt "a"'))


def test_expired_token_is_unauthenticated(emulator, account_client):
    """A 401 for an expired token surfaces as Unauthenticated."""
    client = account_client()
    client.users.get(ALICE)
    emulator.state.expire_tokens()

    with pytest.raises(Unauthenticated):
        client.users.get(ALICE)


def test_not_an_account_admin_is_permission_denied(emulator, account_client):
    """A 403 for a service principal that is not an account admin surfaces as PermissionDenied."""
    emulator.state.configure(account_admin=False)

    with pytest.raises(PermissionDenied):
        account_client().users.get(ALICE)


def test_unknown_user_is_not_found(account_client):
    """A 404 surfaces as NotFound."""

    with pytest.raises(NotFound):
        account_client().users.get("42")


def test_throttling_is_too_many_requests(emulator, account_client):
    """The SDK retries a 429 until its retry timeout and then raises with TooManyRequests as the cause."""
    emulator.state.configure(fault_rate_429=1.0, fault_route_kinds=["scim_get"])

    with pytest.raises(TimeoutError) as caught:
        account_client().users.get(ALICE)

    assert isinstance(caught.value.__cause__, TooManyRequests)
    assert isinstance(caught.value.__cause__, RequestLimitExceeded)
    assert emulator.state.stats()["requests"]["scim_get"]["429"] > 1


def test_string_active_is_internal_error(emulator, account_client):
    """The 500 for a string value of active surfaces as InternalError and is not retried."""

    with pytest.raises(InternalError, match=r"java\.lang\.String cannot be cast"):
        account_client().users.patch(
            BOB,
            operations=[Patch(op=PatchOp.REPLACE, path="active", value="true")],
            schemas=[PatchSchema.URN_IETF_PARAMS_SCIM_API_MESSAGES_2_0_PATCH_OP],
        )

    assert emulator.state.stats()["requests"]["scim_patch"] == {"500": 1}
