"""Fixtures for the fsspec tests: one server process per protocol for the session, a fresh store per test.

``<protocol>_store`` (``ftp_store``, ``sftp_store``, ``webdav_store``, ``azure_store``, ``memory_store``,
``file_store``) is a :class:`Store`: a URL and storage options for a new, empty place on that protocol, and
(for the servers that serve a local directory) that directory, so that tests can look at what the server
really holds. ``store`` runs a test once per protocol.
"""

from __future__ import annotations

import functools
import importlib.util
import os
import shutil
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

import fsspec
import pytest
from ebonite_fsspec.repository import MARKER, FsspecArtifactRepository
from fsspec_servers import (
    PASSWORD,
    USER,
    AzuriteServer,
    FTPServer,
    Server,
    ServerUnavailable,
    SFTPServer,
    WebDAVServer,
)

PROTOCOLS = ("file", "memory", "ftp", "sftp", "webdav", "azure")
AZURE_CONTAINER = "ebonite-tests"
A_WEEK_AGO = time.time() - 7 * 86400  # older than any grace period the tests use


def _shared_helpers() -> Any:
    # tests/conftest.py is imported by pytest as the top-level module "conftest", a name that every
    # conftest.py shares: load it under a name of its own to reach service_unavailable().
    spec = importlib.util.spec_from_file_location("ebonite_tests_conftest", Path(__file__).parents[1] / "conftest.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


service_unavailable = _shared_helpers().service_unavailable


@dataclass
class Store:
    """A fresh place to store artifacts on one protocol."""

    protocol: str
    url: str
    storage_options: dict[str, Any] = field(default_factory=dict)
    directory: Path | None = None  # where the server keeps this store's files, when it serves a local directory

    @property
    def factory(self) -> Callable[[], FsspecArtifactRepository]:
        """A picklable callable opening a new repository object on this store."""
        return functools.partial(FsspecArtifactRepository, self.url, self.storage_options)

    def repository(self) -> FsspecArtifactRepository:
        return self.factory()

    @property
    def artifact_kwargs(self) -> dict[str, Any]:
        return {"url": self.url, "storage_options": self.storage_options} if self.storage_options else {"url": self.url}

    def plant(self, path: str, data: bytes = b"not ebonite's") -> None:
        """Write a file into the store's place as someone else would: without ebonite, dated a week ago."""
        if self.directory is not None:
            target = self.directory / path
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
            for where in (target, *target.relative_to(self.directory).parents):
                os.utime(self.directory / where, (A_WEEK_AGO, A_WEEK_AGO))
        else:
            self._filesystem().pipe_file(f"{self.url.partition('://')[2]}/{path}", data)

    def planted(self, path: str) -> bool:
        """Whether the file at ``path`` (relative to the store's place) is there."""
        if self.directory is not None:
            return (self.directory / path).is_file()
        return bool(self._filesystem().isfile(f"{self.url.partition('://')[2]}/{path}"))

    def _filesystem(self) -> Any:
        if self.protocol == "memory":
            return fsspec.filesystem("memory")
        from adlfs import AzureBlobFileSystem

        return AzureBlobFileSystem(**self.storage_options, skip_instance_cache=True)


class ForeignEntries:
    """For the contract's ``foreign_entries``: a user's folder where a key would be, holding a file and, one
    level down, another registry's key with its own marker."""

    FILES = ("config.json", f"0123456789abcdef0123456789abcdef/{MARKER}", "0123456789abcdef0123456789abcdef/m.pkl")

    def __init__(self, store: Store) -> None:
        self.store = store

    def plant(self, name: str) -> None:
        for path in self.FILES:
            self.store.plant(f"{name}/{path}")

    def present(self, name: str) -> bool:
        return all(self.store.planted(f"{name}/{path}") for path in self.FILES)


def _started(server: Server) -> Server:
    try:
        server.start()
    except ServerUnavailable as err:
        service_unavailable(f"the {server.kind} server cannot be started: {err}")
    return server


@pytest.fixture(scope="session")
def ftp_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    server = FTPServer(tmp_path_factory.mktemp("ftp"))
    yield _started(server)
    server.stop()


@pytest.fixture(scope="session")
def sftp_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SFTPServer]:
    server = SFTPServer(tmp_path_factory.mktemp("sftp"))
    _started(server)
    yield server
    server.stop()


@pytest.fixture(scope="session")
def webdav_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    server = WebDAVServer(tmp_path_factory.mktemp("webdav"))
    yield _started(server)
    server.stop()


@pytest.fixture(scope="session")
def azurite_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AzuriteServer]:
    server = AzuriteServer(tmp_path_factory.mktemp("azurite"))
    _started(server)
    from adlfs import AzureBlobFileSystem

    AzureBlobFileSystem(connection_string=server.connection_string, skip_instance_cache=True).mkdir(AZURE_CONTAINER)
    yield server
    server.stop()


def _run_name() -> str:
    return f"run-{uuid.uuid4().hex[:12]}"


def _served(server: Server, make: Callable[[str], Store]) -> Iterator[Store]:
    name = _run_name()
    yield make(name)
    shutil.rmtree(server.root / name, ignore_errors=True)


@pytest.fixture
def ftp_store(ftp_server: Server) -> Iterator[Store]:
    """FTP, the password (which holds ':', '@' and '#') percent-encoded in the URL."""
    yield from _served(
        ftp_server,
        lambda name: Store(
            "ftp",
            f"ftp://{USER}:{quote(PASSWORD, safe='')}@127.0.0.1:{ftp_server.port}/{name}",
            directory=ftp_server.root / name,
        ),
    )


@pytest.fixture
def sftp_store(sftp_server: SFTPServer) -> Iterator[Store]:
    """SFTP, the password in the storage options, the server's host key checked against a known_hosts file."""
    yield from _served(
        sftp_server,
        lambda name: Store(
            "sftp",
            f"sftp://{USER}@127.0.0.1:{sftp_server.port}/{name}",
            {"password": PASSWORD, "known_hosts": sftp_server.known_hosts},
            sftp_server.root / name,
        ),
    )


@pytest.fixture
def webdav_store(webdav_server: Server) -> Iterator[Store]:
    yield from _served(
        webdav_server,
        lambda name: Store(
            "webdav",
            f"webdav+http://{USER}@127.0.0.1:{webdav_server.port}/{name}",
            {"password": PASSWORD},
            webdav_server.root / name,
        ),
    )


@pytest.fixture
def azure_store(azurite_server: AzuriteServer) -> Store:
    return Store(
        "azure",
        f"abfs://{AZURE_CONTAINER}/{_run_name()}",
        {"connection_string": azurite_server.connection_string},
    )


@pytest.fixture
def memory_store() -> Iterator[Store]:
    name = _run_name()
    yield Store("memory", f"memory://{name}")
    import fsspec

    memory = fsspec.filesystem("memory")
    if memory.exists(f"/{name}"):
        memory.rm(f"/{name}", recursive=True)


@pytest.fixture
def file_store(tmp_path: Path) -> Store:
    directory = tmp_path / "store"
    return Store("file", directory.as_uri(), directory=directory)


@pytest.fixture(params=PROTOCOLS)
def store(request: pytest.FixtureRequest) -> Store:
    """Each test that uses it runs once per protocol."""
    return request.getfixturevalue(f"{request.param}_store")
