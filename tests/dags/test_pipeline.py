from __future__ import annotations

import importlib
import json
from pathlib import Path

import pytest
from airflow.sdk.exceptions import AirflowFailException

from airflow_provider_dbxscim.cleaning import clean_user_names

DAGS = Path(__file__).resolve().parents[2] / "dags"


@pytest.fixture
def pipeline(monkeypatch):
    monkeypatch.syspath_prepend(str(DAGS))
    return importlib.import_module("dbxscim_pipeline")


def chunk_result(**counts: int) -> dict:
    zeros = dict.fromkeys(
        [
            "reactivated",
            "already_active",
            "would_reactivate",
            "not_found",
            "invalid",
            "denied",
            "skipped_idp_managed",
            "failed",
        ],
        0,
    )
    return {"counts": {**zeros, **counts}, "users": []}


def test_summarize_adds_up_the_chunks(pipeline):
    """Counts of every chunk are summed and returned when the whole run succeeded."""
    results = [chunk_result(reactivated=2, not_found=1), chunk_result(reactivated=1, already_active=4)]

    counts = pipeline.summarize.function([["a"], ["b"]], results, ["a@x.io"])

    assert (counts["reactivated"], counts["already_active"], counts["not_found"]) == (3, 4, 1)


@pytest.mark.parametrize(
    ("chunks", "results", "confirmed", "problem"),
    [
        (None, None, None, "the user list could not be read or split"),
        ([["a"], ["b"]], [chunk_result(reactivated=1)], [], "1 of 2 reactivation tasks produced no result"),
        ([["a"]], [chunk_result(failed=2)], [], "2 users failed"),
        ([["a"]], [chunk_result(reactivated=1)], None, "the reactivated users were not confirmed active"),
    ],
)
def test_summarize_fails_the_run_when_a_part_did_not_succeed(pipeline, chunks, results, confirmed, problem):
    """Running after failed upstream tasks, the summary still fails so the DAG run is not marked a success."""
    with pytest.raises(AirflowFailException, match=problem):
        pipeline.summarize.function(chunks, results, confirmed)


def test_outcome_table_lines_up_the_counts(pipeline):
    """The table has a header, one row per outcome and a total."""
    table = pipeline.outcome_table({"reactivated": 12, "not_found": 3})

    assert table.splitlines() == [
        "outcome      users",
        "-----------  -----",
        "reactivated     12",
        "not_found        3",
        "total           15",
    ]


def test_users_to_confirm_keeps_users_reactivated_everywhere_asked(pipeline):
    """Only users reactivated at the account and active in every listed workspace are confirmed."""
    users = [
        {"user_name": "a@x.io", "outcome": "reactivated", "workspaces": ["reactivated"]},
        {"user_name": "b@x.io", "outcome": "reactivated", "workspaces": ["not_found"]},
        {"user_name": "c@x.io", "outcome": "already_active", "workspaces": ["reactivated"]},
        {"user_name": "d@x.io", "outcome": "reactivated"},
    ]

    confirmed = pipeline.users_to_confirm.function([{"users": users[:2]}, {"users": users[2:]}])

    assert confirmed == ["a@x.io", "d@x.io"]


def test_accept_user_list_stops_a_run_over_max_users(pipeline):
    """A list longer than max_users fails before any task changes anything."""
    cleaned = clean_user_names(["a@x.io", "b@x.io", "c@x.io"])

    with pytest.raises(AirflowFailException, match="3 users, more than max_users=2"):
        pipeline.accept_user_list(cleaned, {"max_users": 2})


def test_accept_user_list_returns_the_valid_names(pipeline):
    """Invalid entries and repeats are dropped and the clean names returned."""
    cleaned = clean_user_names(["A@x.io", "a@x.io", "nope"])

    assert pipeline.accept_user_list(cleaned, {"max_users": 10}) == ["a@x.io"]


def test_summarize_succeeds_when_the_list_was_empty(pipeline):
    """An upstream list with no valid userNames is a run with nothing to do, not a failure."""
    counts = pipeline.summarize.function([], [], [])

    assert sum(counts.values()) == 0


def test_users_to_confirm_reads_the_report_when_the_xcom_dropped_them(pipeline, tmp_path):
    """When a chunk's XCom had to drop its reactivated records, they are read back from its report."""
    report = tmp_path / "chunk.json"
    report.write_text(
        json.dumps({"users": [{"user_name": "a@x.io", "outcome": "reactivated", "workspaces": {}}]})
    )
    result = {"users": [], "users_truncated": "reactivated", "report_path": str(report)}

    confirmed = pipeline.users_to_confirm.function([result])

    assert confirmed == ["a@x.io"]


def test_users_to_confirm_fails_when_dropped_users_cannot_be_read(pipeline):
    """Without a report, a truncated XCom fails the step instead of confirming nobody."""
    result = {"users": [], "users_truncated": "all", "report_path": None}

    with pytest.raises(AirflowFailException, match="lower chunk_size or set report_dir"):
        pipeline.users_to_confirm.function([result])
