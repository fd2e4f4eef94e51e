"""End-to-end fault runs: real ``airflow`` command lines against emulators that fail on every route."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.slow


def test_every_user_ends_right_through_faults_on_every_route(fault_runs):
    """With 429, 503, throttling 500s, dropped connections and 10 s tokens, every user ends right, once."""
    report = fault_runs.reports["faults"]

    assert report.problems == []
    assert (report.users_lost, report.duplicate_patches, report.unasked_changes) == (0, 0, 0)
    assert report.faults["429"] > 0
    assert report.faults["expired_token"] > 0
    assert report.figures["mapped_tasks"] == 3


def test_a_task_killed_mid_batch_ends_right_when_run_again(fault_runs):
    """After a SIGKILL mid-batch, the second try finishes the batch and reports the first try's work."""
    report = fault_runs.reports["sigkill"]

    assert report.problems == []
    assert report.figures["state_after_kill"] == "running"
    assert report.figures["applied_before_kill"] >= 40
    assert report.figures["reported_as_earlier_try"] == report.figures["applied_before_kill"]
    assert report.figures["patched_by_both_tries"] <= report.figures["patches_in_flight_at_most"]
    assert report.duplicate_patches == 0


def test_two_runs_at_once_keep_to_one_patch_budget(fault_runs):
    """Two DAG runs over overlapping lists end every user right and never exceed the account's PATCH rate."""
    report = fault_runs.reports["concurrent"]

    assert report.problems == []
    assert report.users_lost == 0
    assert report.figures["busiest_second"] <= report.figures["patch_limit"] * 1.05
    assert report.figures["users_on_both_lists"] > 0
