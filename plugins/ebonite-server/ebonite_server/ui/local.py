"""``ebonite ui``: the web UI over a registry this machine reaches directly, read-only, on 127.0.0.1 only.

No sign-in and no actions: whoever runs it could read the store anyway, and the action routes do not exist.
The application listens on the loopback interface only, and answers only requests addressed to a loopback
name (``Host: 127.0.0.1``, ``localhost`` or ``[::1]``), so that a web page elsewhere cannot read it through
a domain name resolving to 127.0.0.1 (DNS rebinding).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from starlette.applications import Starlette
from starlette.responses import PlainTextResponse

from ebonite_core.cli import UsageError

from ..access import Settings
from ..app import RequestGuard
from .pages import PREFIX, SECURITY_HEADERS, WebUI

if TYPE_CHECKING:
    from starlette.types import ASGIApp, Receive, Scope, Send

    from ebonite_core import Ebonite

HOST = "127.0.0.1"
LOOPBACK_NAMES = frozenset({"127.0.0.1", "localhost", "[::1]"})


class LoopbackHostOnly:
    """Refuses requests whose ``Host`` header is not a loopback name (400)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            host = dict(scope["headers"]).get(b"host", b"").decode("latin-1").lower()
            name = host.rsplit(":", 1)[0] if not host.endswith("]") else host
            if name not in LOOPBACK_NAMES:
                response = PlainTextResponse(
                    "ebonite ui answers requests for 127.0.0.1 or localhost only.", 400, headers=SECURITY_HEADERS
                )
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)


async def _not_found(request: Any, error: Exception) -> PlainTextResponse:
    return PlainTextResponse(f"Not found: the pages are under {PREFIX}/.", 404, headers=SECURITY_HEADERS)


async def _method_not_allowed(request: Any, error: Exception) -> PlainTextResponse:
    return PlainTextResponse("ebonite ui is read-only.", 405, headers=SECURITY_HEADERS)


def create_local_app(registry: Ebonite, client_expression: str) -> Starlette:
    """The read-only UI over ``registry`` as an ASGI application."""
    app = Starlette(
        routes=WebUI(read_only=True, client_expression=client_expression, registry=registry).routes(),
        exception_handlers={404: _not_found, 405: _method_not_allowed},
    )
    settings = Settings()
    app.add_middleware(RequestGuard, max_header_bytes=settings.max_header_bytes, max_headers=settings.max_headers)
    app.add_middleware(LoopbackHostOnly)
    return app


def serve_local(registry: Ebonite, client_expression: str, port: int, uvicorn: Any) -> int:
    """Bind 127.0.0.1:``port`` (0: a free port), print the address, serve until stopped."""
    from ..serve import bind

    try:
        listener = bind(HOST, port)
    except OSError as err:
        raise UsageError(f"ebonite ui cannot listen on {HOST}:{port} ({err}): pass another --port.") from err
    listener.listen(2048)  # connections wait in the backlog from now on: the printed address works at once
    bound_port = listener.getsockname()[1]
    print(f"ebonite ui: http://{HOST}:{bound_port}{PREFIX}/ (read-only; Ctrl-C stops it)", flush=True)
    config = uvicorn.Config(
        create_local_app(registry, client_expression),
        http="h11",
        h11_max_incomplete_event_size=Settings.max_header_bytes,
        log_level="warning",
        lifespan="off",
        server_header=False,
    )
    server = uvicorn.Server(config)
    server.run(sockets=[listener])
    return 0 if server.started else 1
