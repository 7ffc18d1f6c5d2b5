"""Fixtures for the fsspec tests: one server process per protocol for the session, a fresh store per test.

``<protocol>_store`` (``ftp_store``, ``sftp_store``, ``webdav_store``, ``azure_store``, ``memory_store``,
``file_store``) is a :class:`Store`: a URL and storage options for a new, empty place on that protocol, and
(for the servers that serve a local directory) that directory, so that tests can look at what the server
really holds. ``store`` runs a test once per protocol.
"""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import quote

import fsspec
import pytest
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
from fsspec_stores import AZURE_CONTAINER, Store
from services import service_unavailable

PROTOCOLS = ("file", "memory", "ftp", "sftp", "webdav", "azure")


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
