"""The shipped contract suites hold for the `http` types, with a real server process in front of a local
store and in front of SQLite + S3 (moto's server). Each test starts on a fresh, empty store (the test
server's reset); the server process is started once per module."""

from __future__ import annotations

import functools
from collections.abc import Callable

import pytest
from ebonite_server.client import HttpArtifactRepository, HttpMetadataRepository
from srv_processes import LaunchedServer

from ebonite_core import Ebonite
from ebonite_core.testing import ArtifactRepositoryContract, ClientContract, MetadataRepositoryContract
from ebonite_core.testing.artifact import ForeignEntries
from ebonite_core.testing.fixtures import DamageRecord

BACKENDS = ["local_server", "sql_s3_server"]


@pytest.fixture(params=BACKENDS)
def server(request: pytest.FixtureRequest) -> LaunchedServer:
    """The server in front of each backend, reset to an empty store for this test."""
    server: LaunchedServer = request.getfixturevalue(request.param)
    server.reset()
    return server


class TestHttpMetadata(MetadataRepositoryContract):
    @pytest.fixture
    def metadata_repository_factory(self, server: LaunchedServer) -> Callable[[], HttpMetadataRepository]:
        return functools.partial(HttpMetadataRepository, server.url, server.token)

    @pytest.fixture
    def damage_model_record(self, server: LaunchedServer) -> DamageRecord:
        """The record is damaged in the store behind the server; the client reads it through the API."""
        return lambda repository, model: server.damage_model_record(str(model.id))


class TestHttpArtifacts(ArtifactRepositoryContract):
    @pytest.fixture
    def artifact_repository_factory(self, server: LaunchedServer) -> Callable[[], HttpArtifactRepository]:
        return functools.partial(HttpArtifactRepository, server.url, server.token)

    @pytest.fixture
    def foreign_entries(self, server: LaunchedServer) -> ForeignEntries:
        """A user's files in the store behind the server, where a key would be: the server never lists or
        deletes them either."""
        return server


class TestHttpClient(ClientContract):
    state_machine_examples = 8  # each step lists the whole registry through the server: fewer, equally long runs

    @pytest.fixture
    def ebnt(self, server: LaunchedServer) -> Ebonite:
        return Ebonite(
            HttpMetadataRepository(server.url, server.token), HttpArtifactRepository(server.url, server.token)
        )
