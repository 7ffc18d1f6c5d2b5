"""The ``fsspec`` artifact repository: model files on FTP, SFTP, WebDAV, Azure Blob, GCS (and ``memory://``,
``file://``) through fsspec and each protocol's well-kept package.

fsspec and the protocol's package are imported when a repository is built, never by the plugin module; the
connection is opened by the first operation.
"""

from __future__ import annotations

import json
import logging
import os
import re
import tempfile
import threading
import uuid
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, TypeVar

from ebonite_core.errors import ArtifactNotFoundError, ConfigError, EboniteError, RepositoryError
from ebonite_core.repository import (
    KEY_MARKER,
    ArtifactRepository,
    check_artifact_key,
    check_artifact_name,
    deletable_key,
    is_artifact_key,
    key_marker,
)

from .errors import UnsupportedURLError, is_connection_lost, redact, translate
from .protocols import Protocol, find_protocol, mask_url

logger = logging.getLogger(__name__)

T = TypeVar("T")
MARKER = KEY_MARKER  # written in every key by the push that made it: what proves the key is ours
PUSHING = ".tmp"  # <root>/.tmp/<key>.<hex>/: a push being uploaded (protocols that rename)
DELETING = ".trash"  # <root>/.trash/<key>.<hex>/: a key being deleted (protocols that rename)
_PRIVATE_ENTRY = re.compile(r"[A-Za-z0-9_][A-Za-z0-9._-]{0,254}\.[0-9a-f]{32}")
# Options whose values are secrets wherever they appear: masked in every message.
_SECRET_OPTIONS = re.compile(r"pass|secret|token|key|credential|auth|connection_string|sig", re.IGNORECASE)
_CONNECTION_STRING_SECRETS = re.compile(r"(?:AccountKey|SharedAccessSignature|SharedAccessKey)=([^;]+)", re.I)


