"""Who a request is, and the one role check every route (API or, later, web UI) goes through.

A route finds its principal with :func:`principal_of` (the ``Authorization: Bearer`` token, or the anonymous
grants) and checks each project it touches with :func:`require_role`. The check answers a project the
principal cannot see exactly as a project that does not exist (404), so that a token for one project can
neither read nor guess another; a project it can see but with too weak a role is a 403.

A web UI that signs people in with a token keeps the token id in a signed session cookie (with a CSRF token
for its forms) and builds the same :class:`~ebonite_server.state.Principal` from it; the checks stay here.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ebonite_core.errors import NonExistingProjectError

from .protocol import MAX_TOKEN_LENGTH, AccessDeniedError, UnauthenticatedError, role_rank
from .state import Principal

if TYPE_CHECKING:
    from starlette.requests import HTTPConnection

    from .state import ServerState


def hidden_project(name: str) -> NonExistingProjectError:
    """The error for a project the principal cannot see: the same whether it exists or not."""
    return NonExistingProjectError(f"Project {name!r} does not exist, or this token has no access to it.")


def require_role(principal: Principal, project_name: str, role: str) -> None:
    """Allow ``principal`` to act with ``role`` (read, write or admin) on the project called ``project_name``.

    Raises :class:`~ebonite_core.errors.NonExistingProjectError` (answered 404) when the principal has no
    grant on the project at all, and :class:`AccessDeniedError` (403) when its role is below ``role``.
    """
    rank = principal.rank_in(project_name)
    if rank is None:
        raise hidden_project(project_name)
    if rank < role_rank(role):
        raise AccessDeniedError(
            f"This token may not {_VERBS[role]} project {project_name!r}: that needs the {role} role."
        )


_VERBS = {"read": "read", "write": "change", "admin": "administer (delete it, move aliases)"}


def bearer_token(connection: HTTPConnection) -> str | None:
    """The token of an ``Authorization: Bearer`` header, or ``None`` without the header."""
    header = connection.headers.get("authorization")
    if header is None:
        return None
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token or len(token) > MAX_TOKEN_LENGTH:
        raise UnauthenticatedError("Malformed Authorization header: send 'Authorization: Bearer <token>'.")
    return token.strip()


def principal_of(connection: HTTPConnection, state: ServerState) -> Principal:
    """The principal of a request (blocking: a lookup in the state file)."""
    return state.authenticate(bearer_token(connection))
