"""List queries (RFC 7644 section 3.4.2): filter, paging, sorting and attribute projection."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

from starlette.responses import Response

from airflow_provider_dbxscim.emulator.config import EmulatorConfig
from airflow_provider_dbxscim.emulator.directory import User, UserDirectory
from airflow_provider_dbxscim.emulator.filters import FilterError, parse_filter
from airflow_provider_dbxscim.emulator.responses import LIST_RESPONSE_SCHEMA, json_response, scim_failure

# RFC 7643 section 7: "id" is always returned; schemas is kept so the resource stays self-describing.
_ALWAYS_RETURNED = frozenset({"id", "schemas"})


def list_users(directory: UserDirectory, params: Mapping[str, str], config: EmulatorConfig) -> Response:
    """
    Answer a list request with a ListResponse page; call with the state lock held.

    ``startIndex`` is 1-based and values below 1 count as 1; ``count`` is capped at ``max_page_size`` and a
    negative one counts as 0 (RFC 7644 section 3.4.2.4). A page past the end is empty.

    :param directory: users of the account or a workspace.
    :param params: query parameters.
    :param config: the live switches.
    :raises ApiFailure: 400 ``invalidFilter`` for a bad filter, 400 ``invalidValue`` for bad paging.
    """
    parsed = None
    if params.get("filter"):
        try:
            parsed = parse_filter(params["filter"], config.filter_max_nodes)
        except FilterError as exc:
            raise scim_failure(400, exc.detail, "invalidFilter") from exc
    start = max(_integer(params, "startIndex", 1), 1)
    count = min(max(_integer(params, "count", config.max_page_size), 0), config.max_page_size)
    descending = params.get("sortOrder", "ascending").lower() == "descending"

    matches = directory.query(parsed, params.get("sortBy"), descending)
    page = matches[start - 1 : start - 1 + count]
    project = projection(params)
    body: dict[str, Any] = {
        "schemas": [LIST_RESPONSE_SCHEMA],
        "totalResults": len(matches),
        "startIndex": start,
        "itemsPerPage": len(page),
    }
    if page or not config.omit_empty_resources:
        body["Resources"] = [project(user) for user in page] if project else page
    return json_response(body)


def user_response(user: User, params: Mapping[str, str], status: int = 200) -> Response:
    """
    Serialise one user, honouring ``attributes``/``excludedAttributes``; call with the state lock held.

    :param user: the stored user.
    :param params: query parameters.
    :param status: HTTP status.
    """
    project = projection(params)
    return json_response(project(user) if project else user, status)


def projection(params: Mapping[str, str]) -> Callable[[User], User] | None:
    """
    Return a function that trims a user to the requested attributes, or None when nothing is trimmed.

    Attribute names compare case-insensitively; a sub-attribute such as ``emails.value`` keeps its parent.

    :param params: query parameters.
    """
    wanted = _names(params.get("attributes"))
    excluded = _names(params.get("excludedAttributes")) - _ALWAYS_RETURNED
    if not wanted and not excluded:
        return None

    def trim(user: User) -> User:
        return {
            key: value
            for key, value in user.items()
            if (not wanted or key.lower() in wanted or key in _ALWAYS_RETURNED)
            and key.lower() not in excluded
        }

    return trim


def _names(raw: str | None) -> set[str]:
    if not raw:
        return set()
    return {part.strip().rsplit(":", 1)[-1].split(".")[0].lower() for part in raw.split(",") if part.strip()}


def _integer(params: Mapping[str, str], name: str, default: int) -> int:
    raw = params.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise scim_failure(400, f"{name} must be an integer", "invalidValue") from exc


def json_body(raw: bytes) -> Any:
    """
    Decode a request body sent as ``application/json`` or ``application/scim+json``.

    :param raw: body bytes.
    :raises ApiFailure: 400 ``invalidSyntax`` when the body is not JSON.
    """
    try:
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise scim_failure(400, "Request body is not valid JSON", "invalidSyntax") from exc
