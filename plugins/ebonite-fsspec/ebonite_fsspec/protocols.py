"""The protocols the ``fsspec`` repository speaks: a table from URL scheme to file system, the package and
extra that provide it, how a URL becomes the file system's arguments, and what the protocol can do.

Like fsspec's own ``known_implementations``, the table names each file system class by its import path and
imports only the one asked for, when a repository is built. Unlike it, the class is fixed per protocol
(``sftp`` is always sshfs, whatever else registered the scheme), so that a store behaves the same
wherever it is opened.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import re
from collections.abc import Mapping
from contextlib import suppress
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote, urlsplit

from .errors import ProtocolNotInstalledError, UnsupportedURLError

DISTRIBUTION = "ebonite-fsspec"


@dataclass(frozen=True)
class Protocol:
    """One protocol: its URL schemes, its fsspec file system, and how a push is made invisible until done.

    ``renames``: the protocol renames a directory in one step and refuses to rename onto a non-empty one,
    so a push uploads into a private directory and renames it into place; otherwise (object stores) files
    go straight to their final names under the fresh key, and the metadata written after them is what makes
    a model visible.
    """

    name: str
    schemes: tuple[str, ...]
    filesystem: str  # "module:Class"
    extra: str | None  # the extra of ebonite-fsspec that installs the package; None: fsspec has it built in
    renames: bool
    caches_listings: bool = False  # the file system caches listings unless told not to (use_listings_cache)
    # What the URL's path must name, when an empty one would make the store the whole file system, bucket
    # or account (FTP, SFTP and WebDAV start in the user's home or the server's base URL instead).
    place: str | None = None
    example: str = ""

    @property
    def needs_path(self) -> bool:
        return self.place is not None

    @property
    def install_hint(self) -> str:
        return f"pip install '{DISTRIBUTION}[{self.extra}]'" if self.extra else f"pip install {DISTRIBUTION}"

    def filesystem_class(self) -> type[Any]:
        module_name, _, class_name = self.filesystem.partition(":")
        package = module_name.partition(".")[0]
        if importlib.util.find_spec(package) is None:
            raise ProtocolNotInstalledError(
                f"The {self.name} protocol needs the {package} package, which is not installed: {self.install_hint}."
            )
        try:
            module = importlib.import_module(module_name)
        except ImportError as err:
            raise ProtocolNotInstalledError(
                f"The {self.name} protocol cannot import {module_name} ({err}); reinstall it: {self.install_hint}."
            ) from err
        return getattr(module, class_name)  # type: ignore[no-any-return]

    def arguments(self, url: str, storage_options: Mapping[str, Any]) -> tuple[dict[str, Any], str]:
        """The file system's keyword arguments and the store's root path for ``url``.

        What the URL says (host, port, user, password) comes first; ``storage_options`` override it.
        """
        cls = self.filesystem_class()
        from_url = {name: value for name, value in cls._get_kwargs_from_urls(url).items() if value is not None}
        for name in ("username", "password"):
            if isinstance(from_url.get(name), str):
                from_url[name] = unquote(from_url[name])  # so that "p%40ss" in a URL means "p@ss"
        root = cls._strip_protocol(url).rstrip("/")
        return {**from_url, **storage_options}, root

    def savable_options(self, storage_options: Mapping[str, Any]) -> dict[str, Any]:
        """``storage_options`` as a config file should hold them: the same store, secrets under names that
        ``save_config`` masks."""
        return dict(storage_options)

    def connect(self, arguments: Mapping[str, Any]) -> Any:
        """A new file system object of its own (fsspec would share one between equal repositories, an FTP
        session included) that never answers from a stale listing: other processes write to the same store."""
        fresh = {"use_listings_cache": False} if self.caches_listings else {}
        return self.filesystem_class()(**arguments, **fresh, skip_instance_cache=True)

    def disconnect(self, fs: Any) -> None:
        """Close the connection of ``fs`` now; the default leaves it to the file system's finalizer."""

    def rename(self, fs: Any, source: str, target: str) -> None:
        """Rename the directory ``source`` to ``target``, failing if ``target`` holds anything."""
        fs.mv(source, target)

    def remove_directory(self, fs: Any, path: str) -> None:
        """Remove the empty directory ``path``."""
        fs.rmdir(path)

    def upload(self, fs: Any, local: str, remote: str) -> None:
        """Stream the local file to ``remote``."""
        fs.put_file(local, remote)

    def create(self, fs: Any, local: str, remote: str) -> None:
        """Upload a small file to ``remote``, refused with ``FileExistsError`` if something is there, where the
        protocol can make the write conditional (object stores); the caller checks first in any case."""
        self.upload(fs, local, remote)

    def download(self, fs: Any, remote: str, local: str) -> None:
        fs.get_file(remote, local)


