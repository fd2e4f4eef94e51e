"""
Measure the emulator's throughput on loopback with its limits lifted.

Starts the emulator as a separate process, then sends a bounded number of SCIM requests (70 % GET by id,
10 % filtered list, 20 % PATCH of ``active``) with httpx from a few client processes, one keep-alive
connection each, and prints the requests/second figure. Client processes rather than threads, because a
Python HTTP client spends more CPU per request than the emulator does and one GIL would be the bottleneck.

Usage: ``python scripts/emulator_bench.py [--requests 8000] [--clients 2] [--max-seconds 60]``
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from airflow_provider_dbxscim.emulator import make_users, start_emulator_process

PATCH_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:PatchOp"


def _client(
    base: str, token: str, users: list[dict[str, Any]], numbers: range, start_at: float, deadline: float
) -> tuple[Counter[int], float]:
    statuses: Counter[int] = Counter()
    with httpx.Client(headers={"Authorization": f"Bearer {token}"}, timeout=30.0) as client:
        # Requests are built before the clock starts: building them is client work, not emulator work.
        plan = [_request(client, base, users[number % len(users)], number) for number in numbers]
        time.sleep(max(0.0, start_at - time.time()))
        for request in plan:
            if time.time() > deadline:
                break
            statuses[client.send(request).status_code] += 1
    return statuses, time.time()


def _request(client: httpx.Client, base: str, user: dict[str, Any], number: int) -> httpx.Request:
    if number % 10 < 7:
        return client.build_request("GET", f"{base}/{user['id']}")
    if number % 10 == 7:
        return client.build_request("GET", base, params={"filter": f'userName eq "{user["userName"]}"'})
    operation = {"op": "replace", "path": "active", "value": bool(number % 2)}
    return client.build_request(
        "PATCH", f"{base}/{user['id']}", json={"schemas": [PATCH_SCHEMA], "Operations": [operation]}
    )


def _cpu_seconds(pid: int) -> float | None:
    """CPU time a process has used, from /proc on Linux; None elsewhere."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main() -> int:
    """Run the benchmark and print the figure."""
    parser = argparse.ArgumentParser(description="Measure the emulator's requests/second on loopback.")
    parser.add_argument("--requests", type=int, default=8000, help="requests to send in total (default 8000)")
    parser.add_argument("--clients", type=int, default=2, help="client processes (default 2)")
    parser.add_argument("--max-seconds", type=float, default=60.0, help="stop sending after this long")
    parser.add_argument("--users", type=int, default=500, help="users to seed (default 500)")
    args = parser.parse_args()

    seed = {"users": make_users(args.users, inactive_every=2)}
    with start_emulator_process(seed=seed, config={"rate_limits_enabled": False}) as emulator:
        token = httpx.post(
            f"{emulator.url}/oidc/accounts/{emulator.account_id}/v1/token",
            auth=(emulator.client_id, emulator.client_secret),
            data={"grant_type": "client_credentials", "scope": "all-apis"},
        ).json()["access_token"]
        users = [{"id": user["id"], "userName": user["userName"]} for user in emulator.state.users()]
        base = f"{emulator.url}/api/2.0/accounts/{emulator.account_id}/scim/v2/Users"
        start_at = time.time() + 1.0
        deadline = start_at + args.max_seconds
        shares = [range(k, args.requests, args.clients) for k in range(args.clients)]
        cpu_before = _cpu_seconds(emulator.process.pid)
        with multiprocessing.get_context("spawn").Pool(args.clients) as pool:
            jobs = [
                pool.apply_async(_client, (base, token, users, share, start_at, deadline)) for share in shares
            ]
            results = [job.get() for job in jobs]
        cpu_after = _cpu_seconds(emulator.process.pid)

    statuses = sum((counts for counts, _ in results), Counter())
    elapsed = max(finished for _, finished in results) - start_at
    total = sum(statuses.values())
    print(f"requests: {total}  seconds: {elapsed:.2f}  statuses: {dict(sorted(statuses.items()))}")
    print(f"requests/second: {total / elapsed:.0f}")
    if cpu_before is not None and cpu_after is not None and cpu_after > cpu_before:
        # The clients compete with the emulator for the same cores; its own CPU time per request bounds
        # what one emulator process can serve when the load comes from elsewhere.
        per_request = (cpu_after - cpu_before) / total
        print(
            f"emulator CPU per request: {per_request * 1e6:.0f} us (one core serves {1 / per_request:.0f}/s)"
        )
    return 0 if set(statuses) == {200} else 1


if __name__ == "__main__":
    sys.exit(main())
