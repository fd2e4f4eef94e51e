"""Fixtures of the reliability tests: the runs of ``scripts/reliability_runs.py`` at a small size and the bad
inputs of ``scripts/reliability_inputs.py``, each against an emulator process of its own."""

from __future__ import annotations

import sys
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "scripts"))

from reliability_harness import AirflowHome, Population, build_accounts
from reliability_inputs import Verdict, run_bad_inputs
from reliability_runs import RunReport, concurrent_run, fault_run, kill_run

from airflow_provider_dbxscim.emulator import start_emulator_process
from airflow_provider_dbxscim.utils.ratelimit import ENV_DIR

FAULTS = Population(
    inactive=150, idp_managed=10, active=30, unknown=20, unlisted_inactive=20, prefix="faults"
)
KILLED = Population(inactive=140, idp_managed=0, active=20, unknown=10, unlisted_inactive=20, prefix="killed")
BOTH = Population(inactive=120, idp_managed=0, active=20, unknown=10, unlisted_inactive=20, prefix="both")
RUN_TIMEOUT = 280


@dataclass
class FaultRuns:
    """The reports of the three runs, and the Airflow homes they used."""

    reports: dict[str, RunReport]
    root: Path
    homes: list[AirflowHome]


@dataclass
class BadInputs:
    """The verdict on each bad input, the tokens issued meanwhile and the emulator's client secret."""

    verdicts: dict[str, Verdict]
    tokens: list[str]
    client_secret: str


@pytest.fixture(scope="session")
def fault_runs(tmp_path_factory, migrated_airflow_db) -> FaultRuns:
    """The fault run, the SIGKILL run and the two runs at once, side by side so their start-ups overlap."""
    root = tmp_path_factory.mktemp("reliability")
    names = ("faults", "sigkill", "concurrent")
    homes = {name: AirflowHome(root / name / "home", {}, root / name / "ratelimit") for name in names}
    homes["concurrent-2"] = AirflowHome(root / "concurrent-2", {}, root / "concurrent" / "ratelimit")
    for home in homes.values():
        home.migrate(migrated_airflow_db)
    with ExitStack() as stack, ThreadPoolExecutor(len(names)) as pool:
        emulator = {name: stack.enter_context(start_emulator_process()) for name in names}
        futures = {
            "faults": pool.submit(
                fault_run,
                homes["faults"],
                emulator["faults"],
                build_accounts(FAULTS),
                root / "faults",
                chunk_size=80,
                expire_every=50,
            ),
            "sigkill": pool.submit(
                kill_run,
                homes["sigkill"],
                emulator["sigkill"],
                build_accounts(KILLED),
                root / "sigkill",
                kill_after=40,
            ),
            "concurrent": pool.submit(
                concurrent_run,
                [homes["concurrent"], homes["concurrent-2"]],
                emulator["concurrent"],
                build_accounts(BOTH),
                root / "concurrent",
                chunk_size=80,
            ),
        }
        reports = {name: future.result(timeout=RUN_TIMEOUT) for name, future in futures.items()}
    return FaultRuns(reports, root, list(homes.values()))


@pytest.fixture(scope="session")
def bad_inputs(tmp_path_factory) -> BadInputs:
    """Every bad input tried once against an emulator of its own, the connections set for this process."""
    work = tmp_path_factory.mktemp("bad_inputs")

    with pytest.MonkeyPatch.context() as patch, start_emulator_process() as emulator:
        patch.setenv(ENV_DIR, str(work / "ratelimit"))
        verdicts, tokens = run_bad_inputs(emulator, work, patch.setenv)
    return BadInputs({verdict.name: verdict for verdict in verdicts}, tokens, emulator.client_secret)
