"""Read and check the settings of a ``dbxscim`` connection; shared by the hook and the async client."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from airflow_provider_dbxscim import oauth, scim
from airflow_provider_dbxscim.exceptions import ConfigurationError

DEFAULT_PATCH_RATE = 2.0
DEFAULT_GET_RATE = 20.0
# Workspace SCIM reads are limited to about 255 per minute per workspace.
WORKSPACE_GET_RATE = 255 / 60


@dataclass(frozen=True)
class ConnectionSettings:
    """
    What the hook needs from a connection, checked before anything is sent.

    :param host: the accounts console base URL, e.g. ``https://accounts.cloud.databricks.com``.
    :param account_id: the Databricks account id (extra ``account_id``).
    :param client_id: the service principal's OAuth client id (login).
    :param client_secret: its OAuth secret (password); never shown by ``repr``.
    :param allow_any_host: accept hosts outside the Databricks domains (extra ``allow_any_host``).
    :param patch_rate: account PATCH calls per second for all tasks on this machine.
    :param get_rate: account GET calls per second for all tasks on this machine.
    :param terms_per_filter: ``userName eq`` terms per lookup request.
    :param rate_limit_dir: where the shared rate-limit files live, or None for the default.
    """

    host: str
    account_id: str
    client_id: str
    client_secret: str = field(repr=False)
    allow_any_host: bool = False
    patch_rate: float = DEFAULT_PATCH_RATE
    get_rate: float = DEFAULT_GET_RATE
    terms_per_filter: int = scim.DEFAULT_TERMS_PER_FILTER
    rate_limit_dir: str | None = None

    @classmethod
    def from_fields(
        cls, host: str | None, login: str | None, password: str | None, extra: Mapping[str, Any]
    ) -> ConnectionSettings:
        """
        Build settings from a connection's fields and its extra, or raise a :class:`ConfigurationError`.

        :param host: the connection host.
        :param login: the client id.
        :param password: the client secret.
        :param extra: the connection extra, decoded.
        """
        allow_any_host = _flag(extra.get("allow_any_host"), "allow_any_host")
        account_id = str(extra.get("account_id") or "").strip()
        if not account_id:
            raise ConfigurationError(
                "The connection extra has no account_id; copy it from the account console (top right menu)."
            )
        if not login or not password:
            raise ConfigurationError(
                "The connection needs the service principal's client id as login and its OAuth secret as "
                "password."
            )
        return cls(
            host=oauth.validate_host(host or "", allow_any_host=allow_any_host),
            account_id=account_id,
            client_id=login,
            client_secret=password,
            allow_any_host=allow_any_host,
            patch_rate=_rate(extra.get("patch_rate_per_second"), "patch_rate_per_second", DEFAULT_PATCH_RATE),
            get_rate=_rate(extra.get("get_rate_per_second"), "get_rate_per_second", DEFAULT_GET_RATE),
            terms_per_filter=scim.terms_per_filter(
                int(_rate(extra.get("terms_per_filter"), "terms_per_filter", scim.DEFAULT_TERMS_PER_FILTER))
            ),
            rate_limit_dir=str(extra["rate_limit_dir"]) if extra.get("rate_limit_dir") else None,
        )

    def workspace_host(self, workspace_host: str) -> str:
        """Check a workspace host the same way as the account host and return it as a base URL."""
        return oauth.validate_workspace_host(workspace_host, allow_any_host=self.allow_any_host)


def _flag(value: Any, name: str) -> bool:
    if value is None or isinstance(value, bool):
        return bool(value)
    if isinstance(value, str) and value.strip().lower() in ("true", "false", ""):
        return value.strip().lower() == "true"
    raise ConfigurationError(f"The connection extra {name} must be true or false.")


def _rate(value: Any, name: str, default: float) -> float:
    if value is None or value == "":
        return float(default)
    try:
        number = float(value)
    except (TypeError, ValueError) as exc:
        raise ConfigurationError(f"The connection extra {name} must be a positive number.") from exc
    if isinstance(value, bool) or not math.isfinite(number) or number <= 0:
        raise ConfigurationError(f"The connection extra {name} must be a positive number.")
    return number
