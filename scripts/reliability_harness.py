"""Machinery shared by the reliability runs: the account's users, the faulty emulator's switches, a throw-away
Airflow home, and the readings taken off the emulator's PATCH log.

Used by ``scripts/reliability.py`` and by ``tests/reliability``; nothing here asserts, it only measures.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
DAGS = REPO / "dags"
MAIN_DAG = "dbxscim_reactivate_users"
ACCEPTED = frozenset({200, 204})
# The account's PATCH budget scaled up a hundredfold so a run of thousands of users takes seconds; the
# connection's patch_rate_per_second matches it, as it should on a real account.
PATCH_RATE = 200.0
GET_RATE = 200.0


@dataclass(frozen=True)
class Population:
    """
    How many users of each kind the account holds and the upstream list names.

    :param inactive: listed, inactive, no ``externalId``: to be reactivated.
    :param idp_managed: listed, inactive, with an ``externalId``: reactivated with a warning.
    :param active: listed and already active.
    :param unknown: listed but not in the account.
    :param unlisted_inactive: inactive users nobody asked for: they must stay inactive.
    :param prefix: local-part prefix, so several populations can share an emulator.
    """

    inactive: int = 1_400
    idp_managed: int = 100
    active: int = 300
    unknown: int = 200
    unlisted_inactive: int = 300
    prefix: str = "rel"

    @property
    def listed(self) -> int:
        """How many userNames the upstream list holds."""
        return self.inactive + self.idp_managed + self.active + self.unknown


@dataclass(frozen=True)
class Accounts:
    """
    The seed of one population and what the list should lead to.

    :param seed: the emulator seed.
    :param entries: the upstream list as written, some entries in capitals.
    :param expected: the expected outcome of each listed userName, lower-cased.
    :param unlisted: userNames of the inactive users that nobody listed.
    """

    seed: dict[str, Any]
    entries: list[str]
    expected: dict[str, str]
    unlisted: list[str]


def build_accounts(population: Population) -> Accounts:
    """Build the seed and the upstream list of a population; every tenth entry is written in capitals."""
    users: list[dict[str, Any]] = []
    expected: dict[str, str] = {}

    def name(kind: str, number: int) -> str:
        return f"{population.prefix}.{kind}{number:05d}@example.com"

    for number in range(population.inactive):
        users.append({"userName": name("inactive", number), "active": False})
        expected[name("inactive", number)] = "reactivated"
    for number in range(population.idp_managed):
        users.append({"userName": name("idp", number), "active": False, "externalId": f"idp-{number}"})
        expected[name("idp", number)] = "reactivated"
    for number in range(population.active):
        users.append({"userName": name("active", number), "active": True})
        expected[name("active", number)] = "already_active"
    for number in range(population.unknown):
        expected[name("unknown", number)] = "not_found"
    unlisted = [name("unlisted", number) for number in range(population.unlisted_inactive)]
    users += [{"userName": user_name, "active": False} for user_name in unlisted]

    ordered = _interleave(list(expected))
    entries = [entry.upper() if index % 10 == 3 else entry for index, entry in enumerate(ordered)]
    return Accounts({"users": users}, entries, {entry: expected[entry] for entry in ordered}, unlisted)


def _interleave(names: list[str]) -> list[str]:
    """Spread the kinds through the list with a fixed stride, so every chunk holds some of each."""
    stride = 7
    return [names[index] for start in range(stride) for index in range(start, len(names), stride)]


def fault_switches(*, seed: int = 7, faults: bool = True) -> dict[str, Any]:
    """
    The emulator switches of a fault run.

    Faults hit every route, the token endpoint included: 10 % 429, 2 % 503, 1 % 500
    ``REQUEST_LIMIT_EXCEEDED`` and 1 % dropped connections. ``Retry-After`` is 0.1 s, so a run waits for
    throttling in tenths of seconds rather than seconds.

    Tokens live 10 s and an expired one is answered 403. The hook refreshes a 10 s token after 5 s; the
    service is set to refuse tokens with 5.25 s or less left, so every token spends its last quarter second
    of the hook's use being refused, as with a clock that runs slow, and the refresh after a 403 is exercised
    in every run rather than only when a slow request happens to straddle the expiry.

    :param seed: seed of the fault generator.
    :param faults: false keeps the short tokens and rates but injects nothing.
    """
    rates = {"fault_rate_429": 0.10, "fault_rate_503": 0.02, "fault_rate_throttle_500": 0.01}
    rates["fault_rate_drop"] = 0.01
    return {
        "rate_limit_patch": PATCH_RATE,
        "rate_limit_get": GET_RATE,
        "retry_after_format": "decimal",
        "fault_retry_after_seconds": 0.1,
        "token_lifetime_seconds": 10,
        "token_expiry_margin_seconds": 5.25,
        "invalid_token_status": 403,
        "fault_seed": seed,
        **(rates if faults else dict.fromkeys(rates, 0.0)),
    }


def connection(url: str, account_id: str, client_id: str, client_secret: str, **extra: Any) -> dict[str, Any]:
    """The ``dbxscim_default`` connection to the emulator, with the scaled budgets."""
    return {
        "conn_type": "dbxscim",
        "host": url,
        "login": client_id,
        "password": client_secret,
        "extra": {
            "account_id": account_id,
            "allow_any_host": True,
            "patch_rate_per_second": PATCH_RATE,
            "get_rate_per_second": GET_RATE,
            **extra,
        },
    }


class AirflowHome:
    """
    A throw-away Airflow home on SQLite running this repository's DAGs, driven through the ``airflow`` CLI.

    :param root: the home directory; created if missing.
    :param conn: the ``dbxscim_default`` connection, given to Airflow as an environment variable.
    :param rate_limit_dir: where the hook's shared rate-limit files live.
    """

    def __init__(self, root: Path, conn: Mapping[str, Any], rate_limit_dir: Path) -> None:
        self.root = root
        root.mkdir(parents=True, exist_ok=True)
        self.env = {key: value for key, value in os.environ.items() if not key.startswith("AIRFLOW")}
        self.env.update(
            AIRFLOW_HOME=str(root),
            AIRFLOW__CORE__DAGS_FOLDER=str(DAGS),
            AIRFLOW__CORE__LOAD_EXAMPLES="False",
            AIRFLOW_CONN_DBXSCIM_DEFAULT=json.dumps(conn),
            DBXSCIM_RATE_LIMIT_DIR=str(rate_limit_dir),
            PYTHONPATH=os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])),
        )

    @property
    def database(self) -> Path:
        """The SQLite metadata database."""
        return self.root / "airflow.db"

    def migrate(self, template: Path | None = None) -> None:
        """Create the metadata database, or copy an already migrated one from ``template``."""
        if template is not None and template.is_file():
            shutil.copyfile(template, self.database)
            return
        self.run(["db", "migrate"], self.root / "db-migrate.log", check=True, timeout=600)

    def command(self, args: Sequence[str]) -> list[str]:
        """The command line of ``airflow ARGS`` in this home."""
        return [sys.executable, "-m", "airflow", *args]

    def run(
        self, args: Sequence[str], log: Path, *, check: bool = False, timeout: float = 600
    ) -> subprocess.CompletedProcess[str]:
        """Run ``airflow ARGS`` to its end, output in ``log``; raise on a non-zero exit if ``check``."""
        process = self.start(args, log)
        try:
            code = process.wait(timeout)
        except subprocess.TimeoutExpired:
            kill_group(process)
            raise
        if check and code != 0:
            raise RuntimeError(f"airflow {' '.join(args[:2])} exited with {code}; see {log}")
        return subprocess.CompletedProcess(list(args), code, log.read_text(errors="replace"), "")

    def start(self, args: Sequence[str], log: Path) -> subprocess.Popen[bytes]:
        """Start ``airflow ARGS`` in a session of its own (so it can be killed whole), output to ``log``."""
        log.parent.mkdir(parents=True, exist_ok=True)
        with log.open("wb") as out:
            return subprocess.Popen(
                self.command(args),
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """Read the metadata database; a run killed mid-write leaves a journal SQLite rolls back on open."""
        with sqlite3.connect(self.database, timeout=30) as db:
            return list(db.execute(sql, params))

    def run_ids(self, dag_id: str) -> list[str]:
        """Run ids of a DAG, oldest first."""
        return [
            row[0] for row in self.query("SELECT run_id FROM dag_run WHERE dag_id = ? ORDER BY id", [dag_id])
        ]

    def task_states(self, dag_id: str, run_id: str, task_id: str) -> dict[int, str | None]:
        """The state of each map index of a task in one run."""
        rows = self.query(
            "SELECT map_index, state FROM task_instance WHERE dag_id = ? AND run_id = ? AND task_id = ?",
            [dag_id, run_id, task_id],
        )
        return dict(rows)

    def xcoms(self, dag_id: str, run_id: str, task_id: str) -> dict[int, Any]:
        """The ``return_value`` XCom of each map index of a task in one run, decoded."""
        rows = self.query(
            "SELECT map_index, value FROM xcom WHERE dag_id = ? AND run_id = ? AND task_id = ? "
            "AND key = 'return_value'",
            [dag_id, run_id, task_id],
        )
        return {index: _decode(value) for index, value in rows}

    def stored_texts(self) -> dict[str, str]:
        """Every XCom value, rendered template field and task state value in the database, by where it is."""
        texts: dict[str, str] = {}
        tables = {
            "xcom": "SELECT dag_id, run_id, task_id, map_index, key, value FROM xcom",
            "rendered_task_instance_fields": (
                "SELECT dag_id, run_id, task_id, map_index, rendered_fields, k8s_pod_yaml "
                "FROM rendered_task_instance_fields"
            ),
            "task_state_store": "SELECT dag_id, run_id, task_id, map_index, key, value FROM task_state_store",
        }
        for table, sql in tables.items():
            for row in self.query(sql):
                where = f"{table}:{'/'.join(str(part) for part in row[:4])}"
                texts[where] = " ".join(_text(part) for part in row[4:])
        return texts

    def files(self) -> list[Path]:
        """Every file in the home: task logs, the database and its journals, and the run logs written here."""
        return sorted(path for path in self.root.rglob("*") if path.is_file())


def kill_group(process: subprocess.Popen[Any]) -> None:
    """Kill a process started with :meth:`AirflowHome.start` and everything it started, with SIGKILL."""
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:
        return
    process.wait(30)


def _decode(value: Any) -> Any:
    text = _text(value)
    try:
        return json.loads(text)
    except ValueError:
        return text


def _text(value: Any) -> str:
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    return "" if value is None else str(value)


def wait_for(predicate: Any, *, timeout: float, interval: float = 0.05, what: str = "a condition") -> None:
    """Poll ``predicate`` until it is true; raise ``TimeoutError`` after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout:g} s waiting for {what}")
        time.sleep(interval)


