"""Send SCIM requests: the OAuth token cache, the shared rate limits and the retries.

:class:`TransportBase` holds what the synchronous and asynchronous transports share (settings, token cache,
limiters, how to read an answer); :class:`SyncTransport` adds the blocking I/O for the hook. The wire
format lives in :mod:`airflow_provider_dbxscim.scim` and :mod:`airflow_provider_dbxscim.oauth`.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from typing import Any

import httpx
from tenacity import Retrying

from airflow_provider_dbxscim import __version__, oauth, scim
from airflow_provider_dbxscim.exceptions import (
    AuthenticationError,
    ConfigurationError,
    DbxScimError,
    TransportError,
)
from airflow_provider_dbxscim.hooks._connection import WORKSPACE_GET_RATE, ConnectionSettings
from airflow_provider_dbxscim.utils import ratelimit
from airflow_provider_dbxscim.utils.masking import install_scim_query_redaction, mask
from airflow_provider_dbxscim.utils.retry import retry_policy

USER_AGENT = f"airflow-provider-dbxscim/{__version__}"


@dataclass(frozen=True)
class Audience:
    """
    What a token is good for and whose rate budget a call spends: the account, or one workspace.

    :param token_url: the token endpoint; tokens are cached per endpoint.
    :param budget: names the shared rate budget, e.g. ``account-<id>`` or ``workspace-<host>``.
    :param get_rate: GET calls per second.
    :param patch_rate: PATCH calls per second.
    """

    token_url: str
    budget: str
    get_rate: float
    patch_rate: float

    @classmethod
    def account(cls, settings: ConnectionSettings) -> Audience:
        """The account SCIM API of the connection."""
        return cls(
            token_url=oauth.account_token_url(settings.host, settings.account_id),
            budget=f"account-{settings.account_id}",
            get_rate=settings.get_rate,
            patch_rate=settings.patch_rate,
        )

    @classmethod
    def workspace(cls, settings: ConnectionSettings, workspace_host: str) -> Audience:
        """The SCIM API of one workspace, given as a checked base URL."""
        return cls(
            token_url=oauth.workspace_token_url(workspace_host),
            budget=f"workspace-{workspace_host}",
            get_rate=min(settings.get_rate, WORKSPACE_GET_RATE),
            patch_rate=settings.patch_rate,
        )


@dataclass(frozen=True)
class Call:
    """
    One SCIM request, sent again as it is on each retry.

    :param method: ``GET`` or ``PATCH``.
    :param url: the URL without query.
    :param audience: the token and rate budget it uses.
    :param params: the query.
    :param body: a JSON body.
    """

    method: str
    url: str
    audience: Audience
    params: dict[str, str] | None = None
    body: dict[str, Any] | None = None

    @property
    def what(self) -> str:
        """Method and URL for logs and messages; the query, which holds e-mail addresses, is left out."""
        return f"{self.method} {self.url}"


class TransportBase:
    """
    The parts of a transport that do no I/O.

    :param settings: the checked connection settings.
    :param timeout: seconds for each HTTP request.
    :param max_wait: seconds one request may spend retrying, from its first attempt.
    :param clock: monotonic seconds, for token expiry and the retry deadline.
    :param log: the caller's logger.
    """

    #: How a subclass waits: ``time.sleep`` or ``asyncio.sleep`` (or a fake in tests).
    _sleep: Callable[[float], Any]

    def __init__(
        self,
        settings: ConnectionSettings,
        *,
        timeout: float,
        max_wait: float,
        clock: Callable[[], float],
        log: Any,
    ) -> None:
        self.settings = settings
        self._timeout = timeout
        self._max_wait = max_wait
        self._clock = clock
        self._log = log
        self._tokens: dict[str, oauth.AccessToken] = {}
        self._limiters: dict[tuple[str, str], ratelimit.FileRateLimiter] = {}
        install_scim_query_redaction()

    def __repr__(self) -> str:
        return f"{type(self).__name__}(host={self.settings.host!r}, account_id={self.settings.account_id!r})"

    def _deadline(self) -> float:
        return self._clock() + self._max_wait

    def _client_options(self) -> dict[str, Any]:
        """Keyword arguments of the ``httpx.Client`` or ``httpx.AsyncClient`` of a transport."""
        return {"timeout": self._timeout, "headers": {"Accept": scim.ACCEPT, "User-Agent": USER_AGENT}}

    def _token_request(self) -> dict[str, Any]:
        """Keyword arguments of the token POST: HTTP Basic client credentials and the form (RFC 6749 4.4)."""
        return {
            "data": oauth.TOKEN_FORM,
            "auth": (self.settings.client_id, self.settings.client_secret),
            "headers": {"Accept": "application/json"},
        }

    def _policy(self, method: str, what: str, deadline: float) -> dict[str, Any]:
        """The tenacity arguments of one request, waiting with this transport's sleep."""
        return retry_policy(
            method=method, what=what, deadline=deadline, clock=self._clock, sleep=self._sleep, log=self._log
        )

    def _cached_token(self, audience: Audience) -> str | None:
        token = self._tokens.get(audience.token_url)
        if token is not None and token.usable(self._clock(), oauth.DEFAULT_REFRESH_MARGIN):
            return token.value
        return None

    def _read_token(self, audience: Audience, response: httpx.Response, sent_at: float) -> oauth.AccessToken:
        token = oauth.parse_token_response(
            response.status_code,
            response.headers,
            response.content,
            url=audience.token_url,
            now=sent_at,
            wall_now=time.time(),
        )
        self._log.debug(
            "Got an access token from %s, valid for %.0f s", audience.token_url, token.expires_at - sent_at
        )
        return token

    def _forget_token(self, call: Call, refused: str) -> None:
        self._log.warning(
            "%s: the access token was refused; fetching a new one and trying once more", call.what
        )
        cached = self._tokens.get(call.audience.token_url)
        if cached is not None and cached.value == refused:
            self._tokens.pop(call.audience.token_url, None)

    def _limiter(
        self, audience: Audience, method: str, sleep: Callable[[float], None] = time.sleep
    ) -> ratelimit.FileRateLimiter:
        key = (audience.budget, method)
        if key not in self._limiters:
            self._limiters[key] = ratelimit.FileRateLimiter(
                ratelimit.default_directory(self.settings.rate_limit_dir),
                f"{audience.budget}-{method}",
                audience.patch_rate if method == "PATCH" else audience.get_rate,
                sleep=sleep,
            )
        return self._limiters[key]

    def _request_kwargs(self, call: Call, token: str) -> dict[str, Any]:
        headers = {"Authorization": f"Bearer {token}"}
        content = None
        if call.body is not None:
            headers["Content-Type"] = scim.SCIM_CONTENT_TYPE
            content = json.dumps(call.body).encode()
        return {"params": call.params, "headers": headers, "content": content}

    def _read(self, call: Call, response: httpx.Response) -> Any:
        self._log.debug("%s %s answered HTTP %d", call.method, call.url, response.status_code)
        return scim.parse_answer(
            response.status_code, response.headers, response.content, what=call.what, now=time.time()
        )

    def _transport_error(self, what: str, exc: httpx.TransportError) -> DbxScimError:
        if _unknown_host(exc):
            # A name that does not resolve (EAI_NONAME) stays unresolvable for the whole retry budget; a
            # temporary resolver failure (EAI_AGAIN) is still retried as a transport error.
            return ConfigurationError(
                f"{what} failed: the host name does not resolve; check the host in the connection or in "
                "workspace_hosts."
            )
        return TransportError(f"{what} got no answer ({type(exc).__name__}): {exc}")


