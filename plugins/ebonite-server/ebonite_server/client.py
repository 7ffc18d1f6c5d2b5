"""The ``http`` metadata and artifact repositories: a registry served by ``ebonite serve``.

Configure both with the server's URL and a token::

    [metadata]
    type = "http"
    url = "https://models.example.com"
    token = "${EBONITE_TOKEN}"

    [artifact]
    type = "http"
    url = "https://models.example.com"
    token = "${EBONITE_TOKEN}"

Use the same token in both sections: the server lets a model reference only files uploaded with the token
that creates it. Errors the server raises arrive as the same ebonite error classes; files stream both ways
in chunks of 1 MiB.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO, ClassVar
from urllib.parse import quote

import httpx

from ebonite_core import ArtifactRepository, MetadataRepository, Model, Project, Task
from ebonite_core.errors import (
    ConfigError,
    ExistingModelError,
    MetadataCorruptError,
    NonExistingError,
    NonExistingModelError,
    NonExistingProjectError,
    NonExistingTaskError,
    RepositoryError,
)
from ebonite_core.interfaces.metadata import IDENTITY
from ebonite_core.objects import parse_timestamp
from ebonite_core.query import ModelSummary
from ebonite_core.repository import check_artifact_key, check_artifact_name

from .blocks import BlockDownloads, broken_download
from .protocol import API_PREFIX, encode_files, error_from_wire

if TYPE_CHECKING:
    from ebonite_core.query import ModelPage, ModelQuery

CHUNK = 1024 * 1024


def _segment(value: str) -> str:
    return quote(value, safe="")


_NOT_FOUND: dict[str, type[NonExistingError]] = {
    "project": NonExistingProjectError,
    "task": NonExistingTaskError,
    "model": NonExistingModelError,
}


def _id(value: object, kind: str) -> str:
    """The id of a ``kind`` as a path segment. An id that no path can carry (empty, a dot segment, a separator
    or NUL: the server refuses such paths before routing) was never handed out by a server, so it names no
    ``kind``: ``NonExisting{Kind}Error``, which getters turn into ``None``, as for any unknown id."""
    text = str(value)
    if text in ("", ".", "..") or any(char in text for char in "/\\\x00"):
        raise _NOT_FOUND[kind](f"There is no {kind} with the id {text[:80]!r}.")
    return _segment(text)


def _identity(item: Project | Task | Model) -> dict[str, str]:
    """What identifies ``item`` beyond its id (name, parent, artifact key; ``""`` for none), sent with every
    change: the server applies the change only if its object under that id is this one, so an object of
    another registry or a stale copy never changes whatever holds its id there."""
    return {name: "" if (value := getattr(item, name)) is None else str(value) for name in IDENTITY[type(item)]}


def _transport() -> httpx.HTTPTransport | None:
    """A transport whose connections send small writes at once (TCP_NODELAY): an upload writes its headers
    and then its body, and Nagle's algorithm would hold the body until the server acknowledges the headers
    (40 ms with delayed ACKs). Where the environment names a proxy, httpx's default transport (which honours
    it) is kept."""
    import socket
    import urllib.request

    if urllib.request.getproxies():
        return None
    return httpx.HTTPTransport(socket_options=[(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)])


def _unreadable(url: str, status: int, what: str) -> RepositoryError:
    return RepositoryError(
        f"The client cannot read the answer of the ebonite server at {url}: {status} with {what}. Is the URL the "
        "server's, and is this client's ebonite-server as recent as the server's?"
    )


class HttpConnection:
    """One HTTP client for one server and token; raises the server's errors as ebonite errors."""

    def __init__(self, url: str, token: str | None, timeout: float) -> None:
        parsed = httpx.URL(url)
        if parsed.scheme not in ("http", "https") or not parsed.host:
            raise ConfigError(f"The ebonite server URL must start with http:// or https://, not {url[:80]!r}.")
        if parsed.userinfo:
            raise ConfigError("Put the token in the 'token' option, not in the server URL.")
        if token is not None and (not isinstance(token, str) or not token.isprintable() or " " in token):
            raise ConfigError("The 'token' option must be the token ebonite token create printed.")
        self.url = str(parsed).rstrip("/")
        headers = {"User-Agent": "ebonite-server-client"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        transport = _transport()
        self.client = httpx.Client(
            base_url=self.url + API_PREFIX,
            headers=headers,
            timeout=httpx.Timeout(timeout, connect=10.0),
            transport=transport,
        )
        # Files are downloaded in large blocks (see blocks.py), except through a proxy, which httpx honours.
        self.blocks = BlockDownloads(self.url + API_PREFIX, headers, timeout) if transport is not None else None

    def request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        try:
            response = self.client.request(method, path, **kwargs)
        except httpx.TransportError as err:
            raise RepositoryError(f"Cannot reach the ebonite server at {self.url}: {err}") from err
        self.raise_for_error(response)
        return response

    def raise_for_error(self, response: httpx.Response) -> None:
        if response.status_code < 400:
            return
        try:
            body = response.json()
        except ValueError:
            body = None
        raise error_from_wire(response.status_code, body)

    def json(self, method: str, path: str, **kwargs: Any) -> Any:
        response = self.request(method, path, **kwargs)
        if response.status_code == 204:
            return None
        try:
            return response.json()
        except ValueError as err:  # a RepositoryError, never a ValueError: that would read as a refusal
            raise _unreadable(self.url, response.status_code, f"a body that is not JSON ({err})") from err

    def stored_model(self, answer: Any) -> Model:
        """The model a write answered with (its creation, or a push that recorded it). An answer that is not a
        model may still come after the model was stored: it is a RepositoryError, after which the core asks
        the store before it removes any file, never a MetadataCorruptError, which reads as a refusal."""
        try:
            return Model.from_dict(answer)
        except MetadataCorruptError as err:
            raise _unreadable(self.url, 201, f"something other than the model ({err})") from err

    def download(self, path: str, file: BinaryIO, what: str) -> None:
        """Write the body of ``GET path`` into ``file`` as it arrives (``what``: for errors)."""
        if self.blocks is not None:
            self.blocks.get_into(path, file, what)
            return
        try:
            with self.client.stream("GET", path) as response:
                if response.status_code >= 400:
                    response.read()
                    self.raise_for_error(response)
                for chunk in response.iter_raw():  # as received: no re-chunking copy
                    file.write(chunk)
        except httpx.TransportError as err:
            raise broken_download(what, err) from err

    def close(self) -> None:
        self.client.close()
        if self.blocks is not None:
            self.blocks.close()


class _HttpRepository:
    default_timeout: ClassVar[float]

    def __init__(self, url: str, token: str | None = None, timeout: float | None = None) -> None:
        self.timeout = timeout
        self.token = token
        self.connection = HttpConnection(url, token, timeout if timeout is not None else self.default_timeout)
        self.url = self.connection.url

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.url!r})"

    def config(self) -> dict[str, Any]:
        options: dict[str, Any] = {"url": self.url}
        if self.token:
            options["token"] = self.token  # save_config writes it as a ${...} reference
        if self.timeout is not None:
            options["timeout"] = self.timeout
        return options

    def close(self) -> None:
        self.connection.close()


