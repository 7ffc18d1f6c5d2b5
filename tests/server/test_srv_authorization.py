"""Roles on every route: the matrix of every route of the route table x every role, on the token's project
and on another one; what a token can see of other projects; traversal, size limits, secrets, OpenAPI.

The matrix is generated from ``ebonite_server.api.ROUTES``: a route added without an example request here
fails ``test_every_route_has_an_example``, so no route can escape the matrix.
"""

from __future__ import annotations

import http.client
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from ebonite_server.api import ROUTES, ApiRoute
from ebonite_server.client import HttpArtifactRepository, HttpMetadataRepository
from ebonite_server.protocol import role_rank
from ebonite_server.state import ServerState
from srv_processes import LOCAL_REGISTRY, ServerProcess, serve

from ebonite_core import Ebonite, Model
from ebonite_core.query import ModelQuery, ModelSummary
from ebonite_core.testing import ScaleModel

ROLES = ("none", "read", "write", "admin")
PROJECT, OTHER = "alpha", "beta"


@dataclass
class World:
    server: ServerProcess
    tokens: dict[str, str]  # role -> token on PROJECT ("none": no token; "root": '*' admin)
    state_path: Path
    direct: Ebonite  # the served store itself, to set up fixtures without going through the server

    def client(self, role: str) -> Ebonite:
        token = self.tokens.get(role)
        return Ebonite(HttpMetadataRepository(self.server.url, token), HttpArtifactRepository(self.server.url, token))

    def http(self, role: str) -> httpx.Client:
        token = self.tokens.get(role)
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return httpx.Client(base_url=f"{self.server.url}/api/v1", headers=headers, timeout=60)


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    root = tmp_path_factory.mktemp("authorization")
    config = root / "registry.toml"
    config.write_text(LOCAL_REGISTRY)
    state = ServerState(root / "registry.server.sqlite3")  # where `ebonite serve --config registry.toml` looks
    tokens = {role: state.create_token(PROJECT, role)[0] for role in ROLES[1:]}
    tokens["root"] = state.create_token("*", "admin")[0]
    state.close()
    server = serve(config, "--max-upload-size", "100000000")
    yield World(server, tokens, root / "registry.server.sqlite3", Ebonite.from_config(config))
    server.stop()


@dataclass
class Fixture:
    """One project's objects, made afresh with the root token: a task with a model, an alias and a tag."""

    project: Any
    task: Any
    model: Model


def build(world: World, name: str) -> Fixture:
    """Made in the store directly (the server meets keys it did not record, and finds their projects)."""
    ebnt = world.direct
    if ebnt.get_project(name) is not None:
        ebnt.delete_project(name, cascade=True)
    task = ebnt.get_or_create_task(name, "task")
    model = task.create_and_push_model(ScaleModel(), [1.0], "model", tags={"stage": "candidate"})
    ebnt.set_alias(task, "champion", model)
    return Fixture(ebnt.get_project(name), task, model)


@dataclass
class Call:
    path: dict[str, str]
    query: dict[str, str] | None = None
    json: Any = None
    content: bytes | None = None


def _upload(world: World, role: str) -> str:
    """A fresh key with one file, uploaded with ``role``'s token when it may (else the key stays absent)."""
    import uuid

    key = uuid.uuid4().hex
    with world.http(role) as client:
        client.put(f"/artifacts/{key}", params={"files": "model.pkl:3"}, content=b"abc")
    return key


def _model_body(world: World, role: str, target: Fixture) -> dict[str, Any]:
    import hashlib

    data = {**target.model.to_dict(), "id": None, "name": "pushed", "artifact_key": _upload(world, role)}
    data["artifacts"] = [{"name": "model.pkl", "size": 3, "sha256": hashlib.sha256(b"abc").hexdigest()}]
    return data


def _push(target: Fixture, name: str, manifest: list[dict[str, Any]], files: bytes, key: str = "") -> Call:
    """A push in one request of a model called ``name`` with ``manifest`` and the bytes ``files``."""
    import uuid

    data = {**target.model.to_dict(), "id": None, "name": name, "artifact_key": key or uuid.uuid4().hex}
    metadata = json.dumps({**data, "artifacts": manifest}).encode()
    return Call({"task_id": target.task.id}, {"metadata_size": str(len(metadata))}, content=metadata + files)


