"""Operator that reactivates deactivated Databricks users at the account level, then in workspaces."""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseOperator

from airflow_provider_dbxscim.cleaning import (
    clean_user_names,
    clean_workspace_hosts,
    invalid_reason,
    require_list,
)
from airflow_provider_dbxscim.exceptions import (
    AuthenticationError,
    ConfigurationError,
    DbxScimError,
    NotFoundError,
    PermissionDeniedError,
    TokenError,
)
from airflow_provider_dbxscim.hooks.dbxscim import DbxScimHook
from airflow_provider_dbxscim.operators.outcomes import (
    ACTIVE_OUTCOMES,
    Outcome,
    UserRecord,
    WorkspaceRecord,
    build_report,
    build_xcom,
)
from airflow_provider_dbxscim.operators.progress import ReactivationProgress
from airflow_provider_dbxscim.scim import ScimUser, normalize_user_name

if TYPE_CHECKING:
    from airflow.sdk import Context

FAIL_ON = {
    "failed": frozenset({Outcome.FAILED}),
    "not_found": frozenset({Outcome.FAILED, Outcome.NOT_FOUND}),
    "never": frozenset(),
}
EARLIER_TRY = "reactivated by an earlier try of this task"
# Errors that every later request would meet too: stop sending and report the rest as not attempted.
_STOP_THE_BATCH = (AuthenticationError, PermissionDeniedError, TokenError, ConfigurationError)


