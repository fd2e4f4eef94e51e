"""Fixtures shared by all tests."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

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


@pytest.fixture(scope="session")
def migrated_airflow_db(tmp_path_factory) -> Path:
    """An Airflow metadata database on SQLite, migrated once per session, to copy into throw-away homes."""
    home = tmp_path_factory.mktemp("airflow_template")
    env = {key: value for key, value in os.environ.items() if not key.startswith("AIRFLOW")}
    subprocess.run(
        [sys.executable, "-m", "airflow", "db", "migrate"],
        env={**env, "AIRFLOW_HOME": str(home), "AIRFLOW__CORE__LOAD_EXAMPLES": "False"},
        capture_output=True,
        timeout=600,
        stdin=subprocess.DEVNULL,
        check=True,
    )
    return home / "airflow.db"
