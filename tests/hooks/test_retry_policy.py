"""Tests of the retry policy shared by the sync hook and the async client."""

from __future__ import annotations

import logging

import pytest
from tenacity import Retrying

from airflow_provider_dbxscim.exceptions import (
    AuthenticationError,
    InvalidRequestError,
    NotFoundError,
    RateLimitedError,
    ServiceUnavailableError,
    TokenError,
    TransportError,
)
from airflow_provider_dbxscim.utils.retry import (
    BACKOFF_CAP,
    RETRY_AFTER_CAP,
    describe_failure,
    is_retryable,
    retry_delay,
    retry_policy,
)


@pytest.mark.parametrize(
    ("exc", "get", "patch"),
    [
        (TransportError("dropped"), True, True),
        (RateLimitedError("429", status=429), True, True),
        (RateLimitedError("500 REQUEST_LIMIT_EXCEEDED", status=500), True, True),
        (ServiceUnavailableError("503", status=503), True, True),
        (ServiceUnavailableError("500 null", status=500, detail="null"), True, True),
        (ServiceUnavailableError("502", status=502), True, True),
        (InvalidRequestError("400", status=400), False, False),
        (InvalidRequestError("409", status=409), False, False),
        (InvalidRequestError("500 cast", status=500), False, False),
        (NotFoundError("404", status=404), False, False),
        (AuthenticationError("401", status=401), False, False),
        (ValueError("bug"), False, False),
    ],
)
def test_what_is_retried(exc, get, patch):
    """Throttling, 5xx and lost connections are retried for reads and the idempotent PATCH; 4xx never."""
    assert is_retryable(exc, method="GET") is get
    assert is_retryable(exc, method="PATCH") is patch


@pytest.mark.parametrize(
    ("status", "expected"), [(429, True), (500, True), (503, True), (400, False), (401, False)]
)
def test_token_refusals_retried_only_when_transient(status, expected):
    """The token endpoint's throttling and 5xx are retried; invalid_client and other 4xx are final."""
    assert is_retryable(TokenError("x", status=status), method="POST") is expected


def test_retry_after_is_honoured_and_capped():
    """The service's Retry-After decides the wait, up to the cap."""
    assert retry_delay(RateLimitedError("x", retry_after=2.5), 1) == 2.5
    assert retry_delay(RateLimitedError("x", retry_after=0.0), 3) == 0.0
    assert retry_delay(RateLimitedError("x", retry_after=3600), 1) == RETRY_AFTER_CAP


def test_backoff_grows_with_jitter_and_a_cap():
    """Without Retry-After the wait doubles per attempt, half of it random, up to the backoff cap."""
    low = [retry_delay(TransportError("x"), attempt, rand=lambda: 0.0) for attempt in (1, 2, 3, 20)]
    high = [retry_delay(TransportError("x"), attempt, rand=lambda: 0.999) for attempt in (1, 2, 3, 20)]

    assert low == [0.25, 0.5, 1.0, BACKOFF_CAP / 2]
    assert all(lo < hi <= 2 * lo for lo, hi in zip(low, high, strict=True))


def test_failures_are_named_by_status_or_cause():
    """A log line names the HTTP status, or the kind of transport failure behind the error."""
    try:
        raise TransportError("no answer") from ConnectionResetError()
    except TransportError as exc:
        dropped = exc

    assert describe_failure(ServiceUnavailableError("x", status=503)) == "HTTP 503"
    assert describe_failure(dropped) == "ConnectionResetError"


class _Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def _flaky(failures: list[Exception]):
    calls = []

    def call():
        calls.append(1)
        if len(calls) <= len(failures):
            raise failures[len(calls) - 1]
        return "ok"

    return call, calls


def test_policy_retries_then_succeeds_with_a_warning_per_retry(caplog):
    """Two transient failures are retried after the waits asked for, each announced by one warning."""
    clock = _Clock()
    call, calls = _flaky(
        [
            ServiceUnavailableError("x", status=503, retry_after=1.0),
            RateLimitedError("y", status=429, retry_after=2.0),
        ]
    )
    policy = retry_policy(
        method="GET",
        what="GET account Users",
        deadline=100.0,
        clock=clock,
        sleep=clock.sleep,
        log=logging.getLogger("t"),
    )

    with caplog.at_level(logging.WARNING, logger="t"):
        result = Retrying(**policy)(call)

    assert result == "ok"
    assert len(calls) == 3
    assert clock.now == 3.0
    assert [record.getMessage() for record in caplog.records] == [
        "GET account Users: attempt 1 failed with HTTP 503; retrying in 1.00 s",
        "GET account Users: attempt 2 failed with HTTP 429; retrying in 2.00 s",
    ]


def test_policy_gives_up_at_the_deadline_with_the_error_itself():
    """Once the next wait would pass the deadline, the last error is raised as itself, not a RetryError."""
    clock = _Clock()
    call, calls = _flaky([RateLimitedError("slow", status=429, retry_after=4.0)] * 10)
    policy = retry_policy(
        method="PATCH",
        what="PATCH user 1",
        deadline=10.0,
        clock=clock,
        sleep=clock.sleep,
        log=logging.getLogger("t"),
    )

    with pytest.raises(RateLimitedError):
        Retrying(**policy)(call)

    assert len(calls) == 3
    assert clock.now == 8.0


def test_policy_does_not_retry_a_final_error():
    """A 404 is raised after one attempt, with no wait."""
    clock = _Clock()
    call, calls = _flaky([NotFoundError("gone", status=404)])
    policy = retry_policy(
        method="GET",
        what="GET user 1",
        deadline=10.0,
        clock=clock,
        sleep=clock.sleep,
        log=logging.getLogger("t"),
    )

    with pytest.raises(NotFoundError):
        Retrying(**policy)(call)

    assert len(calls) == 1
    assert clock.now == 0.0
