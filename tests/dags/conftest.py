from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from airflow_provider_dbxscim.emulator import EXAMPLE_SEED, EmulatorProcess, start_emulator_process

REPO = Path(__file__).resolve().parents[2]
DAGS = REPO / "dags"


@pytest.fixture(scope="session")
def demo_emulator() -> Iterator[EmulatorProcess]:
    """The emulator in a process of its own, seeded with the bundled demo data, without rate limits."""
    with start_emulator_process(seed=EXAMPLE_SEED, config={"rate_limits_enabled": False}) as running:
        yield running


@pytest.fixture
def emulator_process(demo_emulator) -> EmulatorProcess:
    """The demo emulator back at its seed, with fresh statistics."""
    demo_emulator.state.reset()
    return demo_emulator


@pytest.fixture(scope="session")
def airflow_env(tmp_path_factory, demo_emulator, migrated_airflow_db) -> dict[str, str]:
    """Environment of a throw-away Airflow home on SQLite, a copy of the session's migrated database."""
    home = tmp_path_factory.mktemp("airflow_home")
    connection = {
        "conn_type": "dbxscim",
        "host": demo_emulator.url,
        "login": demo_emulator.client_id,
        "password": demo_emulator.client_secret,
        "extra": {
            "account_id": demo_emulator.account_id,
            "allow_any_host": True,
            "patch_rate_per_second": 1000,
        },
    }
    env = {
        **{key: value for key, value in os.environ.items() if not key.startswith("AIRFLOW")},
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(DAGS),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW_CONN_DBXSCIM_DEFAULT": json.dumps(connection),
        "DBXSCIM_RATE_LIMIT_DIR": str(home / "ratelimit"),
        "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])),
    }
    shutil.copyfile(migrated_airflow_db, home / "airflow.db")
    return env


@pytest.fixture
def run_airflow(airflow_env):
    """Run the Airflow command line in the throw-away home; fail the test on a non-zero exit unless told."""

    def run(*args: str, check: bool = True, **env: str) -> subprocess.CompletedProcess[str]:
        done = subprocess.run(
            [sys.executable, "-m", "airflow", *args],
            env={**airflow_env, **env},
            capture_output=True,
            text=True,
            timeout=600,
            stdin=subprocess.DEVNULL,
            check=False,
        )
        if check and done.returncode != 0:
            pytest.fail(f"airflow {' '.join(args)} exited with {done.returncode}:\n{done.stdout[-6000:]}")
        return done

    return run
