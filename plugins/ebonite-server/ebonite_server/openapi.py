"""The OpenAPI 3.1 description of the API, built from the route table (served at ``/api/v1/openapi.json``)."""

from __future__ import annotations

import re
from functools import cache
from typing import Any

from .api import ROUTES, ApiRoute
from .protocol import API_PREFIX

_TEXT = {"type": "string"}
_NULLABLE_TEXT = {"type": ["string", "null"]}
_TIME = {"type": "string", "format": "date-time"}
_ARTIFACT_FILE = {
    "type": "object",
    "required": ["name", "size", "sha256"],
    "properties": {"name": _TEXT, "size": {"type": "integer", "minimum": 0}, "sha256": _TEXT},
}
SCHEMAS: dict[str, Any] = {
    "Error": {
        "type": "object",
        "required": ["error"],
        "properties": {
            "error": {
                "type": "object",
                "required": ["type", "message"],
                "properties": {
                    "type": {"type": "string", "description": "The error's class, e.g. NonExistingModelError."},
                    "message": _TEXT,
                },
            }
        },
    },
    "Project": {
        "type": "object",
        "required": ["name"],
        "properties": {"id": _NULLABLE_TEXT, "name": _TEXT, "author": _NULLABLE_TEXT, "creation_date": _TIME},
    },
    "Task": {
        "type": "object",
        "required": ["name"],
        "properties": {
            "id": _NULLABLE_TEXT,
            "name": _TEXT,
            "project_id": _NULLABLE_TEXT,
            "author": _NULLABLE_TEXT,
            "creation_date": _TIME,
        },
    },
    "ArtifactFile": _ARTIFACT_FILE,
    "Model": {
        "type": "object",
        "required": ["name", "serializer", "creation_date"],
        "properties": {
            "id": _NULLABLE_TEXT,
            "name": _TEXT,
            "task_id": _NULLABLE_TEXT,
            "serializer": _TEXT,
            "methods": {"type": "object"},
            "requirements": {"type": "object", "additionalProperties": _TEXT},
            "python_version": _TEXT,
            "params": {"type": "object"},
            "description": _NULLABLE_TEXT,
            "author": _NULLABLE_TEXT,
            "creation_date": _TIME,
            "artifact_key": _NULLABLE_TEXT,
            "artifacts": {"type": "array", "items": {"$ref": "#/components/schemas/ArtifactFile"}},
            "tags": {"type": "object", "additionalProperties": _TEXT},
        },
    },
    "ProjectList": {
        "type": "object",
        "properties": {"projects": {"type": "array", "items": {"$ref": "#/components/schemas/Project"}}},
    },
    "TaskList": {
        "type": "object",
        "properties": {"tasks": {"type": "array", "items": {"$ref": "#/components/schemas/Task"}}},
    },
    "ModelList": {
        "type": "object",
        "properties": {"models": {"type": "array", "items": {"$ref": "#/components/schemas/Model"}}},
    },
    "ModelPage": {
        "type": "object",
        "properties": {
            "models": {"type": "array", "items": {"$ref": "#/components/schemas/Model"}},
            "next_page_token": _NULLABLE_TEXT,
        },
    },
    "Aliases": {"type": "object", "properties": {"aliases": {"type": "object", "additionalProperties": _TEXT}}},
    "AliasTarget": {
        "type": "object",
        "description": "The model by id; name, task_id and artifact_key, when given, must be the model's.",
        "required": ["model_id"],
        "properties": {"model_id": _TEXT, "name": _TEXT, "task_id": _TEXT, "artifact_key": _TEXT},
    },
    "Tags": {
        "type": "object",
        "required": ["tags"],
        "properties": {"tags": {"type": "object", "additionalProperties": _TEXT}},
    },
    "SearchQuery": {
        "type": "object",
        "description": "The arguments of Ebonite.search_models; params map a key to a value or [op, value].",
        "properties": {
            "project_id": _NULLABLE_TEXT,
            "task_id": _NULLABLE_TEXT,
            "tags": {"type": "object", "additionalProperties": _TEXT},
            "params": {"type": "object"},
            "created_after": {"type": ["string", "null"], "format": "date-time"},
            "created_before": {"type": ["string", "null"], "format": "date-time"},
            "order_by": _TEXT,
            "limit": {"type": "integer", "minimum": 1},
            "page_token": _NULLABLE_TEXT,
        },
    },
    "ModelCount": {"type": "object", "properties": {"count": {"type": "integer", "minimum": 0}}},
    "ModelSummary": {
        "type": "object",
        "properties": {
            "count": {"type": "integer", "minimum": 0},
            "size": {"type": "integer", "minimum": 0},
            "last_created": {"type": ["string", "null"], "format": "date-time"},
        },
    },
    "ArtifactKeys": {
        "type": "object",
        "properties": {"keys": {"type": "object", "additionalProperties": _TIME}},
    },
    "Upload": {
        "type": "object",
        "properties": {
            "key": _TEXT,
            "files": {"type": "array", "items": {"$ref": "#/components/schemas/ArtifactFile"}},
        },
    },
    "Principal": {
        "type": "object",
        "properties": {
            "token_id": _NULLABLE_TEXT,
            "grants": {
                "type": "array",
                "items": {"type": "object", "properties": {"project": _TEXT, "role": _TEXT}},
            },
        },
    },
}
_ERRORS = {
    "400": "Invalid input (ValueError, InvalidNameError, ...)",
    "401": "No token, or an unknown or revoked one (UnauthenticatedError)",
    "403": "The token's role is too weak on a project it can see (AccessDeniedError)",
    "404": "Missing, or in a project the token cannot see (NonExisting*Error, ArtifactNotFoundError)",
    "409": "A name or key that exists, or a delete of something that still has children",
    "413": "A request body above the server's limits",
    "422": "A manifest that differs from the uploaded files (ArtifactIntegrityError)",
}


