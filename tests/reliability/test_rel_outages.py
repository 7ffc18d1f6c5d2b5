"""Backend outages: the S3 server or the database stops in the middle of an operation, then comes back.

During the outage every operation fails with a clear :class:`RepositoryError` that names the store; no
model is ever half-visible; after the restart the same client object serves normally, without being
rebuilt. The servers are real processes stopped for real: SeaweedFS (which keeps its data across a
restart), PostgreSQL (``pg_ctl stop -m immediate``) and MariaDB (SIGKILL). A TCP proxy in front of a
database drops the answer to a COMMIT, as a network can.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from ebonite_s3.repository import S3ArtifactRepository
from ebonite_sqlalchemy import SQLAlchemyMetaRepository
from filelock import FileLock
from rel_report import FaultRecord
from rel_services import CuttingProxy, RestartableMariaDB, RestartablePostgres, s3_servers, sql_servers
from rel_stores import MiB, referenced_keys
from sqlalchemy import event

from ebonite_core import Ebonite, LocalArtifactRepository, LocalMetadataRepository, RepositoryError
from ebonite_core.maintenance.gc import collect_garbage
from ebonite_core.testing import ScaleModel

SAMPLE = [1.0]
DATABASES = ["postgresql", "mariadb"]


def _unreferenced(ebnt: Ebonite) -> set[str]:
    return set(ebnt.artifact_repo.keys()) - referenced_keys(ebnt)


def _names(ebnt: Ebonite) -> list[str]:
    task = ebnt.get_task("project", "task")
    return [model.name for model in ebnt.get_models(task)] if task is not None else []


def _collect(ebnt: Ebonite, record: FaultRecord) -> None:
    """gc removes exactly the artifact keys the failed operation left, and nothing a model references."""
    left = _unreferenced(ebnt)
    record.note("artifact keys left for gc", len(left))
    report = collect_garbage(ebnt, older_than=timedelta(0))
    assert set(report.removed_keys) == left
    assert set(ebnt.artifact_repo.keys()) == referenced_keys(ebnt)


# Databases
def _database_client(server: RestartablePostgres | RestartableMariaDB, tmp_path: Path, port: int = 0) -> Ebonite:
    url = server.create_database("rel")
    if port:
        url = url.replace(f":{server.port}/", f":{port}/")
    return Ebonite(SQLAlchemyMetaRepository(url), LocalArtifactRepository(tmp_path / "artifacts"))


def _assert_unreachable(err: BaseException, server: sql_servers.Server) -> None:
    message = str(err)
    assert "Cannot reach the metadata database" in message and f"127.0.0.1:{server.port}" in message, message
    assert sql_servers.PASSWORD not in message


@pytest.mark.parametrize("kind", DATABASES)
def test_a_database_restarted_while_idle_serves_the_next_operation(
    kind: str, restartable_database: Callable[[str], Any], tmp_path: Path, fault: Callable[..., FaultRecord]
) -> None:
    """The pooled connections died with the server; the next operation must not fail because of them."""
    record = fault("outage", "database restarted while the client is idle", f"{kind} + local")
    server = restartable_database(kind)
    ebnt = _database_client(server, tmp_path)
    task = ebnt.get_or_create_task("project", "task")
    task.create_and_push_model(ScaleModel(1.0), SAMPLE, "before")
    for run in range(2):
        server.halt()
        server.resume()
        record.runs += 1
        assert ebnt.get_model("before", task).predict(SAMPLE) == [1.0]
        task.create_and_push_model(ScaleModel(2.0), SAMPLE, f"after-{run}")
    assert _names(ebnt) == ["before", "after-0", "after-1"]
    record.note("first operation after the restart succeeded", 2)


@pytest.mark.parametrize("kind", DATABASES)
def test_a_database_stopped_during_a_push(
    kind: str, restartable_database: Callable[[str], Any], tmp_path: Path, fault: Callable[..., FaultRecord]
) -> None:
    """The server stops just as the model's row is being inserted (after the artifacts are stored)."""
    record = fault("outage", "database stopped while a push inserts the model", f"{kind} + local")
    server = restartable_database(kind)
    ebnt = _database_client(server, tmp_path)
    task = ebnt.get_or_create_task("project", "task")
    task.create_and_push_model(ScaleModel(1.0), SAMPLE, "before")
    engine = ebnt.meta_repo.engine  # type: ignore[attr-defined]

    stopped = []

    def stop_at_the_insert(connection: Any, cursor: Any, statement: str, *args: Any) -> None:
        if not stopped and statement.lstrip().upper().startswith("INSERT INTO EBONITE_MODELS"):
            stopped.append(statement)
            server.halt()

    event.listen(engine, "before_cursor_execute", stop_at_the_insert)
    with pytest.raises(RepositoryError) as raised:
        task.create_and_push_model(ScaleModel(2.0), SAMPLE, "during")
    _assert_unreachable(raised.value, server)
    assert stopped, "the server was not stopped at the INSERT"
    with pytest.raises(RepositoryError) as raised:
        ebnt.get_models(task)  # still down: reads fail clearly too
    _assert_unreachable(raised.value, server)
    record.runs += 1
    record.note("clear error during the outage")

    server.resume()
    assert _names(ebnt) == ["before"], "the interrupted push is visible"
    # Its artifacts were removed, or left for gc when the outcome could not be checked: never referenced.
    _collect(ebnt, record)
    task.create_and_push_model(ScaleModel(3.0), SAMPLE, "during")
    assert ebnt.get_model("during", task).predict(SAMPLE) == [3.0]
    assert ebnt.get_model("before", task).predict(SAMPLE) == [1.0]


