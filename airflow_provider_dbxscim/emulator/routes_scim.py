"""SCIM Users routes: the account API (full CRUD) and each workspace's preview API (list, get, patch)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import Response

from airflow_provider_dbxscim.emulator.directory import DuplicateUserError, User
from airflow_provider_dbxscim.emulator.gateway import RECORD_KEY
from airflow_provider_dbxscim.emulator.listing import json_body, list_users, user_response
from airflow_provider_dbxscim.emulator.patch import active_value, parse_patch
from airflow_provider_dbxscim.emulator.responses import (
    ApiFailure,
    databricks_error,
    empty_response,
    json_response,
    scim_failure,
)
from airflow_provider_dbxscim.emulator.routes_oauth import account_audience, authorize, workspace_audience
from airflow_provider_dbxscim.emulator.routing import route
from airflow_provider_dbxscim.emulator.state import EmulatorState, Workspace

ACCOUNT_USERS = "/api/2.0/accounts/{account_id}/scim/v2/Users"
WORKSPACE_USERS = "/ws/{workspace}/api/2.0/preview/scim/v2/Users"


def build_scim_router(state: EmulatorState) -> APIRouter:
    """
    Build the account and workspace SCIM Users routes.

    :param state: emulator state.
    """
    router = APIRouter()

    def account_guard(request: Request) -> None:
        authorize(state, request, account_audience(request.path_params["account_id"]))
        if not state.config.account_admin:
            raise scim_failure(403, "User not authorized.")

    @route(router, "GET", ACCOUNT_USERS)
    async def list_account_users(request: Request) -> Response:
        account_guard(request)
        with state.lock:
            state.apply_due_resyncs()
            return list_users(state.account, request.query_params, state.config)

    @route(router, "GET", ACCOUNT_USERS + "/{user_id}")
    async def get_account_user(request: Request) -> Response:
        account_guard(request)
        user_id = request.path_params["user_id"]
        with state.lock:
            state.apply_due_resyncs()
            return user_response(_existing(state.account.get(user_id), user_id), request.query_params)

    @route(router, "PATCH", ACCOUNT_USERS + "/{user_id}")
    async def patch_account_user(request: Request) -> Response:
        account_guard(request)
        user_id = request.path_params["user_id"]
        _record_user(request, state.account.get(user_id))
        changes = _parsed_patch(request, await request.body())
        with state.lock:
            state.apply_due_resyncs()
            user = _existing(state.account.get(user_id), user_id)
            if "active" in changes:
                state.set_account_active(user, changes.pop("active"))
            state.account.update(user, changes)
            return _patched(state, user)

    @route(router, "PUT", ACCOUNT_USERS + "/{user_id}")
    async def replace_account_user(request: Request) -> Response:
        account_guard(request)
        user_id = request.path_params["user_id"]
        fields = _user_fields(json_body(await request.body()))
        with state.lock:
            state.apply_due_resyncs()
            user = _existing(state.account.get(user_id), user_id)
            active = fields.pop("active", user["active"])
            _unique(lambda: state.account.update(user, fields))
            state.set_account_active(user, active)
            return json_response(user)

    @route(router, "POST", ACCOUNT_USERS)
    async def create_account_user(request: Request) -> Response:
        account_guard(request)
        fields = _user_fields(json_body(await request.body()))
        with state.lock:
            user = _unique(
                lambda: state.account.add(
                    fields["userName"],
                    active=fields.get("active", True),
                    display_name=fields.get("displayName"),
                    external_id=fields.get("externalId"),
                )
            )
            return json_response(user, 201)

    @route(router, "DELETE", ACCOUNT_USERS + "/{user_id}")
    async def delete_account_user(request: Request) -> Response:
        account_guard(request)
        user_id = request.path_params["user_id"]
        with state.lock:
            _existing(state.delete_account_user(user_id), user_id)
        return Response(status_code=204)

    def workspace_guard(request: Request) -> Workspace:
        name = request.path_params["workspace"]
        workspace = state.workspace(name)
        if workspace is None:
            raise ApiFailure(
                databricks_error(404, "RESOURCE_DOES_NOT_EXIST", f"Workspace {name} does not exist")
            )
        authorize(state, request, workspace_audience(name))
        return workspace

    @route(router, "GET", WORKSPACE_USERS)
    async def list_workspace_users(request: Request) -> Response:
        found = workspace_guard(request)
        with state.lock:
            state.apply_due_resyncs()
            return list_users(found.users, request.query_params, state.config)

    @route(router, "GET", WORKSPACE_USERS + "/{user_id}")
    async def get_workspace_user(request: Request) -> Response:
        found = workspace_guard(request)
        user_id = request.path_params["user_id"]
        with state.lock:
            state.apply_due_resyncs()
            return user_response(_existing(found.users.get(user_id), user_id), request.query_params)

    @route(router, "PATCH", WORKSPACE_USERS + "/{user_id}")
    async def patch_workspace_user(request: Request) -> Response:
        found = workspace_guard(request)
        user_id = request.path_params["user_id"]
        _record_user(request, found.users.get(user_id))
        changes = _parsed_patch(request, await request.body())
        with state.lock:
            state.apply_due_resyncs()
            user = _existing(found.users.get(user_id), user_id)
            if "active" in changes:
                state.set_workspace_active(user, changes.pop("active"))
            found.users.update(user, changes)
            return _patched(state, user)

    return router


def _record_user(request: Request, user: User | None) -> None:
    """Note the userName for the PATCH log, also for PATCHes that fail later."""
    if user is not None:
        request.scope["state"][RECORD_KEY]["userName"] = user["userName"]


def _parsed_patch(request: Request, raw: bytes) -> dict[str, Any]:
    changes = parse_patch(json_body(raw))
    if "active" in changes:
        request.scope["state"][RECORD_KEY]["active"] = changes["active"]
    return changes


def _patched(state: EmulatorState, user: User) -> Response:
    style = state.config.patch_response
    if style == "no_content":
        return empty_response(204)
    return json_response(user if style == "resource" else {})


def _existing(user: User | None, user_id: str) -> User:
    if user is None:
        raise scim_failure(404, f"User {user_id} not found.")
    return user


def _unique(action: Any) -> Any:
    try:
        return action()
    except DuplicateUserError as exc:
        raise scim_failure(409, str(exc), "uniqueness") from exc


def _user_fields(body: Any) -> dict[str, Any]:
    """Read the writable attributes of a User body for POST and PUT; absent optional ones become None."""
    if not isinstance(body, dict) or not isinstance(body.get("userName"), str) or not body["userName"]:
        raise scim_failure(400, "userName is required", "invalidValue")
    fields: dict[str, Any] = {
        "userName": body["userName"],
        "displayName": body.get("displayName"),
        "externalId": body.get("externalId"),
    }
    if "active" in body:
        fields["active"] = active_value(body["active"])
    return fields
