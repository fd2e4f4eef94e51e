"""Tests of the pure SCIM request builders and answer readers."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from email.utils import format_datetime

import pytest

from airflow_provider_dbxscim import scim
from airflow_provider_dbxscim.exceptions import (
    AuthenticationError,
    InvalidRequestError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitedError,
    ServiceUnavailableError,
    UnexpectedResponseError,
)

NOW = 1_700_000_000.0


def _scim_error(status: int, detail: str | None, scim_type: str | None = None) -> bytes:
    body = {"schemas": [scim.ERROR_SCHEMA], "status": str(status), "detail": detail}
    if scim_type:
        body["scimType"] = scim_type
    return json.dumps(body).encode()


def _page(names: list[str], *, total: int | None = None) -> scim.ListPage:
    users = [scim.ScimUser(id=str(i), user_name=name, active=False) for i, name in enumerate(names)]
    return scim.ListPage(
        users=users,
        total_results=len(names) if total is None else total,
        start_index=1,
        items_per_page=len(names),
    )


def test_filter_escapes_quotes_and_backslashes():
    """A name with a quote or a backslash becomes a valid JSON string literal in the filter."""
    names = ['o"brien@example.com', "back\\slash@example.com"]

    built = scim.user_name_filter(names)

    assert built == 'userName eq "o\\"brien@example.com" or userName eq "back\\\\slash@example.com"'


def test_filter_normalizes_case_and_whitespace():
    """Names are trimmed and lower-cased, as the account stores them."""
    assert scim.user_name_filter(["  Ann@Example.COM "]) == 'userName eq "ann@example.com"'


def test_filter_needs_a_name():
    """An empty filter is refused instead of sending a request that matches nothing or everything."""
    with pytest.raises(ValueError, match="at least one"):
        scim.user_name_filter([])


@pytest.mark.parametrize(
    ("requested", "expected"), [(0, 1), (1, 1), (50, 50), (100, 100), (101, 100), (500, 100)]
)
def test_terms_per_filter_stays_under_200_nodes(requested, expected):
    """The number of or-terms is clamped so that terms plus operators stay within 200 filter nodes."""
    clamped = scim.terms_per_filter(requested)

    assert clamped == expected
    assert 2 * clamped - 1 <= scim.MAX_FILTER_NODES


def test_chunked_splits_in_order():
    """Items come out in order, in lists of at most the given size."""
    assert list(scim.chunked("abcde", 2)) == [["a", "b"], ["c", "d"], ["e"]]


def test_active_patch_carries_a_json_boolean():
    """The PatchOp value is the JSON boolean true, never the string "true"."""
    body = json.dumps(scim.build_active_patch(True))

    assert json.loads(body) == {
        "schemas": [scim.PATCH_OP_SCHEMA],
        "Operations": [{"op": "replace", "path": "active", "value": True}],
    }
    assert '"value": true' in body


def test_active_patch_refuses_a_string():
    """A string value is refused before it can reach the service's 500 cast error."""
    with pytest.raises(TypeError):
        scim.build_active_patch("true")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("5", 5.0),
        (" 2 ", 2.0),
        ("1.5", 1.5),
        ("-3", 0.0),
        (format_datetime(datetime.fromtimestamp(NOW + 7, UTC), usegmt=True), 7.0),
        ("Tue, 14 Nov 2023 22:13:27 -0000", 7.0),
        (format_datetime(datetime.fromtimestamp(NOW - 60, UTC), usegmt=True), 0.0),
        (None, None),
        ("", None),
        ("soon", None),
        ("inf", None),
        ("nan", None),
    ],
)
def test_retry_after_forms(header, expected):
    """Retry-After is read as integer seconds, decimal seconds or an HTTP date, never negative."""
    assert scim.parse_retry_after(header, now=NOW) == expected