class FsspecArtifactRepository(ArtifactRepository):
    """Artifacts as ``<url>/<key>/<file name>`` on any protocol of :mod:`ebonite_fsspec.protocols`.

    Arguments:

    - ``url``: where the store lives, e.g. ``sftp://ml@files.example.com/srv/models``,
      ``ftp://ml@127.0.0.1:2121/models``, ``webdav+https://dav.example.com/remote.php/dav/files/ml/models``,
      ``abfs://container/models``, ``gs://bucket/models``, ``file:///srv/models``, ``memory://models``.
      A password may stand in the URL (percent-encoded); it is never shown in messages or ``repr``.
    - ``storage_options``: keyword arguments of the protocol's fsspec file system (``password``,
      ``known_hosts``, ``account_name``, ``connection_string``, ``token``, ``timeout``...); they override
      what the URL says.

    A push never overwrites a key that exists and is never half-visible: on protocols that rename (FTP,
    SFTP, WebDAV, ``file://``) it uploads into ``.tmp/<key>.<random>/`` and renames the directory into place;
    on object stores (Azure Blob, GCS, ``memory://``) a conditional write of the key's marker claims the key,
    each file is then written under it, and the model becomes visible only when the client writes its
    metadata, after every file. Lists and deletes of a key use its trailing ``/``: deleting key ``1`` never
    touches key ``10``. Every key holds a small file, ``.ebonite-key``, written by its push: :meth:`keys`,
    :meth:`delete` and :meth:`clean_leftovers` only ever touch keys and entries that this store can prove it
    wrote.
    """

    type = "fsspec"

    def __init__(self, url: str, storage_options: Mapping[str, Any] | None = None) -> None:
        self.protocol: Protocol = find_protocol(url)
        if storage_options is not None and not isinstance(storage_options, Mapping):
            raise ConfigError(
                f"fsspec: storage_options must be a mapping of option names to values, not {storage_options!r}"
            )
        self.url = url
        self.storage_options = dict(storage_options or {})
        self._arguments, self.root = self.protocol.arguments(url, self.storage_options)
        if not self.root and self.protocol.needs_path:
            raise UnsupportedURLError(
                f"The URL {mask_url(url)!r} names no {self.protocol.place}: write where the store lives, "
                f"e.g. {self.protocol.example}."
            )
        self._secrets = _secrets(self._arguments)
        self.where = redact(mask_url(url), self._secrets)
        self._fs: Any = None
        self._pid = os.getpid()
        self._lock = threading.RLock()  # one operation at a time: an FTP session is one control connection

    def __repr__(self) -> str:
        return f"FsspecArtifactRepository({self.where!r})"

    # Paths
    def _path(self, *parts: str) -> str:
        return "/".join((self.root, *parts)) if self.root else "/".join(parts)

    def _key_path(self, key: str) -> str:
        return self._path(check_artifact_key(key))

    # The connection
    def _filesystem(self) -> Any:
        if self._fs is None or self._pid != os.getpid():  # a forked child opens its own connection
            self._fs = self.protocol.connect(self._arguments)
            self._pid = os.getpid()
        return self._fs

    def _run(self, action: str, operation: Callable[[Any], T]) -> T:
        """Run ``operation(fs)`` under the lock, errors translated; once more on a new connection when the
        old one was lost (an idle timeout, a server restart). Every operation may be run again: a push
        starts over under a new private name."""
        with self._lock, self._translated(action):
            try:
                return operation(self._filesystem())
            except Exception as err:
                if not is_connection_lost(err):
                    raise
                logger.debug("Connection to %s lost (%s); reconnecting", self.where, type(err).__name__)
                self._forget_connection()
                return operation(self._filesystem())

    def _forget_connection(self) -> None:
        fs, self._fs = self._fs, None
        if fs is not None:
            try:
                self.protocol.disconnect(fs)
            except Exception:  # already gone
                pass

    @contextmanager
    def _translated(self, action: str) -> Iterator[None]:
        try:
            yield
        except Exception as err:
            translated = translate(err, action, self.where, self._secrets)
            if translated is None:
                raise
            raise translated from err

    # The ArtifactRepository interface
    def push(self, key: str, files: Mapping[str, Path]) -> None:
        target = self._key_path(key)
        sources = {check_artifact_name(name): os.fspath(path) for name, path in files.items()}
        for name, source in sources.items():
            if not os.path.isfile(source):  # some file systems would upload a directory as an empty one
                raise FileNotFoundError(f"The file {source!r} to push as artifact {name!r} is not a file.")
        push = self._push_renaming if self.protocol.renames else self._push_in_place
        self._run(f"push artifacts under key {key!r}", lambda fs: push(fs, key, target, sources))

    def _push_renaming(self, fs: Any, key: str, target: str, sources: dict[str, str]) -> None:
        if fs.exists(target):
            raise FileExistsError(f"Artifact key {key!r} already exists in {self.where}.")
        private_name = f"{key}.{uuid.uuid4().hex}"
        staging = self._path(PUSHING, private_name)
        _makedirs(fs, staging)
        try:
            for name, source in sources.items():
                self.protocol.upload(fs, source, f"{staging}/{name}")
            self._write_marker(fs, f"{staging}/{MARKER}", key)
            try:
                self.protocol.rename(fs, staging, target)
            except Exception:
                if fs.exists(target):  # another push won the name
                    raise FileExistsError(f"Artifact key {key!r} already exists in {self.where}.") from None
                raise
        except BaseException:
            self._remove_quietly(fs, self._path(PUSHING), private_name)
            raise

    def _push_in_place(self, fs: Any, key: str, target: str, sources: dict[str, str]) -> None:
        # The marker goes first, with a conditional write: it claims the key (a second push of the same key
        # is refused) and lets garbage collection find the key if this push dies before the metadata. The
        # files under a claimed key are this push's alone: plain writes (a conditional one costs Azurite 20 %).
        if fs.exists(f"{target}/{MARKER}"):
            raise FileExistsError(f"Artifact key {key!r} already exists in {self.where}.")
        try:
            self._write_marker(fs, f"{target}/{MARKER}", key)
        except FileExistsError:
            raise FileExistsError(f"Artifact key {key!r} already exists in {self.where}.") from None
        try:
            for name, source in sources.items():
                self.protocol.upload(fs, source, f"{target}/{name}")
        except BaseException:
            try:
                self._delete_in_place(fs, key, target)
            except Exception:
                logger.warning("Could not remove the partial push %s/%s; ebonite gc removes it", self.where, key)
            raise

    def _write_marker(self, fs: Any, path: str, key: str) -> None:
        with tempfile.TemporaryDirectory(prefix="ebonite-marker-") as directory:
            marker = Path(directory) / MARKER
            marker.write_bytes(key_marker(key))
            self.protocol.create(fs, str(marker), path)

    def download(self, key: str, name: str, destination: Path) -> None:
        remote = f"{self._key_path(key)}/{check_artifact_name(name)}"

        def fetch(fs: Any) -> None:
            try:
                self.protocol.download(fs, remote, os.fspath(destination))
            except Exception as err:
                Path(destination).unlink(missing_ok=True)
                if isinstance(err, EboniteError):
                    raise
                if isinstance(err, FileNotFoundError) or not _exists(fs, remote):
                    raise ArtifactNotFoundError(
                        f"Artifact file {name!r} of key {key!r} is missing from {self.where}."
                    ) from err
                raise
            if not Path(destination).is_file():  # a directory stood where the file should be
                raise ArtifactNotFoundError(f"Artifact file {name!r} of key {key!r} is missing from {self.where}.")

        self._run(f"download {name!r} of key {key!r}", fetch)

    def delete(self, key: str) -> None:
        """Remove the key's files, its marker last. A key the store cannot prove it wrote (files there, no
        marker) is refused with :class:`RepositoryError` and left alone; a missing key is no error."""
        target = self._key_path(key)
        remove = self._delete_renaming if self.protocol.renames else self._delete_in_place

        def delete(fs: Any) -> None:
            entries = _listing(fs, target)
            if not entries:
                return
            if not self._is_ours(entries) and not deletable_key(key, False):
                raise RepositoryError(
                    f"{self.where}/{key} was not written by this store (no {MARKER} marker): it was left alone."
                )
            remove(fs, key, target)

        self._run(f"delete key {key!r}", delete)

    def _delete_renaming(self, fs: Any, key: str, target: str) -> None:
        private_name = f"{key}.{uuid.uuid4().hex}"
        _makedirs(fs, self._path(DELETING))
        try:
            self.protocol.rename(fs, target, self._path(DELETING, private_name))
        except Exception:
            if not fs.exists(target):  # deleted by someone else meanwhile
                return
            raise
        self._remove_flat(fs, self._path(DELETING), private_name)

    def _delete_in_place(self, fs: Any, key: str, target: str) -> None:
        """Delete the files of one key, the marker last, so that an interrupted delete leaves a key that
        :meth:`keys` still reports (and garbage collection finishes)."""
        entries = _listing(fs, target)
        files = [entry["name"] for entry in entries if _name(entry) != MARKER and entry.get("type") == "file"]
        if files:
            fs.rm(files)
        if self._is_ours(entries):
            fs.rm_file(f"{target}/{MARKER}")

    def keys(self) -> dict[str, datetime]:
        return self._run("list artifact keys", self._keys_renaming if self.protocol.renames else self._keys_in_place)

    def _keys_renaming(self, fs: Any) -> dict[str, datetime]:
        found: dict[str, datetime] = {}
        for entry in _listing(fs, self.root):
            key = _name(entry)
            if entry.get("type") != "directory" or not is_artifact_key(key) or _is_link(entry):
                continue
            files = _listing(fs, self._path(key))
            if self._is_ours(files):
                found[key] = _newest(files) or _modified(entry) or _now()
        return found

    def _keys_in_place(self, fs: Any) -> dict[str, datetime]:
        by_key: dict[str, list[dict[str, Any]]] = {}
        prefix = f"{self.root}/" if self.root else ""
        for path, entry in _find(fs, prefix or self.root).items():
            key, slash, rest = path[len(prefix) :].partition("/") if path.startswith(prefix) else ("", "", "")
            if slash and "/" not in rest and is_artifact_key(key):
                by_key.setdefault(key, []).append({**entry, "name": path})
        return {key: _newest(files) or _now() for key, files in by_key.items() if self._is_ours(files)}

    def key_written(self, key: str) -> datetime | None:
        target = self._key_path(key)

        def written(fs: Any) -> datetime | None:
            files = _listing(fs, target)
            return (_newest(files) or _now()) if self._is_ours(files) else None

        return self._run(f"look at key {key!r}", written)

    def list_files(self, key: str) -> list[str] | None:
        target = self._key_path(key)

        def names(fs: Any) -> list[str]:
            entries = _listing(fs, target)
            if not self._is_ours(entries):
                return []
            return sorted(_name(entry) for entry in entries if _name(entry) != MARKER)

        return self._run(f"list the files of key {key!r}", names)

    def config(self) -> dict[str, Any]:
        """``url``, and ``storage_options`` when there are any, as given (the caller masks secrets).

        Options that are not JSON data (a credential object, a loaded key) cannot be written to a file: that
        is a ``TypeError`` naming them."""
        options = self.protocol.savable_options(self.storage_options)
        if not options:
            return {"url": self.url}
        unwritable = sorted(name for name, value in options.items() if not _is_json(value))
        if unwritable:
            raise TypeError(
                f"The storage_options {', '.join(unwritable)} of {self!r} are objects, not text or numbers: they "
                "cannot be written to a config file. Give them as text (a path, a ${VARIABLE} reference) instead."
            )
        return {"url": self.url, "storage_options": options}

    def clean_leftovers(self, older_than: datetime, dry_run: bool = False) -> list[str]:
        """Unfinished pushes (``.tmp/<key>.<random>``) and deletes (``.trash/<key>.<random>``) of protocols that
        rename, last written before ``older_than``. Only entries named as this store names them, and only
        plain directories: a symbolic link is never followed. Object stores leave no leftovers of their own
        (an unfinished push is a key, which garbage collection removes)."""
        if not self.protocol.renames:
            return []
        return self._run("clean leftovers", lambda fs: self._clean(fs, older_than, dry_run))

    def _clean(self, fs: Any, older_than: datetime, dry_run: bool) -> list[str]:
        removed = []
        private = {_name(entry): entry for entry in _listing(fs, self.root)}
        for folder, what in ((PUSHING, "unfinished push"), (DELETING, "unfinished delete")):
            entry = private.get(folder)
            if entry is None or entry.get("type") != "directory" or _is_link(entry):
                continue
            for item in _listing(fs, self._path(folder)):
                if item.get("type") != "directory" or _is_link(item) or not _PRIVATE_ENTRY.fullmatch(_name(item)):
                    continue
                path = self._path(folder, _name(item))
                written = _newest(_listing(fs, path)) or _modified(item)
                if written is None or written >= older_than:
                    continue
                if not dry_run:
                    self._remove_flat(fs, self._path(folder), _name(item))
                removed.append(f"{self.where}/{folder}/{_name(item)} ({what})")
        return removed

    def close(self) -> None:
        with self._lock:
            self._forget_connection()

    # Helpers
    def _is_ours(self, entries: list[dict[str, Any]]) -> bool:
        return any(_name(entry) == MARKER and entry.get("type") == "file" for entry in entries)

    def _remove_flat(self, fs: Any, parent: str, name: str) -> None:
        """Remove ``parent/name``, a directory this store wrote: the files (and links, never followed) directly
        in it, then the directory. A link found where the directory should be is removed itself, never what
        it points to; anything else inside (a directory someone planted) stays, and so does the directory."""
        path = f"{parent}/{name}"
        entry = next((item for item in _listing(fs, parent) if _name(item) == name), None)
        if entry is None:
            return
        if _is_link(entry):
            fs.rm_file(path)
            return
        entries = _listing(fs, path)
        doomed = [item["name"] for item in entries if item.get("type") == "file" or _is_link(item)]
        for item in doomed:
            fs.rm_file(item)
        if len(doomed) == len(entries):
            self.protocol.remove_directory(fs, path)

    def _remove_quietly(self, fs: Any, parent: str, name: str) -> None:
        try:
            self._remove_flat(fs, parent, name)
        except Exception:
            logger.warning("Could not remove %s/%s of %s; ebonite gc removes it", parent, name, self.where)


