"""Concurrency: 8 processes mix pushes, gets, lists and deletes on a few shared model names, for a bounded
number of operations and seconds, on every metadata backend with local and S3 artifacts (the report's campaign,
``make reliability-report``, runs every pair; ``make test`` each metadata backend once, each artifact backend
twice).

Afterwards the store matches the log of acknowledged operations exactly: the models stored are those whose
push was acknowledged and whose delete was not, each with the files of the push that created it; no
artifact key is left that no model references; every read a process acknowledged returned the value of a
push that was acknowledged.
"""

from __future__ import annotations

import os
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from rel_report import REPORT_VARIABLE, FaultRecord
from rel_stores import (
    StoreSpec,
    local_artifacts,
    local_metadata,
    models_by_name,
    referenced_keys,
    s3_artifacts,
    sqlite_metadata,
)
from rel_workers import concurrency_worker
from sql_workers import run_processes

from ebonite_core import create_model
from ebonite_core.testing import ScaleModel

PROCESSES = 8
MAX_OPERATIONS = 40  # per process
SECONDS = 3.0  # per process, whichever bound comes first
NAMES = [f"model-{number}" for number in range(6)]  # few names, so that operations collide

METADATA = ["local", "sqlite", "postgresql", "mariadb"]
ARTIFACTS = ["local", "s3"]
PAIRS = [(metadata, artifacts) for metadata in METADATA for artifacts in ARTIFACTS]
if not os.environ.get(REPORT_VARIABLE):
    PAIRS = [("local", "local"), ("sqlite", "s3"), ("postgresql", "local"), ("mariadb", "s3")]


def _spec(metadata: str, artifacts: str, tmp_path: Path, request: pytest.FixtureRequest) -> StoreSpec:
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


def _check_against_log(spec: StoreSpec, logs: list[list[tuple[Any, ...]]], record: FaultRecord) -> None:
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


@pytest.mark.parametrize(("metadata", "artifacts"), PAIRS)
def test_concurrent_processes_match_the_log_of_acknowledged_operations(
    metadata: str, artifacts: str, tmp_path: Path, request: pytest.FixtureRequest, fault: Any
) -> None:
    spec = _spec(metadata, artifacts, tmp_path, request)
    record: FaultRecord = fault(
        "concurrency", f"{PROCESSES} processes pushing, getting, listing and deleting (runs: operations)", spec.label
    )
    setup = spec.open()
    setup.get_or_create_task("concurrency", "task")
    setup.close()
    create_model(ScaleModel(0.0), [1.0], "warm-up")  # warm this process's caches once for the children
    logs = run_processes(concurrency_worker, PROCESSES, spec, NAMES, MAX_OPERATIONS, SECONDS)
    _check_against_log(spec, logs, record)
