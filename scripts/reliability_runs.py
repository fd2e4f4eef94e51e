"""The end-to-end fault runs: real ``airflow`` command lines against the emulator in a process of its own.

Each run returns a :class:`RunReport` whose ``problems`` is empty when the run met the issue's bar: every
reactivatable user active, every outcome right, nobody unlisted changed, and no PATCH repeated after one that
succeeded. ``scripts/reliability.py`` runs them at full size; ``tests/reliability`` runs them small.
"""

from __future__ import annotations

import inspect
import json
import subprocess
import time
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from reliability_harness import (
    MAIN_DAG,
    Accounts,
    AirflowHome,
    busiest_window,
    connection,
    fault_switches,
    injected_faults,
    kill_group,
    outcome_of_each_user,
    patches_after_success,
    successful_patches,
    wait_for,
)

from airflow_provider_dbxscim.emulator import EmulatorProcess

TASK = "reactivate"
SETTLE_SECONDS = 1.0
POLL_SECONDS = 0.25
ACTIVE_OUTCOMES = frozenset({"reactivated", "already_active"})


@dataclass
class RunReport:
    """
    What one run did and what went wrong with it.

    :param name: the run's name in the table.
    :param seconds: wall time of the run.
    :param faults: faults injected, by kind (see :func:`reliability_harness.injected_faults`).
    :param users_lost: listed users that did not end in their expected state and outcome.
    :param duplicate_patches: PATCH requests that arrived after one for the same user had succeeded.
    :param unasked_changes: users nobody listed whose state changed, or PATCH requests that deactivated.
    :param problems: one sentence per failed expectation; empty when the run met every one.
    :param tokens: every access token the emulator issued during the run.
    :param texts: outputs of the command lines, by where they came from, for the secret search.
    :param figures: other numbers worth printing, by a snake_case name.
    """

    name: str
    seconds: float = 0.0
    faults: dict[str, int] = field(default_factory=dict)
    users_lost: int = 0
    duplicate_patches: int = 0
    unasked_changes: int = 0
    problems: list[str] = field(default_factory=list)
    tokens: list[str] = field(default_factory=list)
    texts: dict[str, str] = field(default_factory=dict)
    figures: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        """Whether the run met every expectation."""
        return not self.problems


def prepare(emulator: EmulatorProcess, accounts: Accounts, **switches: Any) -> None:
    """Reset the emulator, seed the population and turn the faults on."""
    emulator.state.reset()
    emulator.state.seed(accounts.seed)
    emulator.state.configure(**{**fault_switches(), **switches})


def point_at(home: AirflowHome, emulator: EmulatorProcess, **extra: Any) -> None:
    """Give the Airflow home a ``dbxscim_default`` connection to the emulator."""
    conn = connection(emulator.url, emulator.account_id, emulator.client_id, emulator.client_secret, **extra)
    home.env["AIRFLOW_CONN_DBXSCIM_DEFAULT"] = json.dumps(conn)


