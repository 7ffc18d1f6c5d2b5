"""Fixtures for the ebonite-server tests: real server processes on 127.0.0.1.

Modules here are named ``test_srv_*`` and helpers ``srv_*`` (pytest imports test directories without
``__init__.py`` by their base names, so names must not clash with other directories'). The S3 server
helpers of ``tests/s3`` are reused for the SQLite + S3 registry.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import s3_servers
from services import service_unavailable
from srv_processes import LaunchedServer, ServerUnavailable, launch_test_server


def _launch(kind: str, root: Path, s3_endpoint: str | None = None) -> LaunchedServer:
    try:
        process = launch_test_server(kind, root, s3_endpoint, env=s3_servers.child_environment())
    except ServerUnavailable as err:
        service_unavailable(f"the {kind} test server cannot be started: {err}")
        raise
    return LaunchedServer(process, (root / "token").read_text())


@pytest.fixture(scope="module")
def local_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LaunchedServer]:
    """A test server in front of a local store (reset per test by the fixtures that need it empty)."""
    server = _launch("local", tmp_path_factory.mktemp("server-local"))
    yield server
    server.process.stop()


@pytest.fixture(scope="module")
def moto(tmp_path_factory: pytest.TempPathFactory) -> Iterator[s3_servers.MotoServer]:
    server = s3_servers.MotoServer(tmp_path_factory.mktemp("server-moto"))
    try:
        server.start()
    except s3_servers.ServerUnavailable as err:
        service_unavailable(f"moto's S3 server cannot be started: {err}")
    yield server
    server.stop(grace=5)


@pytest.fixture(scope="module")
def sql_s3_server(tmp_path_factory: pytest.TempPathFactory, moto: s3_servers.MotoServer) -> Iterator[LaunchedServer]:
    """A test server in front of SQLite metadata and S3 artifacts on moto's server."""
    server = _launch("sql-s3", tmp_path_factory.mktemp("server-sql-s3"), moto.endpoint)
    yield server
    server.process.stop()
