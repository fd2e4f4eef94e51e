"""Fixtures of the emulator tests: HTTP clients with tokens, and PatchOp bodies."""

from __future__ import annotations

import ssl
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from airflow_provider_dbxscim.emulator import RunningEmulator

PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
FORM = {"grant_type": "client_credentials", "scope": "all-apis"}
SEED: dict[str, Any] = {
    "users": [
        {"userName": "alice.active@example.com", "displayName": "Alice Active", "id": "1000000000000001"},
        {
            "userName": "bob.inactive@example.com",
            "displayName": "Bob Inactive",
            "active": False,
            "id": "1000000000000002",
        },
        {
            "userName": "carol.idp@example.com",
            "displayName": "Carol IdP",
            "active": False,
            "externalId": "entra-7f3c2a10",
            "id": "1000000000000003",
        },
        {
            "userName": "dave.inactive@example.com",
            "displayName": "Dave Inactive",
            "active": False,
            "id": "1000000000000004",
        },
        {
            "userName": "erin.active@example.com",
            "displayName": "Erin Active",
            "externalId": "entra-9b1d4e22",
            "id": "1000000000000005",
        },
        {
            "userName": "frank.inactive@example.com",
            "displayName": "Frank Inactive",
            "active": False,
            "id": "1000000000000006",
        },
        {
            "userName": "grace.inactive@example.com",
            "displayName": "Grace Inactive",
            "active": False,
            "id": "1000000000000007",
        },
        {"userName": "heidi.active@example.com", "displayName": "Heidi Active", "id": "1000000000000008"},
    ],
    "workspaces": {
        "analytics": {
            "users": [
                {"userName": "alice.active@example.com", "id": "2000000000000001"},
                {"userName": "bob.inactive@example.com", "active": False, "id": "2000000000000002"},
                {"userName": "carol.idp@example.com", "active": False, "id": "2000000000000003"},
            ]
        },
        "engineering": {
            "users": [
                {"userName": "bob.inactive@example.com", "active": False, "id": "3000000000000002"},
                {"userName": "dave.inactive@example.com", "active": False, "id": "3000000000000004"},
                {"userName": "heidi.active@example.com", "id": "3000000000000008"},
            ]
        },
    },
}


@pytest.fixture(autouse=True)
def _small_seed(emulator: RunningEmulator) -> None:
    """Replace the example data with the eight users and two workspaces these tests name."""
    emulator.state.seed(SEED)


@pytest.fixture(scope="session")
def tls() -> ssl.SSLContext:
    """One TLS context for all clients: loading the CA bundle per client costs more than a test."""
    return ssl.create_default_context()


@pytest.fixture
def http(emulator: RunningEmulator, tls: ssl.SSLContext) -> Iterator[httpx.Client]:
    """An unauthenticated client of the emulator's base URL."""
    with httpx.Client(base_url=emulator.url, timeout=10.0, verify=tls) as client:
        yield client


@pytest.fixture
def get_token(http: httpx.Client, emulator: RunningEmulator) -> Callable[..., str]:
    """Fetch an account token, or a workspace token when given a workspace name."""

    def fetch(workspace: str | None = None) -> str:
        path = (
            f"/ws/{workspace}/oidc/v1/token"
            if workspace
            else f"/oidc/accounts/{emulator.account_id}/v1/token"
        )
        response = http.post(path, auth=(emulator.client_id, emulator.client_secret), data=FORM)
        response.raise_for_status()
        return response.json()["access_token"]

    return fetch


@pytest.fixture
def scim(
    emulator: RunningEmulator, get_token: Callable[..., str], tls: ssl.SSLContext
) -> Iterator[httpx.Client]:
    """A client of the account SCIM base ``.../scim/v2`` carrying an account token."""
    base = f"{emulator.url}/api/2.0/accounts/{emulator.account_id}/scim/v2"
    headers = {"Authorization": f"Bearer {get_token()}"}
    with httpx.Client(base_url=base, headers=headers, timeout=10.0, verify=tls) as client:
        yield client


@pytest.fixture
def workspace_scim(
    emulator: RunningEmulator, get_token: Callable[..., str]
) -> Iterator[Callable[[str], httpx.Client]]:
    """Open clients of a workspace's SCIM base carrying that workspace's token."""
    clients: list[httpx.Client] = []

    def open_client(name: str) -> httpx.Client:
        base = f"{emulator.workspace_url(name)}/api/2.0/preview/scim/v2"
        headers = {"Authorization": f"Bearer {get_token(name)}"}
        clients.append(httpx.Client(base_url=base, headers=headers, verify=tls))
        return clients[-1]

    yield open_client
    for client in clients:
        client.close()


@pytest.fixture
def patch_op() -> Callable[..., dict[str, Any]]:
    """Build a PatchOp body with one operation, ``replace active`` by default."""

    def build(value: Any = True, path: str | None = "active", op: str = "replace") -> dict[str, Any]:
        operation: dict[str, Any] = {"op": op, "value": value}
        if path is not None:
            operation["path"] = path
        return {"schemas": [PATCH_OP], "Operations": [operation]}

    return build
