"""Running the application under uvicorn, in one process or several workers.

Every worker builds its own application with :func:`app_from_environment` from the settings ``ebonite
serve`` put in the environment (the config file, the state file, the upload limit): workers share nothing
but the store and the state file, which SQLite keeps consistent between them.
"""

from __future__ import annotations

import os
import socket
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .commands import CONFIG_VARIABLE, MAX_UPLOAD_VARIABLE, STATE_VARIABLE

if TYPE_CHECKING:
    from starlette.applications import Starlette

_app: Starlette | None = None


def app_from_environment() -> Starlette:
    """The application for the registry and state file ``ebonite serve`` named (built once per process)."""
    global _app
    if _app is None:
        from ebonite_core import Ebonite

        from .access import ServerContext, Settings
        from .app import create_app
        from .state import ServerState
        from .ui.pages import WebUI

        settings = Settings()
        if os.environ.get(MAX_UPLOAD_VARIABLE):
            settings.max_upload_bytes = int(os.environ[MAX_UPLOAD_VARIABLE])
        registry = Ebonite.from_config(os.environ[CONFIG_VARIABLE])
        ui = WebUI(read_only=False, client_expression="Ebonite.from_env()")
        _app = create_app(ServerContext(registry, ServerState(os.environ[STATE_VARIABLE]), settings), ui.routes())
    return _app


def bind(host: str, port: int) -> socket.socket:
    """A listening TCP socket on ``host:port`` (0: a free port), inheritable by worker processes.

    The socket is made with its protocol named (IPPROTO_TCP): asyncio sets TCP_NODELAY only on connections
    whose socket says so, and without it Nagle's algorithm and delayed ACKs add 40 ms to every answer that
    is written in two parts (headers, then body).
    """
    family, kind, protocol, _, address = socket.getaddrinfo(
        host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP, flags=socket.AI_PASSIVE
    )[0]
    listener = socket.socket(family, kind, protocol)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(address)
    listener.set_inheritable(True)
    return listener


def serve(
    host: str,
    port: int,
    workers: int,
    ssl_certfile: str | None,
    ssl_keyfile: str | None,
    forwarded_allow_ips: str | None,
    state_path: Path,
    uvicorn: Any,
) -> int:
    """Bind, say where, and serve until stopped; return the exit status."""
    from .access import Settings

    config = uvicorn.Config(
        "ebonite_server.serve:app_from_environment",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        http="h11",  # h11 bounds the request head (h11_max_incomplete_event_size)
        h11_max_incomplete_event_size=Settings.max_header_bytes,
        ssl_certfile=ssl_certfile,
        ssl_keyfile=ssl_keyfile,
        forwarded_allow_ips=forwarded_allow_ips,
        proxy_headers=True,
        server_header=False,
        lifespan="off",
        timeout_graceful_shutdown=30,
    )
    listener = bind(host, port)
    scheme = "https" if ssl_certfile else "http"
    bound_host, bound_port = listener.getsockname()[:2]
    print(
        f"ebonite serve: {scheme}://{bound_host}:{bound_port} ({workers} worker{'s' * (workers > 1)}; "
        f"tokens in {state_path})",
        file=sys.stderr,
        flush=True,
    )
    if workers > 1:
        from uvicorn.supervisors import Multiprocess

        Multiprocess(config, sockets=[listener]).run()
        return 0
    server = uvicorn.Server(config)
    server.run(sockets=[listener])
    return 0 if server.started else 1