def _makedirs(fs: Any, path: str) -> None:
    """``mkdir -p`` that another process creating the same parents at the same time cannot fail (fsspec's
    FTP makedirs checks, then creates: the loser of the race gets "550 File exists")."""
    for attempt in range(3):
        try:
            fs.makedirs(path, exist_ok=True)
            return
        except Exception:
            if _isdir(fs, path):
                return
            if attempt == 2:
                raise


def _isdir(fs: Any, path: str) -> bool:
    try:
        return bool(fs.isdir(path))
    except Exception:
        return False


def _listing(fs: Any, path: str) -> list[dict[str, Any]]:
    """The entries directly under ``path`` with their details; ``[]`` when it does not exist."""
    try:
        entries = fs.ls(path, detail=True)
    except FileNotFoundError:
        return []
    stripped = path.rstrip("/")
    # Some file systems answer a listing of a file with the file itself: that is no directory.
    return [entry for entry in entries if entry["name"].rstrip("/") != stripped]


def _find(fs: Any, path: str) -> dict[str, dict[str, Any]]:
    try:
        return dict(fs.find(path, detail=True))
    except FileNotFoundError:
        return {}


def _exists(fs: Any, path: str) -> bool:
    try:
        return bool(fs.exists(path))
    except Exception:  # cannot tell: the caller reports the original error
        return True