@pytest.mark.parametrize("kind", DATABASES)
def test_a_lost_commit_acknowledgement_loses_no_model(
    kind: str, restartable_database: Callable[[str], Any], tmp_path: Path, fault: Callable[..., FaultRecord]
) -> None:
    """The database commits the model, but the answer never reaches the client (the network drops it).

    Whatever the client reports, a model the store shows must load: its artifacts must not be removed.
    """
    record = fault("outage", "answer to the COMMIT of a push lost on the network", f"{kind} + local")
    server = restartable_database(kind)
    proxy = CuttingProxy(server.port)
    try:
        ebnt = _database_client(server, tmp_path, port=proxy.port)
        task = ebnt.get_or_create_task("project", "task")
        for run in range(3):
            proxy.cut_answer_to(b"COMMIT")
            try:
                task.create_and_push_model(ScaleModel(float(run)), SAMPLE, f"model-{run}")
            except RepositoryError as err:
                assert "Cannot reach the metadata database" in str(err)
                record.note("push reported an error")
            else:
                record.note("push reported success")
            assert proxy.wait_for_cut(run + 1), "the proxy never saw the COMMIT"
            record.runs += 1
            found = ebnt.get_model(f"model-{run}", task)
            if found is not None:
                assert found.predict(SAMPLE) == [float(run)]
                record.note("model stored and loads")
            else:
                record.note("model absent")
        assert set(ebnt.artifact_repo.keys()) == referenced_keys(ebnt) | _unreferenced(ebnt)
    finally:
        proxy.close()


# SQLite and local metadata: "unavailable" means locked by another process
def test_a_locked_sqlite_database(tmp_path: Path, fault: Callable[..., FaultRecord]) -> None:
    record = fault("outage", "database locked by another process during a push", "sqlite + local")
    path = tmp_path / "registry.db"
    metadata = SQLAlchemyMetaRepository(f"sqlite:///{path}", connect_args={"timeout": 0.2})
    ebnt = Ebonite(metadata, LocalArtifactRepository(tmp_path / "artifacts"))
    task = ebnt.get_or_create_task("project", "task")
    task.create_and_push_model(ScaleModel(1.0), SAMPLE, "before")
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN EXCLUSIVE")
    try:
        with pytest.raises(RepositoryError, match="database is locked") as raised:
            task.create_and_push_model(ScaleModel(2.0), SAMPLE, "during")
        assert str(path) in str(raised.value)
        record.runs += 1
    finally:
        other.execute("ROLLBACK")
        other.close()
    assert _names(ebnt) == ["before"]
    _collect(ebnt, record)
    task.create_and_push_model(ScaleModel(3.0), SAMPLE, "during")
    assert ebnt.get_model("during", task).predict(SAMPLE) == [3.0]
    ebnt.close()


def test_a_local_metadata_lock_held_by_another_process(tmp_path: Path, fault: Callable[..., FaultRecord]) -> None:
    record = fault("outage", "metadata lock held by another process during a push", "local + local")
    metadata = LocalMetadataRepository(tmp_path / "metadata.json", lock_timeout=0.2)
    ebnt = Ebonite(metadata, LocalArtifactRepository(tmp_path / "artifacts"))
    task = ebnt.get_or_create_task("project", "task")
    task.create_and_push_model(ScaleModel(1.0), SAMPLE, "before")
    held = threading.Event()
    release = threading.Event()

    def hold_the_lock() -> None:  # another FileLock object: the lock file is held as another process would
        with FileLock(f"{tmp_path / 'metadata.json'}.lock"):
            held.set()
            release.wait(60)

    holder = threading.Thread(target=hold_the_lock)
    holder.start()
    try:
        assert held.wait(60)
        with pytest.raises(RepositoryError, match="Timed out") as raised:
            task.create_and_push_model(ScaleModel(2.0), SAMPLE, "during")
        assert "metadata.json.lock" in str(raised.value)
        record.runs += 1
    finally:
        release.set()
        holder.join()
    assert _names(ebnt) == ["before"]
    assert _unreferenced(ebnt) == set(), "the artifacts of a push the lock refused were left behind"
    task.create_and_push_model(ScaleModel(3.0), SAMPLE, "during")
    assert ebnt.get_model("during", task).predict(SAMPLE) == [3.0]


