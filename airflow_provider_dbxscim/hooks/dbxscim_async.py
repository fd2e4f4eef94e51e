"""An asynchronous client of the Databricks SCIM API for triggers, which run in the triggerer's event loop.

It shares the connection settings, the wire format, the retry policy and the rate budget with
:class:`~airflow_provider_dbxscim.hooks.dbxscim.DbxScimHook`; only the I/O differs. Nothing here blocks the
loop: file locks of the rate limiter run in a worker thread, waits are ``asyncio.sleep``.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import replace
from types import TracebackType
from typing import Any

import httpx
from airflow.sdk.bases.hook import BaseHook
from airflow.sdk.definitions._internal.logging_mixin import LoggingMixin
from tenacity import AsyncRetrying

from airflow_provider_dbxscim import oauth, scim
from airflow_provider_dbxscim.exceptions import AuthenticationError, UnexpectedResponseError
from airflow_provider_dbxscim.hooks._connection import ConnectionSettings
from airflow_provider_dbxscim.hooks._transport import Audience, Call, TransportBase
from airflow_provider_dbxscim.scim import ScimUser
from airflow_provider_dbxscim.utils.masking import amask


class AsyncTransport(TransportBase):
    """
    The non-blocking transport of :class:`AsyncDbxScimClient`; use it from one event loop.

    :param sleep: how to wait between attempts and for a rate-limit slot.
    """

    def __init__(
        self, settings: ConnectionSettings, *, sleep: Callable[[float], Awaitable[Any]], **kwargs: Any
    ) -> None:
        super().__init__(settings, **kwargs)
        self._sleep = sleep
        self._client = httpx.AsyncClient(**self._client_options())
        self._token_locks: dict[str, asyncio.Lock] = {}

    async def aclose(self) -> None:
        """Close the HTTP connections."""
        await self._client.aclose()

    async def token(self, audience: Audience, deadline: float | None = None) -> str:
        """Return a usable access token for ``audience``, fetching one when needed; see the sync variant."""
        async with self._token_locks.setdefault(audience.token_url, asyncio.Lock()):
            cached = self._cached_token(audience)
            if cached is not None:
                return cached
            what = f"Token request to {audience.token_url}"
            policy = self._policy("POST", what, deadline if deadline is not None else self._deadline())
            token = await AsyncRetrying(**policy)(self._fetch_token, audience)
            self._tokens[audience.token_url] = token
            return token.value

    async def request(self, call: Call) -> Any:
        """Send ``call`` with retries and a single token refresh; return the decoded JSON answer."""
        deadline = self._deadline()
        token = await self.token(call.audience, deadline)
        try:
            return await self._send(call, token, deadline)
        except AuthenticationError:
            self._forget_token(call, token)
        return await self._send(call, await self.token(call.audience, deadline), deadline)

    async def lookup(self, call: Call, user_names: Iterable[str]) -> tuple[dict[str, ScimUser], int]:
        """Look users up by ``userName``; return the users found and the number of requests sent."""
        plan = scim.plan_lookup(user_names, terms=self.settings.terms_per_filter)
        sent = 0
        try:
            params = next(plan)
            while True:
                body = await self.request(replace(call, params=params))
                sent += 1
                params = plan.send(scim.parse_list_response(body))
        except StopIteration as done:
            return done.value, sent

    async def _fetch_token(self, audience: Audience) -> oauth.AccessToken:
        sent_at = self._clock()
        try:
            response = await self._client.post(audience.token_url, **self._token_request())
        except httpx.TransportError as exc:
            raise self._transport_error(f"Token request to {audience.token_url}", exc) from exc
        token = self._read_token(audience, response, sent_at)
        await amask(token.value)
        return token

    async def _send(self, call: Call, token: str, deadline: float) -> Any:
        policy = self._policy(call.method, call.what, deadline)
        return await AsyncRetrying(**policy)(self._attempt, call, token)

    async def _attempt(self, call: Call, token: str) -> Any:
        limiter = self._limiter(call.audience, call.method)
        delay = await asyncio.to_thread(limiter.reserve)
        if delay > 0:
            await self._sleep(delay)
        try:
            response = await self._client.request(call.method, call.url, **self._request_kwargs(call, token))
        except httpx.TransportError as exc:
            raise self._transport_error(call.what, exc) from exc
        return self._read(call, response)


class AsyncDbxScimClient(LoggingMixin):
    """
    Look users up from a trigger without blocking the event loop.

    Build it with :meth:`from_connection`, use it as an async context manager, and create it inside the
    trigger's ``run`` so it lives on the loop that uses it.

    :param settings: the checked connection settings.
    :param timeout: seconds for each HTTP request.
    :param max_wait: seconds one request may spend retrying.
    :param sleep: how to wait; tests pass a fake.
    :param clock: monotonic seconds; tests pass a fake.
    """

    def __init__(
        self,
        settings: ConnectionSettings,
        *,
        timeout: float = 30.0,
        max_wait: float = 300.0,
        sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__()
        self.settings = settings
        self._transport = AsyncTransport(
            settings, timeout=timeout, max_wait=max_wait, sleep=sleep, clock=clock, log=self.log
        )

    def __repr__(self) -> str:
        return f"{type(self).__name__}(host={self.settings.host!r}, account_id={self.settings.account_id!r})"

    @classmethod
    async def from_connection(cls, conn_id: str, **kwargs: Any) -> AsyncDbxScimClient:
        """
        Load an Airflow connection without blocking the loop and build a client from it.

        :param conn_id: the ``dbxscim`` connection id.
        :param kwargs: passed to the constructor (``timeout``, ``max_wait``, ``sleep``, ``clock``).
        """
        if hasattr(BaseHook, "aget_connection"):
            conn = await BaseHook.aget_connection(conn_id)
        else:
            conn = await asyncio.to_thread(BaseHook.get_connection, conn_id)
        extra = await conn.aextra_dejson() if hasattr(conn, "aextra_dejson") else conn.extra_dejson
        await amask(conn.password)
        return cls(ConnectionSettings.from_fields(conn.host, conn.login, conn.password, extra), **kwargs)

    async def __aenter__(self) -> AsyncDbxScimClient:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the HTTP connections."""
        await self._transport.aclose()

    async def find_account_users(self, user_names: Iterable[str]) -> dict[str, ScimUser]:
        """
        Look account users up by ``userName``, many per request.

        :param user_names: the names, in any case.
        :return: the users found, by normalized ``userName``; a name that is absent does not exist.
        """
        url = oauth.account_users_url(self.settings.host, self.settings.account_id)
        return await self._find(Call("GET", url, Audience.account(self.settings)), user_names)

    async def get_account_user(self, user_id: str) -> ScimUser:
        """
        Read one account user by id.

        :param user_id: the account-level SCIM id.
        """
        url = oauth.user_url(oauth.account_users_url(self.settings.host, self.settings.account_id), user_id)
        call = Call("GET", url, Audience.account(self.settings))
        body = await self._transport.request(call)
        if not isinstance(body, dict):
            raise UnexpectedResponseError(f"{call.what} answered something that is not a SCIM user.")
        return ScimUser.from_resource(body)

    async def find_workspace_users(
        self, workspace_host: str, user_names: Iterable[str]
    ) -> dict[str, ScimUser]:
        """
        Look users of one workspace up by ``userName``.

        :param workspace_host: the workspace URL.
        :param user_names: the names, in any case.
        """
        host = self.settings.workspace_host(workspace_host)
        call = Call(
            "GET",
            oauth.workspace_users_url(host),
            Audience.workspace(self.settings, host),
        )
        return await self._find(call, user_names)

    async def _find(self, call: Call, user_names: Iterable[str]) -> dict[str, ScimUser]:
        names = list(user_names)
        found, sent = await self._transport.lookup(call, names)
        self.log.info("Looked up %d userNames in %d requests: %d found", len(names), sent, len(found))
        return found
