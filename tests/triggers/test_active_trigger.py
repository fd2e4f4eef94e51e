from __future__ import annotations

import asyncio
import time
from collections.abc import Iterable

import pytest
from airflow.sdk._shared.module_loading import import_string

from airflow_provider_dbxscim.exceptions import NotFoundError, ServiceUnavailableError
from airflow_provider_dbxscim.scim import ScimUser
from airflow_provider_dbxscim.triggers.active import AccountUsersActiveTrigger, inactive_user_names

WS = "https://dbc-1.cloud.databricks.com"


class FakeAsyncClient:
    """Answers each account lookup with the next state from ``rounds``; a state may be an exception."""

    def __init__(self, rounds: list, workspace: dict[str, ScimUser] | None = None) -> None:
        self.rounds = rounds
        self.workspace = workspace or {}
        self.closed = False

    async def __aenter__(self) -> FakeAsyncClient:
        return self

    async def __aexit__(self, *exc_info) -> None:
        self.closed = True

    async def find_account_users(self, user_names: Iterable[str]) -> dict[str, ScimUser]:
        state = self.rounds.pop(0) if len(self.rounds) > 1 else self.rounds[0]
        if isinstance(state, Exception):
            raise state
        return {name: state[name] for name in user_names if name in state}

    async def find_workspace_users(self, host: str, user_names: Iterable[str]) -> dict[str, ScimUser]:
        return {name: self.workspace[name] for name in user_names if name in self.workspace}


def users(**active: bool) -> dict[str, ScimUser]:
    return {
        f"{name}@x.io": ScimUser(id=name, user_name=f"{name}@x.io", active=flag)
        for name, flag in active.items()
    }


@pytest.fixture
def use_client(mocker):
    def install(client: FakeAsyncClient) -> FakeAsyncClient:
        mocker.patch(
            "airflow_provider_dbxscim.triggers.active.AsyncDbxScimClient.from_connection",
            mocker.AsyncMock(return_value=client),
        )
        return client

    return install


def run_trigger(trigger: AccountUsersActiveTrigger) -> list[dict]:
    async def collect() -> list[dict]:
        return [event.payload async for event in trigger.run()]

    return asyncio.run(collect())


def test_serialize_round_trips_through_the_class_path():
    """The class path and arguments from serialize() rebuild an identical trigger."""
    trigger = AccountUsersActiveTrigger(
        conn_id="dbxscim_default",
        user_names=["ann@x.io"],
        workspace_hosts=[WS],
        poll_interval=30,
        deadline=1_800_000_000.5,
    )

    path, kwargs = trigger.serialize()
    rebuilt = import_string(path)(**kwargs)

    assert path == "airflow_provider_dbxscim.triggers.active.AccountUsersActiveTrigger"
    assert rebuilt.serialize() == (path, kwargs)
    assert kwargs == {
        "conn_id": "dbxscim_default",
        "user_names": ["ann@x.io"],
        "workspace_hosts": [WS],
        "poll_interval": 30.0,
        "deadline": 1_800_000_000.5,
    }


def test_deadline_may_be_an_iso_timestamp():
    """An ISO 8601 deadline is stored as POSIX seconds, so it survives serialization unchanged."""
    trigger = AccountUsersActiveTrigger("c", ["ann@x.io"], deadline="2027-01-15T08:00:00+00:00")

    assert trigger.serialize()[1]["deadline"] == 1_800_000_000.0


def test_all_active_fires_success_once(use_client):
    """When every user is active the only event is success with the names."""
    client = use_client(FakeAsyncClient([users(ann=True, bob=True)]))
    trigger = AccountUsersActiveTrigger("c", ["ann@x.io", "bob@x.io"], poll_interval=0.01)

    events = run_trigger(trigger)

    assert events == [{"status": "success", "user_names": ["ann@x.io", "bob@x.io"]}]
    assert client.closed


def test_polls_until_users_become_active(use_client):
    """Inactive users are polled again after poll_interval until they are active."""
    client = use_client(FakeAsyncClient([users(ann=False), users(ann=False), users(ann=True)]))
    trigger = AccountUsersActiveTrigger("c", ["ann@x.io"], poll_interval=0.01, deadline=time.time() + 5)

    events = run_trigger(trigger)

    assert events == [{"status": "success", "user_names": ["ann@x.io"]}]
    assert client.rounds == [users(ann=True)]


def test_deadline_fires_timeout_with_the_pending_users(use_client):
    """Past the deadline the single event is a timeout naming the users still inactive."""
    use_client(FakeAsyncClient([users(ann=False, bob=True)]))
    trigger = AccountUsersActiveTrigger(
        "c", ["ann@x.io", "bob@x.io"], poll_interval=0.01, deadline=time.time() + 0.05
    )

    events = run_trigger(trigger)

    assert events == [
        {
            "status": "timeout",
            "message": "The deadline passed with 1 of 2 users not active yet.",
            "pending": ["ann@x.io"],
        }
    ]


