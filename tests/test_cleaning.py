from __future__ import annotations

import json

import pytest

from airflow_provider_dbxscim.cleaning import (
    UserListError,
    chunk,
    clean_user_names,
    clean_workspace_hosts,
    invalid_reason,
    read_user_list,
)
from airflow_provider_dbxscim.exceptions import ConfigurationError


def test_clean_trims_lowercases_and_keeps_first_seen_order():
    """Names are trimmed and lower-cased, and keep the order in which they first appeared."""
    raw = ["  Bob@Example.com ", "alice@example.com", "bob@example.COM"]

    result = clean_user_names(raw)

    assert result.valid == ["bob@example.com", "alice@example.com"]
    assert result.duplicates == ["bob@example.com"]


def test_clean_sets_aside_entries_that_are_not_email_like():
    """Headers, bare names, non-strings and blanks are reported, never passed on."""
    raw = ["userName", "Jane Doe", "jane@", "@example.com", "a b@example.com", 42, None, "", "   ", "ok@x.io"]

    result = clean_user_names(raw)

    assert result.valid == ["ok@x.io"]
    assert result.invalid == [
        "userName",
        "Jane Doe",
        "jane@",
        "@example.com",
        "a b@example.com",
        "42",
        "None",
    ]
    assert result.blank == 2


@pytest.mark.parametrize(
    ("entry", "reason"),
    [
        ("zo\u00eb@example.com", "contains 'ë' (U+00EB), which is not plain ASCII; retype the address"),
        ("ann\u200b@example.com", "(U+200B), which is not plain ASCII"),
        ("\u0430nn@example.com", "contains '\u0430' (U+0430)"),
        ("ann@ex\u00e4mple.com", "(U+00E4)"),
        ("ann smith@example.com", "contains a space; remove it, or put each address on its own line"),
        ("ann\u00a0smith@example.com", "contains a space"),
        ("jane@", "is not an e-mail address (name@example.com); correct it or remove it from the list"),
    ],
)
def test_entries_outside_ascii_or_with_spaces_are_set_aside_with_their_reason(entry, reason):
    """Look-alike, invisible and accented characters, inner spaces and non-addresses each get their reason."""
    result = clean_user_names([entry])

    assert result.valid == []
    assert reason in invalid_reason(result.invalid[0])


def test_clean_describe_counts_every_kind_of_entry():
    """The one-line summary names each count."""
    result = clean_user_names(["a@x.io", "A@x.io", "nope", ""])

    text = result.describe()

    assert text == "1 valid userNames, 1 invalid entries, 1 duplicated userNames, 1 blank entries"


@pytest.mark.parametrize(
    ("value", "fragment"),
    [
        (None, "is None"),
        ("a@example.com", "is a string"),
        ({"users": ["a@example.com"]}, "must be a list"),
        (7, "must be a list"),
    ],
)
def test_clean_refuses_what_is_not_a_list(value, fragment):
    """None, a plain string, a mapping or a number fail with a message that says what to pass instead."""
    with pytest.raises(UserListError, match=fragment) as caught:
        clean_user_names(value)

    assert isinstance(caught.value, ConfigurationError)


def test_clean_accepts_an_empty_list():
    """An empty list is not an error; it cleans to nothing."""
    result = clean_user_names([])

    assert result.valid == []
    assert result.invalid == []


def test_clean_workspace_hosts_trims_and_drops_repeats():
    """Workspace URLs lose surrounding blanks and trailing slashes, and repeats go."""
    raw = [" https://a.cloud.databricks.com/ ", "https://a.cloud.databricks.com", "", "https://b"]

    hosts = clean_workspace_hosts(raw)

    assert hosts == ["https://a.cloud.databricks.com", "https://b"]


def test_clean_workspace_hosts_treats_none_as_no_workspace():
    """None means no workspace at all."""
    assert clean_workspace_hosts(None) == []


def test_chunk_splits_into_lists_of_at_most_size():
    """The last chunk holds the remainder."""
    names = [f"u{i}@x.io" for i in range(5)]

    chunks = chunk(names, 2)

    assert chunks == [names[0:2], names[2:4], names[4:5]]


def test_chunk_refuses_a_size_below_one():
    """A size of zero would loop for ever; it is refused."""
    with pytest.raises(ValueError, match="at least 1"):
        chunk(["a@x.io"], 0)


def test_read_txt_skips_comments_and_blank_lines(tmp_path):
    """Lines starting with # and blank lines are not entries."""
    path = tmp_path / "users.txt"
    path.write_text("# upstream export\n\nA@x.io\n  b@x.io  \n# c@x.io\n", encoding="utf-8")

    entries = read_user_list(path)

    assert entries == ["A@x.io", "b@x.io"]


def test_read_csv_finds_the_username_column_behind_a_bom(tmp_path):
    """A spreadsheet export with a byte-order mark and a userName header reads cleanly."""
    path = tmp_path / "users.csv"
    path.write_bytes("\ufeffdisplayName,UserName\nAnn,ann@x.io\nBob,bob@x.io\nNobody,\n".encode())

    entries = read_user_list(path)

    assert entries == ["ann@x.io", "bob@x.io"]


def test_read_csv_accepts_an_email_column(tmp_path):
    """An ``email`` header works as well as ``userName``."""
    path = tmp_path / "users.csv"
    path.write_text("email\nann@x.io\n", encoding="utf-8")

    entries = read_user_list(path)

    assert entries == ["ann@x.io"]


def test_read_csv_without_a_known_column_names_the_header_it_found(tmp_path):
    """The error lists the header that was found and the columns that would do."""
    path = tmp_path / "users.csv"
    path.write_text("name,dept\nAnn,IT\n", encoding="utf-8")

    with pytest.raises(UserListError, match=r"\['name', 'dept'\]"):
        read_user_list(path)


@pytest.mark.parametrize("body", [["ann@x.io", "bob@x.io"], {"users": ["ann@x.io", "bob@x.io"]}])
def test_read_json_accepts_a_list_or_a_users_object(tmp_path, body):
    """Both JSON shapes give the same entries."""
    path = tmp_path / "users.json"
    path.write_text(json.dumps(body), encoding="utf-8")

    entries = read_user_list(path)

    assert entries == ["ann@x.io", "bob@x.io"]


@pytest.mark.parametrize(
    ("text", "fragment"),
    [("{not json", "not valid JSON"), ('{"people": []}', "must hold a list"), ('"ann@x.io"', "must hold")],
)
def test_read_json_reports_malformed_files(tmp_path, text, fragment):
    """Invalid JSON and the wrong shape fail with a message naming the file's problem."""
    path = tmp_path / "users.json"
    path.write_text(text, encoding="utf-8")

    with pytest.raises(UserListError, match=fragment):
        read_user_list(path)


def test_read_refuses_an_unknown_extension(tmp_path):
    """Only .txt, .csv and .json are read."""
    path = tmp_path / "users.xlsx"
    path.write_bytes(b"PK")

    with pytest.raises(UserListError, match="unsupported extension"):
        read_user_list(path)


def test_read_reports_a_missing_file(tmp_path):
    """A missing file is named in the error."""
    path = tmp_path / "absent.txt"

    with pytest.raises(UserListError, match=r"absent\.txt does not exist"):
        read_user_list(path)


def test_read_reports_a_file_that_is_not_utf8(tmp_path):
    """Bytes that are not UTF-8 fail clearly instead of with a decode traceback."""
    path = tmp_path / "users.txt"
    path.write_bytes(b"\xff\xfea\x00@\x00")

    with pytest.raises(UserListError, match="not UTF-8"):
        read_user_list(path)
