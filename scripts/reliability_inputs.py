"""Bad inputs: each is run through the operator, the DAG's read task or the hook against the emulator, in this
process, and judged on its message and on the PATCH requests it let through.

A case is *refused clearly* when its message (the exception, the warnings logged and the reasons given in the
result) names what is wrong and says what to do, it sent exactly the PATCH requests it should (none for a
refused input), and every change it made is in its result. Inputs with one documented meaning (capitals,
surrounding blanks, repeats, a byte-order mark) are *normalised*: they must reach the right users, once. An
empty list is *warned* about: nothing to do is not an error, but the log must say so and what to check.
"""

from __future__ import annotations

import importlib
import json
import logging
import os
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from reliability_harness import DAGS, connection, successful_patches
from structlog.testing import capture_logs

from airflow_provider_dbxscim.emulator import EmulatorProcess

CONN_ID = "dbxscim_reliability"
WRONG_SECRET = "reliability-wrong-secret-5f1c"
SEED = {
    "users": [
        {"userName": "ann@example.com", "active": False},
        {"userName": "bob@example.com", "active": False},
        {"userName": "zoe@example.com", "active": False},
        {"userName": "cy@example.com", "active": False},
    ]
}


@dataclass
class Verdict:
    """
    How one bad input was handled.

    :param name: what was tried.
    :param handling: ``refused``, ``set aside`` (left out of a batch with a reason), ``normalised``, or
        ``warned`` (nothing to do, and a warning saying so).
    :param message: everything the caller was told: the error, the warnings, the reasons in the result.
    :param patches: PATCH requests the emulator received.
    :param problems: each way the handling fell short; empty when it was clear.
    """

    name: str
    handling: str
    message: str = ""
    patches: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def clear(self) -> bool:
        """Whether the input was refused or normalised as it should be."""
        return not self.problems


@dataclass
class Attempt:
    """What one call did: its result or its error, the log lines it wrote, the PATCH requests sent."""

    result: Any = None
    error: BaseException | None = None
    logs: list[str] = field(default_factory=list)
    patched: list[str] = field(default_factory=list)

    @property
    def users(self) -> list[dict[str, Any]]:
        """The per-user records of an operator's result; none for other calls."""
        return self.result.get("users", []) if isinstance(self.result, dict) else []

    @property
    def told(self) -> str:
        """The error, the log lines and each record's reason, as one text."""
        parts = [f"{type(self.error).__name__}: {self.error}"] if self.error else []
        parts += self.logs
        parts += [f"{user['user_name']}: {user['detail']}" for user in self.users if user.get("detail")]
        return "\n".join(parts)


