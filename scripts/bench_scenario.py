"""The benchmark scenario: the account, the upstream list, the scaled limits, and the figures read off a run.

Everything here is pure (no I/O besides building data), so the smoke test can check the arithmetic: the
sustained PATCH rate and the sliding one-second windows are computed from the emulator's PATCH log, the
request mix from its per-route counters.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from itertools import pairwise
from typing import Any

from airflow_provider_dbxscim.emulator import make_users

#: Every third seeded user is inactive, so the account has more inactive users than the list names.
INACTIVE_EVERY = 3
UNKNOWN_PREFIX = "nobody"


@dataclass(frozen=True)
class Scenario:
    """
    The account and list of the benchmark, with the service limits scaled so a run takes about a minute.

    :param account_users: users in the emulated account.
    :param listed_inactive: inactive users on the upstream list.
    :param listed_active: already active users on the list.
    :param listed_unknown: userNames on the list that do not exist.
    :param patch_limit: account SCIM PATCH per second, in the emulator and the connection.
    :param get_limit: account SCIM GET per second, in the emulator and the connection.
    :param latency_ms: delay the emulator adds to every request.
    :param chunk_size: users per mapped task in the DAG run.
    :param baseline_users: how many users of the list the baselines reactivate.
    :param shuffle_seed: seed of the order of the list.
    """

    account_users: int = 20_000
    listed_inactive: int = 5_000
    listed_active: int = 1_000
    listed_unknown: int = 200
    patch_limit: float = 100.0
    get_limit: float = 1_000.0
    latency_ms: float = 20.0
    chunk_size: int = 500
    baseline_users: int = 300
    shuffle_seed: int = 7

    @property
    def listed(self) -> int:
        """Entries on the upstream list."""
        return self.listed_inactive + self.listed_active + self.listed_unknown

    @property
    def chunks(self) -> int:
        """Mapped tasks in the DAG run."""
        return -(-self.listed // self.chunk_size)

    def emulator_config(self) -> dict[str, Any]:
        """The emulator switches: service defaults except the scaled limits and the latency."""
        return {
            "rate_limit_patch": self.patch_limit,
            "rate_limit_get": self.get_limit,
            "latency_ms": self.latency_ms,
        }

    def as_dict(self) -> dict[str, Any]:
        """The scenario for the results file."""
        return {**asdict(self), "listed": self.listed, "chunks": self.chunks}


def build_seed(scenario: Scenario) -> dict[str, Any]:
    """Seed the account; refuse a scenario whose list would need more inactive or active users than exist."""
    users = make_users(scenario.account_users, inactive_every=INACTIVE_EVERY)
    inactive = sum(1 for user in users if not user["active"])
    if inactive < scenario.listed_inactive or len(users) - inactive < scenario.listed_active:
        raise ValueError("the account is too small for the list of this scenario")
    return {"users": users}


def build_user_list(scenario: Scenario, seed: Mapping[str, Any]) -> list[str]:
    """The upstream list: inactive, active and unknown userNames, shuffled with a fixed seed."""
    users = seed["users"]
    inactive = [user["userName"] for user in users if not user["active"]][: scenario.listed_inactive]
    active = [user["userName"] for user in users if user["active"]][: scenario.listed_active]
    unknown = [f"{UNKNOWN_PREFIX}{n:04d}@example.com" for n in range(1, scenario.listed_unknown + 1)]
    names = inactive + active + unknown
    random.Random(scenario.shuffle_seed).shuffle(names)
    return names


def connection_json(url: str, account_id: str, client_id: str, secret: str, scenario: Scenario) -> str:
    """The ``AIRFLOW_CONN_DBXSCIM_DEFAULT`` value: the emulator, with the hook's budget at its limits."""
    extra = {
        "account_id": account_id,
        "allow_any_host": True,
        "patch_rate_per_second": scenario.patch_limit,
        "get_rate_per_second": scenario.get_limit,
    }
    connection = {"conn_type": "dbxscim", "host": url, "login": client_id, "password": secret, "extra": extra}
    return json.dumps(connection)


def sustained_rate(times: Sequence[float]) -> float | None:
    """Requests per second from the first to the last timestamp; None for fewer than two."""
    if len(times) < 2 or times[-1] <= times[0]:
        return None
    return (len(times) - 1) / (times[-1] - times[0])


def max_window_count(times: Sequence[float], window: float = 1.0) -> int:
    """The most timestamps in any half-open window ``[t, t + window)`` that starts at a timestamp."""
    ordered = sorted(times)
    most, end = 0, 0
    for start, first in enumerate(ordered):
        end = max(end, start)
        while end < len(ordered) and ordered[end] < first + window:
            end += 1
        most = max(most, end - start)
    return most


def max_window_overshoot(times: Sequence[float], limit: float) -> float | None:
    """``count / limit - 1`` of the busiest one-second window; negative under the limit."""
    if not times:
        return None
    return max_window_count(times) / limit - 1.0


def pauses(times: Sequence[float], longer_than: float) -> tuple[int, float]:
    """The gaps between consecutive timestamps longer than ``longer_than``: how many, and their total."""
    gaps = [later - earlier for earlier, later in pairwise(times) if later - earlier > longer_than]
    return len(gaps), sum(gaps)


def account_patches(stats: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """The emulator's log of account-level PATCHes, in arrival order."""
    entries = [entry for entry in stats["patches"] if entry["scope"] == "account"]
    return sorted(entries, key=lambda entry: entry["monotonic"])


def patch_arrivals(stats: Mapping[str, Any], *, successful: bool) -> list[float]:
    """Arrival times (emulator monotonic clock) of account PATCHes, all of them or the 2xx ones only."""
    return [
        entry["monotonic"]
        for entry in account_patches(stats)
        if not successful or _is_success(entry["status"])
    ]


def requests_by_kind(stats: Mapping[str, Any]) -> dict[str, int]:
    """Requests the emulator answered (or dropped), by route kind."""
    return {kind: sum(statuses.values()) for kind, statuses in sorted(stats["requests"].items())}


def count_status(stats: Mapping[str, Any], status: str, kinds: Iterable[str] | None = None) -> int:
    """Answers with one status, over every route kind or the given ones."""
    chosen = set(kinds) if kinds is not None else None
    return sum(
        statuses.get(status, 0)
        for kind, statuses in stats["requests"].items()
        if chosen is None or kind in chosen
    )


def unabsorbed_429(stats: Mapping[str, Any], *, run_completed: bool) -> int:
    """
    429 answers the caller did not recover from.

    A PATCH answered 429 is absorbed when a later PATCH of the same user succeeded. Any other 429 (a lookup,
    a token) is absorbed when the run completed: every listed user got a final outcome and none failed, which
    the hook only achieves by retrying that request until it succeeded.
    """
    patches = account_patches(stats)
    succeeded_after: dict[str, float] = {}
    for entry in patches:
        if _is_success(entry["status"]):
            succeeded_after[entry["id"]] = entry["monotonic"]
    lost = sum(
        1
        for entry in patches
        if entry["status"] == 429 and succeeded_after.get(entry["id"], float("-inf")) < entry["monotonic"]
    )
    others = count_status(stats, "429") - count_status(stats, "429", ["scim_patch"])
    return lost + (0 if run_completed else others)


def _is_success(status: Any) -> bool:
    return isinstance(status, int) and 200 <= status < 300
