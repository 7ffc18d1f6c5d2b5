"""Store combinations (metadata + artifacts) that a child process can open, and checks on what a store holds.

A :class:`StoreSpec` is plain data: it is handed to forked children, which open their own client with
:meth:`StoreSpec.open` (through ``Ebonite.custom_client``, the way users pick backends).
"""

from __future__ import annotations

import functools
import json
import os
import subprocess
import sys
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from rel_report import FaultRecord

from ebonite_core import ArtifactRepository, Ebonite, Model, Task


@dataclass(frozen=True)
class StoreSpec:
    """One backend combination, e.g. ``sqlite + local``."""

    label: str
    metadata: str
    artifact: str
    meta_kwargs: dict[str, Any] = field(default_factory=dict)
    artifact_kwargs: dict[str, Any] = field(default_factory=dict)

    def open(self, artifact_repository: ArtifactRepository | None = None, **artifact_overrides: Any) -> Ebonite:
        """A new client on this store (``artifact_repository``: reuse that one instead of opening another)."""
        if artifact_repository is not None:
            return Ebonite.custom_client(self.metadata, artifact_repository, meta_kwargs=dict(self.meta_kwargs))
        return Ebonite.custom_client(
            self.metadata,
            self.artifact,
            meta_kwargs=dict(self.meta_kwargs),
            artifact_kwargs={**self.artifact_kwargs, **artifact_overrides},
        )


MiB = 1024 * 1024


def local_metadata(directory: Path) -> dict[str, Any]:
    return {"path": str(directory / "metadata.json")}


def sqlite_metadata(directory: Path) -> dict[str, Any]:
    return {"db_uri": f"sqlite:///{directory / 'registry.db'}"}


def local_artifacts(directory: Path) -> dict[str, Any]:
    return {"path": str(directory / "artifacts")}


def s3_artifacts(endpoint: str, bucket: str, prefix: str) -> dict[str, Any]:
    # 5 MiB parts (S3's smallest), so that a model of a few MiB goes up as a multipart upload.
    return {"bucket_name": bucket, "endpoint": endpoint, "prefix": prefix, "part_size": 5 * MiB, "max_concurrency": 4}


def referenced_keys(ebnt: Ebonite) -> set[str]:
    """Every artifact key a stored model references."""
    return {
        model.artifact_key
        for project in ebnt.get_projects()
        for task in ebnt.get_tasks(project)
        for model in ebnt.get_models(task)
        if model.artifact_key
    }


def models_by_name(ebnt: Ebonite, task: Task) -> dict[str, Model]:
    models = ebnt.get_models(task)
    names = [model.name for model in models]
    assert len(names) == len(set(names)), f"two models share a name: {sorted(names)}"
    return {model.name: model for model in models}


def local_leftovers(root: Path) -> dict[str, list[str]]:
    """What a local store holds besides its metadata file, lock and artifact keys, by kind.

    Only kinds that ``ebonite gc`` knows to remove may appear after a crash: temporary metadata files,
    unfinished pushes (``artifacts/.tmp``), staged files (``artifacts/.staging``) and unfinished deletes
    (``artifacts/.trash``). Anything else is reported under ``"unknown"``.
    """
    found: dict[str, list[str]] = {}
    for path in sorted(root.rglob("*")):
        relative = path.relative_to(root).as_posix()
        parts = relative.split("/")
        if relative in ("metadata.json", "metadata.json.lock", "registry.db", "artifacts"):
            continue
        if parts[0] == "artifacts" and len(parts) >= 2 and parts[1] in (".tmp", ".staging", ".trash"):
            if len(parts) == 3:
                found.setdefault(parts[1], []).append(relative)
            continue
        if parts[0] == "artifacts" and len(parts) <= 3 and not parts[1].startswith("."):
            continue  # a key directory or one of its files
        if len(parts) == 1 and path.name.startswith(".metadata.json.") and path.name.endswith(".tmp"):
            found.setdefault("metadata temporary file", []).append(relative)
            continue
        if relative.startswith("registry.db-"):  # SQLite's journal, which the next connection rolls back
            found.setdefault("sqlite journal", []).append(relative)
            continue
        found.setdefault("unknown", []).append(relative)
    return found


# Directories a local store creates empty on first use (an artifact root, its private working directories):
# their appearing is no change to what the store holds.
_SCAFFOLDING = frozenset({"artifacts", ".staging", ".tmp", ".trash"})


def _only_scaffolding(path: str) -> bool:
    """Whether ``path`` is a scaffolding directory holding nothing but empty scaffolding directories."""
    return os.path.basename(path) in _SCAFFOLDING and all(
        entry.is_dir(follow_symlinks=False) and _only_scaffolding(entry.path) for entry in os.scandir(path)
    )


def tree_snapshot(root: Path) -> dict[str, bytes | None]:
    """Every path under ``root`` with the content of files (``None`` for directories), to compare before and
    after an operation that must change nothing. Empty scaffolding directories are left out."""
    snapshot: dict[str, bytes | None] = {}
    for directory, subdirectories, files in os.walk(root):
        for name in subdirectories:
            path = os.path.join(directory, name)
            if _only_scaffolding(path):
                continue
            snapshot[os.path.relpath(path, root)] = None
        for name in files:
            path = os.path.join(directory, name)
            with open(path, "rb") as file:
                snapshot[os.path.relpath(path, root)] = file.read()
    return snapshot