class HttpMetadataRepository(_HttpRepository, MetadataRepository):
    """Projects, tasks and models' metadata kept by an ebonite server (``ebonite serve``)."""

    type = "http"
    default_timeout = 60.0

    def _one(
        self, kind: type[Project] | type[Task] | type[Model], collection: str, object_id: object, *rest: str
    ) -> Any:
        """``GET /{collection}/{object_id}/{rest...}`` as a ``kind``, or ``None`` where nothing is found."""
        try:
            segments = [collection, _id(object_id, collection.removesuffix("s")), *map(_segment, rest)]
            return kind.from_dict(self.connection.json("GET", "/" + "/".join(segments)))
        except NonExistingError:
            return None

    def _first(self, path: str, field: str, kind: Any, name: str) -> Any:
        items = self.connection.json("GET", path, params={"name": name})[field]
        return kind.from_dict(items[0]) if items else None

    # Projects
    def get_projects(self) -> list[Project]:
        return [Project.from_dict(item) for item in self.connection.json("GET", "/projects")["projects"]]

    def get_project_by_name(self, name: str) -> Project | None:
        return self._first("/projects", "projects", Project, name)

    def get_project_by_id(self, project_id: str) -> Project | None:
        return self._one(Project, "projects", project_id)

    def create_project(self, project: Project) -> Project:
        return Project.from_dict(self.connection.json("POST", "/projects", json=project.to_dict()))

    def delete_project(self, project: Project) -> None:
        self.connection.request("DELETE", f"/projects/{_id(project.id, 'project')}", params=_identity(project))

    # Tasks
    def get_tasks(self, project: Project) -> list[Task]:
        try:
            items = self.connection.json("GET", f"/projects/{_id(project.id, 'project')}/tasks")["tasks"]
        except NonExistingError:
            return []
        return [Task.from_dict(item) for item in items]

    def get_task_by_name(self, project: Project, name: str) -> Task | None:
        try:
            return self._first(f"/projects/{_id(project.id, 'project')}/tasks", "tasks", Task, name)
        except NonExistingError:
            return None

    def get_task_by_id(self, task_id: str) -> Task | None:
        return self._one(Task, "tasks", task_id)

    def create_task(self, task: Task) -> Task:
        path = f"/projects/{_id(task.project_id, 'project')}/tasks"
        return Task.from_dict(self.connection.json("POST", path, json=task.to_dict()))

    def delete_task(self, task: Task) -> None:
        self.connection.request("DELETE", f"/tasks/{_id(task.id, 'task')}", params=_identity(task))

    # Models
    def get_models(self, task: Task) -> list[Model]:
        try:
            items = self.connection.json("GET", f"/tasks/{_id(task.id, 'task')}/models")["models"]
        except NonExistingError:
            return []
        return [Model.from_dict(item) for item in items]

    def get_model_by_name(self, task: Task, name: str) -> Model | None:
        try:
            return self._first(f"/tasks/{_id(task.id, 'task')}/models", "models", Model, name)
        except NonExistingError:
            return None

    def get_model_by_id(self, model_id: str) -> Model | None:
        return self._one(Model, "models", model_id)

    def create_model(self, model: Model) -> Model:
        path = f"/tasks/{_id(model.task_id, 'task')}/models"
        return self.connection.stored_model(self.connection.json("POST", path, json=model.to_dict()))

    def delete_model(self, model: Model) -> None:
        self.connection.request("DELETE", f"/models/{_id(model.id, 'model')}", params=_identity(model))

    # Tags, aliases, search
    def set_model_tags(self, model: Model, tags: dict[str, str]) -> Model:
        path = f"/models/{_id(model.id, 'model')}/tags"
        return Model.from_dict(self.connection.json("POST", path, json={"tags": tags}, params=_identity(model)))

    def delete_model_tag(self, model: Model, key: str) -> Model:
        path = f"/models/{_id(model.id, 'model')}/tags/{_segment(key)}"
        return Model.from_dict(self.connection.json("DELETE", path, params=_identity(model)))

    def set_alias(self, task: Task, alias: str, model: Model) -> None:
        path = f"/tasks/{_id(task.id, 'task')}/aliases/{_segment(alias)}"
        self.connection.request("PUT", path, json={"model_id": model.id, **_identity(model)})

    def delete_alias(self, task: Task, alias: str) -> None:
        self.connection.request("DELETE", f"/tasks/{_id(task.id, 'task')}/aliases/{_segment(alias)}")

    def get_aliases(self, task: Task) -> dict[str, str]:
        try:
            return dict(self.connection.json("GET", f"/tasks/{_id(task.id, 'task')}/aliases")["aliases"])
        except NonExistingError:
            return {}

    def get_model_by_alias(self, task: Task, alias: str) -> Model | None:
        return self._one(Model, "tasks", task.id, "aliases", alias)

    def search_models(self, query: ModelQuery) -> ModelPage:
        from ebonite_core.query import ModelPage

        answer = self.connection.json("POST", "/search", json=_search_body(query))
        page = ModelPage(Model.from_dict(item) for item in answer["models"])
        page.next_page_token = answer.get("next_page_token")
        return page

    def count_models(self, query: ModelQuery) -> int:
        return int(self.connection.json("POST", "/search/count", json=_search_body(query))["count"])

    def summarize_models(self, query: ModelQuery) -> ModelSummary:
        answer = self.connection.json("POST", "/search/summary", json=_search_body(query))
        last = answer.get("last_created")
        return ModelSummary(int(answer["count"]), int(answer["size"]), parse_timestamp(last) if last else None)


