"""Typed errors raised by the hook, the operator and the trigger.

Every error carries the data a caller branches on (``status``, ``scim_type``, ``detail``, ``retry_after``)
so no caller ever has to parse ``str(exc)``. Messages never contain a client secret or an access token.
"""

from __future__ import annotations

from airflow.exceptions import AirflowException


class DbxScimError(AirflowException):
    """
    Base class of every error raised by this provider.

    :param message: one sentence that says what went wrong and what to do about it.
    :param status: the HTTP status of the answer that caused the error, if there was one.
    :param scim_type: the ``scimType`` of a SCIM error body (RFC 7644 section 3.12), if any.
    :param detail: the ``detail`` (SCIM) or ``message`` (Databricks) of the error body, if any.
    :param retry_after: seconds the service asked us to wait, if it said so.
    """

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        scim_type: str | None = None,
        detail: str | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.scim_type = scim_type
        self.detail = detail
        self.retry_after = retry_after

    def __repr__(self) -> str:
        return f"{type(self).__name__}(status={self.status!r}, scim_type={self.scim_type!r})"


class ConfigurationError(DbxScimError):
    """The connection or the task arguments are wrong; nothing was sent."""


class TokenError(DbxScimError):
    """The OAuth token endpoint refused to issue a token or answered something that is not a token."""


class AuthenticationError(DbxScimError):
    """The API refused the access token (401, or 403 for an invalid or expired token)."""


class PermissionDeniedError(DbxScimError):
    """The caller is authenticated but not allowed, e.g. the service principal is not an account admin."""


class NotFoundError(DbxScimError):
    """The user does not exist (404); a deleted user can only be created again, not reactivated."""


class InvalidRequestError(DbxScimError):
    """The service rejected the request as malformed (400, 409, or the 500 boolean cast error)."""


class RateLimitedError(DbxScimError):
    """The service throttled the call (429, or a 500 whose detail starts with ``REQUEST_LIMIT_EXCEEDED``)."""


class ServiceUnavailableError(DbxScimError):
    """A transient server failure (503, other 5xx, or a 500 with detail ``"null"``)."""


class UnexpectedResponseError(DbxScimError):
    """The answer is not what the API documents, e.g. an HTML page where JSON was expected."""


class TransportError(DbxScimError):
    """The request never got an HTTP answer: connection refused or dropped, or a timeout."""
