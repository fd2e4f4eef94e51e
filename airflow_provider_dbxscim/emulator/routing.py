"""Registration of plain Starlette endpoints on FastAPI routers."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from fastapi import APIRouter, Request
from starlette.responses import Response

Endpoint = Callable[[Request], Awaitable[Response]]


def route(router: APIRouter, method: str, path: str) -> Callable[[Endpoint], Endpoint]:
    """
    Register ``endpoint(request)`` for one method and path, without FastAPI's parameter injection.

    The hot routes read ``request.path_params`` themselves: FastAPI's dependency solving costs more per
    request than the rest of the emulator does, and the 1,000 requests/second target needs it gone.

    :param router: router to add the route to.
    :param method: HTTP method.
    :param path: path template with ``{name}`` parameters.
    """

    def register(endpoint: Endpoint) -> Endpoint:
        router.add_route(path, endpoint, methods=[method], include_in_schema=False)
        return endpoint

    return register
