"""Tests of account SCIM list calls: filters, paging, sorting and attribute projection."""

from __future__ import annotations

import pytest

from airflow_provider_dbxscim.emulator import make_users
from airflow_provider_dbxscim.emulator.filters import FilterError, parse_filter


def names(response) -> list[str]:
    return [user["userName"] for user in response.json().get("Resources", [])]


def test_list_response_shape(scim):
    """A list answers the ListResponse schema with capital Resources and the paging fields."""

    body = scim.get("/Users").json()

    assert body["schemas"] == ["urn:ietf:params:scim:api:messages:2.0:ListResponse"]
    assert body["totalResults"] == 8
    assert body["startIndex"] == 1
    assert body["itemsPerPage"] == 8
    assert len(body["Resources"]) == 8


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ('userName eq "BOB.Inactive@Example.com"', ["bob.inactive@example.com"]),
        (
            'userName ne "bob.inactive@example.com" and active eq false',
            [
                "carol.idp@example.com",
                "dave.inactive@example.com",
                "frank.inactive@example.com",
                "grace.inactive@example.com",
            ],
        ),
        ('displayName co "idp"', ["carol.idp@example.com"]),
        ('userName sw "h"', ["heidi.active@example.com"]),
        ('id eq "1000000000000005"', ["erin.active@example.com"]),
        ('externalId eq "entra-7f3c2a10"', ["carol.idp@example.com"]),
        (
            'userName eq "alice.active@example.com" or userName eq "bob.inactive@example.com"',
            ["alice.active@example.com", "bob.inactive@example.com"],
        ),
        ('(userName sw "a" or userName sw "b") and active eq false', ["bob.inactive@example.com"]),
        (
            "active eq true",
            ["alice.active@example.com", "erin.active@example.com", "heidi.active@example.com"],
        ),
        ("externalId ne null and active eq true", ["erin.active@example.com"]),
    ],
)
def test_filters(scim, expression, expected):
    """eq, ne, co and sw combine with and, or and parentheses; userName compares case-insensitively."""

    response = scim.get("/Users", params={"filter": expression})

    assert response.status_code == 200
    assert names(response) == expected


def test_string_escapes_in_filters(scim, emulator):
    """A filter string with backslash escapes matches the unescaped value."""
    emulator.state.seed({"users": [{"userName": 'quote"d@example.com', "displayName": "back\\slash"}]})

    by_name = scim.get("/Users", params={"filter": r'userName eq "quote\"d@example.com"'})
    by_display = scim.get("/Users", params={"filter": r'displayName eq "back\\slash"'})

    assert names(by_name) == ['quote"d@example.com']
    assert names(by_display) == ['quote"d@example.com']


@pytest.mark.parametrize(
    "expression",
    [
        'userName gt "a"',
        "externalId pr",
        'userName xx "a"',
        'userName eq "a" and',
        'userName eq "unterminated',
        "userName eq bare",
        'nickName eq "a"',
        'active eq "true"',
        'not (userName eq "a")',
        '(userName eq "a"',
    ],
)
def test_bad_filters_are_invalid_filter(scim, expression):
    """Unknown or unsupported operators, attributes and bad syntax get 400 invalidFilter."""

    response = scim.get("/Users", params={"filter": expression})

    assert response.status_code == 400
    assert response.json()["scimType"] == "invalidFilter"
    assert response.json()["status"] == "400"


def or_chain(terms: int) -> str:
    return " or ".join(f'userName eq "user{number}@example.com"' for number in range(terms))


@pytest.mark.parametrize(("terms", "status"), [(100, 200), (101, 400)])
def test_filter_node_limit(scim, terms, status):
    """100 terms joined by 99 ors are 199 nodes and pass; 101 terms are 201 nodes and get INVALID_FILTER."""

    response = scim.get("/Users", params={"filter": or_chain(terms)})

    assert response.status_code == status
    if status == 400:
        assert response.json()["scimType"] == "invalidFilter"
        assert "INVALID_FILTER" in response.json()["detail"]


@pytest.mark.parametrize(("limit", "status"), [(200, 200), (10, 400)])
def test_filter_max_nodes_switch(scim, emulator, limit, status):
    """filter_max_nodes moves the node limit."""
    emulator.state.configure(filter_max_nodes=limit)

    response = scim.get("/Users", params={"filter": or_chain(6)})

    assert response.status_code == status