def _abc(name: str = "model.pkl") -> dict[str, Any]:
    import hashlib

    return {"name": name, "size": 3, "sha256": hashlib.sha256(b"abc").hexdigest()}


Example = Callable[[World, str, Fixture], Call | None]
EXAMPLES: dict[str, Example] = {
    "health": lambda w, r, f: Call({}),
    "openapi": lambda w, r, f: Call({}),
    "whoami": lambda w, r, f: Call({}),
    "list_projects": lambda w, r, f: Call({}),
    "create_project": lambda w, r, f: (
        w.direct.delete_project(f.project.name, cascade=True),
        Call({}, json={"name": f.project.name, "creation_date": f.project.to_dict()["creation_date"]}),
    )[1],
    "get_project": lambda w, r, f: Call({"project_id": f.project.id}),
    "delete_project": lambda w, r, f: (
        w.direct.delete_task(f.task, cascade=True),
        Call({"project_id": f.project.id}),
    )[1],
    "list_tasks": lambda w, r, f: Call({"project_id": f.project.id}),
    "create_task": lambda w, r, f: Call({"project_id": f.project.id}, json={"name": "new", "creation_date": None}),
    "get_task": lambda w, r, f: Call({"task_id": f.task.id}),
    "delete_task": lambda w, r, f: (
        w.direct.delete_model(f.model),
        Call({"task_id": f.task.id}),
    )[1],
    "list_models": lambda w, r, f: Call({"task_id": f.task.id}),
    "create_model": lambda w, r, f: Call({"task_id": f.task.id}, json=_model_body(w, r, f)),
    "push_model": lambda w, r, f: _push(f, "pushed", [_abc()], b"abc"),
    "list_aliases": lambda w, r, f: Call({"task_id": f.task.id}),
    "get_alias": lambda w, r, f: Call({"task_id": f.task.id, "alias": "champion"}),
    "set_alias": lambda w, r, f: Call({"task_id": f.task.id, "alias": "gold"}, json={"model_id": f.model.id}),
    "delete_alias": lambda w, r, f: Call({"task_id": f.task.id, "alias": "champion"}),
    "get_model": lambda w, r, f: Call({"model_id": f.model.id}),
    "delete_model": lambda w, r, f: Call({"model_id": f.model.id}),
    "set_model_tags": lambda w, r, f: Call({"model_id": f.model.id}, json={"tags": {"stage": "production"}}),
    "delete_model_tag": lambda w, r, f: Call({"model_id": f.model.id, "key": "stage"}),
    "search_models": lambda w, r, f: Call({}, json={"project_id": f.project.id}),
    "count_models": lambda w, r, f: Call({}, json={"project_id": f.project.id}),
    "summarize_models": lambda w, r, f: Call({}, json={"project_id": f.project.id}),
    "list_artifact_keys": lambda w, r, f: Call({}),
    # A new key belongs to no project yet: only the token's own role matters, so there is no other-project case.
    "upload_artifacts": lambda w, r, f: (
        None
        if f.project.name == OTHER
        else Call({"key": __import__("uuid").uuid4().hex}, {"files": "a.bin:2,b.bin:1"}, content=b"xyz")
    ),
    "download_artifact": lambda w, r, f: Call({"key": f.model.artifact_key, "name": "model.pkl"}),
    "delete_artifacts": lambda w, r, f: Call({"key": f.model.artifact_key}),
}


def expected_status(route: ApiRoute, role: str, target: str) -> int:
    if route.scope == "public":
        return 200
    if role == "none":
        return 401  # anonymous access is off unless configured
    if route.scope == "principal":
        return route.status
    if target == OTHER:
        return 404  # never 403: the other project is not even there for this token
    return route.status if role_rank(role) >= role_rank(route.role or "read") else 403


def test_every_route_has_an_example() -> None:
    assert {route.operation for route in ROUTES} == set(EXAMPLES)


CASES = [(route, role, target) for route in ROUTES for role in ROLES for target in (PROJECT, OTHER)]


