"""
Command line: ``python -m airflow_provider_dbxscim.emulator --port 0 --seed seed.json``.

Prints ``emulator listening on http://127.0.0.1:PORT`` once the port is bound, then serves until stopped.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from airflow_provider_dbxscim.emulator.config import EmulatorConfig, parse_switch
from airflow_provider_dbxscim.emulator.server import HOST, LISTENING, bind_socket, build_server
from airflow_provider_dbxscim.emulator.state import EmulatorState


def build_parser() -> argparse.ArgumentParser:
    """Return the argument parser of the emulator command."""
    parser = argparse.ArgumentParser(
        prog="python -m airflow_provider_dbxscim.emulator",
        description="Local emulator of the Databricks account SCIM API with OAuth M2M, on 127.0.0.1 only.",
    )
    parser.add_argument("--port", type=int, default=8765, help="TCP port; 0 picks a free one (default 8765)")
    parser.add_argument("--seed", type=Path, help="seed file with users and workspaces (JSON)")
    parser.add_argument("--account-id", help="account id (default: the demo account)")
    parser.add_argument("--client-id", help="OAuth client id (default: dbxscim-demo-client)")
    parser.add_argument("--client-secret", help="OAuth client secret (default: dbxscim-demo-secret)")
    parser.add_argument("--config", type=Path, help="JSON file of switches")
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="set one switch, value read as JSON when it parses (repeatable; wins over --config)",
    )
    parser.add_argument("--workspace", action="append", default=[], metavar="NAME", help="create a workspace")
    parser.add_argument("--quiet", action="store_true", help="no access logs")
    return parser


def config_from_args(args: argparse.Namespace) -> EmulatorConfig:
    """
    Merge ``--config``, ``--set`` and the identity flags, later ones winning.

    :param args: parsed arguments.
    """
    switches: dict[str, Any] = {}
    if args.config:
        try:
            switches.update(json.loads(args.config.read_text()))
        except ValueError as exc:
            raise ValueError(
                f"the --config file {args.config} is not a JSON object of switches: {exc}"
            ) from exc
    for assignment in args.set:
        name, value = parse_switch(assignment)
        switches[name] = value
    for name in ("account_id", "client_id", "client_secret"):
        if getattr(args, name) is not None:
            switches[name] = getattr(args, name)
    return EmulatorConfig.from_mapping(switches)


def main(argv: Sequence[str] | None = None) -> int:
    """
    Run the emulator in the foreground.

    :param argv: arguments without the program name; ``sys.argv[1:]`` when None.
    """
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        state = EmulatorState(config_from_args(args), args.seed, tuple(args.workspace))
    except (OSError, ValueError) as exc:
        parser.error(str(exc))
    sock = bind_socket(args.port)
    print(f"{LISTENING} http://{HOST}:{sock.getsockname()[1]}", flush=True)
    build_server(state, quiet=args.quiet).run(sockets=[sock])
    return 0


if __name__ == "__main__":
    sys.exit(main())
