"""Pure functions for the OAuth client-credentials flow and the Databricks hosts it talks to.

References: RFC 6749 section 4.4 (client credentials) and the Databricks page "Authorize unattended access to
Databricks resources with a service principal using OAuth" (token endpoints, ``scope=all-apis``).
"""

from __future__ import annotations

import ipaddress
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, urlsplit

from airflow_provider_dbxscim.exceptions import ConfigurationError, DbxScimError, TokenError
from airflow_provider_dbxscim.scim import decode_json, parse_retry_after

TOKEN_FORM = {"grant_type": "client_credentials", "scope": "all-apis"}
# The service refuses tokens with 30 s or less left and the vendor SDK treats them as expired 40 s early; a
# full minute leaves room for a slow request and clock skew between workers.
DEFAULT_REFRESH_MARGIN = 60.0
ACCOUNT_HOST_SUFFIXES = (
    "accounts.cloud.databricks.com",
    "accounts.azuredatabricks.net",
    "accounts.gcp.databricks.com",
    "cloud.databricks.us",
    "cloud.databricks.mil",
)
WORKSPACE_HOST_SUFFIXES = (
    "cloud.databricks.com",
    "azuredatabricks.net",
    "gcp.databricks.com",
    "cloud.databricks.us",
    "cloud.databricks.mil",
)


@dataclass(frozen=True)
class AccessToken:
    """An access token and when it stops being usable; the repr never shows the token."""

    value: str = field(repr=False)
    expires_at: float
    lifetime: float = math.inf

    def usable(self, now: float, margin: float) -> bool:
        """
        Whether the token has more than ``margin`` seconds left at ``now`` (monotonic seconds).

        A token that lives shorter than twice the margin (a proxy or a test service issuing 10 s tokens) would
        never count as usable, and every request would fetch a new one; such a token is refreshed half-way
        through its lifetime instead.
        """
        return now + min(margin, self.lifetime / 2) < self.expires_at


def account_token_url(host: str, account_id: str) -> str:
    """The account-level token endpoint."""
    return f"{host}/oidc/accounts/{account_id}/v1/token"


def workspace_token_url(workspace_host: str) -> str:
    """A workspace's token endpoint; its tokens are good for that workspace's APIs only."""
    return f"{workspace_host}/oidc/v1/token"


def account_users_url(host: str, account_id: str) -> str:
    """The account SCIM ``Users`` endpoint."""
    return f"{host}/api/2.0/accounts/{account_id}/scim/v2/Users"


def workspace_users_url(workspace_host: str) -> str:
    """A workspace's SCIM ``Users`` endpoint."""
    return f"{workspace_host}/api/2.0/preview/scim/v2/Users"


def user_url(users_url: str, user_id: str) -> str:
    """One user's resource under a ``Users`` endpoint; the opaque id is encoded as one path segment."""
    return f"{users_url}/{quote(str(user_id), safe='')}"


def parse_token_response(
    status: int,
    headers: Mapping[str, str],
    content: bytes,
    *,
    url: str,
    now: float,
    wall_now: float | None = None,
) -> AccessToken:
    """
    Read a token endpoint answer, or raise a :class:`TokenError` that never contains the body.

    :param status: the HTTP status.
    :param headers: the answer's headers.
    :param content: the raw body.
    :param url: the token URL, named in error messages.
    :param now: monotonic seconds when the request was sent, so the expiry errs early.
    :param wall_now: the wall-clock time, to read a ``Retry-After`` on a refusal; None ignores the header.
    """
    if status != 200:
        raise _token_refusal(status, headers, content, url=url, wall_now=wall_now)
    body = decode_json(content, headers.get("content-type"), what=f"The token endpoint {url}")
    if (
        not isinstance(body, Mapping)
        or not isinstance(body.get("access_token"), str)
        or not body["access_token"]
    ):
        raise TokenError(f"The token endpoint {url} answered JSON without an access_token.", status=status)
    token_type = str(body.get("token_type", "Bearer"))
    if token_type.lower() != "bearer":
        raise TokenError(f"The token endpoint {url} issued a {token_type!r} token; expected Bearer.")
    try:
        # RFC 6749 section 5.1 makes expires_in a number, but some servers and proxies send a numeric string;
        # both mean seconds.
        expires_in = float(body.get("expires_in", 3600))
    except (TypeError, ValueError) as exc:
        raise TokenError(f"The token endpoint {url} sent an unreadable expires_in.") from exc
    if not math.isfinite(expires_in) or expires_in <= 0:
        raise TokenError(f"The token endpoint {url} sent an expires_in that is not a positive number.")
    return AccessToken(value=body["access_token"], expires_at=now + expires_in, lifetime=expires_in)