def test_every_route_enforces_every_role(world: World) -> None:
    """Every route x every role x (own project, another project): the status code the role allows."""
    fixtures = {name: build(world, name) for name in (PROJECT, OTHER)}
    outcomes = []
    for route, role, target in CASES:
        call = EXAMPLES[route.operation](world, role, fixtures[target])
        if call is None:
            continue
        path = route.path.format(**call.path)
        with world.http(role) as client:
            response = client.request(route.method, path, params=call.query, json=call.json, content=call.content)
        expected = expected_status(route, role, target)
        outcomes.append((route.method, route.path, role, target, response.status_code, expected))
        if response.status_code >= 400:
            assert response.json()["error"]["message"], (route.operation, role, target)
        if route.method != "GET" and response.status_code < 400:
            fixtures[target] = build(world, target)  # the call changed something: start the next one afresh
        elif route.method != "GET":
            fixtures[target] = build(world, target) if route.operation in _PREPARING else fixtures[target]
    wrong = [outcome for outcome in outcomes if outcome[4] != outcome[5]]
    assert wrong == [], "(method, path, role, target, got, expected): " + json.dumps(wrong, indent=1)
    assert len(outcomes) == len(CASES) - len(ROLES)  # only the upload has no other-project case


# Examples that change the fixture before their request, even when the request itself is refused.
_PREPARING = {"create_project", "delete_project", "delete_task"}


def test_a_token_sees_nothing_of_another_project(world: World) -> None:
    other = build(world, OTHER)
    mine = build(world, PROJECT)
    reader = world.client("read")
    assert [project.name for project in reader.get_projects()] == [PROJECT]
    assert reader.get_project(OTHER) is None
    assert {model.name for model in reader.search_models()} == {"model"}
    assert all(model.task_id != other.task.id for model in reader.search_models())
    assert reader.count_models() == 1  # counted in the visible projects only
    summary = reader.meta_repo.summarize_models(ModelQuery.create())  # summed in the visible projects only
    assert summary == ModelSummary(1, sum(artifact.size for artifact in mine.model.artifacts), mine.model.creation_date)
    assert other.model.artifact_key not in reader.artifact_repo.keys()
    with world.http("admin") as client:
        hidden = client.get(f"/projects/{other.project.id}").json()
        missing = client.get("/projects/987654").json()
        create_hidden = client.post("/projects", json={"name": OTHER}).json()
        create_missing = client.post("/projects", json={"name": "gamma"}).json()
    assert hidden["error"]["message"].replace(other.project.id, "X") == missing["error"]["message"].replace(
        "987654", "X"
    )
    assert create_hidden["error"] == {
        **create_missing["error"],
        "message": create_missing["error"]["message"].replace("gamma", OTHER),
    }


def test_read_tokens_cannot_push_or_delete_and_only_admin_moves_aliases(world: World) -> None:
    from ebonite_server.protocol import AccessDeniedError

    fixture = build(world, PROJECT)
    reader, writer = world.client("read"), world.client("write")
    with pytest.raises(AccessDeniedError):
        reader.get_or_create_task(PROJECT, "task").create_and_push_model(ScaleModel(), [1.0], "nope")
    with pytest.raises(AccessDeniedError):
        reader.delete_model(reader.get_model("model", "task", PROJECT))
    with pytest.raises(AccessDeniedError):
        writer.set_alias(fixture.task, "champion", writer.get_model("model", "task", PROJECT))
    with pytest.raises(AccessDeniedError):
        writer.delete_project(PROJECT)  # (with cascade, a writer may empty it first: deleting models is a write)
    assert reader.get_model("model", "task", PROJECT).predict([2.0]) == [4.0]


