"""Tests of rate limits, Retry-After forms, throttling disguised as 500 and the concurrency limit."""

from __future__ import annotations

import re
import threading
import time
from email.utils import parsedate_to_datetime

import httpx
import pytest

from airflow_provider_dbxscim.emulator import EmulatorConfig
from airflow_provider_dbxscim.emulator.ratelimit import RateLimiter

BOB = "/Users/1000000000000002"


def statuses(send, times: int) -> list[int]:
    return [send().status_code for _ in range(times)]


@pytest.mark.parametrize(("rate", "expected"), [(2.0, [200, 200, 429]), (None, [200] * 3), (0, [200] * 3)])
def test_rate_limit_patch_switch(scim, emulator, patch_op, rate, expected):
    """PATCH passes a burst of two per second by default; None or 0 lifts the limit."""
    emulator.state.configure(rate_limit_patch=rate)

    seen = statuses(lambda: scim.patch(BOB, json=patch_op(True)), 3)

    assert seen == expected


def test_throttled_patch_answer(scim, emulator, patch_op):
    """Over the limit the answer is 429 REQUEST_LIMIT_EXCEEDED with an integer Retry-After, and is counted."""
    statuses(lambda: scim.patch(BOB, json=patch_op(True)), 2)

    response = scim.patch(BOB, json=patch_op(True))

    assert response.status_code == 429
    assert response.json()["error_code"] == "REQUEST_LIMIT_EXCEEDED"
    assert response.headers["Retry-After"] == "1"
    assert emulator.state.stats()["throttled"] == {"patch": 1}
    assert emulator.state.stats()["patches"][-1]["status"] == 429


def test_buckets_refill_on_the_emulator_clock(scim, emulator, patch_op):
    """A throttled caller succeeds once the clock has moved on by the Retry-After."""
    statuses(lambda: scim.patch(BOB, json=patch_op(True)), 3)

    emulator.state.advance_clock(1.0)

    assert scim.patch(BOB, json=patch_op(True)).status_code == 200


@pytest.mark.parametrize(
    ("category", "kind", "rate", "granted"),
    [("patch", "scim_patch", 2.0, 2), ("get", "scim_get", 20.0, 20), ("write", "scim_post", 5.0, 5)],
)
def test_default_rates(category, kind, rate, granted):
    """The default buckets grant one second's worth of requests at once and refill at the published rate."""
    limiter = RateLimiter(EmulatorConfig())

    results = [limiter.acquire(kind, "account", now=0.0) for _ in range(granted + 1)]
    refilled = limiter.acquire(kind, "account", now=1.0 / rate)

    assert results[:granted] == [None] * granted
    assert results[granted] == (category, pytest.approx(1.0 / rate))
    assert refilled is None


def test_default_workspace_get_rate_is_255_per_minute():
    """Workspace GETs are limited per workspace at 4.25 per second."""
    limiter = RateLimiter(EmulatorConfig())

    granted = [limiter.acquire("ws_scim_list", "analytics", now=0.0) for _ in range(5)]
    other = limiter.acquire("ws_scim_list", "engineering", now=0.0)

    assert granted[:4] == [None] * 4
    assert granted[4][0] == "workspace_get"
    assert other is None


@pytest.mark.parametrize(("rate", "expected"), [(1.0, [200, 429]), (None, [200, 200])])
def test_rate_limit_get_switch(scim, emulator, rate, expected):
    """rate_limit_get limits account GETs."""
    emulator.state.configure(rate_limit_get=rate)

    assert statuses(lambda: scim.get(BOB), 2) == expected


@pytest.mark.parametrize(("rate", "expected"), [(1.0, [201, 429]), (None, [201, 201])])
def test_rate_limit_write_switch(scim, emulator, rate, expected):
    """rate_limit_write limits POST, PUT and DELETE together."""
    emulator.state.configure(rate_limit_write=rate)
    bodies = iter([{"userName": "x1@example.com"}, {"userName": "x2@example.com"}])

    assert statuses(lambda: scim.post("/Users", json=next(bodies)), 2) == expected


