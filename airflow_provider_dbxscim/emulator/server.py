"""Serve the emulator with uvicorn on 127.0.0.1, in a background thread or in the foreground."""

from __future__ import annotations

import importlib.util
import socket
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import uvicorn

from airflow_provider_dbxscim.emulator.app import create_app
from airflow_provider_dbxscim.emulator.clock import Clock
from airflow_provider_dbxscim.emulator.config import EmulatorConfig
from airflow_provider_dbxscim.emulator.seeding import SeedSource
from airflow_provider_dbxscim.emulator.state import EmulatorState

HOST = "127.0.0.1"
LISTENING = "emulator listening on"


@dataclass(frozen=True)
class RunningEmulator:
    """
    An emulator serving in this process.

    :param url: base URL, the account host, e.g. ``http://127.0.0.1:41234``.
    :param state: the live state, for seeding, switches and statistics.
    """

    url: str
    state: EmulatorState = field(repr=False)

    @property
    def account_id(self) -> str:
        """Account id the emulator serves."""
        return self.state.config.account_id

    @property
    def client_id(self) -> str:
        """OAuth client id of the service principal."""
        return self.state.config.client_id

    @property
    def client_secret(self) -> str:
        """OAuth client secret of the service principal."""
        return self.state.config.client_secret

    def workspace_url(self, name: str) -> str:
        """
        Return the host URL of a workspace, creating the workspace when missing.

        :param name: workspace name.
        """
        self.state.add_workspace(name)
        return f"{self.url}/ws/{name}"


def bind_socket(port: int = 0) -> socket.socket:
    """
    Bind and listen on 127.0.0.1 before the server starts, so the port is known and early clients queue.

    :param port: TCP port; 0 picks a free one.
    """
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((HOST, port))
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


def build_server(state: EmulatorState, *, quiet: bool = True) -> uvicorn.Server:
    """
    Build a uvicorn server for the emulator with the fastest parser available and no proxy handling.

    :param state: emulator state.
    :param quiet: turn off access logs and lower the log level to warnings.
    """
    http = "httptools" if importlib.util.find_spec("httptools") else "h11"
    config = uvicorn.Config(
        create_app(state),
        host=HOST,
        http=http,
        lifespan="off",
        access_log=not quiet,
        log_level="warning" if quiet else "info",
        proxy_headers=False,
        server_header=False,
        date_header=False,
    )
    return uvicorn.Server(config)


@contextmanager
def run_emulator(
    config: EmulatorConfig | Mapping[str, Any] | None = None,
    seed: SeedSource | None = None,
    port: int = 0,
    *,
    workspaces: tuple[str, ...] | list[str] = (),
    quiet: bool = True,
    startup_timeout: float = 10.0,
    clock: Clock | None = None,
) -> Iterator[RunningEmulator]:
    """
    Serve an emulator from a background thread for the duration of a ``with`` block.

    :param config: switches, as an :class:`EmulatorConfig` or a mapping.
    :param seed: seed data or the path of a seed file.
    :param port: TCP port on 127.0.0.1; 0 picks a free one.
    :param workspaces: workspace names to create.
    :param quiet: turn off access logs.
    :param startup_timeout: seconds to wait for the server to start.
    :param clock: clock for token expiry, limits and IdP resyncs; an advanceable real clock by default.
    """
    state = EmulatorState(
        dict(config) if isinstance(config, Mapping) else config, seed, tuple(workspaces), clock
    )
    sock = bind_socket(port)
    server = build_server(state, quiet=quiet)
    thread = threading.Thread(
        target=server.run, kwargs={"sockets": [sock]}, name="dbxscim-emulator", daemon=True
    )
    thread.start()
    try:
        _wait_started(server, thread, startup_timeout)
        yield RunningEmulator(f"http://{HOST}:{sock.getsockname()[1]}", state)
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


def _wait_started(server: uvicorn.Server, thread: threading.Thread, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the emulator server did not start")
        time.sleep(0.005)
