"""Issued OAuth access tokens and their audiences."""

from __future__ import annotations

import secrets
from dataclasses import dataclass


@dataclass(frozen=True)
class IssuedToken:
    """One access token: where it is valid and until when on the emulator's monotonic clock."""

    audience: str
    expires_at: float


class TokenStore:
    """
    Tokens issued so far; opaque random strings, since the caller must never need to read them.

    An account token is refused by workspace APIs and the other way round: one token per audience is the
    safe reading of the vendor docs, which issue them from different endpoints.
    """

    def __init__(self) -> None:
        self._tokens: dict[str, IssuedToken] = {}

    def issue(self, audience: str, lifetime: float, now: float) -> str:
        """
        Create a token.

        :param audience: ``account:{id}`` or ``workspace:{name}``.
        :param lifetime: seconds until expiry.
        :param now: current monotonic time.
        """
        token = secrets.token_urlsafe(32)
        self._tokens[token] = IssuedToken(audience, now + lifetime)
        return token

    def problem(self, token: str | None, audience: str, now: float, margin: float) -> str | None:
        """
        Return why a token is refused, or None when it is good.

        :param token: bearer token from the request, if any.
        :param audience: audience the API requires.
        :param now: current monotonic time.
        :param margin: tokens with this many seconds or less left are refused, as the service does.
        """
        if not token:
            return "missing"
        issued = self._tokens.get(token)
        if issued is None:
            return "unknown"
        if issued.audience != audience:
            return "wrong_audience"
        if issued.expires_at - now <= margin:
            return "expired"
        return None

    def expire_all(self) -> None:
        """Make every issued token expired, as if its lifetime had passed."""
        self._tokens = {
            token: IssuedToken(issued.audience, float("-inf")) for token, issued in self._tokens.items()
        }

    def clear(self) -> None:
        """Forget all tokens; they become unknown."""
        self._tokens.clear()
