"""Crash: a child process pushing a large model is killed with SIGKILL, 50 times per backend combination when
the report is written (``make reliability-report``), 16 times in the everyday suite (``make test``).

Half of the kills come from the parent at a random moment of the push (uniform over the duration of an
uninterrupted push, measured first); the other half are failpoints where the child kills itself, so that
every phase is hit whatever the timing: half-way through the upload, between the artifacts and the
metadata, inside the metadata write (before its rename or COMMIT), and right after it. After every kill the
store is opened afresh: every earlier model is still there, unchanged, with its files; the interrupted model
is complete (it loads and verifies) or absent. At the end every model loads and verifies its sha256, and
what the crashes left is only of the kinds ``ebonite gc`` removes: ``ebonite verify`` reports exactly those
unreferenced keys and nothing damaged, ``ebonite gc`` removes them all, and every model still loads.
"""

from __future__ import annotations

import json
import os
import random
import signal
import tempfile
import time
from pathlib import Path
from typing import Any

import pytest
from rel_report import REPORT_VARIABLE, FaultRecord
from rel_stores import (
    MiB,
    StoreSpec,
    ebonite_command,
    local_artifacts,
    local_leftovers,
    local_metadata,
    models_by_name,
    referenced_keys,
    s3_artifacts,
    sqlite_metadata,
    stored_file_sizes,
)
from rel_workers import FAILPOINTS, PHASE_NAMES, RETURNED, STARTED, crash_child, fork_context

from ebonite_core import ArtifactRepository, create_model
from ebonite_core.testing import ScaleModel

# Every failpoint is hit twice and the other half of the runs are random moments even in the everyday suite;
# the report's campaign makes more of both.
CRASH_RUNS = 50 if os.environ.get(REPORT_VARIABLE) else 16
CHILD_TIMEOUT = 120.0  # a bound on a child that neither finishes nor dies; never reached in a passing run

# name -> (id, artifact key, manifest, factor) of every model known to be complete
Expected = dict[str, tuple[Any, ...]]