def test_node_count_rule():
    """Comparisons and and/or keywords count one node each; parentheses count nothing."""

    parsed = parse_filter('(userName eq "a" or userName eq "b") and active eq false')

    assert parsed.nodes == 5


def test_node_limit_error_is_flagged():
    """The parser marks a refusal for size apart from a syntax error."""

    with pytest.raises(FilterError) as caught:
        parse_filter(or_chain(3), max_nodes=4)

    assert caught.value.too_large


def test_paging_walks_every_user_once(scim, emulator):
    """Pages of 100 from startIndex 1 return all 250 users once each, then an empty page."""
    emulator.state.seed({"users": make_users(250)})
    seen, start = [], 1

    while True:
        page = scim.get("/Users", params={"startIndex": start, "count": 10000}).json()
        if not page.get("Resources"):
            break
        seen += [user["id"] for user in page["Resources"]]
        start += page["itemsPerPage"]

    assert len(seen) == len(set(seen)) == 250
    assert start == 251


@pytest.mark.parametrize(("cap", "items"), [(100, 100), (7, 7)])
def test_max_page_size_switch(scim, emulator, cap, items):
    """count is capped at max_page_size."""
    emulator.state.seed({"users": make_users(120)})
    emulator.state.configure(max_page_size=cap)

    body = scim.get("/Users", params={"count": 10000}).json()

    assert body["itemsPerPage"] == items
    assert body["totalResults"] == 120


@pytest.mark.parametrize(("omit", "has_key"), [(True, False), (False, True)])
def test_omit_empty_resources_switch(scim, emulator, omit, has_key):
    """An empty page leaves Resources out by default and carries an empty list when the switch is off."""
    emulator.state.configure(omit_empty_resources=omit)

    past_end = scim.get("/Users", params={"startIndex": 50}).json()
    no_match = scim.get("/Users", params={"filter": 'userName eq "nobody@example.com"'}).json()

    assert ("Resources" in past_end) is has_key
    assert ("Resources" in no_match) is has_key
    assert past_end["itemsPerPage"] == 0
    assert no_match["totalResults"] == 0


def test_paging_parameters_are_clamped(scim):
    """startIndex below 1 counts as 1, a count of 0 returns no users, and a non-number is refused."""

    low = scim.get("/Users", params={"startIndex": -3, "count": 2}).json()
    zero = scim.get("/Users", params={"count": 0}).json()
    bad = scim.get("/Users", params={"count": "many"})

    assert low["startIndex"] == 1
    assert low["itemsPerPage"] == 2
    assert zero["totalResults"] == 8
    assert "Resources" not in zero
    assert bad.status_code == 400


def test_attributes_and_excluded_attributes(scim):
    """attributes keeps the named ones plus id; excludedAttributes drops the named ones but never id."""

    kept = scim.get("/Users", params={"attributes": "id,userName,active"}).json()["Resources"][0]
    dropped = scim.get("/Users/1000000000000001", params={"excludedAttributes": "emails,id"}).json()

    assert set(kept) == {"schemas", "id", "userName", "active"}
    assert "emails" not in dropped
    assert dropped["id"] == "1000000000000001"


def test_sorting(scim):
    """sortBy and sortOrder order the list; the default order is insertion order."""

    default = names(scim.get("/Users", params={"count": 3}))
    descending = names(
        scim.get("/Users", params={"sortBy": "userName", "sortOrder": "descending", "count": 2})
    )

    assert default == ["alice.active@example.com", "bob.inactive@example.com", "carol.idp@example.com"]
    assert descending == ["heidi.active@example.com", "grace.inactive@example.com"]


def test_get_user_and_unknown_user(scim):
    """GET by id returns the user; an unknown id gets a SCIM 404 with the status as a string."""

    found = scim.get("/Users/1000000000000002")
    missing = scim.get("/Users/999")

    assert found.json()["userName"] == "bob.inactive@example.com"
    assert found.json()["active"] is False
    assert missing.status_code == 404
    assert missing.json() == {
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:Error"],
        "detail": "User 999 not found.",
        "status": "404",
    }
