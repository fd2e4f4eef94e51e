"""Write the bundled demo data: the emulator's seed and the upstream list the demo DAG reactivates.

Deterministic: the same files come out on every run. Run it again after changing the numbers below:
``.venv/bin/python scripts/make_demo_data.py``.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

DATA = Path(__file__).resolve().parents[1] / "airflow_provider_dbxscim" / "example_data"
ACCOUNT_USERS = 1200
INACTIVE_SHARE = 0.25
IDP_SHARE = 0.10
LISTED_INACTIVE = 60
LISTED_ACTIVE = 15
LISTED_UNKNOWN = 8
FIRST = ["ada", "alan", "barbara", "claude", "donald", "edsger", "frances", "grace", "john", "katherine"]
LAST = [
    "lovelace",
    "turing",
    "liskov",
    "shannon",
    "knuth",
    "dijkstra",
    "allen",
    "hopper",
    "backus",
    "johnson",
]

# The hand-written users the emulator's own tests name; they stay first and unchanged.
FIXED_USERS = [
    {"userName": "alice.active@example.com", "displayName": "Alice Active", "active": True},
    {"userName": "bob.inactive@example.com", "displayName": "Bob Inactive", "active": False},
    {
        "userName": "carol.idp@example.com",
        "displayName": "Carol IdP",
        "active": False,
        "externalId": "entra-7f3c2a10",
    },
    {"userName": "dave.inactive@example.com", "displayName": "Dave Inactive", "active": False},
    {
        "userName": "erin.active@example.com",
        "displayName": "Erin Active",
        "active": True,
        "externalId": "entra-9b1d4e22",
    },
    {"userName": "frank.inactive@example.com", "displayName": "Frank Inactive", "active": False},
    {"userName": "grace.inactive@example.com", "displayName": "Grace Inactive", "active": False},
    {"userName": "heidi.active@example.com", "displayName": "Heidi Active", "active": True},
]


def make_users(rng: random.Random) -> list[dict]:
    users = [dict(user, id=f"{1000000000000001 + n}") for n, user in enumerate(FIXED_USERS)]
    for n in range(len(users), ACCOUNT_USERS):
        first, last = rng.choice(FIRST), rng.choice(LAST)
        user = {
            "id": f"{1000000000000001 + n}",
            "userName": f"{first}.{last}.{n:04d}@example.com",
            "displayName": f"{first.title()} {last.title()}",
            "active": rng.random() >= INACTIVE_SHARE,
        }
        if rng.random() < IDP_SHARE:
            user["externalId"] = f"entra-{rng.getrandbits(32):08x}"
        users.append(user)
    return users


def make_workspaces(users: list[dict], rng: random.Random) -> dict:
    workspaces = {}
    for number, name in enumerate(("analytics", "engineering"), start=2):
        members = rng.sample(users, 150)
        workspaces[name] = {
            "users": [
                {"userName": user["userName"], "active": user["active"], "id": f"{number}{user['id'][1:]}"}
                for user in sorted(members, key=lambda user: user["id"])
            ]
        }
    return workspaces


def make_upstream_list(users: list[dict], rng: random.Random) -> list[str]:
    inactive = [user["userName"] for user in users[len(FIXED_USERS) :] if not user["active"]]
    active = [user["userName"] for user in users[len(FIXED_USERS) :] if user["active"]]
    listed = rng.sample(inactive, LISTED_INACTIVE) + rng.sample(active, LISTED_ACTIVE)
    listed += [f"nobody.{n:02d}@example.com" for n in range(LISTED_UNKNOWN)]
    rng.shuffle(listed)
    lines = ["# Users to reactivate, one userName per line; blank lines and # comments are ignored."]
    for n, name in enumerate(listed):
        if n % 10 == 3:
            name = name.upper()
        elif n % 10 == 7:
            name = f"  {name.title()}  "
        lines.append(name)
        if n % 12 == 5:
            lines.append(name.strip().lower())
    lines += ["", "not-an-email", "Ada Lovelace <ada@example.com>"]
    return lines


def main() -> None:
    rng = random.Random(20261203)
    users = make_users(rng)
    seed = {"users": users, "workspaces": make_workspaces(users, rng)}
    (DATA / "seed.json").write_text(json.dumps(seed, indent=1) + "\n")
    lines = make_upstream_list(users, rng)
    (DATA / "users_to_reactivate.txt").write_text("\n".join(lines) + "\n")
    inactive = sum(1 for user in users if not user["active"])
    idp = sum(1 for user in users if "externalId" in user)
    print(f"seed.json: {len(users)} users, {inactive} inactive, {idp} with externalId")
    print(f"users_to_reactivate.txt: {len(lines)} lines")


if __name__ == "__main__":
    main()