def _spec(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> tuple[StoreSpec, int]:
    """The store combination and the size of the model to push."""
    store = tmp_path / "store"
    store.mkdir()
    if backend == "local":
        return StoreSpec("local + local", "local", "local", local_metadata(store), local_artifacts(store)), 16 * MiB
    if backend == "sqlite":
        return StoreSpec(
            "sqlite + local", "sqlalchemy", "local", sqlite_metadata(store), local_artifacts(store)
        ), 16 * MiB
    server = request.getfixturevalue("seaweedfs")
    prefix = request.getfixturevalue("s3_prefix")
    artifacts = s3_artifacts(server.endpoint, "reliability", prefix)
    # 6 MiB: a multipart upload of two parts (5 MiB is the smallest part)
    return StoreSpec("local + s3 (SeaweedFS)", "local", "s3", local_metadata(store), artifacts), 6 * MiB


def _run_child(spec: StoreSpec, name: str, factor: float, size: int, failpoint: str | None, delay: float | None) -> Any:
    """Start a pushing child, kill it ``delay`` seconds into the push (``None``: let it finish, unless a
    failpoint kills it), and return the phases it reported."""
    context = fork_context()
    phases = context.RawArray("d", RETURNED + 1)
    ready = context.Event()
    child = context.Process(target=crash_child, args=(spec, name, factor, size, failpoint, phases, ready))
    child.start()
    try:
        assert ready.wait(CHILD_TIMEOUT), f"the child never started its push (exit code {child.exitcode})"
        if failpoint is None and delay is not None:
            time.sleep(delay)
            os.kill(child.pid, signal.SIGKILL)  # a child that already finished is a zombie: no error
        child.join(CHILD_TIMEOUT)
    finally:
        if child.is_alive():
            child.kill()
            child.join()
    assert child.exitcode in (0, -signal.SIGKILL), f"the child failed on its own (exit code {child.exitcode})"
    return phases


def _check_store(spec: StoreSpec, artifacts: ArtifactRepository, expected: Expected, name: str, factor: float) -> str:
    """Open the store's metadata afresh (reading the artifacts through ``artifacts``) and check it; return
    whether the interrupted model is complete or absent."""
    ebnt = spec.open(artifact_repository=artifacts)
    try:
        task = ebnt.get_task("crash", "task")
        assert task is not None
        models = models_by_name(ebnt, task)
        assert set(models) - {name} == set(expected), "a model appeared or vanished"
        sizes = stored_file_sizes(spec)
        for earlier, (model_id, key, manifest, _) in expected.items():
            model = models[earlier]
            assert (model.id, model.artifact_key, model.artifacts) == (model_id, key, manifest), earlier
            for artifact in manifest:
                assert sizes.get((key, artifact.name)) == artifact.size, f"{earlier}: {artifact.name} damaged"
        interrupted = models.get(name)
        if interrupted is None:
            return "absent"
        # load() fetches the files and checks their sha256 against the manifest before unpickling
        assert interrupted.load().predict([1.0]) == [factor]
        expected[name] = (interrupted.id, interrupted.artifact_key, interrupted.artifacts, factor)
        return "complete"
    finally:
        ebnt.meta_repo.close()


def _leftovers(spec: StoreSpec, tmp_path: Path) -> dict[str, int]:
    """What the crashes left, by kind; only kinds that garbage collection removes are allowed (SQLite's own
    journal, which the next connection rolls back, is not counted)."""
    ebnt = spec.open()
    try:
        unreferenced = set(ebnt.artifact_repo.keys()) - referenced_keys(ebnt)
    finally:
        ebnt.close()
    found = {
        kind: len(paths) for kind, paths in local_leftovers(tmp_path / "store").items() if kind != "sqlite journal"
    }
    staged_elsewhere = list((tmp_path / "system-tmp").iterdir())
    if staged_elsewhere:
        found["files staged in the system temporary directory"] = len(staged_elsewhere)
    assert "unknown" not in found, local_leftovers(tmp_path / "store")["unknown"]
    if unreferenced:
        found["unreferenced artifact key"] = len(unreferenced)
    return found


@pytest.mark.parametrize("backend", ["local", "sqlite", "s3"])
def test_sigkill_during_a_push_loses_nothing(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch, fault: Any
) -> None:
    spec, size = _spec(backend, tmp_path, request)
    # The system's temporary directory, where pushes to S3 stage their files: one of this test's own (for the
    # forked children through tempfile, for the ebonite command through TMPDIR), to see what crashes leave.
    system_tmp = tmp_path / "system-tmp"
    system_tmp.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(system_tmp))
    monkeypatch.setenv("TMPDIR", str(system_tmp))
    record: FaultRecord = fault("crash", f"SIGKILL during a push of a {size // MiB} MiB model", spec.label)
    checker = spec.open()  # the parent's client, for set-up and checks
    checker.get_or_create_task("crash", "task")
    # Warm this process's caches (plugins, requirements) once, so that forked children start quickly.
    create_model(ScaleModel(0.0), [1.0], "warm-up")
    expected: Expected = {}

    # An uninterrupted push first: it measures how long a push takes, and is one more earlier model.
    phases = _run_child(spec, "uninterrupted", -1.0, size, None, delay=None)
    assert phases[0] == RETURNED
    duration = phases[RETURNED] - phases[STARTED]
    assert _check_store(spec, checker.artifact_repo, expected, "uninterrupted", -1.0) == "complete"

    rng = random.Random(f"crash-{backend}")
    for run in range(CRASH_RUNS):
        name, factor = f"model-{run}", float(run)
        failpoint = FAILPOINTS[(run // 2) % len(FAILPOINTS)] if run % 2 else None
        phases = _run_child(spec, name, factor, size, failpoint, delay=rng.uniform(0, duration))
        record.runs += 1
        how = "killed by a failpoint" if failpoint else "killed at a random moment"
        record.note(f"{how}: {PHASE_NAMES[int(phases[0])]}")
        record.note(f"model {_check_store(spec, checker.artifact_repo, expected, name, factor)}")

    checker.close()
    leftovers = _leftovers(spec, tmp_path)
    for kind, count in leftovers.items():
        record.note(f"left for gc: {kind}", count)

    # `ebonite verify` finds what the crashes left (unreferenced keys) and nothing damaged...
    verified = ebonite_command(spec, tmp_path, "verify", "--json")
    problems = json.loads(verified.stdout)["problems"] if verified.stdout else verified.stderr
    assert verified.returncode == (1 if problems else 0), verified.stderr
    assert {(problem["kind"], problem["path"]) for problem in problems} <= {("unreferenced", None)}, problems
    assert len(problems) == leftovers.get("unreferenced artifact key", 0)
    # ...and `ebonite gc` removes all of it, and nothing else.
    collected = ebonite_command(spec, tmp_path, "gc", "--older-than", "0", "--json")
    assert collected.returncode == 0, collected.stderr
    report = json.loads(collected.stdout)
    assert len(report["removed_keys"]) == leftovers.get("unreferenced artifact key", 0)
    record.note("removed by ebonite gc", len(report["removed_keys"]) + len(report["leftovers"]))
    assert _leftovers(spec, tmp_path) == {}
    verified = ebonite_command(spec, tmp_path, "verify")
    assert verified.returncode == 0 and "no problems" in verified.stdout, verified.stdout + verified.stderr

    # Every model still loads and verifies (sha256 of every file), from a store opened afresh.
    ebnt = spec.open()
    try:
        task = ebnt.get_task("crash", "task")
        assert task is not None
        assert {model.name for model in ebnt.get_models(task)} == set(expected)
        for model in ebnt.get_models(task):
            assert model.load().predict([1.0]) == [expected[model.name][3]]
    finally:
        ebnt.close()
