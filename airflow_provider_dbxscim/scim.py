"""Pure functions that build SCIM requests and read SCIM answers.

Nothing here performs I/O: the synchronous hook and the asynchronous trigger both call these functions, so the
wire format is decided in one place. References: RFC 7644 (SCIM protocol) and the Databricks account SCIM API.
"""

from __future__ import annotations

import json
import math
from collections.abc import Generator, Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC
from email.utils import parsedate_to_datetime
from typing import Any

from airflow_provider_dbxscim.exceptions import (
    AuthenticationError,
    DbxScimError,
    InvalidRequestError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitedError,
    ServiceUnavailableError,
    UnexpectedResponseError,
)

PATCH_OP_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
LIST_RESPONSE_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
ERROR_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:Error"
SCIM_CONTENT_TYPE = "application/scim+json"
# RFC 7644 section 8.1 names application/scim+json; the service also answers plain application/json.
ACCEPT = "application/scim+json, application/json"
# Ask only for what reactivation reads (RFC 7644 section 3.4.2.5), keeping list answers small.
LOOKUP_ATTRIBUTES = "id,userName,active,externalId,displayName"

# The service rejects filters of more than 200 nodes with INVALID_FILTER. ``a or b`` is three nodes, so
# 100 terms make 199. Fifty keeps the URL near 3 KB, far from common proxy limits, and still lets one
# request look up fifty users.
MAX_FILTER_NODES = 200
DEFAULT_TERMS_PER_FILTER = 50
# Databricks disguises throttling as a 500 whose detail starts with this word.
THROTTLED_DETAIL_PREFIX = "REQUEST_LIMIT_EXCEEDED"
# The JVM message of the 500 the service answers when ``value`` is the string "true" instead of a boolean.
CAST_ERROR_MARKER = "cannot be cast to class java.lang.Boolean"


@dataclass(frozen=True)
class ScimUser:
    """
    The fields of a SCIM user that reactivation needs.

    :param id: the service's opaque id; differs between the account and each workspace.
    :param user_name: ``userName``, lower-cased as the account stores it.
    :param active: whether the user may sign in.
    :param external_id: set when an identity provider provisioned the user.
    :param display_name: the user's display name, if any.
    """

    id: str
    user_name: str
    active: bool
    external_id: str | None = None
    display_name: str | None = None

    @classmethod
    def from_resource(cls, resource: Mapping[str, Any]) -> ScimUser:
        """Build a user from one SCIM ``User`` resource, tolerating missing optional attributes."""
        try:
            user_id = str(resource["id"])
            user_name = normalize_user_name(str(resource["userName"]))
        except KeyError as exc:
            raise UnexpectedResponseError(f"A SCIM user resource has no {exc.args[0]!r} attribute.") from exc
        return cls(
            id=user_id,
            user_name=user_name,
            active=resource.get("active") is True,
            external_id=resource.get("externalId") or None,
            display_name=resource.get("displayName") or None,
        )


def normalize_user_name(user_name: str) -> str:
    """Return ``user_name`` as the account stores it: trimmed and lower-cased (it is case-insensitive)."""
    return user_name.strip().lower()


def build_active_patch(active: bool) -> dict[str, Any]:
    """
    Build the PatchOp body that sets ``active`` (RFC 7644 section 3.5.2).

    The value must be a JSON boolean: the service answers a string such as ``"true"`` with a 500 cast error.

    :param active: the new value of ``active``.
    """
    if not isinstance(active, bool):
        raise TypeError(f"active must be a bool, got {type(active).__name__}")
    return {
        "schemas": [PATCH_OP_SCHEMA],
        "Operations": [{"op": "replace", "path": "active", "value": active}],
    }


def user_name_filter(user_names: Iterable[str]) -> str:
    """
    Build one ``userName eq ... or ...`` filter (RFC 7644 section 3.4.2.2).

    Values are JSON strings, so quotes and backslashes in a name are escaped the way the grammar expects.
    """
    terms = [f"userName eq {json.dumps(normalize_user_name(name))}" for name in user_names]
    if not terms:
        raise ValueError("a filter needs at least one userName")
    return " or ".join(terms)


