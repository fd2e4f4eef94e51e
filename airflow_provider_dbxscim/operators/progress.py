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
import threading
from collections.abc import Callable, Collection, Mapping
from pathlib import Path
from typing import Any

STATE_KEY = "dbxscim_reactivated"
ACCOUNT = "account"
IN_FLIGHT = "in_flight"


class ReactivationProgress:
    """
    The account and workspace user ids this task instance reactivated, or was about to.

    Saving is batched, because each save is a round trip to Airflow's execution API: the ids of a whole batch
    are saved as in flight once, before its first PATCH goes, and the outcome once, at the end of the try.
    A try killed in between leaves the in-flight ids behind; its retry, reading those users active, reports
    them ``reactivated`` (the earlier try's PATCH is what made them so), and sends a PATCH to the ones the
    kill stopped, which it still reads inactive. The only inexactness: a user another actor reactivated while
    the killed try had them in flight is credited to that try.

    :param load: returns what was saved before, or None.
    :param save: persists the whole value.
    :param where: names the storage, for the log.
    """

    def __init__(self, load: Callable[[], Any], save: Callable[[dict[str, Any]], None], where: str):
        self._save = save
        self.where = where
        self._lock = threading.Lock()
        self._ids: dict[str, set[str]] = {}
        self._in_flight: dict[str, set[str]] = {}
        saved = load()
        if isinstance(saved, Mapping):
            self._ids = {scope: set(ids) for scope, ids in saved.items() if isinstance(ids, list)}
            earlier = saved.get(IN_FLIGHT)
            if isinstance(earlier, Mapping):
                for scope, ids in earlier.items():
                    if isinstance(ids, list):
                        self._ids.setdefault(scope, set()).update(ids)

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
        """Whether an earlier try reactivated this user, or had a PATCH for them in flight when it died."""
        return user_id in self._ids.get(workspace_host or ACCOUNT, set())

    def intend(self, user_ids: Collection[str], workspace_host: str | None = None) -> None:
        """Save, before the first PATCH of a batch goes, the ids the batch is about to reactivate."""
        if not user_ids:
            return
        with self._lock:
            self._in_flight.setdefault(workspace_host or ACCOUNT, set()).update(user_ids)
            self._store()

    def remember(self, user_id: str, workspace_host: str | None = None) -> None:
        """Record one reactivation in memory; :meth:`save` stores it. Safe to call from several threads."""
        scope = workspace_host or ACCOUNT
        with self._lock:
            self._ids.setdefault(scope, set()).add(user_id)
            self._in_flight.get(scope, set()).discard(user_id)

    def save(self) -> None:
        """Store what this try did, dropping the in-flight marks of PATCHes that failed; once per try."""
        with self._lock:
            self._in_flight.clear()
            self._store()

    def _store(self) -> None:
        value: dict[str, Any] = {scope: sorted(ids) for scope, ids in self._ids.items()}
        if any(self._in_flight.values()):
            value[IN_FLIGHT] = {scope: sorted(ids) for scope, ids in self._in_flight.items()}
        self._save(value)


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
