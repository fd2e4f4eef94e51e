"""Tests of workspaces and of the identity provider's resync."""

from __future__ import annotations

import pytest

ANALYTICS_BOB = "/Users/2000000000000002"


def test_workspace_users_have_their_own_ids(workspace_scim):
    """A workspace lists its own users, linked by userName and with ids unlike the account's."""
    client = workspace_scim("analytics")

    body = client.get("/Users", params={"filter": 'userName eq "BOB.inactive@example.com"'}).json()

    assert [user["id"] for user in body["Resources"]] == ["2000000000000002"]
    assert client.get(ANALYTICS_BOB).json()["active"] is False


def test_new_workspace_from_the_python_api(emulator, workspace_scim):
    """workspace_url creates an empty workspace reachable under its own host prefix."""

    client = workspace_scim("sandbox")

    assert client.get("/Users").json()["totalResults"] == 0
    assert "sandbox" in emulator.state.workspaces()


def test_unknown_workspace_is_404(http):
    """SCIM of a workspace that does not exist gets 404."""

    response = http.get("/ws/nowhere/api/2.0/preview/scim/v2/Users")

    assert response.status_code == 404


def test_workspace_activation_needs_an_active_account_user(workspace_scim, scim, emulator, patch_op):
    """Activating in a workspace fails with 400 while the account user is inactive and works after."""
    client = workspace_scim("analytics")

    refused = client.patch(ANALYTICS_BOB, json=patch_op(True))
    scim.patch("/Users/1000000000000002", json=patch_op(True))
    accepted = client.patch(ANALYTICS_BOB, json=patch_op(True))

    assert refused.status_code == 400
    assert refused.json()["scimType"] == "invalidValue"
    assert accepted.status_code == 200
    assert emulator.state.get_user("bob.inactive@example.com", workspace="analytics")["active"] is True


def test_account_reactivation_leaves_workspaces_inactive(scim, emulator, patch_op):
    """Reactivating at the account level does not reactivate the user in its workspaces."""

    scim.patch("/Users/1000000000000002", json=patch_op(True))

    assert emulator.state.get_user("bob.inactive@example.com")["active"] is True
    assert emulator.state.get_user("bob.inactive@example.com", workspace="engineering")["active"] is False


def test_account_deactivation_reaches_workspaces(scim, emulator, patch_op):
    """Deactivating at the account level deactivates the user in every workspace."""

    scim.patch("/Users/1000000000000008", json=patch_op(False))

    assert emulator.state.get_user("heidi.active@example.com", workspace="engineering")["active"] is False


def test_workspace_patches_are_logged_with_their_scope(workspace_scim, emulator, patch_op):
    """Each workspace PATCH is recorded with the workspace name as its scope."""
    emulator.state.set_active("dave.inactive@example.com", True)

    workspace_scim("engineering").patch("/Users/3000000000000004", json=patch_op(True))

    patch = emulator.state.stats()["patches"][0]
    assert (patch["scope"], patch["userName"], patch["active"], patch["status"]) == (
        "engineering",
        "dave.inactive@example.com",
        True,
        200,
    )


@pytest.mark.parametrize(("resync", "after"), [(None, True), (60.0, False)])
def test_idp_resync_switch(scim, emulator, patch_op, resync, after):
    """With idp_resync_seconds an IdP-managed user is deactivated again that long after reactivation."""
    emulator.state.configure(idp_resync_seconds=resync)
    scim.patch("/Users/1000000000000003", json=patch_op(True))
    emulator.state.advance_clock(59)
    before = scim.get("/Users/1000000000000003").json()["active"]

    emulator.state.advance_clock(2)

    assert before is True
    assert scim.get("/Users/1000000000000003").json()["active"] is after
    assert len(emulator.state.stats()["idp_deactivations"]) == (0 if after else 1)


def test_idp_resync_spares_users_without_external_id(scim, emulator, patch_op):
    """A user without externalId stays active whatever idp_resync_seconds says."""
    emulator.state.configure(idp_resync_seconds=1.0)
    scim.patch("/Users/1000000000000002", json=patch_op(True))

    emulator.state.advance_clock(5)

    assert emulator.state.get_user("bob.inactive@example.com")["active"] is True