@pytest.mark.parametrize(("rate", "expected"), [(1.0, [200, 429]), (None, [200, 200])])
def test_rate_limit_token_switch(http, emulator, rate, expected):
    """rate_limit_token throttles the token endpoint with the OAuth "Temporarily throttled" answer."""
    emulator.state.configure(rate_limit_token=rate)
    form = {"grant_type": "client_credentials", "scope": "all-apis"}
    path = f"/oidc/accounts/{emulator.account_id}/v1/token"

    answers = [
        http.post(path, auth=(emulator.client_id, emulator.client_secret), data=form) for _ in range(2)
    ]

    assert [answer.status_code for answer in answers] == expected
    if expected[1] == 429:
        assert answers[1].json() == {
            "error": "invalid_request",
            "error_description": "Temporarily throttled, too many requests",
        }


@pytest.mark.parametrize(("rate", "expected"), [(1.0, [200, 429]), (None, [200, 200])])
def test_rate_limit_workspace_get_switch(workspace_scim, emulator, rate, expected):
    """rate_limit_workspace_get limits each workspace's SCIM GETs."""
    emulator.state.configure(rate_limit_workspace_get=rate)
    client = workspace_scim("analytics")

    assert statuses(lambda: client.get("/Users"), 2) == expected


@pytest.mark.parametrize(("enabled", "expected"), [(True, [200, 429]), (False, [200, 200])])
def test_rate_limits_enabled_switch(scim, emulator, enabled, expected):
    """rate_limits_enabled off lifts every limit at once."""
    emulator.state.configure(rate_limits_enabled=enabled, rate_limit_get=1.0)

    assert statuses(lambda: scim.get(BOB), 2) == expected


@pytest.mark.parametrize(("burst", "passed"), [(1.0, 2), (3.0, 6)])
def test_rate_limit_burst_seconds_switch(scim, emulator, patch_op, burst, passed):
    """The bucket holds rate times rate_limit_burst_seconds requests."""
    emulator.state.configure(rate_limit_burst_seconds=burst)

    seen = statuses(lambda: scim.patch(BOB, json=patch_op(True)), passed + 1)

    assert seen == [200] * passed + [429]


@pytest.mark.parametrize(
    ("style", "check"),
    [
        ("integer", lambda value: re.fullmatch(r"\d+", value)),
        ("decimal", lambda value: re.fullmatch(r"\d+\.\d+", value)),
        ("http_date", lambda value: parsedate_to_datetime(value).tzinfo is not None),
        ("absent", lambda value: value is None),
    ],
)
def test_retry_after_format_switch(scim, emulator, style, check):
    """retry_after_format sends Retry-After as an integer, a decimal, an HTTP date or not at all."""
    emulator.state.configure(rate_limit_get=1.0, retry_after_format=style)
    scim.get(BOB)

    response = scim.get(BOB)

    assert response.status_code == 429
    assert check(response.headers.get("Retry-After"))


@pytest.mark.parametrize(("as_500", "status"), [(False, 429), (True, 500)])
def test_throttle_as_500_switch(scim, emulator, as_500, status):
    """throttle_as_500 reports throttling as a SCIM 500 whose detail starts with REQUEST_LIMIT_EXCEEDED."""
    emulator.state.configure(rate_limit_get=1.0, throttle_as_500=as_500)
    scim.get(BOB)

    response = scim.get(BOB)

    assert response.status_code == status
    if as_500:
        assert response.json()["detail"].startswith("REQUEST_LIMIT_EXCEEDED")
        assert response.json()["status"] == "500"


@pytest.mark.parametrize(("limit", "expected"), [(1, [200, 429]), (None, [200, 200])])
def test_max_concurrent_requests_switch(scim, emulator, tls, limit, expected):
    """Past max_concurrent_requests in flight, a request gets 429 at once."""
    emulator.state.configure(max_concurrent_requests=limit, latency_ms=300, rate_limits_enabled=True)
    seen: list[int] = []

    def slow_get() -> None:
        with httpx.Client(headers=scim.headers, verify=tls) as client:
            seen.append(client.get(str(scim.base_url).rstrip("/") + BOB).status_code)

    first = threading.Thread(target=slow_get)
    first.start()
    time.sleep(0.1)
    slow_get()
    first.join()

    assert sorted(seen) == expected
