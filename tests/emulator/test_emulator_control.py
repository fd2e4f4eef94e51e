"""Tests of the control surfaces: the Python API, the admin routes, the command line and the child process."""

from __future__ import annotations

import httpx
import pytest

from airflow_provider_dbxscim.emulator import (
    EXAMPLE_SEED,
    EmulatorConfig,
    EmulatorControl,
    EmulatorState,
    load_seed,
    make_users,
    start_emulator_process,
    switch_names,
)
from airflow_provider_dbxscim.emulator.__main__ import build_parser, config_from_args

FORM = {"grant_type": "client_credentials", "scope": "all-apis"}


def test_seed_replace_and_merge(emulator):
    """seed replaces all users by default and updates or adds users with replace=False."""

    emulator.state.seed({"users": [{"userName": "BOB.inactive@example.com", "active": True}]}, replace=False)
    merged = emulator.state.users()
    emulator.state.seed({"users": [{"userName": "only@example.com"}]})
    replaced = emulator.state.users()

    assert len(merged) == 8
    assert emulator.state.get_user("only@example.com")["active"] is True
    assert [user["userName"] for user in replaced] == ["only@example.com"]
    assert next(user for user in merged if user["id"] == "1000000000000002")["active"] is True


def test_reset_returns_to_the_start_up_seed_and_switches(emulator, scim):
    """reset restores the seed and switches given at start-up and clears tokens and statistics."""
    emulator.state.configure(max_page_size=3)
    scim.get("/Users")

    emulator.state.reset()

    assert len(emulator.state.users()) == len(load_seed(EXAMPLE_SEED)["users"])
    assert emulator.state.config.max_page_size == 100
    assert emulator.state.stats()["requests"] == {}
    assert emulator.state.issued_tokens() == []


def test_configure_refuses_unknown_switches_and_bad_values(emulator):
    """configure raises ValueError for an unknown switch or an out-of-range value."""

    with pytest.raises(ValueError, match="unknown emulator switch"):
        emulator.state.configure(no_such_switch=1)
    with pytest.raises(ValueError, match="invalid_token_status"):
        emulator.state.configure(invalid_token_status=500)


def test_users_are_copies(emulator):
    """users and get_user hand out copies, so a test cannot change the emulator by accident."""
    user = emulator.state.get_user("bob.inactive@example.com")

    user["active"] = True

    assert emulator.state.get_user("bob.inactive@example.com")["active"] is False


def test_stats_count_requests_and_log_patches(emulator, scim, patch_op):
    """stats counts requests by route kind and status and logs every PATCH with its outcome."""

    scim.get("/Users/1000000000000002")
    scim.get("/Users/0")
    scim.patch("/Users/1000000000000002", json=patch_op(True))

    stats = emulator.state.stats()
    patch = stats["patches"][0]
    assert stats["requests"]["scim_get"] == {"200": 1, "404": 1}
    assert stats["requests"]["token"] == {"200": 1}
    assert (patch["id"], patch["userName"], patch["active"], patch["status"]) == (
        "1000000000000002",
        "bob.inactive@example.com",
        True,
        200,
    )
    assert patch["monotonic"] > 0
    assert patch["time"] > 1_600_000_000
    assert stats["tokens"][0]["token"] in emulator.state.issued_tokens()


@pytest.mark.parametrize(("id_seed", "same_as_default"), [(0, True), (1, False)])
def test_id_seed_switch(id_seed, same_as_default):
    """Generated ids are 16-digit strings, the same for the same id_seed and different for another."""
    seed = {"users": make_users(3)}

    default = [user["id"] for user in EmulatorState(seed=seed).users()]
    chosen = [user["id"] for user in EmulatorState({"id_seed": id_seed}, seed).users()]

    assert all(len(user_id) == 16 and user_id.isdigit() for user_id in chosen)
    assert (chosen == default) is same_as_default


@pytest.mark.parametrize(
    "seed",
    [
        {"users": [{"active": True}]},
        {"users": [{"userName": "a@example.com", "active": "true"}]},
        {"users": [{"userName": "a@example.com", "nickname": "a"}]},
        {"people": []},
        {"workspaces": {"a/b": {"users": []}}},
    ],
)
def test_bad_seeds_are_refused(seed):
    """A seed without userName, with a string active, unknown fields or a bad workspace name is refused."""

    with pytest.raises(ValueError, match="seed"):
        load_seed(seed)


