"""``ebonite serve`` and ``ebonite token``, the operator's commands, and ``ebonite ui``, anyone's.

``serve`` and ``token`` find the server's state file from ``--config`` (``registry.toml`` ->
``registry.server.sqlite3`` beside it) unless ``--state`` names one, so that tokens made with ``ebonite token``
are the ones ``ebonite serve`` accepts.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from ebonite_core.cli import Command, UsageError

if TYPE_CHECKING:
    from .state import ServerState

# How ``ebonite serve`` hands its settings to the application factory in every worker process.
CONFIG_VARIABLE = "EBONITE_SERVER_CONFIG"
STATE_VARIABLE = "EBONITE_SERVER_STATE"
MAX_UPLOAD_VARIABLE = "EBONITE_SERVER_MAX_UPLOAD_BYTES"


def _add_state_option(parser: argparse.ArgumentParser, nested: bool = False) -> None:
    if nested:  # the global options, accepted after the action too (`ebonite token create --config x`)
        parser.add_argument("--config", metavar="FILE", default=argparse.SUPPRESS, help="the registry's config file")
        parser.add_argument("--debug", action="store_true", default=argparse.SUPPRESS, help="show tracebacks")
    parser.add_argument(
        "--state",
        metavar="FILE",
        help="the server's state file (tokens, uploads); default: <config name>.server.sqlite3 beside --config",
    )


def _config_path(command: Command, args: argparse.Namespace) -> Path:
    """The config file ``--config`` or ``$EBONITE_CONFIG`` names, checked (a usage error otherwise)."""
    from ebonite_core.config import CONFIG_VARIABLE as CORE_CONFIG_VARIABLE

    command.config(args)  # reads and checks it; a missing file or an unknown type is a usage error
    return Path(args.config or os.environ[CORE_CONFIG_VARIABLE]).absolute()


def _state_path(command: Command, args: argparse.Namespace) -> Path:
    from .state import default_state_path

    config = _config_path(command, args)
    return Path(args.state).absolute() if args.state else default_state_path(config)


def _open_state(path: Path) -> ServerState:
    from .state import ServerState

    try:
        return ServerState(path)
    except (OSError, RuntimeError) as err:
        raise UsageError(f"Cannot use the server state file {path}: {err}") from err


class TokenCommand(Command):
    name = "token"
    help = "create, list and revoke the tokens of `ebonite serve`"

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
        create = actions.add_parser("create", help="make a token and print it (once)")
        create.add_argument("--project", required=True, help="the project's name, or '*' for every project")
        create.add_argument("--role", required=True, choices=["read", "write", "admin"])
        create.add_argument("--description", default="", help="who or what the token is for")
        create.add_argument(
            "--anonymous",
            action="store_true",
            help="let requests without a token read the project instead (role read only); prints nothing",
        )
        _add_state_option(create, nested=True)
        listing = actions.add_parser("list", help="the tokens and anonymous grants (never their secrets)")
        listing.add_argument("--json", action="store_true", help="print JSON")
        _add_state_option(listing, nested=True)
        revoke = actions.add_parser("revoke", help="revoke a token or anonymous grant by its id")
        revoke.add_argument("token_id", metavar="ID", help="the id `ebonite token list` shows")
        _add_state_option(revoke, nested=True)

    def run(self, args: argparse.Namespace) -> int:
        if args.action == "create":  # a wrong command line creates no state file
            from .state import check_grant

            try:
                check_grant(args.project, args.role)
            except ValueError as err:
                raise UsageError(str(err)) from err
            if args.anonymous and args.role != "read":
                raise UsageError("Anonymous access can only read: pass --role read.")
        state = _open_state(_state_path(self, args))
        try:
            return getattr(self, f"_{args.action}")(state, args)
        finally:
            state.close()

    def _create(self, state: ServerState, args: argparse.Namespace) -> int:
        from .state import check_grant

        grant = check_grant(args.project, args.role)
        if args.anonymous:
            info = state.allow_anonymous(grant.project, grant.role, args.description)
            print(f"Requests without a token may now read {grant.project!r} (grant {info.id}).", file=sys.stderr)
            return 0
        token, info = state.create_token(grant.project, grant.role, args.description)
        print(token)
        print(
            f"Token {info.id}: {grant.role} on {grant.project!r}. It is shown once and not kept: store it now.",
            file=sys.stderr,
        )
        return 0

    def _list(self, state: ServerState, args: argparse.Namespace) -> int:
        tokens = state.list_tokens()
        if args.json:
            print(json.dumps([token.__dict__ for token in tokens], indent=2))
            return 0
        rows = [["ID", "PROJECT", "ROLE", "KIND", "CREATED (UTC)", "DESCRIPTION"]] + [
            [t.id, t.project, t.role, "anonymous" if t.anonymous else "token", t.created, t.description] for t in tokens
        ]
        widths = [max(len(row[column]) for row in rows) for column in range(len(rows[0]))]
        for row in rows:
            print("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip())
        return 0

    def _revoke(self, state: ServerState, args: argparse.Namespace) -> int:
        from ebonite_core.errors import EboniteError

        if not state.revoke(args.token_id):
            raise EboniteError(f"No token or grant has the id {args.token_id!r}: see `ebonite token list`.")
        print(f"Revoked {args.token_id}.", file=sys.stderr)
        return 0


class ServeCommand(Command):
    name = "serve"
    help = "serve the registry over HTTP to clients with tokens (`ebonite token create`)"

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
        parser.add_argument("--port", type=int, default=8080, help="port (default 8080; 0 picks a free one)")
        parser.add_argument("--workers", type=int, default=1, help="worker processes (default 1)")
        parser.add_argument("--ssl-certfile", help="serve HTTPS with this certificate (PEM)")
        parser.add_argument("--ssl-keyfile", help="the certificate's private key (PEM)")
        parser.add_argument(
            "--forwarded-allow-ips",
            default=None,
            help="proxies whose X-Forwarded-* headers are trusted (uvicorn's option; default 127.0.0.1)",
        )
        parser.add_argument(
            "--max-upload-size", type=int, default=None, metavar="BYTES", help="largest push (default 1 TiB)"
        )
        _add_state_option(parser)

    def run(self, args: argparse.Namespace) -> int:
        try:
            import uvicorn
        except ModuleNotFoundError as err:
            raise UsageError("ebonite serve needs the server's packages: pip install 'ebonite-server[serve]'") from err
        if args.workers < 1:
            raise UsageError("--workers must be at least 1.")
        if bool(args.ssl_certfile) != bool(args.ssl_keyfile):
            raise UsageError("--ssl-certfile and --ssl-keyfile go together.")
        config_path = _config_path(self, args)
        state_path = _state_path(self, args)
        _open_state(state_path).close()  # create it now, so that a problem is reported before serving
        os.environ[CONFIG_VARIABLE] = str(config_path)
        os.environ[STATE_VARIABLE] = str(state_path)
        if args.max_upload_size is not None:
            os.environ[MAX_UPLOAD_VARIABLE] = str(args.max_upload_size)
        from .serve import app_from_environment, serve

        if args.workers == 1:
            app_from_environment()  # open the registry now: a wrong config fails here, not on the first request
        return serve(
            host=args.host,
            port=args.port,
            workers=args.workers,
            ssl_certfile=args.ssl_certfile,
            ssl_keyfile=args.ssl_keyfile,
            forwarded_allow_ips=args.forwarded_allow_ips,
            state_path=state_path,
            uvicorn=uvicorn,
        )


class UiCommand(Command):
    name = "ui"
    help = "browse a registry you can reach directly in a web browser (read-only, on 127.0.0.1 only)"

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument("--port", type=int, default=8765, help="port on 127.0.0.1 (default 8765; 0 picks one)")

    def run(self, args: argparse.Namespace) -> int:
        try:
            import jinja2  # noqa: F401 - checked here so that a missing extra is a usage error, not a traceback
            import uvicorn
        except ModuleNotFoundError as err:
            raise UsageError("ebonite ui needs the server's packages: pip install 'ebonite-server[serve]'") from err
        if not 0 <= args.port <= 65535:
            raise UsageError(f"--port must be from 0 to 65535, not {args.port}.")
        from ebonite_core.config import CONFIG_VARIABLE as CORE_CONFIG_VARIABLE

        registry = self.client(args)  # a wrong config, or no registry here, is reported before anything binds
        config = args.config or os.environ.get(CORE_CONFIG_VARIABLE)
        if config:
            expression = f"Ebonite.from_config({str(Path(config).absolute())!r})"
        else:
            expression = f"Ebonite.local({str(Path('.ebonite').absolute())!r})"
        from .ui.local import serve_local

        return serve_local(registry, expression, args.port, uvicorn)
