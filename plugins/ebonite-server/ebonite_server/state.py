"""The server's own state, one SQLite file beside the registry's config: tokens, anonymous grants, and the
artifact keys uploaded through the server.

``ebonite token`` and ``ebonite serve`` given the same ``--config registry.toml`` use the same file,
``registry.server.sqlite3`` next to it (``--state FILE`` names another). It is created readable by its
owner only. What it holds:

- tokens: a public id, the sha256 of the secret part (never the secret), the project (a name, or ``*`` for
  every project), the role, a description and the creation time. A token reads ``ebt_<id>_<secret>``; the
  server finds the row by id and compares hashes in constant time. Revoking deletes the row.
- anonymous grants: rows without a secret; what a request without a token may do. There are none unless
  an operator adds one (``ebonite token create --anonymous``).
- artifact keys: for each key uploaded through the server, who uploaded it, the size and sha256 of each
  file as the server measured them while receiving, and, once a model references it, the id of the model's
  project. A model is created only if its manifest matches the upload; downloads are allowed to those who
  can read that project.
- secrets the server makes for itself (:meth:`ServerState.secret`): the key that signs the web UI's session
  cookies, shared by every worker.

Losing the file loses the tokens (make new ones) and the key records (models pushed before stay loadable:
the server finds an unrecorded key's project by looking through the models of the projects the token can
read, and records it again).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from ebonite_core.names import check_name

from .protocol import ALL_PROJECTS, MAX_TOKEN_LENGTH, ROLES, TOKEN_PREFIX, UnauthenticatedError, role_rank

SCHEMA_VERSION = 1
_SCHEMA = """
CREATE TABLE IF NOT EXISTS settings (name TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS tokens (
    id TEXT PRIMARY KEY,
    hash TEXT,
    project TEXT NOT NULL,
    role TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    created TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS artifact_keys (
    key TEXT PRIMARY KEY,
    uploader TEXT,
    project_id TEXT,
    files TEXT NOT NULL,
    created REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS artifact_keys_project ON artifact_keys (project_id);
"""
_ANONYMOUS_PREFIX = "anonymous-"
# A fixed hash to compare against when a token id is unknown, so that both paths cost the same.
_DUMMY_HASH = hashlib.sha256(b"no such token").hexdigest()


def default_state_path(config: str | os.PathLike[str]) -> Path:
    """``registry.server.sqlite3`` for ``registry.toml``: the state file beside a config file."""
    return Path(config).with_suffix(".server.sqlite3")


@dataclass(frozen=True)
class Grant:
    project: str  # a project name, or ALL_PROJECTS
    role: str


@dataclass(frozen=True)
class TokenInfo:
    """A row of ``ebonite token list``: everything but the secret, which the server never had."""

    id: str
    project: str
    role: str
    description: str
    created: str
    anonymous: bool


@dataclass(frozen=True)
class Principal:
    """Who a request acts for: a token (or nobody) and the grants it has, anonymous grants included."""

    token_id: str | None
    grants: tuple[Grant, ...]

    def rank_in(self, project_name: str) -> int | None:
        """The highest role rank (see :func:`role_rank`) on a project, or ``None`` if it cannot see it."""
        ranks = [role_rank(g.role) for g in self.grants if g.project in (project_name, ALL_PROJECTS)]
        return max(ranks) if ranks else None

    def registry_wide_rank(self) -> int | None:
        """The highest role rank granted on every project at once (``*``), or ``None``."""
        ranks = [role_rank(g.role) for g in self.grants if g.project == ALL_PROJECTS]
        return max(ranks) if ranks else None

    def project_names(self) -> set[str] | None:
        """The names of the projects it can see, or ``None`` for every project."""
        if self.registry_wide_rank() is not None:
            return None
        return {grant.project for grant in self.grants}

    def can_write_somewhere(self) -> bool:
        return any(role_rank(grant.role) >= role_rank("write") for grant in self.grants)


@dataclass(frozen=True)
class KeyRecord:
    """An artifact key uploaded through the server (or found referenced by a model)."""

    key: str
    uploader: str | None
    project_id: str | None  # None while no model references it
    files: dict[str, tuple[int, str]]  # name -> (size, sha256); empty when found rather than uploaded
    created: float


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8", "surrogatepass")).hexdigest()


class ServerState:
    """The state file: safe to use from several threads and several processes (SQLite in WAL mode)."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path).absolute()
        self._local = threading.local()
        if not self.path.exists():
            self.path.parent.mkdir(parents=True, exist_ok=True)
            try:  # owner-only from the start: SQLite gives its -wal and -shm files the same mode
                os.close(os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
            except FileExistsError:
                pass
        with self._connection() as connection:
            connection.execute("PRAGMA journal_mode=WAL")
            connection.executescript(_SCHEMA)
            connection.execute(
                "INSERT OR IGNORE INTO settings (name, value) VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),)
            )
            (version,) = connection.execute("SELECT value FROM settings WHERE name = 'schema_version'").fetchone()
        if version != str(SCHEMA_VERSION):
            raise RuntimeError(f"{self.path} has schema version {version}; this ebonite-server knows {SCHEMA_VERSION}.")

    @contextmanager
    def _connection(self) -> Iterator[sqlite3.Connection]:
        connection = getattr(self._local, "connection", None)
        if connection is None:
            connection = sqlite3.connect(self.path, timeout=30, isolation_level=None, check_same_thread=True)
            connection.execute("PRAGMA busy_timeout = 30000")
            # WAL with synchronous=NORMAL for key records: a crash of the server loses nothing, a power failure
            # may lose the last records, which the server finds again. Token changes are made durable at once
            # (_durable): a revocation must never come undone.
            connection.execute("PRAGMA synchronous = NORMAL")
            self._local.connection = connection
        yield connection

    @contextmanager
    def _durable(self) -> Iterator[sqlite3.Connection]:
        with self._connection() as connection:
            connection.execute("PRAGMA synchronous = FULL")
            try:
                yield connection
            finally:
                connection.execute("PRAGMA synchronous = NORMAL")

    def close(self) -> None:
        connection = getattr(self._local, "connection", None)
        if connection is not None:
            connection.close()
            self._local.connection = None

    # Tokens
    def create_token(self, project: str, role: str, description: str = "") -> tuple[str, TokenInfo]:
        """A new token for ``project`` (a name or ``*``) with ``role``: ``(the token, its row)``.

        The token is returned once and never stored; only its hash is.
        """
        role_rank(role)
        token_id = secrets.token_hex(6)
        secret = secrets.token_urlsafe(32)
        info = self._insert(token_id, _hash(secret), project, role, description)
        return f"{TOKEN_PREFIX}_{token_id}_{secret}", info

    def allow_anonymous(self, project: str, role: str, description: str = "") -> TokenInfo:
        """Let requests without a token use ``project`` with ``role`` (revoke it like a token)."""
        role_rank(role)
        return self._insert(f"{_ANONYMOUS_PREFIX}{secrets.token_hex(4)}", None, project, role, description)

    def _insert(self, token_id: str, hashed: str | None, project: str, role: str, description: str) -> TokenInfo:
        created = datetime.now(timezone.utc).isoformat(timespec="seconds")
        with self._durable() as connection:
            connection.execute(
                "INSERT INTO tokens (id, hash, project, role, description, created) VALUES (?, ?, ?, ?, ?, ?)",
                (token_id, hashed, project, role, description, created),
            )
        return TokenInfo(token_id, project, role, description, created, hashed is None)

    def list_tokens(self) -> list[TokenInfo]:
        with self._connection() as connection:
            rows = connection.execute(
                "SELECT id, project, role, description, created, hash IS NULL FROM tokens ORDER BY created, id"
            ).fetchall()
        return [TokenInfo(*row[:5], bool(row[5])) for row in rows]

    def revoke(self, token_id: str) -> bool:
        """Delete a token or anonymous grant; ``False`` if there is none with this id."""
        with self._durable() as connection:
            return connection.execute("DELETE FROM tokens WHERE id = ?", (token_id,)).rowcount > 0

    def authenticate(self, token: str | None) -> Principal:
        """The principal of a request that presents ``token`` (``None``: no token).

        Without a token, the anonymous grants apply (none unless configured: then
        :class:`UnauthenticatedError`). An unknown, revoked or malformed token is refused, never treated as
        anonymous. Secrets are compared in constant time.
        """
        with self._connection() as connection:
            anonymous = tuple(
                Grant(project, role)
                for project, role in connection.execute("SELECT project, role FROM tokens WHERE hash IS NULL")
            )
            if token is None:
                if not anonymous:
                    raise UnauthenticatedError(
                        "This server needs a token: pass it as 'Authorization: Bearer <token>' (the client's "
                        "'token' option)."
                    )
                return Principal(None, anonymous)
            parts = token.split("_", 2) if len(token) <= MAX_TOKEN_LENGTH else []
            token_id = parts[1] if len(parts) == 3 and parts[0] == TOKEN_PREFIX else ""
            row = connection.execute(
                "SELECT hash, project, role FROM tokens WHERE id = ? AND hash IS NOT NULL", (token_id,)
            ).fetchone()
        stored = row[0] if row else _DUMMY_HASH
        presented = _hash(parts[2]) if len(parts) == 3 else ""
        if not hmac.compare_digest(stored, presented) or row is None:
            raise UnauthenticatedError("The token is unknown or was revoked: ask the registry's operator for one.")
        return Principal(token_id, (Grant(row[1], row[2]), *anonymous))

    def principal_of_token_id(self, token_id: str) -> Principal:
        """The principal of the token whose id is ``token_id``, as :meth:`authenticate` gives it.

        For a session that was signed in with the whole token (the web UI's signed cookie names the id
        only): :class:`UnauthenticatedError` once the token is revoked, so that revoking ends its sessions.
        """
        with self._connection() as connection:
            rows = connection.execute(
                "SELECT project, role, hash IS NULL FROM tokens WHERE id = ? OR hash IS NULL", (token_id,)
            ).fetchall()
        own = [Grant(project, role) for project, role, anonymous in rows if not anonymous]
        if not own:
            raise UnauthenticatedError("The token of this session was revoked: sign in again with a valid token.")
        return Principal(token_id, (*own, *(Grant(project, role) for project, role, anonymous in rows if anonymous)))

    def secret(self, name: str) -> bytes:
        """A random 32-byte secret kept in the state file under ``name``, made on first use: the same for every
        worker and across restarts (the web UI signs its session cookies with one)."""
        with self._durable() as connection:
            connection.execute(
                "INSERT OR IGNORE INTO settings (name, value) VALUES (?, ?)", (f"secret:{name}", secrets.token_hex(32))
            )
            (value,) = connection.execute("SELECT value FROM settings WHERE name = ?", (f"secret:{name}",)).fetchone()
        return bytes.fromhex(value)

    # Artifact keys
    def record_upload(self, key: str, uploader: str | None, files: dict[str, tuple[int, str]]) -> None:
        """Record a key whose files were just stored; ``FileExistsError`` if the key is recorded already."""
        document = json.dumps({name: list(value) for name, value in files.items()})
        try:
            with self._connection() as connection:
                connection.execute(
                    "INSERT INTO artifact_keys (key, uploader, project_id, files, created) VALUES (?, ?, NULL, ?, ?)",
                    (key, uploader, document, time.time()),
                )
        except sqlite3.IntegrityError:
            raise FileExistsError(f"Artifact key {key!r} already exists.") from None

    def key_record(self, key: str) -> KeyRecord | None:
        with self._connection() as connection:
            row = connection.execute(
                "SELECT key, uploader, project_id, files, created FROM artifact_keys WHERE key = ?", (key,)
            ).fetchone()
        if row is None:
            return None
        files = {name: (int(size), str(sha256)) for name, (size, sha256) in json.loads(row[3]).items()}
        return KeyRecord(row[0], row[1], row[2], files, row[4])

    def assign_key(self, key: str, project_id: str) -> None:
        """Record that a model of project ``project_id`` references ``key`` (inserting the key if needed)."""
        with self._connection() as connection:
            connection.execute(
                "INSERT INTO artifact_keys (key, uploader, project_id, files, created) VALUES (?, NULL, ?, '{}', ?) "
                "ON CONFLICT (key) DO UPDATE SET project_id = excluded.project_id",
                (key, project_id, time.time()),
            )

    def forget_key(self, key: str) -> None:
        with self._connection() as connection:
            connection.execute("DELETE FROM artifact_keys WHERE key = ?", (key,))

    def recorded_keys(self, project_ids: set[str] | None, uploader: str | None) -> set[str]:
        """Keys assigned to one of ``project_ids`` (``None``: any) or uploaded by ``uploader`` and not
        assigned yet."""
        with self._connection() as connection:
            rows = connection.execute("SELECT key, uploader, project_id FROM artifact_keys").fetchall()
        return {
            key
            for key, by, project_id in rows
            if (project_id is not None and (project_ids is None or project_id in project_ids))
            or (project_id is None and uploader is not None and by == uploader)
        }

    def forget_all_keys(self) -> None:
        """Drop every key record (a test server's reset, on a fresh store)."""
        with self._connection() as connection:
            connection.execute("DELETE FROM artifact_keys")


def check_grant(project: str, role: str) -> Grant:
    """A grant from the command line: a valid project name or ``*``, and a role."""
    if project != ALL_PROJECTS:
        check_name(project, "project")
    if role not in ROLES:
        raise ValueError(f"Unknown role {role!r}: use one of {', '.join(ROLES)}.")
    return Grant(project, role)