class Bench:
    """
    Runs calls against the emulator in this process and records what they did.

    :param emulator: the emulator process.
    :param work: a directory for upstream files and reports.
    :param setenv: how to define the connections as ``AIRFLOW_CONN_*`` variables of this process.
    """

    def __init__(
        self,
        emulator: EmulatorProcess,
        work: Path,
        setenv: Callable[[str, str], None] = os.environ.__setitem__,
    ) -> None:
        self.emulator = emulator
        self.work = work
        self._setenv = setenv
        self.tokens: list[str] = []
        work.mkdir(parents=True, exist_ok=True)
        self._define(CONN_ID, emulator.url)

    def _define(self, conn_id: str, host: str, *, secret: str | None = None, **extra: Any) -> str:
        emulator = self.emulator
        conn = connection(host, emulator.account_id, emulator.client_id, secret or emulator.client_secret)
        conn["extra"].update(extra)
        conn["extra"] = {key: value for key, value in conn["extra"].items() if value is not None}
        self._setenv(f"AIRFLOW_CONN_{conn_id.upper()}", json.dumps(conn))
        return conn_id

    def connection(
        self, name: str, *, host: str | None = None, secret: str | None = None, **extra: Any
    ) -> str:
        """
        Define a variant of the emulator connection under its own id and return that id.

        :param name: what sets the variant apart, part of its id.
        :param host: another host.
        :param secret: another client secret.
        :param extra: extra fields to set, or to drop with None.
        """
        return self._define(f"{CONN_ID}_{name}", host or self.emulator.url, secret=secret, **extra)

    def attempt(self, call: Callable[[], Any], **switches: Any) -> Attempt:
        """Reset and seed the emulator, apply ``switches``, run ``call`` and record what it did."""
        state = self.emulator.state
        state.reset()
        state.seed(SEED)
        state.configure(rate_limits_enabled=False, **switches)
        attempt = Attempt()
        with _captured(attempt.logs):
            try:
                attempt.result = call()
            except Exception as exc:
                attempt.error = exc
        stats = state.stats()
        attempt.patched = [str(p["userName"]) for p in successful_patches(stats["patches"])]
        attempt.patched += ["?"] * (len(stats["patches"]) - len(attempt.patched))
        self.tokens += [token["token"] for token in stats["tokens"]]
        return attempt

    def operator(
        self, user_names: Any, *, conn_id: str = CONN_ID, max_users: int = 1000
    ) -> Callable[[], Any]:
        """A call of the reactivation operator's ``execute`` as one task instance would make it."""
        from airflow_provider_dbxscim.operators.reactivate import ReactivateAccountUserOperator

        operator = ReactivateAccountUserOperator(
            task_id="reactivate", user_names=user_names, dbxscim_conn_id=conn_id, max_users=max_users
        )
        ti = SimpleNamespace(
            dag_id="reliability", run_id="bad_inputs", task_id="reactivate", map_index=-1, try_number=1
        )
        ti.xcom_push = lambda **kwargs: None
        return lambda: operator.execute({"ti": ti, "task_state_store": _Store()})

    def read_task(self, path: Path, *, max_users: int = 1000) -> Callable[[], Any]:
        """A call of the main DAG's ``read_user_list`` task on a file."""
        if str(DAGS) not in sys.path:
            sys.path.insert(0, str(DAGS))
        dag_module = importlib.import_module("dbxscim_reactivate_users")
        params = {"user_names": [], "user_list_path": str(path), "max_users": max_users}
        return lambda: dag_module.read_and_clean.function(params=params)

    def file(self, name: str, content: str | bytes) -> Path:
        """Write an upstream file."""
        path = self.work / name
        path.write_bytes(content if isinstance(content, bytes) else content.encode("utf-8"))
        return path


class _Store:
    def __init__(self) -> None:
        self.values: dict[str, Any] = {}

    def get(self, key: str, default: Any = None) -> Any:
        return self.values.get(key, default)

    def set(self, key: str, value: Any) -> None:
        self.values[key] = value


class _Lines(logging.Handler):
    def __init__(self, lines: list[str]) -> None:
        super().__init__(logging.WARNING)
        self.lines = lines

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())


@contextmanager
def _captured(lines: list[str]) -> Iterator[None]:
    """
    Collect warnings from structlog (the operator) and from the standard library (the DAG module), in place
    of printing them.
    """
    root = logging.getLogger()
    printing = root.handlers[:]
    root.handlers = [_Lines(lines)]
    try:
        with capture_logs() as events:
            yield
    finally:
        root.handlers = printing
    for event in events:
        # Airflow warns that execute() runs outside its task runner, which is what this bench does on purpose.
        if "outside of the Task Runner" in str(event.get("event")):
            continue
        if event.get("log_level") in ("warning", "error"):
            args = event.get("positional_args")
            lines.append(str(event["event"]) % tuple(args) if args else str(event["event"]))


