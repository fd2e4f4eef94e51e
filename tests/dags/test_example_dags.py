from __future__ import annotations

import json
import math
from collections import Counter
from pathlib import Path

import pytest
from airflow.dag_processing.dagbag import BundleDagBag

from airflow_provider_dbxscim.cleaning import clean_user_names, read_user_list
from airflow_provider_dbxscim.emulator import EXAMPLE_SEED

DAGS = Path(__file__).resolve().parents[2] / "dags"
EXAMPLE_DATA = EXAMPLE_SEED.parent
RETRY_DAG = """
from datetime import timedelta

import pendulum
from airflow.sdk import dag

from airflow_provider_dbxscim.operators.reactivate import ReactivateAccountUserOperator


@dag(dag_id="dbxscim_retry_probe", schedule=None, start_date=pendulum.datetime(2025, 1, 1, tz="UTC"))
def dbxscim_retry_probe():
    ReactivateAccountUserOperator(
        task_id="reactivate",
        user_names={user_names!r},
        workspace_hosts={workspace_hosts!r},
        report_dir={report_dir!r},
        retries=1,
        retry_delay=timedelta(0),
    )


dbxscim_retry_probe()
"""


def report_counts(report_dir: Path) -> tuple[Counter, int]:
    """Add up the outcome counts of every report under ``report_dir``; also return how many there are."""
    reports = [json.loads(path.read_text()) for path in report_dir.rglob("*.json")]
    return sum((Counter(report["counts"]) for report in reports), Counter()), len(reports)


@pytest.fixture(scope="module")
def dag_bag() -> BundleDagBag:
    return BundleDagBag(dag_folder=DAGS, bundle_path=DAGS, bundle_name="dags-folder")


def test_dags_import_without_errors(dag_bag):
    """Both example DAGs load, and the shared module is not mistaken for a DAG file."""
    assert dag_bag.import_errors == {}
    assert sorted(dag_bag.dag_ids) == ["dbxscim_reactivate_scheduled", "dbxscim_reactivate_users"]
    assert sorted(stat.file for stat in dag_bag.dagbag_stats) == [
        "dbxscim_reactivate_scheduled.py",
        "dbxscim_reactivate_users.py",
    ]


@pytest.mark.parametrize("dag_id", ["dbxscim_reactivate_users", "dbxscim_reactivate_scheduled"])
def test_dags_share_one_pipeline(dag_bag, dag_id):
    """Both DAGs read, split, reactivate in the PATCH pool, confirm and summarise, in that order."""
    dag = dag_bag.dags[dag_id]

    order = [task.task_id for task in dag.topological_sort()]

    assert order == [
        "read_user_list",
        "split_into_chunks",
        "reactivate",
        "users_to_confirm",
        "wait_until_active",
        "summarize",
    ]
    assert dag.get_task("reactivate").partial_kwargs["pool"] == "dbxscim_patch"
    assert dag.render_template_as_native_obj


def test_main_dag_form_limits(dag_bag):
    """The Trigger form bounds the chunk size and names no list file by default."""
    params = dag_bag.dags["dbxscim_reactivate_users"].params

    chunk_size = params.get_param("chunk_size")
    assert (chunk_size.value, chunk_size.schema["minimum"], chunk_size.schema["maximum"]) == (250, 1, 500)
    assert params["user_list_path"] == ""
    assert params["user_names"] == []
    assert params["conn_id"] == "dbxscim_default"


def test_scheduled_dag_is_daily_and_runs_one_at_a_time(dag_bag):
    """The scheduled DAG runs daily, one run at a time, and ships a list for two dates."""
    dag = dag_bag.dags["dbxscim_reactivate_scheduled"]

    daily = sorted(path.name for path in Path(dag.params["user_list_dir"]).glob("*.txt"))

    assert dag.max_active_runs == 1
    assert daily == ["2025-01-06.txt", "2025-01-07.txt"]


