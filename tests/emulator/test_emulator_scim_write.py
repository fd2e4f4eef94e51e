"""Tests of account SCIM writes: PatchOp forms and failures, PUT, POST and DELETE."""

from __future__ import annotations

import json

import pytest

BOB = "/Users/1000000000000002"
JAVA_CAST = (
    "class java.lang.String cannot be cast to class java.lang.Boolean "
    "(java.lang.String and java.lang.Boolean are in module java.base of loader 'bootstrap')"
)


@pytest.mark.parametrize(
    "operation",
    [
        {"op": "replace", "path": "active", "value": True},
        {"op": "replace", "path": "active", "value": [{"value": "true"}]},
        {"op": "replace", "path": "active", "value": [{"value": True}]},
        {"op": "Replace", "path": "active", "value": True},
        {"op": "REPLACE", "path": "urn:ietf:params:scim:schemas:core:2.0:User:active", "value": True},
        {"op": "replace", "value": {"active": True}},
        {"op": "add", "path": "active", "value": True},
    ],
)
def test_patch_forms_that_reactivate(scim, emulator, operation):
    """Booleans, the multi-valued form, a path-less object and any op case reactivate the user."""
    body = {"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": [operation]}

    response = scim.patch(BOB, json=body)

    assert response.status_code == 200
    assert response.json() == {}
    assert emulator.state.get_user("bob.inactive@example.com")["active"] is True


def test_patch_with_scim_json_content_type(scim, emulator, patch_op):
    """A body sent as application/scim+json with a charset is read like application/json."""
    headers = {"Content-Type": "application/scim+json; charset=utf-8"}

    response = scim.patch(BOB, content=json.dumps(patch_op(True)), headers=headers)

    assert response.status_code == 200
    assert emulator.state.get_user("bob.inactive@example.com")["active"] is True


@pytest.mark.parametrize("value", ["true", "True"])
def test_string_active_is_the_java_cast_500(scim, emulator, patch_op, value):
    """A bare string for active gets the service's 500 with the Java cast detail and changes nothing."""

    response = scim.patch(BOB, json=patch_op(value))

    assert response.status_code == 500
    assert response.json() == {
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:Error"],
        "detail": JAVA_CAST,
        "status": "500",
    }
    assert emulator.state.get_user("bob.inactive@example.com")["active"] is False
    patch = emulator.state.stats()["patches"][0]
    assert (patch["userName"], patch["active"], patch["status"]) == ("bob.inactive@example.com", None, 500)


