"""Disk full: stores on a small tmpfs (mounted by the test, as root) that runs out of space during pushes.

A push that does not fit raises a clear :class:`RepositoryError` (the device is full, and where), and
nothing is half-written: the store holds exactly what it held before, every earlier model loads, and once
space is freed the same push succeeds. The free space is swept so that it runs out at each step of a push:
while the artifact files are written, while the metadata file (or SQLite's database) is written, or not at
all.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from rel_report import FaultRecord
from rel_stores import StoreSpec, local_artifacts, local_metadata, s3_artifacts, sqlite_metadata, tree_snapshot

from ebonite_core import RepositoryError
from ebonite_core.testing import ScaleModel

KiB = 1024
MiB = 1024 * KiB
SAMPLE = [1.0]


def _free_bytes(path: Path) -> int:
    status = os.statvfs(path)
    return status.f_bavail * status.f_frsize


def _leave_free(mount: Path, free: int) -> Path:
    """Fill the file system with a filler file until about ``free`` bytes remain; return the filler."""
    filler = mount / "filler"
    filler.unlink(missing_ok=True)
    size = max(_free_bytes(mount) - free, 0)
    with open(filler, "wb") as file:
        file.truncate(0)
        chunk = b"\0" * MiB
        while size > 0:
            size -= file.write(chunk[: min(size, MiB)])
    return filler


def _check_refused(err: BaseException, mount: Path) -> str:
    """The error says the device is full and where; return which step ran out of space."""
    message = str(err)
    assert isinstance(err, RepositoryError), f"{type(err).__name__}: {message}"
    assert "No space left on device" in message or "disk is full" in message, message
    assert str(mount) in message, message
    assert "Cannot reach" not in message, f"a full disk is not an unreachable server: {message}"
    if "artifact files" in message or "artifacts under" in message or "a directory for the files" in message:
        return "out of space writing the artifacts"
    if "metadata file" in message:
        return "out of space writing metadata.json"
    if "metadata database" in message:
        return "out of space writing the SQLite database"
    return "out of space elsewhere"


@pytest.mark.parametrize("metadata", ["local", "sqlite"])
def test_pushes_until_the_disk_is_full(
    metadata: str, tmpfs: Callable[[int], Path], fault: Callable[..., FaultRecord]
) -> None:
    """Push 512 KiB models until one does not fit; then free space and push it again."""
    mount = tmpfs(6 * MiB)
    store = mount / "store"
    meta_type, meta_kwargs = (
        ("local", local_metadata(store)) if metadata == "local" else ("sqlalchemy", sqlite_metadata(store))
    )
    spec = StoreSpec(f"{metadata} + local", meta_type, "local", meta_kwargs, local_artifacts(store))
    record = fault("disk full", "pushes of 512 KiB models into a 6 MiB tmpfs until it is full", spec.label)
    store.mkdir()
    ebnt = spec.open()
    task = ebnt.get_or_create_task("project", "task")
    pushed: list[str] = []
    for number in range(40):  # 6 MiB hold fewer than 12: the loop ends on a refused push long before
        before = tree_snapshot(store)
        try:
            task.create_and_push_model(ScaleModel(float(number), os.urandom(512 * KiB)), SAMPLE, f"model-{number}")
        except Exception as err:
            record.note(_check_refused(err, mount))
            refused = number
            break
        pushed.append(f"model-{number}")
        record.runs += 1
    else:
        pytest.fail("the disk never filled up")
    record.runs += 1
    assert tree_snapshot(store) == before, "the refused push left something behind"
    assert [model.name for model in ebnt.get_models(task)] == pushed
    assert [ebnt.get_model(name, task).predict(SAMPLE) for name in pushed] == [[float(n)] for n in range(refused)]

    # Freeing space (deleting a model) makes the store usable again: the same push succeeds.
    ebnt.delete_model(ebnt.get_model(pushed[0], task))
    task.create_and_push_model(ScaleModel(-1.0, os.urandom(512 * KiB)), SAMPLE, f"model-{refused}")
    assert ebnt.get_model(f"model-{refused}", task).predict(SAMPLE) == [-1.0]
    record.note("push succeeded after space was freed")
    ebnt.close()


@pytest.mark.parametrize("metadata", ["local", "sqlite"])
def test_space_running_out_at_each_step_of_a_push(
    metadata: str, tmpfs: Callable[[int], Path], fault: Callable[..., FaultRecord]
) -> None:
    """Sweep the free space left before a push of a 64 KiB model into a store whose metadata is ~300 KB, so
    that the disk fills while the artifacts are written, while the metadata is written, or not at all."""
    mount = tmpfs(8 * MiB)
    store = mount / "store"
    meta_type, meta_kwargs = (
        ("local", local_metadata(store)) if metadata == "local" else ("sqlalchemy", sqlite_metadata(store))
    )
    spec = StoreSpec(f"{metadata} + local", meta_type, "local", meta_kwargs, local_artifacts(store))
    record = fault("disk full", "free space swept from 8 KiB to 600 KiB before a push", spec.label)
    store.mkdir()
    ebnt = spec.open()
    task = ebnt.get_or_create_task("project", "task")
    bulky = {"history": ["x" * 1000] * 30}  # ~30 KB of params per model: metadata of ~300 KB
    for number in range(10):
        task.create_and_push_model(ScaleModel(float(number)), SAMPLE, f"model-{number}", params=bulky)
    earlier = {model.name: model.artifact_key for model in ebnt.get_models(task)}

    for free in range(8 * KiB, 600 * KiB, 24 * KiB):
        filler = _leave_free(mount, free)
        before = tree_snapshot(store)
        record.runs += 1
        try:
            task.create_and_push_model(ScaleModel(99.0, os.urandom(64 * KiB)), SAMPLE, "new", params=bulky)
        except Exception as err:
            record.note(_check_refused(err, mount))
            assert tree_snapshot(store) == before, f"{free} bytes free: the refused push left something behind"
            assert ebnt.get_model("new", task) is None
        else:
            record.note("fitted")
            assert ebnt.get_model("new", task).predict(SAMPLE) == [99.0]
            filler.unlink()
            ebnt.delete_model(ebnt.get_model("new", task))
        filler.unlink(missing_ok=True)
        assert {model.name: model.artifact_key for model in ebnt.get_models(task)} == earlier
    assert [ebnt.get_model(name, task).predict(SAMPLE) for name in earlier] == [[float(n)] for n in range(10)]
    ebnt.close()


def test_a_full_temporary_directory_with_s3_artifacts(
    tmpfs: Callable[[int], Path],
    seaweedfs: Any,
    s3_prefix: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    fault: Callable[..., FaultRecord],
) -> None:
    """S3 pushes and loads go through the local temporary directory: full, it gives a clear error and the
    bucket and the metadata are unchanged."""
    spec = StoreSpec(
        "local + s3 (SeaweedFS)",
        "local",
        "s3",
        local_metadata(tmp_path),
        s3_artifacts(seaweedfs.endpoint, "reliability", s3_prefix),
    )
    record = fault("disk full", "temporary directory full during an S3 push and a load", spec.label)
    ebnt = spec.open()
    task = ebnt.get_or_create_task("project", "task")
    task.create_and_push_model(ScaleModel(1.0, os.urandom(3 * MiB)), SAMPLE, "stored")
    keys = set(ebnt.artifact_repo.keys())
    metadata = (tmp_path / "metadata.json").read_bytes()
    mount = tmpfs(2 * MiB)
    monkeypatch.setattr(tempfile, "tempdir", str(mount))  # the system's temporary directory, full

    with pytest.raises(RepositoryError) as raised:
        task.create_and_push_model(ScaleModel(2.0, os.urandom(3 * MiB)), SAMPLE, "too big")
    record.note(_check_refused(raised.value, mount))
    record.runs += 1
    assert set(ebnt.artifact_repo.keys()) == keys and (tmp_path / "metadata.json").read_bytes() == metadata

    with pytest.raises(RepositoryError) as raised:
        ebnt.get_model("stored", task).load()
    assert "No space left on device" in str(raised.value) and str(mount) in str(raised.value), str(raised.value)
    record.note("load refused clearly")
    record.runs += 1
    assert os.listdir(mount) == [], "a partial download was left in the temporary directory"

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    assert ebnt.get_model("stored", task).predict(SAMPLE) == [1.0]
    task.create_and_push_model(ScaleModel(2.0, os.urandom(3 * MiB)), SAMPLE, "too big")
    assert ebnt.get_model("too big", task).predict(SAMPLE) == [2.0]
    ebnt.close()