def expected_outcomes(list_path: Path) -> Counter:
    """What the bundled seed says should happen to each valid entry of a list."""
    seed = {user["userName"]: user for user in json.loads(EXAMPLE_SEED.read_text())["users"]}
    names = clean_user_names(read_user_list(list_path)).valid
    return Counter(
        "not_found" if name not in seed else "already_active" if seed[name]["active"] else "reactivated"
        for name in names
    )


@pytest.mark.slow
def test_main_dag_reactivates_the_sample_list(run_airflow, emulator_process, tmp_path):
    """A real ``airflow dags test`` run reactivates the sample's inactive users in chunks, account first."""
    expected = expected_outcomes(EXAMPLE_DATA / "users_to_reactivate.txt")
    workspace = emulator_process.workspace_url("engineering")
    conf = {
        "chunk_size": 25,
        "report_dir": str(tmp_path),
        "workspace_hosts": [workspace],
        "user_list_path": str(EXAMPLE_DATA / "users_to_reactivate.txt"),
    }

    run_airflow("dags", "test", "dbxscim_reactivate_users", "-c", json.dumps(conf))

    counts, reports = report_counts(tmp_path)
    patches = emulator_process.state.stats()["patches"]
    first_account = {
        p["userName"]: n for n, p in reversed(list(enumerate(patches))) if p["scope"] == "account"
    }
    assert min(expected.values()) > 0
    assert reports == math.ceil(expected.total() / 25)
    assert +counts == expected
    assert [p["scope"] for p in patches].count("account") == expected["reactivated"]
    assert all(
        first_account.get(p["userName"], -1) < n for n, p in enumerate(patches) if p["scope"] != "account"
    )


@pytest.mark.slow
def test_scheduled_dag_runs_for_two_logical_dates(run_airflow, emulator_process, tmp_path):
    """Each date reads its own list; the second day finds the user the first day reactivated active."""
    for day in ("2025-01-06", "2025-01-07"):
        conf = {"report_dir": str(tmp_path / day)}
        run_airflow("dags", "test", "dbxscim_reactivate_scheduled", day, "-c", json.dumps(conf))

    first, _ = report_counts(tmp_path / "2025-01-06")
    second, _ = report_counts(tmp_path / "2025-01-07")
    assert (first["reactivated"], first["already_active"], first["not_found"]) == (2, 1, 1)
    assert (second["reactivated"], second["already_active"], second["not_found"]) == (2, 1, 0)
    patched = [p["userName"] for p in emulator_process.state.stats()["patches"]]
    assert [sorted(patched[:2]), sorted(patched[2:])] == [
        ["bob.inactive@example.com", "dave.inactive@example.com"],
        ["frank.inactive@example.com", "grace.inactive@example.com"],
    ]


@pytest.mark.slow
def test_a_retry_in_airflow_reports_what_the_first_try_changed(run_airflow, emulator_process, tmp_path):
    """Airflow's own retry of a failed try sends no PATCH again and reports the users as reactivated."""
    dags = tmp_path / "dags"
    dags.mkdir()
    names = ["bob.inactive@example.com", "alice.active@example.com"]
    missing_workspace = f"{emulator_process.url}/ws/no-such-workspace"
    source = RETRY_DAG.format(user_names=names, workspace_hosts=[missing_workspace], report_dir=str(tmp_path))
    (dags / "dbxscim_retry_probe.py").write_text(source)

    done = run_airflow(
        "dags", "test", "dbxscim_retry_probe", check=False, AIRFLOW__CORE__DAGS_FOLDER=str(dags)
    )

    report = json.loads(next(tmp_path.rglob("reactivate.json")).read_text())
    assert done.returncode != 0
    assert report["try_number"] == 2
    assert [(u["user_name"], u["outcome"], u["detail"]) for u in report["users"]] == [
        ("bob.inactive@example.com", "reactivated", "reactivated by an earlier try of this task"),
        ("alice.active@example.com", "already_active", None),
    ]
    assert [p["userName"] for p in emulator_process.state.stats()["patches"]] == ["bob.inactive@example.com"]
