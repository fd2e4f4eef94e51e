"""Pure functions for the OAuth client-credentials flow and the Databricks hosts it talks to.

References: RFC 6749 section 4.4 (client credentials) and the Databricks page "Authorize unattended access to
Databricks resources with a service principal using OAuth" (token endpoints, ``scope=all-apis``).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from airflow_provider_dbxscim.exceptions import ConfigurationError, TokenError
from airflow_provider_dbxscim.scim import decode_json

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


@dataclass(frozen=True)
class AccessToken:
    """An access token and when it stops being usable; the repr never shows the token."""

    value: str = field(repr=False)
    expires_at: float

    def usable(self, now: float, margin: float) -> bool:
        """Whether the token has more than ``margin`` seconds left at ``now`` (monotonic seconds)."""
        return now + margin < self.expires_at


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


def parse_token_response(
    status: int, headers: Mapping[str, str], content: bytes, *, url: str, now: float
) -> AccessToken:
    """
    Read a token endpoint answer, or raise a :class:`TokenError` that never contains the body.

    :param status: the HTTP status.
    :param headers: the answer's headers.
    :param content: the raw body.
    :param url: the token URL, named in error messages.
    :param now: monotonic seconds when the request was sent, so the expiry errs early.
    """
    if status != 200:
        raise _token_refusal(status, headers, content, url=url)
    body = decode_json(content, headers.get("content-type"), what=f"The token endpoint {url}")
    if not isinstance(body, Mapping) or not isinstance(body.get("access_token"), str):
        raise TokenError(f"The token endpoint {url} answered JSON without an access_token.", status=status)
    token_type = str(body.get("token_type", "Bearer"))
    if token_type.lower() != "bearer":
        raise TokenError(f"The token endpoint {url} issued a {token_type!r} token; expected Bearer.")
    try:
        # One known fake sends expires_in as a numeric string; both forms mean seconds.
        expires_in = float(body.get("expires_in", 3600))
    except (TypeError, ValueError) as exc:
        raise TokenError(f"The token endpoint {url} sent an unreadable expires_in.") from exc
    return AccessToken(value=body["access_token"], expires_at=now + expires_in)


def _token_refusal(status: int, headers: Mapping[str, str], content: bytes, *, url: str) -> TokenError:
    body: Any = None
    try:
        body = decode_json(content, headers.get("content-type"), what="") if content else None
    except Exception:
        body = None
    error = body.get("error") or body.get("error_code") if isinstance(body, Mapping) else None
    description = body.get("error_description") or body.get("message") if isinstance(body, Mapping) else None
    fields: dict[str, Any] = {"status": status, "scim_type": error, "detail": description}
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
    host = host.strip().rstrip("/")
    if "://" not in host:
        host = f"https://{host}"
    parts = urlsplit(host)
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise ConfigurationError(f"The connection host {host!r} is not an http(s) URL.")
    loopback = _is_loopback(parts.hostname)
    if parts.scheme == "http" and not loopback:
        raise ConfigurationError(
            f"The connection host {host!r} uses http://; use https:// (plain HTTP is allowed on loopback only)."
        )
    if not allow_any_host and not parts.hostname.endswith(ACCOUNT_HOST_SUFFIXES):
        raise ConfigurationError(
            f"The connection host {parts.hostname!r} is not a Databricks accounts console host; use e.g. "
            "accounts.cloud.databricks.com, or set allow_any_host in the connection extra for the local emulator "
            "or a proxy."
        )
    return host


def _is_loopback(hostname: str) -> bool:
    if hostname == "localhost":
        return True
    try:
        return ipaddress.ip_address(hostname).is_loopback
    except ValueError:
        return False