def _raw_request(url: str, path: str, method: str = "GET", headers: dict[str, str] | None = None) -> int:
    """A request sent exactly as written (httpx would normalise the path and fix the Content-Length)."""
    parts = urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    try:
        connection.putrequest(method, path, skip_accept_encoding=True)
        for name, value in {"Authorization": "Bearer x", **(headers or {})}.items():
            connection.putheader(name, value)
        connection.endheaders()
        return connection.getresponse().status
    finally:
        connection.close()


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/tasks/%2e%2e/models",
        "/api/v1/tasks/%2E%2E/models",
        "/api/v1/projects/a%2fb",
        "/api/v1/projects/a%2Fb/tasks",
        "/api/v1/artifacts/%2e%2e%2f%2e%2e/etc",
        "/api/v1/projects/a%5cb",
        "/api/v1/projects/a%00b",
        "/api/v1/artifacts/../../etc/passwd",
    ],
)
def test_encoded_traversal_is_refused(world: World, path: str) -> None:
    assert _raw_request(world.server.url, path) == 400


def test_bodies_and_headers_are_bounded(world: World) -> None:
    with world.http("write") as client:
        too_large = client.put("/artifacts/abc123", params={"files": f"model.pkl:{10**12}"}, content=b"")
        assert too_large.status_code == 413
        huge_json = client.post("/search", content=b"[" + b"1," * (5 * 1024 * 1024) + b"1]")
        assert huge_json.status_code == 413
        too_many = client.get("/whoami", headers={f"x-h{index}": "v" for index in range(100)})
        assert too_many.status_code in (400, 431)
        too_big = client.get("/whoami", headers={"x-big": "v" * 40_000})
        assert too_big.status_code in (400, 431)
        assert client.get("/whoami").status_code == 200  # the server is still fine
    declared = {"Authorization": f"Bearer {world.tokens['write']}", "Content-Length": str(10**9)}
    assert _raw_request(world.server.url, "/api/v1/search", "POST", declared) == 413  # refused before reading


def test_no_secret_in_error_bodies_or_logs(world: World) -> None:
    wrong = world.tokens["write"][:-4] + "AAAA"
    with httpx.Client(base_url=f"{world.server.url}/api/v1", headers={"Authorization": f"Bearer {wrong}"}) as client:
        answer = client.get("/projects")
    assert answer.status_code == 401 and wrong not in answer.text and wrong.split("_", 2)[2] not in answer.text
    log = world.server.log_text()
    for token in world.tokens.values():
        assert token.split("_", 2)[2] not in log
    assert wrong.split("_", 2)[2] not in log
    stored = world.state_path.read_bytes()
    assert all(token.split("_", 2)[2].encode() not in stored for token in world.tokens.values())


def test_an_error_that_quotes_a_secret_of_the_server_answers_it_masked() -> None:
    """A secret the server was configured with (remembered when its config was read) never reaches an error
    body, whichever error quotes it (a driver's message, a backend that forgot to mask)."""
    from ebonite_server.app import error_response

    from ebonite_core.errors import RepositoryError
    from ebonite_core.masking import MASK, remember

    remember("s3cr3t-Hunter2")
    answer = json.loads(error_response(RepositoryError("cannot log in as ml:s3cr3t-Hunter2@db")).body)
    assert answer["error"] == {"type": "RepositoryError", "message": f"cannot log in as ml:{MASK}@db"}


def test_openapi_describes_every_route(world: World) -> None:
    from openapi_spec_validator import validate

    document = httpx.get(f"{world.server.url}/api/v1/openapi.json", timeout=30).json()
    validate(document)
    operations = {
        (method.upper(), path): operation
        for path, item in document["paths"].items()
        for method, operation in item.items()
    }
    assert set(operations) == {(route.method, f"/api/v1{route.path}") for route in ROUTES}
    for route in ROUTES:
        assert operations[(route.method, f"/api/v1{route.path}")]["x-ebonite-role"] == route.role


def test_malformed_requests_are_client_errors(world: World) -> None:
    task = build(world, PROJECT).task
    with world.http("write") as client:
        not_json = client.post(f"/tasks/{task.id}/models", content=b"{not json")
        malformed = client.post(
            f"/tasks/{task.id}/models", json={"name": "m", "serializer": "pickle", "creation_date": "yesterday"}
        )
        unknown_route = client.get("/nothing-here")
    assert (not_json.status_code, not_json.json()["error"]["type"]) == (400, "ValueError")
    assert (malformed.status_code, malformed.json()["error"]["type"]) == (400, "ValueError")
    assert unknown_route.status_code == 404 and "openapi" in unknown_route.json()["error"]["message"]


