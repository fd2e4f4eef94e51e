"""The Airflow hook of the Databricks account SCIM API, authenticated as a service principal (OAuth M2M)."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import replace
from functools import cached_property
from types import TracebackType
from typing import Any

from airflow.exceptions import AirflowException
from airflow.sdk.bases.hook import BaseHook

from airflow_provider_dbxscim import CONN_TYPE, oauth, scim
from airflow_provider_dbxscim.exceptions import UnexpectedResponseError
from airflow_provider_dbxscim.hooks._connection import ConnectionSettings
from airflow_provider_dbxscim.hooks._transport import Audience, Call, SyncTransport
from airflow_provider_dbxscim.scim import ScimUser
from airflow_provider_dbxscim.utils.masking import mask


class DbxScimHook(BaseHook):
    """
    Read and reactivate users through the Databricks account SCIM API, and in workspaces.

    The connection holds the accounts console host, the service principal's client id (login) and OAuth
    secret (password), and in its extra the ``account_id`` plus optional ``allow_any_host``,
    ``patch_rate_per_second``, ``get_rate_per_second``, ``terms_per_filter`` and ``rate_limit_dir``.
    Calls share a rate budget per account with every process on this machine, and are retried on
    throttling and transient failures within ``max_wait`` seconds.

    :param dbxscim_conn_id: the Airflow connection id.
    :param timeout: seconds for each HTTP request.
    :param max_wait: seconds one request may spend retrying.
    :param sleep: how to wait; tests pass a fake.
    :param clock: monotonic seconds; tests pass a fake.
    """

    conn_name_attr = "dbxscim_conn_id"
    default_conn_name = "dbxscim_default"
    conn_type = CONN_TYPE
    hook_name = "Databricks SCIM (OAuth M2M)"

    def __init__(
        self,
        dbxscim_conn_id: str = default_conn_name,
        *,
        timeout: float = 30.0,
        max_wait: float = 300.0,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__()
        self.dbxscim_conn_id = dbxscim_conn_id
        self.timeout = timeout
        self.max_wait = max_wait
        self._sleep = sleep
        self._clock = clock

    def __repr__(self) -> str:
        return f"{type(self).__name__}(dbxscim_conn_id={self.dbxscim_conn_id!r})"

    def __enter__(self) -> DbxScimHook:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    @cached_property
    def settings(self) -> ConnectionSettings:
        """The checked settings of the connection, read on first use."""
        conn = self.get_connection(self.dbxscim_conn_id)
        mask(conn.password)
        return ConnectionSettings.from_fields(conn.host, conn.login, conn.password, conn.extra_dejson)

    @cached_property
    def _transport(self) -> SyncTransport:
        return SyncTransport(
            self.settings,
            timeout=self.timeout,
            max_wait=self.max_wait,
            sleep=self._sleep,
            clock=self._clock,
            log=self.log,
        )

    def close(self) -> None:
        """Close the HTTP connections; the hook may not be used afterwards."""
        if "_transport" in self.__dict__:
            self._transport.close()

    def get_conn(self) -> SyncTransport:
        """Return the transport that sends this hook's requests."""
        return self._transport

    def get_account_token(self) -> str:
        """Return an account access token, fetched or taken from the cache; it is masked in logs."""
        return self._transport.token(Audience.account(self.settings))

    def find_account_users(self, user_names: Iterable[str]) -> dict[str, ScimUser]:
        """
        Look account users up by ``userName``, many per request.

        :param user_names: the names, in any case.
        :return: the users found, by normalized ``userName``; a name that is absent does not exist.
        """
        settings = self.settings
        url = oauth.account_users_url(settings.host, settings.account_id)
        return self._find(Call("GET", url, Audience.account(settings)), user_names)

    def get_account_user(self, user_id: str) -> ScimUser:
        """
        Read one account user by id.

        :param user_id: the account-level SCIM id.
        """
        call = Call("GET", self._account_user_url(user_id), Audience.account(self.settings))
        return _user(self._transport.request(call), call.what)

    def set_account_user_active(self, user_id: str, active: bool = True) -> None:
        """
        Set ``active`` of one account user with a SCIM PatchOp.

        :param user_id: the account-level SCIM id.
        :param active: True reactivates, False deactivates.
        """
        call = Call("PATCH", self._account_user_url(user_id), Audience.account(self.settings))
        self._transport.request(_with_patch(call, active))
        self.log.info("Set active=%s on account user %s", active, user_id)

    def find_workspace_users(self, workspace_host: str, user_names: Iterable[str]) -> dict[str, ScimUser]:
        """
        Look users of one workspace up by ``userName``; their ids differ from the account's.

        :param workspace_host: the workspace URL, e.g. ``https://dbc-1234.cloud.databricks.com``.
        :param user_names: the names, in any case.
        :return: the users found, by normalized ``userName``.
        """
        host = self.settings.workspace_host(workspace_host)
        call = Call(
            "GET",
            oauth.workspace_users_url(host),
            Audience.workspace(self.settings, host),
        )
        return self._find(call, user_names)

    def set_workspace_user_active(self, workspace_host: str, user_id: str, active: bool = True) -> None:
        """
        Set ``active`` of one workspace user, with a token of that workspace.

        :param workspace_host: the workspace URL.
        :param user_id: the workspace-level SCIM id.
        :param active: True reactivates, False deactivates.
        """
        host = self.settings.workspace_host(workspace_host)
        url = oauth.user_url(oauth.workspace_users_url(host), user_id)
        call = Call("PATCH", url, Audience.workspace(self.settings, host))
        self._transport.request(_with_patch(call, active))
        self.log.info("Set active=%s on user %s of workspace %s", active, user_id, host)

    def test_connection(self) -> tuple[bool, str]:
        """Fetch an account token and read one user id, to show the credentials and permissions work."""
        try:
            settings = self.settings
            call = Call(
                "GET",
                oauth.account_users_url(settings.host, settings.account_id),
                Audience.account(settings),
                params={"count": "1", "attributes": "id"},
            )
            self._transport.request(call)
        except AirflowException as exc:
            return False, str(exc)
        return (
            True,
            f"Connected to account {settings.account_id} at {settings.host}: token issued, Users readable.",
        )

    def _find(self, call: Call, user_names: Iterable[str]) -> dict[str, ScimUser]:
        names = list(user_names)
        found, sent = self._transport.lookup(call, names)
        self.log.info("Looked up %d userNames in %d requests: %d found", len(names), sent, len(found))
        return found

    def _account_user_url(self, user_id: str) -> str:
        settings = self.settings
        return oauth.user_url(oauth.account_users_url(settings.host, settings.account_id), user_id)


def _with_patch(call: Call, active: bool) -> Call:
    return replace(call, body=scim.build_active_patch(active))


def _user(body: Any, what: str) -> ScimUser:
    if not isinstance(body, dict):
        raise UnexpectedResponseError(f"{what} answered something that is not a SCIM user.")
    return ScimUser.from_resource(body)