class SyncTransport(TransportBase):
    """
    The blocking transport of :class:`~airflow_provider_dbxscim.hooks.dbxscim.DbxScimHook`; thread-safe.

    :param sleep: how to wait between attempts and for a rate-limit slot.
    """

    def __init__(
        self, settings: ConnectionSettings, *, sleep: Callable[[float], None], **kwargs: Any
    ) -> None:
        super().__init__(settings, **kwargs)
        self._sleep = sleep
        self._client = httpx.Client(**self._client_options())
        self._guard = threading.Lock()
        self._token_locks: dict[str, threading.Lock] = {}
        self._limiter_guard = threading.Lock()

    def close(self) -> None:
        """Close the HTTP connections."""
        self._client.close()

    def token(self, audience: Audience, deadline: float | None = None) -> str:
        """
        Return a usable access token for ``audience``, fetching one when none is cached or it expires soon.

        :param audience: the account or a workspace.
        :param deadline: when retries of the token request stop; by default ``max_wait`` from now.
        """
        with self._guard:
            lock = self._token_locks.setdefault(audience.token_url, threading.Lock())
        with lock:
            cached = self._cached_token(audience)
            if cached is not None:
                return cached
            what = f"Token request to {audience.token_url}"
            policy = self._policy("POST", what, deadline if deadline is not None else self._deadline())
            token = Retrying(**policy)(self._fetch_token, audience)
            self._tokens[audience.token_url] = token
            return token.value

    def request(self, call: Call) -> Any:
        """
        Send ``call`` with retries and return the decoded JSON answer (None for an empty one).

        A refused token (401, or 403 for an invalid or expired one) is replaced once; a second refusal is
        raised. Each attempt waits for its slot in the shared rate budget first.
        """
        deadline = self._deadline()
        token = self.token(call.audience, deadline)
        try:
            return self._send(call, token, deadline)
        except AuthenticationError:
            self._forget_token(call, token)
        return self._send(call, self.token(call.audience, deadline), deadline)

    def lookup(self, call: Call, user_names: Iterable[str]) -> tuple[dict[str, scim.ScimUser], int]:
        """
        Look users up by ``userName`` with as few requests as possible; see :func:`scim.plan_lookup`.

        :param call: the GET of the ``Users`` endpoint, without query.
        :param user_names: the names to look up.
        :return: the users found by normalized ``userName``, and the number of requests sent.
        """
        plan = scim.plan_lookup(user_names, terms=self.settings.terms_per_filter)
        sent = 0
        try:
            params = next(plan)
            while True:
                body = self.request(replace(call, params=params))
                sent += 1
                params = plan.send(scim.parse_list_response(body))
        except StopIteration as done:
            return done.value, sent

    def _fetch_token(self, audience: Audience) -> oauth.AccessToken:
        sent_at = self._clock()
        try:
            response = self._client.post(audience.token_url, **self._token_request())
        except httpx.TransportError as exc:
            raise self._transport_error(f"Token request to {audience.token_url}", exc) from exc
        token = self._read_token(audience, response, sent_at)
        mask(token.value)
        return token

    def _send(self, call: Call, token: str, deadline: float) -> Any:
        return Retrying(**self._policy(call.method, call.what, deadline))(self._attempt, call, token)

    def _attempt(self, call: Call, token: str) -> Any:
        with self._limiter_guard:
            limiter = self._limiter(call.audience, call.method, self._sleep)
        limiter.acquire()
        try:
            response = self._client.request(call.method, call.url, **self._request_kwargs(call, token))
        except httpx.TransportError as exc:
            raise self._transport_error(call.what, exc) from exc
        return self._read(call, response)


def _unknown_host(exc: BaseException) -> bool:
    """Whether a transport failure was caused by a host name that does not exist."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, socket.gaierror) and seen.errno == socket.EAI_NONAME:
            return True
        seen = seen.__cause__ or seen.__context__
    return False
