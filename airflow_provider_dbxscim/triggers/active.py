"""Trigger that waits, in the triggerer, until Databricks users are active."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Mapping, Sequence
from datetime import datetime
from typing import Any

from airflow.triggers.base import BaseTrigger, TriggerEvent

from airflow_provider_dbxscim.exceptions import (
    DbxScimError,
    NotFoundError,
    RateLimitedError,
    ServiceUnavailableError,
    TransportError,
)
from airflow_provider_dbxscim.hooks.dbxscim_async import AsyncDbxScimClient
from airflow_provider_dbxscim.scim import ScimUser

#: Errors worth another poll after ``poll_interval``: the client already retried them within its own budget.
TRANSIENT_ERRORS = (RateLimitedError, ServiceUnavailableError, TransportError)
_NAMED_IN_MESSAGE = 3


def inactive_user_names(user_names: Sequence[str], found: Mapping[str, ScimUser], *, where: str) -> list[str]:
    """
    Return the userNames whose user is not active yet; fail for users that do not exist.

    A user that does not exist will never become active, so waiting for one would only end in a timeout.

    :param user_names: normalised userNames.
    :param found: the users found, keyed by normalised userName.
    :param where: where they were looked up, e.g. ``"in the account"``, for the message.
    """
    missing = [name for name in user_names if name not in found]
    if missing:
        named = ", ".join(missing[:_NAMED_IN_MESSAGE]) + (", ..." if len(missing) > _NAMED_IN_MESSAGE else "")
        raise NotFoundError(
            f"{len(missing)} of {len(user_names)} users do not exist {where} ({named}) and can never become "
            "active; remove them from user_names."
        )
    return [name for name in user_names if not found[name].active]


class AccountUsersActiveTrigger(BaseTrigger):
    """
    Poll the account (and workspaces) until every user is active, then fire one event.

    Events: ``{"status": "success", "user_names": [...]}``; ``{"status": "timeout", "message": ...,
    "pending": [...]}`` once ``deadline`` passes; ``{"status": "error", "message": ...}`` for a user that does
    not exist or an error that another poll would not cure.

    :param conn_id: the ``dbxscim`` connection.
    :param user_names: normalised userNames to wait for.
    :param workspace_hosts: workspaces in which the users must be active too.
    :param poll_interval: seconds between polls.
    :param deadline: when to give up, as POSIX seconds or an ISO 8601 timestamp with a time zone; absolute,
        so a triggerer restart does not extend the wait. None waits for ever.
    """

    def __init__(
        self,
        conn_id: str,
        user_names: Sequence[str],
        workspace_hosts: Sequence[str] | None = None,
        poll_interval: float = 60.0,
        deadline: float | str | None = None,
    ) -> None:
        super().__init__()
        self.conn_id = conn_id
        self.user_names = list(user_names)
        self.workspace_hosts = list(workspace_hosts or [])
        self.poll_interval = float(poll_interval)
        self.deadline = (
            datetime.fromisoformat(deadline).timestamp() if isinstance(deadline, str) else deadline
        )

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return (
            f"{type(self).__module__}.{type(self).__qualname__}",
            {
                "conn_id": self.conn_id,
                "user_names": self.user_names,
                "workspace_hosts": self.workspace_hosts,
                "poll_interval": self.poll_interval,
                "deadline": self.deadline,
            },
        )

    async def run(self) -> AsyncIterator[TriggerEvent]:
        yield TriggerEvent(await self._wait())

    async def _wait(self) -> dict[str, Any]:
        """Poll until an outcome is known; every path returns exactly one event payload."""
        try:
            async with await AsyncDbxScimClient.from_connection(self.conn_id) as client:
                while True:
                    try:
                        # The client's own retries may wait longer than the deadline leaves; the deadline
                        # wins, with a second's grace so a trigger restarted past it still polls once.
                        pending = await asyncio.wait_for(self._poll(client), self._poll_budget())
                    except TimeoutError:
                        return self._timeout(None)
                    if pending == []:
                        return {"status": "success", "user_names": self.user_names}
                    remaining = self._remaining()
                    if remaining <= 0:
                        return self._timeout(pending)
                    if pending:
                        self.log.info(
                            "%d of %d users are not active yet.", len(pending), len(self.user_names)
                        )
                    await asyncio.sleep(min(self.poll_interval, remaining))
        except DbxScimError as exc:
            return {"status": "error", "message": str(exc)}
        except Exception as exc:
            self.log.exception("Waiting for users to become active failed unexpectedly.")
            return {"status": "error", "message": f"Unexpected {type(exc).__name__} in the trigger."}

    async def _poll(self, client: AsyncDbxScimClient) -> list[str] | None:
        """Return the userNames not active yet, or None when a transient error leaves that unknown."""
        try:
            found = await client.find_account_users(self.user_names)
            pending = inactive_user_names(self.user_names, found, where="in the account")
            for host in self.workspace_hosts:
                found = await client.find_workspace_users(host, self.user_names)
                pending += inactive_user_names(self.user_names, found, where=f"in workspace {host}")
        except TRANSIENT_ERRORS as exc:
            self.log.warning("Polling failed for now, polling again in %.0f s: %s", self.poll_interval, exc)
            return None
        return list(dict.fromkeys(pending))

    def _poll_budget(self) -> float | None:
        return None if self.deadline is None else max(self._remaining(), 1.0)

    def _remaining(self) -> float:
        return float("inf") if self.deadline is None else self.deadline - time.time()

    def _timeout(self, pending: list[str] | None) -> dict[str, Any]:
        total = len(self.user_names)
        if pending is None:
            message = (
                f"The deadline passed before a poll succeeded; the state of the {total} users is unknown."
            )
        else:
            message = f"The deadline passed with {len(pending)} of {total} users not active yet."
        return {
            "status": "timeout",
            "message": message,
            "pending": self.user_names if pending is None else pending,
        }
