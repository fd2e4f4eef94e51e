"""Switches of the Databricks account API emulator.

Every behaviour that the reference notes mark as a guess is a switch here, so a test can choose either side.
Defaults follow the real service as far as it is known.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

DEFAULT_ACCOUNT_ID = "7c8d9e0f-1a2b-4c3d-8e9f-0a1b2c3d4e5f"
DEFAULT_CLIENT_ID = "dbxscim-demo-client"
DEFAULT_CLIENT_SECRET = "dbxscim-demo-secret"

RETRY_AFTER_FORMATS = ("integer", "decimal", "http_date", "absent")
PATCH_RESPONSES = ("empty_object", "no_content", "resource")
FAULT_KINDS = (
    "drop",
    "429",
    "503",
    "500_null",
    "throttle_500",
    "non_json",
    "empty_body",
    "html",
    "token_throttle",
)
_OPTIONAL_INT_SWITCHES = frozenset({"max_concurrent_requests"})


@dataclass
class EmulatorConfig:
    """
    All switches of the emulator, with the real service's behaviour as defaults.

    A rate of ``None`` or ``0`` means unlimited. Fault rates are probabilities drawn once per request from a
    generator seeded with ``fault_seed``, so a run is repeatable.
    """

    account_id: str = DEFAULT_ACCOUNT_ID
    """Account id expected in account URLs and returned by discovery."""
    client_id: str = DEFAULT_CLIENT_ID
    """OAuth client id of the service principal."""
    client_secret: str = field(default=DEFAULT_CLIENT_SECRET, repr=False)
    """OAuth client secret of the service principal."""

    token_lifetime_seconds: int = 3600
    """Lifetime of issued access tokens, also sent as ``expires_in``."""
    expires_in_as_string: bool = False
    """Send ``expires_in`` as a numeric string (``"3600"``), as one known fake does."""
    token_expiry_margin_seconds: float = 30.0
    """Reject tokens with this many seconds or less left, as the real service does."""
    invalid_token_status: int = 401
    """Status (401 or 403) for an unknown, expired or wrong-audience access token."""
    account_admin: bool = True
    """When false the service principal is not an account admin and account SCIM answers 403."""
    discovery_enabled: bool = True
    """Serve ``/.well-known/databricks-config``; false answers 404 as older hosts do."""
    discovery_account_placeholder: bool = False
    """Answer discovery with the literal ``{account_id}`` placeholder and no ``account_id`` field."""

    max_page_size: int = 100
    """Upper bound on ``count`` for list calls (the vendor docs say both 100 and 10000)."""
    omit_empty_resources: bool = True
    """Leave the ``Resources`` key out of a list response whose page is empty."""
    filter_max_nodes: int = 200
    """Largest filter accepted, counted as comparisons plus ``and``/``or`` operators."""
    patch_response: str = "empty_object"
    """PATCH success: ``empty_object`` (200 ``{}``), ``no_content`` (204) or ``resource`` (200 user)."""
    id_seed: int = 0
    """Seed of the generator of 16-digit user ids for users seeded without one."""
    idp_resync_seconds: float | None = None
    """Deactivate a reactivated user that has an ``externalId`` again after this many seconds."""

    rate_limits_enabled: bool = True
    """Master switch of all rate limits and the concurrency limit."""
    rate_limit_patch: float | None = 2.0
    """Account-wide SCIM PATCH requests per second."""
    rate_limit_get: float | None = 20.0
    """Account-wide SCIM GET requests per second."""
    rate_limit_write: float | None = 5.0
    """Account-wide SCIM POST, PUT and DELETE requests per second."""
    rate_limit_token: float | None = None
    """Token requests per second per audience; the vendor publishes no figure."""
    rate_limit_workspace_get: float | None = 4.25
    """Workspace SCIM GET requests per second per workspace (255 per minute)."""
    rate_limit_burst_seconds: float = 1.0
    """Bucket size in seconds of the rate: how large a burst passes after a quiet spell."""
    max_concurrent_requests: int | None = None
    """Requests served at the same time before answering 429."""
    retry_after_format: str = "integer"
    """``Retry-After`` on throttling: ``integer``, ``decimal``, ``http_date`` or ``absent``."""
    throttle_as_500: bool = False
    """Answer SCIM throttling as 500 whose detail starts with ``REQUEST_LIMIT_EXCEEDED``."""

    fault_seed: int = 0
    """Seed of the fault and latency generator."""
    fault_route_kinds: list[str] | None = None
    """Route kinds faults hit, as ``fnmatch`` patterns (``scim_patch``, ``*token``); None is all."""
    fault_rate_drop: float = 0.0
    """Probability of closing the connection without an answer."""
    fault_rate_429: float = 0.0
    """Probability of a 429 with ``Retry-After``."""
    fault_rate_503: float = 0.0
    """Probability of a 503 with ``Retry-After``."""
    fault_rate_500_null: float = 0.0
    """Probability of a transient 500 whose SCIM detail is ``"null"``."""
    fault_rate_throttle_500: float = 0.0
    """Probability of a SCIM 500 whose detail starts ``REQUEST_LIMIT_EXCEEDED`` (throttling as a 500)."""
    fault_rate_non_json: float = 0.0
    """Probability of a 500 with a plain-text body."""
    fault_rate_empty_body: float = 0.0
    """Probability of a 400 with no body and no content type."""
    fault_rate_html: float = 0.0
    """Probability of a 200 HTML login page in place of JSON."""
    fault_rate_token_throttle: float = 0.0
    """Probability of a token-endpoint 429 ``invalid_request`` "Temporarily throttled" answer."""
    fault_retry_after_seconds: float = 1.0
    """``Retry-After`` value of injected 429 and 503 answers."""
    latency_ms: float = 0.0
    """Fixed delay added to each request in fault scope."""
    latency_jitter_ms: float = 0.0
    """Uniform random delay of up to this much added on top of ``latency_ms``."""

    def __post_init__(self) -> None:
        self.validate()

    def validate(self) -> None:
        """Raise :class:`ValueError` when a switch holds a value the emulator cannot honour."""
        if self.invalid_token_status not in (401, 403):
            raise ValueError("invalid_token_status must be 401 or 403")
        if self.retry_after_format not in RETRY_AFTER_FORMATS:
            raise ValueError(f"retry_after_format must be one of {', '.join(RETRY_AFTER_FORMATS)}")
        if self.patch_response not in PATCH_RESPONSES:
            raise ValueError(f"patch_response must be one of {', '.join(PATCH_RESPONSES)}")
        if self.max_page_size < 1 or self.filter_max_nodes < 1 or self.token_lifetime_seconds < 1:
            raise ValueError("max_page_size, filter_max_nodes and token_lifetime_seconds must be positive")
        rates = [getattr(self, f"fault_rate_{kind}") for kind in FAULT_KINDS]
        if any(not 0.0 <= rate <= 1.0 for rate in rates) or sum(rates) > 1.0:
            raise ValueError("fault rates must lie in [0, 1] and add up to at most 1")

    def replace(self, **switches: Any) -> EmulatorConfig:
        """
        Return a copy with some switches changed.

        :param switches: switch names and new values; an unknown name raises :class:`ValueError`.
        """
        unknown = sorted(set(switches) - set(switch_names()))
        if unknown:
            raise ValueError(f"unknown emulator switch: {', '.join(unknown)}")
        return dataclasses.replace(self, **{name: _coerce(name, value) for name, value in switches.items()})

    def as_dict(self, *, include_secret: bool = False) -> dict[str, Any]:
        """
        Return the switches as a JSON-friendly dict.

        :param include_secret: keep the client secret instead of masking it.
        """
        data = dataclasses.asdict(self)
        if not include_secret:
            data["client_secret"] = "***"
        return data

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any] | None) -> EmulatorConfig:
        """
        Build a config from a mapping of switches, e.g. a parsed ``--config`` file.

        :param data: switch names and values; missing switches keep their defaults.
        """
        return cls().replace(**dict(data or {}))


def switch_names() -> list[str]:
    """Return the names of all switches, in declaration order."""
    return [item.name for item in dataclasses.fields(EmulatorConfig)]


def parse_switch(assignment: str) -> tuple[str, Any]:
    """
    Parse a ``key=value`` command-line switch; the value is read as JSON when it parses, else as text.

    :param assignment: text such as ``rate_limit_patch=0`` or ``fault_route_kinds=["scim_patch"]``.
    """
    name, sep, raw = assignment.partition("=")
    if not sep or not name.strip():
        raise ValueError(f"expected key=value, got {assignment!r}")
    try:
        value = json.loads(raw)
    except json.JSONDecodeError:
        value = raw
    return name.strip(), value


def _coerce(name: str, value: Any) -> Any:
    """Convert text and JSON values to the type a switch holds, so ``--set`` and PATCH bodies work alike."""
    default = getattr(EmulatorConfig, name, None)
    if name == "fault_route_kinds":
        if value is None or isinstance(value, list):
            return value
        return [part.strip() for part in str(value).split(",") if part.strip()]
    if value is None or isinstance(default, str):
        return value if value is None else str(value)
    if isinstance(default, bool):
        if isinstance(value, str):
            return value.strip().lower() in ("1", "true", "yes", "on")
        return bool(value)
    if isinstance(default, int) or name in _OPTIONAL_INT_SWITCHES:
        return int(value)
    if isinstance(default, float) or default is None:
        return float(value)
    return value
