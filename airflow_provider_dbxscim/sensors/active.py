"""Sensor that waits until Databricks users are active at the account level and in workspaces."""

from __future__ import annotations

import time
from collections.abc import Sequence
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseSensorOperator, PokeReturnValue, conf
from airflow.sdk.exceptions import AirflowSensorTimeout, AirflowSkipException

from airflow_provider_dbxscim.cleaning import clean_user_names, clean_workspace_hosts
from airflow_provider_dbxscim.exceptions import ConfigurationError, DbxScimError
from airflow_provider_dbxscim.hooks.dbxscim import DbxScimHook
from airflow_provider_dbxscim.triggers.active import (
    TRANSIENT_ERRORS,
    AccountUsersActiveTrigger,
    inactive_user_names,
)

if TYPE_CHECKING:
    from airflow.sdk import Context

# The trigger reports its own deadline with the list of pending users; Airflow's deferral timeout is only the
# safety net for a trigger that never answers, so it fires a little later.
_DEFERRAL_GRACE = timedelta(minutes=1)
_PENDING_SHOWN = 10


class AccountUsersActiveSensor(BaseSensorOperator):
    """
    Wait until every given user is ``active`` at the account level, and in each workspace given.

    Returns the confirmed userNames as XCom. An empty list succeeds at once. A user that does not exist (at
    the account level, or in a listed workspace) can never become active, so the sensor fails at once with a
    :class:`~airflow_provider_dbxscim.exceptions.NotFoundError` instead of waiting for its timeout.

    :param user_names: userNames (e-mail addresses) to wait for. (templated)
    :param workspace_hosts: workspace URLs in which the users must be active too. (templated)
    :param dbxscim_conn_id: the ``dbxscim`` connection. (templated)
    :param deferrable: wait in the triggerer (:class:`AccountUsersActiveTrigger`) instead of a worker slot;
        defaults to ``[operators] default_deferrable``. ``poke_interval`` and ``timeout`` apply in every mode.
    """

    template_fields: Sequence[str] = ("user_names", "workspace_hosts", "dbxscim_conn_id")
    ui_color = "#d6f5e3"

    def __init__(
        self,
        *,
        user_names: Any,
        workspace_hosts: Any = None,
        dbxscim_conn_id: str = DbxScimHook.default_conn_name,
        deferrable: bool = conf.getboolean("operators", "default_deferrable", fallback=False),
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.user_names = user_names
        self.workspace_hosts = workspace_hosts
        self.dbxscim_conn_id = dbxscim_conn_id
        self.deferrable = deferrable

    def execute(self, context: Context) -> Any:
        if not self.deferrable:
            return super().execute(context)
        first = self.poke(context)
        if first:
            return first.xcom_value
        self.defer(
            trigger=AccountUsersActiveTrigger(
                conn_id=self.dbxscim_conn_id,
                user_names=self._user_names(),
                workspace_hosts=clean_workspace_hosts(self.workspace_hosts),
                poll_interval=self.poke_interval,
                deadline=time.time() + self.timeout,
            ),
            method_name="execute_complete",
            timeout=timedelta(seconds=self.timeout) + _DEFERRAL_GRACE,
        )

    def poke(self, context: Context) -> PokeReturnValue:
        user_names = self._user_names()
        if not user_names:
            self.log.info("No users to wait for.")
            return PokeReturnValue(is_done=True, xcom_value=[])
        hosts = clean_workspace_hosts(self.workspace_hosts)
        try:
            with DbxScimHook(self.dbxscim_conn_id) as hook:
                found = hook.find_account_users(user_names)
                pending = inactive_user_names(user_names, found, where="in the account")
                for host in hosts:
                    found = hook.find_workspace_users(host, user_names)
                    pending += inactive_user_names(user_names, found, where=f"in workspace {host}")
        except TRANSIENT_ERRORS as exc:
            self.log.warning("Polling failed for now, poking again later: %s", exc)
            return PokeReturnValue(is_done=False)
        if pending:
            self.log.info("%d of %d users are not active yet.", len(set(pending)), len(user_names))
            return PokeReturnValue(is_done=False)
        self.log.info("All %d users are active.", len(user_names))
        return PokeReturnValue(is_done=True, xcom_value=user_names)

    def execute_complete(self, context: Context, event: dict[str, Any]) -> list[str]:
        """Turn the trigger's event into the XCom value, a sensor timeout (or skip), or a typed error."""
        status = event.get("status")
        if status == "success":
            self.log.info("All %d users are active.", len(event["user_names"]))
            return event["user_names"]
        if status == "timeout":
            pending = event.get("pending", [])
            shown = ", ".join(pending[:_PENDING_SHOWN]) + (", ..." if len(pending) > _PENDING_SHOWN else "")
            message = f"{event['message']} Pending: {shown}."
            if self.soft_fail:
                raise AirflowSkipException(message)
            raise AirflowSensorTimeout(message)
        raise DbxScimError(event.get("message") or f"The trigger sent an unexpected event: {status!r}.")

    def _user_names(self) -> list[str]:
        cleaned = clean_user_names(self.user_names)
        if cleaned.invalid:
            raise ConfigurationError(
                f"{len(cleaned.invalid)} entries of user_names are not e-mail addresses and can never become "
                "active; clean the list first (airflow_provider_dbxscim.cleaning.clean_user_names)."
            )
        return cleaned.valid
