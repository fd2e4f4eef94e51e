"""Discovery documents, OAuth client-credentials token endpoints, and bearer-token checks."""

from __future__ import annotations

import base64
import binascii
import hmac
from urllib.parse import parse_qs

from fastapi import APIRouter, Request
from starlette.responses import Response

from airflow_provider_dbxscim.emulator.responses import (
    ApiFailure,
    databricks_error,
    json_response,
    login_page,
    oauth_error,
)
from airflow_provider_dbxscim.emulator.routing import route
from airflow_provider_dbxscim.emulator.state import EmulatorState

_TOKEN_MESSAGES = {
    "missing": "Credential was not sent or was of an unsupported type for this API.",
    "unknown": "Invalid access token.",
    "wrong_audience": "Invalid access token: it was not issued for this API.",
    "expired": "Invalid access token: the token has expired.",
}


def account_audience(account_id: str) -> str:
    """
    Return the audience of tokens from an account's token endpoint.

    :param account_id: account id.
    """
    return f"account:{account_id}"


def workspace_audience(name: str) -> str:
    """
    Return the audience of tokens from a workspace's token endpoint.

    :param name: workspace name.
    """
    return f"workspace:{name}"


def base_url(request: Request) -> str:
    """
    Return ``scheme://host[:port]`` as the caller addressed the emulator.

    :param request: the incoming request.
    """
    return f"{request.url.scheme}://{request.headers.get('host', request.url.netloc)}"


def authorize(state: EmulatorState, request: Request, audience: str) -> None:
    """
    Check the bearer token of a request.

    :param state: emulator state.
    :param request: the incoming request.
    :param audience: audience the API requires.
    :raises ApiFailure: 401 or 403 (switch ``invalid_token_status``) in the Databricks error shape.
    """
    scheme, _, token = (request.headers.get("authorization") or "").partition(" ")
    config = state.config
    with state.lock:
        problem = state.tokens.problem(
            token.strip() if scheme.lower() == "bearer" else None,
            audience,
            state.clock.monotonic(),
            config.token_expiry_margin_seconds,
        )
    if problem:
        status = config.invalid_token_status
        code = "UNAUTHENTICATED" if status == 401 else "PERMISSION_DENIED"
        raise ApiFailure(databricks_error(status, code, _TOKEN_MESSAGES[problem]))


def build_oauth_router(state: EmulatorState) -> APIRouter:
    """
    Build the discovery and token routes for the account and every workspace.

    :param state: emulator state.
    """
    router = APIRouter()

    @route(router, "GET", "/.well-known/databricks-config")
    async def account_host_metadata(request: Request) -> Response:
        config = state.config
        if not config.discovery_enabled:
            return databricks_error(
                404, "ENDPOINT_NOT_FOUND", "No API found for 'GET /.well-known/databricks-config'"
            )
        # The account console serves many accounts, so it may answer with a placeholder the SDK fills in.
        if config.discovery_account_placeholder:
            return json_response(
                {"oidc_endpoint": f"{base_url(request)}/oidc/accounts/{{account_id}}", "cloud": "AWS"}
            )
        oidc = f"{base_url(request)}/oidc/accounts/{config.account_id}"
        return json_response({"oidc_endpoint": oidc, "account_id": config.account_id, "cloud": "AWS"})

    @route(router, "GET", "/oidc/accounts/{account_id}/.well-known/oauth-authorization-server")
    async def account_oauth_metadata(request: Request) -> Response:
        account_id = request.path_params["account_id"]
        if account_id != state.config.account_id:
            return databricks_error(404, "RESOURCE_DOES_NOT_EXIST", f"Account {account_id} does not exist")
        return json_response(_authorization_server(f"{base_url(request)}/oidc/accounts/{account_id}"))

    @route(router, "POST", "/oidc/accounts/{account_id}/v1/token")
    async def account_token(request: Request) -> Response:
        account_id = request.path_params["account_id"]
        if account_id != state.config.account_id:
            return login_page()
        return await _issue(state, request, account_audience(account_id))

    @route(router, "GET", "/ws/{workspace}/.well-known/databricks-config")
    async def workspace_host_metadata(request: Request) -> Response:
        workspace = request.path_params["workspace"]
        found = state.workspace(workspace)
        if found is None or not state.config.discovery_enabled:
            return databricks_error(
                404, "ENDPOINT_NOT_FOUND", "No API found for 'GET /.well-known/databricks-config'"
            )
        payload = {
            "oidc_endpoint": f"{base_url(request)}/ws/{workspace}/oidc",
            "account_id": state.config.account_id,
            "workspace_id": found.workspace_id,
            "cloud": "AWS",
        }
        return json_response(payload)

    @route(router, "GET", "/ws/{workspace}/oidc/.well-known/oauth-authorization-server")
    async def workspace_oauth_metadata(request: Request) -> Response:
        workspace = request.path_params["workspace"]
        if state.workspace(workspace) is None:
            return login_page()
        return json_response(_authorization_server(f"{base_url(request)}/ws/{workspace}/oidc"))

    @route(router, "POST", "/ws/{workspace}/oidc/v1/token")
    async def workspace_token(request: Request) -> Response:
        workspace = request.path_params["workspace"]
        if state.workspace(workspace) is None:
            return login_page()
        return await _issue(state, request, workspace_audience(workspace))

    return router


