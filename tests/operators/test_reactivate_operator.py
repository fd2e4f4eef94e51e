from __future__ import annotations

import json

import pytest
from structlog.testing import capture_logs

from airflow_provider_dbxscim.exceptions import (
    ConfigurationError,
    DbxScimError,
    PermissionDeniedError,
    ServiceUnavailableError,
)
from airflow_provider_dbxscim.operators.outcomes import XCOM_BUDGET_BYTES, serialized_size
from airflow_provider_dbxscim.operators.progress import ReactivationProgress
from airflow_provider_dbxscim.operators.reactivate import ReactivateAccountUserOperator

WS = "https://dbc-1.cloud.databricks.com"


def make_operator(**kwargs):
    kwargs.setdefault("task_id", "reactivate")
    return ReactivateAccountUserOperator(**kwargs)


def outcomes(result):
    return {user["user_name"]: user["outcome"] for user in result["users"]}


def test_inactive_user_is_reactivated_with_one_patch(fake_hook, context):
    """An inactive user gets exactly one PATCH and the outcome reactivated."""
    fake_hook.add("ann@x.io", active=False, user_id="1001")

    result = make_operator(user_names=["Ann@X.io"]).execute(context)

    assert outcomes(result) == {"ann@x.io": "reactivated"}
    assert fake_hook.patches == [("account", "1001")]
    assert result["counts"]["reactivated"] == 1


def test_active_user_is_reported_and_left_alone(fake_hook, context):
    """An active user costs no PATCH and is reported already_active."""
    fake_hook.add("bob@x.io", active=True, user_id="1002")

    result = make_operator(user_names=["bob@x.io"]).execute(context)

    assert outcomes(result) == {"bob@x.io": "already_active"}
    assert fake_hook.patches == []


def test_unknown_user_is_not_found(fake_hook, context):
    """A userName the account does not know is not_found, with a detail."""
    result = make_operator(user_names=["ghost@x.io"]).execute(context)

    assert result["users"] == [
        {
            "user_name": "ghost@x.io",
            "id": None,
            "outcome": "not_found",
            "detail": "no account user has this userName or id",
        }
    ]


def test_invalid_and_duplicate_entries_are_reported_not_fatal(fake_hook, context):
    """Lines that are not e-mail-like become invalid records and duplicates are counted."""
    fake_hook.add("ann@x.io", active=True, user_id="1001")

    result = make_operator(user_names=["ann@x.io", "ANN@x.io", "Ann Smith", "userName"]).execute(context)

    assert outcomes(result) == {"Ann Smith": "invalid", "userName": "invalid", "ann@x.io": "already_active"}
    assert result["duplicates"] == 1


def test_one_failure_does_not_stop_the_batch_and_fails_the_task_at_the_end(fake_hook, context):
    """A failing user is recorded with the error's message, the rest go on, then the task fails."""
    fake_hook.add("ann@x.io", active=False, user_id="1001")
    fake_hook.add("bob@x.io", active=False, user_id="1002")
    fake_hook.errors["1001"] = ServiceUnavailableError("PATCH user 1001 failed with HTTP 503.", status=503)

    with pytest.raises(DbxScimError, match="1 of 2 users ended as failed"):
        make_operator(user_names=["ann@x.io", "bob@x.io"]).execute(context)

    pushed = context["ti"].xcom_push.call_args.kwargs["value"]
    assert pushed["users"][0]["detail"] == "PATCH user 1001 failed with HTTP 503."
    assert outcomes(pushed) == {"ann@x.io": "failed", "bob@x.io": "reactivated"}
    assert fake_hook.patches == [("account", "1002")]


def test_fail_on_never_succeeds_despite_failures(fake_hook, context):
    """With fail_on="never" the task returns its report even when users failed."""
    fake_hook.add("ann@x.io", active=False, user_id="1001")
    fake_hook.errors["1001"] = ServiceUnavailableError("PATCH user 1001 failed with HTTP 503.")

    result = make_operator(user_names=["ann@x.io"], fail_on="never").execute(context)

    assert result["counts"]["failed"] == 1


