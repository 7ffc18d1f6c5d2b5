"""The ASGI application: the API under ``/api/v1``, and room beside it for more routes (the web UI).

``create_app(context, routes=[...])`` mounts extra routes next to the API; they reach the same
:class:`~ebonite_server.access.ServerContext` as ``request.app.state.context`` and check roles with
:func:`ebonite_server.auth.require_role` (or :class:`~ebonite_server.access.Access`), so that the UI and the
API can never disagree on who may do what.

Every request passes :class:`RequestGuard` first: a bounded header block, no encoded path separators or dot
segments (``%2f``, ``%5c``, ``%2e%2e``), no NUL. Errors are answered as JSON that names the error's class
(:mod:`ebonite_server.protocol`); an unexpected one is logged with its traceback and answered with a generic
message, so that no detail of the server (and no secret) reaches the client.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Mount, Route

from ebonite_core.masking import mask

from . import transfer
from .access import Access, ServerContext
from .api import ROUTES, ApiRoute
from .auth import principal_of
from .protocol import API_PREFIX, status_of, wire_name

if TYPE_CHECKING:
    from starlette.types import ASGIApp, Receive, Scope, Send

logger = logging.getLogger("ebonite_server")

_Result = TypeVar("_Result")
_ENCODED_SEPARATOR = re.compile(rb"%(2f|5c|00)", re.IGNORECASE)
_DOT_SEGMENT = re.compile(r"(^|/)\.{1,2}(/|$)")


def error_response(error: BaseException) -> JSONResponse:
    """The JSON answer for ``error``; unexpected errors are logged and answered without their details."""
    status = status_of(error)
    if isinstance(error, transfer.PayloadTooLargeError):
        status = 413
    if status == 500 and not _is_expected(error):
        logger.error("Unexpected error while serving a request", exc_info=error)
        body = {"type": "EboniteError", "message": "Internal server error: the server's log has the details."}
    else:
        body = {"type": wire_name(error), "message": mask(str(error))}  # as every other output path does
    return JSONResponse({"error": body}, status_code=status)


def _is_expected(error: BaseException) -> bool:
    from ebonite_core.errors import MetadataCorruptError

    return isinstance(error, MetadataCorruptError)


def _plain_error(status: int, kind: str, message: str) -> JSONResponse:
    return JSONResponse({"error": {"type": kind, "message": message}}, status_code=status)


class RequestGuard:
    """Refuses, before any routing, requests whose headers are too many or too large and paths that try to
    smuggle a separator or a dot segment through percent-encoding."""

    def __init__(self, app: ASGIApp, max_header_bytes: int, max_headers: int) -> None:
        self.app = app
        self.max_header_bytes = max_header_bytes
        self.max_headers = max_headers

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            headers = scope["headers"]
            if len(headers) > self.max_headers or sum(len(k) + len(v) for k, v in headers) > self.max_header_bytes:
                await _plain_error(431, "ValueError", "Too many or too large request headers.")(scope, receive, send)
                return
            raw_path = scope.get("raw_path") or scope["path"].encode("utf-8", "surrogateescape")
            if _ENCODED_SEPARATOR.search(raw_path) or _DOT_SEGMENT.search(scope["path"]) or "\x00" in scope["path"]:
                await _plain_error(400, "ValueError", "The path holds an encoded separator or a dot segment.")(
                    scope, receive, send
                )
                return
        await self.app(scope, receive, send)


async def _read_json(request: Request, limit: int) -> Any:
    declared = request.headers.get("content-length")
    if declared is not None and (not declared.isdigit() or int(declared) > limit):
        raise transfer.PayloadTooLargeError(f"The request body is above this server's limit of {limit} bytes.")
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise transfer.PayloadTooLargeError(f"The request body is above this server's limit of {limit} bytes.")
    if not body:
        return None
    try:
        return json.loads(body)
    except (ValueError, UnicodeDecodeError) as err:
        raise ValueError(f"The request body is not valid JSON: {err}.") from None


def _context(request: Request) -> ServerContext:
    return request.app.state.context


def _authenticated(request: Request) -> Access:
    """(Blocking: a lookup in the state file) the registry as the request's principal may use it."""
    context = _context(request)
    return Access(context, principal_of(request, context.state))


def _as_principal(work: Callable[..., _Result], request: Request, *args: Any) -> _Result:
    """(Blocking) authenticate, then do the work: one trip to a worker thread for both, as under load each
    trip costs a scheduling delay."""
    return work(_authenticated(request), *args)


def _json_endpoint(route: ApiRoute) -> Callable[[Request], Awaitable[Response]]:
    handler = route.handler
    assert handler is not None

    def authenticated_call(request: Request, body: Any) -> Any:
        return handler(_authenticated(request), request.path_params, request.query_params, body)

    async def endpoint(request: Request) -> Response:
        try:
            # The body (bounded) is read first, so that authentication and the work take one trip to a
            # worker thread: under load, each trip costs a scheduling delay.
            body = await _read_json(request, _context(request).settings.max_json_bytes)
            result = await run_in_threadpool(authenticated_call, request, body)
        except Exception as err:
            return error_response(err)
        if route.status == 204:
            return Response(status_code=204)
        return JSONResponse(result, status_code=route.status)

    return endpoint


def _artifact_endpoint(route: ApiRoute) -> Callable[[Request], Awaitable[Response]]:
    async def endpoint(request: Request) -> Response:
        try:
            params = request.path_params
            if route.operation == "upload_artifacts":
                return await transfer.upload(request, params["key"], _authenticated)
            if route.operation == "push_model":
                return await transfer.push_small(request, params["task_id"], _authenticated)
            if route.operation == "download_artifact":
                return await run_in_threadpool(_as_principal, transfer.download, request, params["key"], params["name"])
            if route.operation == "delete_artifacts":
                await run_in_threadpool(_as_principal, transfer.delete, request, params["key"])
                return Response(status_code=204)
            return JSONResponse(await run_in_threadpool(_as_principal, transfer.keys, request))
        except Exception as err:
            return error_response(err)

    return endpoint


async def _health(request: Request) -> Response:
    return JSONResponse({"status": "ok"})


async def _openapi(request: Request) -> Response:
    from .openapi import openapi_document

    return JSONResponse(openapi_document())


def api_routes() -> list[Route]:
    """The Starlette routes of :data:`~ebonite_server.api.ROUTES` (paths relative to the API prefix)."""
    routes = []
    for route in ROUTES:
        if route.operation == "health":
            endpoint = _health
        elif route.operation == "openapi":
            endpoint = _openapi
        elif route.handler is not None:
            endpoint = _json_endpoint(route)
        else:
            endpoint = _artifact_endpoint(route)
        routes.append(Route(route.path, endpoint, methods=[route.method], name=route.operation))
    return routes


async def _not_found(request: Request, error: Exception) -> Response:
    return _plain_error(404, "LookupError", "No such route: see /api/v1/openapi.json.")


async def _method_not_allowed(request: Request, error: Exception) -> Response:
    return _plain_error(405, "ValueError", "Method not allowed on this route: see /api/v1/openapi.json.")


def create_app(context: ServerContext, routes: Sequence[BaseRoute] = ()) -> Starlette:
    """The server's ASGI application on ``context``, with ``routes`` mounted beside the API."""
    settings = context.settings
    app = Starlette(
        routes=[Mount(API_PREFIX, routes=api_routes()), *routes],
        exception_handlers={404: _not_found, 405: _method_not_allowed},
    )
    app.state.context = context
    app.add_middleware(RequestGuard, max_header_bytes=settings.max_header_bytes, max_headers=settings.max_headers)
    return app