@pytest.mark.parametrize(
    ("status", "content", "headers", "error", "scim_type"),
    [
        (400, _scim_error(400, "Invalid filter", "invalidFilter"), {}, InvalidRequestError, "invalidFilter"),
        (
            400,
            _scim_error(400, "Unparsable PatchOp", "invalidSyntax"),
            {},
            InvalidRequestError,
            "invalidSyntax",
        ),
        (400, b"", {}, InvalidRequestError, None),
        (401, _scim_error(401, "Invalid access token"), {}, AuthenticationError, None),
        (403, _scim_error(403, "Invalid access token"), {}, AuthenticationError, None),
        (403, _scim_error(403, "Token expired"), {}, AuthenticationError, None),
        (403, b"", {"www-authenticate": 'Bearer error="invalid_token"'}, AuthenticationError, None),
        (403, _scim_error(403, "User is not an account admin"), {}, PermissionDeniedError, None),
        (
            403,
            b'{"error_code":"PERMISSION_DENIED","message":"IP blocked"}',
            {},
            PermissionDeniedError,
            "PERMISSION_DENIED",
        ),
        (404, _scim_error(404, "User 1 not found"), {}, NotFoundError, None),
        (
            409,
            _scim_error(409, "User with username a@b.c already exists.", "uniqueness"),
            {},
            InvalidRequestError,
            "uniqueness",
        ),
        (429, b"", {}, RateLimitedError, None),
        (500, _scim_error(500, "REQUEST_LIMIT_EXCEEDED: slow down"), {}, RateLimitedError, None),
        (
            500,
            _scim_error(500, "class java.lang.String cannot be cast to class java.lang.Boolean"),
            {},
            InvalidRequestError,
            None,
        ),
        (500, _scim_error(500, "null"), {}, ServiceUnavailableError, None),
        (500, b"Internal error", {"content-type": "text/plain"}, ServiceUnavailableError, None),
        (502, b"<html>bad gateway</html>", {"content-type": "text/html"}, ServiceUnavailableError, None),
        (503, b"", {}, ServiceUnavailableError, None),
        (302, b"", {}, UnexpectedResponseError, None),
    ],
)
def test_error_classification(status, content, headers, error, scim_type):
    """Every failure the reference lists maps to its typed error, carrying status and scimType."""
    exc = scim.error_from_response(status, headers, content, what="GET x", now=NOW)

    assert type(exc) is error
    assert exc.status == status
    assert exc.scim_type == scim_type


def test_throttling_error_carries_retry_after():
    """A 429 keeps the wait the service asked for, read from the Retry-After header."""
    exc = scim.error_from_response(429, {"retry-after": "2.5"}, b"", what="PATCH user 1", now=NOW)

    assert isinstance(exc, RateLimitedError)
    assert exc.retry_after == 2.5


def test_cast_error_message_explains_the_boolean():
    """The cast error says that active must be a JSON boolean."""
    content = _scim_error(500, "class java.lang.String cannot be cast to class java.lang.Boolean (x)")

    exc = scim.error_from_response(500, {}, content, what="PATCH user 1", now=NOW)

    assert "JSON boolean" in str(exc)


def test_parse_answer_accepts_every_patch_success():
    """A PATCH succeeds with 200 and an empty object, 200 and a user, or 204 without a body."""
    user = {"id": "1", "userName": "a@b.c", "active": True}

    assert scim.parse_answer(200, {}, b"{}", what="x", now=NOW) == {}
    assert scim.parse_answer(200, {}, json.dumps(user).encode(), what="x", now=NOW) == user
    assert scim.parse_answer(204, {}, b"", what="x", now=NOW) is None
    assert scim.parse_answer(200, {}, b"", what="x", now=NOW) is None


def test_parse_answer_names_html_without_quoting_it():
    """An HTML page in place of JSON fails with its content type and size, never its text."""
    page = b"<html><body>Sign in as someone@example.com</body></html>"

    with pytest.raises(UnexpectedResponseError) as caught:
        scim.parse_answer(
            200, {"content-type": "text/html; charset=utf-8"}, page, what="GET account Users", now=NOW
        )

    assert "text/html" in str(caught.value)
    assert "GET account Users" in str(caught.value)
    assert "someone" not in str(caught.value)


def test_list_response_without_resources():
    """A ListResponse with no match may leave Resources out; it reads as an empty page."""
    page = scim.parse_list_response({"schemas": [scim.LIST_RESPONSE_SCHEMA], "totalResults": 0})

    assert page.users == []
    assert page.total_results == 0


