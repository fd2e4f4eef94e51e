"""
Seed data: the users and workspaces an emulator starts with.

Format::

    {"users": [{"userName": "a@example.com", "active": false, "externalId": "...", "displayName": "...",
                "id": "1234567890123456"}],
     "workspaces": {"analytics": {"users": [{"userName": "a@example.com", "active": false}]}}}

Only ``userName`` is required; ``active`` defaults to true and missing ids are generated.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

SeedSource = Mapping[str, Any] | str | Path
_USER_FIELDS = {"userName", "active", "externalId", "displayName", "id"}
EXAMPLE_SEED = Path(__file__).resolve().parent.parent / "example_data" / "seed.json"


def load_seed(source: SeedSource | None) -> dict[str, Any]:
    """
    Read and check seed data.

    :param source: a mapping, or the path of a JSON file; None gives an empty seed.
    :raises ValueError: when the data does not follow the seed format.
    """
    if source is None:
        return {"users": [], "workspaces": {}}
    data = json.loads(Path(source).read_text()) if isinstance(source, (str, Path)) else dict(source)
    if not isinstance(data, dict) or set(data) - {"users", "workspaces"}:
        raise ValueError("seed must be an object with 'users' and/or 'workspaces'")
    users = _users(data.get("users", []), "users")
    workspaces = data.get("workspaces", {})
    if not isinstance(workspaces, dict):
        raise ValueError("seed 'workspaces' must map a workspace name to {'users': [...]}")
    checked = {}
    for name, workspace in workspaces.items():
        if not isinstance(workspace, dict) or not name or "/" in name:
            raise ValueError(f"seed workspace {name!r} must be an object with a URL-safe name")
        checked[name] = {"users": _users(workspace.get("users", []), f"workspaces.{name}.users")}
    return {"users": users, "workspaces": checked}


def _users(raw: Any, where: str) -> list[dict[str, Any]]:
    if not isinstance(raw, list):
        raise ValueError(f"seed '{where}' must be a list")
    users = []
    for position, user in enumerate(raw):
        if not isinstance(user, dict) or not isinstance(user.get("userName"), str) or not user["userName"]:
            raise ValueError(f"seed '{where}[{position}]' needs a userName string")
        unknown = set(user) - _USER_FIELDS
        if unknown:
            raise ValueError(f"seed '{where}[{position}]' has unknown fields {sorted(unknown)}")
        if not isinstance(user.get("active", True), bool):
            raise ValueError(f"seed '{where}[{position}]' active must be a JSON boolean")
        users.append(dict(user))
    return users


def make_users(
    count: int,
    *,
    prefix: str = "user",
    domain: str = "example.com",
    inactive_every: int = 1,
    external_every: int = 0,
) -> list[dict[str, Any]]:
    """
    Build seed users ``user0001@example.com`` and on, for tests and benchmarks that need many.

    :param count: how many users.
    :param prefix: local part prefix.
    :param domain: e-mail domain.
    :param inactive_every: every n-th user is inactive (1 makes all inactive, 0 none).
    :param external_every: every n-th user has an ``externalId`` (0 none).
    """
    users = []
    for number in range(1, count + 1):
        user: dict[str, Any] = {
            "userName": f"{prefix}{number:04d}@{domain}",
            "displayName": f"{prefix.title()} {number}",
            "active": not (inactive_every and number % inactive_every == 0),
        }
        if external_every and number % external_every == 0:
            user["externalId"] = f"idp-{prefix}-{number:04d}"
        users.append(user)
    return users
