from __future__ import annotations

import asyncio
import time

import pytest
from airflow.sdk.exceptions import AirflowSensorTimeout, TaskDeferred

from airflow_provider_dbxscim.exceptions import NotFoundError
from airflow_provider_dbxscim.sensors.active import AccountUsersActiveSensor
from airflow_provider_dbxscim.triggers.active import AccountUsersActiveTrigger

SEED = {
    "users": [
        {"userName": "ann@example.com", "active": True, "id": "1000000000000001"},
        {"userName": "bob@example.com", "active": False, "id": "1000000000000002"},
    ],
    "workspaces": {"analytics": {"users": [{"userName": "ann@example.com", "active": True}]}},
}


@pytest.fixture
def seeded(emu):
    emu.state.seed(SEED)
    return emu


def make_sensor(**kwargs):
    return AccountUsersActiveSensor(task_id="wait_until_active", poke_interval=0.05, **kwargs)


def defer(sensor) -> TaskDeferred:
    with pytest.raises(TaskDeferred) as deferred:
        sensor.execute({})
    return deferred.value


def run_trigger(trigger, *, while_waiting=None) -> list[dict]:
    async def collect() -> list[dict]:
        if while_waiting:
            asyncio.get_running_loop().call_later(0.15, while_waiting)
        return [event.payload async for event in trigger.run()]

    return asyncio.run(collect())


def test_poke_mode_waits_until_the_user_is_reactivated(seeded, monkeypatch):
    """In poke mode the sensor polls again after an inactive answer and returns once the user is active."""
    poke = AccountUsersActiveSensor.poke

    def poke_then_reactivate(self, context):
        answer = poke(self, context)
        seeded.state.set_active("bob@example.com", True)
        return answer

    monkeypatch.setattr(AccountUsersActiveSensor, "poke", poke_then_reactivate)
    sensor = make_sensor(user_names=["ann@example.com", "BOB@example.com"], timeout=10, mode="poke")

    result = sensor.execute({})

    assert result == ["ann@example.com", "bob@example.com"]
    assert seeded.state.stats()["requests"]["scim_list"] == {"200": 2}


def test_poke_mode_fails_fast_for_an_unknown_user(seeded):
    """An unknown user fails the first poke instead of waiting for the timeout."""
    sensor = make_sensor(user_names=["ghost@example.com"], timeout=10, mode="poke")

    with pytest.raises(NotFoundError, match="do not exist in the account"):
        sensor.execute({})


def test_deferrable_sensor_completes_through_its_trigger(seeded):
    """The sensor defers, its trigger polls the emulator until the user is active, and the event ends it."""
    sensor = make_sensor(user_names=["bob@example.com"], timeout=10, deferrable=True)
    deferred = defer(sensor)

    events = run_trigger(
        deferred.trigger, while_waiting=lambda: seeded.state.set_active("bob@example.com", True)
    )
    result = sensor.execute_complete({}, events[0])

    assert events == [{"status": "success", "user_names": ["bob@example.com"]}]
    assert result == ["bob@example.com"]


def test_deferrable_sensor_times_out_at_the_deadline(seeded):
    """A user who stays inactive ends in one timeout event and then AirflowSensorTimeout."""
    sensor = make_sensor(user_names=["ann@example.com", "bob@example.com"], timeout=0.3, deferrable=True)
    deferred = defer(sensor)

    events = run_trigger(deferred.trigger)

    assert events == [
        {
            "status": "timeout",
            "message": "The deadline passed with 1 of 2 users not active yet.",
            "pending": ["bob@example.com"],
        }
    ]
    with pytest.raises(AirflowSensorTimeout, match=r"Pending: bob@example\.com\."):
        sensor.execute_complete({}, events[0])


def test_trigger_waits_for_the_listed_workspaces_too(seeded):
    """A user active in the account but inactive in a listed workspace keeps the trigger polling."""
    workspace = seeded.workspace_url("analytics")
    seeded.state.set_active("ann@example.com", False, "analytics")
    trigger = AccountUsersActiveTrigger(
        "dbxscim_default", ["ann@example.com"], [workspace], poll_interval=0.05, deadline=time.time() + 10
    )

    events = run_trigger(
        trigger, while_waiting=lambda: seeded.state.set_active("ann@example.com", True, "analytics")
    )

    assert events == [{"status": "success", "user_names": ["ann@example.com"]}]
    assert seeded.state.stats()["requests"]["ws_scim_list"]["200"] >= 2