# S3
def _s3_client(server: s3_servers.S3Server, tmp_path: Path, **options: Any) -> Ebonite:
    artifacts = S3ArtifactRepository(
        "reliability", endpoint=server.endpoint, prefix="registry", part_size=5 * MiB, max_concurrency=1, **options
    )
    return Ebonite(LocalMetadataRepository(tmp_path / "metadata.json"), artifacts)


def _assert_s3_unreachable(err: BaseException, server: s3_servers.S3Server) -> None:
    assert "cannot be reached" in str(err) and server.endpoint in str(err), str(err)


def test_s3_stopped_before_a_push(
    restartable_seaweedfs: s3_servers.SeaweedFSServer, tmp_path: Path, fault: Callable[..., FaultRecord]
) -> None:
    record = fault("outage", "S3 server stopped, then a push", "local + s3 (SeaweedFS)")
    server = restartable_seaweedfs
    ebnt = _s3_client(server, tmp_path)
    task = ebnt.get_or_create_task("project", "task")
    task.create_and_push_model(ScaleModel(1.0), SAMPLE, "before")
    server.stop()
    with pytest.raises(RepositoryError) as raised:
        task.create_and_push_model(ScaleModel(2.0), SAMPLE, "during")
    _assert_s3_unreachable(raised.value, server)
    with pytest.raises(RepositoryError) as raised:
        ebnt.get_model("before", task).load()
    _assert_s3_unreachable(raised.value, server)
    record.runs += 1
    assert _names(ebnt) == ["before"]
    server.start()
    task.create_and_push_model(ScaleModel(3.0), SAMPLE, "during")
    assert [ebnt.get_model(name, task).predict(SAMPLE) for name in ("before", "during")] == [[1.0], [3.0]]
    assert _unreferenced(ebnt) == set()


def test_s3_stopped_during_an_upload_and_a_download(
    restartable_seaweedfs: s3_servers.SeaweedFSServer, tmp_path: Path, fault: Callable[..., FaultRecord]
) -> None:
    record = fault("outage", "S3 server stopped half-way through an upload, then a download", "local + s3 (SeaweedFS)")
    server = restartable_seaweedfs
    stop_at: dict[str, int] = {}

    def stop_half_way(direction: str, object_key: str, transferred: int, total: int) -> None:
        if stop_at.get(direction) is not None and transferred >= stop_at[direction]:
            del stop_at[direction]
            server.stop()

    ebnt = _s3_client(server, tmp_path, progress=stop_half_way, progress_threshold=0)
    task = ebnt.get_or_create_task("project", "task")
    task.create_and_push_model(ScaleModel(1.0, b"x" * 12 * MiB), SAMPLE, "before")

    stop_at["upload"] = 6 * MiB
    with pytest.raises(RepositoryError) as raised:
        task.create_and_push_model(ScaleModel(2.0, b"y" * 12 * MiB), SAMPLE, "during")
    _assert_s3_unreachable(raised.value, server)
    assert "upload" not in stop_at
    record.runs += 1
    assert _names(ebnt) == ["before"]
    server.start()

    stop_at["download"] = 6 * MiB
    with pytest.raises(RepositoryError) as raised:
        ebnt.get_model("before", task).load()
    _assert_s3_unreachable(raised.value, server)
    assert "download" not in stop_at
    record.runs += 1
    server.start()

    assert ebnt.get_model("before", task).predict(SAMPLE) == [1.0]
    task.create_and_push_model(ScaleModel(3.0), SAMPLE, "during")
    assert ebnt.get_model("during", task).predict(SAMPLE) == [3.0]
    # The first operation after the restart finished the cleanup of the interrupted upload.
    assert _unreferenced(ebnt) == set()
    assert server.client().list_multipart_uploads(Bucket="reliability").get("Uploads", []) == []


def test_s3_stopped_during_a_delete(
    restartable_seaweedfs: s3_servers.SeaweedFSServer, tmp_path: Path, fault: Callable[..., FaultRecord]
) -> None:
    """The metadata goes first: the model is deleted; its files are removed once the server is back."""
    record = fault("outage", "S3 server stopped, then a delete", "local + s3 (SeaweedFS)")
    server = restartable_seaweedfs
    ebnt = _s3_client(server, tmp_path)
    task = ebnt.get_or_create_task("project", "task")
    doomed = task.create_and_push_model(ScaleModel(1.0), SAMPLE, "doomed")
    task.create_and_push_model(ScaleModel(2.0), SAMPLE, "kept")
    server.stop()
    ebnt.delete_model(doomed)
    record.runs += 1
    assert _names(ebnt) == ["kept"]
    server.start()
    assert ebnt.get_model("kept", task).predict(SAMPLE) == [2.0]  # its first operation finishes the cleanup
    assert _unreferenced(ebnt) == set()