def test_fail_on_not_found_fails_for_unknown_users(fake_hook, context):
    """With fail_on="not_found" an unknown user fails the task after the batch."""
    fake_hook.add("ann@x.io", active=False, user_id="1001")

    with pytest.raises(DbxScimError, match="failed or not_found"):
        make_operator(user_names=["ann@x.io", "ghost@x.io"], fail_on="not_found").execute(context)

    assert fake_hook.patches == [("account", "1001")]


def test_default_fail_on_tolerates_not_found(fake_hook, context):
    """By default an unknown user is reported but does not fail the task."""
    result = make_operator(user_names=["ghost@x.io"]).execute(context)

    assert result["counts"]["not_found"] == 1


def test_unknown_fail_on_is_refused_when_the_dag_is_parsed():
    """A typo in fail_on fails at construction, not at run time."""
    with pytest.raises(ValueError, match="fail_on must be one of"):
        make_operator(user_names=[], fail_on="sometimes")


def test_more_users_than_max_users_fails_before_any_request(fake_hook, context, mocker):
    """A run over max_users fails before the hook is even created."""
    hook_class = mocker.patch("airflow_provider_dbxscim.operators.reactivate.DbxScimHook")
    names = [f"u{i}@x.io" for i in range(4)]

    with pytest.raises(ConfigurationError, match="4 users exceed max_users=3; nothing was changed"):
        make_operator(user_names=names, max_users=3).execute(context)

    hook_class.assert_not_called()


def test_deny_list_keeps_users_untouched(fake_hook, context):
    """A deny-listed user, by userName or by id, is denied and never patched."""
    fake_hook.add("root@x.io", active=False, user_id="1")
    fake_hook.add("ops@x.io", active=False, user_id="2")
    fake_hook.add("ann@x.io", active=False, user_id="3")

    result = make_operator(
        user_names=["root@x.io", "ops@x.io", "ann@x.io"], deny_list=["ROOT@x.io", "2"]
    ).execute(context)

    assert outcomes(result) == {"root@x.io": "denied", "ops@x.io": "denied", "ann@x.io": "reactivated"}
    assert fake_hook.patches == [("account", "3")]


def test_idp_managed_users_are_flagged_with_one_warning(fake_hook, context):
    """Users with an externalId are reactivated, flagged, and counted in a single warning."""
    fake_hook.add("ann@x.io", active=False, user_id="1", external_id="entra-1")
    fake_hook.add("bob@x.io", active=False, user_id="2", external_id="entra-2")

    with capture_logs() as logs:
        result = make_operator(user_names=["ann@x.io", "bob@x.io"]).execute(context)

    assert [user.get("idp_managed") for user in result["users"]] == [True, True]
    assert outcomes(result) == {"ann@x.io": "reactivated", "bob@x.io": "reactivated"}
    warnings = [log["event"] for log in logs if "identity provider" in log["event"]]
    assert len(warnings) == 1
    assert warnings[0].startswith("2 of the users reactivated have an externalId")


def test_skip_idp_managed_leaves_them_inactive(fake_hook, context):
    """With skip_idp_managed users with an externalId are skipped, others still reactivated."""
    fake_hook.add("ann@x.io", active=False, user_id="1", external_id="entra-1")
    fake_hook.add("bob@x.io", active=False, user_id="2")

    result = make_operator(user_names=["ann@x.io", "bob@x.io"], skip_idp_managed=True).execute(context)

    assert outcomes(result) == {"ann@x.io": "skipped_idp_managed", "bob@x.io": "reactivated"}
    assert fake_hook.patches == [("account", "2")]


@pytest.mark.parametrize("dry_run", [True, "True", "true"])
def test_dry_run_reads_and_changes_nothing(fake_hook, context, dry_run):
    """A dry run reports would_reactivate and sends no PATCH, also when the flag was rendered as text."""
    fake_hook.add("ann@x.io", active=False, user_id="1")
    fake_hook.add("bob@x.io", active=True, user_id="2")

    result = make_operator(user_names=["ann@x.io", "bob@x.io"], dry_run=dry_run).execute(context)

    assert outcomes(result) == {"ann@x.io": "would_reactivate", "bob@x.io": "already_active"}
    assert result["dry_run"] is True
    assert fake_hook.patches == []


