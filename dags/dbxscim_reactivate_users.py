"""
### Reactivate Databricks users

Reads a list of users (the `user_names` typed into the Trigger form, or the file at `user_list_path`),
cleans it, and reactivates the users through the Databricks account SCIM API in chunks of `chunk_size`,
one mapped task per chunk, then in the listed workspaces. A sensor confirms that the users it reactivated
are active, and `summarize` logs a table of outcomes.

Needs a `dbxscim` connection (`conn_id`) and the pool `dbxscim_patch`
(`airflow pools set dbxscim_patch 1 "Databricks account SCIM PATCH budget"`). Each task writes its full
report to `report_dir`. Try `dry_run` first: it reads everything and changes nothing.
"""

from __future__ import annotations

from typing import Any

import pendulum
from airflow.sdk import Param, dag, task
from airflow.sdk.exceptions import AirflowFailException
from dbxscim_pipeline import EXAMPLE_DATA, accept_user_list, common_params, reactivation_pipeline

from airflow_provider_dbxscim.cleaning import clean_user_names, read_user_list


@task(task_id="read_user_list", show_return_value_in_logs=False)
def read_and_clean(params: dict[str, Any] | None = None) -> list[str]:
    """Read the list (the form's userNames win over the file), clean it and log what was dropped."""
    if params["user_names"]:
        raw = params["user_names"]
    elif params["user_list_path"]:
        raw = read_user_list(params["user_list_path"])
    else:
        raise AirflowFailException(
            "No users were given: paste userNames in the form's user_names or set user_list_path to a list "
            f"file (the bundled sample is {EXAMPLE_DATA / 'users_to_reactivate.txt'})."
        )
    return accept_user_list(clean_user_names(raw), params)


@dag(
    dag_id="dbxscim_reactivate_users",
    schedule=None,
    start_date=pendulum.datetime(2025, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    render_template_as_native_obj=True,
    doc_md=__doc__,
    tags=["dbxscim", "example"],
    params={
        "user_list_path": Param(
            "",
            type="string",
            title="User list file",
            description="A .txt (one userName per line), .csv (userName or email column) or .json file; "
            "used when user_names is empty. The bundled sample: "
            f"{EXAMPLE_DATA / 'users_to_reactivate.txt'}",
        ),
        "user_names": Param(
            [],
            type="array",
            items={"type": "string", "maxLength": 320},
            maxItems=10_000,
            title="userNames",
            description="When not empty, these users are reactivated instead of the file's.",
        ),
        **common_params(),
    },
)
def dbxscim_reactivate_users() -> None:
    reactivation_pipeline(read_and_clean())


dbxscim_reactivate_users()