def write_list(path: Path, entries: Sequence[str]) -> Path:
    """Write an upstream list, one userName per line."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(entries) + "\n", encoding="utf-8")
    return path


def dag_conf(list_path: Path, work: Path, *, chunk_size: int, max_users: int) -> str:
    """The ``--conf`` of a run of the main DAG over a list file."""
    conf = {
        "user_list_path": str(list_path),
        "chunk_size": chunk_size,
        "max_users": max_users,
        "report_dir": str(work / "reports"),
    }
    return json.dumps(conf)


def fault_run(
    home: AirflowHome,
    emulator: EmulatorProcess,
    accounts: Accounts,
    work: Path,
    *,
    chunk_size: int = 250,
    expire_every: int = 400,
    timeout: float = 900,
) -> RunReport:
    """
    Run the main DAG over the whole list with every fault on and check the account and the XComs after it.

    :param home: a migrated Airflow home.
    :param emulator: the emulator process.
    :param accounts: the population; its seed is loaded and its whole list is the upstream file.
    :param work: a directory for the list, the reports and the output.
    :param chunk_size: users per mapped task.
    :param expire_every: expire every issued token each time this many more PATCHes have succeeded, so
        tokens are refused in every run, however short its tasks; expiries this far apart never meet one
        request twice.
    :param timeout: seconds the DAG run may take.
    """
    report = RunReport("faults")
    prepare(emulator, accounts)
    point_at(home, emulator)
    conf = dag_conf(
        write_list(work / "list.txt", accounts.entries),
        work,
        chunk_size=chunk_size,
        max_users=len(accounts.entries),
    )
    started = time.monotonic()
    process = home.start(["dags", "test", MAIN_DAG, "--conf", conf], work / "dags-test.log")
    expired = 0
    while process.poll() is None and time.monotonic() - started < timeout:
        if _applied(emulator) >= (expired + 1) * expire_every:
            emulator.state.expire_tokens()
            expired += 1
        time.sleep(POLL_SECONDS)
    code = _wait(process, 0)
    report.seconds = time.monotonic() - started
    report.texts["fault run output"] = (work / "dags-test.log").read_text(errors="replace")
    report.figures["token_expiries_forced"] = expired
    if code != 0:
        report.problems.append(f"airflow dags test exited with {code}; see {work / 'dags-test.log'}")

    run_id = home.run_ids(MAIN_DAG)[-1]
    results = home.xcoms(MAIN_DAG, run_id, TASK)
    _check_run(report, emulator, accounts, accounts.expected, outcome_of_each_user(results.values()))
    states = Counter(home.task_states(MAIN_DAG, run_id, "summarize").values())
    if states != Counter({"success": 1}):
        report.problems.append(f"the summarize task ended {dict(states)}, expected one success")
    report.figures["mapped_tasks"] = len(results)
    return report


def kill_run(
    home: AirflowHome,
    emulator: EmulatorProcess,
    accounts: Accounts,
    work: Path,
    *,
    kill_after: int = 100,
    timeout: float = 300,
) -> RunReport:
    """
    Kill the reactivating task with SIGKILL after ``kill_after`` successful PATCHes, run it again with
    ``airflow tasks test`` in the same DAG run and map index, and check the account and that task's XCom.
    Only the PATCHes in flight at the kill may be sent again.

    The whole list is one chunk, so one task instance (map index 0) holds the batch. ``airflow dags test``
    would delete the run (and with it the task state store) before starting again, so the second try is an
    ``airflow tasks test`` of the existing run, which keeps both.

    :param home: a migrated Airflow home.
    :param emulator: the emulator process.
    :param accounts: the population; at most 500 listed users (one chunk).
    :param work: a directory for the list, the reports and the output.
    :param kill_after: successful PATCH requests to wait for before the kill.
    :param timeout: seconds to wait for them.
    """
    report = RunReport("sigkill")
    prepare(emulator, accounts)
    point_at(home, emulator)
    size = len(accounts.entries)
    conf = dag_conf(write_list(work / "list.txt", accounts.entries), work, chunk_size=size, max_users=size)
    started = time.monotonic()
    process = home.start(["dags", "test", MAIN_DAG, "--conf", conf], work / "killed-dags-test.log")
    try:
        wait_for(
            lambda: process.poll() is not None or _applied(emulator) >= kill_after,
            timeout=timeout,
            what=f"{kill_after} successful PATCH requests",
        )
    except TimeoutError as exc:
        report.problems.append(str(exc))
    finally:
        kill_group(process)
    report.texts["killed run output"] = (work / "killed-dags-test.log").read_text(errors="replace")
    if report.problems:
        return report
    # A request the killed process had sent may still be answered, and logged, after the kill.
    time.sleep(SETTLE_SECONDS)
    first_try = emulator.state.stats()["patches"]
    at_kill = len(successful_patches(first_try))
    report.figures["applied_before_kill"] = at_kill
    if at_kill >= sum(1 for outcome in accounts.expected.values() if outcome == "reactivated"):
        report.problems.append("the task finished before it was killed; nothing was tested")

    run_id = home.run_ids(MAIN_DAG)[-1]
    report.figures["state_after_kill"] = home.task_states(MAIN_DAG, run_id, TASK).get(0)
    args = ["tasks", "test", MAIN_DAG, TASK, run_id, "--map-index", "0"]
    done = home.run(args, work / "tasks-test.log")
    report.seconds = time.monotonic() - started
    report.texts["second try output"] = done.stdout
    if done.returncode != 0:
        report.problems.append(
            f"airflow tasks test exited with {done.returncode}; see {work / 'tasks-test.log'}"
        )

    result = home.xcoms(MAIN_DAG, run_id, TASK).get(0)
    if result is None:
        report.problems.append("the second try pushed no XCom")
    outcomes = outcome_of_each_user([result])
    _check_run(report, emulator, accounts, accounts.expected, outcomes)
    both = _patched_by_both_tries(emulator.state.stats()["patches"], len(first_try))
    report.figures["patched_by_both_tries"] = len(both)
    report.figures["patches_in_flight_at_most"] = in_flight = patches_in_flight()
    if len(both) > in_flight:
        report.problems.append(
            f"{len(both)} users were PATCHed by both tries, more than the {in_flight} a try has in flight"
        )
    earlier = [
        user
        for user in (result or {}).get("users", [])
        if user.get("detail", "").startswith("reactivated by")
    ]
    report.figures["reported_as_earlier_try"] = len(earlier)
    return report


def concurrent_run(
    homes: Sequence[AirflowHome],
    emulator: EmulatorProcess,
    accounts: Accounts,
    work: Path,
    *,
    overlap: float = 0.25,
    patch_rate: float = 20.0,
    chunk_size: int = 250,
) -> RunReport:
    """
    Start two runs of the main DAG at once over two lists that both begin with the same ``overlap`` of the
    users, with an account PATCH budget of ``patch_rate`` per second on both sides, and check the account,
    the outcomes and the busiest second of successful PATCH requests.

    Both runs read the shared users at about the same moment and find them inactive, so many are PATCHed by
    both: those repeats are reported apart from ``duplicate_patches``, which counts repeats within one run.

    :param homes: one Airflow home per run, all with one rate-limit directory; one home twice works too, but
        two ``airflow dags test`` starting together on one SQLite database can fail on its locks.
    :param emulator: the emulator process.
    :param accounts: the population; its list is split into the two overlapping lists.
    :param work: a directory for the lists, the reports and the output.
    :param overlap: the share of the whole list that both runs hold.
    :param patch_rate: PATCH requests per second, on the emulator and in the connection.
    :param chunk_size: users per mapped task.
    """
    report = RunReport("two runs at once")
    prepare(emulator, accounts, rate_limit_patch=patch_rate)
    entries = accounts.entries
    common = int(len(entries) * overlap)
    own = (len(entries) - common) // 2
    lists = [entries[: common + own], entries[:common] + entries[common + own :]]
    processes = []
    started = time.monotonic()
    for number, (home, names) in enumerate(zip(homes, lists, strict=True), start=1):
        point_at(home, emulator, patch_rate_per_second=patch_rate)
        part = work / f"run{number}"
        conf = dag_conf(
            write_list(part / "list.txt", names), part, chunk_size=chunk_size, max_users=len(names)
        )
        processes.append(
            (home, home.start(["dags", "test", MAIN_DAG, "--conf", conf], part / "dags-test.log"))
        )
    outcomes: dict[str, list[str]] = {}
    for number, (_, process) in enumerate(processes, start=1):
        code = _wait(process, 900)
        log = work / f"run{number}" / "dags-test.log"
        report.texts[f"concurrent run {number} output"] = log.read_text(errors="replace")
        if code != 0:
            report.problems.append(f"airflow dags test {number} exited with {code}; see {log}")
    report.seconds = time.monotonic() - started
    for home in dict.fromkeys(homes):
        for run_id in home.run_ids(MAIN_DAG)[-homes.count(home) :]:
            for user_name, got in outcome_of_each_user(home.xcoms(MAIN_DAG, run_id, TASK).values()).items():
                outcomes.setdefault(user_name, []).extend(got)

    shared = {name.lower() for name in lists[0]} & {name.lower() for name in lists[1]}
    _check_run(report, emulator, accounts, accounts.expected, outcomes, shared=shared)
    patches = emulator.state.stats()["patches"]
    busiest = busiest_window(patches)
    report.figures["busiest_second"] = busiest
    report.figures["patch_limit"] = patch_rate
    report.figures["users_on_both_lists"] = len(shared)
    if busiest > patch_rate * 1.05:
        report.problems.append(
            f"{busiest} PATCH requests succeeded within one second; the limit is {patch_rate:g}"
        )
    return report


def _check_run(
    report: RunReport,
    emulator: EmulatorProcess,
    accounts: Accounts,
    expected: Mapping[str, str],
    outcomes: Mapping[str, list[str]],
    *,
    shared: frozenset[str] | set[str] = frozenset(),
) -> None:
    """Compare the account and the reported outcomes with what the list asked for; fill in the report."""
    stats = emulator.state.stats()
    users = {user["userName"]: user for user in emulator.state.users()}
    report.faults = injected_faults(stats)
    report.tokens = [token["token"] for token in stats["tokens"]]
    repeats = patches_after_success(stats["patches"])
    raced = sum(count for name, count in repeats.items() if name in shared)
    report.duplicate_patches = sum(repeats.values()) - raced
    if shared:
        report.figures["repeated_by_the_other_run"] = raced

    lost = [
        name
        for name, outcome in expected.items()
        if not _right(outcome, outcomes.get(name, []), name in shared)
    ]
    lost += [
        name for name, outcome in expected.items() if outcome in ACTIVE_OUTCOMES and not users[name]["active"]
    ]
    lost = list(dict.fromkeys(lost))
    report.users_lost = len(lost)
    if lost:
        sample = ", ".join(f"{name} ({outcomes.get(name)})" for name in lost[:3])
        report.problems.append(f"{len(lost)} listed users ended wrong, e.g. {sample}")

    changed = [name for name in accounts.unlisted if users[name]["active"]]
    deactivating = [patch for patch in successful_patches(stats["patches"]) if patch["active"] is not True]
    report.unasked_changes = len(changed) + len(deactivating)
    if report.unasked_changes:
        report.problems.append(
            f"{len(changed)} unlisted users activated; {len(deactivating)} PATCHes did not set active=true"
        )
    if report.duplicate_patches:
        report.problems.append(f"{report.duplicate_patches} PATCHes repeated one that had succeeded")
    report.figures["patches_applied"] = len(successful_patches(stats["patches"]))
    report.figures["tokens_issued"] = len(report.tokens)


def _right(expected: str, got: list[str], shared: bool) -> bool:
    """
    Whether a user's reported outcomes are right; a user on both concurrent lists is reported twice, and
    either run may be the one that reactivated them.
    """
    if not shared:
        return got == [expected]
    if expected == "reactivated":
        return len(got) == 2 and set(got) <= ACTIVE_OUTCOMES and "reactivated" in got
    return got == [expected, expected]


def patches_in_flight() -> int:
    """How many PATCH requests one task has in flight at most: the operator's ``max_parallel_patches``."""
    from airflow_provider_dbxscim.operators.reactivate import ReactivateAccountUserOperator

    parameter = inspect.signature(ReactivateAccountUserOperator).parameters.get("max_parallel_patches")
    return parameter.default if parameter is not None else 1


def _patched_by_both_tries(patches: Sequence[Mapping[str, Any]], split: int) -> set[str]:
    """Users with a PATCH request (any answer) before ``split`` in the log and another after it."""
    before = {str(patch["userName"]) for patch in patches[:split]}
    return before & {str(patch["userName"]) for patch in patches[split:]}


def _applied(emulator: EmulatorProcess) -> int:
    return len(successful_patches(emulator.state.stats()["patches"]))


def _wait(process: Any, timeout: float) -> int:
    """Wait for a process; kill it (and report -9) when it outlives ``timeout``."""
    try:
        return process.wait(timeout)
    except subprocess.TimeoutExpired:
        kill_group(process)
        return -9