def chunked(items: Iterable[str], size: int) -> Iterator[list[str]]:
    """Yield consecutive lists of at most ``size`` items."""
    if size < 1:
        raise ValueError("size must be at least 1")
    batch: list[str] = []
    for item in items:
        batch.append(item)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def terms_per_filter(requested: int) -> int:
    """Clamp a requested number of ``or`` terms so the filter stays within the service's node limit."""
    return max(1, min(requested, (MAX_FILTER_NODES + 1) // 2))


@dataclass(frozen=True)
class ListPage:
    """One page of a SCIM ``ListResponse`` (RFC 7644 section 3.4.2)."""

    users: list[ScimUser]
    total_results: int
    start_index: int
    items_per_page: int


def parse_list_response(body: Any) -> ListPage:
    """
    Read a ``ListResponse``. ``Resources`` may be missing when nothing matched.

    :param body: the decoded JSON answer.
    """
    if not isinstance(body, Mapping):
        raise UnexpectedResponseError("The SCIM list answer is not a JSON object.")
    resources = body.get("Resources") or []
    users = [ScimUser.from_resource(resource) for resource in resources]
    return ListPage(
        users=users,
        total_results=_as_int(body.get("totalResults"), default=len(users)),
        start_index=_as_int(body.get("startIndex"), default=1),
        items_per_page=_as_int(body.get("itemsPerPage"), default=len(users)),
    )


def _as_int(value: Any, *, default: int) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


def parse_retry_after(value: str | None, *, now: float) -> float | None:
    """
    Read a ``Retry-After`` header: delay seconds (integer or decimal) or an HTTP date (RFC 9110 10.2.3).

    :param value: the header value, or None.
    :param now: the current wall-clock time as a POSIX timestamp, used for the HTTP-date form.
    :return: seconds to wait (never negative), or None when absent or unreadable.
    """
    if not value:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        seconds = None
    if seconds is not None:
        return max(0.0, seconds) if math.isfinite(seconds) else None
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if when.tzinfo is None:
        # An HTTP date is always GMT (RFC 9110 section 5.6.7); "-0000" parses as a naive datetime.
        when = when.replace(tzinfo=UTC)
    return max(0.0, when.timestamp() - now)


def decode_json(content: bytes, content_type: str | None, *, what: str) -> Any:
    """
    Decode a JSON answer, or raise an error that names what was expected and what came instead.

    The body itself is never put in the message: an HTML login page or a token answer can be long or secret.
    """
    try:
        return json.loads(content)
    except (ValueError, UnicodeDecodeError) as exc:
        kind = content_type or "no content type"
        raise UnexpectedResponseError(
            f"{what} answered {len(content)} bytes of {kind} instead of JSON; check that the host is the "
            "Databricks accounts console host and that the account id is right.",
            detail=f"content type {kind}",
        ) from exc


def error_from_response(
    status: int, headers: Mapping[str, str], content: bytes, *, what: str, now: float
) -> DbxScimError:
    """
    Turn an unsuccessful answer into a typed error.

    Reads both error shapes the service uses: the SCIM one (``detail``, ``status``, ``scimType``; RFC 7644
    section 3.12) and the Databricks one (``error_code``, ``message``).

    :param status: the HTTP status.
    :param headers: the answer's headers (case-insensitive mapping).
    :param content: the raw body.
    :param what: a short phrase naming the request, e.g. ``"PATCH user 123"``, for the message.
    :param now: the wall-clock time, for an HTTP-date ``Retry-After``.
    """
    detail, scim_type = _error_fields(content)
    retry_after = parse_retry_after(headers.get("retry-after"), now=now)
    said = f": {detail}" if detail else ""
    fields = {"status": status, "scim_type": scim_type, "detail": detail, "retry_after": retry_after}
    token_refused = _is_token_refusal(detail, scim_type, headers.get("www-authenticate"))
    if status == 429 or (status == 500 and (detail or "").startswith(THROTTLED_DETAIL_PREFIX)):
        return RateLimitedError(f"{what} was throttled by Databricks (HTTP {status}).", **fields)
    if status == 500 and CAST_ERROR_MARKER in (detail or ""):
        return InvalidRequestError(
            f"{what} failed: the service could not read the PatchOp value as a boolean; the value of "
            "'active' must be the JSON boolean true or false, never a string.",
            **fields,
        )
    if status >= 500:
        return ServiceUnavailableError(f"{what} failed with HTTP {status}{said}.", **fields)
    if status == 401 or (status == 403 and token_refused):
        return AuthenticationError(f"{what} was refused: the access token is invalid or expired.", **fields)
    if status == 403:
        return PermissionDeniedError(
            f"{what} was forbidden (HTTP 403){said}; the service principal must be an account admin.",
            **fields,
        )
    if status == 404:
        return NotFoundError(f"{what}: not found (HTTP 404){said}.", **fields)
    if 400 <= status < 500:
        return InvalidRequestError(f"{what} was rejected (HTTP {status}){said}.", **fields)
    return UnexpectedResponseError(f"{what} answered an unexpected HTTP {status}.", **fields)


def _error_fields(content: bytes) -> tuple[str | None, str | None]:
    try:
        body = json.loads(content) if content else None
    except (ValueError, UnicodeDecodeError):
        return None, None
    if not isinstance(body, Mapping):
        return None, None
    detail = body.get("detail") or body.get("message") or body.get("error_description")
    scim_type = body.get("scimType") or body.get("error_code") or body.get("error")
    return (str(detail) if detail is not None else None), (str(scim_type) if scim_type else None)


def _is_token_refusal(detail: str | None, scim_type: str | None, challenge: str | None) -> bool:
    # RFC 6750 section 3.1: a resource server signals a bad bearer token with error="invalid_token".
    if "invalid_token" in (challenge or "").lower() or "token" in (scim_type or "").lower():
        return True
    text = (detail or "").lower()
    return "token" in text and any(word in text for word in ("invalid", "expired"))


def parse_answer(status: int, headers: Mapping[str, str], content: bytes, *, what: str, now: float) -> Any:
    """
    Return the decoded JSON of a successful answer (None for an empty one), or raise its typed error.

    A PATCH may succeed with 200 and ``{}``, 200 and the user, or 204 and no body; all three are success.

    :param status: the HTTP status.
    :param headers: the answer's headers (case-insensitive mapping).
    :param content: the raw body.
    :param what: a short phrase naming the request, for messages.
    :param now: the wall-clock time, for an HTTP-date ``Retry-After``.
    """
    if not 200 <= status < 300:
        raise error_from_response(status, headers, content, what=what, now=now)
    if status == 204 or not content.strip():
        return None
    return decode_json(content, headers.get("content-type"), what=what)


def lookup_params(user_names: Iterable[str], *, start_index: int, count: int) -> dict[str, str]:
    """
    Build the query of one page of a ``userName`` lookup (RFC 7644 section 3.4.2).

    :param user_names: the names one filter looks up.
    :param start_index: the 1-based index of the first result wanted.
    :param count: the page size asked for; the service may answer fewer.
    """
    return {
        "filter": user_name_filter(user_names),
        "attributes": LOOKUP_ATTRIBUTES,
        "startIndex": str(start_index),
        "count": str(count),
    }


def next_start_index(page: ListPage, *, start_index: int, count: int, found: int, most: int) -> int | None:
    """
    Return where the next page of a filtered listing starts, or None when nothing more can come.

    The service may cap the page below ``count`` (its docs give both 100 and 10000 as the limit), so a page
    shorter than asked ends the listing only when ``totalResults`` agrees. A filter of ``userName eq`` terms
    matches at most one user per term, so once ``most`` users are found there is nothing left to fetch.

    :param page: the page just read.
    :param start_index: the ``startIndex`` that page was asked for with.
    :param count: the page size asked for.
    :param found: users collected so far for this filter, this page included.
    :param most: the number of terms in the filter.
    """
    received = len(page.users)
    if received == 0 or found >= most:
        return None
    if received < count and start_index + received - 1 >= page.total_results:
        return None
    return start_index + received


def plan_lookup(
    user_names: Iterable[str], *, terms: int
) -> Generator[dict[str, str], ListPage, dict[str, ScimUser]]:
    """
    Plan a lookup of users by ``userName`` as few requests as the filter limit allows (a sans-I/O generator).

    The generator yields the query parameters of each request; the caller sends the request and passes the
    parsed :class:`ListPage` back with ``send``. Its return value maps each normalized ``userName`` that
    exists to its user; a name that is absent from the map does not exist. Listing the inactive users
    instead (``filter=active eq false``, paged) would not save requests: the names that turn out active or
    unknown would still need these lookups, and a large account pages through every inactive user.

    :param user_names: the names to look up, in any case; duplicates and blanks are dropped.
    :param terms: the wanted number of ``or`` terms per filter, clamped by :func:`terms_per_filter`.
    """
    wanted = list(dict.fromkeys(normalize_user_name(name) for name in user_names if name and name.strip()))
    found: dict[str, ScimUser] = {}
    for batch in chunked(wanted, terms_per_filter(terms)):
        in_batch = set(batch)
        start: int | None = 1
        while start is not None:
            page = yield lookup_params(batch, start_index=start, count=len(batch))
            matches = [user for user in page.users if user.user_name in in_batch]
            if start > 1 and any(user.user_name in found for user in matches):
                raise UnexpectedResponseError(
                    f"The SCIM listing repeated users on the page at startIndex {start}; paging stopped."
                )
            found.update((user.user_name, user) for user in matches)
            done = sum(1 for name in batch if name in found)
            start = next_start_index(page, start_index=start, count=len(batch), found=done, most=len(batch))
    return found
