"""Run the emulator as a separate process, as the demo and DAG tests do, and control it over HTTP."""

from __future__ import annotations

import json
import os
import queue
import subprocess
import sys
import tempfile
import threading
import time
from collections import deque
from collections.abc import Mapping
from pathlib import Path
from typing import IO, Any

from airflow_provider_dbxscim.emulator.config import (
    DEFAULT_ACCOUNT_ID,
    DEFAULT_CLIENT_ID,
    DEFAULT_CLIENT_SECRET,
    EmulatorConfig,
)
from airflow_provider_dbxscim.emulator.control import EmulatorControl
from airflow_provider_dbxscim.emulator.seeding import SeedSource
from airflow_provider_dbxscim.emulator.server import LISTENING

_PACKAGE_ROOT = Path(__file__).resolve().parents[2]


class EmulatorProcess:
    """
    An emulator running in a child process; use as a context manager or call :meth:`stop`.

    :param process: the child process.
    :param url: base URL, the account host.
    :param account_id: account id served.
    :param client_id: OAuth client id.
    :param client_secret: OAuth client secret.
    :param output: last lines the child wrote, for diagnostics.
    :param temp_dir: directory of generated seed and config files, removed on stop.
    """

    def __init__(
        self,
        process: subprocess.Popen[str],
        url: str,
        account_id: str,
        client_id: str,
        client_secret: str,
        output: deque[str],
        temp_dir: tempfile.TemporaryDirectory[str],
    ) -> None:
        self.process = process
        self.url = url
        self.account_id = account_id
        self.client_id = client_id
        self.client_secret = client_secret
        self.output = output
        self.state = EmulatorControl(url)
        self._temp_dir = temp_dir

    def __repr__(self) -> str:
        return f"EmulatorProcess(url={self.url!r}, pid={self.process.pid})"

    def __enter__(self) -> EmulatorProcess:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def workspace_url(self, name: str) -> str:
        """
        Return the host URL of a workspace, creating the workspace when missing.

        :param name: workspace name.
        """
        self.state.add_workspace(name)
        return f"{self.url}/ws/{name}"

    def stop(self, timeout: float = 10.0) -> None:
        """
        Stop the child: SIGTERM first, SIGKILL if it does not exit in time.

        :param timeout: seconds to wait after SIGTERM.
        """
        self.state.close()
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout)
        self._temp_dir.cleanup()


def start_emulator_process(
    *,
    seed: SeedSource | None = None,
    config: EmulatorConfig | Mapping[str, Any] | None = None,
    workspaces: tuple[str, ...] | list[str] = (),
    port: int = 0,
    quiet: bool = True,
    python: str = sys.executable,
    startup_timeout: float = 30.0,
) -> EmulatorProcess:
    """
    Launch ``python -m airflow_provider_dbxscim.emulator`` and wait for the line with its URL.

    :param seed: seed data or the path of a seed file.
    :param config: switches, as an :class:`EmulatorConfig` or a mapping; identity switches included.
    :param workspaces: workspace names to create.
    :param port: TCP port on 127.0.0.1; 0 picks a free one.
    :param quiet: turn off access logs.
    :param python: interpreter to run.
    :param startup_timeout: seconds to wait for the URL line.
    :raises RuntimeError: when the child exits or stays silent past the timeout.
    """
    switches = (
        config.as_dict(include_secret=True) if isinstance(config, EmulatorConfig) else dict(config or {})
    )
    temp_dir = tempfile.TemporaryDirectory(prefix="dbxscim-emulator-")
    command = [python, "-m", "airflow_provider_dbxscim.emulator", "--port", str(port)]
    config_file = Path(temp_dir.name) / "config.json"
    config_file.write_text(json.dumps(switches))
    command += ["--config", str(config_file)]
    if seed is not None:
        seed_file = Path(seed) if isinstance(seed, (str, Path)) else Path(temp_dir.name) / "seed.json"
        if not isinstance(seed, (str, Path)):
            seed_file.write_text(json.dumps(dict(seed)))
        command += ["--seed", str(seed_file)]
    for name in workspaces:
        command += ["--workspace", name]
    if quiet:
        command.append("--quiet")

    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(_PACKAGE_ROOT), env.get("PYTHONPATH")]))
    env["PYTHONUNBUFFERED"] = "1"
    process = subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
        stdin=subprocess.DEVNULL,
    )
    output: deque[str] = deque(maxlen=200)
    lines: queue.Queue[str | None] = queue.Queue()
    threading.Thread(target=_drain, args=(process.stdout, output, lines), daemon=True).start()
    try:
        url = _await_url(process, lines, startup_timeout)
    except BaseException:
        process.kill()
        process.wait()
        temp_dir.cleanup()
        raise
    return EmulatorProcess(
        process,
        url,
        switches.get("account_id", DEFAULT_ACCOUNT_ID),
        switches.get("client_id", DEFAULT_CLIENT_ID),
        switches.get("client_secret", DEFAULT_CLIENT_SECRET),
        output,
        temp_dir,
    )


def _drain(stream: IO[str] | None, output: deque[str], lines: queue.Queue[str | None]) -> None:
    """Keep reading the child's output so a full pipe never blocks it; hand over lines until the URL."""
    if stream is None:
        return
    reporting = True
    for line in stream:
        output.append(line.rstrip("\n"))
        if reporting:
            lines.put(line)
            reporting = not line.startswith(LISTENING)
    lines.put(None)


def _await_url(process: subprocess.Popen[str], lines: queue.Queue[str | None], timeout: float) -> str:
    deadline = time.monotonic() + timeout
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise RuntimeError("the emulator process did not report its URL in time")
        try:
            line = lines.get(timeout=remaining)
        except queue.Empty:
            continue
        if line is None:
            raise RuntimeError(f"the emulator process exited with code {process.wait()}")
        if line.startswith(LISTENING):
            return line[len(LISTENING) :].strip()
