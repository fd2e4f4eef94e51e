"""Pure functions that turn an upstream list of users into the userNames a task may act on.

The operator and the example DAGs share them, so a list is cleaned the same way wherever it enters. Nothing
here talks to Databricks; :func:`read_user_list` is the only function that touches the file system.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from airflow_provider_dbxscim.exceptions import ConfigurationError
from airflow_provider_dbxscim.scim import chunked, normalize_user_name

# Deliberately loose: one "@", no whitespace or quotes, and a dotted domain. The service decides what a valid
# userName is; this only catches lines that cannot be one (headers, names, stray text) before any request.
_EMAIL_LIKE = re.compile(
    r"^[^@\s\"<>(),;]+@[a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)+$"
)
CSV_COLUMNS = ("username", "user_name", "email", "e-mail", "mail")
_INVALID_SHOWN = 120


class UserListError(ConfigurationError, ValueError):
    """A list of users (or of workspace hosts) is missing, malformed, or of the wrong type."""


@dataclass(frozen=True)
class CleanResult:
    """
    The outcome of cleaning a raw list of userNames.

    :param valid: unique e-mail-like userNames, trimmed and lower-cased, in first-seen order.
    :param invalid: entries that cannot be a userName, as given (non-strings as their repr), trimmed.
    :param duplicates: userNames that occurred more than once after normalising, each listed once.
    :param blank: how many empty entries were dropped.
    """

    valid: list[str] = field(default_factory=list)
    invalid: list[str] = field(default_factory=list)
    duplicates: list[str] = field(default_factory=list)
    blank: int = 0

    def describe(self) -> str:
        """Summarise the cleaning in one sentence for a log line."""
        return (
            f"{len(self.valid)} valid userNames, {len(self.invalid)} invalid entries, "
            f"{len(self.duplicates)} duplicated userNames, {self.blank} blank entries"
        )


def require_list(value: Any, *, name: str) -> list[Any]:
    """
    Return ``value`` as a list, or raise a :class:`UserListError` that says what was wrong and what to do.

    A plain string is refused rather than split: ``"a@x.com"`` iterated would be a list of characters, and a
    templated list rendered without ``render_template_as_native_obj`` arrives as its text.

    :param value: what a task argument or an upstream task handed over.
    :param name: the argument's name, for the message.
    """
    if value is None:
        raise UserListError(f"{name} is None; pass a list of userNames (e-mail addresses), or [] for none.")
    if isinstance(value, str | bytes):
        raise UserListError(
            f"{name} is a string ({_shorten(str(value))!r}), not a list; pass a list such as "
            "['a@example.com'], or set render_template_as_native_obj=True on the DAG when the list comes "
            "from a template."
        )
    if isinstance(value, dict) or not isinstance(value, Iterable):
        raise UserListError(f"{name} must be a list of userNames, got {type(value).__name__}.")
    return list(value)


def is_email_like(user_name: str) -> bool:
    """
    Whether a normalised userName looks like an e-mail address, in printable ASCII.

    A character outside ASCII in a listed address is far more often a paste accident (a zero-width space, a
    Cyrillic look-alike of a Latin letter) than an internationalised address: set aside, it can never be
    matched or folded onto another account's user.
    """
    return user_name.isascii() and user_name.isprintable() and bool(_EMAIL_LIKE.match(user_name))


def invalid_reason(entry: str) -> str:
    """
    Say in one phrase why an entry set aside by :func:`clean_user_names` is not a userName, and what to do.

    :param entry: an entry of :attr:`CleanResult.invalid`.
    """
    text = entry.strip()
    odd = next((char for char in text if not (char.isascii() and char.isprintable())), None)
    if odd is not None and not odd.isspace():
        return f"contains {odd!r} (U+{ord(odd):04X}), which is not plain ASCII; retype the address"
    if any(char.isspace() for char in text):
        return "contains a space; remove it, or put each address on its own line"
    return "is not an e-mail address (name@example.com); correct it or remove it from the list"


def clean_user_names(raw: Any, *, name: str = "user_names") -> CleanResult:
    """
    Trim, lower-case and de-duplicate userNames, and set aside entries that cannot be one.

    userName is case-insensitive at the account level and stored lower-cased, so ``Ann@X.com`` and
    ``ann@x.com `` are the same user and the second is reported as a duplicate.

    :param raw: a list (or other non-string iterable) of userNames.
    :param name: the argument's name, for error messages.
    """
    entries = require_list(raw, name=name)
    valid: dict[str, None] = {}
    duplicates: dict[str, None] = {}
    invalid: list[str] = []
    blank = 0
    for entry in entries:
        if not isinstance(entry, str):
            invalid.append(_shorten(repr(entry)))
            continue
        user_name = normalize_user_name(entry)
        if not user_name:
            blank += 1
        elif not is_email_like(user_name):
            invalid.append(_shorten(entry.strip()))
        elif user_name in valid:
            duplicates[user_name] = None
        else:
            valid[user_name] = None
    return CleanResult(valid=list(valid), invalid=invalid, duplicates=list(duplicates), blank=blank)


def clean_workspace_hosts(raw: Any) -> list[str]:
    """
    Return workspace URLs trimmed, without a trailing slash and without repeats; None means none.

    :param raw: a list of workspace URLs, or None.
    """
    hosts = (str(host).strip().rstrip("/") for host in require_list(raw or [], name="workspace_hosts"))
    return list(dict.fromkeys(host for host in hosts if host))


def chunk(names: Iterable[str], size: int) -> list[list[str]]:
    """
    Split names into consecutive lists of at most ``size``, e.g. one list per mapped task.

    :param names: the names, already cleaned.
    :param size: the largest list wanted; at least 1.
    """
    return list(chunked(names, size))


def read_user_list(path: str | Path) -> list[Any]:
    """
    Read the raw entries of an upstream list of users, uncleaned; pass them to :func:`clean_user_names`.

    Supported formats, chosen by extension:

    * ``.txt``: one userName per line; blank lines and lines starting with ``#`` are skipped.
    * ``.csv``: a header row naming a ``userName``, ``user_name`` or ``email`` column (any case); a UTF-8
      byte-order mark, as spreadsheet programs write, is tolerated.
    * ``.json``: a list of userNames, or an object ``{"users": [...]}``.

    :param path: the file to read.
    """
    path = Path(path)
    readers = {".txt": _read_txt, ".csv": _read_csv, ".json": _read_json}
    reader = readers.get(path.suffix.lower())
    if reader is None:
        raise UserListError(f"{path} has an unsupported extension; use .txt, .csv or .json.")
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError as exc:
        raise UserListError(f"The user list {path} does not exist.") from exc
    except UnicodeDecodeError as exc:
        raise UserListError(f"The user list {path} is not UTF-8 text.") from exc
    return reader(text, path)


def _read_txt(text: str, path: Path) -> list[str]:
    lines = (line.strip() for line in text.splitlines())
    return [line for line in lines if line and not line.startswith("#")]


def _read_csv(text: str, path: Path) -> list[str]:
    reader = csv.DictReader(io.StringIO(text))
    headers = {(header or "").strip().lower(): header for header in reader.fieldnames or []}
    column = next((headers[wanted] for wanted in CSV_COLUMNS if wanted in headers), None)
    if column is None:
        raise UserListError(
            f"The CSV file {path} has no userName column; its header is {list(headers)!r}, expected one of "
            f"{list(CSV_COLUMNS)!r}."
        )
    try:
        return [value for row in reader if (value := (row.get(column) or "").strip())]
    except csv.Error as exc:
        raise UserListError(f"The CSV file {path} is malformed: {exc}.") from exc


def _read_json(text: str, path: Path) -> list[Any]:
    try:
        body = json.loads(text)
    except ValueError as exc:
        raise UserListError(
            f"The JSON file {path} is not valid JSON ({exc}); save it as a list of userNames or "
            '{"users": [...]}.'
        ) from exc
    if isinstance(body, dict) and "users" in body:
        body = body["users"]
    if not isinstance(body, list):
        raise UserListError(f'The JSON file {path} must hold a list of userNames or {{"users": [...]}}.')
    return body


def _shorten(text: str) -> str:
    return text if len(text) <= _INVALID_SHOWN else f"{text[: _INVALID_SHOWN - 3]}..."