def successful_patches(patches: Iterable[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """The PATCH requests the service applied (2xx), in the order they arrived."""
    return [patch for patch in patches if patch["status"] in ACCEPTED]


def patches_after_success(patches: Iterable[Mapping[str, Any]]) -> dict[str, int]:
    """
    Per user (``userName``, or ``scope:id`` when unknown), how many PATCH requests arrived after one that
    succeeded (any answer counts).

    The emulator draws a dropped connection before the request reaches its routes, so a dropped PATCH is
    never applied: a client that sends it again repeats nothing. Any PATCH counted here is a real repeat.
    """
    done: set[str] = set()
    repeats: Counter[str] = Counter()
    for patch in sorted(patches, key=lambda item: item["monotonic"]):
        key = patch.get("userName") or f"{patch['scope']}:{patch['id']}"
        if patch["scope"] != "account":
            key = f"{patch['scope']}:{key}"
        if key in done:
            repeats[key] += 1
        if patch["status"] in ACCEPTED:
            done.add(key)
    return dict(repeats)


def busiest_window(patches: Iterable[Mapping[str, Any]], seconds: float = 1.0) -> int:
    """The most successful PATCH requests that arrived within any window of ``seconds``."""
    times = sorted(patch["monotonic"] for patch in successful_patches(patches))
    most, start = 0, 0
    for end, moment in enumerate(times):
        while moment - times[start] >= seconds:
            start += 1
        most = max(most, end - start + 1)
    return most


def injected_faults(stats: Mapping[str, Any]) -> dict[str, int]:
    """
    Faults the emulator injected or provoked, by kind.

    The fault generator's own kinds, plus ``expired_token`` (a 403 for a token past its lifetime) and
    ``rate_limited`` (a 429 from the emulator's own budget, not a drawn fault).
    """
    counts: Counter[str] = Counter(stats.get("faults", {}))
    for kind, statuses in stats.get("requests", {}).items():
        if kind != "token" and kind != "ws_token":
            counts["expired_token"] += int(statuses.get("403", 0))
    counts["rate_limited"] += sum(stats.get("throttled", {}).values())
    return {kind: count for kind, count in sorted(counts.items()) if count}


def outcome_of_each_user(results: Iterable[Mapping[str, Any] | None]) -> dict[str, list[str]]:
    """Every outcome each userName got across the XComs of a run's mapped tasks."""
    outcomes: defaultdict[str, list[str]] = defaultdict(list)
    for result in results:
        for user in (result or {}).get("users", []):
            outcomes[str(user["user_name"]).lower()].append(user["outcome"])
    return dict(outcomes)


def find_secrets(texts: Mapping[str, str], secrets: Iterable[str]) -> list[tuple[str, str]]:
    """
    Where each secret occurs, as ``(where, first four characters of the secret)`` pairs.

    :param texts: text to search, by where it came from.
    :param secrets: the client secret and every issued access token.
    """
    wanted = [secret for secret in dict.fromkeys(secrets) if secret]
    return [(where, secret[:4]) for where, text in texts.items() for secret in wanted if secret in text]


def read_files(paths: Iterable[Path]) -> dict[str, str]:
    """The text of each file, undecodable bytes replaced, keyed by path."""
    return {str(path): path.read_bytes().decode("utf-8", errors="replace") for path in paths}