def judge(
    name: str,
    attempt: Attempt,
    *,
    handling: str = "refused",
    wrong: Sequence[str] = (),
    todo: Sequence[str] = (),
    patched: Sequence[str] = (),
) -> Verdict:
    """
    Judge an attempt: its message names ``wrong`` and says ``todo``, exactly ``patched`` were changed, and
    every change is in the result.

    :param name: what was tried.
    :param attempt: what it did.
    :param handling: ``refused``, ``set aside``, ``normalised`` or ``warned``.
    :param wrong: phrases that must all appear, naming what is wrong.
    :param todo: phrases of which one must appear, saying what to do.
    :param patched: the userNames that should have been reactivated.
    """
    verdict = Verdict(name, handling, attempt.told, len(attempt.patched))
    missing = [phrase for phrase in wrong if phrase not in verdict.message]
    if missing:
        verdict.problems.append(f"the message does not say {missing!r}")
    if todo and not any(phrase in verdict.message for phrase in todo):
        verdict.problems.append(f"the message says none of {list(todo)!r}")
    if sorted(attempt.patched) != sorted(patched):
        verdict.problems.append(f"PATCHed {sorted(attempt.patched)}, expected {sorted(patched)}")
    reported = {user["user_name"] for user in attempt.users if user["outcome"] == "reactivated"}
    if set(attempt.patched) - reported:
        verdict.problems.append(f"changes missing from the result: {sorted(set(attempt.patched) - reported)}")
    if handling != "refused" and attempt.error is not None:
        verdict.problems.append(f"raised {type(attempt.error).__name__}: {attempt.error}")
    return verdict


def list_cases(bench: Bench) -> list[Verdict]:
    """The lists of userNames given straight to the operator."""
    op = bench.operator
    set_aside = "set aside"
    return [
        judge(
            "an empty list",
            bench.attempt(op([])),
            handling="warned",
            wrong=("No valid userNames",),
            todo=("check what the upstream task passed",),
        ),
        judge("None", bench.attempt(op(None)), wrong=("is None",), todo=("pass a list",)),
        judge(
            "a string where a list is expected",
            bench.attempt(op("ann@example.com")),
            wrong=("is a string", "not a list"),
            todo=("pass a list such as",),
        ),
        judge(
            "a list over max_users",
            bench.attempt(op(["ann@example.com", "bob@example.com", "zoe@example.com"], max_users=2)),
            wrong=("exceed max_users=2", "nothing was changed"),
            todo=("Split the list",),
        ),
        judge(
            "entries that are not e-mail addresses",
            bench.attempt(
                op(["AnnSmith", "ann", "@example.com", "ann@", "ann@localhost", "bob@example.com"])
            ),
            handling=set_aside,
            wrong=("5 entries are not e-mail addresses", "ann@localhost: is not an"),
            todo=("correct it or remove it",),
            patched=["bob@example.com"],
        ),
        judge(
            "addresses with spaces",
            bench.attempt(
                op([" bob@example.com\t", "ann smith@example.com", "ann@example.com zoe@example.com"])
            ),
            handling=set_aside,
            wrong=(
                "ann smith@example.com: contains a space",
                "ann@example.com zoe@example.com: contains a space",
            ),
            todo=("put each address on its own line",),
            patched=["bob@example.com"],
        ),
        judge(
            "addresses in capitals",
            bench.attempt(op(["ANN@EXAMPLE.COM", "Bob@Example.Com"])),
            handling="normalised",
            patched=["ann@example.com", "bob@example.com"],
        ),
        judge(
            "duplicate addresses",
            bench.attempt(op(["ann@example.com", " ANN@example.com", "ann@example.com"])),
            handling="normalised",
            patched=["ann@example.com"],
        ),
        judge(
            "addresses with non-ASCII characters",
            bench.attempt(
                op(
                    [
                        "zo\u00eb@example.com",
                        "ann\u200b@example.com",
                        "\u0430nn@example.com",
                        "cy@\u00e9xample.com",
                    ]
                )
            ),
            handling=set_aside,
            wrong=("(U+00EB)", "(U+200B)", "(U+0430)", "(U+00E9)", "not plain ASCII"),
            todo=("retype the address",),
        ),
    ]