def test_list_response_reads_users():
    """Users are read from Resources, with userName lower-cased and active as a boolean."""
    body = {
        "totalResults": 1,
        "startIndex": 1,
        "itemsPerPage": 1,
        "Resources": [{"id": 7, "userName": "Ann@Example.com", "active": False, "externalId": "x"}],
    }

    page = scim.parse_list_response(body)

    assert page.users == [scim.ScimUser(id="7", user_name="ann@example.com", active=False, external_id="x")]


def test_user_without_id_is_an_unexpected_answer():
    """A resource without an id raises a typed error naming the attribute."""
    with pytest.raises(UnexpectedResponseError, match="'id'"):
        scim.ScimUser.from_resource({"userName": "a@b.c"})


def test_lookup_params_ask_for_few_attributes():
    """A lookup page asks only for the attributes reactivation reads."""
    params = scim.lookup_params(["a@b.c"], start_index=11, count=10)

    assert params == {
        "filter": 'userName eq "a@b.c"',
        "attributes": "id,userName,active,externalId,displayName",
        "startIndex": "11",
        "count": "10",
    }


@pytest.mark.parametrize(
    ("received", "total", "start", "found", "expected"),
    [
        (0, 0, 1, 0, None),
        (3, 3, 1, 3, None),
        (2, 2, 1, 2, None),
        (2, 5, 1, 2, 3),
        (2, 5, 3, 4, 5),
        (1, 5, 5, 5, None),
    ],
)
def test_next_start_index(received, total, start, found, expected):
    """Paging goes on past a capped page while totalResults says more, and stops when nothing can follow."""
    page = _page([f"u{i}@x.y" for i in range(received)], total=total)

    assert scim.next_start_index(page, start_index=start, count=5, found=found, most=5) == expected


def _drive(plan, answer):
    requests = []
    try:
        params = next(plan)
        while True:
            requests.append(params)
            params = plan.send(answer(params))
    except StopIteration as done:
        return done.value, requests


def _directory_answer(existing: list[str], cap: int):
    def answer(params):
        wanted = [term.split('"')[1] for term in params["filter"].split(" or ")]
        matches = [name for name in existing if name in wanted]
        start = int(params["startIndex"])
        size = min(int(params["count"]), cap)
        users = [
            scim.ScimUser(id=name, user_name=name, active=False)
            for name in matches[start - 1 : start - 1 + size]
        ]
        return scim.ListPage(
            users=users, total_results=len(matches), start_index=start, items_per_page=len(users)
        )

    return answer


def test_plan_lookup_batches_names():
    """Names are deduplicated, normalized and looked up many per request."""
    names = [f"User{i}@X.com" for i in range(7)] + ["user0@x.com", "  "]
    existing = [f"user{i}@x.com" for i in range(0, 7, 2)]

    found, requests = _drive(scim.plan_lookup(names, terms=3), _directory_answer(existing, cap=100))

    assert sorted(found) == existing
    assert len(requests) == 3
    assert all(params["startIndex"] == "1" for params in requests)


def test_plan_lookup_pages_past_a_small_cap():
    """A page cap below the filter size is paged through without skipping or repeating users."""
    names = [f"user{i}@x.com" for i in range(10)]
    existing = names[:7]

    found, requests = _drive(scim.plan_lookup(names, terms=10), _directory_answer(existing, cap=3))

    assert sorted(found) == sorted(existing)
    assert [params["startIndex"] for params in requests] == ["1", "4", "7"]


def test_plan_lookup_stops_when_a_server_repeats_a_page():
    """A server that ignores startIndex is caught instead of being paged forever."""
    names = [f"user{i}@x.com" for i in range(4)]

    def stuck(params):
        users = [scim.ScimUser(id="1", user_name="user0@x.com", active=False)]
        return scim.ListPage(users=users, total_results=3, start_index=1, items_per_page=1)

    with pytest.raises(UnexpectedResponseError, match="repeated"):
        _drive(scim.plan_lookup(names, terms=4), stuck)


def test_plan_lookup_of_nothing_sends_nothing():
    """An empty list of names needs no request."""
    found, requests = _drive(scim.plan_lookup([], terms=50), _directory_answer([], cap=10))

    assert found == {}
    assert requests == []
