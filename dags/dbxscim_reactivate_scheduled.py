"""
### Reactivate Databricks users every day

Each run reads the list an upstream system dropped for its logical date, `{user_list_dir}/{ds}.txt`, and
reactivates those users like `dbxscim_reactivate_users`. Runs depend on nothing but their own date, so a
missed day can be backfilled (`airflow backfill create --dag-id dbxscim_reactivate_scheduled --from-date ...
--to-date ...`); one run at a time keeps backfills within the account's PATCH budget. A date without a list
fails its run: the upstream did not deliver.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pendulum
from airflow.sdk import Param, dag, task
from dbxscim_pipeline import EXAMPLE_DATA, accept_user_list, common_params, reactivation_pipeline

from airflow_provider_dbxscim.cleaning import clean_user_names, read_user_list


@task(task_id="read_user_list")
def read_daily_list(ds: str | None = None, params: dict[str, Any] | None = None) -> list[str]:
    """Read and clean the list of the run's logical date."""
    path = Path(params["user_list_dir"]) / f"{ds}.txt"
    return accept_user_list(clean_user_names(read_user_list(path)), params)


@dag(
    dag_id="dbxscim_reactivate_scheduled",
    schedule="@daily",
    start_date=pendulum.datetime(2025, 1, 6, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    render_template_as_native_obj=True,
    doc_md=__doc__,
    tags=["dbxscim", "example"],
    params={
        "user_list_dir": Param(
            str(EXAMPLE_DATA / "daily"),
            type="string",
            minLength=1,
            title="Directory of daily lists",
            description="Holds one file per day, named after the logical date: 2025-01-06.txt.",
        ),
        **common_params(),
    },
)
def dbxscim_reactivate_scheduled() -> None:
    reactivation_pipeline(read_daily_list())


dbxscim_reactivate_scheduled()
