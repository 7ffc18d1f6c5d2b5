"""A server that stops in the middle of a multipart upload, then comes back.

SeaweedFS keeps its data (and its open multipart uploads) on disk across a restart, so it shows what a real
store would still hold afterwards; moto forgets everything when it stops, which would hide a leftover
upload. The test runs on a SeaweedFS instance of its own, since it stops it.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest
from ebonite_s3.repository import S3ArtifactRepository
from s3_servers import SeaweedFSServer

from ebonite_core import Ebonite, LocalMetadataRepository
from ebonite_core.errors import RepositoryError
from ebonite_core.repository import KEY_MARKER
from ebonite_core.testing import ScaleModel

MiB = 1024 * 1024
SAMPLE = [1.0, 2.0]


def test_server_stopped_during_a_multipart_upload(restartable_seaweedfs: SeaweedFSServer, tmp_path: Path) -> None:
    server = restartable_seaweedfs
    bucket = "faults"
    server.client().create_bucket(Bucket=bucket)
    stopped = threading.Event()

    def stop_server_midway(direction: str, object_key: str, transferred: int, total: int) -> None:
        # Called by the transfer as bytes go out: stop the server once two of the six parts have been sent.
        if direction == "upload" and transferred >= 2 * 5 * MiB and not stopped.is_set():
            stopped.set()
            server.stop()

    repository = S3ArtifactRepository(
        bucket,
        endpoint=server.endpoint,
        prefix="registry",
        part_size=5 * MiB,
        max_concurrency=1,  # one part at a time, so that the stop falls between sent and unsent parts
        progress=stop_server_midway,
        progress_threshold=0,
    )
    ebnt = Ebonite(LocalMetadataRepository(tmp_path / "metadata.json"), repository)
    task = ebnt.get_or_create_task("project", "task")

    with pytest.raises(RepositoryError, match="cannot be reached") as raised:
        task.create_and_push_model(ScaleModel(2.0, os.urandom(28 * MiB)), SAMPLE, "big")
    assert stopped.is_set()
    assert repr(bucket) in str(raised.value) and server.endpoint in str(raised.value)
    assert ebnt.get_models(task) == [], "a failed push must leave no visible model"

    server.start()  # same ports, same data directory
    inspector = server.client()
    left_open = inspector.list_multipart_uploads(Bucket=bucket).get("Uploads", [])
    # The abort could not reach a stopped server: the upload outlived it, and so did its sent parts.
    assert len(left_open) == 1 and left_open[0]["Key"].startswith("registry/")

    # The same client, without being rebuilt, works again; its first operation finishes the cleanup.
    stored = task.create_and_push_model(ScaleModel(3.0), SAMPLE, "small")
    assert ebnt.get_model("small", task).predict([1.0]) == [3.0]
    assert [model.name for model in ebnt.get_models(task)] == ["small"]
    assert inspector.list_multipart_uploads(Bucket=bucket).get("Uploads", []) == []
    assert set(repository.keys()) == {stored.artifact_key}
    objects = inspector.list_objects_v2(Bucket=bucket, Prefix="registry/").get("Contents", [])
    assert [item["Key"] for item in objects] == [
        f"registry/{stored.artifact_key}/{KEY_MARKER}",
        f"registry/{stored.artifact_key}/model.pkl",
    ], "nothing left of the failed push, its marker included"
