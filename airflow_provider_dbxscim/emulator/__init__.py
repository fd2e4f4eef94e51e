"""
Local emulator of the Databricks account API: OAuth M2M tokens, account and workspace SCIM Users, rate
limits and the failures seen in the wild, all switchable. Serves on 127.0.0.1 only.
"""

from __future__ import annotations

from airflow_provider_dbxscim.emulator.clock import EmulatorClock
from airflow_provider_dbxscim.emulator.config import (
    DEFAULT_ACCOUNT_ID,
    DEFAULT_CLIENT_ID,
    DEFAULT_CLIENT_SECRET,
    EmulatorConfig,
    switch_names,
)
from airflow_provider_dbxscim.emulator.control import EmulatorControl
from airflow_provider_dbxscim.emulator.process import EmulatorProcess, start_emulator_process
from airflow_provider_dbxscim.emulator.seeding import EXAMPLE_SEED, load_seed, make_users
from airflow_provider_dbxscim.emulator.server import RunningEmulator, run_emulator
from airflow_provider_dbxscim.emulator.state import EmulatorState

__all__ = [
    "DEFAULT_ACCOUNT_ID",
    "DEFAULT_CLIENT_ID",
    "DEFAULT_CLIENT_SECRET",
    "EXAMPLE_SEED",
    "EmulatorClock",
    "EmulatorConfig",
    "EmulatorControl",
    "EmulatorProcess",
    "EmulatorState",
    "RunningEmulator",
    "load_seed",
    "make_users",
    "run_emulator",
    "start_emulator_process",
    "switch_names",
]