def test_deadline_already_past_still_polls_once(use_client):
    """A trigger resumed after its deadline looks once, so users that did become active succeed."""
    use_client(FakeAsyncClient([users(ann=True)]))
    trigger = AccountUsersActiveTrigger("c", ["ann@x.io"], deadline=time.time() - 60)

    events = run_trigger(trigger)

    assert events == [{"status": "success", "user_names": ["ann@x.io"]}]


def test_unknown_user_fires_an_error_at_once(use_client):
    """A user that does not exist can never become active, so the trigger fails fast."""
    use_client(FakeAsyncClient([users(ann=False)]))
    trigger = AccountUsersActiveTrigger("c", ["ann@x.io", "ghost@x.io"], deadline=time.time() + 60)

    events = run_trigger(trigger)

    assert events == [
        {
            "status": "error",
            "message": "1 of 2 users do not exist in the account (ghost@x.io) and can never become active; "
            "remove them from user_names.",
        }
    ]


def test_transient_error_is_polled_again(use_client):
    """A 503 that outlived the client's retries costs one poll interval, not the wait."""
    use_client(
        FakeAsyncClient([ServiceUnavailableError("GET account Users failed with HTTP 503."), users(ann=True)])
    )
    trigger = AccountUsersActiveTrigger("c", ["ann@x.io"], poll_interval=0.01, deadline=time.time() + 5)

    events = run_trigger(trigger)

    assert events == [{"status": "success", "user_names": ["ann@x.io"]}]


def test_transient_errors_until_the_deadline_report_every_user_pending(use_client):
    """When no poll succeeded before the deadline the timeout cannot tell which users are pending."""
    use_client(FakeAsyncClient([ServiceUnavailableError("GET account Users failed with HTTP 503.")]))
    trigger = AccountUsersActiveTrigger("c", ["ann@x.io"], poll_interval=0.01, deadline=time.time() + 0.05)

    events = run_trigger(trigger)

    assert events == [
        {
            "status": "timeout",
            "message": "The deadline passed before a poll succeeded; the state of the 1 users is unknown.",
            "pending": ["ann@x.io"],
        }
    ]


def test_unexpected_exception_fires_one_error_event(use_client):
    """A bug surfaces as one error event naming the exception type, never as a silent stop."""
    use_client(FakeAsyncClient([KeyError("Resources")]))
    trigger = AccountUsersActiveTrigger("c", ["ann@x.io"])

    events = run_trigger(trigger)

    assert events == [{"status": "error", "message": "Unexpected KeyError in the trigger."}]


def test_workspaces_must_be_active_too(use_client):
    """A user active in the account but not in a listed workspace is still pending."""
    workspace = {"ann@x.io": ScimUser(id="77", user_name="ann@x.io", active=False)}
    use_client(FakeAsyncClient([users(ann=True)], workspace=workspace))
    trigger = AccountUsersActiveTrigger(
        "c", ["ann@x.io"], [WS], poll_interval=0.01, deadline=time.time() + 0.05
    )

    events = run_trigger(trigger)

    assert events[0]["status"] == "timeout"
    assert events[0]["pending"] == ["ann@x.io"]


def test_inactive_user_names_names_at_most_three_missing_users():
    """The not-found message stays short however many users are missing."""
    names = [f"u{i}@x.io" for i in range(5)]

    with pytest.raises(
        NotFoundError, match=r"5 of 5 users do not exist in the account \(u0@x.io, u1@x.io, u2@x.io, \.\.\.\)"
    ):
        inactive_user_names(names, {}, where="in the account")


class SlowAsyncClient(FakeAsyncClient):
    """A client whose lookups are still retrying long after the deadline."""

    async def find_account_users(self, user_names: Iterable[str]) -> dict[str, ScimUser]:
        await asyncio.sleep(30)
        return {}


def test_deadline_cuts_a_poll_that_is_still_retrying(use_client):
    """A poll whose retries outlast the deadline ends in one timeout event soon after the deadline."""
    use_client(SlowAsyncClient([{}]))
    trigger = AccountUsersActiveTrigger("c", ["ann@x.io"], poll_interval=0.01, deadline=time.time() + 0.05)
    started = time.monotonic()

    events = run_trigger(trigger)

    assert [event["status"] for event in events] == ["timeout"]
    assert events[0]["pending"] == ["ann@x.io"]
    assert time.monotonic() - started < 5