def _authorization_server(oidc: str) -> dict[str, object]:
    """RFC 8414 server metadata; the SDK reads ``authorization_endpoint`` and ``token_endpoint``."""
    return {
        "issuer": oidc,
        "authorization_endpoint": f"{oidc}/v1/authorize",
        "token_endpoint": f"{oidc}/v1/token",
        "jwks_uri": f"{oidc}/jwks.json",
        "grant_types_supported": ["client_credentials", "authorization_code", "refresh_token"],
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
        "scopes_supported": ["all-apis", "offline_access"],
        "response_types_supported": ["code"],
    }


async def _issue(state: EmulatorState, request: Request, audience: str) -> Response:
    form = {
        key: values[0] for key, values in parse_qs((await request.body()).decode("utf-8", "replace")).items()
    }
    client_id, client_secret = _client_credentials(request.headers.get("authorization"), form)
    config = state.config
    if client_id != config.client_id or not hmac.compare_digest(
        (client_secret or "").encode(), config.client_secret.encode()
    ):
        return oauth_error(401, "invalid_client", "Client authentication failed")
    if form.get("grant_type") != "client_credentials":
        return oauth_error(400, "unsupported_grant_type", "Only grant_type=client_credentials is supported")
    if "all-apis" not in form.get("scope", "all-apis").split():
        return oauth_error(400, "invalid_scope", "The requested scope is invalid; use all-apis")

    lifetime = config.token_lifetime_seconds
    with state.lock:
        token = state.tokens.issue(audience, lifetime, state.clock.monotonic())
        state.stats_recorder.tokens.append(
            {"token": token, "audience": audience, "time": state.clock.time(), "expires_in": lifetime}
        )
    expires_in: int | str = str(lifetime) if config.expires_in_as_string else lifetime
    return json_response(
        {"access_token": token, "token_type": "Bearer", "expires_in": expires_in, "scope": "all-apis"}
    )


def _client_credentials(header: str | None, form: dict[str, str]) -> tuple[str | None, str | None]:
    """Read client credentials from HTTP Basic (RFC 6749 section 2.3.1) or, failing that, the form body."""
    scheme, _, encoded = (header or "").partition(" ")
    if scheme.lower() == "basic":
        try:
            decoded = base64.b64decode(encoded.strip(), validate=True).decode()
        except (binascii.Error, UnicodeDecodeError):
            return None, None
        client_id, _, client_secret = decoded.partition(":")
        return client_id, client_secret
    return form.get("client_id"), form.get("client_secret")
