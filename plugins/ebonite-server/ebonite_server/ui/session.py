"""The web UI's session: a signed cookie naming the token a person signed in with, and the CSRF token of its
forms.

Signing in presents the whole token once (``POST /ui/sign-in``); the server checks it exactly as the API
checks a bearer token, then sets a cookie holding a random nonce, the token's public id and the time of
issue, signed with HMAC-SHA256 under a key kept in the server's state file (the same key in every worker).
The secret part of the token is never in the cookie. Each request rebuilds the principal from the id
(:meth:`~ebonite_server.state.ServerState.principal_of_token_id`), so revoking the token ends its sessions at
once. The cookie is ``HttpOnly``, ``SameSite=Strict``, ``Path=/ui``, and ``Secure`` when the request came over
HTTPS; it expires after :data:`MAX_AGE` seconds.

Every form that changes something carries a CSRF token derived from the session's nonce (HMAC under the same
key, under another label): a forged form from another site has no way to learn it, and a form from an
earlier session does not fit the current one. The sign-in form has one too (a visitor gets an anonymous
session first), so that another site cannot sign a visitor in as someone else.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
from dataclasses import dataclass

COOKIE_NAME = "ebonite_ui_session"
COOKIE_PATH = "/ui"
MAX_AGE = 12 * 3600
"""Seconds a session lasts; sign in again afterwards."""


@dataclass(frozen=True)
class Session:
    nonce: str
    token_id: str | None  # None: not signed in
    issued: int

    @classmethod
    def new(cls, token_id: str | None = None) -> Session:
        return cls(secrets.token_urlsafe(16), token_id, int(time.time()))


class SessionSigner:
    """Signs and checks session cookies and CSRF tokens with one key."""

    def __init__(self, key: bytes) -> None:
        if len(key) < 32:
            raise ValueError("A session key needs at least 32 bytes.")
        self._key = key

    def _mac(self, label: bytes, data: bytes) -> str:
        digest = hmac.new(self._key, label + b"\0" + data, hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).decode().rstrip("=")

    def dumps(self, session: Session) -> str:
        payload = json.dumps([session.nonce, session.token_id, session.issued], separators=(",", ":")).encode()
        encoded = base64.urlsafe_b64encode(payload).decode().rstrip("=")
        return f"{encoded}.{self._mac(b'session', encoded.encode())}"

    def loads(self, cookie: str | None) -> Session | None:
        """The session a cookie holds; ``None`` if it is missing, tampered with, malformed or expired."""
        if not cookie or len(cookie) > 512 or cookie.count(".") != 1:
            return None
        encoded, signature = cookie.split(".")
        if not hmac.compare_digest(signature, self._mac(b"session", encoded.encode())):
            return None
        try:
            nonce, token_id, issued = json.loads(base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4)))
        except (ValueError, TypeError):
            return None
        if not (isinstance(nonce, str) and isinstance(issued, int) and (token_id is None or isinstance(token_id, str))):
            return None
        if not 0 <= time.time() - issued < MAX_AGE:
            return None
        return Session(nonce, token_id, issued)

    def csrf_token(self, session: Session) -> str:
        return self._mac(b"csrf", session.nonce.encode())

    def csrf_matches(self, session: Session | None, presented: str | None) -> bool:
        """Whether a form's CSRF token belongs to ``session`` (compared in constant time)."""
        if session is None or not presented:
            return False
        return hmac.compare_digest(presented, self.csrf_token(session))
