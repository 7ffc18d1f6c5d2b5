"""The JSON API: one route per operation of the metadata repository interface, keyed by ids as the interface
is, with names in query parameters (never in paths). Artifacts are in :mod:`ebonite_server.transfer`.

:data:`ROUTES` is the table the application, the OpenAPI document and the authorization tests are all built
from: a route cannot exist without its role.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from ebonite_core import Model, Project, Task
from ebonite_core.errors import (
    ArtifactIntegrityError,
    ArtifactNotFoundError,
    MetadataCorruptError,
    NonExistingModelError,
)
from ebonite_core.interfaces.metadata import IDENTITY
from ebonite_core.names import check_alias, check_name, check_tags
from ebonite_core.objects import check_storable, parse_timestamp, utc_now
from ebonite_core.query import ModelPage, ModelQuery, ModelSummary

from .access import Access

_Item = TypeVar("_Item", Project, Task, Model)
JsonHandler = Callable[[Access, Mapping[str, str], Mapping[str, str], Any], Any]


@dataclass(frozen=True)
class ApiRoute:
    """One route of the API.

    ``scope`` says where the project whose ``role`` is needed comes from: ``project``/``task``/``model``
    (the id in the path), ``body`` (the request names it; a search that names none looks in every visible
    project), ``key`` (an artifact key's project), ``principal``
    (any principal; results are filtered to what it can see) or ``public`` (no token needed).
    """

    method: str
    path: str
    operation: str
    summary: str
    scope: str
    role: str | None
    status: int = 200
    handler: JsonHandler | None = None  # None: an artifact route, served by transfer.py
    query: tuple[str, ...] = ()
    request: str | None = None  # the OpenAPI schema of the body
    response: str | None = None  # the OpenAPI schema of the answer


def _projects(items: list[Project]) -> dict[str, Any]:
    return {"projects": [item.to_dict() for item in items]}


def _tasks(items: list[Task]) -> dict[str, Any]:
    return {"tasks": [item.to_dict() for item in items]}


def _models(items: list[Model]) -> dict[str, Any]:
    return {"models": [item.to_dict() for item in items]}


def _parse(kind: Any, data: dict[str, Any]) -> Any:
    """``kind.from_dict(data)``; a malformed request is the client's error (400), not a corrupt store."""
    try:
        return kind.from_dict(data)
    except MetadataCorruptError as err:
        raise ValueError(f"Malformed {kind.__name__.lower()} in the request: {err}") from None


def _body_dict(body: Any, *required: str) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise ValueError("The request body must be a JSON object.")
    missing = [name for name in required if name not in body]
    if missing:
        raise ValueError(f"The request body lacks {', '.join(missing)}.")
    return body


def _as_sent(stored: _Item, sent: Mapping[str, Any]) -> _Item:
    """The object a client changes, as it describes it: ``stored`` with the identifying fields the request
    carries (name, parent id, artifact key; ``""`` for none; each optional) in place of its own. The store then
    refuses a change to an object of another registry, or a stale copy, that carries the id of this one
    (``check_same``), atomically with the change."""
    changes = {name: str(sent[name]) or None for name in IDENTITY[type(stored)] if name in sent}
    return dataclasses.replace(stored, **changes) if changes else stored


# Projects
def list_projects(access: Access, params: Mapping[str, str], query: Mapping[str, str], body: Any) -> Any:
    name = query.get("name")
    if name is None:
        return _projects(access.visible_projects())
    project = access.meta.get_project_by_name(name)
    return _projects([project] if access.sees(project) else [])  # type: ignore[list-item]


def create_project(access: Access, params: Mapping[str, str], query: Mapping[str, str], body: Any) -> Any:
    data = _body_dict(body, "name")
    name = check_name(data["name"], "project")
    access.require(name, "write")
    project = Project(name, author=_optional_text(data, "author"), creation_date=_creation_date(data))
    return access.meta.create_project(project).to_dict()


def get_project(access: Access, params: Mapping[str, str], query: Mapping[str, str], body: Any) -> Any:
    return access.project(params["project_id"], "read").to_dict()


def delete_project(access: Access, params: Mapping[str, str], query: Mapping[str, str], body: Any) -> Any:
    access.meta.delete_project(_as_sent(access.project(params["project_id"], "admin"), query))


# Tasks
def list_tasks(access: Access, params: Mapping[str, str], query: Mapping[str, str], body: Any) -> Any:
    project = access.project(params["project_id"], "read")
    name = query.get("name")
    if name is None:
        return _tasks(access.meta.get_tasks(project))
    task = access.meta.get_task_by_name(project, name)
    return _tasks([task] if task is not None else [])


def create_task(access: Access, params: Mapping[str, str], query: Mapping[str, str], body: Any) -> Any:
    data = _body_dict(body, "name")
    project = access.project(params["project_id"], "write")
    name = check_name(data["name"], "task")
    task = Task(name, project_id=project.id, author=_optional_text(data, "author"), creation_date=_creation_date(data))
    return access.meta.create_task(task).to_dict()


def get_task(access: Access, params: Mapping[str, str], query: Mapping[str, str], body: Any) -> Any:
    return access.task(params["task_id"], "read")[0].to_dict()


def delete_task(access: Access, params: Mapping[str, str], query: Mapping[str, str], body: Any) -> Any:
    access.meta.delete_task(_as_sent(access.task(params["task_id"], "write")[0], query))


# Models
def list_models(access: Access, params: Mapping[str, str], query: Mapping[str, str], body: Any) -> Any:
    task, _ = access.task(params["task_id"], "read")
    name = query.get("name")
    if name is None:
        return _models(access.meta.get_models(task))
    model = access.meta.get_model_by_name(task, name)
    return _models([model] if model is not None else [])


def create_model(access: Access, params: Mapping[str, str], query: Mapping[str, str], body: Any) -> Any:
    """Store a pushed model once its manifest matches, file for file, what was uploaded under its key."""
    model, _, project = new_model(access, params["task_id"], body)
    _check_uploaded(access, model)
    return record_model(access, model, project)


def new_model(access: Access, task_id: str, body: Any) -> tuple[Model, Task, Project]:
    """The model a request asks to store in task ``task_id`` (which needs the write role), with its task and
    project, once its metadata is checked."""
    data = _body_dict(body, "name", "serializer", "creation_date")
    task, project = access.task(task_id, "write")
    model = _parse(Model, {**data, "id": None, "task_id": task.id})
    check_name(model.name, "model")
    check_storable(model)
    return model, task, project


def record_model(access: Access, model: Model, project: Project) -> Any:
    """Store ``model``, whose files are stored and checked; the stored model as the API answers it."""
    stored = access.meta.create_model(model)
    if stored.artifact_key:
        access.state.assign_key(stored.artifact_key, project.id)  # type: ignore[arg-type]
    return stored.to_dict()


def check_manifest(model: Model, files: Mapping[str, tuple[int, str]]) -> None:
    """Refuse ``model`` unless its manifest lists exactly ``files`` (``{name: (size, sha256)}``, as the server
    measured them) with the same sizes and sha256."""
    manifest = {artifact.name: (artifact.size, artifact.sha256) for artifact in model.artifacts}
    if manifest != files or len(model.artifacts) != len(manifest):
        differences = sorted(
            f"{name}: manifest {manifest.get(name, 'absent')}, uploaded {files.get(name, 'absent')}"
            for name in set(manifest) | set(files)
            if manifest.get(name) != files.get(name)
        ) or ["the manifest names a file twice"]
        raise ArtifactIntegrityError(
            f"Model {model.name!r}: the manifest differs from the files uploaded under key {model.artifact_key!r} "
            f"({'; '.join(differences)}). Nothing was stored; push the model again."
        )


def _check_uploaded(access: Access, model: Model) -> None:
    """Refuse a model whose files were not uploaded through this server by this token, or differ from the
    upload. A registry-wide admin may store metadata for files the server never received (an import); files
    the server did receive are checked whoever references them."""
    key = model.artifact_key
    record = access.state.key_record(key) if key else None
    admin = access.registry_wide("admin")
    if record is not None and record.project_id is None and (record.uploader == access.principal.token_id or admin):
        check_manifest(model, record.files)
        return
    if admin:
        return
    if record is not None and record.project_id is not None:
        raise ValueError(f"Artifact key {key!r} is already used by another model: upload the files again.")
    raise ArtifactNotFoundError(
        f"No files were uploaded under artifact key {key!r} with this token: push the artifacts first."
    )


def get_model(access: Access, params: Mapping[str, str], query: Mapping[str, str], body: Any) -> Any:
    return access.model(params["model_id"], "read")[0].to_dict()


def delete_model(access: Access, params: Mapping[str, str], query: Mapping[str, str], body: Any) -> Any:
    model, _, project = access.model(params["model_id"], "write")
    if model.artifact_key:  # the key stays this project's to delete once the model is gone
        access.state.assign_key(model.artifact_key, project.id)  # type: ignore[arg-type]
    access.meta.delete_model(_as_sent(model, query))


def set_model_tags(access: Access, params: Mapping[str, str], query: Mapping[str, str], body: Any) -> Any:
    model, _, _ = access.model(params["model_id"], "write")
    tags = check_tags(_body_dict(body, "tags")["tags"])
    return access.meta.set_model_tags(_as_sent(model, query), tags).to_dict()


def delete_model_tag(access: Access, params: Mapping[str, str], query: Mapping[str, str], body: Any) -> Any:
    model, _, _ = access.model(params["model_id"], "write")
    return access.meta.delete_model_tag(_as_sent(model, query), params["key"]).to_dict()


# Aliases
def list_aliases(access: Access, params: Mapping[str, str], query: Mapping[str, str], body: Any) -> Any:
    task, _ = access.task(params["task_id"], "read")
    return {"aliases": access.meta.get_aliases(task)}


def get_alias(access: Access, params: Mapping[str, str], query: Mapping[str, str], body: Any) -> Any:
    task, _ = access.task(params["task_id"], "read")
    model = access.meta.get_model_by_alias(task, params["alias"])
    if model is None:
        raise NonExistingModelError(f"Task {task.name!r} has no alias {params['alias']!r}.")
    return model.to_dict()


def set_alias(access: Access, params: Mapping[str, str], query: Mapping[str, str], body: Any) -> Any:
    task, _ = access.task(params["task_id"], "admin")
    alias = check_alias(params["alias"])
    data = _body_dict(body, "model_id")
    model_id = data["model_id"]
    model = access.meta.get_model_by_id(str(model_id))
    if model is None or model.task_id != task.id:
        owner = access.meta.get_task_by_id(model.task_id) if model and model.task_id else None
        project = access.meta.get_project_by_id(owner.project_id) if owner and owner.project_id else None
        if model is None or not access.sees(project):
            raise NonExistingModelError(f"Model with id {model_id!r} does not exist.")
    access.meta.set_alias(task, alias, _as_sent(model, data))


def delete_alias(access: Access, params: Mapping[str, str], query: Mapping[str, str], body: Any) -> Any:
    task, _ = access.task(params["task_id"], "admin")
    access.meta.delete_alias(task, params["alias"])


# Search
def _search_query(access: Access, body: Any) -> ModelQuery:
    """The query a search or count request describes, its project or task checked readable."""
    data = _body_dict(body)
    conditions = data.get("params") or {}
    if not isinstance(conditions, dict):
        raise ValueError("params must be an object.")
    search = ModelQuery.create(
        project_id=_optional_text(data, "project_id"),
        task_id=_optional_text(data, "task_id"),
        tags=data.get("tags"),
        params={key: tuple(value) if isinstance(value, list) else value for key, value in conditions.items()},
        created_after=_optional_time(data, "created_after"),
        created_before=_optional_time(data, "created_before"),
        order_by=str(data.get("order_by", "-creation_date")),
        limit=data.get("limit", 100),
        page_token=_optional_text(data, "page_token"),
    )
    if search.task_id is not None:
        access.task(search.task_id, "read")
    elif search.project_id is not None:
        access.project(search.project_id, "read")
    return search


def _searches_everything(access: Access, search: ModelQuery) -> bool:
    """Whether one search of the store answers ``search`` (else: one per visible project)."""
    return search.task_id is not None or search.project_id is not None or access.registry_wide("read")


def search_models(access: Access, params: Mapping[str, str], query: Mapping[str, str], body: Any) -> Any:
    """One page of models, among the projects the principal can see."""
    search = _search_query(access, body)
    if _searches_everything(access, search):
        page = access.meta.search_models(search)
    else:  # one search per visible project, merged into one page in the query's order
        rows = [
            model.to_dict()
            for project in access.visible_projects()
            for model in access.meta.search_models(dataclasses.replace(search, project_id=project.id))
        ]
        page = search.page(rows) if rows else ModelPage()
    return {**_models(page), "next_page_token": page.next_page_token}


def count_models(access: Access, params: Mapping[str, str], query: Mapping[str, str], body: Any) -> Any:
    """How many models match, among the projects the principal can see (the store counts: one ``COUNT`` on SQL)."""
    search = _search_query(access, body)
    if _searches_everything(access, search):
        return {"count": access.meta.count_models(search)}
    projects = access.visible_projects()
    return {"count": sum(access.meta.count_models(dataclasses.replace(search, project_id=p.id)) for p in projects)}


def summarize_models(access: Access, params: Mapping[str, str], query: Mapping[str, str], body: Any) -> Any:
    """Count, total artifact size and newest creation date of the models that match, among the projects the
    principal can see (the store aggregates: one statement on SQL)."""
    search = _search_query(access, body)
    if _searches_everything(access, search):
        summary = access.meta.summarize_models(search)
    else:
        summary = ModelSummary()
        for project in access.visible_projects():
            summary = summary.add(access.meta.summarize_models(dataclasses.replace(search, project_id=project.id)))
    last = summary.last_created.isoformat() if summary.last_created is not None else None
    return {"count": summary.count, "size": summary.size, "last_created": last}


def _optional_text(data: dict[str, Any], name: str) -> str | None:
    value = data.get(name)
    if value is not None and not isinstance(value, str):
        raise ValueError(f"{name} must be a string.")
    return value


def _optional_time(data: dict[str, Any], name: str) -> datetime | None:
    value = _optional_text(data, name)
    return datetime.fromisoformat(value) if value is not None else None


def _creation_date(data: dict[str, Any]) -> datetime:
    """A new project's or task's creation date: the request's, or now (stored records need ids, which the
    store gives, so these are built here rather than by ``from_dict``)."""
    value = data.get("creation_date")
    return utc_now() if value is None else parse_timestamp(value)


# The principal and the service
def whoami(access: Access, params: Mapping[str, str], query: Mapping[str, str], body: Any) -> Any:
    grants = [{"project": grant.project, "role": grant.role} for grant in access.principal.grants]
    return {"token_id": access.principal.token_id, "grants": grants}


_PROJECT, _TASK, _MODEL = "/projects/{project_id}", "/tasks/{task_id}", "/models/{model_id}"
# The optional identifying fields a change carries (see _as_sent).
_SENT_PROJECT, _SENT_TASK, _SENT_MODEL = IDENTITY[Project], IDENTITY[Task], IDENTITY[Model]
ROUTES: tuple[ApiRoute, ...] = (
    ApiRoute("GET", "/health", "health", "Whether the server answers (no token needed).", "public", None),
    ApiRoute("GET", "/openapi.json", "openapi", "This API's OpenAPI description (no token needed).", "public", None),
    ApiRoute(
        "GET", "/whoami", "whoami", "The grants of the token.", "principal", None, handler=whoami, response="Principal"
    ),
    ApiRoute(
        "GET",
        "/projects",
        "list_projects",
        "The projects the token can see; ?name= finds one.",
        "principal",
        None,
        handler=list_projects,
        query=("name",),
        response="ProjectList",
    ),
    ApiRoute(
        "POST",
        "/projects",
        "create_project",
        "Create a project (write on its name).",
        "body",
        "write",
        201,
        create_project,
        request="Project",
        response="Project",
    ),
    ApiRoute(
        "GET", _PROJECT, "get_project", "A project by id.", "project", "read", handler=get_project, response="Project"
    ),
    ApiRoute(
        "DELETE",
        _PROJECT,
        "delete_project",
        "Delete a project without tasks (if it has the name given, when one is).",
        "project",
        "admin",
        204,
        delete_project,
        query=_SENT_PROJECT,
    ),
    ApiRoute(
        "GET",
        f"{_PROJECT}/tasks",
        "list_tasks",
        "The tasks of a project; ?name= finds one.",
        "project",
        "read",
        handler=list_tasks,
        query=("name",),
        response="TaskList",
    ),
    ApiRoute(
        "POST",
        f"{_PROJECT}/tasks",
        "create_task",
        "Create a task.",
        "project",
        "write",
        201,
        create_task,
        request="Task",
        response="Task",
    ),
    ApiRoute("GET", _TASK, "get_task", "A task by id.", "task", "read", handler=get_task, response="Task"),
    ApiRoute(
        "DELETE",
        _TASK,
        "delete_task",
        "Delete a task without models (if it has the name and project given, when they are).",
        "task",
        "write",
        204,
        delete_task,
        query=_SENT_TASK,
    ),
    ApiRoute(
        "GET",
        f"{_TASK}/models",
        "list_models",
        "The models of a task; ?name= finds one.",
        "task",
        "read",
        handler=list_models,
        query=("name",),
        response="ModelList",
    ),
    ApiRoute(
        "POST",
        f"{_TASK}/models",
        "create_model",
        "Store a pushed model; its manifest must match the files uploaded under its artifact key.",
        "task",
        "write",
        201,
        create_model,
        request="Model",
        response="Model",
    ),
    ApiRoute(
        "POST",
        f"{_TASK}/pushes",
        "push_model",
        "Store a small model in one request: its metadata (?metadata_size=N bytes of JSON, as for create_model), "
        "then its files' bytes in the order of its manifest, which they must match.",
        "task",
        "write",
        201,
        query=("metadata_size",),
        request="binary",
        response="Model",
    ),
    ApiRoute(
        "GET",
        f"{_TASK}/aliases",
        "list_aliases",
        "The aliases of a task and the model ids they name.",
        "task",
        "read",
        handler=list_aliases,
        response="Aliases",
    ),
    ApiRoute(
        "GET",
        f"{_TASK}/aliases/{{alias}}",
        "get_alias",
        "The model an alias names.",
        "task",
        "read",
        handler=get_alias,
        response="Model",
    ),
    ApiRoute(
        "PUT",
        f"{_TASK}/aliases/{{alias}}",
        "set_alias",
        "Point an alias at a model of the task.",
        "task",
        "admin",
        204,
        set_alias,
        request="AliasTarget",
    ),
    ApiRoute(
        "DELETE", f"{_TASK}/aliases/{{alias}}", "delete_alias", "Remove an alias.", "task", "admin", 204, delete_alias
    ),
    ApiRoute(
        "GET", _MODEL, "get_model", "A model's metadata by id.", "model", "read", handler=get_model, response="Model"
    ),
    ApiRoute(
        "DELETE",
        _MODEL,
        "delete_model",
        "Delete a model's metadata (then delete its artifact key), if it has the name, task and key given.",
        "model",
        "write",
        204,
        delete_model,
        query=_SENT_MODEL,
    ),
    ApiRoute(
        "POST",
        f"{_MODEL}/tags",
        "set_model_tags",
        "Add or overwrite tags (of the model with the name, task and key given, when they are).",
        "model",
        "write",
        handler=set_model_tags,
        query=_SENT_MODEL,
        request="Tags",
        response="Model",
    ),
    ApiRoute(
        "DELETE",
        f"{_MODEL}/tags/{{key}}",
        "delete_model_tag",
        "Remove a tag (of the model with the name, task and key given, when they are).",
        "model",
        "write",
        handler=delete_model_tag,
        query=_SENT_MODEL,
        response="Model",
    ),
    ApiRoute(
        "POST",
        "/search",
        "search_models",
        "One page of the models matching a query: in the project or task it names, else in every visible project.",
        "body",
        "read",
        handler=search_models,
        request="SearchQuery",
        response="ModelPage",
    ),
    ApiRoute(
        "POST",
        "/search/count",
        "count_models",
        "How many models match a query (its order, limit and page token aside), where /search would look.",
        "body",
        "read",
        handler=count_models,
        request="SearchQuery",
        response="ModelCount",
    ),
    ApiRoute(
        "POST",
        "/search/summary",
        "summarize_models",
        "How many models match a query, their artifacts' total size and the newest's creation date.",
        "body",
        "read",
        handler=summarize_models,
        request="SearchQuery",
        response="ModelSummary",
    ),
    ApiRoute(
        "GET",
        "/artifacts",
        "list_artifact_keys",
        "The artifact keys the token can see, with times.",
        "principal",
        None,
        response="ArtifactKeys",
    ),
    ApiRoute(
        "PUT",
        "/artifacts/{key}",
        "upload_artifacts",
        "Upload every file of a new key: the files' bytes one after the other, sizes in ?files=name:size,...",
        "key",
        "write",
        201,
        query=("files",),
        request="binary",
        response="Upload",
    ),
    ApiRoute(
        "GET", "/artifacts/{key}/{name}", "download_artifact", "One stored file.", "key", "read", response="binary"
    ),
    ApiRoute("DELETE", "/artifacts/{key}", "delete_artifacts", "Delete every file of a key.", "key", "write", 204),
)
