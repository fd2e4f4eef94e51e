"""Fixtures shared by all tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from airflow_provider_dbxscim.emulator import EXAMPLE_SEED, RunningEmulator, run_emulator


@pytest.fixture(scope="session")
def emulator_server() -> Iterator[RunningEmulator]:
    """One emulator on 127.0.0.1 for the whole session, seeded with the packaged example data."""
    with run_emulator(seed=EXAMPLE_SEED) as running:
        yield running


@pytest.fixture
def emulator(emulator_server: RunningEmulator) -> RunningEmulator:
    """The session's emulator, reset to the example seed, default switches and empty statistics."""
    emulator_server.state.reset()
    return emulator_server
