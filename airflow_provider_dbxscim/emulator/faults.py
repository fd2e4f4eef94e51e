"""
Deterministic fault injection: the failures the reference notes report from the real service and its
network path, each with a probability, drawn from a seeded generator so a failing run can be replayed.
"""

from __future__ import annotations

import random
from fnmatch import fnmatchcase

from starlette.responses import Response

from airflow_provider_dbxscim.emulator.config import FAULT_KINDS, EmulatorConfig
from airflow_provider_dbxscim.emulator.ratelimit import format_retry_after
from airflow_provider_dbxscim.emulator.responses import (
    databricks_error,
    empty_response,
    login_page,
    oauth_error,
    plain_text,
    scim_error,
)

TOKEN_KINDS = frozenset({"token", "ws_token"})
TOKEN_THROTTLED = "Temporarily throttled, too many requests"
# Throttling the service reports as a SCIM 500 instead of a 429; callers can match the detail's prefix.
THROTTLED_500_DETAIL = "REQUEST_LIMIT_EXCEEDED: rate limit exceeded for this account"


class FaultInjector:
    """
    Draw at most one fault per request, and a latency, for route kinds in the configured scope.

    One uniform number per in-scope request picks the fault by cumulative probability, so the rates are
    mutually exclusive and the same request sequence always meets the same faults.

    :param config: the live switches.
    """

    def __init__(self, config: EmulatorConfig) -> None:
        self.config = config
        self.reseed()

    def reseed(self) -> None:
        """Restart both generators from ``fault_seed`` and re-read the rates and scope."""
        self._faults = random.Random(self.config.fault_seed)
        self._jitter = random.Random(f"{self.config.fault_seed}:latency")
        self._rates = [(kind, getattr(self.config, f"fault_rate_{kind}")) for kind in FAULT_KINDS]
        self._rates = [(kind, rate) for kind, rate in self._rates if rate > 0.0]
        self._scope_cache: dict[str, bool] = {}

    def in_scope(self, kind: str) -> bool:
        """
        Say whether faults may hit a route kind; admin routes never are.

        :param kind: route kind.
        """
        cached = self._scope_cache.get(kind)
        if cached is None:
            patterns = self.config.fault_route_kinds
            cached = kind != "admin" and (
                patterns is None or any(fnmatchcase(kind, pattern) for pattern in patterns)
            )
            self._scope_cache[kind] = cached
        return cached

    def draw(self, kind: str) -> str | None:
        """
        Return the fault to inject for this request, or None.

        :param kind: route kind.
        """
        if not self._rates or not self.in_scope(kind):
            return None
        roll = self._faults.random()
        for fault, rate in self._rates:
            if roll < rate:
                if fault == "token_throttle" and kind not in TOKEN_KINDS:
                    return None
                return fault
            roll -= rate
        return None

    def latency(self, kind: str) -> float:
        """
        Return the delay in seconds for this request.

        :param kind: route kind.
        """
        fixed, jitter = self.config.latency_ms, self.config.latency_jitter_ms
        if (not fixed and not jitter) or not self.in_scope(kind):
            return 0.0
        return (fixed + self._jitter.uniform(0.0, jitter)) / 1000.0


def fault_response(fault: str, config: EmulatorConfig, wall_now: float) -> Response:
    """
    Build the answer of an injected fault.

    :param fault: one of :data:`~airflow_provider_dbxscim.emulator.config.FAULT_KINDS`.
    :param config: the live switches, for ``Retry-After``.
    :param wall_now: current wall time.
    """
    retry_after = format_retry_after(config.fault_retry_after_seconds, config.retry_after_format, wall_now)
    headers = {"Retry-After": retry_after} if retry_after is not None else None
    if fault == "429":
        return databricks_error(
            429, "REQUEST_LIMIT_EXCEEDED", "Too many requests, please retry later", headers
        )
    if fault == "503":
        return databricks_error(
            503, "TEMPORARILY_UNAVAILABLE", "The service is temporarily unavailable", headers
        )
    if fault == "500_null":
        # The service sometimes answers a SCIM 500 whose detail is the text "null"; a retry succeeds.
        return scim_error(500, "null")
    if fault == "throttle_500":
        return scim_error(500, f"{THROTTLED_500_DETAIL}, please retry later")
    if fault == "non_json":
        return plain_text(500, "upstream connect error or disconnect/reset before headers")
    if fault == "empty_body":
        return empty_response(400)
    if fault == "html":
        return login_page()
    if fault == "token_throttle":
        return oauth_error(429, "invalid_request", TOKEN_THROTTLED)
    # A drop that the server cannot perform (not running under uvicorn) degrades to a bare 502.
    return plain_text(502, "Bad Gateway")
