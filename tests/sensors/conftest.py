from __future__ import annotations

import json

import pytest

from airflow_provider_dbxscim.emulator import RunningEmulator
from airflow_provider_dbxscim.utils.ratelimit import ENV_DIR


@pytest.fixture
def emu(emulator, monkeypatch, tmp_path) -> RunningEmulator:
    """The shared emulator without rate limits, reached through the ``dbxscim_default`` connection."""
    emulator.state.configure(rate_limits_enabled=False)
    extra = {"account_id": emulator.account_id, "allow_any_host": True}
    connection = {
        "conn_type": "dbxscim",
        "host": emulator.url,
        "login": emulator.client_id,
        "password": emulator.client_secret,
        "extra": {**extra, "patch_rate_per_second": 100_000, "get_rate_per_second": 100_000},
    }
    monkeypatch.setenv(ENV_DIR, str(tmp_path / "ratelimit"))
    monkeypatch.setenv("AIRFLOW_CONN_DBXSCIM_DEFAULT", json.dumps(connection))
    return emulator
