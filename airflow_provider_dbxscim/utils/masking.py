"""Hand secrets to Airflow's log masker, wherever this Airflow version keeps it."""

from __future__ import annotations

import inspect
import logging
from typing import Any

import httpx
from airflow.sdk.log import mask_secret as _mask_secret

try:
    from airflow.sdk.log import amask_secret as _amask_secret
except ImportError:  # task SDKs before 1.1 have no async variant
    _amask_secret = None

_SCIM_PATH = "/scim/v2/"


def mask(secret: str | None) -> None:
    """Ask Airflow to replace ``secret`` with ``***`` in every log line of this task, from now on."""
    if secret:
        _mask_secret(secret)


async def amask(secret: str | None) -> None:
    """
    The same as :func:`mask`, for the event loop of the triggerer.

    The synchronous variant talks to the supervisor with a blocking call that can deadlock inside a running
    event loop; the task SDK provides an async one for that reason.
    """
    if not secret:
        return
    if _amask_secret is None:
        _mask_secret(secret)
        return
    result = _amask_secret(secret)
    if inspect.isawaitable(result):
        await result


class RedactScimQuery(logging.Filter):
    """
    Drop the query string of SCIM URLs from httpx's own request log lines.

    httpx logs every request URL at INFO; a lookup's query holds a filter full of e-mail addresses, which
    must not reach a task log at that level.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple) and any(_is_scim_query(arg) for arg in record.args):
            record.args = tuple(_redacted(arg) for arg in record.args)
        return True


def install_scim_query_redaction(logger_name: str = "httpx") -> None:
    """Attach :class:`RedactScimQuery` to httpx's logger once per process."""
    logger = logging.getLogger(logger_name)
    if not any(isinstance(existing, RedactScimQuery) for existing in logger.filters):
        logger.addFilter(RedactScimQuery())


def _is_scim_query(arg: Any) -> bool:
    return isinstance(arg, httpx.URL) and _SCIM_PATH in arg.path and bool(arg.query)


def _redacted(arg: Any) -> Any:
    return arg.copy_with(query=b"redacted") if _is_scim_query(arg) else arg