@pytest.mark.parametrize(
    ("body", "scim_type"),
    [
        ([{"op": "replace", "path": "active", "value": True}], "invalidSyntax"),
        ({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"]}, "invalidSyntax"),
        (
            {"schemas": ["urn:other"], "Operations": [{"op": "replace", "path": "active", "value": True}]},
            "invalidSyntax",
        ),
        ({"Operations": [{"op": "replace", "path": "active"}]}, "invalidValue"),
        ({"Operations": [{"op": "frobnicate", "path": "active", "value": True}]}, "invalidSyntax"),
        ({"Operations": [{"op": "replace", "path": "nickName", "value": "x"}]}, "invalidPath"),
        ({"Operations": [{"op": "remove", "path": "active"}]}, "mutability"),
        (
            {"Operations": [{"op": "replace", "path": "active", "value": [{"value": "maybe"}]}]},
            "invalidValue",
        ),
    ],
)
def test_bad_patch_bodies_are_400(scim, emulator, body, scim_type):
    """Bodies that are not PatchOps, replace without value and bad paths or values get 400 with a scimType."""

    response = scim.patch(BOB, json=body)

    assert response.status_code == 400
    assert response.json()["scimType"] == scim_type
    assert emulator.state.get_user("bob.inactive@example.com")["active"] is False


def test_body_that_is_not_json_is_invalid_syntax(scim):
    """A body that does not parse as JSON gets 400 invalidSyntax."""

    response = scim.patch(BOB, content=b"{not json", headers={"Content-Type": "application/json"})

    assert response.status_code == 400
    assert response.json()["scimType"] == "invalidSyntax"


def test_patch_other_attributes(scim, emulator, patch_op):
    """displayName and externalId can be replaced and removed."""
    emulator.state.configure(rate_limits_enabled=False)

    scim.patch(BOB, json=patch_op("Robert", path="displayName"))
    scim.patch(BOB, json=patch_op("idp-1", path="externalId"))
    scim.patch(BOB, json=patch_op(None, path="displayName", op="remove"))

    user = emulator.state.get_user("bob.inactive@example.com")
    assert user["externalId"] == "idp-1"
    assert "displayName" not in user


@pytest.mark.parametrize(
    ("style", "status", "body"),
    [("empty_object", 200, b"{}"), ("no_content", 204, b""), ("resource", 200, None)],
)
def test_patch_response_switch(scim, emulator, patch_op, style, status, body):
    """patch_response picks 200 with {}, 204 with no body, or 200 with the user."""
    emulator.state.configure(patch_response=style)

    response = scim.patch(BOB, json=patch_op(True))

    assert response.status_code == status
    if body is None:
        assert response.json()["active"] is True
    else:
        assert response.content == body


def test_patch_unknown_and_deleted_users_are_404(scim, patch_op):
    """PATCH of an id that never existed, or of a deleted user, gets a SCIM 404."""
    scim.delete(BOB)

    deleted = scim.patch(BOB, json=patch_op(True))
    unknown = scim.patch("/Users/42", json=patch_op(True))

    assert deleted.status_code == 404
    assert unknown.status_code == 404
    assert deleted.json()["schemas"] == ["urn:ietf:params:scim:api:messages:2.0:Error"]


def test_create_stores_the_user_name_in_lower_case(scim, emulator):
    """POST creates a user with a 16-digit id and a lower-cased userName."""

    response = scim.post("/Users", json={"userName": "New.Person@Example.com", "active": False})

    assert response.status_code == 201
    assert response.json()["userName"] == "new.person@example.com"
    assert len(response.json()["id"]) == 16
    assert emulator.state.get_user("NEW.PERSON@example.com")["active"] is False


def test_create_of_an_existing_user_name_is_409(scim):
    """POST of a userName that exists in any case gets 409 uniqueness."""

    response = scim.post("/Users", json={"userName": "Bob.Inactive@example.com"})

    assert response.status_code == 409
    assert response.json()["scimType"] == "uniqueness"
    assert "lower case" in response.json()["detail"]


def test_create_without_user_name_is_400(scim):
    """POST without a userName gets 400."""

    response = scim.post("/Users", json={"active": True})

    assert response.status_code == 400


def test_put_replaces_the_user(scim, emulator):
    """PUT replaces the writable attributes and keeps the id."""

    response = scim.put(
        BOB, json={"userName": "bob.inactive@example.com", "active": True, "displayName": "Bob"}
    )

    assert response.status_code == 200
    assert response.json()["id"] == "1000000000000002"
    assert emulator.state.get_user("bob.inactive@example.com")["displayName"] == "Bob"
    assert emulator.state.get_user("bob.inactive@example.com")["active"] is True


def test_put_to_a_taken_user_name_is_409(scim):
    """PUT renaming a user to another user's userName gets 409."""

    response = scim.put(BOB, json={"userName": "ALICE.active@example.com"})

    assert response.status_code == 409


def test_delete_removes_the_user_everywhere(scim, emulator):
    """DELETE answers 204 and removes the user from the account and its workspaces."""

    response = scim.delete(BOB)

    assert response.status_code == 204
    assert scim.get(BOB).status_code == 404
    assert scim.delete(BOB).status_code == 404
    assert emulator.state.get_user("bob.inactive@example.com", workspace="analytics") is None


def test_reactivated_user_can_be_created_again_after_delete(scim):
    """A deleted user can be created again and gets a new id."""
    scim.delete(BOB)

    response = scim.post("/Users", json={"userName": "bob.inactive@example.com"})

    assert response.status_code == 201
    assert response.json()["id"] != "1000000000000002"
