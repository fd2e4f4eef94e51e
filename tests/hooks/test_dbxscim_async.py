"""Tests of the async client the trigger uses, against the emulator."""

from __future__ import annotations

import asyncio

import pytest

from airflow_provider_dbxscim.emulator import make_users
from airflow_provider_dbxscim.exceptions import ConfigurationError, NotFoundError
from airflow_provider_dbxscim.hooks.dbxscim_async import AsyncDbxScimClient


def _client(conn_id: str, fake_time) -> AsyncDbxScimClient:
    return asyncio.run(
        AsyncDbxScimClient.from_connection(conn_id, sleep=fake_time.asleep, clock=fake_time.monotonic)
    )


async def _lookup(conn_id: str, fake_time, names: list[str]):
    async with await AsyncDbxScimClient.from_connection(
        conn_id, sleep=fake_time.asleep, clock=fake_time.monotonic
    ) as client:
        return await client.find_account_users(names)


def test_lookups_are_batched(connect, emu, fake_time, requests_of):
    """The async client looks 60 names up in two filtered requests with one token."""
    emu.state.seed({"users": make_users(55)})
    names = [f"user{number:04d}@example.com" for number in range(1, 61)]

    found = asyncio.run(_lookup(connect(), fake_time, names))

    assert len(found) == 55
    assert requests_of("scim_list") == {"200": 2}
    assert requests_of("token") == {"200": 1}


def test_transient_faults_are_retried_with_the_async_sleep(connect, emu, fake_time, requests_of):
    """A dropped connection and a 503 are retried after waits taken with the injected async sleep."""
    emu.state.seed({"users": make_users(1)})
    emu.state.configure(fault_rate_drop=0.5, fault_rate_503=0.5, fault_route_kinds=["scim_list"])
    fake_time.on_sleep.append(
        lambda: len(fake_time.waits) == 2 and emu.state.configure(fault_rate_drop=0.0, fault_rate_503=0.0)
    )

    found = asyncio.run(_lookup(connect(), fake_time, ["user0001@example.com"]))

    assert list(found) == ["user0001@example.com"]
    assert len(fake_time.waits) == 2
    assert requests_of("scim_list")["200"] == 1


def test_refused_token_is_replaced_once(connect, emu, fake_time, requests_of):
    """After the service refuses an expired token, the client fetches a new one and retries."""
    emu.state.seed({"users": make_users(2)})

    async def run():
        async with await AsyncDbxScimClient.from_connection(
            connect(), sleep=fake_time.asleep, clock=fake_time.monotonic
        ) as client:
            await client.find_account_users(["user0001@example.com"])
            emu.state.expire_tokens()
            return await client.find_account_users(["user0002@example.com"])

    found = asyncio.run(run())

    assert list(found) == ["user0002@example.com"]
    assert requests_of("token") == {"200": 2}
    assert requests_of("scim_list") == {"200": 2, "401": 1}


def test_workspace_lookup_uses_a_workspace_token(connect, emu, fake_time, requests_of):
    """A workspace lookup fetches that workspace's token and finds its own user id."""
    emu.state.seed({"workspaces": {"ws1": {"users": [{"userName": "a@example.com", "active": False}]}}})
    host = emu.workspace_url("ws1")

    async def run():
        async with await AsyncDbxScimClient.from_connection(
            connect(), sleep=fake_time.asleep, clock=fake_time.monotonic
        ) as client:
            return await client.find_workspace_users(host, ["a@example.com"])

    found = asyncio.run(run())

    assert found["a@example.com"].active is False
    assert requests_of("ws_token") == {"200": 1}
    assert requests_of("ws_scim_list") == {"200": 1}


def test_get_account_user_and_unknown_id(connect, emu, fake_time):
    """A user is read by id; an unknown id raises NotFoundError."""
    emu.state.seed({"users": [{"userName": "a@example.com", "active": True, "id": "77"}]})

    async def run():
        async with await AsyncDbxScimClient.from_connection(
            connect(), sleep=fake_time.asleep, clock=fake_time.monotonic
        ) as client:
            user = await client.get_account_user("77")
            with pytest.raises(NotFoundError):
                await client.get_account_user("78")
            return user

    user = asyncio.run(run())

    assert (user.user_name, user.active) == ("a@example.com", True)


def test_bad_connection_fails_before_any_request(connect, emu, fake_time, requests_of):
    """A connection without account_id raises a ConfigurationError naming it, and sends nothing."""
    conn_id = connect(account_id=None)

    with pytest.raises(ConfigurationError, match="account_id"):
        _client(conn_id, fake_time)

    assert requests_of("token") == {}