class ReactivateAccountUserOperator(BaseOperator):
    """
    Reactivate deactivated users through the Databricks account SCIM API, then in the listed workspaces.

    Each user is read before anything changes: an inactive user gets one ``PATCH active=true``
    (``reactivated``), an active one none (``already_active``), an unknown one is ``not_found``. Entries that
    are not e-mail-like are ``invalid``; an error for one user makes it ``failed`` and the batch goes on.
    Because of the read, a retry sends no PATCH for users an earlier try reactivated, and it still reports
    them as ``reactivated`` (see :mod:`airflow_provider_dbxscim.operators.progress`).

    An empty list succeeds with nothing done and a warning; ``None`` or a plain string fails before any
    request, as does a list longer than ``max_users``.

    Returns (XCom) ``counts`` per outcome, ``workspace_counts`` per host, and ``users``: one compact record
    per entry, ``{"user_name", "id", "outcome"}`` plus ``detail`` and ``idp_managed`` when they say something
    and ``workspaces`` (outcomes in the order of ``workspace_hosts``) when workspaces were given. The value is
    kept under 64 KB (see :func:`~airflow_provider_dbxscim.operators.outcomes.build_xcom`); the report file in
    ``report_dir`` has everything. When ``fail_on`` fails the task, the same value is pushed first.

    :param user_names: userNames (e-mail addresses) to reactivate, e.g. an upstream task's XCom. (templated)
    :param user_ids: account user ids to reactivate as well. (templated)
    :param dbxscim_conn_id: the ``dbxscim`` connection. (templated)
    :param workspace_hosts: workspace URLs in which to reactivate each user after the account, looked up by
        userName there. (templated)
    :param dry_run: read everything, change nothing, report ``would_reactivate``. (templated)
    :param max_users: fail before any change when more users than this are given.
    :param max_parallel_patches: PATCH requests in flight at once. The hook's shared limiter keeps the
        account's rate whatever this is; more than one keeps that rate when a round trip is slower than the
        gap between two PATCHes (at 2 per second, a round trip over 0.5 s).
    :param deny_list: userNames or account ids never to reactivate (``denied``). (templated)
    :param skip_idp_managed: leave users with an ``externalId`` alone (``skipped_idp_managed``); otherwise
        they are reactivated with a warning that the identity provider's next sync may deactivate them again.
    :param fail_on: after the whole batch, fail the task when any user is ``failed`` (``"failed"``),
        ``failed`` or ``not_found`` (``"not_found"``), or never (``"never"``). Workspace outcomes count too.
    :param report_dir: directory for the full JSON report, one file per task instance; None writes none.
        (templated)
    """

    template_fields: Sequence[str] = (
        "user_names",
        "user_ids",
        "dbxscim_conn_id",
        "workspace_hosts",
        "dry_run",
        "deny_list",
        "report_dir",
    )
    ui_color = "#ffe3d6"

    def __init__(
        self,
        *,
        user_names: Any = None,
        user_ids: Any = None,
        dbxscim_conn_id: str = DbxScimHook.default_conn_name,
        workspace_hosts: Any = None,
        dry_run: bool | str = False,
        max_users: int = 1000,
        max_parallel_patches: int = 4,
        deny_list: Any = None,
        skip_idp_managed: bool = False,
        fail_on: str = "failed",
        report_dir: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if fail_on not in FAIL_ON:
            raise ValueError(f"fail_on must be one of {sorted(FAIL_ON)}, got {fail_on!r}.")
        if not isinstance(max_users, int) or max_users < 1:
            raise ValueError(f"max_users must be a positive integer, got {max_users!r}.")
        if not isinstance(max_parallel_patches, int) or not 1 <= max_parallel_patches <= 16:
            raise ValueError(
                f"max_parallel_patches must be an integer from 1 to 16, got {max_parallel_patches!r}."
            )
        self.user_names = user_names
        self.user_ids = user_ids
        self.dbxscim_conn_id = dbxscim_conn_id
        self.workspace_hosts = workspace_hosts
        self.dry_run = dry_run
        self.max_users = max_users
        self.max_parallel_patches = max_parallel_patches
        self.deny_list = deny_list
        self.skip_idp_managed = skip_idp_managed
        self.fail_on = fail_on
        self.report_dir = report_dir

    def execute(self, context: Context) -> dict[str, Any]:
        plan = self._plan()
        targets = len(plan.user_names) + len(plan.user_ids)
        if targets > self.max_users:
            raise ConfigurationError(
                f"{targets} users exceed max_users={self.max_users}; nothing was changed. Split the list "
                "(e.g. map the operator over chunks) or raise max_users."
            )
        if not targets:
            self.log.warning(
                "No valid userNames or user ids were given; nothing to reactivate. If users were expected, "
                "check what the upstream task passed as user_names."
            )
        if plan.invalid:
            self.log.warning(
                "%d entries are not e-mail addresses and were left out; the result gives each one's reason: "
                "correct them and run again.",
                len(plan.invalid),
            )

        report_path = self._report_path(context)
        progress_file = report_path.with_suffix(".progress.json") if report_path else None
        progress = ReactivationProgress.for_task(context, progress_file)
        records = [UserRecord(entry, None, Outcome.INVALID, invalid_reason(entry)) for entry in plan.invalid]
        if targets:
            with DbxScimHook(self.dbxscim_conn_id) as hook:
                found = self._look_up(hook, plan)
                records += self._reactivate_accounts(hook, found, plan, progress)
                for host in plan.workspace_hosts:
                    self._reactivate_in_workspace(hook, host, records, plan, progress)
            progress.save()

        result = build_xcom(
            records,
            workspace_hosts=plan.workspace_hosts,
            dry_run=plan.dry_run,
            duplicates=len(plan.duplicates),
            report_path=str(report_path) if report_path else None,
        )
        if report_path:
            self._write_report(report_path, context, records, plan)
        self.log.info(
            "Reactivation %s: %s.", "dry run finished" if plan.dry_run else "finished", result["counts"]
        )
        self._apply_fail_on(context, records, result)
        return result

    def _plan(self) -> _Plan:
        """Validate and clean the (rendered) arguments, before any request."""
        names = [] if self.user_names is None and self.user_ids else self.user_names
        cleaned = clean_user_names(names)
        user_ids = [str(i).strip() for i in require_list(self.user_ids or [], name="user_ids")]
        deny = require_list(self.deny_list or [], name="deny_list")
        self.log.info("Cleaned the user list: %s; %d user ids.", cleaned.describe(), len(user_ids))
        return _Plan(
            user_names=cleaned.valid,
            invalid=cleaned.invalid,
            duplicates=cleaned.duplicates,
            user_ids=list(dict.fromkeys(i for i in user_ids if i)),
            workspace_hosts=clean_workspace_hosts(self.workspace_hosts),
            denied=frozenset(normalize_user_name(str(entry)) for entry in deny),
            dry_run=_as_bool(self.dry_run),
        )

    def _look_up(self, hook: DbxScimHook, plan: _Plan) -> list[tuple[str, ScimUser | None]]:
        by_name = hook.find_account_users(plan.user_names) if plan.user_names else {}
        found: list[tuple[str, ScimUser | None]] = [(name, by_name.get(name)) for name in plan.user_names]
        seen = {user.id for user in by_name.values()}
        for user_id in plan.user_ids:
            if user_id in seen:
                continue
            try:
                user: ScimUser | None = hook.get_account_user(user_id)
            except NotFoundError:
                user = None
            found.append((user.user_name if user else user_id, user))
            seen.add(user_id)
        missing = sum(1 for _, user in found if user is None)
        self.log.info(
            "Looked up %d users: %d found, %d not found.", len(found), len(found) - missing, missing
        )
        return found

    def _reactivate_accounts(
        self,
        hook: DbxScimHook,
        found: list[tuple[str, ScimUser | None]],
        plan: _Plan,
        progress: ReactivationProgress,
    ) -> list[UserRecord]:
        records: list[UserRecord] = []
        batch: list[tuple[UserRecord, ScimUser]] = []
        for key, user in found:
            record, send_patch = self._decide(key, user, plan, progress)
            records.append(record)
            if send_patch and user is not None:
                batch.append((record, user))
        progress.intend([user.id for _, user in batch])
        self._send_patches(batch, lambda user: hook.set_account_user_active(user.id, True), progress, None)
        self._warn_about_idp_managed(records)
        return records

    def _send_patches(
        self,
        batch: list[tuple[UserRecord, ScimUser]],
        send: Callable[[ScimUser], None],
        progress: ReactivationProgress,
        host: str | None,
    ) -> None:
        """
        Send one PATCH per user, a few at a time, and record each outcome on its record.

        The hook's shared limiter spaces the PATCHes at the account's rate; several in flight keep that rate
        when one round trip takes longer than the gap between two PATCHes. After an error that every later
        request would meet too, no new PATCH starts and the rest are reported not attempted.
        """
        stop: list[DbxScimError] = []

        def patch_one(record: UserRecord, user: ScimUser) -> None:
            if stop:
                self._set_outcome(
                    record, host, user, Outcome.FAILED, f"Not attempted after an earlier error: {stop[0]}"
                )
                return
            try:
                send(user)
            except Exception as exc:
                detail = self._warn_failure(exc, user.user_name, host or "")
                self._set_outcome(record, host, user, Outcome.FAILED, detail)
                if isinstance(exc, _STOP_THE_BATCH):
                    stop.append(exc)
                return
            progress.remember(user.id, host)
            self._set_outcome(record, host, user, Outcome.REACTIVATED, None)

        with ThreadPoolExecutor(self.max_parallel_patches, thread_name_prefix="dbxscim-patch") as pool:
            for done in [pool.submit(patch_one, record, user) for record, user in batch]:
                done.result()

    @staticmethod
    def _set_outcome(
        record: UserRecord, host: str | None, user: ScimUser, outcome: Outcome, detail: str | None
    ) -> None:
        if host is None:
            record.outcome, record.detail = outcome, detail
        else:
            record.workspaces[host] = WorkspaceRecord(user.id, outcome, detail)

    def _decide(
        self, key: str, user: ScimUser | None, plan: _Plan, progress: ReactivationProgress
    ) -> tuple[UserRecord, bool]:
        """Decide from the read alone; the flag says whether the user needs a PATCH now."""
        if ({key, user.id, user.user_name} if user else {key}) & plan.denied:
            return UserRecord(key, user.id if user else None, Outcome.DENIED, "on the deny list"), False
        if user is None:
            return UserRecord(key, None, Outcome.NOT_FOUND, "no account user has this userName or id"), False
        record = UserRecord(user.user_name, user.id, Outcome.REACTIVATED, idp_managed=bool(user.external_id))
        if user.active and progress.was_reactivated(user.id):
            record.detail = EARLIER_TRY
            progress.remember(user.id)
        elif user.active:
            record.outcome = Outcome.ALREADY_ACTIVE
        elif user.external_id and self.skip_idp_managed:
            record.outcome, record.detail = Outcome.SKIPPED_IDP_MANAGED, "has an externalId"
        elif plan.dry_run:
            record.outcome = Outcome.WOULD_REACTIVATE
        else:
            return record, True
        return record, False

    def _reactivate_in_workspace(
        self,
        hook: DbxScimHook,
        host: str,
        records: list[UserRecord],
        plan: _Plan,
        progress: ReactivationProgress,
    ) -> None:
        """Reactivate in one workspace the users active at the account level, or about to be in a dry run."""
        eligible = [
            r for r in records if r.outcome in ACTIVE_OUTCOMES or r.outcome is Outcome.WOULD_REACTIVATE
        ]
        if not eligible:
            return
        try:
            users = hook.find_workspace_users(host, [r.user_name for r in eligible])
        except Exception as exc:
            detail = self._warn_failure(exc, f"{len(eligible)} users", host)
            for record in eligible:
                record.workspaces[host] = WorkspaceRecord(None, Outcome.FAILED, detail)
            return
        batch: list[tuple[UserRecord, ScimUser]] = []
        for record in eligible:
            user = users.get(record.user_name or "")
            decided = self._decide_workspace(host, user, plan, progress)
            if decided is not None:
                record.workspaces[host] = decided
            elif user is not None:
                batch.append((record, user))
        progress.intend([user.id for _, user in batch], host)
        self._send_patches(
            batch, lambda user: hook.set_workspace_user_active(host, user.id, True), progress, host
        )
        counts = Counter(str(r.workspaces[host].outcome) for r in eligible)
        self.log.info("Workspace %s: %s.", host, dict(counts))

    @staticmethod
    def _decide_workspace(
        host: str, user: ScimUser | None, plan: _Plan, progress: ReactivationProgress
    ) -> WorkspaceRecord | None:
        """Decide a workspace user's outcome from the read alone; None means the user needs a PATCH."""
        if user is None:
            return WorkspaceRecord(None, Outcome.NOT_FOUND, "not a user of this workspace")
        if user.active and progress.was_reactivated(user.id, host):
            progress.remember(user.id, host)
            return WorkspaceRecord(user.id, Outcome.REACTIVATED, EARLIER_TRY)
        if user.active:
            return WorkspaceRecord(user.id, Outcome.ALREADY_ACTIVE)
        if plan.dry_run:
            return WorkspaceRecord(user.id, Outcome.WOULD_REACTIVATE)
        return None

    def _warn_failure(self, exc: Exception, who: str, host: str) -> str:
        """Log one warning for a failed user and return the detail for their record."""
        detail = _describe(exc)
        where = f" in workspace {host}" if host else ""
        unexpected = not isinstance(exc, DbxScimError)
        self.log.warning("Could not reactivate %s%s: %s", who, where, detail, exc_info=unexpected)
        return detail

    def _warn_about_idp_managed(self, records: list[UserRecord]) -> None:
        changed = (Outcome.REACTIVATED, Outcome.WOULD_REACTIVATE)
        managed = sum(1 for r in records if r.idp_managed and r.outcome in changed)
        if managed:
            self.log.warning(
                "%d of the users reactivated have an externalId: the identity provider that manages them may "
                "deactivate them again on its next sync; assign them there, or set skip_idp_managed=True.",
                managed,
            )

    def _report_path(self, context: Context) -> Path | None:
        if not self.report_dir:
            return None
        ti = context["ti"]
        map_index = getattr(ti, "map_index", -1)
        name = ti.task_id if map_index is None or map_index < 0 else f"{ti.task_id}.{map_index}"
        return Path(self.report_dir) / _safe(ti.dag_id) / _safe(ti.run_id) / f"{_safe(name)}.json"

    def _write_report(self, path: Path, context: Context, records: list[UserRecord], plan: _Plan) -> None:
        ti = context["ti"]
        meta = {
            "dag_id": ti.dag_id,
            "run_id": ti.run_id,
            "task_id": ti.task_id,
            "map_index": getattr(ti, "map_index", -1),
            "try_number": getattr(ti, "try_number", None),
            "dry_run": plan.dry_run,
            "workspace_hosts": plan.workspace_hosts,
            "duplicates": plan.duplicates,
        }
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(build_report(records, meta), indent=1), encoding="utf-8")
        self.log.info("Wrote the report of %d users to %s.", len(records), path)

    def _apply_fail_on(self, context: Context, records: list[UserRecord], result: dict[str, Any]) -> None:
        failing = FAIL_ON[self.fail_on]
        bad = [
            r
            for r in records
            if r.outcome in failing or any(w.outcome in failing for w in r.workspaces.values())
        ]
        if not bad:
            return
        if self.do_xcom_push:
            context["ti"].xcom_push(key="return_value", value=result)
        raise DbxScimError(
            f"{len(bad)} of {len(records)} users ended as {' or '.join(sorted(failing))} "
            f"(fail_on={self.fail_on!r}); see the task log and the report for each user's detail."
        )


@dataclass(frozen=True)
class _Plan:
    """The task's arguments once rendered, validated and cleaned."""

    user_names: list[str]
    invalid: list[str]
    duplicates: list[str]
    user_ids: list[str]
    workspace_hosts: list[str]
    denied: frozenset[str]
    dry_run: bool


def _as_bool(value: bool | str) -> bool:
    """Accept a bool, or the text a template renders a bool to when the DAG does not render native objects."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    raise ConfigurationError(f"dry_run must be true or false, got {value!r}; nothing was changed.")


def _describe(exc: Exception) -> str:
    """The error's own one-sentence message; our errors never carry a secret, others are named only."""
    if isinstance(exc, DbxScimError):
        return str(exc)
    return f"Unexpected {type(exc).__name__}; see the task log."


def _safe(part: str) -> str:
    return re.sub(r"[^A-Za-z0-9._=-]+", "_", str(part))