def file_cases(bench: Bench) -> list[Verdict]:
    """Upstream files read by the main DAG's read task, then handed to the operator."""
    csv = bench.file(
        "bom.csv", b"\xef\xbb\xbfUserName,displayName\r\nAnn@Example.com,Ann\r\nbob@example.com,Bob\r\n"
    )
    read = bench.attempt(bench.read_task(csv))
    csv_verdict = judge("a CSV file with a byte-order mark and a header", read, handling="normalised")
    if read.result != ["ann@example.com", "bob@example.com"]:
        csv_verdict.problems.append(f"read {read.result!r}, expected the two addresses")
    reactivated = bench.attempt(bench.operator(read.result or []))
    csv_verdict.patches = len(reactivated.patched)
    if sorted(reactivated.patched) != ["ann@example.com", "bob@example.com"]:
        csv_verdict.problems.append(f"the operator then PATCHed {reactivated.patched}")
    no_column = bench.file("no-column.csv", b"\xef\xbb\xbfname,mail address\r\nAnn,ann@example.com\r\n")
    broken = bench.file("broken.json", '["ann@example.com", "bob@example.com"')
    many = bench.file("many.txt", "ann@example.com\nbob@example.com\nzoe@example.com\n")
    return [
        csv_verdict,
        judge(
            "a CSV file without a userName column",
            bench.attempt(bench.read_task(no_column)),
            wrong=("has no userName column",),
            todo=("expected one of",),
        ),
        judge(
            "a malformed JSON file",
            bench.attempt(bench.read_task(broken)),
            wrong=("is not valid JSON",),
            todo=("save it as a list of userNames",),
        ),
        judge(
            "an empty upstream file",
            bench.attempt(bench.read_task(bench.file("empty.txt", "\n"))),
            handling="warned",
            wrong=("holds no valid userNames",),
            todo=("check the list the upstream system delivered",),
        ),
        judge(
            "a file over max_users",
            bench.attempt(bench.read_task(many, max_users=2)),
            wrong=("more than max_users=2", "nothing was changed"),
            todo=("Split the list or raise max_users",),
        ),
    ]


def connection_cases(bench: Bench) -> list[Verdict]:
    """Connections that cannot work, each given to the operator with one inactive user to reactivate."""

    def run(conn_id: str, **switches: Any) -> Attempt:
        return bench.attempt(bench.operator(["ann@example.com"], conn_id=conn_id), **switches)

    return [
        judge(
            "a connection without account id",
            run(bench.connection("no_account", account_id=None)),
            wrong=("has no account_id",),
            todo=("copy it from the account console",),
        ),
        judge(
            "a connection with an http:// host",
            run(bench.connection("http", host="http://accounts.cloud.databricks.com", allow_any_host=None)),
            wrong=("uses http://",),
            todo=("use https://",),
        ),
        judge(
            "a workspace host where the accounts host belongs",
            run(
                bench.connection(
                    "workspace", host="https://dbc-1234.cloud.databricks.com", allow_any_host=None
                )
            ),
            wrong=("'dbc-1234.cloud.databricks.com' is not a Databricks host",),
            todo=("use e.g. accounts.cloud.databricks.com",),
        ),
        judge(
            "a host that is not a Databricks host",
            run(bench.connection("other", host="https://login.example.net", allow_any_host=None)),
            wrong=("is not a Databricks host",),
            todo=("use e.g. accounts.cloud.databricks.com",),
        ),
        judge(
            "a connection with a wrong secret",
            run(bench.connection("wrong_secret", secret=WRONG_SECRET)),
            wrong=("refused the client credentials (invalid_client)",),
            todo=("check the client secret",),
        ),
        judge(
            "a token endpoint answering an HTML page",
            run(CONN_ID, fault_rate_html=1.0, fault_route_kinds=["token"]),
            wrong=("The token endpoint", "text/html", "instead of JSON"),
            todo=("check that the host is the Databricks accounts console host",),
        ),
    ]


def run_bad_inputs(
    emulator: EmulatorProcess, work: Path, setenv: Callable[[str, str], None] = os.environ.__setitem__
) -> tuple[list[Verdict], list[str]]:
    """
    Try every bad input; return the verdicts in the issue's order and the tokens issued meanwhile.

    :param emulator: the emulator process.
    :param work: a directory for upstream files.
    :param setenv: how to define the connections as ``AIRFLOW_CONN_*`` variables of this process.
    """
    bench = Bench(emulator, work, setenv)
    return list_cases(bench) + file_cases(bench) + connection_cases(bench), bench.tokens