class _Local(Protocol):
    def rename(self, fs: Any, source: str, target: str) -> None:
        # LocalFileSystem.mv is shutil.move, which moves *into* a directory that exists: rename refuses.
        os.rename(source, target)


class _FTP(Protocol):
    BLOCK = 1024 * 1024

    def disconnect(self, fs: Any) -> None:
        fs.ftp.close()

    def upload(self, fs: Any, local: str, remote: str) -> None:
        # fsspec's FTP put_file sends every 64 KiB block as a STOR with a restart offset, one data
        # connection each: one STOR streams the whole file instead.
        with open(local, "rb") as file:
            try:
                fs.ftp.storbinary(f"STOR {remote}", file, blocksize=self.BLOCK)
            except BaseException:
                # A failure while reading the local file closes the data connection with the server's reply
                # still unread: read it, or the next command on this control connection gets it instead.
                with suppress(Exception):
                    fs.ftp.voidresp()
                raise


class _SFTP(Protocol):
    def arguments(self, url: str, storage_options: Mapping[str, Any]) -> tuple[dict[str, Any], str]:
        kwargs, root = super().arguments(url, storage_options)
        # sshfs turns host key checking off by default (known_hosts=None); asyncssh's own default, (),
        # checks the server against ~/.ssh/known_hosts. None must be asked for explicitly.
        kwargs.setdefault("known_hosts", ())
        return kwargs, root

    def remove_directory(self, fs: Any, path: str) -> None:
        from fsspec.asyn import sync

        sync(fs.loop, fs._rmdir, path)  # sshfs has no synchronous rmdir: fsspec's default does nothing


class _WebDAV(Protocol):
    CHUNK = 1024 * 1024

    def arguments(self, url: str, storage_options: Mapping[str, Any]) -> tuple[dict[str, Any], str]:
        self.filesystem_class()  # the package check
        parts = urlsplit(url)
        scheme = parts.scheme.partition("+")[2]
        if not parts.hostname:
            raise UnsupportedURLError(f"The WebDAV URL {mask_url(url)!r} names no host: {scheme}://HOST/PATH.")
        host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
        base_url = f"{scheme}://{host}" + (f":{parts.port}" if parts.port else "")
        options = dict(storage_options)
        username = options.pop("username", unquote(parts.username) if parts.username else None)
        password = options.pop("password", unquote(parts.password) if parts.password is not None else None)
        kwargs: dict[str, Any] = {"base_url": base_url, **options}
        if isinstance(kwargs.get("auth"), list):  # (user, password) read back from a config file
            kwargs["auth"] = tuple(kwargs["auth"])
        if username is not None and "auth" not in kwargs:
            kwargs["auth"] = (username, password or "")
        return kwargs, parts.path.strip("/")

    def savable_options(self, storage_options: Mapping[str, Any]) -> dict[str, Any]:
        options = dict(storage_options)
        auth = options.get("auth")
        if isinstance(auth, (list, tuple)) and len(auth) == 2 and all(isinstance(part, str) for part in auth):
            del options["auth"]  # a (user, password) pair would be written in clear: name its parts instead
            options["username"], options["password"] = auth
        return options

    def upload(self, fs: Any, local: str, remote: str) -> None:
        # The PUT announces the file's size (fstat) before its first byte is read. A file that cannot be read
        # (a device, a file on a failing disk) would fail only after the request is sent, and the server would
        # store what it announced (nothing, for a size of 0) while the failed push is already cleaning up: read
        # a byte first, so that such a push fails before the server starts writing anything.
        with open(local, "rb") as file:
            file.read(1)
            file.seek(0)
            fs.client.upload_fileobj(file, remote, overwrite=True)

    def rename(self, fs: Any, source: str, target: str) -> None:
        fs.client.move(source, target, overwrite=False)  # MOVE with "Overwrite: F": 412 if target exists

    def download(self, fs: Any, remote: str, local: str) -> None:
        # fsspec's get_file reads through a buffered file with a read-ahead cache (27 MiB held for a 40 MiB
        # file); the client streams the response body in chunks straight into the file.
        with open(local, "wb") as file:
            fs.client.download_fileobj(remote, file, chunk_size=self.CHUNK)


