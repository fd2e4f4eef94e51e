"""The main job, end to end: a real DAG run reactivates the bundled upstream list against the emulator.

Run by ``make demo``. It creates a throw-away Airflow home under ``.demo/``, starts the emulator in a process
of its own with the bundled seed and the service's real rate limits, runs ``airflow dags test`` of
``dbxscim_reactivate_users``, prints the outcome counts, checks the emulator's final state against the list,
and exits non-zero when the run or the check failed. The full Airflow output goes to ``.demo/dags-test.log``.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

from airflow_provider_dbxscim.cleaning import CleanResult, clean_user_names, read_user_list
from airflow_provider_dbxscim.emulator import EXAMPLE_SEED, EmulatorProcess, start_emulator_process

REPO = Path(__file__).resolve().parents[1]
DEMO = REPO / ".demo"
DAG_ID = "dbxscim_reactivate_users"
USER_LIST = EXAMPLE_SEED.parent / "users_to_reactivate.txt"
# The real account allows about two PATCH requests per second; the demo keeps that limit on both sides.
PATCH_RATE = 2.0


def main() -> int:
    shutil.rmtree(DEMO, ignore_errors=True)
    home, reports = DEMO / "airflow-home", DEMO / "reports"
    home.mkdir(parents=True)
    env = airflow_env(home)
    step("Creating a throw-away Airflow home in .demo/airflow-home")
    run_airflow(["db", "migrate"], env, DEMO / "db-migrate.log")

    step("Starting the Databricks account API emulator with the bundled seed")
    with start_emulator_process(seed=EXAMPLE_SEED, config={"rate_limit_patch": PATCH_RATE}) as emulator:
        print(f"   emulator at {emulator.url}, PATCH limit {PATCH_RATE:g}/s")
        env["AIRFLOW_CONN_DBXSCIM_DEFAULT"] = connection_json(emulator)
        before = {user["userName"]: user for user in emulator.state.users()}

        step(f"Running `airflow dags test {DAG_ID}` (log: .demo/dags-test.log)")
        started = time.monotonic()
        conf = json.dumps({"report_dir": str(reports), "user_list_path": str(USER_LIST)})
        code = run_airflow(["dags", "test", DAG_ID, "--conf", conf], env, DEMO / "dags-test.log", check=False)
        print(f"   finished in {time.monotonic() - started:.0f} s with exit code {code}")

        after = {user["userName"]: user for user in emulator.state.users()}
        patches = [p for p in emulator.state.stats()["patches"] if p["status"] in (200, 204)]
        secrets = [emulator.client_secret, *emulator.state.issued_tokens()]
    counts = outcome_counts(reports)
    cleaned = clean_user_names(read_user_list(USER_LIST))
    print_counts(counts, cleaned)
    problems = check_final_state(before, after, patches, set(cleaned.valid))
    problems += find_secrets(secrets)
    if code != 0:
        problems.insert(0, f"airflow dags test exited with {code}; see .demo/dags-test.log")
    if not counts:
        problems.append(f"no task report was written under {reports}")
    for problem in problems:
        print(f"FAILED: {problem}")
    if not problems:
        print(
            "OK: every listed inactive user is active now, no other user changed, and neither the client "
            f"secret nor any of the {len(secrets) - 1} issued tokens appears in .demo/."
        )
    return 1 if problems else 0


def step(text: str) -> None:
    print(f"== {text}", flush=True)


def airflow_env(home: Path) -> dict[str, str]:
    """The environment of the throw-away Airflow home: SQLite, this repository's DAGs, no examples."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("AIRFLOW")}
    env.update(
        AIRFLOW_HOME=str(home),
        AIRFLOW__CORE__DAGS_FOLDER=str(REPO / "dags"),
        AIRFLOW__CORE__LOAD_EXAMPLES="False",
        DBXSCIM_RATE_LIMIT_DIR=str(home / "ratelimit"),
    )
    return env


def connection_json(emulator: EmulatorProcess) -> str:
    """The ``dbxscim_default`` connection pointing at the emulator, as Airflow reads it from the env."""
    return json.dumps(
        {
            "conn_type": "dbxscim",
            "host": emulator.url,
            "login": emulator.client_id,
            "password": emulator.client_secret,
            "extra": {
                "account_id": emulator.account_id,
                "allow_any_host": True,
                "patch_rate_per_second": PATCH_RATE,
            },
        }
    )


def run_airflow(args: list[str], env: dict[str, str], log: Path, *, check: bool = True) -> int:
    with log.open("w") as out:
        done = subprocess.run(
            [sys.executable, "-m", "airflow", *args], env=env, stdout=out, stderr=subprocess.STDOUT
        )
    if check and done.returncode != 0:
        sys.exit(f"airflow {args[0]} {args[1]} failed with exit code {done.returncode}; see {log}")
    return done.returncode


def outcome_counts(reports: Path) -> Counter[str]:
    """Add up the outcomes of every task report the run wrote."""
    counts: Counter[str] = Counter()
    for path in sorted(reports.rglob("*.json")):
        if not path.name.endswith(".progress.json"):
            counts.update(user["outcome"] for user in json.loads(path.read_text())["users"])
    return counts


def print_counts(counts: Counter[str], cleaned: CleanResult) -> None:
    print(
        f"\nUpstream list: {len(cleaned.valid)} users after cleaning; dropped {len(cleaned.invalid)} invalid "
        f"entries and {len(cleaned.duplicates)} duplicates."
    )
    print(f"{'outcome':<16} users")
    for outcome, count in sorted(counts.items(), key=lambda item: -item[1]):
        print(f"{outcome:<16} {count:>5}")
    print(f"{'total':<16} {sum(counts.values()):>5}\n")


def find_secrets(secrets: list[str]) -> list[str]:
    """Search every text file the run left (the command's output and the Airflow logs) for a secret."""
    leaks = []
    for path in sorted(p for p in DEMO.rglob("*") if p.is_file() and p.suffix in (".log", ".json", "")):
        text = path.read_text(errors="replace")
        if any(secret in text for secret in secrets):
            leaks.append(f"a client secret or access token appears in {path.relative_to(REPO)}")
    return leaks


def check_final_state(
    before: dict[str, dict], after: dict[str, dict], patches: list[dict], listed: set[str]
) -> list[str]:
    """Compare the emulator's users before and after with the cleaned upstream list."""
    problems = []
    still_inactive = sorted(name for name in listed & before.keys() if not after[name]["active"])
    if still_inactive:
        problems.append(f"{len(still_inactive)} listed users are still inactive, e.g. {still_inactive[:3]}")
    changed = sorted(name for name in before.keys() - listed if before[name] != after[name])
    if changed:
        problems.append(f"{len(changed)} users not on the list changed, e.g. {changed[:3]}")
    expected = sum(1 for name in listed & before.keys() if not before[name]["active"])
    if len(patches) != expected:
        problems.append(f"the emulator accepted {len(patches)} PATCH requests, expected {expected}")
    return problems


if __name__ == "__main__":
    sys.exit(main())