def _token_refusal(
    status: int, headers: Mapping[str, str], content: bytes, *, url: str, wall_now: float | None
) -> TokenError:
    body: Any = None
    try:
        body = decode_json(content, headers.get("content-type"), what="") if content else None
    except DbxScimError:
        body = None
    if not isinstance(body, Mapping):
        body = None
    error = (body.get("error") or body.get("error_code")) if body else None
    description = (body.get("error_description") or body.get("message")) if body else None
    retry_after = None if wall_now is None else parse_retry_after(headers.get("retry-after"), now=wall_now)
    fields: dict[str, Any] = {
        "status": status,
        "scim_type": str(error) if error else None,
        "detail": str(description) if description else None,
        "retry_after": retry_after,
    }
    if error == "invalid_client":
        return TokenError(
            f"The token endpoint {url} refused the client credentials (invalid_client): check the client "
            "secret, that the service principal is an account admin, and the account id.",
            **fields,
        )
    if body is None:
        kind = headers.get("content-type") or "no content type"
        return TokenError(
            f"The token endpoint {url} answered HTTP {status} with {len(content)} bytes of {kind}; check the "
            "host and the account id.",
            **fields,
        )
    return TokenError(
        f"The token endpoint {url} answered HTTP {status} ({error or 'no error code'}): {description}",
        **fields,
    )


def validate_host(host: str, *, allow_any_host: bool = False) -> str:
    """
    Return the host as a base URL without a trailing slash, after checking it is safe to send a secret to.

    HTTPS is required except on loopback. The host must be a Databricks accounts console host unless the
    connection says ``allow_any_host`` (the local emulator, a proxy); loopback needs it too.

    :param host: the connection's host, with or without a scheme.
    :param allow_any_host: accept hosts outside the Databricks domains.
    """
    if not host or not host.strip():
        raise ConfigurationError(
            "The connection has no host; set it to the accounts console, e.g. https://accounts.cloud.databricks.com."
        )
    return _checked_base_url(
        host,
        suffixes=None if allow_any_host else ACCOUNT_HOST_SUFFIXES,
        what="The connection host",
        hint="use e.g. accounts.cloud.databricks.com, or set allow_any_host in the connection extra for the "
        "local emulator or a proxy.",
    )


def validate_workspace_host(workspace_host: str, *, allow_any_host: bool = False) -> str:
    """
    Return a workspace host as a base URL, with the same checks as :func:`validate_host`.

    :param workspace_host: e.g. ``https://dbc-1234.cloud.databricks.com`` or ``adb-1.2.azuredatabricks.net``.
    :param allow_any_host: accept hosts outside the Databricks domains.
    """
    if not workspace_host or not workspace_host.strip():
        raise ConfigurationError("The workspace host is empty.")
    return _checked_base_url(
        workspace_host,
        suffixes=None if allow_any_host else WORKSPACE_HOST_SUFFIXES,
        what="The workspace host",
        hint="use e.g. <name>.cloud.databricks.com, or set allow_any_host in the connection extra.",
    )


def _checked_base_url(host: str, *, suffixes: tuple[str, ...] | None, what: str, hint: str) -> str:
    host = host.strip().rstrip("/")
    if "://" not in host:
        host = f"https://{host}"
    parts = urlsplit(host)
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise ConfigurationError(f"{what} {host!r} is not an http(s) URL.")
    if parts.username or parts.password or parts.query or parts.fragment:
        raise ConfigurationError(f"{what} must be a bare URL, without credentials, query or fragment.")
    if parts.scheme == "http" and not _is_loopback(parts.hostname):
        raise ConfigurationError(
            f"{what} {host!r} uses http://; use https:// (plain HTTP is allowed on loopback only)."
        )
    # Match whole labels: "evilazuredatabricks.net" must not pass as a subdomain of "azuredatabricks.net".
    if suffixes is not None and not any(
        parts.hostname == suffix or parts.hostname.endswith(f".{suffix}") for suffix in suffixes
    ):
        raise ConfigurationError(f"{what} {parts.hostname!r} is not a Databricks host; {hint}")
    return host


def _is_loopback(hostname: str) -> bool:
    if hostname == "localhost":
        return True
    try:
        return ipaddress.ip_address(hostname).is_loopback
    except ValueError:
        return False
