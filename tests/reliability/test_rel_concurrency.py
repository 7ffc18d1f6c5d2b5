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
from pathlib import Path
from typing import Any

import pytest
from rel_report import REPORT_VARIABLE, FaultRecord
from rel_stores import check_against_log, store_spec
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


@pytest.mark.parametrize(("metadata", "artifacts"), PAIRS)
def test_concurrent_processes_match_the_log_of_acknowledged_operations(
    metadata: str, artifacts: str, tmp_path: Path, request: pytest.FixtureRequest, fault: Any
) -> None:
    spec = store_spec(metadata, artifacts, tmp_path, request)
    record: FaultRecord = fault(
        "concurrency", f"{PROCESSES} processes pushing, getting, listing and deleting (runs: operations)", spec.label
    )
    setup = spec.open()
    setup.get_or_create_task("concurrency", "task")
    setup.close()
    create_model(ScaleModel(0.0), [1.0], "warm-up")  # warm this process's caches once for the children
    logs = run_processes(concurrency_worker, PROCESSES, spec, NAMES, MAX_OPERATIONS, SECONDS)
    check_against_log(spec, logs, record)
