"""
Token-bucket rate limits shared by every caller of one account, as the service's per-account limits are.

Buckets refill on the emulator's monotonic clock, so tests that advance the clock refill them instantly.
"""

from __future__ import annotations

import math
from email.utils import formatdate

from airflow_provider_dbxscim.emulator.config import EmulatorConfig

# Route kind -> limit category; kinds that are absent (discovery, admin) are never limited.
CATEGORIES = {
    "scim_list": "get",
    "scim_get": "get",
    "scim_patch": "patch",
    "scim_post": "write",
    "scim_put": "write",
    "scim_delete": "write",
    "token": "token",
    "ws_scim_list": "workspace_get",
    "ws_scim_get": "workspace_get",
    "ws_scim_patch": "patch",
    "ws_scim_post": "write",
    "ws_scim_put": "write",
    "ws_scim_delete": "write",
    "ws_token": "token",
}


class TokenBucket:
    """
    A bucket of ``capacity`` tokens refilled at ``rate`` per second; each request takes one.

    :param rate: tokens per second.
    :param capacity: largest number of tokens held, the burst size.
    :param now: monotonic time of creation; the bucket starts full.
    """

    __slots__ = ("capacity", "level", "rate", "updated")

    def __init__(self, rate: float, capacity: float, now: float) -> None:
        self.rate = rate
        self.capacity = capacity
        self.level = capacity
        self.updated = now

    def take(self, now: float) -> float:
        """
        Take a token; return 0 when granted, else the seconds until one will be there.

        :param now: current monotonic time.
        """
        self.level = min(self.capacity, self.level + (now - self.updated) * self.rate)
        self.updated = now
        if self.level >= 1.0:
            self.level -= 1.0
            return 0.0
        return (1.0 - self.level) / self.rate


class RateLimiter:
    """
    One bucket per (scope, category): the account's buckets are shared by all callers, each workspace
    has its own.

    :param config: the live switches, read on every call so reconfiguration applies at once.
    """

    def __init__(self, config: EmulatorConfig) -> None:
        self.config = config
        self._buckets: dict[tuple[str, str], TokenBucket] = {}

    def acquire(self, kind: str, scope: str, now: float) -> tuple[str, float] | None:
        """
        Take a request's token; return ``(category, wait)`` when over the limit, else None.

        :param kind: route kind.
        :param scope: ``account`` or the workspace name.
        :param now: current monotonic time.
        """
        category = CATEGORIES.get(kind)
        if category is None or not self.config.rate_limits_enabled:
            return None
        rate = getattr(self.config, f"rate_limit_{category}")
        if not rate:
            return None
        capacity = max(1.0, rate * self.config.rate_limit_burst_seconds)
        bucket = self._buckets.get((scope, category))
        if bucket is None or bucket.rate != rate or bucket.capacity != capacity:
            bucket = self._buckets[(scope, category)] = TokenBucket(rate, capacity, now)
        wait = bucket.take(now)
        return (category, wait) if wait > 0.0 else None

    def reset(self) -> None:
        """Refill every bucket."""
        self._buckets.clear()


def format_retry_after(seconds: float, style: str, wall_now: float) -> str | None:
    """
    Render a ``Retry-After`` value in one of the forms seen in the wild (RFC 9110 section 10.2.3 allows
    delay-seconds or an HTTP-date; decimals are not standard but occur).

    :param seconds: how long the caller should wait.
    :param style: ``integer``, ``decimal``, ``http_date`` or ``absent``.
    :param wall_now: current wall time, for the HTTP-date form.
    """
    if style == "absent":
        return None
    if style == "decimal":
        return f"{max(seconds, 0.001):.3f}"
    if style == "http_date":
        return formatdate(math.ceil(wall_now + seconds), usegmt=True)
    return str(max(0, math.ceil(seconds)))
