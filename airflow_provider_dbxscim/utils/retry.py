"""The retry policy shared by the synchronous hook and the asynchronous client.

Deciding what is worth another try and how long to wait is pure; both transports hand the same decisions to
tenacity, which only differs in how it sleeps. The clock is injected so tests run without waiting.
"""

from __future__ import annotations

import random
from collections.abc import Awaitable, Callable
from typing import Any

from tenacity import RetryCallState, retry_if_exception

from airflow_provider_dbxscim.exceptions import (
    RateLimitedError,
    ServiceUnavailableError,
    TokenError,
    TransportError,
)

# A Retry-After longer than this is not waited for here: the request fails at once, so the task fails and
# Airflow's own retry comes back later, instead of a worker slot being held for minutes or the service being
# asked again before the time it named.
RETRY_AFTER_CAP = 60.0
BACKOFF_BASE = 0.5
BACKOFF_CAP = 30.0


def is_retryable(exc: BaseException, *, method: str) -> bool:
    """
    Whether a failed attempt is worth another try.

    Throttling (429, or the 500 that starts with ``REQUEST_LIMIT_EXCEEDED``), 5xx such as the transient 500
    with detail ``"null"``, and failures without an answer are retried. That holds for PATCH too: the only
    PATCH this provider sends replaces ``active`` with a fixed value, which is idempotent (RFC 7644 section
    3.5.2.3), so sending it again after a failure that may or may not have been applied is safe. A 4xx and
    the 500 boolean cast error are never retried: the same request would fail the same way.

    :param exc: the error the attempt raised.
    :param method: the HTTP method of the request; ``POST`` is the token endpoint, whose 4xx are final.
    """
    if isinstance(exc, TransportError | RateLimitedError):
        return True
    if isinstance(exc, TokenError):
        return exc.status is not None and (exc.status == 429 or exc.status >= 500)
    return isinstance(exc, ServiceUnavailableError)


def retry_delay(
    exc: BaseException | None, attempt: int, *, rand: Callable[[], float] = random.random
) -> float:
    """
    Seconds to wait before the next attempt: the service's ``Retry-After`` if it gave one, else backoff.

    Backoff is exponential with "equal jitter" (half fixed, half random), so processes that failed together
    spread out but none retries at once.

    :param exc: the error of the failed attempt.
    :param attempt: the number of the failed attempt, starting at 1.
    :param rand: a source of floats in [0, 1), injectable for tests.
    """
    retry_after = getattr(exc, "retry_after", None)
    if retry_after is not None:
        return min(float(retry_after), RETRY_AFTER_CAP)
    ceiling = min(BACKOFF_CAP, BACKOFF_BASE * 2 ** (attempt - 1))
    return ceiling / 2 + rand() * ceiling / 2


def describe_failure(exc: BaseException | None) -> str:
    """Name a failed attempt for a log line: its HTTP status, or the kind of transport failure."""
    status = getattr(exc, "status", None)
    if status is not None:
        return f"HTTP {status}"
    cause = exc.__cause__ if exc is not None else None
    return type(cause or exc).__name__


def retry_policy(
    *,
    method: str,
    what: str,
    deadline: float,
    clock: Callable[[], float],
    sleep: Callable[[float], Any] | Callable[[float], Awaitable[Any]],
    log: Any,
) -> dict[str, Any]:
    """
    Return the keyword arguments of ``tenacity.Retrying`` or ``tenacity.AsyncRetrying`` for one request.

    Retrying stops when the next wait would end after ``deadline``; the last error is then raised as itself
    (``reraise``), never wrapped in a ``RetryError``.

    :param method: the HTTP method, see :func:`is_retryable`.
    :param what: a short phrase naming the request, for the warning logged before each retry.
    :param deadline: a reading of ``clock`` after which no retry starts.
    :param clock: monotonic seconds.
    :param sleep: how to wait (``time.sleep`` or ``asyncio.sleep``, or a fake in tests).
    :param log: a logger that takes ``%s`` arguments.
    """

    def stop(state: RetryCallState) -> bool:
        exc = state.outcome.exception() if state.outcome else None
        if (getattr(exc, "retry_after", None) or 0.0) > RETRY_AFTER_CAP:
            return True
        return clock() + state.upcoming_sleep > deadline

    def warn(state: RetryCallState) -> None:
        exc = state.outcome.exception() if state.outcome else None
        log.warning(
            "%s: attempt %d failed with %s; retrying in %.2f s",
            what,
            state.attempt_number,
            describe_failure(exc),
            state.upcoming_sleep,
        )

    return {
        "retry": retry_if_exception(lambda exc: is_retryable(exc, method=method)),
        "wait": lambda state: retry_delay(
            state.outcome.exception() if state.outcome else None, state.attempt_number
        ),
        "stop": stop,
        "sleep": sleep,
        "before_sleep": warn,
        "reraise": True,
    }
