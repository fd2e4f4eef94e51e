"""Remember, across retries of one task instance, which users that task instance reactivated.

Reading each user before changing it already makes a retry send no PATCH for users an earlier try reactivated;
this memory only keeps the retry's report truthful: those users are ``reactivated``, not ``already_active``.

Airflow 3.3 keeps a task state store (``context["task_state_store"]``) scoped to the DAG run, task id and
map index: retries and clears of the task share it, a new run (a backfill included) starts empty. Where the
store is missing, as on Airflow before 3.3 or when ``execute`` is called by hand, a JSON file next to the
report takes its place; with neither, a retry reports those users as ``already_active``.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

STATE_KEY = "dbxscim_reactivated"
ACCOUNT = "account"


class ReactivationProgress:
    """
    The account and workspace user ids this task instance reactivated, saved after every change.

    :param load: returns what was saved before, or None.
    :param save: persists the whole value; called after each reactivation.
    :param where: names the storage, for the log.
    """

    def __init__(self, load: Callable[[], Any], save: Callable[[dict[str, list[str]]], None], where: str):
        self._save = save
        self.where = where
        saved = load()
        self._ids: dict[str, set[str]] = {}
        if isinstance(saved, Mapping):
            self._ids = {scope: set(ids) for scope, ids in saved.items() if isinstance(ids, list)}

    @classmethod
    def for_task(cls, context: Mapping[str, Any], progress_file: Path | None) -> ReactivationProgress:
        """Use the task state store when Airflow provides one, else ``progress_file``, else nothing."""
        store = context.get("task_state_store")
        if store is not None:
            return cls(
                lambda: store.get(STATE_KEY), lambda value: store.set(STATE_KEY, value), "task state store"
            )
        if progress_file is not None:
            return cls(
                lambda: _read_json(progress_file), lambda value: _write_json(progress_file, value), "file"
            )
        return cls(lambda: None, lambda value: None, "nowhere")

    @property
    def is_empty(self) -> bool:
        """Whether no earlier try of this task instance reactivated anyone."""
        return not any(self._ids.values())

    def was_reactivated(self, user_id: str, workspace_host: str | None = None) -> bool:
        """Whether an earlier try reactivated this user (in ``workspace_host``, or at the account level)."""
        return user_id in self._ids.get(workspace_host or ACCOUNT, set())

    def remember(self, user_id: str, workspace_host: str | None = None) -> None:
        """Record a reactivation and save at once, so a try killed mid-batch loses nothing."""
        self._ids.setdefault(workspace_host or ACCOUNT, set()).add(user_id)
        self._save({scope: sorted(ids) for scope, ids in self._ids.items()})


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (FileNotFoundError, ValueError):
        return None


def _write_json(path: Path, value: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".partial")
    partial.write_text(json.dumps(value), encoding="utf-8")
    os.replace(partial, path)