def stored_file_sizes(spec: StoreSpec) -> dict[tuple[str, str], int]:
    """``{(key, file name): size}`` of every stored artifact file, read with plain tools (``os``, boto3), not
    through the repository under test. Unfinished uploads and private directories are left out."""
    sizes: dict[tuple[str, str], int] = {}
    if spec.artifact == "local":
        root = Path(spec.artifact_kwargs["path"])
        for key in os.listdir(root) if root.exists() else ():
            if key.startswith("."):
                continue
            for entry in os.scandir(root / key):
                sizes[(key, entry.name)] = entry.stat().st_size
        return sizes
    client = _listing_client(spec.artifact_kwargs["endpoint"])
    prefix = spec.artifact_kwargs["prefix"].strip("/") + "/"
    pages = client.get_paginator("list_objects_v2").paginate(Bucket=spec.artifact_kwargs["bucket_name"], Prefix=prefix)
    for page in pages:
        for item in page.get("Contents", ()):
            key, _, name = item["Key"][len(prefix) :].partition("/")
            sizes[(key, name)] = item["Size"]
    return sizes


@functools.cache
def _listing_client(endpoint: str) -> Any:
    import boto3

    return boto3.session.Session().client("s3", endpoint_url=endpoint)


EBONITE = str(Path(sys.executable).parent / "ebonite")


def ebonite_command(spec: StoreSpec, directory: Path, *arguments: str) -> subprocess.CompletedProcess[str]:
    """Run the installed ``ebonite`` console script on this store (through a config file written in
    ``directory``), in a subprocess, as a user would."""
    config = directory / "ebonite-config.json"
    document = {
        "metadata": {"type": spec.metadata, **spec.meta_kwargs},
        "artifact": {"type": spec.artifact, **spec.artifact_kwargs},
    }
    config.write_text(json.dumps(document))
    return subprocess.run(
        [EBONITE, "--config", str(config), *arguments], capture_output=True, text=True, timeout=600, check=False
    )


def store_spec(metadata: str, artifacts: str, tmp_path: Path, request: pytest.FixtureRequest) -> StoreSpec:
    """A store of ``metadata`` (local, sqlite, postgresql, mariadb) and ``artifacts`` (local, s3) kinds, new and
    empty, under ``tmp_path`` or on the session's servers."""
    if metadata == "local":
        meta_type, meta_kwargs = "local", local_metadata(tmp_path)
    elif metadata == "sqlite":
        meta_type, meta_kwargs = "sqlalchemy", sqlite_metadata(tmp_path)
    else:
        meta_type, meta_kwargs = "sqlalchemy", {"db_uri": request.getfixturevalue("new_database")(metadata)}
    if artifacts == "local":
        artifact_kwargs = local_artifacts(tmp_path)
        label = f"{metadata} + local"
    else:
        server = request.getfixturevalue("seaweedfs")
        artifact_kwargs = s3_artifacts(server.endpoint, "reliability", request.getfixturevalue("s3_prefix"))
        label = f"{metadata} + s3 (SeaweedFS)"
    return StoreSpec(label, meta_type, artifacts, meta_kwargs, artifact_kwargs)


def check_against_log(spec: StoreSpec, logs: list[list[tuple[Any, ...]]], record: FaultRecord) -> None:
    """The store matches the logs of acknowledged operations (see ``rel_workers.concurrency_worker``) exactly:
    the models stored are those pushed and not deleted, each with its push's files, every read saw the value
    of an acknowledged push, and no artifact key is left that no model references."""
    entries = [entry for log in logs for entry in log]
    pushed = {entry[2]: (entry[1], entry[3]) for entry in entries if entry[0] == "push"}  # key -> (name, factor)
    deleted = {entry[2] for entry in entries if entry[0] == "delete"}
    record.runs += len(entries)
    record.notes.update(entry[0] for entry in entries)

    assert deleted <= set(pushed), "a delete acknowledged a model no acknowledged push created"
    for entry in entries:
        if entry[0] == "get":  # a read saw the value its key's push stored
            assert entry[2] in pushed and pushed[entry[2]] == (entry[1], entry[3]), entry
    names_pushed = Counter(name for name, _ in pushed.values())
    deletes_per_name = Counter(pushed[key][0] for key in deleted)
    for name, count in names_pushed.items():  # a name holds one model at a time
        assert count - deletes_per_name[name] in (0, 1), f"{name}: {count} pushes, {deletes_per_name[name]} deletes"

    ebnt = spec.open()
    try:
        task = ebnt.get_task("concurrency", "task")
        assert task is not None
        stored = models_by_name(ebnt, task)
        expected = {pushed[key][0]: key for key in set(pushed) - deleted}
        assert {name: model.artifact_key for name, model in stored.items()} == expected
        for name, model in stored.items():
            assert model.load().predict([1.0]) == [pushed[model.artifact_key][1]], name
        assert set(ebnt.artifact_repo.keys()) == referenced_keys(ebnt), "artifact keys that no model references"
    finally:
        ebnt.close()
