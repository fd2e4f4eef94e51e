"""Apache Airflow provider that reactivates deactivated Databricks users through the account SCIM API."""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"

CONN_TYPE = "dbxscim"


def get_provider_info() -> dict[str, Any]:
    """Describe this provider to Airflow's ``ProvidersManager`` (entry point ``apache_airflow_provider``)."""
    return {
        "package-name": "airflow-provider-dbxscim",
        "name": "Databricks SCIM reactivation",
        "description": "Reactivate deactivated Databricks users through the account SCIM API with OAuth M2M.",
        "versions": [__version__],
        "hooks": [
            {
                "integration-name": "Databricks SCIM reactivation",
                "python-modules": ["airflow_provider_dbxscim.hooks.dbxscim"],
            }
        ],
        "operators": [
            {
                "integration-name": "Databricks SCIM reactivation",
                "python-modules": ["airflow_provider_dbxscim.operators.reactivate"],
            }
        ],
        "sensors": [
            {
                "integration-name": "Databricks SCIM reactivation",
                "python-modules": ["airflow_provider_dbxscim.sensors.active"],
            }
        ],
        "triggers": [
            {
                "integration-name": "Databricks SCIM reactivation",
                "python-modules": ["airflow_provider_dbxscim.triggers.active"],
            }
        ],
        "connection-types": [
            {
                "connection-type": CONN_TYPE,
                "hook-class-name": "airflow_provider_dbxscim.hooks.dbxscim.DbxScimHook",
                "hook-name": "Databricks SCIM (OAuth M2M)",
                "ui-field-behaviour": {
                    "hidden-fields": ["schema", "port"],
                    "relabeling": {
                        "host": "Account console host",
                        "login": "Client ID",
                        "password": "Client secret",
                    },
                    "placeholders": {
                        "host": "https://accounts.cloud.databricks.com",
                        "login": "service principal application (client) id",
                        "account_id": "00000000-0000-0000-0000-000000000000",
                    },
                },
                "conn-fields": {
                    "account_id": {
                        "label": "Account ID",
                        "schema": {"type": ["string", "null"]},
                        "description": "The Databricks account id shown in the account console.",
                    },
                    "allow_any_host": {
                        "label": "Allow a host outside Databricks",
                        "schema": {"type": ["boolean", "null"]},
                        "description": "Only for the local emulator or a proxy.",
                    },
                    "patch_rate_per_second": {
                        "label": "PATCH requests per second",
                        "schema": {"type": ["number", "null"], "exclusiveMinimum": 0},
                        "description": "The account's PATCH budget shared by all tasks (default 2).",
                    },
                    "get_rate_per_second": {
                        "label": "GET requests per second",
                        "schema": {"type": ["number", "null"], "exclusiveMinimum": 0},
                        "description": "The account's GET budget shared by all tasks (default 20).",
                    },
                },
            }
        ],
    }
