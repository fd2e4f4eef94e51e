"""
Measure the emulator's throughput on loopback with its limits lifted.

Starts the emulator as a separate process, then sends a bounded number of SCIM requests (70 % GET by id,
10 % filtered list, 20 % PATCH of ``active``) as raw HTTP/1.1 over a few keep-alive connections from one
asyncio loop, and prints the requests/second figure and the emulator's own CPU time per request.

Usage: ``python scripts/emulator_bench.py [--requests 8000] [--clients 8] [--max-seconds 60]``
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from airflow_provider_dbxscim.emulator import make_users, start_emulator_process

PATCH_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:PatchOp"


async def _connection(
    host: str, port: int, plan: list[bytes], deadline: float, statuses: Counter[int]
) -> None:
    reader, writer = await asyncio.open_connection(host, port)
    try:
        for request in plan:
            if time.time() > deadline:
                break
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
            statuses[int(head[9:12])] += 1
            length = _content_length(head)
            if length:
                await reader.readexactly(length)
    finally:
        writer.close()


def _content_length(head: bytes) -> int:
    for line in head.lower().split(b"\r\n"):
        if line.startswith(b"content-length:"):
            return int(line.split(b":", 1)[1])
    return 0


async def _load(url: str, plans: list[list[bytes]], deadline: float) -> tuple[Counter[int], float]:
    parts = urlsplit(url)
    statuses: Counter[int] = Counter()
    await asyncio.gather(
        *(_connection(parts.hostname or "", parts.port or 80, plan, deadline, statuses) for plan in plans)
    )
    return statuses, time.time()


def _request(base_path: str, host: str, token: str, user: dict[str, Any], number: int) -> bytes:
    # Raw HTTP/1.1 on keep-alive connections: a full Python client costs more CPU per request than the
    # emulator does, and on two cores the client would be what is measured.
    if number % 10 < 7:
        method, target, body = "GET", f"{base_path}/{user['id']}", b""
    elif number % 10 == 7:
        query = urlencode({"filter": f'userName eq "{user["userName"]}"'})
        method, target, body = "GET", f"{base_path}?{query}", b""
    else:
        operation = {"op": "replace", "path": "active", "value": bool(number % 2)}
        method, target = "PATCH", f"{base_path}/{user['id']}"
        body = json.dumps({"schemas": [PATCH_SCHEMA], "Operations": [operation]}).encode()
    head = (
        f"{method} {target} HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {token}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


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
    parser.add_argument("--clients", type=int, default=8, help="keep-alive connections (default 8)")
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
        base_path = f"/api/2.0/accounts/{emulator.account_id}/scim/v2/Users"
        host = urlsplit(emulator.url).netloc
        plans = [
            [
                _request(base_path, host, token, users[n % len(users)], n)
                for n in range(k, args.requests, args.clients)
            ]
            for k in range(args.clients)
        ]
        cpu_before = _cpu_seconds(emulator.process.pid)
        start_at = time.time()
        statuses, finished = asyncio.run(_load(emulator.url, plans, start_at + args.max_seconds))
        cpu_after = _cpu_seconds(emulator.process.pid)

    elapsed = finished - start_at
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