def _search_body(query: ModelQuery) -> dict[str, Any]:
    """The body of ``/search``, ``/search/count`` and ``/search/summary``: ``Ebonite.search_models``'s arguments."""
    return {
        "project_id": query.project_id,
        "task_id": query.task_id,
        "tags": dict(query.tags),
        "params": {condition.key: [condition.op, condition.value] for condition in query.params},
        "created_after": query.created_after.isoformat() if query.created_after else None,
        "created_before": query.created_before.isoformat() if query.created_before else None,
        "order_by": ("-" if query.descending else "") + query.order_field,
        "limit": query.limit,
        "page_token": query.encode_token(*query.after) if query.after is not None else None,
    }


class HttpArtifactRepository(_HttpRepository, ArtifactRepository):
    """Model files kept by an ebonite server, streamed both ways; the server checks them against each
    model's manifest before the model becomes visible."""

    type = "http"
    default_timeout = 300.0

    def records_models(self, metadata: object) -> bool:
        """True with the ``http`` metadata of the same server and token: the server checks the model's name,
        and records a small model in the request that carries its files."""
        return (
            isinstance(metadata, HttpMetadataRepository) and metadata.url == self.url and metadata.token == self.token
        )

    def push_model_files(self, key: str, files: Mapping[str, Path], model: Model, task: Task) -> Model | None:
        task_id = _id(task.id, "task")
        if sum(artifact.size for artifact in model.artifacts) > CHUNK:
            # The server would refuse a taken name before reading the body, and the client would see the
            # connection closed under a body still being sent: ask first (a large upload dwarfs the request).
            if self.connection.json("GET", f"/tasks/{task_id}/models", params={"name": model.name})["models"]:
                raise ExistingModelError.taken(model.name, task.name)
            self.push(key, files)
            return None
        metadata = json.dumps(model.to_dict(), separators=(",", ":")).encode()
        # The files follow the metadata in the manifest's order, the order the server reads them in.
        content = b"".join([metadata, *(Path(files[artifact.name]).read_bytes() for artifact in model.artifacts)])
        answer = self.connection.json(
            "POST",
            f"/tasks/{task_id}/pushes",
            params={"metadata_size": len(metadata)},
            content=content,
            headers={"Content-Type": "application/octet-stream"},
        )
        return self.connection.stored_model(answer)

    def push(self, key: str, files: Mapping[str, Path]) -> None:
        check_artifact_key(key)
        paths = {check_artifact_name(name): Path(path) for name, path in files.items()}
        sizes = {name: path.stat().st_size for name, path in paths.items()}

        def body() -> Iterator[bytes]:
            for path in paths.values():
                with open(path, "rb") as file:
                    while chunk := file.read(CHUNK):
                        yield chunk

        self.connection.request(
            "PUT",
            f"/artifacts/{key}",
            params={"files": encode_files(sizes)},
            content=body(),
            headers={"Content-Length": str(sum(sizes.values())), "Content-Type": "application/octet-stream"},
        )

    def download(self, key: str, name: str, destination: Path) -> None:
        try:
            with open(destination, "wb") as file:
                self.download_into(key, name, file)
        except BaseException:
            Path(destination).unlink(missing_ok=True)
            raise

    def download_into(self, key: str, name: str, file: BinaryIO) -> bool:
        check_artifact_key(key)
        check_artifact_name(name)
        self.connection.download(f"/artifacts/{key}/{name}", file, f"{name!r} of key {key!r} from {self.url}")
        return True

    def delete(self, key: str) -> None:
        check_artifact_key(key)
        try:
            self.connection.request("DELETE", f"/artifacts/{key}")
        except LookupError:  # missing, or not this token's: nothing to delete
            pass

    def keys(self) -> dict[str, datetime]:
        stored = self.connection.json("GET", "/artifacts")["keys"]
        return {key: datetime.fromisoformat(when) for key, when in stored.items()}
