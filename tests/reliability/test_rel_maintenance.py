"""Maintenance while the store is busy: ``gc``, ``verify``, ``copy`` and ``rm`` run in turns while 8 processes
push, get, list and delete on a few shared names.

Nothing is lost: the store matches every acknowledged operation (the workers' and rm's) exactly; gc removes
only the old garbage planted before (a killed push's key, leftovers in ``.tmp`` and ``.trash``), never a key a
push wrote; verify reports a file missing only for a model deleted meanwhile, never one changed; every model
copied into the target is complete there. ``make test`` runs it on local metadata and files;
``make reliability-report`` on SQLite and S3 too.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

import pytest
from rel_report import REPORT_VARIABLE, FaultRecord
from rel_stores import StoreSpec, check_against_log, local_artifacts, local_metadata, store_spec
from rel_workers import workers_and_maintenance
from sql_workers import run_processes

from ebonite_core import create_model
from ebonite_core.maintenance import verify
from ebonite_core.repository import KEY_MARKER, key_marker
from ebonite_core.testing import ScaleModel

PROCESSES = 8
SOAK = bool(os.environ.get(REPORT_VARIABLE))  # the report's soak: longer, and on every kind of store
MAX_OPERATIONS = 200 if SOAK else 30  # per worker
SECONDS = 20.0 if SOAK else 3.0
NAMES = [f"model-{number}" for number in range(6)]
STORES = [("local", "local")] + ([("sqlite", "local"), ("postgresql", "s3")] if SOAK else [])


def _plant_old_garbage(spec: StoreSpec) -> set[str]:
    """What killed processes left two days ago in a local artifact store; returns the keys planted."""
    if spec.artifact != "local":
        return set()
    root = Path(spec.artifact_kwargs["path"])
    planted = {f"{number:032x}" for number in range(1, 4)}
    old = time.time() - 48 * 3600
    for key in planted:
        (root / key).mkdir(parents=True)
        (root / key / KEY_MARKER).write_bytes(key_marker(key))
        (root / key / "model.pkl").write_bytes(b"half a push")
    for private, name in ((".tmp", "killed-push"), (".trash", "killed-delete")):
        (root / private / name).mkdir(parents=True)
        (root / private / name / "model.pkl").write_bytes(b"left")
    for path in root.rglob("*"):
        os.utime(path, (old, old))
    return planted


@pytest.mark.parametrize(("metadata", "artifacts"), STORES, ids=[f"{m}+{a}" for m, a in STORES])
def test_gc_verify_copy_and_rm_while_8_processes_push_and_delete(
    metadata: str, artifacts: str, tmp_path: Path, request: pytest.FixtureRequest, fault: Any
) -> None:
    spec = store_spec(metadata, artifacts, tmp_path, request)
    record: FaultRecord = fault(
        "maintenance",
        f"gc, verify, copy and rm while {PROCESSES} processes push and delete (runs: operations)",
        spec.label,
    )
    target = StoreSpec("target", "local", "local", local_metadata(tmp_path / "t"), local_artifacts(tmp_path / "t"))
    setup = spec.open()
    setup.get_or_create_task("concurrency", "task")
    setup.close()
    planted = _plant_old_garbage(spec)
    create_model(ScaleModel(0.0), [1.0], "warm-up")  # warm this process's caches once for the children
    logs = run_processes(workers_and_maintenance, PROCESSES + 1, spec, NAMES, MAX_OPERATIONS, SECONDS, target)

    maintenance = logs[0]
    pushed = {entry[2] for log in logs for entry in log if entry[0] == "push"}
    deleted = {entry[2] for log in logs for entry in log if entry[0] == "delete"}
    removed = {key for entry in maintenance if entry[0] == "gc" for key in entry[1]}
    assert removed == planted, "gc removed exactly the old garbage, never a key a push wrote"
    for entry in maintenance:
        if entry[0] == "verify":
            for kind, path, key in entry[1]:
                assert kind != "changed", (path, key)
                assert kind != "missing" or key in deleted, f"{path}: files missing, model not deleted"
    record.note("gc rounds", sum(entry[0] == "gc" for entry in maintenance))
    record.note("models copied", sum(entry[1].get("copied", 0) for entry in maintenance if entry[0] == "copy"))
    record.note("rm", sum(entry[0] == "delete" for entry in maintenance))
    check_against_log(spec, logs, record)  # nothing lost, no leftover (planted ones included)
    copied = target.open()
    assert verify(copied).problems == [], "every model copied is complete in the target"
    assert pushed, "the workers pushed"
    copied.close()
    if planted:
        root = Path(spec.artifact_kwargs["path"])
        left = [path.name for private in (".tmp", ".trash") for path in (root / private).iterdir()]
        assert left == [], "leftovers removed by gc"