def test_dry_run_that_is_not_a_boolean_is_refused(fake_hook, context):
    """A dry_run value that is neither a bool nor its text fails before any change."""
    fake_hook.add("ann@x.io", active=False, user_id="1")

    with pytest.raises(ConfigurationError, match="dry_run must be true or false"):
        make_operator(user_names=["ann@x.io"], dry_run="yes please").execute(context)

    assert fake_hook.patches == []


@pytest.mark.parametrize(("value", "fragment"), [(None, "is None"), ("ann@x.io", "is a string")])
def test_none_or_string_user_names_fail_before_any_request(context, mocker, value, fragment):
    """None or a plain string fails with a message saying what to pass, before the hook exists."""
    hook_class = mocker.patch("airflow_provider_dbxscim.operators.reactivate.DbxScimHook")

    with pytest.raises(ConfigurationError, match=fragment):
        make_operator(user_names=value).execute(context)

    hook_class.assert_not_called()


def test_empty_list_succeeds_with_a_warning_and_no_request(context, mocker):
    """An empty list is a successful run over zero users that says so in a warning."""
    hook_class = mocker.patch("airflow_provider_dbxscim.operators.reactivate.DbxScimHook")

    with capture_logs() as logs:
        result = make_operator(user_names=[]).execute(context)

    assert sum(result["counts"].values()) == 0
    assert {
        "event": "No valid userNames or user ids were given; nothing to reactivate. If users were expected, "
        "check what the upstream task passed as user_names.",
        "log_level": "warning",
    } in logs
    hook_class.assert_not_called()


def test_user_ids_are_read_and_reactivated(fake_hook, context):
    """Users given by account id are read by id and reactivated; unknown ids are not_found."""
    fake_hook.add("ann@x.io", active=False, user_id="1001")

    result = make_operator(user_ids=["1001", "9999"]).execute(context)

    assert [(u["user_name"], u["id"], u["outcome"]) for u in result["users"]] == [
        ("ann@x.io", "1001", "reactivated"),
        ("9999", None, "not_found"),
    ]


def test_user_ids_already_named_are_not_repeated(fake_hook, context):
    """A user given both by name and by id is handled once."""
    fake_hook.add("ann@x.io", active=False, user_id="1001")

    result = make_operator(user_names=["ann@x.io"], user_ids=["1001"]).execute(context)

    assert len(result["users"]) == 1
    assert fake_hook.patches == [("account", "1001")]


def test_workspaces_follow_the_account_and_use_their_own_ids(fake_hook, context):
    """Every account PATCH precedes the workspace PATCHes, which use the workspace's id."""
    fake_hook.add("ann@x.io", active=False, user_id="1001")
    fake_hook.add("bob@x.io", active=True, user_id="1002")
    fake_hook.add_to_workspace(WS, "ann@x.io", active=False, user_id="77")
    fake_hook.add_to_workspace(WS, "bob@x.io", active=False, user_id="78")

    result = make_operator(user_names=["ann@x.io", "bob@x.io"], workspace_hosts=[WS + "/"]).execute(context)

    assert fake_hook.patches == [("account", "1001"), (WS, "77"), (WS, "78")]
    assert result["workspace_hosts"] == [WS]
    assert [u["workspaces"] for u in result["users"]] == [["reactivated"], ["reactivated"]]
    assert result["workspace_counts"][WS]["reactivated"] == 2


def test_workspaces_skip_users_not_active_at_the_account(fake_hook, context):
    """A user who failed or is unknown at the account level is not touched in a workspace."""
    fake_hook.add("ann@x.io", active=False, user_id="1001")
    fake_hook.add_to_workspace(WS, "ann@x.io", active=False, user_id="77")
    fake_hook.errors["1001"] = ServiceUnavailableError("PATCH user 1001 failed with HTTP 503.")

    result = make_operator(
        user_names=["ann@x.io", "ghost@x.io"], workspace_hosts=[WS], fail_on="never"
    ).execute(context)

    assert [u["workspaces"] for u in result["users"]] == [[None], [None]]
    assert fake_hook.patches == []