def test_a_model_is_stored_only_if_its_manifest_matches_the_upload(world: World) -> None:
    """The server compares every file's size and sha256 with the model's manifest before the model exists."""
    import hashlib

    from ebonite_core import ArtifactIntegrityError
    from ebonite_core.objects import ArtifactFile
    from ebonite_core.testing import make_model

    task = build(world, PROJECT).task
    writer = world.client("write")
    source = world.state_path.parent / "upload.bin"
    source.write_bytes(b"the model's bytes")
    right = ArtifactFile("model.pkl", source.stat().st_size, hashlib.sha256(source.read_bytes()).hexdigest())
    wrong_manifests = [
        [ArtifactFile(right.name, right.size, "0" * 64)],
        [ArtifactFile(right.name, right.size + 1, right.sha256)],
        [right, ArtifactFile("extra.bin", 0, hashlib.sha256(b"").hexdigest())],
    ]
    for index, manifest in enumerate(wrong_manifests):
        key = f"manifest{index}"
        writer.artifact_repo.push(key, {"model.pkl": source})
        with pytest.raises(ArtifactIntegrityError):
            writer.meta_repo.create_model(make_model(f"forged{index}", task.id, artifact_key=key, artifacts=manifest))
    assert [model.name for model in writer.get_models(task)] == ["model"]
    writer.meta_repo.create_model(make_model("honest", task.id, artifact_key="manifest0", artifacts=[right]))
    assert {model.name for model in writer.get_models(task)} == {"model", "honest"}


def test_a_push_in_one_request_is_checked_before_anything_is_stored(world: World) -> None:
    """A small model's metadata and files in one request: every file's size and sha256 must match the manifest
    (no file missing, none extra, none named twice), the metadata must be well formed, and the body bounded;
    whatever is refused leaves no key behind."""
    fixture = build(world, PROJECT)
    keys_before = set(world.direct.artifact_repo.keys())
    refused = {
        "wrong sha256": (_push(fixture, "m", [{**_abc(), "sha256": "0" * 64}], b"abc"), 422),
        "wrong size": (_push(fixture, "m", [{**_abc(), "size": 2}], b"abc"), 400),
        "a file more": (_push(fixture, "m", [_abc()], b"abcabc"), 400),
        "a file missing": (_push(fixture, "m", [_abc(), _abc("b.bin")], b"abc"), 400),
        "a file twice": (_push(fixture, "m", [_abc(), _abc()], b"abcabc"), 400),
        "an unsafe file name": (_push(fixture, "m", [_abc("../x")], b"abc"), 400),
        "an unsafe key": (_push(fixture, "m", [_abc()], b"abc", key="../keys"), 400),
        "a taken name": (_push(fixture, "model", [_abc()], b"abc"), 409),
        "a used key": (_push(fixture, "m", [_abc()], b"abc", key=str(fixture.model.artifact_key)), 409),
        "no metadata size": (Call({"task_id": fixture.task.id}, {}, content=b"{}abc"), 400),
        "metadata not JSON": (Call({"task_id": fixture.task.id}, {"metadata_size": "3"}, content=b"{x}abc"), 400),
    }
    with world.http("write") as client:
        for case, (call, status) in refused.items():
            answer = client.post(f"/tasks/{fixture.task.id}/pushes", params=call.query, content=call.content)
            assert (case, answer.status_code) == (case, status), answer.text
        declared = {"Authorization": f"Bearer {world.tokens['write']}", "Content-Length": str(10**9)}
        path = f"/api/v1/tasks/{fixture.task.id}/pushes?metadata_size=2"
        assert _raw_request(world.server.url, path, "POST", declared) == 413  # refused before reading
        assert set(world.direct.artifact_repo.keys()) == keys_before
        good = _push(fixture, "m", [_abc()], b"abc")
        assert (
            client.post(f"/tasks/{fixture.task.id}/pushes", params=good.query, content=good.content).status_code == 201
        )
    assert world.direct.get_model("m", fixture.task).artifacts[0].sha256 == _abc()["sha256"]
