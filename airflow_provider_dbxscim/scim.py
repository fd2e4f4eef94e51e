"""Pure functions that build SCIM requests and read SCIM answers.

Nothing here performs I/O: the synchronous hook and the asynchronous trigger both call these functions, so the
wire format is decided in one place. References: RFC 7644 (SCIM protocol) and the Databricks account SCIM API.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
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
    """Return ``user_name`` as the account stores it: trimmed and lower-cased (userName is case-insensitive)."""
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
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        return max(0.0, parsedate_to_datetime(value).timestamp() - now)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None


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
    if status == 401 or (status == 403 and _is_token_refusal(detail)):
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


def _is_token_refusal(detail: str | None) -> bool:
    text = (detail or "").lower()
    return "token" in text and any(word in text for word in ("invalid", "expired"))
