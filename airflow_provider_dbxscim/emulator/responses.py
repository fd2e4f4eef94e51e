"""Builders of the three error shapes the real service mixes, and the exception that carries them."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from starlette.responses import Response

JSON = "application/json"
SCIM_ERROR_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:Error"
LIST_RESPONSE_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
USER_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:User"
PATCH_OP_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
# RFC 7644 section 3.10: an attribute may be written with its schema URN in front; compared lower-cased.
USER_ATTRIBUTE_PREFIX = USER_SCHEMA.lower() + ":"

LOGIN_PAGE = (
    b"<!DOCTYPE html><html><head><title>Databricks - Sign In</title></head>"
    b"<body><div id='login-page'>Sign in to Databricks</div></body></html>"
)


class ApiFailure(Exception):
    """
    A ready-made error answer, raised from deep inside a handler and sent as is.

    :param response: the answer to send.
    """

    def __init__(self, response: Response) -> None:
        super().__init__(response.status_code)
        self.response = response


def json_response(payload: Any, status: int = 200, headers: Mapping[str, str] | None = None) -> Response:
    """
    Serialise a payload compactly; no pydantic on the hot path.

    :param payload: JSON-friendly value.
    :param status: HTTP status.
    :param headers: extra headers.
    """
    body = json.dumps(payload, separators=(",", ":")).encode()
    return Response(body, status_code=status, headers=headers, media_type=JSON)


def scim_error(status: int, detail: str, scim_type: str | None = None) -> Response:
    """
    Build a SCIM error answer (RFC 7644 section 3.12); ``status`` travels as a string in the body.

    :param status: HTTP status.
    :param detail: human-readable detail.
    :param scim_type: RFC 7644 ``scimType`` keyword, when one applies.
    """
    payload: dict[str, Any] = {"schemas": [SCIM_ERROR_SCHEMA], "detail": detail, "status": str(status)}
    if scim_type:
        payload["scimType"] = scim_type
    return json_response(payload, status)


def databricks_error(
    status: int, error_code: str, message: str, headers: Mapping[str, str] | None = None
) -> Response:
    """
    Build the Databricks REST error shape used for auth and throttling failures.

    :param status: HTTP status.
    :param error_code: upper-case Databricks error code.
    :param message: human-readable message.
    :param headers: extra headers such as ``Retry-After``.
    """
    return json_response({"error_code": error_code, "message": message}, status, headers)


def oauth_error(status: int, error: str, description: str) -> Response:
    """
    Build an OAuth 2.0 token endpoint error (RFC 6749 section 5.2).

    :param status: HTTP status.
    :param error: RFC 6749 error code such as ``invalid_client``.
    :param description: ``error_description`` text.
    """
    return json_response({"error": error, "error_description": description}, status)


def scim_failure(status: int, detail: str, scim_type: str | None = None) -> ApiFailure:
    """
    Wrap :func:`scim_error` in an exception for ``raise``.

    :param status: HTTP status.
    :param detail: human-readable detail.
    :param scim_type: RFC 7644 ``scimType`` keyword, when one applies.
    """
    return ApiFailure(scim_error(status, detail, scim_type))


def login_page() -> Response:
    """Return the HTML sign-in page the real hosts serve when the account id or host is wrong."""
    return Response(LOGIN_PAGE, status_code=200, media_type="text/html; charset=utf-8")


def plain_text(status: int, text: str) -> Response:
    """
    Return a non-JSON error body, as a proxy in front of the service may send.

    :param status: HTTP status.
    :param text: body text.
    """
    return Response(text.encode(), status_code=status, media_type="text/plain; charset=utf-8")


def empty_response(status: int) -> Response:
    """
    Return an answer with no body and no content type.

    :param status: HTTP status.
    """
    return Response(b"", status_code=status)
