"""Fixtures of the reliability suite: real servers (SeaweedFS, PostgreSQL, MariaDB), small tmpfs mounts, and
the recorder behind ``docs/reliability.md``.

Helper modules here are named ``rel_*`` and test modules ``test_rel_*``: pytest imports test directories
without ``__init__.py`` by base name, so names must not clash with other directories'. A server that
cannot be started skips its tests, or fails them under ``EBONITE_REQUIRE_SERVICES=1``.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Generator, Iterator
from pathlib import Path

import pytest
from rel_report import RECORDER, REPORT_VARIABLE, FaultRecord
from rel_services import (
    RestartableMariaDB,
    RestartablePostgres,
    s3_servers,
    service_unavailable,
    sql_servers,
    start_restartable,
)
from services import mount, unmount

BUCKET = "reliability"


# The report: outcomes come from pytest, the rest from the tests (see rel_report).
@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Generator[None, object, object]:
    report = yield
    if report.when == "call" or report.outcome != "passed":  # type: ignore[attr-defined]
        outcome = report.outcome if report.when == "call" else f"error in {report.when}"  # type: ignore[attr-defined]
        if report.outcome == "skipped":  # type: ignore[attr-defined]
            outcome = "skipped"
        RECORDER.set_outcome(item.nodeid, outcome)
    return report


def pytest_configure(config: pytest.Config) -> None:
    if os.environ.get(REPORT_VARIABLE) and config.getoption("numprocesses", None):
        raise pytest.UsageError(f"{REPORT_VARIABLE} needs every test in one process: add -n 0 (no xdist workers)")


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    target = os.environ.get(REPORT_VARIABLE)
    if not target or not RECORDER.outcomes:
        return
    counts: dict[str, int] = {}
    for outcome in RECORDER.outcomes.values():
        counts[outcome] = counts.get(outcome, 0) + 1
    summary = f"{len(RECORDER.outcomes)} tests: " + ", ".join(f"{n} {what}" for what, n in sorted(counts.items()))
    path = Path(target)
    RECORDER.write(path if path.is_absolute() else Path(session.config.rootpath) / path, summary)


@pytest.fixture
def fault(request: pytest.FixtureRequest) -> Callable[[str, str, str], FaultRecord]:
    """``fault(family, description, backend)`` declares what this test injects; count runs on the result."""

    def declare(family: str, description: str, backend: str) -> FaultRecord:
        return RECORDER.add(FaultRecord(family, description, backend, request.node.nodeid))

    return declare


# S3
@pytest.fixture(autouse=True)
def aws_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """boto3 (in this process and in forked children) sees the test credentials and nothing of ~/.aws."""
    for name in s3_servers.FOREIGN_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    for name, value in s3_servers.TEST_ENVIRONMENT.items():
        monkeypatch.setenv(name, value)


def _start_s3(server: s3_servers.S3Server) -> None:
    try:
        server.start()
    except s3_servers.ServerUnavailable as err:
        service_unavailable(f"{server.kind} cannot be started: {err}")


def _create_bucket(server: s3_servers.S3Server, bucket: str) -> None:
    client = server.client()
    try:
        client.create_bucket(Bucket=bucket)
    except client.exceptions.ClientError as err:
        if err.response["Error"]["Code"] not in ("BucketAlreadyOwnedByYou", "BucketAlreadyExists"):
            raise


@pytest.fixture(scope="session")
def seaweedfs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[s3_servers.SeaweedFSServer]:
    """SeaweedFS for the whole session (a real S3 server that checks signatures and checksums)."""
    server = s3_servers.SeaweedFSServer(tmp_path_factory.mktemp("rel-seaweedfs"))
    _start_s3(server)
    _create_bucket(server, BUCKET)
    yield server
    server.stop(grace=5)


@pytest.fixture
def s3_prefix(seaweedfs: s3_servers.SeaweedFSServer) -> str:
    """A fresh prefix in the session's bucket."""
    return f"rel-{uuid.uuid4().hex[:12]}"


@pytest.fixture
def restartable_seaweedfs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[s3_servers.SeaweedFSServer]:
    """A SeaweedFS of this test's own, which it may stop and start again (same ports, same data)."""
    server = s3_servers.SeaweedFSServer(tmp_path_factory.mktemp("rel-seaweedfs-own"))
    _start_s3(server)
    _create_bucket(server, BUCKET)
    yield server
    server.stop(grace=5)


# SQL servers
def _sql_server(kind: str) -> Iterator[sql_servers.Server]:
    try:
        server = sql_servers.start_server(kind)
    except sql_servers.ServerUnavailable as err:
        service_unavailable(f"{kind} server unavailable: {err}")
        raise  # not reached
    yield server
    server.stop()


@pytest.fixture(scope="session")
def postgresql() -> Iterator[sql_servers.Server]:
    yield from _sql_server("postgresql")


@pytest.fixture(scope="session")
def mariadb() -> Iterator[sql_servers.Server]:
    yield from _sql_server("mariadb")


@pytest.fixture
def new_database(request: pytest.FixtureRequest) -> Iterator[Callable[[str], str]]:
    """``new_database("postgresql" | "mariadb")``: the URL of a new, empty database on the session's server."""
    created: list[tuple[sql_servers.Server, str]] = []

    def make(kind: str) -> str:
        server: sql_servers.Server = request.getfixturevalue(kind)
        url = server.create_database("rel")
        created.append((server, url))
        return url

    yield make
    for server, url in created:
        server.drop_database(url)


@pytest.fixture
def restartable_database() -> Iterator[Callable[[str], RestartablePostgres | RestartableMariaDB]]:
    """``restartable_database(kind)``: a server of this test's own, which it may stop and start again."""
    started: list[RestartablePostgres | RestartableMariaDB] = []

    def make(kind: str) -> RestartablePostgres | RestartableMariaDB:
        try:
            server = start_restartable(kind)
        except sql_servers.ServerUnavailable as err:
            service_unavailable(f"{kind} server unavailable: {err}")
            raise  # not reached
        started.append(server)
        return server

    yield make
    for server in started:
        server.stop()


# A small file system that fills up
@pytest.fixture
def tmpfs(tmp_path: Path) -> Iterator[Callable[[int], Path]]:
    """``tmpfs(size)``: a new tmpfs of ``size`` bytes mounted under ``tmp_path`` (unmounted after the test).

    Mounting needs root (the tests run as root); where it is impossible the test is skipped, or fails
    under ``EBONITE_REQUIRE_SERVICES=1``.
    """
    mounted: list[Path] = []

    def mount_tmpfs(size: int) -> Path:
        target = tmp_path / f"tmpfs-{len(mounted)}"
        target.mkdir()
        mount("tmpfs", target, "-t", "tmpfs", "-o", f"size={size},mode=0755")
        mounted.append(target)
        return target

    yield mount_tmpfs
    for target in reversed(mounted):
        unmount(target)
