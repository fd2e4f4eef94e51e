"""Tests that secrets stay out of logs, messages and reprs, and of the connection test."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest
import structlog
from structlog.testing import LogCapture

from airflow_provider_dbxscim.exceptions import DbxScimError
from airflow_provider_dbxscim.hooks.dbxscim import DbxScimHook

EMAIL = "leak-check@example.com"


@pytest.fixture
def raw_logs(caplog):
    """Capture stdlib logging and structlog at DEBUG, before Airflow's masker could hide a leak."""
    saved = structlog.get_config()
    capture = LogCapture()
    structlog.configure(
        processors=[capture], wrapper_class=structlog.make_filtering_bound_logger(logging.DEBUG)
    )
    caplog.set_level(logging.DEBUG)
    try:
        yield capture.entries, caplog
    finally:
        structlog.configure(**saved)


def _render(entries, caplog) -> tuple[str, str]:
    every = [repr(entry) for entry in entries] + [record.getMessage() for record in caplog.records]
    above_debug = [repr(entry) for entry in entries if entry["log_level"] != "debug"]
    above_debug += [record.getMessage() for record in caplog.records if record.levelno > logging.DEBUG]
    return "\n".join(every), "\n".join(above_debug)


def test_no_secret_or_token_reaches_any_log(hook, emu, fake_time, raw_logs):
    """A run with faults, throttling, refused tokens and a failure logs no secret, token or INFO e-mail."""
    entries, caplog = raw_logs
    workspace = emu.workspace_url("ws1")
    emu.state.seed(
        {
            "users": [{"userName": EMAIL, "active": False, "id": "42"}],
            "workspaces": {"ws1": {"users": [{"userName": EMAIL, "active": False}]}},
        }
    )
    phases = {
        2: {"fault_rate_token_throttle": 0.0, "fault_rate_429": 1.0, "fault_route_kinds": ["scim_list"]},
        3: {"fault_rate_429": 0.0, "fault_rate_drop": 1.0, "fault_route_kinds": ["scim_patch"]},
        4: {"fault_rate_drop": 0.0},
    }
    emu.state.configure(fault_rate_token_throttle=1.0, fault_route_kinds=["token"])
    fake_time.on_sleep.append(lambda: emu.state.configure(**phases.get(len(fake_time.waits), {})))

    hook.find_account_users([EMAIL])
    emu.state.expire_tokens()
    hook.set_account_user_active("42")
    hook.set_workspace_user_active(workspace, hook.find_workspace_users(workspace, [EMAIL])[EMAIL].id)
    with pytest.raises(DbxScimError) as caught:
        hook.set_account_user_active("does-not-exist")

    every, above_debug = _render(entries, caplog)
    texts = [
        every,
        str(caught.value),
        repr(caught.value),
        repr(hook),
        repr(hook.settings),
        repr(hook.get_conn()),
    ]
    secrets = [emu.client_secret, *emu.state.issued_tokens()]
    assert len(secrets) == 1 + 3
    assert len(fake_time.waits) == 4
    assert "answered HTTP 401" in every
    assert not [secret for secret in secrets for text in texts if secret in text]
    assert EMAIL not in above_debug


def test_httpx_request_lines_hide_the_lookup_filter(hook, emu, caplog):
    """httpx's own INFO line for a lookup shows the URL without the filter of e-mail addresses."""
    caplog.set_level(logging.INFO, logger="httpx")

    hook.find_account_users([EMAIL])

    lines = [record.getMessage() for record in caplog.records if record.name == "httpx"]
    assert any("/scim/v2/Users?redacted" in line for line in lines)
    assert not any("example.com" in line for line in lines)


def test_connection_test_succeeds(hook, emu):
    """test_connection fetches a token, reads one user id and names the account and host."""
    ok, message = hook.test_connection()

    assert ok is True
    assert emu.account_id in message
    assert emu.url in message


@pytest.mark.parametrize(
    ("extra", "switches", "expected"),
    [
        ({"password": "wrong-secret-value"}, {}, "invalid_client"),
        ({}, {"account_admin": False}, "account admin"),
        ({"account_id": None}, {}, "account_id"),
    ],
)
def test_connection_test_reports_failures(connect, emu, fake_time, extra, switches, expected):
    """test_connection returns False and a message without secrets instead of raising."""
    emu.state.configure(**switches)
    hook = DbxScimHook(connect(**extra), sleep=fake_time.sleep, clock=fake_time.monotonic)

    ok, message = hook.test_connection()

    assert ok is False
    assert expected in message
    assert "wrong-secret-value" not in message
    assert emu.client_secret not in message


@pytest.mark.slow
def test_airflow_cli_connection_test(emu, connect, tmp_path):
    """``airflow connections test`` succeeds against the emulator and prints no secret or token."""
    dist_info = tmp_path / "entry" / "airflow_provider_dbxscim-0.1.0.dist-info"
    dist_info.mkdir(parents=True)
    (dist_info / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: airflow-provider-dbxscim\nVersion: 0.1.0\n"
    )
    (dist_info / "entry_points.txt").write_text(
        "[apache_airflow_provider]\nprovider_info = airflow_provider_dbxscim:get_provider_info\n"
    )
    conn_id = connect()
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(dist_info.parent), str(Path(__file__).resolve().parents[2])]),
        "AIRFLOW_HOME": str(tmp_path / "airflow"),
        "AIRFLOW__CORE__TEST_CONNECTION": "Enabled",
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
    }

    result = subprocess.run(
        [sys.executable, "-m", "airflow", "connections", "test", conn_id],
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )

    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "Connection success" in output
    assert not [secret for secret in [emu.client_secret, *emu.state.issued_tokens()] if secret in output]
