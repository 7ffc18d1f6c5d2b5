"""The shipped contract suites hold for the `http` types, with a real server process in front of a local
store and in front of SQLite + S3 (moto's server). Each test starts on a fresh, empty store (the test
server's reset); the server process is started once per module."""

from __future__ import annotations

import functools
import json
import os
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from ebonite_server.client import HttpArtifactRepository, HttpMetadataRepository
from srv_processes import LaunchedServer

from ebonite_core import Ebonite
from ebonite_core.errors import ExistingModelError
from ebonite_core.testing import ArtifactRepositoryContract, ClientContract, MetadataRepositoryContract, ScaleModel
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


@pytest.mark.parametrize("payload_mib", [0, 2], ids=["small", "large"])
def test_a_taken_model_name_is_refused_before_any_file_is_stored(
    local_server: LaunchedServer, payload_mib: int, tmp_path: Path
) -> None:
    """A small push has the server check the name in the push's own request (no request of its own for the
    check); a large one asks first, as the server refuses before reading a body. Either way a taken name is
    the core's ExistingModelError and nothing is stored; the server refuses such a push whoever sends it."""
    local_server.reset()
    url, token = local_server.url, local_server.token
    ebnt = Ebonite(HttpMetadataRepository(url, token), HttpArtifactRepository(url, token))
    assert ebnt.artifact_repo.records_models(ebnt.meta_repo)
    task = ebnt.get_or_create_task("project", "task")
    stored = task.create_and_push_model(ScaleModel(), [1.0], "taken")
    with pytest.raises(ExistingModelError, match="'taken' already exists in task 'task'"):
        task.create_and_push_model(ScaleModel(2.0, os.urandom(payload_mib * 1024 * 1024)), [1.0], "taken")
    assert len(ebnt.artifact_repo.keys()) == 1
    assert stored.artifact_key is not None and [artifact.name for artifact in stored.artifacts] == ["model.pkl"]
    ebnt.artifact_repo.download(stored.artifact_key, "model.pkl", tmp_path / "model.pkl")
    metadata = json.dumps({**stored.to_dict(), "id": None, "artifact_key": "a" * 32}).encode()
    answer = httpx.post(
        f"{url}/api/v1/tasks/{task.id}/pushes",
        params={"metadata_size": len(metadata)},
        content=metadata + (tmp_path / "model.pkl").read_bytes(),
        headers={"Authorization": f"Bearer {token}"},
    )
    assert (answer.status_code, answer.json()["error"]["type"]) == (409, "ExistingModelError")
    assert len(ebnt.artifact_repo.keys()) == 1


def test_a_small_push_is_one_request_and_a_large_one_two(local_server: LaunchedServer) -> None:
    """A small model's files and metadata travel together (the server stores the files, then the model once
    they match its manifest); a large model's files are uploaded first (after a name check), its metadata
    after."""
    local_server.reset()
    ebnt = Ebonite(
        HttpMetadataRepository(local_server.url, local_server.token),
        HttpArtifactRepository(local_server.url, local_server.token),
    )
    task = ebnt.get_or_create_task("project", "task")
    sent: list[tuple[str, str]] = []
    for repository in (ebnt.meta_repo, ebnt.artifact_repo):
        repository.connection.client.event_hooks["request"].append(
            lambda request: sent.append((request.method, request.url.path.removeprefix("/api/v1")))
        )
    small = task.create_and_push_model(ScaleModel(3.0), [1.0], "small")
    assert sent == [("POST", f"/tasks/{task.id}/pushes")]
    sent.clear()
    large = task.create_and_push_model(ScaleModel(4.0, os.urandom(2 * 1024 * 1024)), [1.0], "large")
    models = f"/tasks/{task.id}/models"
    assert sent == [("GET", models), ("PUT", f"/artifacts/{large.artifact_key}"), ("POST", models)]
    assert ebnt.get_model("small", task).predict([1.0]) == [3.0]
    assert ebnt.get_model("large", task).predict([1.0]) == [4.0]
    assert set(ebnt.artifact_repo.keys()) == {small.artifact_key, large.artifact_key}
