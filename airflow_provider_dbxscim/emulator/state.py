"""Everything the emulator knows, behind one lock, with the Python API tests use to control it."""

from __future__ import annotations

import copy
import random
import threading
from dataclasses import dataclass
from typing import Any

from airflow_provider_dbxscim.emulator.clock import Clock, EmulatorClock
from airflow_provider_dbxscim.emulator.config import EmulatorConfig
from airflow_provider_dbxscim.emulator.directory import User, UserDirectory
from airflow_provider_dbxscim.emulator.faults import FaultInjector
from airflow_provider_dbxscim.emulator.ratelimit import RateLimiter
from airflow_provider_dbxscim.emulator.responses import scim_failure
from airflow_provider_dbxscim.emulator.seeding import SeedSource, load_seed
from airflow_provider_dbxscim.emulator.stats import Stats
from airflow_provider_dbxscim.emulator.tokens import TokenStore


@dataclass
class Workspace:
    """A workspace: its numeric id and its own users, linked to account users by userName."""

    name: str
    workspace_id: str
    users: UserDirectory


class EmulatorState:
    """
    Users, workspaces, tokens, limits, faults and statistics of one emulated account.

    Safe to call from a test thread while the server thread answers requests. :meth:`reset` returns to
    the config, seed and workspaces given here.

    :param config: switches, as an :class:`EmulatorConfig` or a mapping of switch names.
    :param seed: seed data or the path of a seed file (see :mod:`~airflow_provider_dbxscim.emulator.seeding`).
    :param workspaces: names of workspaces to create besides those in the seed.
    :param clock: clock for token expiry, limits and IdP resyncs; an :class:`EmulatorClock` by default.
    """

    def __init__(
        self,
        config: EmulatorConfig | dict[str, Any] | None = None,
        seed: SeedSource | None = None,
        workspaces: tuple[str, ...] | list[str] = (),
        clock: Clock | None = None,
    ) -> None:
        if not isinstance(config, EmulatorConfig):
            config = EmulatorConfig.from_mapping(config)
        self._initial = (config, load_seed(seed), tuple(workspaces))
        self.clock = clock or EmulatorClock()
        self.lock = threading.RLock()
        self.in_flight = 0
        self.reset()

    @property
    def config(self) -> EmulatorConfig:
        """The live switches."""
        return self._config

    def reset(self) -> None:
        """Return to the initial config, seed and workspaces; forget tokens, stats, buckets and faults."""
        with self.lock:
            self._config = self._initial[0]
            if isinstance(self.clock, EmulatorClock):
                self.clock.reset()
            self.tokens = TokenStore()
            self.stats_recorder = Stats()
            self.limiter = RateLimiter(self._config)
            self.faults = FaultInjector(self._config)
            self._resyncs: dict[str, float] = {}
            self._load(self._initial[1], replace=True)

    def configure(self, **switches: Any) -> EmulatorConfig:
        """
        Change switches at run time; they apply to the next request.

        :param switches: switch names and values (see :class:`EmulatorConfig`).
        :raises ValueError: for an unknown switch or a value out of range.
        """
        with self.lock:
            self._config = self._config.replace(**switches)
            self.limiter.config = self._config
            self.faults.config = self._config
            self.faults.reseed()
            return self._config

    def seed(self, data: SeedSource, *, replace: bool = True) -> None:
        """
        Load seed data.

        :param data: seed mapping or path of a seed file.
        :param replace: drop current users first; when false, matching users are updated and others added.
        """
        parsed = load_seed(data)
        with self.lock:
            self._resyncs.clear()
            self._load(parsed, replace=replace)

    def _load(self, seed: dict[str, Any], *, replace: bool) -> None:
        if replace:
            self.account = UserDirectory("account", self._config.id_seed)
            self._workspaces: dict[str, Workspace] = {}
            for name in self._initial[2]:
                self.add_workspace(name)
        for spec in seed["users"]:
            self.account.upsert(spec)
        for name, workspace in seed["workspaces"].items():
            directory = self._workspaces.get(name) or self._create_workspace(name)
            for spec in workspace["users"]:
                if self.account.find(spec["userName"]) is None:
                    self.account.upsert({"userName": spec["userName"], "active": spec.get("active", True)})
                directory.users.upsert(spec)

    def add_workspace(self, name: str) -> str:
        """
        Create a workspace if missing and return its numeric id; its host is ``{url}/ws/{name}``.

        :param name: URL-safe workspace name.
        """
        with self.lock:
            workspace = self._workspaces.get(name) or self._create_workspace(name)
            return workspace.workspace_id

    def _create_workspace(self, name: str) -> Workspace:
        if not name or "/" in name:
            raise ValueError(f"workspace name {name!r} must be non-empty and URL-safe")
        number = random.Random(f"{self._config.id_seed}:workspace:{name}").randrange(10**15, 10**16)
        workspace = Workspace(name, str(number), UserDirectory(f"workspace:{name}", self._config.id_seed))
        self._workspaces[name] = workspace
        return workspace

    def workspace(self, name: str) -> Workspace | None:
        """
        Return a workspace by name, or None.

        :param name: workspace name.
        """
        return self._workspaces.get(name)

    def workspaces(self) -> dict[str, str]:
        """Return workspace names mapped to their numeric ids."""
        with self.lock:
            return {name: workspace.workspace_id for name, workspace in self._workspaces.items()}

    def users(self, workspace: str | None = None) -> list[dict[str, Any]]:
        """
        Return copies of all users of the account or of a workspace, in list order.

        :param workspace: workspace name, or None for the account.
        """
        with self.lock:
            self.apply_due_resyncs()
            return copy.deepcopy(list(self._directory(workspace)))

    def get_user(self, user_name: str, workspace: str | None = None) -> dict[str, Any] | None:
        """
        Return a copy of one user found by userName (case-insensitive), or None.

        :param user_name: userName.
        :param workspace: workspace name, or None for the account.
        """
        with self.lock:
            self.apply_due_resyncs()
            user = self._directory(workspace).find(user_name)
            return copy.deepcopy(user)

    def set_active(self, user_name: str, active: bool, workspace: str | None = None) -> dict[str, Any]:
        """
        Set a user's ``active`` directly, bypassing the API, limits and statistics.

        :param user_name: userName.
        :param active: new value.
        :param workspace: workspace name, or None for the account.
        :raises KeyError: when there is no such user.
        """
        with self.lock:
            user = self._directory(workspace).find(user_name)
            if user is None:
                raise KeyError(user_name)
            user["active"] = bool(active)
            return copy.deepcopy(user)

    def _directory(self, workspace: str | None) -> UserDirectory:
        if workspace is None:
            return self.account
        if workspace not in self._workspaces:
            raise KeyError(f"no workspace {workspace!r}")
        return self._workspaces[workspace].users

    def stats(self) -> dict[str, Any]:
        """Return request counts by kind and status, the PATCH log, issued tokens, faults and throttling."""
        with self.lock:
            return self.stats_recorder.as_dict()

    def issued_tokens(self) -> list[str]:
        """Return every access token issued since the last reset, to search logs for leaks."""
        with self.lock:
            return [entry["token"] for entry in self.stats_recorder.tokens]

    def expire_tokens(self) -> None:
        """Expire every issued token at once."""
        with self.lock:
            self.tokens.expire_all()

    def advance_clock(self, seconds: float) -> None:
        """
        Move the emulator clock forward: tokens expire, buckets refill and IdP resyncs fall due.

        :param seconds: how far.
        :raises TypeError: when a custom clock without ``advance`` was given.
        """
        advance = getattr(self.clock, "advance", None)
        if advance is None:
            raise TypeError("the emulator clock cannot be advanced")
        advance(seconds)

    def snapshot(self) -> dict[str, Any]:
        """Return the config (secret masked), the account users and every workspace with its users."""
        with self.lock:
            self.apply_due_resyncs()
            return {
                "config": self._config.as_dict(),
                "users": copy.deepcopy(list(self.account)),
                "workspaces": {
                    name: {"id": workspace.workspace_id, "users": copy.deepcopy(list(workspace.users))}
                    for name, workspace in self._workspaces.items()
                },
            }

    def set_account_active(self, user: User, active: bool) -> None:
        """
        Change an account user's ``active``, with the side effects the service has.

        Deactivating at the account level deactivates the user in every workspace too. Reactivating does not
        reactivate workspaces: the vendor asks to reactivate in each workspace afterwards.

        :param user: the stored account user.
        :param active: new value.
        """
        was_active = user["active"]
        user["active"] = active
        if not active:
            for workspace in self._workspaces.values():
                member = workspace.users.find(user["userName"])
                if member is not None:
                    member["active"] = False
        elif not was_active and user.get("externalId") and self._config.idp_resync_seconds:
            self._resyncs[user["id"]] = self.clock.monotonic() + self._config.idp_resync_seconds

    def set_workspace_active(self, user: User, active: bool) -> None:
        """
        Change a workspace user's ``active``.

        Refusing to activate a workspace user whose account user is inactive, with 400 ``invalidValue``, is
        the emulator's judgement: the vendor documents the order (account first) but not the error.

        :param user: the stored workspace user.
        :param active: new value.
        """
        account_user = self.account.find(user["userName"])
        if active and (account_user is None or not account_user["active"]):
            raise scim_failure(
                400,
                f"User {user['userName']} is inactive in the account; reactivate the account user first",
                "invalidValue",
            )
        user["active"] = active

    def delete_account_user(self, user_id: str) -> User | None:
        """
        Delete an account user and its workspace memberships, as removing it from the account does.

        :param user_id: account SCIM id.
        """
        user = self.account.remove(user_id)
        if user is not None:
            self._resyncs.pop(user_id, None)
            for workspace in self._workspaces.values():
                member = workspace.users.find(user["userName"])
                if member is not None:
                    workspace.users.remove(member["id"])
        return user

    def apply_due_resyncs(self) -> None:
        """Deactivate users whose identity-provider resync has fallen due, as the IdP's next sync would."""
        if not self._resyncs:
            return
        now = self.clock.monotonic()
        for user_id, due in list(self._resyncs.items()):
            if due > now:
                continue
            del self._resyncs[user_id]
            user = self.account.get(user_id)
            if user is not None and user["active"]:
                self.set_account_active(user, False)
                self.stats_recorder.idp_deactivations.append(
                    {"id": user_id, "userName": user["userName"], "time": self.clock.time()}
                )
