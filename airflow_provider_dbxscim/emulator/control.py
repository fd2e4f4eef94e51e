"""HTTP client of the ``/_emulator/`` routes, with the same methods as the in-process state."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx

from airflow_provider_dbxscim.emulator.seeding import SeedSource, load_seed


class EmulatorControl:
    """
    Control an emulator running in another process through its admin routes.

    Method names and arguments match :class:`~airflow_provider_dbxscim.emulator.state.EmulatorState`, so
    tests can drive either the same way; values come back as plain JSON data.

    :param url: base URL of the emulator.
    :param timeout: seconds per control call.
    """

    def __init__(self, url: str, timeout: float = 10.0) -> None:
        # Plain HTTP on loopback: skip loading a CA bundle, which costs more than many control calls.
        self._client = httpx.Client(base_url=f"{url}/_emulator", timeout=timeout, verify=False)

    def close(self) -> None:
        """Close the HTTP connections."""
        self._client.close()

    def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        response = self._client.request(method, path, **kwargs)
        if response.status_code == 404 and path.startswith("/users/"):
            return None
        response.raise_for_status()
        return response.json()

    def seed(self, data: SeedSource, *, replace: bool = True) -> None:
        """
        Load seed data.

        :param data: seed mapping or path of a seed file.
        :param replace: drop current users first.
        """
        payload = load_seed(Path(data)) if isinstance(data, (str, Path)) else dict(data)
        self._call("POST", "/seed", params={"replace": str(replace).lower()}, json=payload)

    def reset(self) -> None:
        """Return to the start-up config, seed and workspaces."""
        self._call("POST", "/reset")

    def configure(self, **switches: Any) -> dict[str, Any]:
        """
        Change switches; returns the whole config with the secret masked.

        :param switches: switch names and values.
        """
        return self._call("PATCH", "/config", json=switches)

    @property
    def config(self) -> dict[str, Any]:
        """The live switches, secret masked."""
        return self._call("GET", "/config")

    def users(self, workspace: str | None = None) -> list[dict[str, Any]]:
        """
        Return all users of the account or a workspace.

        :param workspace: workspace name, or None for the account.
        """
        return self._call("GET", "/users", params=_workspace(workspace))

    def get_user(self, user_name: str, workspace: str | None = None) -> dict[str, Any] | None:
        """
        Return one user by userName, or None.

        :param user_name: userName.
        :param workspace: workspace name, or None for the account.
        """
        return self._call("GET", f"/users/{quote(user_name, safe='@')}", params=_workspace(workspace))

    def set_active(self, user_name: str, active: bool, workspace: str | None = None) -> dict[str, Any]:
        """
        Set a user's ``active`` directly.

        :param user_name: userName.
        :param active: new value.
        :param workspace: workspace name, or None for the account.
        """
        path = f"/users/{quote(user_name, safe='@')}/active"
        return self._call("PUT", path, json={"active": active, "workspace": workspace})

    def add_workspace(self, name: str) -> str:
        """
        Create a workspace if missing and return its id.

        :param name: workspace name.
        """
        return self._call("POST", "/workspaces", json={"name": name})["id"]

    def workspaces(self) -> dict[str, str]:
        """Return workspace names mapped to their ids."""
        return {name: item["id"] for name, item in self.snapshot()["workspaces"].items()}

    def stats(self) -> dict[str, Any]:
        """Return request counts, the PATCH log, issued tokens, faults and throttling."""
        return self._call("GET", "/stats")

    def issued_tokens(self) -> list[str]:
        """Return every access token issued since the last reset."""
        return self._call("GET", "/tokens")

    def expire_tokens(self) -> None:
        """Expire every issued token."""
        self._call("POST", "/tokens/expire")

    def advance_clock(self, seconds: float) -> None:
        """
        Move the emulator clock forward.

        :param seconds: how far.
        """
        self._call("POST", "/clock/advance", json={"seconds": seconds})

    def snapshot(self) -> dict[str, Any]:
        """Return the config, the account users and the workspaces with their users."""
        return self._call("GET", "/state")


def _workspace(workspace: str | None) -> Mapping[str, str]:
    return {"workspace": workspace} if workspace else {}