def _is_json(value: Any) -> bool:
    try:
        json.dumps(value)
    except (TypeError, ValueError):
        return False
    return True


def _is_link(entry: Mapping[str, Any]) -> bool:
    """Whether a listed entry is a symbolic link (SFTP lists it as one; local file systems set ``islink``)."""
    return entry.get("type") == "link" or bool(entry.get("islink"))


def _name(entry: Mapping[str, Any]) -> str:
    return str(entry["name"]).rstrip("/").rpartition("/")[2]


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _newest(entries: list[dict[str, Any]]) -> datetime | None:
    times = [when for entry in entries if (when := _modified(entry)) is not None]
    return max(times) if times else None


_FTP_TIME = re.compile(r"(\d{14})(?:\.(\d+))?")


def _modified(entry: Mapping[str, Any]) -> datetime | None:
    """The time an entry was last written, from whichever field its file system reports, as aware UTC.

    ``None`` when it reports none: callers then treat the entry as new, so that nothing is ever removed
    for looking old."""
    for field in ("mtime", "modified", "last_modified", "LastModified", "updated", "created", "creation_time"):
        value = entry.get(field)
        if isinstance(value, datetime):
            return value.astimezone(timezone.utc) if value.tzinfo else value.replace(tzinfo=timezone.utc)
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return datetime.fromtimestamp(value, timezone.utc)
        if isinstance(value, str) and value:
            try:
                parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
            except ValueError:
                continue
            return parsed.astimezone(timezone.utc) if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)
    modify = entry.get("modify")  # FTP's MLSD fact, UTC by RFC 3659: YYYYMMDDHHMMSS[.sss]
    if isinstance(modify, str) and (match := _FTP_TIME.fullmatch(modify)):
        return datetime.strptime(match.group(1), "%Y%m%d%H%M%S").replace(tzinfo=timezone.utc)
    return None


def _secrets(arguments: Mapping[str, Any]) -> list[str]:
    """Every secret among the file system's arguments (passwords, keys, tokens, the keys inside an Azure
    connection string), to mask wherever a message could show one."""
    found: list[str] = []

    def visit(name: str, value: Any) -> None:
        if isinstance(value, Mapping):
            for inner, item in value.items():
                visit(str(inner), item)
        elif isinstance(value, (list, tuple)):
            for item in value:
                visit(name, item)
        elif isinstance(value, str) and value:
            if name == "connection_string":
                found.extend(_CONNECTION_STRING_SECRETS.findall(value))
            elif _SECRET_OPTIONS.search(name) and not name.endswith(("_name", "_id", "_filename", "_path", "hosts")):
                found.append(value)

    for name, value in arguments.items():
        if name == "auth" and isinstance(value, (list, tuple)) and len(value) == 2:
            visit("password", value[1])  # (user, password)
        else:
            visit(name, value)
    return [secret for secret in found if len(secret) >= 3]
