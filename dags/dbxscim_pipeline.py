"""The tasks both example DAGs share: split the cleaned list, reactivate each chunk, confirm, summarise.

Not a DAG file (``.airflowignore`` keeps the DAG processor from parsing it); the DAG files import it from the
DAGs folder, which Airflow puts on ``sys.path``.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Iterable, Mapping, Sequence
from importlib.resources import files
from pathlib import Path
from typing import Any

from airflow.sdk import Param, TriggerRule, XComArg, task
from airflow.sdk.exceptions import AirflowFailException

from airflow_provider_dbxscim.cleaning import CleanResult, chunk
from airflow_provider_dbxscim.operators.outcomes import Outcome
from airflow_provider_dbxscim.operators.reactivate import ReactivateAccountUserOperator
from airflow_provider_dbxscim.sensors.active import AccountUsersActiveSensor

EXAMPLE_DATA = Path(str(files("airflow_provider_dbxscim") / "example_data"))
#: Every reactivating task runs in this pool, so together they respect the account's PATCH budget (about
#: two requests per second for the whole account). Create it before the first run, e.g.
#: ``airflow pools set dbxscim_patch 1 "Databricks account SCIM PATCH budget"``: the scheduler never starts
#: a task whose pool does not exist (``airflow dags test`` ignores pools). DBXSCIM_POOL=default_pool opts out.
PATCH_POOL = os.environ.get("DBXSCIM_POOL", "dbxscim_patch")
MAX_CHUNK = 500
_DROPPED_SHOWN = 20
_ACTIVE = frozenset({Outcome.REACTIVATED, Outcome.ALREADY_ACTIVE})

log = logging.getLogger(__name__)


def common_params() -> dict[str, Param]:
    """The run parameters both DAGs take; the Trigger form shows them with these limits."""
    airflow_home = Path(os.environ.get("AIRFLOW_HOME", "~/airflow")).expanduser()
    return {
        "dry_run": Param(
            False, type="boolean", title="Dry run", description="Read everything, change nothing."
        ),
        "workspace_hosts": Param(
            [],
            type="array",
            items={"type": "string", "pattern": "^https?://", "maxLength": 253},
            maxItems=20,
            title="Workspaces",
            description="Workspace URLs in which to reactivate the users too, after the account.",
        ),
        "chunk_size": Param(
            250,
            type="integer",
            minimum=1,
            maximum=MAX_CHUNK,
            title="Users per task",
            description="One mapped task per chunk.",
        ),
        "max_users": Param(
            1000,
            type="integer",
            minimum=1,
            maximum=10_000,
            title="Most users per run",
            description="A longer list fails the run before any change.",
        ),
        "conn_id": Param("dbxscim_default", type="string", minLength=1, title="Connection id"),
        "report_dir": Param(
            str(airflow_home / "dbxscim_reports"),
            type="string",
            title="Report directory",
            description="Where each task writes its full JSON report; empty writes none.",
        ),
    }


def accept_user_list(cleaned: CleanResult, params: Mapping[str, Any]) -> list[str]:
    """Log what cleaning dropped, enforce ``max_users`` before any change, and return the userNames."""
    log.info("Read the user list: %s.", cleaned.describe())
    if not cleaned.valid:
        log.warning(
            "The user list holds no valid userNames, so nothing will be reactivated; if users were expected, "
            "check the list the upstream system delivered."
        )
    if cleaned.invalid:
        log.warning(
            "Dropped %d entries that are not e-mail addresses: %s",
            len(cleaned.invalid),
            _few(cleaned.invalid),
        )
    if cleaned.duplicates:
        log.warning("Dropped repeats of %d userNames: %s", len(cleaned.duplicates), _few(cleaned.duplicates))
    if len(cleaned.valid) > params["max_users"]:
        raise AirflowFailException(
            f"The list holds {len(cleaned.valid)} users, more than max_users={params['max_users']}; nothing "
            "was changed. Split the list or raise max_users."
        )
    return cleaned.valid


@task(show_return_value_in_logs=False)
def split_into_chunks(user_names: list[str], params: dict[str, Any] | None = None) -> list[list[str]]:
    """Split the userNames into one list per mapped reactivation task."""
    return chunk(user_names, params["chunk_size"])


@task(show_return_value_in_logs=False)
def users_to_confirm(results: Sequence[Mapping[str, Any]]) -> list[str]:
    """Pick the users the run reactivated everywhere it was asked to, for the sensor to confirm."""
    confirmed: list[str] = []
    for result in _materialize(results):
        for user in _all_users(result):
            workspaces = user.get("workspaces") or []
            if isinstance(workspaces, Mapping):
                workspaces = [workspace["outcome"] for workspace in workspaces.values()]
            if user["outcome"] == Outcome.REACTIVATED and all(w in _ACTIVE for w in workspaces):
                confirmed.append(user["user_name"])
    log.info("%d reactivated users to confirm.", len(confirmed))
    return confirmed


def _all_users(result: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """A chunk's per-user records: from its XCom, or from its report when the XCom had to drop some."""
    if result.get("users_truncated") not in ("reactivated", "all"):
        return result["users"]
    if not result.get("report_path"):
        raise AirflowFailException(
            "A chunk's result was too large for XCom and dropped its reactivated users, and no report_dir "
            "was set to read them from; lower chunk_size or set report_dir."
        )
    return json.loads(Path(result["report_path"]).read_text(encoding="utf-8"))["users"]


