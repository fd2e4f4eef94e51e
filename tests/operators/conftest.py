from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterable
from types import SimpleNamespace
from typing import Any
from unittest import mock

import pytest

from airflow_provider_dbxscim.emulator import RunningEmulator
from airflow_provider_dbxscim.exceptions import NotFoundError
from airflow_provider_dbxscim.scim import ScimUser
from airflow_provider_dbxscim.utils.ratelimit import ENV_DIR


class FakeHook:
    """An in-memory stand-in for DbxScimHook that records every change in ``patches``."""

    def __init__(self) -> None:
        self.account: dict[str, ScimUser] = {}
        self.workspaces: dict[str, dict[str, ScimUser]] = {}
        self.errors: dict[str, Exception] = {}
        self.patches: list[tuple[str, str]] = []

    def add(self, user_name: str, *, active: bool, user_id: str, external_id: str | None = None) -> ScimUser:
        user = ScimUser(id=user_id, user_name=user_name, active=active, external_id=external_id)
        self.account[user_name] = user
        return user

    def add_to_workspace(self, host: str, user_name: str, *, active: bool, user_id: str) -> None:
        self.workspaces.setdefault(host, {})[user_name] = ScimUser(user_id, user_name, active)

    def __enter__(self) -> FakeHook:
        return self

    def __exit__(self, *exc_info: Any) -> None:
        return None

    def find_account_users(self, user_names: Iterable[str]) -> dict[str, ScimUser]:
        return {name: self.account[name] for name in user_names if name in self.account}

    def get_account_user(self, user_id: str) -> ScimUser:
        for user in self.account.values():
            if user.id == user_id:
                return user
        raise NotFoundError(f"GET user {user_id}: not found (HTTP 404).", status=404)

    def set_account_user_active(self, user_id: str, active: bool = True) -> None:
        self._patch("account", self.account, user_id, active)

    def find_workspace_users(self, workspace_host: str, user_names: Iterable[str]) -> dict[str, ScimUser]:
        if workspace_host in self.errors:
            raise self.errors[workspace_host]
        users = self.workspaces.get(workspace_host, {})
        return {name: users[name] for name in user_names if name in users}

    def set_workspace_user_active(self, workspace_host: str, user_id: str, active: bool = True) -> None:
        self._patch(workspace_host, self.workspaces[workspace_host], user_id, active)

    def _patch(self, where: str, users: dict[str, ScimUser], user_id: str, active: bool) -> None:
        if user_id in self.errors:
            raise self.errors[user_id]
        self.patches.append((where, user_id))
        for name, user in users.items():
            if user.id == user_id:
                users[name] = dataclasses.replace(user, active=active)


class FakeStateStore:
    """A dict behind the ``get``/``set`` of Airflow's task state store accessor."""

    def __init__(self) -> None:
        self.values: dict[str, Any] = {}

    def get(self, key: str, default: Any = None) -> Any:
        return self.values.get(key, default)

    def set(self, key: str, value: Any) -> None:
        self.values[key] = value


@pytest.fixture
def fake_hook(mocker):
    hook = FakeHook()
    mocker.patch("airflow_provider_dbxscim.operators.reactivate.DbxScimHook", return_value=hook)
    return hook


@pytest.fixture
def make_context():
    """Build the context of one task instance, with its own task state store, for a given run id."""

    def make(run_id: str = "manual__2025-01-06T00:00:00+00:00") -> dict[str, Any]:
        ti = SimpleNamespace(
            dag_id="dbxscim_test",
            run_id=run_id,
            task_id="reactivate",
            map_index=-1,
            try_number=1,
            xcom_push=mock.Mock(),
        )
        return {"ti": ti, "task_state_store": FakeStateStore()}

    return make


@pytest.fixture
def context(make_context):
    return make_context()


@pytest.fixture
def emu(emulator, monkeypatch, tmp_path) -> RunningEmulator:
    """The shared emulator without rate limits, reached through the ``dbxscim_default`` connection."""
    emulator.state.configure(rate_limits_enabled=False)
    monkeypatch.setenv(ENV_DIR, str(tmp_path / "ratelimit"))
    monkeypatch.setenv("AIRFLOW_CONN_DBXSCIM_DEFAULT", connection_json(emulator))
    return emulator


def connection_json(emulator: RunningEmulator) -> str:
    """The ``AIRFLOW_CONN_*`` value of a connection to the emulator with a budget no test waits for."""
    extra = {
        "account_id": emulator.account_id,
        "allow_any_host": True,
        "patch_rate_per_second": 100_000,
        "get_rate_per_second": 100_000,
    }
    return json.dumps(
        {
            "conn_type": "dbxscim",
            "host": emulator.url,
            "login": emulator.client_id,
            "password": emulator.client_secret,
            "extra": extra,
        }
    )
