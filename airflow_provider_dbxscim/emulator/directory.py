"""Users of one scope, the account or one workspace, stored as their SCIM representation."""

from __future__ import annotations

import random
from collections.abc import Iterator
from typing import Any

from airflow_provider_dbxscim.emulator.filters import ParsedFilter
from airflow_provider_dbxscim.emulator.responses import USER_SCHEMA

User = dict[str, Any]

_SORTABLE = {"username": "userName", "displayname": "displayName", "id": "id", "externalid": "externalId"}


class DuplicateUserError(ValueError):
    """A user with the same userName (compared case-insensitively) or id already exists."""


class UserDirectory:
    """
    Users of one scope, indexed by id and by lower-cased userName.

    Insertion order is the list order, so paging with ``startIndex`` never skips or repeats a user while
    nobody is added or deleted.

    :param scope: ``account`` or the workspace name; also salts the id generator.
    :param id_seed: seed of the generator of 16-digit ids for users added without one.
    """

    def __init__(self, scope: str, id_seed: int = 0) -> None:
        self.scope = scope
        self._ids = random.Random(f"{id_seed}:{scope}")
        self._by_id: dict[str, User] = {}
        self._by_name: dict[str, str] = {}
        self._order: dict[str, int] = {}
        self._sequence = 0

    def __len__(self) -> int:
        return len(self._by_id)

    def __iter__(self) -> Iterator[User]:
        return iter(list(self._by_id.values()))

    def add(
        self,
        user_name: str,
        *,
        active: bool = True,
        display_name: str | None = None,
        external_id: str | None = None,
        user_id: str | None = None,
    ) -> User:
        """
        Create a user; ``userName`` is stored lower-cased as the account service does.

        :param user_name: e-mail style name, unique case-insensitively.
        :param active: whether the user can sign in.
        :param display_name: optional display name.
        :param external_id: identity-provider id; set means the user is provisioned by an IdP.
        :param user_id: id to use instead of a generated one.
        :raises DuplicateUserError: when the userName or id is taken.
        """
        key = user_name.lower()
        if key in self._by_name:
            raise DuplicateUserError(
                f"User with username {key} already exists. "
                "Usernames are case-insensitive and stored in lower case."
            )
        if user_id is not None and user_id in self._by_id:
            raise DuplicateUserError(f"User with id {user_id} already exists.")
        user_id = user_id or self._new_id()
        user: User = {"schemas": [USER_SCHEMA], "id": user_id, "userName": key}
        if display_name:
            user["displayName"] = display_name
        user["active"] = bool(active)
        user["emails"] = [{"value": key, "type": "work", "primary": True}]
        if external_id:
            user["externalId"] = external_id
        self._by_id[user_id] = user
        self._by_name[key] = user_id
        self._order[user_id] = self._sequence
        self._sequence += 1
        return user

    def upsert(self, spec: dict[str, Any]) -> User:
        """
        Add a seed user, or update ``active``, ``displayName`` and ``externalId`` of an existing one.

        :param spec: a seed user (see :mod:`~airflow_provider_dbxscim.emulator.seeding`).
        """
        user = self.find(spec["userName"])
        if user is None:
            return self.add(
                spec["userName"],
                active=spec.get("active", True),
                display_name=spec.get("displayName"),
                external_id=spec.get("externalId"),
                user_id=spec.get("id"),
            )
        self.update(user, {key: spec[key] for key in ("active", "displayName", "externalId") if key in spec})
        return user

    def get(self, user_id: str) -> User | None:
        """
        Return the stored user with this id, or None.

        :param user_id: SCIM id.
        """
        return self._by_id.get(user_id)

    def find(self, user_name: str) -> User | None:
        """
        Return the stored user with this userName, compared case-insensitively, or None.

        :param user_name: userName in any case.
        """
        user_id = self._by_name.get(user_name.lower())
        return None if user_id is None else self._by_id[user_id]

    def remove(self, user_id: str) -> User | None:
        """
        Delete a user and return it, or None when there was none.

        :param user_id: SCIM id.
        """
        user = self._by_id.pop(user_id, None)
        if user is not None:
            del self._by_name[user["userName"]]
            del self._order[user_id]
        return user

    def update(self, user: User, changes: dict[str, Any]) -> None:
        """
        Apply attribute changes to a stored user; a value of None removes the attribute.

        :param user: the stored user.
        :param changes: SCIM attribute names and new values.
        :raises DuplicateUserError: when a new userName is taken by another user.
        """
        new_name = changes.get("userName")
        if new_name is not None and new_name.lower() != user["userName"]:
            key = new_name.lower()
            if key in self._by_name:
                raise DuplicateUserError(f"User with username {key} already exists.")
            del self._by_name[user["userName"]]
            self._by_name[key] = user["id"]
            user["emails"] = [{"value": key, "type": "work", "primary": True}]
            changes = {**changes, "userName": key}
        for name, value in changes.items():
            if value is None:
                user.pop(name, None)
            else:
                user[name] = value

    def query(
        self, parsed: ParsedFilter | None = None, sort_by: str | None = None, descending: bool = False
    ) -> list[User]:
        """
        Return the users that match, in insertion order unless sorted.

        :param parsed: compiled filter, or None for all users.
        :param sort_by: attribute to sort by; unknown attributes are ignored (RFC 7644 section 3.4.2.3).
        :param descending: sort in descending order.
        """
        if parsed is not None and parsed.user_names is not None:
            candidates = [self._by_id[i] for name in parsed.user_names if (i := self._by_name.get(name))]
            candidates.sort(key=lambda user: self._order[user["id"]])
        elif parsed is not None and parsed.ids is not None:
            candidates = [self._by_id[i] for i in parsed.ids if i in self._by_id]
            candidates.sort(key=lambda user: self._order[user["id"]])
        else:
            candidates = list(self._by_id.values())
        if parsed is not None:
            candidates = [user for user in candidates if parsed.predicate(user)]
        attribute = _SORTABLE.get((sort_by or "").lower())
        if attribute:
            candidates.sort(key=lambda user: _sort_key(user.get(attribute)), reverse=descending)
        return candidates

    def _new_id(self) -> str:
        while True:
            candidate = str(self._ids.randrange(10**15, 10**16))
            if candidate not in self._by_id:
                return candidate


def _sort_key(value: Any) -> tuple[int, str]:
    return (1, "") if value is None else (0, str(value).lower())
