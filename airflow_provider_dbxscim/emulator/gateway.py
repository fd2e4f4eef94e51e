"""
Raw ASGI layer in front of the FastAPI routes: classifies each request, counts it, and applies the
concurrency limit, faults, latency and rate limits before any route runs. Admin routes pass straight through.
"""

from __future__ import annotations

import asyncio
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from airflow_provider_dbxscim.emulator.faults import TOKEN_KINDS, TOKEN_THROTTLED, fault_response
from airflow_provider_dbxscim.emulator.ratelimit import format_retry_after
from airflow_provider_dbxscim.emulator.responses import databricks_error, oauth_error, scim_error
from airflow_provider_dbxscim.emulator.state import EmulatorState

RECORD_KEY = "dbxscim_emulator_record"
_SCIM_KINDS = {
    ("GET", False): "scim_list",
    ("POST", False): "scim_post",
    ("GET", True): "scim_get",
    ("PATCH", True): "scim_patch",
    ("PUT", True): "scim_put",
    ("DELETE", True): "scim_delete",
}


def classify(method: str, path: str) -> tuple[str, str]:
    """
    Return the route kind (``scim_patch``, ``ws_token``, ...) and the limit scope (``account`` or a
    workspace name) of a request.

    :param method: HTTP method.
    :param path: URL path.
    """
    if path.startswith("/_emulator"):
        return "admin", "account"
    area, prefix = "account", ""
    if path.startswith("/ws/"):
        area, _, rest = path[4:].partition("/")
        path, prefix = "/" + rest, "ws_"
    if "/scim/v2/Users" in path:
        has_id = not path.rstrip("/").endswith("/Users")
        return prefix + _SCIM_KINDS.get((method, has_id), "scim_other"), area
    if path.endswith("/v1/token"):
        return prefix + "token", area
    if "/.well-known/" in path:
        return prefix + "discovery", area
    return prefix + "other", area


class Gateway:
    """
    ASGI middleware applying the emulator's cross-cutting behaviour.

    :param app: the FastAPI application.
    :param state: the emulator state.
    """

    def __init__(self, app: ASGIApp, state: EmulatorState) -> None:
        self.app = app
        self.state = state

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        kind, area = classify(scope["method"], scope["path"])
        if kind == "admin":
            await self.app(scope, receive, send)
            return

        state = self.state
        started = state.clock.monotonic(), state.clock.time()
        answered: list[int | None] = [None]
        record: dict[str, Any] = {}
        scope.setdefault("state", {})[RECORD_KEY] = record

        async def observe(message: Message) -> None:
            if message["type"] == "http.response.start":
                answered[0] = message["status"]
            await send(message)

        state.in_flight += 1
        try:
            await self._serve(kind, area, scope, receive, send, observe)
        finally:
            state.in_flight -= 1
            with state.lock:
                state.stats_recorder.count_request(kind, answered[0])
                if kind.endswith("scim_patch"):
                    state.stats_recorder.patches.append(
                        {
                            "scope": area,
                            "id": scope["path"].rstrip("/").rsplit("/", 1)[-1],
                            "userName": record.get("userName"),
                            "active": record.get("active"),
                            "monotonic": started[0],
                            "time": started[1],
                            "status": answered[0],
                        }
                    )

    async def _serve(
        self, kind: str, area: str, scope: Scope, receive: Receive, send: Send, observe: Send
    ) -> None:
        state = self.state
        config = state.config
        limit = config.max_concurrent_requests
        if config.rate_limits_enabled and limit and state.in_flight > limit:
            with state.lock:
                state.stats_recorder.throttled["concurrency"] += 1
            message = f"Too many concurrent requests; the limit is {limit}"
            await databricks_error(429, "REQUEST_LIMIT_EXCEEDED", message)(scope, receive, observe)
            return

        with state.lock:
            fault = state.faults.draw(kind)
            delay = state.faults.latency(kind)
            if fault:
                state.stats_recorder.faults[fault] += 1
        if delay:
            await asyncio.sleep(delay)
        if fault == "drop" and await _drop_connection(send):
            return
        if fault:
            await fault_response(fault, config, state.clock.time())(scope, receive, observe)
            return

        with state.lock:
            limited = state.limiter.acquire(kind, area, state.clock.monotonic())
            if limited:
                state.stats_recorder.throttled[limited[0]] += 1
        if limited:
            await _throttled(kind, limited[1], state)(scope, receive, observe)
            return
        await self.app(scope, receive, observe)


def _throttled(kind: str, wait: float, state: EmulatorState) -> ASGIApp:
    config = state.config
    if kind in TOKEN_KINDS:
        return oauth_error(429, "invalid_request", TOKEN_THROTTLED)
    if config.throttle_as_500:
        # Seen in the wild: throttling reported as a 500 whose detail names the limit; callers must retry it.
        return scim_error(500, "REQUEST_LIMIT_EXCEEDED: rate limit exceeded for this account, retry later")
    retry_after = format_retry_after(wait, config.retry_after_format, state.clock.time())
    headers = {"Retry-After": retry_after} if retry_after is not None else None
    return databricks_error(429, "REQUEST_LIMIT_EXCEEDED", "Rate limit exceeded for this account", headers)


async def _drop_connection(send: Send) -> bool:
    """
    Close the client connection without a byte of answer, as a network fault would.

    ASGI has no message for this, and raising makes uvicorn answer 500, so this reaches the transport of
    uvicorn's request cycle that owns ``send``. Returns false when the server is not uvicorn.
    """
    transport = getattr(getattr(send, "__self__", None), "transport", None)
    if transport is None:
        return False
    transport.close()
    # Let uvicorn see the connection loss before the app returns, so it does not try to answer 500.
    await asyncio.sleep(0)
    return True
