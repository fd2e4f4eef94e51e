"""Tests of fault injection: each fault kind, its scope, its seed, latency and the admin exemption."""

from __future__ import annotations

import time

import httpx
import pytest
import requests

from airflow_provider_dbxscim.emulator import EmulatorConfig
from airflow_provider_dbxscim.emulator.faults import FaultInjector


def check_429(response: httpx.Response) -> None:
    assert response.status_code == 429
    assert response.json()["error_code"] == "REQUEST_LIMIT_EXCEEDED"
    assert response.headers["Retry-After"] == "1"


def check_503(response: httpx.Response) -> None:
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "1"


def check_500_null(response: httpx.Response) -> None:
    assert response.status_code == 500
    assert response.json()["detail"] == "null"


def check_throttle_500(response: httpx.Response) -> None:
    assert response.status_code == 500
    assert response.json()["detail"].startswith("REQUEST_LIMIT_EXCEEDED")


def check_non_json(response: httpx.Response) -> None:
    assert response.status_code == 500
    assert response.headers["content-type"].startswith("text/plain")


def check_empty_body(response: httpx.Response) -> None:
    assert response.status_code == 400
    assert response.content == b""
    assert "content-type" not in response.headers


def check_html(response: httpx.Response) -> None:
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")


def check_untouched(response: httpx.Response) -> None:
    assert response.status_code == 200
    assert "Resources" in response.json()


@pytest.mark.parametrize(
    ("switch", "rate", "check"),
    [
        ("fault_rate_429", 1.0, check_429),
        ("fault_rate_503", 1.0, check_503),
        ("fault_rate_500_null", 1.0, check_500_null),
        ("fault_rate_throttle_500", 1.0, check_throttle_500),
        ("fault_rate_non_json", 1.0, check_non_json),
        ("fault_rate_empty_body", 1.0, check_empty_body),
        ("fault_rate_html", 1.0, check_html),
        ("fault_rate_token_throttle", 1.0, check_untouched),
        ("fault_rate_429", 0.0, check_untouched),
        ("fault_rate_html", 0.0, check_untouched),
    ],
)
def test_fault_kinds_on_a_list(scim, emulator, switch, rate, check):
    """Each fault rate of 1 answers every list with its fault; 0 leaves the service alone."""
    emulator.state.configure(**{switch: rate})

    response = scim.get("/Users")

    check(response)


@pytest.mark.parametrize(("rate", "status"), [(1.0, 429), (0.0, 200)])
def test_token_throttle_fault(http, emulator, rate, status):
    """fault_rate_token_throttle answers the token endpoint with the OAuth "Temporarily throttled" 429."""
    emulator.state.configure(fault_rate_token_throttle=rate)
    form = {"grant_type": "client_credentials", "scope": "all-apis"}

    response = http.post(
        f"/oidc/accounts/{emulator.account_id}/v1/token",
        auth=(emulator.client_id, emulator.client_secret),
        data=form,
    )

    assert response.status_code == status
    if rate:
        assert response.json()["error_description"] == "Temporarily throttled, too many requests"


@pytest.mark.parametrize(("rate", "dropped"), [(1.0, True), (0.0, False)])
def test_drop_fault_closes_the_connection(scim, emulator, rate, dropped):
    """A dropped connection reaches httpx and requests as a connection error, with no answer at all."""
    emulator.state.configure(fault_rate_drop=rate, fault_route_kinds=["scim_list"])
    url = str(scim.base_url).rstrip("/") + "/Users"

    if dropped:
        with pytest.raises(httpx.RemoteProtocolError):
            scim.get("/Users")
        with pytest.raises(requests.ConnectionError):
            requests.get(url, headers=dict(scim.headers), timeout=5)
        assert emulator.state.stats()["requests"]["scim_list"] == {"dropped": 2}
    else:
        assert scim.get("/Users").status_code == 200


@pytest.mark.parametrize(
    ("kinds", "list_status", "patch_status"),
    [(None, 503, 503), (["scim_patch"], 200, 503), (["scim_*"], 503, 503), (["*token"], 200, 200)],
)
def test_fault_route_kinds_switch(scim, emulator, patch_op, kinds, list_status, patch_status):
    """fault_route_kinds limits faults to the route kinds matching its patterns; None means all."""
    emulator.state.configure(fault_rate_503=1.0, fault_route_kinds=kinds)

    listed = scim.get("/Users")
    patched = scim.patch("/Users/1000000000000002", json=patch_op(True))

    assert (listed.status_code, patched.status_code) == (list_status, patch_status)


def test_fault_kinds_are_counted(scim, emulator):
    """Injected faults are counted by kind."""
    emulator.state.configure(fault_rate_500_null=1.0)

    scim.get("/Users")
    scim.get("/Users")

    assert emulator.state.stats()["faults"] == {"500_null": 2}


def test_admin_routes_are_never_faulted(http, emulator):
    """Admin routes answer normally even when every request should fail."""
    emulator.state.configure(fault_rate_drop=1.0, latency_ms=5000)

    started = time.monotonic()
    response = http.get("/_emulator/stats")

    assert response.status_code == 200
    assert time.monotonic() - started < 2


def sequence(scim, emulator, seed: int) -> list[int]:
    emulator.state.configure(fault_seed=seed, fault_rate_500_null=0.5)
    return [scim.get("/Users/1000000000000001").status_code for _ in range(16)]


def test_fault_seed_switch(scim, emulator):
    """The same fault_seed replays the same faults; another seed gives another sequence."""
    emulator.state.configure(rate_limits_enabled=False)

    first = sequence(scim, emulator, 1)
    again = sequence(scim, emulator, 1)
    other = sequence(scim, emulator, 2)

    assert first == again
    assert first != other
    assert set(first) == {200, 500}


@pytest.mark.parametrize(("seconds", "header"), [(1.0, "1"), (0.0, "0"), (7.0, "7")])
def test_fault_retry_after_seconds_switch(scim, emulator, seconds, header):
    """fault_retry_after_seconds sets the Retry-After of injected 429 and 503 answers."""
    emulator.state.configure(fault_rate_429=1.0, fault_retry_after_seconds=seconds)

    response = scim.get("/Users")

    assert response.headers["Retry-After"] == header


@pytest.mark.parametrize(("latency", "at_least", "below"), [(0.0, 0.0, 0.15), (250.0, 0.25, 1.0)])
def test_latency_ms_switch(scim, emulator, latency, at_least, below):
    """latency_ms delays every request in fault scope by that much."""
    emulator.state.configure(latency_ms=latency)

    started = time.monotonic()
    scim.get("/Users")
    elapsed = time.monotonic() - started

    assert at_least <= elapsed < below


@pytest.mark.parametrize(("jitter", "distinct"), [(0.0, 1), (100.0, 20)])
def test_latency_jitter_ms_switch(jitter, distinct):
    """latency_jitter_ms adds a seeded random delay of up to that much on top of latency_ms."""
    injector = FaultInjector(EmulatorConfig(latency_ms=10.0, latency_jitter_ms=jitter))

    delays = [injector.latency("scim_get") for _ in range(20)]

    assert len(set(delays)) == distinct
    assert all(0.01 <= delay <= 0.11 for delay in delays)


def test_fault_rates_must_be_probabilities(emulator):
    """Rates outside [0, 1] or adding up to more than 1 are refused."""

    with pytest.raises(ValueError, match="fault rates"):
        emulator.state.configure(fault_rate_429=0.7, fault_rate_503=0.7)