def total_counts(results: Iterable[Mapping[str, Any] | None]) -> dict[str, int]:
    """Add up the per-outcome counts of every chunk's result."""
    totals = dict.fromkeys((str(outcome) for outcome in Outcome), 0)
    for result in results:
        for outcome, count in (result or {}).get("counts", {}).items():
            totals[outcome] = totals.get(outcome, 0) + count
    return totals


def outcome_table(counts: Mapping[str, int]) -> str:
    """Render counts as a small text table for the task log."""
    width = max(len(name) for name in [*counts, "outcome"])
    lines = [f"{'outcome':<{width}}  users", f"{'-' * width}  -----"]
    lines += [f"{name:<{width}}  {count:>5}" for name, count in counts.items()]
    lines.append(f"{'total':<{width}}  {sum(counts.values()):>5}")
    return "\n".join(lines)


@task(trigger_rule=TriggerRule.ALL_DONE)
def summarize(
    chunks: Sequence[Sequence[str]] | None,
    results: Sequence[Mapping[str, Any]] | None,
    confirmed: list[str] | None,
) -> dict[str, int]:
    """Log a table of outcomes and return the counts; fail when any part of the run did not succeed."""
    produced = [result for result in _materialize(results or []) if result]
    counts = total_counts(produced)
    log.info("Reactivation outcomes:\n%s", outcome_table(counts))
    problems = []
    if chunks == []:
        log.info("The list held no valid userNames; nothing was sent.")
        return counts
    if chunks is None:
        problems.append("the user list could not be read or split")
    elif len(produced) < len(chunks):
        problems.append(
            f"{len(chunks) - len(produced)} of {len(chunks)} reactivation tasks produced no result"
        )
    if counts[Outcome.FAILED]:
        problems.append(f"{counts[Outcome.FAILED]} users failed")
    if confirmed is None:
        problems.append("the reactivated users were not confirmed active")
    if problems:
        raise AirflowFailException("The run did not fully succeed: " + "; ".join(problems) + ".")
    return counts


def reactivation_pipeline(user_names: XComArg) -> None:
    """Chain chunking, mapped reactivation, confirmation and the summary after the task giving userNames."""
    chunks = split_into_chunks(user_names)
    results = ReactivateAccountUserOperator.partial(
        task_id="reactivate",
        pool=PATCH_POOL,
        dbxscim_conn_id="{{ params.conn_id }}",
        workspace_hosts="{{ params.workspace_hosts }}",
        dry_run="{{ params.dry_run }}",
        report_dir="{{ params.report_dir }}",
        max_users=MAX_CHUNK,
    ).expand(user_names=chunks)
    confirm = users_to_confirm(results.output)
    confirmed = AccountUsersActiveSensor(
        task_id="wait_until_active",
        user_names=confirm,
        workspace_hosts="{{ params.workspace_hosts }}",
        dbxscim_conn_id="{{ params.conn_id }}",
        mode="reschedule",
        poke_interval=30,
        timeout=15 * 60,
    )
    summarize(chunks, results.output, confirmed.output)


def _materialize(values: Sequence[Any]) -> list[Any]:
    # Indexing up to len() reads exactly the XComs that exist; iterating a mapped task's lazy XCom sequence
    # reads one past the end and Airflow logs that 404 at error level.
    return [values[index] for index in range(len(values))]


def _few(names: Sequence[str]) -> str:
    shown = ", ".join(names[:_DROPPED_SHOWN])
    return shown if len(names) <= _DROPPED_SHOWN else f"{shown}, ... ({len(names) - _DROPPED_SHOWN} more)"
