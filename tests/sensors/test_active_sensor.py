from __future__ import annotations

import inspect
import time
from datetime import timedelta

import pytest
from airflow.sdk import conf
from airflow.sdk.exceptions import AirflowSensorTimeout, AirflowSkipException, TaskDeferred

from airflow_provider_dbxscim.exceptions import (
    ConfigurationError,
    DbxScimError,
    NotFoundError,
    RateLimitedError,
)
from airflow_provider_dbxscim.scim import ScimUser
from airflow_provider_dbxscim.sensors.active import AccountUsersActiveSensor
from airflow_provider_dbxscim.triggers.active import AccountUsersActiveTrigger

WS = "https://dbc-1.cloud.databricks.com"


def users(**active: bool) -> dict[str, ScimUser]:
    return {
        f"{name}@x.io": ScimUser(id=name, user_name=f"{name}@x.io", active=flag)
        for name, flag in active.items()
    }


@pytest.fixture
def hook(mocker):
    hook_class = mocker.patch("airflow_provider_dbxscim.sensors.active.DbxScimHook")
    hook = hook_class.return_value.__enter__.return_value
    hook.find_workspace_users.return_value = {}
    return hook


def make_sensor(**kwargs):
    kwargs.setdefault("task_id", "wait_until_active")
    kwargs.setdefault("poke_interval", 0)
    kwargs.setdefault("timeout", 1)
    return AccountUsersActiveSensor(**kwargs)


def test_poke_is_done_when_every_user_is_active(hook):
    """All users active: the poke is done and hands the normalised names to XCom."""
    hook.find_account_users.return_value = users(ann=True, bob=True)

    result = make_sensor(user_names=["Ann@x.io", "bob@x.io"]).poke({})

    assert result.is_done
    assert result.xcom_value == ["ann@x.io", "bob@x.io"]


def test_poke_waits_while_a_user_is_inactive(hook):
    """One inactive user keeps the sensor waiting."""
    hook.find_account_users.return_value = users(ann=True, bob=False)

    result = make_sensor(user_names=["ann@x.io", "bob@x.io"]).poke({})

    assert not result.is_done


def test_poke_checks_workspaces_too(hook):
    """A user active in the account but inactive in a listed workspace keeps the sensor waiting."""
    hook.find_account_users.return_value = users(ann=True)
    hook.find_workspace_users.return_value = users(ann=False)

    result = make_sensor(user_names=["ann@x.io"], workspace_hosts=[WS]).poke({})

    assert not result.is_done
    hook.find_workspace_users.assert_called_once_with(WS, ["ann@x.io"])


def test_poke_fails_fast_for_a_user_that_does_not_exist(hook):
    """A missing user can never become active, so the sensor fails instead of waiting for its timeout."""
    hook.find_account_users.return_value = users(ann=True)

    with pytest.raises(NotFoundError, match=r"1 of 2 users do not exist in the account \(ghost@x.io\)"):
        make_sensor(user_names=["ann@x.io", "ghost@x.io"]).poke({})


def test_poke_treats_a_transient_error_as_not_yet(hook):
    """Throttling that outlived the hook's retries means "poke again later", not a failure."""
    hook.find_account_users.side_effect = RateLimitedError("GET account Users was throttled by Databricks.")

    result = make_sensor(user_names=["ann@x.io"]).poke({})

    assert not result.is_done


def test_empty_user_names_succeed_without_a_request(hook):
    """Nothing to wait for is done at once and asks Databricks nothing."""
    result = make_sensor(user_names=[]).poke({})

    assert result.is_done
    assert result.xcom_value == []
    hook.find_account_users.assert_not_called()


@pytest.mark.parametrize("value", [["ann@x.io", "not an email"], "ann@x.io", None])
def test_unusable_user_names_are_refused(hook, value):
    """Invalid entries, a plain string or None fail with a configuration error before any request."""
    with pytest.raises(ConfigurationError):
        make_sensor(user_names=value).poke({})

    hook.find_account_users.assert_not_called()


