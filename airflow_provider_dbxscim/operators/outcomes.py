"""What the reactivation operator did for each user, as an XCom value and as a full report file."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

# A metadata database may cap a serialized XCom at 64 KB (65,535 bytes in a MySQL TEXT column); the margin
# covers the keys Airflow itself adds around the value.
XCOM_BUDGET_BYTES = 64_000
DETAIL_IN_XCOM = 200


class Outcome(StrEnum):
    """What happened to one user, at the account level or in one workspace."""

    REACTIVATED = "reactivated"
    ALREADY_ACTIVE = "already_active"
    WOULD_REACTIVATE = "would_reactivate"
    NOT_FOUND = "not_found"
    INVALID = "invalid"
    DENIED = "denied"
    SKIPPED_IDP_MANAGED = "skipped_idp_managed"
    FAILED = "failed"


#: Outcomes after which the user is active at the account level, so workspaces may follow.
ACTIVE_OUTCOMES = frozenset({Outcome.REACTIVATED, Outcome.ALREADY_ACTIVE})


@dataclass
class WorkspaceRecord:
    """What happened to one user in one workspace; the workspace id differs from the account id."""

    id: str | None
    outcome: Outcome
    detail: str | None = None


@dataclass
class UserRecord:
    """
    What happened to one user.

    :param user_name: the normalised userName (for an entry given by id only, as read from the account).
    :param id: the account user id, when the user was found.
    :param outcome: the account-level outcome.
    :param detail: why, in one sentence, when the outcome needs explaining.
    :param idp_managed: the user has an ``externalId``, so an identity provider probably manages them.
    :param workspaces: per workspace host, what happened there.
    """

    user_name: str | None
    id: str | None
    outcome: Outcome
    detail: str | None = None
    idp_managed: bool = False
    workspaces: dict[str, WorkspaceRecord] = field(default_factory=dict)

    def to_report(self) -> dict[str, Any]:
        """The full record for the report file."""
        return {
            "user_name": self.user_name,
            "id": self.id,
            "outcome": str(self.outcome),
            "detail": self.detail,
            "idp_managed": self.idp_managed,
            "workspaces": {
                host: {"id": ws.id, "outcome": str(ws.outcome), "detail": ws.detail}
                for host, ws in self.workspaces.items()
            },
        }

    def to_xcom(self, workspace_hosts: Sequence[str]) -> dict[str, Any]:
        """The compact record for XCom: optional keys appear only when they say something."""
        record: dict[str, Any] = {"user_name": self.user_name, "id": self.id, "outcome": str(self.outcome)}
        if self.detail:
            record["detail"] = _shorten(self.detail, DETAIL_IN_XCOM)
        if self.idp_managed:
            record["idp_managed"] = True
        if workspace_hosts:
            record["workspaces"] = [
                str(self.workspaces[host].outcome) if host in self.workspaces else None
                for host in workspace_hosts
            ]
        return record


def count_outcomes(outcomes: Iterable[Outcome]) -> dict[str, int]:
    """Count outcomes, listing every outcome (zeros included) so the shape never changes."""
    counts = Counter(str(outcome) for outcome in outcomes)
    return {str(outcome): counts.get(str(outcome), 0) for outcome in Outcome}


def workspace_counts(
    records: Sequence[UserRecord], workspace_hosts: Sequence[str]
) -> dict[str, dict[str, int]]:
    """Count the outcomes in each workspace."""
    return {
        host: count_outcomes(r.workspaces[host].outcome for r in records if host in r.workspaces)
        for host in workspace_hosts
    }


def build_xcom(
    records: Sequence[UserRecord],
    *,
    workspace_hosts: Sequence[str],
    dry_run: bool,
    duplicates: int,
    report_path: str | None,
    budget: int = XCOM_BUDGET_BYTES,
) -> dict[str, Any]:
    """
    Build the XCom value: counts and compact per-user records, shrunk to fit ``budget`` bytes of JSON.

    When the records do not fit, details go first, then ``already_active`` records, then ``reactivated``
    ones, then all; ``users_truncated`` names the last of these steps taken (None when nothing went), and the
    report file keeps everything. Five hundred users with 46-character userNames fit untruncated.
    """
    result: dict[str, Any] = {
        "counts": count_outcomes(r.outcome for r in records),
        "workspace_counts": workspace_counts(records, workspace_hosts),
        "workspace_hosts": list(workspace_hosts),
        "dry_run": dry_run,
        "duplicates": duplicates,
        "report_path": report_path,
        "users_truncated": None,
        "users": [r.to_xcom(workspace_hosts) for r in records],
    }
    shrink_steps = [
        ("details", lambda users: [{k: v for k, v in u.items() if k != "detail"} for u in users]),
        ("already_active", lambda users: [u for u in users if u["outcome"] != Outcome.ALREADY_ACTIVE]),
        ("reactivated", lambda users: [u for u in users if u["outcome"] != Outcome.REACTIVATED]),
        ("all", lambda users: []),
    ]
    for label, shrink in shrink_steps:
        if serialized_size(result) <= budget:
            break
        result["users"] = shrink(result["users"])
        result["users_truncated"] = label
    return result


def build_report(records: Sequence[UserRecord], meta: Mapping[str, Any]) -> dict[str, Any]:
    """Build the full report written to ``report_dir``: the task's identity, counts and every record."""
    workspace_hosts = list(meta.get("workspace_hosts", []))
    return {
        **meta,
        "counts": count_outcomes(r.outcome for r in records),
        "workspace_counts": workspace_counts(records, workspace_hosts),
        "users": [r.to_report() for r in records],
    }


def serialized_size(value: Any) -> int:
    """The size in bytes of ``value`` as JSON, the way XCom stores it."""
    return len(json.dumps(value).encode())


def _shorten(text: str, limit: int) -> str:
    return text if len(text) <= limit else f"{text[: limit - 3]}..."