def test_workspace_outcomes_cover_missing_and_unreachable_workspaces(fake_hook, context):
    """A user absent from a workspace is not_found there; a workspace that cannot be read fails its users."""
    other = "https://dbc-2.cloud.databricks.com"
    fake_hook.add("ann@x.io", active=True, user_id="1001")
    fake_hook.errors[other] = PermissionDeniedError("GET workspace Users was forbidden (HTTP 403).")

    result = make_operator(user_names=["ann@x.io"], workspace_hosts=[WS, other], fail_on="never").execute(
        context
    )

    assert result["users"][0]["workspaces"] == ["not_found", "failed"]


def test_dry_run_reads_workspaces_too(fake_hook, context):
    """In a dry run an inactive workspace user is would_reactivate and nothing is patched."""
    fake_hook.add("ann@x.io", active=False, user_id="1001")
    fake_hook.add_to_workspace(WS, "ann@x.io", active=False, user_id="77")

    result = make_operator(user_names=["ann@x.io"], workspace_hosts=[WS], dry_run=True).execute(context)

    assert result["users"][0]["workspaces"] == ["would_reactivate"]
    assert fake_hook.patches == []


def test_a_permission_error_stops_the_batch(fake_hook, context):
    """After a 403 every later PATCH would fail too, so the rest are reported not attempted."""
    for i in range(3):
        fake_hook.add(f"u{i}@x.io", active=False, user_id=str(i))
    fake_hook.errors["0"] = PermissionDeniedError("PATCH user 0 was forbidden (HTTP 403).", status=403)
    operator = make_operator(user_names=["u0@x.io", "u1@x.io", "u2@x.io"], max_parallel_patches=1)

    with pytest.raises(DbxScimError, match="3 of 3 users ended as failed"):
        operator.execute(context)

    pushed = context["ti"].xcom_push.call_args.kwargs["value"]
    assert pushed["users"][2]["detail"].startswith("Not attempted after an earlier error: PATCH user 0")
    assert fake_hook.patches == []


def test_retry_reports_users_an_earlier_try_reactivated(fake_hook, context):
    """A second try of the same task instance sends no PATCH and still reports reactivated."""
    fake_hook.add("ann@x.io", active=False, user_id="1001")
    fake_hook.add("bob@x.io", active=True, user_id="1002")
    fake_hook.add_to_workspace(WS, "ann@x.io", active=False, user_id="77")
    operator = make_operator(user_names=["ann@x.io", "bob@x.io"], workspace_hosts=[WS])
    operator.execute(context)
    fake_hook.patches.clear()

    result = operator.execute(context)

    assert outcomes(result) == {"ann@x.io": "reactivated", "bob@x.io": "already_active"}
    assert result["users"][0]["detail"] == "reactivated by an earlier try of this task"
    assert result["users"][0]["workspaces"] == ["reactivated"]
    assert fake_hook.patches == []


def test_retry_after_a_kill_between_the_patch_and_the_memory_reports_reactivated(fake_hook, context, mocker):
    """A try killed after its PATCH went through but before it saved that is followed by a truthful retry."""
    fake_hook.add("ann@x.io", active=False, user_id="1001")
    operator = make_operator(user_names=["ann@x.io"])
    killed = mocker.patch.object(ReactivationProgress, "remember", side_effect=KeyboardInterrupt)
    with pytest.raises(KeyboardInterrupt):
        operator.execute(context)
    mocker.stop(killed)

    result = operator.execute(context)

    assert outcomes(result) == {"ann@x.io": "reactivated"}
    assert result["users"][0]["detail"] == "reactivated by an earlier try of this task"
    assert fake_hook.patches == [("account", "1001")]
    assert context["task_state_store"].values == {"dbxscim_reactivated": {"account": ["1001"]}}