def test_poke_mode_returns_the_confirmed_names(hook):
    """In poke mode execute() loops until done and returns the names."""
    hook.find_account_users.side_effect = [users(ann=False), users(ann=True)]

    result = make_sensor(user_names=["ann@x.io"], deferrable=False).execute({})

    assert result == ["ann@x.io"]


def test_poke_mode_times_out(hook):
    """In poke mode a user who stays inactive ends in AirflowSensorTimeout."""
    hook.find_account_users.return_value = users(ann=False)

    with pytest.raises(AirflowSensorTimeout):
        make_sensor(user_names=["ann@x.io"], deferrable=False, timeout=0.05, poke_interval=0.01).execute({})


def test_deferrable_returns_at_once_when_already_active(hook):
    """A deferrable sensor whose users are active already does not defer."""
    hook.find_account_users.return_value = users(ann=True)

    result = make_sensor(user_names=["ann@x.io"], deferrable=True).execute({})

    assert result == ["ann@x.io"]


def test_deferrable_defers_with_an_absolute_deadline(hook):
    """Pending users hand over to the trigger with the sensor's timeout as an absolute deadline."""
    hook.find_account_users.return_value = users(ann=False)
    sensor = make_sensor(
        user_names=["ann@x.io"], workspace_hosts=[WS], deferrable=True, timeout=600, poke_interval=30
    )
    hook.find_workspace_users.return_value = users(ann=True)

    with pytest.raises(TaskDeferred) as deferred:
        sensor.execute({})

    trigger = deferred.value.trigger
    assert isinstance(trigger, AccountUsersActiveTrigger)
    assert trigger.user_names == ["ann@x.io"]
    assert trigger.workspace_hosts == [WS]
    assert trigger.poll_interval == 30
    assert trigger.deadline == pytest.approx(time.time() + 600, abs=5)
    assert deferred.value.method_name == "execute_complete"
    assert deferred.value.timeout == timedelta(seconds=660)


def test_execute_complete_returns_the_names_on_success():
    """A success event becomes the XCom value."""
    sensor = make_sensor(user_names=["ann@x.io"])

    result = sensor.execute_complete({}, {"status": "success", "user_names": ["ann@x.io"]})

    assert result == ["ann@x.io"]


def test_execute_complete_turns_a_timeout_into_a_sensor_timeout():
    """A timeout event raises AirflowSensorTimeout naming the pending users."""
    sensor = make_sensor(user_names=["ann@x.io"])
    event = {
        "status": "timeout",
        "message": "The deadline passed with 1 of 1 users not active yet.",
        "pending": ["ann@x.io"],
    }

    with pytest.raises(AirflowSensorTimeout, match=r"not active yet\. Pending: ann@x\.io\."):
        sensor.execute_complete({}, event)


def test_execute_complete_skips_on_timeout_with_soft_fail():
    """With soft_fail a timeout skips the task instead of failing it."""
    sensor = make_sensor(user_names=["ann@x.io"], soft_fail=True)
    event = {"status": "timeout", "message": "The deadline passed.", "pending": ["ann@x.io"]}

    with pytest.raises(AirflowSkipException):
        sensor.execute_complete({}, event)


def test_execute_complete_raises_a_typed_error_on_error():
    """An error event raises a DbxScimError carrying the trigger's message."""
    sensor = make_sensor(user_names=["ann@x.io"])

    with pytest.raises(DbxScimError, match="do not exist"):
        sensor.execute_complete(
            {}, {"status": "error", "message": "1 of 1 users do not exist in the account."}
        )


def test_deferrable_defaults_to_the_airflow_setting():
    """Without an explicit flag the sensor follows [operators] default_deferrable."""
    default = inspect.signature(AccountUsersActiveSensor.__init__).parameters["deferrable"].default

    sensor = make_sensor(user_names=["ann@x.io"])

    assert default is conf.getboolean("operators", "default_deferrable", fallback=False)
    assert sensor.deferrable is default
