"""The emulator's ASGI application: FastAPI routes behind the gateway."""

from __future__ import annotations

from fastapi import FastAPI, Request
from starlette.exceptions import HTTPException
from starlette.responses import Response
from starlette.types import ASGIApp

from airflow_provider_dbxscim.emulator.gateway import Gateway
from airflow_provider_dbxscim.emulator.responses import ApiFailure, databricks_error, login_page
from airflow_provider_dbxscim.emulator.routes_admin import build_admin_router
from airflow_provider_dbxscim.emulator.routes_oauth import build_oauth_router
from airflow_provider_dbxscim.emulator.routes_scim import build_scim_router
from airflow_provider_dbxscim.emulator.state import EmulatorState


def create_app(state: EmulatorState) -> ASGIApp:
    """
    Build the ASGI application serving one emulated account.

    :param state: the state the routes read and change.
    """
    app = FastAPI(title="Databricks account API emulator", docs_url=None, redoc_url=None, openapi_url=None)
    app.include_router(build_scim_router(state))
    app.include_router(build_oauth_router(state))
    app.include_router(build_admin_router(state))
    app.add_exception_handler(ApiFailure, _api_failure)
    app.add_exception_handler(HTTPException, _http_exception)
    return Gateway(app, state)


async def _api_failure(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ApiFailure)
    return exc.response


async def _http_exception(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    # Wrong OIDC paths, such as an empty account id, get the sign-in page there as on the real hosts.
    if exc.status_code == 404 and "/oidc/" in request.url.path:
        return login_page()
    if exc.status_code == 404:
        message = f"No API found for '{request.method} {request.url.path}'"
        return databricks_error(404, "ENDPOINT_NOT_FOUND", message)
    if exc.status_code == 405:
        return databricks_error(
            405, "METHOD_NOT_ALLOWED", f"{request.method} is not allowed on {request.url.path}"
        )
    return databricks_error(exc.status_code, "BAD_REQUEST", str(exc.detail))