def test_retry_memory_falls_back_to_a_file_next_to_the_report(fake_hook, context, tmp_path):
    """Without a task state store the memory lives in a progress file beside the report."""
    del context["task_state_store"]
    fake_hook.add("ann@x.io", active=False, user_id="1001")
    operator = make_operator(user_names=["ann@x.io"], report_dir=str(tmp_path))
    operator.execute(context)

    result = operator.execute(context)

    assert outcomes(result) == {"ann@x.io": "reactivated"}
    progress = tmp_path / "dbxscim_test" / "manual__2025-01-06T00_00_00_00_00" / "reactivate.progress.json"
    assert json.loads(progress.read_text()) == {"account": ["1001"]}


def test_report_file_holds_every_detail(fake_hook, context, tmp_path):
    """The report names the task instance and keeps each record, workspaces included."""
    fake_hook.add("ann@x.io", active=False, user_id="1001", external_id="entra-1")
    fake_hook.add_to_workspace(WS, "ann@x.io", active=True, user_id="77")
    context["ti"].map_index = 3

    result = make_operator(
        user_names=["ann@x.io", "dup@x.io", "DUP@x.io"], workspace_hosts=[WS], report_dir=str(tmp_path)
    ).execute(context)

    with open(result["report_path"], encoding="utf-8") as report_file:
        report = json.load(report_file)
    assert result["report_path"].endswith("reactivate.3.json")
    assert report["map_index"] == 3
    assert report["duplicates"] == ["dup@x.io"]
    assert report["users"][0] == {
        "user_name": "ann@x.io",
        "id": "1001",
        "outcome": "reactivated",
        "detail": None,
        "idp_managed": True,
        "workspaces": {WS: {"id": "77", "outcome": "already_active", "detail": None}},
    }


def test_xcom_for_500_users_fits_under_64_kb(fake_hook, context):
    """Five hundred users with 46-character e-mails and 16-digit ids serialize under 64 KB, untruncated."""
    names = [f"firstname.lastname-{i:04d}@subsidiary.example.com" for i in range(500)]
    for i, name in enumerate(names):
        fake_hook.add(name, active=i % 2 == 0, user_id=f"{7_000_000_000_000_000 + i}")

    result = make_operator(user_names=names).execute(context)

    assert len(names[0]) == 46
    assert result["users_truncated"] is None
    assert len(result["users"]) == 500
    assert serialized_size(result) < 64 * 1024


def test_xcom_sheds_already_active_records_first_when_workspaces_make_it_too_big(fake_hook, context):
    """With a workspace column the same 500 users no longer fit, so the records needing no follow-up go."""
    names = [f"firstname.lastname-{i:04d}@subsidiary.example.com" for i in range(500)]
    for i, name in enumerate(names):
        fake_hook.add(name, active=i % 2 == 0, user_id=f"{7_000_000_000_000_000 + i}")
        fake_hook.add_to_workspace(WS, name, active=True, user_id=f"{9_000_000_000_000_000 + i}")

    result = make_operator(user_names=names, workspace_hosts=[WS]).execute(context)

    assert result["users_truncated"] == "already_active"
    assert {user["outcome"] for user in result["users"]} == {"reactivated"}
    assert len(result["users"]) == 250
    assert result["counts"]["already_active"] == 250
    assert serialized_size(result) <= XCOM_BUDGET_BYTES


def test_xcom_sheds_details_before_it_outgrows_its_budget(fake_hook, context):
    """When every user failed with a long message, details go first and the value stays under budget."""
    names = [f"firstname.lastname-{i:04d}@subsidiary.example.com" for i in range(500)]
    for i, name in enumerate(names):
        fake_hook.add(name, active=False, user_id=str(i))
        fake_hook.errors[str(i)] = ServiceUnavailableError(
            f"PATCH user {i} failed with HTTP 503: " + "x" * 150
        )

    result = make_operator(user_names=names, fail_on="never").execute(context)

    assert result["users_truncated"] == "details"
    assert len(result["users"]) == 500
    assert serialized_size(result) <= XCOM_BUDGET_BYTES
