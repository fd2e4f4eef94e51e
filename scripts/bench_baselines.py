"""
The two baselines the provider is compared with, run against the same emulator settings.

* The official ``databricks-sdk``: ``AccountClient(..., auth_type="oauth-m2m")``, then user by user a lookup
  with ``filter=userName eq "x"`` and, for an inactive user, a PatchOp setting ``active``.
* A shell script: the real thing, bash with curl and jq (not a Python port). One token, then per user one
  curl for the lookup, one jq to read it, and one curl for the PATCH of an inactive user; every curl is a
  new process and a new connection, as in a script.

Both skip users that are already active and report the same outcomes as the operator, so the three do the
same work.
"""

from __future__ import annotations

import os
import subprocess
import time
from collections import Counter
from pathlib import Path
from typing import Any

SHELL_TIMEOUT = 900.0
SHELL_SCRIPT = r"""
set -euo pipefail
token=$(curl -sS -K <(printf 'user = "%s:%s"\n' "$CLIENT_ID" "$CLIENT_SECRET") \
  -d grant_type=client_credentials -d scope=all-apis "$HOST/oidc/accounts/$ACCOUNT_ID/v1/token" \
  | jq -r .access_token)
users="$HOST/api/2.0/accounts/$ACCOUNT_ID/scim/v2/Users"
body='{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","path":"active","value":true}]}'
while IFS= read -r name; do
  found=$(curl -sS -G -H "Authorization: Bearer $token" \
    --data-urlencode "filter=userName eq \"$name\"" "$users" \
    | jq -r '(.Resources // [])[0] // {} | "\(.id // "-") \(.active // "-")"')
  read -r id active <<< "$found"
  if [ "$id" = "-" ]; then echo not_found; continue; fi
  if [ "$active" = true ]; then echo already_active; continue; fi
  status=$(curl -sS -o /dev/null -w '%{http_code}' -X PATCH -H "Authorization: Bearer $token" \
    -H 'Content-Type: application/scim+json' --data "$body" "$users/$id")
  case "$status" in 200|204) echo reactivated ;; *) echo failed ;; esac
done < "$LIST"
"""


def run_sdk_loop(url: str, account_id: str, client_id: str, secret: str, names: list[str]) -> dict[str, Any]:
    """Reactivate ``names`` one by one with the official SDK; return the seconds taken and the outcomes."""
    from databricks.sdk import AccountClient
    from databricks.sdk.service.iam import Patch, PatchOp, PatchSchema

    operations = [Patch(op=PatchOp.REPLACE, path="active", value=True)]
    schemas = [PatchSchema.URN_IETF_PARAMS_SCIM_API_MESSAGES_2_0_PATCH_OP]
    counts: Counter[str] = Counter()
    started = time.monotonic()
    client = AccountClient(
        host=url, account_id=account_id, client_id=client_id, client_secret=secret, auth_type="oauth-m2m"
    )
    for name in names:
        users = list(client.users.list(filter=f'userName eq "{name}"'))
        if not users:
            counts["not_found"] += 1
        elif users[0].active:
            counts["already_active"] += 1
        else:
            client.users.patch(users[0].id, operations=operations, schemas=schemas)
            counts["reactivated"] += 1
    return {"seconds": time.monotonic() - started, "counts": dict(counts), "users": len(names)}


def run_shell_script(
    url: str, account_id: str, client_id: str, secret: str, names: list[str], workdir: Path
) -> dict[str, Any]:
    """Reactivate ``names`` with the bash+curl+jq script; return the seconds taken and the outcomes."""
    list_file = workdir / "shell-list.txt"
    list_file.write_text("".join(f"{name}\n" for name in names))
    env = {
        **os.environ,
        "HOST": url,
        "ACCOUNT_ID": account_id,
        "CLIENT_ID": client_id,
        "CLIENT_SECRET": secret,
        "LIST": str(list_file),
    }
    started = time.monotonic()
    done = subprocess.run(
        ["bash", "-c", SHELL_SCRIPT],
        env=env,
        capture_output=True,
        text=True,
        timeout=SHELL_TIMEOUT,
        stdin=subprocess.DEVNULL,
        check=False,
    )
    seconds = time.monotonic() - started
    if done.returncode != 0:
        raise RuntimeError(f"the shell baseline exited with {done.returncode}: {done.stderr[-2000:]}")
    counts = Counter(line.strip() for line in done.stdout.splitlines() if line.strip())
    return {"seconds": seconds, "counts": dict(counts), "users": len(names)}