class _ObjectStore(Protocol):
    def create(self, fs: Any, local: str, remote: str) -> None:
        fs.put_file(local, remote, mode="create")  # a conditional write (If-None-Match: *)


class _Azure(_ObjectStore):
    CONCURRENCY = 8

    def arguments(self, url: str, storage_options: Mapping[str, Any]) -> tuple[dict[str, Any], str]:
        kwargs, root = super().arguments(url, storage_options)
        # adlfs defaults to fsspec's batch size (over a hundred) blocks in flight, each a 4 MiB buffer: a
        # 256 MiB upload held the whole file in memory (benchmarks/fsspec_transfer.py). Eight keep it bounded.
        kwargs.setdefault("max_concurrency", self.CONCURRENCY)
        return kwargs, root


PROTOCOLS: tuple[Protocol, ...] = (
    _Local("file", ("file",), "fsspec.implementations.local:LocalFileSystem", extra=None, renames=True,
           place="directory", example="file:///srv/models"),
    Protocol("memory", ("memory",), "fsspec.implementations.memory:MemoryFileSystem", extra=None, renames=False,
             place="directory", example="memory://models"),
    _FTP("ftp", ("ftp",), "fsspec.implementations.ftp:FTPFileSystem", extra="ftp", renames=True,
         caches_listings=True),
    _SFTP("sftp", ("sftp", "ssh"), "sshfs:SSHFileSystem", extra="sftp", renames=True),
    _WebDAV("webdav", ("webdav+https", "webdav+http"), "webdav4.fsspec:WebdavFileSystem", extra="webdav",
            renames=True),
    _Azure("azure", ("abfs", "abfss", "az"), "adlfs:AzureBlobFileSystem", extra="azure", renames=False,
           caches_listings=True, place="container", example="abfs://container/models"),
    _ObjectStore("gcs", ("gs", "gcs"), "gcsfs:GCSFileSystem", extra="gcs", renames=False,
                 caches_listings=True, place="bucket", example="gs://bucket/models"),
)  # fmt: skip
_BY_SCHEME = {scheme: protocol for protocol in PROTOCOLS for scheme in protocol.schemes}
# Schemes people write for which another spelling or another backend is the answer.
_ADVICE = {
    "webdav": "write webdav+https://HOST/PATH (or webdav+http:// for plain HTTP)",
    "webdavs": "write webdav+https://HOST/PATH",
    "dav": "write webdav+https://HOST/PATH (or webdav+http:// for plain HTTP)",
    "davs": "write webdav+https://HOST/PATH",
    "s3": "use the s3 artifact type instead (pip install ebonite-s3)",
    "s3a": "use the s3 artifact type instead (pip install ebonite-s3)",
    "": "write a URL with a scheme, such as sftp://user@host/path or file:///absolute/path",
}


def find_protocol(url: object) -> Protocol:
    """The protocol of ``url``; :class:`UnsupportedURLError` naming the supported schemes otherwise."""
    if not isinstance(url, str) or not url.strip():
        raise UnsupportedURLError(f"url must be a non-empty string such as 'sftp://user@host/models', not {url!r}.")
    scheme = url.partition("://")[0].lower() if "://" in url else ""
    protocol = _BY_SCHEME.get(scheme)
    if protocol is None:
        advice = _ADVICE.get(scheme, "")
        supported = ", ".join(f"{scheme}://" for scheme in _BY_SCHEME)
        raise UnsupportedURLError(
            f"The fsspec artifact repository does not support the URL {mask_url(url)!r}"
            + (f": {advice}." if advice else ".")
            + f" Supported: {supported}."
        )
    return protocol


def mask_url(url: str) -> str:
    """``url`` with its password replaced by ``***``, its authority read as fsspec reads it (``urllib.parse``).

    A password holding ``/``, ``?`` or ``#`` unencoded cuts the authority short; the URL is then masked from
    the first ``:`` up to the last ``@``, so that nothing that could be part of the password is shown.
    """
    scheme, separator, rest = url.partition("://")
    if not separator:
        return url
    authority = re.split(r"[/?#]", rest, maxsplit=1)[0]
    if "@" in authority:
        user_info, _, host = authority.rpartition("@")
        if ":" not in user_info:
            return url
        return f"{scheme}://{user_info.partition(':')[0]}:***@{host}{rest[len(authority) :]}"
    host, colon, port = authority.partition(":")
    if colon and not port.isdigit() and "@" in rest:
        return f"{scheme}://{host}:***@{rest.rpartition('@')[2]}"
    return url
