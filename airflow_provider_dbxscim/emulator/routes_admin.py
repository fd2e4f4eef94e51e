"""
Control routes under ``/_emulator/`` for tests that run the emulator in another process.

They mirror the :class:`~airflow_provider_dbxscim.emulator.state.EmulatorState` Python API, need no token,
and are never rate limited or faulted.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import Response

from airflow_provider_dbxscim.emulator.listing import json_body
from airflow_provider_dbxscim.emulator.responses import ApiFailure, json_response
from airflow_provider_dbxscim.emulator.state import EmulatorState

PREFIX = "/_emulator"
_OK = b'{"status":"ok"}'


def build_admin_router(state: EmulatorState) -> APIRouter:
    """
    Build the control routes.

    :param state: emulator state.
    """
    router = APIRouter(prefix=PREFIX)

    @router.get("/state")
    async def snapshot() -> Response:
        return json_response(state.snapshot())

    @router.post("/seed")
    async def seed(request: Request, replace: bool = True) -> Response:
        data = json_body(_body_or(await request.body(), b"{}"))
        return _guarded(lambda: state.seed(data, replace=replace))

    @router.post("/reset")
    async def reset() -> Response:
        state.reset()
        return json_response({"status": "reset"})

    @router.get("/config")
    async def read_config() -> Response:
        return json_response(state.config.as_dict())

    @router.patch("/config")
    async def change_config(request: Request) -> Response:
        switches = json_body(await request.body())
        if not isinstance(switches, dict):
            return json_response({"error": "body must be an object of switches"}, 400)
        return _guarded(lambda: state.configure(**switches).as_dict())

    @router.get("/stats")
    async def stats() -> Response:
        return json_response(state.stats())

    @router.get("/tokens")
    async def tokens() -> Response:
        return json_response(state.issued_tokens())

    @router.post("/tokens/expire")
    async def expire_tokens() -> Response:
        state.expire_tokens()
        return json_response({"status": "expired"})

    @router.post("/clock/advance")
    async def advance_clock(request: Request) -> Response:
        body = json_body(await request.body())
        return _guarded(lambda: state.advance_clock(float(_field(body, "seconds"))))

    @router.post("/workspaces")
    async def add_workspace(request: Request) -> Response:
        body = json_body(await request.body())
        name = _field(body, "name")
        return _guarded(lambda: {"name": name, "id": state.add_workspace(str(name))})

    @router.get("/users")
    async def users(workspace: str | None = None) -> Response:
        return _guarded(lambda: state.users(workspace))

    @router.get("/users/{user_name}")
    async def get_user(user_name: str, workspace: str | None = None) -> Response:
        return _guarded(lambda: state.get_user(user_name, workspace) or _missing(user_name))

    @router.put("/users/{user_name}/active")
    async def set_active(request: Request, user_name: str) -> Response:
        body = json_body(await request.body())
        active = _field(body, "active")
        return _guarded(lambda: state.set_active(user_name, bool(active), body.get("workspace")))

    return router


def _guarded(action: Any) -> Any:
    """Run a control action; bad input becomes 400 and a missing user or workspace 404."""
    try:
        result = action()
    except KeyError as exc:
        return json_response({"error": f"not found: {exc.args[0] if exc.args else exc}"}, 404)
    except (TypeError, ValueError) as exc:
        return json_response({"error": str(exc)}, 400)
    if result is None:
        return Response(_OK, media_type="application/json")
    return result if isinstance(result, Response) else json_response(result)


def _missing(name: str) -> None:
    raise KeyError(name)


def _field(body: Any, name: str) -> Any:
    if not isinstance(body, dict) or name not in body:
        raise ApiFailure(json_response({"error": f"body must be an object with {name!r}"}, 400))
    return body[name]


def _body_or(raw: bytes, default: bytes) -> bytes:
    return raw if raw.strip() else default
