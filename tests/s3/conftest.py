"""Fixtures for the S3 tests: moto's server and SeaweedFS as session-wide processes, a fresh location per test.

A test asks for ``s3_server`` to run against both servers, or for ``moto_server`` / ``seaweedfs_server``.
``location`` gives a fresh place to store: a new bucket on moto (reset after the test), a new prefix in one
bucket on SeaweedFS (a new bucket costs SeaweedFS a volume allocation). ``make_repository`` builds an
:class:`S3ArtifactRepository` there with small parts (5 MiB), so that multipart transfers run on small files.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from ebonite_s3.repository import S3ArtifactRepository
from s3_servers import (
    FOREIGN_VARIABLES,
    SEAWEEDFS_BUCKET,
    TEST_ENVIRONMENT,
    Location,
    MotoServer,
    S3Server,
    SeaweedFSServer,
    ServerUnavailable,
    new_bucket_name,
    repository_arguments,
)
from services import service_unavailable


@pytest.fixture(autouse=True)
def aws_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """boto3 sees the test credentials and nothing of the machine's ~/.aws or AWS_* variables."""
    for name in FOREIGN_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    for name, value in TEST_ENVIRONMENT.items():
        monkeypatch.setenv(name, value)


def _start(server: S3Server) -> S3Server:
    try:
        server.start()
    except ServerUnavailable as err:
        service_unavailable(f"{server.kind} cannot be started: {err}")
    return server


@pytest.fixture(scope="session")
def moto_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MotoServer]:
    server = MotoServer(tmp_path_factory.mktemp("moto"))
    _start(server)
    yield server
    server.stop(grace=5)  # throwaway data: no need to wait long for a clean shutdown


@pytest.fixture(scope="session")
def seaweedfs_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SeaweedFSServer]:
    server = SeaweedFSServer(tmp_path_factory.mktemp("seaweedfs"))
    _start(server)
    yield server
    server.stop(grace=5)


@pytest.fixture
def restartable_seaweedfs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SeaweedFSServer]:
    """A SeaweedFS instance for one test, which may stop and restart it (same ports, same data)."""
    server = SeaweedFSServer(tmp_path_factory.mktemp("seaweedfs-own"))
    _start(server)
    yield server
    server.stop()


@pytest.fixture(params=["moto", "seaweedfs"])
def s3_server(request: pytest.FixtureRequest) -> S3Server:
    """Each test that uses it runs once against moto's server and once against SeaweedFS."""
    return request.getfixturevalue(f"{request.param}_server")


@pytest.fixture
def location(s3_server: S3Server) -> Iterator[Location]:
    """A fresh, empty place to store: a new bucket (moto) or a new prefix (SeaweedFS)."""
    client = s3_server.client()
    if isinstance(s3_server, MotoServer):
        bucket = new_bucket_name()
        client.create_bucket(Bucket=bucket)
        yield Location(s3_server, bucket, "")
        s3_server.reset()
    else:
        try:
            client.create_bucket(Bucket=SEAWEEDFS_BUCKET)
        except client.exceptions.ClientError as err:
            if err.response["Error"]["Code"] not in ("BucketAlreadyOwnedByYou", "BucketAlreadyExists"):
                raise
        yield Location(s3_server, SEAWEEDFS_BUCKET, f"run-{uuid.uuid4().hex[:12]}/")


@pytest.fixture
def make_repository(location: Location) -> Iterator[Callable[..., S3ArtifactRepository]]:
    """Build repositories on ``location`` (keyword arguments override the defaults); closed after the test."""
    made: list[S3ArtifactRepository] = []

    def make(**overrides: Any) -> S3ArtifactRepository:
        repository = S3ArtifactRepository(**{**repository_arguments(location), **overrides})
        made.append(repository)
        return repository

    yield make
    for repository in made:
        repository.close()


@pytest.fixture
def repository(make_repository: Callable[..., S3ArtifactRepository]) -> S3ArtifactRepository:
    return make_repository()