def test_admin_routes(http, emulator):
    """The admin routes seed, configure, report, change users, move the clock and reset."""

    seeded = http.post("/_emulator/seed", json={"users": [{"userName": "z@example.com", "active": False}]})
    configured = http.patch("/_emulator/config", json={"max_page_size": 5})
    refused = http.patch("/_emulator/config", json={"bogus": 1})
    activated = http.put("/_emulator/users/z@example.com/active", json={"active": True})
    user = http.get("/_emulator/users/z@example.com").json()
    missing = http.get("/_emulator/users/nobody@example.com")
    workspace = http.post("/_emulator/workspaces", json={"name": "lab"}).json()
    advanced = http.post("/_emulator/clock/advance", json={"seconds": 10})
    snapshot = http.get("/_emulator/state").json()
    stats = http.get("/_emulator/stats").json()
    reset = http.post("/_emulator/reset")

    assert [seeded.status_code, configured.status_code, refused.status_code] == [200, 200, 400]
    assert configured.json()["max_page_size"] == 5
    assert configured.json()["client_secret"] == "***"
    assert activated.status_code == 200
    assert user["active"] is True
    assert missing.status_code == 404
    assert len(workspace["id"]) == 16
    assert advanced.status_code == 200
    assert "lab" in snapshot["workspaces"]
    assert stats["requests"] == {}
    assert reset.status_code == 200
    assert http.get("/_emulator/config").json()["max_page_size"] == 100


def test_control_client_mirrors_the_python_api(emulator, get_token, http):
    """EmulatorControl drives an emulator over HTTP with the same method names as EmulatorState."""
    control = EmulatorControl(emulator.url)
    token = get_token()

    control.seed({"users": [{"userName": "c@example.com", "active": False}]}, replace=False)
    control.configure(max_page_size=9)
    control.set_active("c@example.com", True)
    control.expire_tokens()
    refused = http.get(
        f"/api/2.0/accounts/{emulator.account_id}/scim/v2/Users", headers={"Authorization": f"Bearer {token}"}
    )

    assert control.get_user("c@example.com")["active"] is True
    assert control.get_user("nobody@example.com") is None
    assert control.config["max_page_size"] == 9
    assert control.issued_tokens() == [token]
    assert refused.status_code == 401
    assert set(control.workspaces()) == {"analytics", "engineering"}
    assert control.users(workspace="analytics")[0]["id"] == "2000000000000001"
    control.close()


def test_command_line_switches():
    """--set values win over --config, are read as JSON when they parse, and identity flags win over both."""
    args = build_parser().parse_args(
        [
            "--port",
            "0",
            "--set",
            "rate_limit_patch=0",
            "--set",
            'fault_route_kinds=["token"]',
            "--client-id",
            "me",
        ]
    )

    config = config_from_args(args)

    assert config.rate_limit_patch == 0.0
    assert config.fault_route_kinds == ["token"]
    assert config.client_id == "me"
    assert config.client_secret == EmulatorConfig().client_secret


def test_every_switch_is_documented():
    """The README lists every switch of EmulatorConfig."""
    readme = (EXAMPLE_SEED.parent.parent / "emulator" / "README.md").read_text()

    missing = [name for name in switch_names() if f"`{name}`" not in readme]

    assert missing == []


def test_separate_process():
    """start_emulator_process runs the command line on a free port, with its switches, seed and workspaces."""
    config = {"client_secret": "other-secret", "rate_limits_enabled": False}
    seed = {"users": [{"userName": "p@example.com", "active": False}]}

    with start_emulator_process(seed=seed, config=config, workspaces=["lab"]) as process:
        token = httpx.post(
            f"{process.url}/oidc/accounts/{process.account_id}/v1/token",
            auth=(process.client_id, process.client_secret),
            data=FORM,
        )
        users = process.state.users()
        workspace_url = process.workspace_url("lab")
        workspaces = process.state.workspaces()

    assert process.url.startswith("http://127.0.0.1:")
    assert process.client_secret == "other-secret"
    assert token.status_code == 200
    assert [user["userName"] for user in users] == ["p@example.com"]
    assert workspace_url == f"{process.url}/ws/lab"
    assert set(workspaces) == {"lab"}
    assert process.process.returncode is not None
