"""Fixtures of the hook tests: an emulator serving on 127.0.0.1, connections to it, and fake time."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from airflow_provider_dbxscim.emulator import RunningEmulator
from airflow_provider_dbxscim.hooks.dbxscim import DbxScimHook
from airflow_provider_dbxscim.utils.ratelimit import ENV_DIR

CONN_ID = "dbxscim_test"
# Far above any test's pace, so the client's own limiter never waits unless a test asks for a real rate.
UNLIMITED = 1_000_000


class FakeTime:
    """
    A monotonic clock and a sleep that takes no real time: sleeping moves this clock and the emulator's.

    :param emulator: the emulator whose clock moves along, so its tokens expire and its buckets refill.
    """

    def __init__(self, emulator: RunningEmulator | None = None) -> None:
        self.now = 1_000.0
        self.waits: list[float] = []
        self.on_sleep: list[Callable[[], None]] = []
        self._emulator = emulator

    def monotonic(self) -> float:
        """Return the fake monotonic time."""
        return self.now

    def sleep(self, seconds: float) -> None:
        """Record the wait, move time forward and run the callbacks set by the test."""
        self.waits.append(seconds)
        self.advance(seconds)
        for callback in self.on_sleep:
            callback()

    async def asleep(self, seconds: float) -> None:
        """The same as :meth:`sleep`, for the async client."""
        self.sleep(seconds)

    def advance(self, seconds: float) -> None:
        """Move this clock and the emulator's forward."""
        self.now += seconds
        if self._emulator is not None and seconds > 0:
            self._emulator.state.advance_clock(seconds)


@pytest.fixture(autouse=True)
def rate_limit_dir(tmp_path, monkeypatch):
    """Give each test its own rate-limit files, so budgets spent by one test never slow another."""
    directory = tmp_path / "ratelimit"
    monkeypatch.setenv(ENV_DIR, str(directory))
    return directory


@pytest.fixture
def emu(emulator) -> RunningEmulator:
    """The session's emulator without users or rate limits; each test seeds and switches what it needs."""
    emulator.state.configure(rate_limits_enabled=False)
    emulator.state.seed({"users": []})
    return emulator


@pytest.fixture
def fake_time(emu) -> FakeTime:
    """Fake time that also moves the emulator's clock."""
    return FakeTime(emu)


def conn_json(emu: RunningEmulator, **extra: Any) -> str:
    """
    Return the ``AIRFLOW_CONN_*`` JSON of a connection to ``emu``.

    :param extra: extra fields to add or replace (None removes one); ``password`` replaces the secret.
    """
    password = extra.pop("password", emu.client_secret)
    fields = {
        "account_id": emu.account_id,
        "allow_any_host": True,
        "patch_rate_per_second": UNLIMITED,
        "get_rate_per_second": UNLIMITED,
    }
    fields.update(extra)
    return json.dumps(
        {
            "conn_type": "dbxscim",
            "host": emu.url,
            "login": emu.client_id,
            "password": password,
            "extra": {key: value for key, value in fields.items() if value is not None},
        }
    )


@pytest.fixture
def connect(emu, monkeypatch) -> Callable[..., str]:
    """Define the test connection through ``AIRFLOW_CONN_DBXSCIM_TEST``; keyword arguments go to its extra."""

    def define(**extra: Any) -> str:
        monkeypatch.setenv(f"AIRFLOW_CONN_{CONN_ID.upper()}", conn_json(emu, **extra))
        return CONN_ID

    return define


@pytest.fixture
def hook(connect, fake_time) -> Iterator[DbxScimHook]:
    """A hook on the emulator that waits in fake time."""
    with DbxScimHook(connect(), sleep=fake_time.sleep, clock=fake_time.monotonic) as made:
        yield made


@pytest.fixture
def requests_of(emu) -> Callable[[str], dict[str, int]]:
    """Count the emulator's answers by status for one route kind, e.g. ``token`` or ``scim_patch``."""

    def count(kind: str) -> dict[str, int]:
        return emu.state.stats()["requests"].get(kind, {})

    return count
