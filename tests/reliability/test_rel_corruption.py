"""Corruption: a truncated or hand-edited metadata store, deleted or modified artifact files, missing S3 objects.

Each gives a clear error that names what is wrong (the file or database, the model, the entry), ``ebonite
verify`` reports it, and nothing is rewritten to "repair" it: the damaged metadata or file is left exactly as
it was found, and every model the damage does not concern still loads.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from rel_report import FaultRecord
from rel_stores import StoreSpec, ebonite_command, local_artifacts, local_metadata, tree_snapshot

from ebonite_core import (
    ArtifactIntegrityError,
    ArtifactNotFoundError,
    Ebonite,
    MetadataCorruptError,
)
from ebonite_core.testing import ScaleModel

SAMPLE = [1.0]
Document = dict[str, Any]


def _local_store(root: Path, names: tuple[str, ...] = ("first", "second", "third")) -> Ebonite:
    ebnt = Ebonite.local(root)
    task = ebnt.get_or_create_task("project", "task")
    for number, name in enumerate(names):
        task.create_and_push_model(ScaleModel(float(number)), SAMPLE, name, params={"n": number})
    return ebnt


def _every_operation(ebnt: Ebonite) -> list[tuple[str, Callable[[], object]]]:
    return [
        ("list projects", ebnt.get_projects),
        ("get a model", lambda: ebnt.get_model("first", "task", "project")),
        ("search", ebnt.search_models),
        ("push", lambda: ebnt.create_model(ScaleModel(9.0), SAMPLE, "new", project_name="project", task_name="task")),
        ("create a project", lambda: ebnt.create_project("other")),
    ]


def _assert_refused_untouched(root: Path, fragment: str, record: FaultRecord, cli: bool = True) -> None:
    """Every operation of a fresh client raises MetadataCorruptError naming the file and ``fragment``; the
    store (metadata file and artifacts) is byte for byte what it was."""
    before = tree_snapshot(root)
    ebnt = Ebonite.local(root)
    for operation, call in _every_operation(ebnt):
        with pytest.raises(MetadataCorruptError) as raised:
            call()
        message = str(raised.value)
        assert str(root / "metadata.json") in message and fragment in message, f"{operation}: {message}"
        record.runs += 1
    if cli:  # `ebonite verify` finds it too: one line naming the file and the problem, exit status 1
        verified = ebonite_command(_local_spec(root), root.parent, "verify")
        assert verified.returncode == 1 and verified.stdout == "", verified.stdout
        assert verified.stderr.startswith("ebonite: error: ") and len(verified.stderr.splitlines()) == 1
        assert str(root / "metadata.json") in verified.stderr and fragment in verified.stderr, verified.stderr
        record.note("found by ebonite verify")
    assert tree_snapshot(root) == before, "the damaged store was changed"


def _local_spec(root: Path) -> StoreSpec:
    """The store of ``Ebonite.local(root)``, for the ``ebonite`` command."""
    return StoreSpec("local + local", "local", "local", local_metadata(root), local_artifacts(root))


def test_a_truncated_metadata_file(tmp_path: Path, fault: Callable[..., FaultRecord]) -> None:
    record = fault("corruption", "metadata.json truncated (8 lengths) x 5 operations", "local + local")
    root = tmp_path / "store"
    _local_store(root).close()
    path = root / "metadata.json"
    content = path.read_bytes()
    for length in sorted({0, 1, 2, 17, len(content) // 3, len(content) // 2, len(content) - 3, len(content) - 2}):
        path.write_bytes(content[:length])
        _assert_refused_untouched(root, "not valid JSON", record, cli=length in (0, len(content) // 2))
    path.write_bytes(content)  # restored from "backup": everything is back
    ebnt = Ebonite.local(root)
    assert [m.predict(SAMPLE) for m in ebnt.get_models("task", "project")] == [[0.0], [1.0], [2.0]]


def _first_model(document: Document) -> Document:
    return next(iter(document["models"].values()))


# (what a person did to the file, the edit, a fragment the error must contain)
HAND_EDITS: list[tuple[str, Callable[[Document], object], str]] = [
    ("next_id lowered below the ids in use", lambda d: d.update(next_id=1), "next_id"),
    ("a model without its serializer", lambda d: _first_model(d).pop("serializer"), "serializer"),
    ("an artifact entry without its sha256", lambda d: _first_model(d)["artifacts"][0].pop("sha256"), "sha256"),
    (
        "an artifact entry with a negative size",
        lambda d: _first_model(d)["artifacts"][0].update(size=-1),
        "size",
    ),
    ("artifacts that are not a list", lambda d: _first_model(d).update(artifacts="model.pkl"), "artifacts"),
    ("a model that is not an object", lambda d: d["models"].update({"3": "junk"}), "'3'"),
    ("a creation date that is not a date", lambda d: _first_model(d).update(creation_date="yesterday"), "date"),
    ("a model in a task that does not exist", lambda d: _first_model(d).update(task_id="404"), "404"),
    ("a task in a project that does not exist", lambda d: d["tasks"]["2"].update(project_id="404"), "404"),
    ("two models with one name", lambda d: d["models"]["4"].update(name="first"), "first"),
    ("a row whose id differs from its key", lambda d: _first_model(d).update(id="77"), "77"),
    (
        "an alias to a model that does not exist",
        lambda d: d["tasks"]["2"].update(aliases={"best": "404"}),
        "best",
    ),
]


@pytest.mark.parametrize(("edit", "change", "fragment"), HAND_EDITS, ids=[edit for edit, _, _ in HAND_EDITS])
def test_a_hand_edited_metadata_file(
    edit: str, change: Callable[[Document], object], fragment: str, tmp_path: Path, fault: Callable[..., FaultRecord]
) -> None:
    record = fault("corruption", f"metadata.json edited by hand: {edit} (x 5 operations)", "local + local")
    root = tmp_path / "store"
    _local_store(root).close()
    path = root / "metadata.json"
    document = json.loads(path.read_text())
    change(document)
    path.write_text(json.dumps(document, indent=2))
    _assert_refused_untouched(root, fragment, record)


# SQL rows edited by hand (SQLite, where a person can open the file with the sqlite3 shell)
SQL_EDITS = [
    ("model document emptied", "UPDATE ebonite_models SET data = '{}'", "serializer"),
    ("model document not JSON", "UPDATE ebonite_models SET data = 'not json'", "JSON"),
    ("params not JSON", "UPDATE ebonite_models SET params = 'nope'", "JSON"),
    (
        "artifact entry without sha256",
        "UPDATE ebonite_models SET data = json_remove(data, '$.artifacts[0].sha256')",
        "sha256",
    ),
    ("artifacts not a list", "UPDATE ebonite_models SET data = json_set(data, '$.artifacts', 'x')", "artifacts"),
    ("creation date not a date", "UPDATE ebonite_models SET creation_date = 'yesterday'", "yesterday"),
]


@pytest.mark.parametrize(("edit", "statement", "fragment"), SQL_EDITS, ids=[edit for edit, _, _ in SQL_EDITS])
def test_hand_edited_sqlite_rows(
    edit: str, statement: str, fragment: str, tmp_path: Path, fault: Callable[..., FaultRecord]
) -> None:
    record = fault("corruption", f"SQL row edited by hand: {edit} (x 3 reads)", "sqlite + local")
    database = tmp_path / "registry.db"

    def client() -> Ebonite:
        return Ebonite.custom_client(
            "sqlalchemy", "local", {"db_uri": f"sqlite:///{database}"}, {"path": str(tmp_path / "artifacts")}
        )

    ebnt = client()
    ebnt.get_or_create_task("project", "task").create_and_push_model(ScaleModel(1.0), SAMPLE, "model")
    ebnt.close()
    with sqlite3.connect(database) as connection:
        connection.execute(statement)
    rows_before = _rows(database)
    ebnt = client()
    for call in (
        lambda: ebnt.get_models("task", "project"),
        lambda: ebnt.get_model("model", "task", "project"),
        ebnt.search_models,
    ):
        with pytest.raises(MetadataCorruptError) as raised:
            call()
        message = str(raised.value)
        assert str(database) in message and fragment in message, message
        assert "'model'" in message or "id 1" in message, message
        record.runs += 1
    ebnt.close()
    spec = StoreSpec(
        "sqlite + local", "sqlalchemy", "local", {"db_uri": f"sqlite:///{database}"}, local_artifacts(tmp_path)
    )
    verified = ebonite_command(spec, tmp_path, "verify")
    assert verified.returncode == 1 and verified.stderr.startswith("ebonite: error: "), verified.stderr
    assert str(database) in verified.stderr and fragment in verified.stderr, verified.stderr
    record.note("found by ebonite verify")
    assert _rows(database) == rows_before


def _rows(database: Path) -> list[tuple[Any, ...]]:
    with sqlite3.connect(database) as connection:
        return connection.execute("SELECT * FROM ebonite_models").fetchall()


# Artifact files
def _damage_local(root: Path, key: str, how: str) -> None:
    path = root / "artifacts" / key / "model.pkl"
    if how == "file deleted":
        path.unlink()
    elif how == "key directory deleted":
        shutil.rmtree(path.parent)
    elif how == "file truncated":
        path.write_bytes(path.read_bytes()[:-1])
    elif how == "one byte changed":
        content = bytearray(path.read_bytes())
        content[len(content) // 2] ^= 0xFF
        path.write_bytes(bytes(content))
    elif how == "file replaced by another model's":
        path.write_bytes(next(p for p in (root / "artifacts").glob("*/model.pkl") if p != path).read_bytes())


LOCAL_DAMAGE = {
    "file deleted": ArtifactNotFoundError,
    "key directory deleted": ArtifactNotFoundError,
    "file truncated": ArtifactIntegrityError,
    "one byte changed": ArtifactIntegrityError,
    "file replaced by another model's": ArtifactIntegrityError,
}


@pytest.mark.parametrize("how", list(LOCAL_DAMAGE))
def test_a_damaged_local_artifact(how: str, tmp_path: Path, fault: Callable[..., FaultRecord]) -> None:
    record = fault("corruption", f"local artifact: {how}", "local + local")
    root = tmp_path / "store"
    ebnt = _local_store(root)
    damaged = ebnt.get_model("second", "task", "project")
    _damage_local(root, damaged.artifact_key, how)
    before = tree_snapshot(root)
    for _ in range(2):  # the same error every time: nothing was "repaired" in between
        fresh = Ebonite.local(root).get_model("second", "task", "project")
        with pytest.raises(LOCAL_DAMAGE[how]) as raised:
            fresh.load()
        message = str(raised.value)
        assert "'second'" in message and "model.pkl" in message, message
        record.runs += 1
    verified = ebonite_command(_local_spec(root), tmp_path, "verify", "--json")
    assert verified.returncode == 1, verified.stderr
    problems = [(p["kind"], p["path"], p["file"]) for p in json.loads(verified.stdout)["problems"]]
    kind = "missing" if LOCAL_DAMAGE[how] is ArtifactNotFoundError else "changed"
    assert problems == [(kind, "project/task/second", "model.pkl")]
    record.note("found by ebonite verify")
    assert tree_snapshot(root) == before
    others = Ebonite.local(root)
    assert [others.get_model(name, "task", "project").predict(SAMPLE) for name in ("first", "third")] == [[0.0], [2.0]]


@pytest.mark.parametrize("how", ["object deleted", "object overwritten"])
def test_a_damaged_s3_object(
    how: str, seaweedfs: Any, s3_prefix: str, tmp_path: Path, fault: Callable[..., FaultRecord]
) -> None:
    record = fault("corruption", f"S3 {how}", "local + s3 (SeaweedFS)")
    ebnt = Ebonite.custom_client(
        "local",
        "s3",
        {"path": str(tmp_path / "metadata.json")},
        {"bucket_name": "reliability", "endpoint": seaweedfs.endpoint, "prefix": s3_prefix},
    )
    task = ebnt.get_or_create_task("project", "task")
    task.create_and_push_model(ScaleModel(1.0), SAMPLE, "kept")
    damaged = task.create_and_push_model(ScaleModel(2.0), SAMPLE, "damaged")
    client = seaweedfs.client()
    object_key = f"{s3_prefix}/{damaged.artifact_key}/model.pkl"
    if how == "object deleted":
        client.delete_object(Bucket="reliability", Key=object_key)
        expected: type[Exception] = ArtifactNotFoundError
    else:
        client.put_object(Bucket="reliability", Key=object_key, Body=b"not the pickled model")
        expected = ArtifactIntegrityError
    metadata_before = (tmp_path / "metadata.json").read_bytes()
    for _ in range(2):
        with pytest.raises(expected) as raised:
            ebnt.get_model("damaged", task).load()
        message = str(raised.value)
        assert "'damaged'" in message and "model.pkl" in message, message
        record.runs += 1
    spec = StoreSpec(
        "local + s3",
        "local",
        "s3",
        {"path": str(tmp_path / "metadata.json")},
        {"bucket_name": "reliability", "endpoint": seaweedfs.endpoint, "prefix": s3_prefix},
    )
    verified = ebonite_command(spec, tmp_path, "verify", "--json")
    assert verified.returncode == 1, verified.stderr
    problems = [(p["kind"], p["path"], p["file"]) for p in json.loads(verified.stdout)["problems"]]
    kind = "missing" if how == "object deleted" else "changed"
    assert problems == [(kind, "project/task/damaged", "model.pkl")]
    record.note("found by ebonite verify")
    assert (tmp_path / "metadata.json").read_bytes() == metadata_before
    remaining = client.list_objects_v2(Bucket="reliability", Prefix=object_key).get("Contents", [])
    assert len(remaining) == (0 if how == "object deleted" else 1), "the damaged object was changed"
    assert ebnt.get_model("kept", task).predict(SAMPLE) == [1.0]
