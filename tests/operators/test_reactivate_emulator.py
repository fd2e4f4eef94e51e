from __future__ import annotations

import pytest

from airflow_provider_dbxscim.operators.reactivate import ReactivateAccountUserOperator

SEED = {
    "users": [
        {"userName": "ann@example.com", "active": False, "id": "1000000000000001"},
        {"userName": "bob@example.com", "active": True, "id": "1000000000000002"},
        {"userName": "cat@example.com", "active": False, "id": "1000000000000003", "externalId": "entra-3"},
    ],
    "workspaces": {
        "analytics": {
            "users": [
                {"userName": "ann@example.com", "active": False, "id": "2000000000000001"},
                {"userName": "bob@example.com", "active": False, "id": "2000000000000002"},
            ]
        }
    },
}
NAMES = ["ann@example.com", "Bob@Example.com", "cat@example.com", "ghost@example.com"]


def outcomes(result):
    return {user["user_name"]: user["outcome"] for user in result["users"]}


def patches(emu):
    return [(entry["scope"], entry["userName"], entry["status"]) for entry in emu.state.stats()["patches"]]


@pytest.fixture
def seeded(emu):
    emu.state.seed(SEED)
    return emu


def test_dry_run_reads_everything_and_sends_no_patch(seeded, context):
    """A dry run over the emulator reports would_reactivate and the emulator logs no PATCH at all."""
    operator = ReactivateAccountUserOperator(task_id="reactivate", user_names=NAMES, dry_run=True)

    result = operator.execute(context)

    assert outcomes(result) == {
        "ann@example.com": "would_reactivate",
        "bob@example.com": "already_active",
        "cat@example.com": "would_reactivate",
        "ghost@example.com": "not_found",
    }
    assert patches(seeded) == []
    assert "scim_patch" not in seeded.state.stats()["requests"]


def test_a_second_try_sends_no_patch_and_still_reports_what_the_first_changed(seeded, context):
    """A retry of the same task instance sends zero PATCH and reports the users the first try reactivated."""
    operator = ReactivateAccountUserOperator(task_id="reactivate", user_names=NAMES)
    first = operator.execute(context)
    sent_by_first = len(patches(seeded))

    second = operator.execute(context)

    assert sent_by_first == 2
    assert len(patches(seeded)) == sent_by_first
    assert (
        outcomes(second)
        == outcomes(first)
        == {
            "ann@example.com": "reactivated",
            "bob@example.com": "already_active",
            "cat@example.com": "reactivated",
            "ghost@example.com": "not_found",
        }
    )
    assert second["users"][0]["detail"] == "reactivated by an earlier try of this task"


def test_a_new_run_reports_users_as_already_active(seeded, make_context):
    """Another DAG run has its own memory, so users reactivated by an earlier run are already_active."""
    operator = ReactivateAccountUserOperator(task_id="reactivate", user_names=NAMES[:1])
    operator.execute(make_context("manual__1"))

    result = operator.execute(make_context("manual__2"))

    assert outcomes(result) == {"ann@example.com": "already_active"}
    assert len(patches(seeded)) == 1


def test_workspaces_are_reactivated_after_the_account_with_their_own_ids(seeded, context):
    """Every account PATCH comes before the first workspace PATCH, and workspace ids are looked up."""
    workspace = seeded.workspace_url("analytics")
    operator = ReactivateAccountUserOperator(
        task_id="reactivate", user_names=NAMES, workspace_hosts=[workspace], skip_idp_managed=True
    )

    result = operator.execute(context)

    assert patches(seeded) == [
        ("account", "ann@example.com", 200),
        ("analytics", "ann@example.com", 200),
        ("analytics", "bob@example.com", 200),
    ]
    assert [entry["id"] for entry in seeded.state.stats()["patches"]][1:] == [
        "2000000000000001",
        "2000000000000002",
    ]
    assert [user.get("workspaces") for user in result["users"]] == [
        ["reactivated"],
        ["reactivated"],
        [None],
        [None],
    ]
    assert seeded.state.get_user("ann@example.com", "analytics")["active"] is True
