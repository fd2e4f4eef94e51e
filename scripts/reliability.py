"""Reliability runs end to end: faults, a killed task, two runs at once, bad inputs, a search for secrets.

Run by ``make reliability``. It starts the emulator in a process of its own and a throw-away Airflow home in a
temporary directory, then:

1. runs the main DAG over 2,000 listed users with 10 % 429, 2 % 503, 1 % 500 ``REQUEST_LIMIT_EXCEEDED`` and
   1 % dropped connections on every route, and 10 s tokens answered 403 once expired;
2. kills the reactivating task with SIGKILL in the middle of its batch and runs it again in the same DAG run;
3. runs the DAG twice at once over overlapping lists on one PATCH budget;
4. tries every bad input of the issue through the operator, the DAG's read task and the hook;
5. searches every file the runs left (Airflow's logs, its database, the run outputs), every XCom value,
   rendered template field and task state value, and every message of step 4 for the client secret and
   every access token the emulator issued.

It prints a table, writes ``reliability-results.json`` at the repository root, and exits non-zero when a
user was lost, a PATCH repeated, a secret found or a bad input not refused clearly. Every wait is bounded.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from reliability_harness import (
    REPO,
    AirflowHome,
    Population,
    build_accounts,
    find_secrets,
    read_files,
)
from reliability_inputs import WRONG_SECRET, Verdict, run_bad_inputs
from reliability_runs import RunReport, concurrent_run, fault_run, kill_run

from airflow_provider_dbxscim.emulator import start_emulator_process

RESULTS = REPO / "reliability-results.json"
RUNS = ("faults", "sigkill", "concurrent")
FAULT_POPULATION = Population()
KILL_POPULATION = Population(
    inactive=380, idp_managed=20, active=60, unknown=40, unlisted_inactive=50, prefix="kill"
)
CONCURRENT_POPULATION = Population(
    inactive=560, idp_managed=40, active=100, unknown=60, unlisted_inactive=100, prefix="both"
)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory of the runs")
    args = parser.parse_args()
    started = time.monotonic()
    work = Path(tempfile.mkdtemp(prefix="dbxscim-reliability-"))
    os.environ["AIRFLOW_HOME"] = str(work / "in-process-home")
    os.environ["DBXSCIM_RATE_LIMIT_DIR"] = str(work / "ratelimit")
    try:
        results, ok = run_all(work)
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    results["runtime_seconds"] = round(time.monotonic() - started, 1)
    RESULTS.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    print(f"\nWrote {RESULTS.name}; {results['runtime_seconds']:.0f} s in all.")
    print("OK: every figure is where it must be." if ok else "FAILED: see the problems above.")
    return 0 if ok else 1


def step(text: str) -> None:
    print(f"== {text}", flush=True)


def run_all(work: Path) -> tuple[dict[str, Any], bool]:
    """Run every part and return the figures and whether all of them met the bar."""
    with start_emulator_process() as emulator:
        step(f"Emulator at {emulator.url}; creating throw-away Airflow homes in {work}")
        template = AirflowHome(work / "template-home", {}, work / "ratelimit")
        template.migrate()
        homes = {name: AirflowHome(work / name / "home", {}, work / name / "ratelimit") for name in RUNS}
        # Two homes for the two runs at once, one database each, but one rate-limit directory: what carries
        # an account's budget between processes on one machine.
        homes["concurrent-2"] = AirflowHome(work / "concurrent-2", {}, work / "concurrent" / "ratelimit")
        for home in homes.values():
            home.migrate(template.database)
        runs = []
        step(f"Fault run: {FAULT_POPULATION.listed:,} listed users, faults on every route")
        accounts = build_accounts(FAULT_POPULATION)
        runs.append(report(fault_run(homes["faults"], emulator, accounts, work / "faults")))
        step(f"SIGKILL run: {KILL_POPULATION.listed} listed users in one task, killed after 100 PATCHes")
        accounts = build_accounts(KILL_POPULATION)
        runs.append(report(kill_run(homes["sigkill"], emulator, accounts, work / "sigkill")))
        step(f"Two runs at once: {CONCURRENT_POPULATION.listed:,} users in two overlapping lists, 20 PATCH/s")
        accounts = build_accounts(CONCURRENT_POPULATION)
        both = [homes["concurrent"], homes["concurrent-2"]]
        runs.append(report(concurrent_run(both, emulator, accounts, work / "concurrent")))
        step("Bad inputs through the operator, the DAG's read task and the hook")
        verdicts, bad_input_tokens = run_bad_inputs(emulator, work / "bad-inputs")
        tokens = [token for run in runs for token in run.tokens] + bad_input_tokens
        secret = emulator.client_secret
    step("Searching every file, XCom, rendered field, state value and message for secrets")
    texts = read_files(path for path in work.rglob("*") if path.is_file())
    for home in homes.values():
        texts.update(home.stored_texts())
    texts.update((f"run output: {where}", text) for run in runs for where, text in run.texts.items())
    texts.update((f"bad input: {verdict.name}", verdict.message) for verdict in verdicts)
    found = find_secrets(texts, [secret, WRONG_SECRET, *tokens])
    print(f"   searched {len(texts):,} texts for 2 secrets and {len(set(tokens)):,} access tokens")
    return summarize(runs, verdicts, found, len(set(tokens)))


def report(run: RunReport) -> RunReport:
    print(f"   {'ok' if run.ok else 'FAILED'} in {run.seconds:.0f} s; faults {dict(run.faults)}")
    for name, value in run.figures.items():
        print(f"   {name.replace('_', ' ')}: {value}")
    for problem in run.problems:
        print(f"   PROBLEM: {problem}")
    return run


def summarize(
    runs: list[RunReport], verdicts: list[Verdict], found: list[tuple[str, str]], tokens: int
) -> tuple[dict[str, Any], bool]:
    """Print the table and return the figures for the JSON file, and whether every figure is right."""
    injected: Counter[str] = Counter()
    survived: Counter[str] = Counter()
    for run in runs:
        injected.update(run.faults)
        if run.ok:
            survived.update(run.faults)
    results: dict[str, Any] = {
        "faults_injected": sum(injected.values()),
        "faults_survived": sum(survived.values()),
        "users_lost": sum(run.users_lost for run in runs),
        "duplicate_patches": sum(run.duplicate_patches for run in runs),
        "unasked_changes": sum(run.unasked_changes for run in runs),
        "secrets_found": len(found),
        "bad_inputs_tried": len(verdicts),
        "bad_inputs_refused_clearly": sum(verdict.clear for verdict in verdicts),
        "faults_injected_by_kind": dict(sorted(injected.items())),
        "faults_survived_by_kind": dict(sorted(survived.items())),
        "tokens_searched_for": tokens,
        "runs": [_run_json(run) for run in runs],
        "bad_inputs": [
            {
                "input": v.name,
                "handling": v.handling,
                "clear": v.clear,
                "patches": v.patches,
                "problems": v.problems,
            }
            for v in verdicts
        ],
        "secrets_found_where": [where for where, _ in found],
    }
    print_table(results, verdicts)
    ok = (
        all(run.ok for run in runs)
        and results["users_lost"] == 0
        and results["duplicate_patches"] == 0
        and results["unasked_changes"] == 0
        and results["secrets_found"] == 0
        and results["bad_inputs_refused_clearly"] == results["bad_inputs_tried"]
    )
    return results, ok


def _run_json(run: RunReport) -> dict[str, Any]:
    return {
        "run": run.name,
        "ok": run.ok,
        "seconds": round(run.seconds, 1),
        "faults": run.faults,
        "users_lost": run.users_lost,
        "duplicate_patches": run.duplicate_patches,
        "figures": run.figures,
        "problems": run.problems,
    }


def print_table(results: dict[str, Any], verdicts: list[Verdict]) -> None:
    injected, survived = results["faults_injected_by_kind"], results["faults_survived_by_kind"]
    print(f"\n{'fault kind':<22} {'injected':>9} {'survived':>9}")
    for kind in injected:
        print(f"{kind:<22} {injected[kind]:>9,} {survived.get(kind, 0):>9,}")
    print(f"{'all faults':<22} {results['faults_injected']:>9,} {results['faults_survived']:>9,}\n")
    print(f"{'bad input':<50} {'handling':<11} {'PATCH':>5}  clear")
    for verdict in verdicts:
        clear = "yes" if verdict.clear else "NO"
        print(f"{verdict.name:<50} {verdict.handling:<11} {verdict.patches:>5}  {clear}")
        for problem in verdict.problems:
            print(f"   PROBLEM: {problem}")
    print()
    rows = [
        ("faults injected", results["faults_injected"], None),
        ("faults survived", results["faults_survived"], results["faults_injected"]),
        ("users lost", results["users_lost"], 0),
        ("duplicate PATCHes", results["duplicate_patches"], 0),
        ("unasked changes", results["unasked_changes"], 0),
        ("secrets found", results["secrets_found"], 0),
        ("bad inputs tried", results["bad_inputs_tried"], None),
        ("bad inputs refused clearly", results["bad_inputs_refused_clearly"], results["bad_inputs_tried"]),
    ]
    print(f"{'figure':<28} {'value':>7}  must be")
    for name, value, wanted in rows:
        mark = "" if wanted is None else f"{wanted:,}" + ("" if value == wanted else "   <-- FAILED")
        print(f"{name:<28} {value:>7,}  {mark}")
    for where in results["secrets_found_where"]:
        print(f"   SECRET FOUND in {where}")


if __name__ == "__main__":
    sys.exit(main())