_REQUIRED = {"files", "metadata_size"}  # the query parameters an upload or a push cannot do without


def _content(schema: str) -> dict[str, Any]:
    if schema == "binary":
        return {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}}
    return {"application/json": {"schema": {"$ref": f"#/components/schemas/{schema}"}}}


def _operation(route: ApiRoute) -> dict[str, Any]:
    role = f" Needs the {route.role} role." if route.role else ""
    operation: dict[str, Any] = {
        "operationId": route.operation,
        "summary": route.summary,
        "description": f"{route.summary}{role}",
        "x-ebonite-role": route.role,
        "x-ebonite-scope": route.scope,
        "parameters": [
            {"name": name, "in": "path", "required": True, "schema": _TEXT}
            for name in re.findall(r"{(\w+)}", route.path)
        ]
        + [{"name": name, "in": "query", "required": name in _REQUIRED, "schema": _TEXT} for name in route.query],
        "responses": {
            str(route.status): {
                "description": "Success",
                **({"content": _content(route.response)} if route.response else {}),
            },
            **{
                status: {"description": text, "content": _content("Error")}
                for status, text in _ERRORS.items()
                if route.scope != "public"
            },
        },
    }
    if route.scope == "public":
        operation["security"] = []
    if route.request:
        operation["requestBody"] = {"required": True, "content": _content(route.request)}
    return operation


@cache
def openapi_document() -> dict[str, Any]:
    from . import __version__

    paths: dict[str, dict[str, Any]] = {}
    for route in ROUTES:
        paths.setdefault(f"{API_PREFIX}{route.path}", {})[route.method.lower()] = _operation(route)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "ebonite registry",
            "version": __version__,
            "description": "An ebonite-core registry served by ebonite-server: projects, tasks, models and "
            "their artifacts, behind bearer tokens with per-project roles.",
        },
        "paths": paths,
        "components": {
            "schemas": SCHEMAS,
            "securitySchemes": {"token": {"type": "http", "scheme": "bearer"}},
        },
        "security": [{"token": []}],
    }
