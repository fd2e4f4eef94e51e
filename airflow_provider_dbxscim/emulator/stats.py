"""Counters and logs of what callers did, for tests to assert on."""

from __future__ import annotations

import copy
from collections import Counter, defaultdict
from typing import Any


class Stats:
    """
    Request counts by route kind and status, every PATCH, every issued token, faults and throttling.

    Status ``"dropped"`` counts connections closed without an answer.
    """

    def __init__(self) -> None:
        self.requests: defaultdict[str, Counter[str]] = defaultdict(Counter)
        self.patches: list[dict[str, Any]] = []
        self.tokens: list[dict[str, Any]] = []
        self.faults: Counter[str] = Counter()
        self.throttled: Counter[str] = Counter()
        self.idp_deactivations: list[dict[str, Any]] = []

    def count_request(self, kind: str, status: int | None) -> None:
        """
        Count one answered (or dropped) request.

        :param kind: route kind.
        :param status: HTTP status, or None when the connection was dropped.
        """
        self.requests[kind]["dropped" if status is None else str(status)] += 1

    def as_dict(self) -> dict[str, Any]:
        """Return a deep copy in JSON-friendly form."""
        return {
            "requests": {kind: dict(statuses) for kind, statuses in self.requests.items()},
            "patches": copy.deepcopy(self.patches),
            "tokens": copy.deepcopy(self.tokens),
            "faults": dict(self.faults),
            "throttled": dict(self.throttled),
            "idp_deactivations": copy.deepcopy(self.idp_deactivations),
        }
