"""The local store: metadata.json on disk, plain artifact files, several processes at once."""

from __future__ import annotations

import itertools
import json
import multiprocessing
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from datetime import timedelta
from pathlib import Path
from typing import Any, BinaryIO

import pytest

from ebonite_core import (
    ArtifactIntegrityError,
    ArtifactNotFoundError,
    Ebonite,
    LocalArtifactRepository,
    LocalMetadataRepository,
    MetadataCorruptError,
    Project,
    RepositoryError,
    Task,
)
from ebonite_core.testing import ScaleModel, make_model

SAMPLE = [1.0, 2.0]
EBONITE = str(Path(sys.executable).parent / "ebonite")


@pytest.fixture
def store(tmp_path: Path) -> Path:
    return tmp_path / "store"


def push_some(store: Path, names: list[str]) -> Ebonite:
    ebnt = Ebonite.local(store)
    task = ebnt.get_or_create_task("project", "task")
    for index, name in enumerate(names):
        task.create_and_push_model(ScaleModel(float(index)), SAMPLE, name)
    return ebnt


def test_metadata_is_one_human_readable_json_file(store: Path) -> None:
    push_some(store, ["first"])
    text = (store / "metadata.json").read_text()
    assert text.startswith('{\n  "schema_version": 2')
    document = json.loads(text)
    assert [p["name"] for p in document["projects"].values()] == ["project"]
    assert [t["name"] for t in document["tasks"].values()] == ["task"]
    [model] = document["models"].values()
    assert model["name"] == "first" and model["artifacts"][0]["name"] == "model.pkl"
    assert (store / "artifacts" / model["artifact_key"] / "model.pkl").is_file()


def test_metadata_never_records_absolute_paths(store: Path) -> None:
    push_some(store, ["first"])
    assert str(store) not in (store / "metadata.json").read_text()


def test_a_moved_store_keeps_every_model_loadable(store: Path, tmp_path: Path) -> None:
    push_some(store, ["a", "b", "c"])
    moved = tmp_path / "elsewhere" / "registry"
    shutil.move(store, moved)
    ebnt = Ebonite.local(moved)
    task = ebnt.get_task("project", "task")
    assert [model.predict([1.0]) for model in ebnt.get_models(task)] == [[0.0], [1.0], [2.0]]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b'{"schema_version": 1, "projects": {', "not valid JSON"),
        (b"", "not valid JSON"),
        (b"\xff\xfe", "not valid JSON"),
        (b"[1, 2]", "has no schema_version"),
        (b'{"schema_version": 99, "projects": {}}', "schema version 99"),
        (b'{"schema_version": 1, "next_id": "x", "projects": {}, "tasks": {}, "models": {}}', "malformed"),
    ],
)
def test_an_unreadable_file_is_reported_and_never_overwritten(store: Path, content: bytes, message: str) -> None:
    push_some(store, ["first"])
    path = store / "metadata.json"
    path.write_bytes(content)
    ebnt = Ebonite.local(store)
    with pytest.raises(MetadataCorruptError, match=message) as raised:
        ebnt.get_projects()
    assert str(path) in str(raised.value)
    with pytest.raises(MetadataCorruptError):
        ebnt.get_or_create_task("other", "task")
    assert path.read_bytes() == content


def test_a_version_1_file_is_read_and_upgraded_on_the_next_write(store: Path) -> None:
    push_some(store, ["first"])
    path = store / "metadata.json"
    document = json.loads(path.read_text())
    document["schema_version"] = 1
    for task in document["tasks"].values():
        del task["aliases"]
    for model in document["models"].values():
        del model["tags"]
    path.write_text(json.dumps(document))
    ebnt = Ebonite.local(store)
    model = ebnt.get_model("first", "task", "project")
    assert model.tags == {} and model.predict([1.0]) == [0.0]
    assert json.loads(path.read_text())["schema_version"] == 1, "reading does not rewrite the file"
    ebnt.set_alias(model.task, "champion", model)
    ebnt.set_model_tags(model, {"stage": "production"})
    upgraded = json.loads(path.read_text())
    assert upgraded["schema_version"] == 2
    assert ebnt.get_model_by_alias(model.task, "champion").tags == {"stage": "production"}


def test_changes_by_another_writer_are_seen(store: Path) -> None:
    first = LocalMetadataRepository(store / "metadata.json")
    second = LocalMetadataRepository(store / "metadata.json")
    assert second.get_projects() == []
    created = first.create_project(Project("one"))
    assert second.get_project_by_name("one") == created
    second.create_project(Project("two"))
    assert [project.name for project in first.get_projects()] == ["one", "two"]
    (store / "metadata.json").unlink()
    assert first.get_projects() == []


def _identity(path: Path) -> tuple[int, int, int]:
    status = os.stat(path)
    return status.st_ino, status.st_size, status.st_mtime_ns


def test_a_stale_writer_never_undoes_changes_on_a_file_system_with_coarse_timestamps(coarse_timestamps: Path) -> None:
    """Two writers, A and B. A writes; within the same second B writes twice, and the file ends on A's inode
    with A's size and modification time (os.replace alternates between inode numbers). Judged by stat alone,
    A's state in memory looks current and A's next write puts it back: B's model lost, A's deleted model
    listed again. The generation every write puts in the file tells them apart."""
    path = coarse_timestamps / "metadata.json"
    writer_a, writer_b = LocalMetadataRepository(path), LocalMetadataRepository(path)
    project = writer_a.create_project(Project("project"))
    task = writer_a.create_task(Task("task", project_id=project.id))
    for attempt in range(10):  # a second can tick between the writes: try again in the next one
        time.sleep(1 - time.time() % 1 + 0.05)
        mine = writer_a.create_model(make_model(f"a{attempt}", task.id))
        seen_by_a = _identity(path)
        theirs = writer_b.create_model(make_model(f"b{attempt}", task.id))
        writer_b.delete_model(mine)
        if _identity(path) == seen_by_a:
            break
        writer_b.delete_model(theirs)
    else:
        pytest.fail("the file never came back with the inode, size and time A saw: the scenario was not reproduced")
    writer_a.create_project(Project("another"))  # A's next write
    reader = LocalMetadataRepository(path)
    assert reader.get_model_by_id(str(theirs.id)) == theirs, "B's model was lost"
    assert reader.get_model_by_id(str(mine.id)) is None, "A's deleted model came back"
    assert [model.name for model in reader.get_models(task)] == [theirs.name]


def test_durable_false_only_skips_fsync(store: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A store opened with durable=False behaves as a durable one in everything but fsync: pushes, loads,
    tags, aliases and deletes, read back by a durable client (the client contract runs on durable stores)."""
    synced: list[int] = []
    real_fsync = os.fsync
    monkeypatch.setattr(os, "fsync", lambda descriptor: synced.append(descriptor) or real_fsync(descriptor))
    fast = Ebonite.local(store, durable=False)
    task = fast.get_or_create_task("project", "task")
    kept = task.create_and_push_model(ScaleModel(3.0), SAMPLE, "kept", tags={"stage": "candidate"})
    dropped = task.create_and_push_model(ScaleModel(), SAMPLE, "dropped")
    fast.set_alias(task, "champion", kept)
    fast.delete_model(dropped)
    assert synced == [], "durable=False must not fsync"
    durable = Ebonite.local(store)
    assert durable.get_model_by_alias(task, "champion").predict([1.0]) == [3.0]
    assert [model.name for model in durable.get_models(task)] == ["kept"]
    assert set(durable.artifact_repo.keys()) == {kept.artifact_key}
    durable.set_model_tags(kept, {"stage": "production"})
    assert synced, "a durable store fsyncs (so the check above can fail)"


def test_ids_are_never_reused_even_across_instances(store: Path) -> None:
    repo = LocalMetadataRepository(store / "metadata.json")
    created = repo.create_project(Project("one"))
    repo.delete_project(created)
    again = LocalMetadataRepository(store / "metadata.json").create_project(Project("one"))
    assert again.id != created.id


def test_clear_removes_only_what_the_store_wrote(store: Path) -> None:
    push_some(store, ["first"])
    (store / "notes.txt").write_text("mine")
    ebnt = Ebonite.local(store, clear=True)
    assert ebnt.get_projects() == []
    assert sorted(path.name for path in store.iterdir()) == ["notes.txt"]


def test_clear_leaves_a_users_files_among_the_artifacts_and_follows_no_link(store: Path, tmp_path: Path) -> None:
    push_some(store, ["first"])
    victim = tmp_path / "victim"
    victim.mkdir()
    (victim / "data").write_text("precious")
    (store / "artifacts" / "bert-base").mkdir()
    (store / "artifacts" / "bert-base" / "config.json").write_text("{}")
    (store / "artifacts" / "linked").symlink_to(victim)
    (store / "artifacts" / ".trash").mkdir()
    (store / "artifacts" / ".trash" / "x").symlink_to(victim)
    Ebonite.local(store, clear=True)
    assert sorted(path.name for path in (store / "artifacts").iterdir()) == [".trash", "bert-base", "linked"]
    assert (store / "artifacts" / "bert-base" / "config.json").read_text() == "{}"
    assert (victim / "data").read_text() == "precious"


def test_a_store_written_before_key_markers_keeps_working(store: Path) -> None:
    """ebonite-core 0.1 wrote keys without a marker: its models load, verify and delete as before; gc keeps
    what it cannot prove it wrote (a leftover of 0.1 is reported nowhere and left alone)."""
    from ebonite_core.maintenance import collect_garbage, verify
    from ebonite_core.repository import KEY_MARKER

    ebnt = push_some(store, ["first", "second"])
    leftover = store / "artifacts" / ("9" * 32)  # an interrupted push of 0.1
    leftover.mkdir()
    (leftover / "model.pkl").write_bytes(b"half")
    for marker in (store / "artifacts").glob(f"*/{KEY_MARKER}"):
        marker.unlink()
    old = Ebonite.local(store)
    assert old.artifact_repo.keys() == {}
    assert collect_garbage(old, timedelta(0)).removed_keys == {}
    assert verify(old).problems == []
    assert [model.predict([1.0]) for model in old.get_models("task", "project")] == [[0.0], [1.0]]
    old.delete_model(old.get_model("first", "task", "project"))
    assert {path.name for path in (store / "artifacts").iterdir() if not path.name.startswith(".")} == {
        ebnt.get_model("second", "task", "project").artifact_key,
        leftover.name,
    }
    Ebonite.local(store, clear=True)
    assert [path.name for path in (store / "artifacts").iterdir()] == [leftover.name], (
        "clear removes 0.1's keys that its metadata references, not an unreferenced folder it cannot prove it wrote"
    )


def test_default_store_is_dot_ebonite_in_the_working_directory(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    ebnt = Ebonite.local()
    monkeypatch.chdir("/")  # paths are fixed at construction
    ebnt.get_or_create_task("p", "t").create_and_push_model(ScaleModel(), SAMPLE, "m")
    assert (tmp_path / ".ebonite" / "metadata.json").is_file()
    assert len(list((tmp_path / ".ebonite" / "artifacts").glob("*/model.pkl"))) == 1


def test_a_changed_artifact_file_is_refused(store: Path) -> None:
    ebnt = push_some(store, ["first"])
    model = ebnt.get_model("first", "task", "project")
    path = store / "artifacts" / model.artifact_key / "model.pkl"
    data = bytearray(path.read_bytes())
    data[-2] ^= 0xFF  # same size, different bytes
    path.write_bytes(bytes(data))
    with pytest.raises(ArtifactIntegrityError, match="sha256"):
        model.load()
    path.write_bytes(bytes(data) + b"x")
    with pytest.raises(ArtifactIntegrityError, match="bytes"):
        model.load()
    path.unlink()
    with pytest.raises(ArtifactNotFoundError, match="missing") as raised:
        model.load()
    assert str(raised.value).count("missing") == 1, "the repository says where it looked, the client what is missing"


class _RunsCodeWhenLoaded:
    """Unpickling it creates the file ``marker``: proof that a pickle was deserialized."""

    def __init__(self, marker: str) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[object, tuple[str, str]]:
        return open, (self.marker, "w")


def _write_reusing_a_buffer(stored: BinaryIO, file: BinaryIO) -> None:
    buffer = bytearray(64 * 1024)
    while count := stored.readinto(buffer):
        file.write(memoryview(buffer)[:count])


def _write_large_blocks(stored: BinaryIO, file: BinaryIO) -> None:
    while block := stored.read(4 * 1024 * 1024 + 1):  # bytes: the client's file keeps them without a copy
        file.write(block)


def _write_mixed(stored: BinaryIO, file: BinaryIO) -> None:
    """Small and large writes, immutable and reused buffers, in turn: the file keeps their order."""
    reused = bytearray(5 * 1024 * 1024)
    for step in itertools.cycle([100, -(5 * 1024 * 1024), 64 * 1024, 5 * 1024 * 1024 + 7, 3]):
        if step < 0:  # a large buffer the writer changes as soon as write returns
            count = stored.readinto(memoryview(reused)[:-step])
            file.write(memoryview(reused)[:count])
            reused[:count] = bytes(count)
        else:
            count = file.write(stored.read(step))
        if not count:
            return


@pytest.mark.parametrize("write", [_write_reusing_a_buffer, _write_large_blocks, _write_mixed])
def test_a_streamed_download_is_checked_from_the_bytes_written_before_anything_is_deserialized(
    store: Path, tmp_path: Path, write: Callable[[BinaryIO, BinaryIO], None]
) -> None:
    """A repository that streams into the client's file (download_into) has each file hashed as it is written,
    whichever way it writes (a buffer it reuses, large immutable blocks, a mix): the model loads without a
    second pass; a stored file changed to a pickle that runs code (same size) is refused before the
    serializer reads a byte of it."""
    import pickle

    class Streaming(LocalArtifactRepository):
        def local_path(self, key: str, name: str) -> Path | None:
            return None  # make the client download

        def download_into(self, key: str, name: str, file: BinaryIO) -> bool:
            with open(self.root / key / name, "rb") as stored:
                write(stored, file)
            return True

    ebnt = Ebonite(LocalMetadataRepository(store / "metadata.json"), Streaming(store / "artifacts"))
    weights = os.urandom(10 * 1024 * 1024)  # many batches for the hashing thread
    model = ebnt.get_or_create_task("project", "task").create_and_push_model(ScaleModel(2.0, weights), SAMPLE, "big")
    assert ebnt.get_model("big", "task", "project").load().object.payload == weights
    marker = tmp_path / "code-ran"
    stored = store / "artifacts" / model.artifact_key / "model.pkl"
    forged = pickle.dumps(_RunsCodeWhenLoaded(str(marker)))
    stored.write_bytes(forged + bytes(stored.stat().st_size - len(forged)))  # pickle stops at its end
    with pytest.raises(ArtifactIntegrityError, match="sha256"):
        ebnt.get_model("big", "task", "project").load()
    assert not marker.exists()


def test_a_file_deleted_while_a_model_loads_is_an_artifact_not_found_error(store: Path) -> None:
    """Another process deleting the model between the repository finding its file and the load reading it
    (found by tests/reliability/test_rel_concurrency.py) is the clean error, not a bare FileNotFoundError."""

    class DeletedMeanwhile(LocalArtifactRepository):
        def local_path(self, key: str, name: str) -> Path | None:
            path = super().local_path(key, name)
            self.delete(key)  # what a concurrent delete_model does to the files
            return path

    push_some(store, ["doomed"])
    ebnt = Ebonite(LocalMetadataRepository(store / "metadata.json"), DeletedMeanwhile(store / "artifacts"))
    model = ebnt.get_model("doomed", "task", "project")
    with pytest.raises(ArtifactNotFoundError, match=r"'model.pkl' of model 'doomed' is missing: .* is gone"):
        model.load()


def test_a_push_leaves_no_temporary_files(store: Path) -> None:
    push_some(store, ["a", "b"])
    artifacts = store / "artifacts"
    hidden = [path for path in artifacts.glob(".*/**/*") if path.is_file()]
    assert hidden == []
    assert len([path for path in artifacts.iterdir() if not path.name.startswith(".")]) == 2


@pytest.mark.parametrize("durable", [True, False])
def test_a_durable_store_has_large_files_written_through_while_they_are_hashed(
    store: Path, durable: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The client flushes each large buffer to the disk as it writes it (overlapping the disk with sha256)
    only for a repository that fsyncs what it stores; the stored bytes and the manifest are the same."""
    import hashlib

    from ebonite_core.model import storage

    synced: list[int] = []
    real_fdatasync = storage._fdatasync
    monkeypatch.setattr(storage, "_fdatasync", lambda fd: synced.append(fd) or real_fdatasync(fd))
    weights = bytes(range(256)) * (40 * 1024)  # 10 MiB: over the size hashed on a second thread
    ebnt = Ebonite.local(store, durable=durable)
    assert ebnt.artifact_repo.sync_staged_files is durable
    model = ebnt.get_or_create_task("project", "task").create_and_push_model(ScaleModel(2.0, weights), SAMPLE, "big")
    assert bool(synced) is durable
    [artifact] = model.artifacts
    stored = (store / "artifacts" / model.artifact_key / artifact.name).read_bytes()
    assert (len(stored), hashlib.sha256(stored).hexdigest()) == (artifact.size, artifact.sha256)
    assert ebnt.get_model("big", "task", "project").load().object.payload == weights


def test_a_file_hashed_while_it_is_loaded_is_checked_whichever_way_the_serializer_reads_it(
    store: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With ``verify_while_loading`` each file is hashed as the serializer reads it in order (large
    ``readinto`` calls in chunks hashed on a second thread); a file read out of order or not to its end is
    checked on its own after ``load``. Either way a changed byte is refused."""
    from ebonite_core.model import storage

    weights = bytes(range(256)) * (40 * 1024)  # 10 MiB
    ebnt = Ebonite.local(store)
    model = ebnt.get_or_create_task("project", "task").create_and_push_model(ScaleModel(2.0, weights), SAMPLE, "big")
    path = store / "artifacts" / model.artifact_key / "model.pkl"
    stored = path.read_bytes()

    def read(mode: str, file: Any) -> bytes:
        if mode == "readinto":
            buffer = bytearray(len(stored) + 1)
            return bytes(buffer[: file.readinto(buffer)]) + file.read()
        if mode == "head":
            return file.read(100)
        if mode == "descriptor":
            return os.read(file.fileno(), len(stored) + 1)
        if mode == "tail first":
            file.seek(-100, 2)
            tail = file.read()
            file.seek(0)
            return file.read()[:-100] + tail
        return file.read()

    class Reading:
        def __init__(self, mode: str) -> None:
            self.mode = mode

        def load(self, open_file: Any, details: Any) -> bytes:
            if self.mode == "twice":  # each opening counts: the second one reads only the head
                with open_file("model.pkl") as file, open_file("model.pkl") as again:
                    return file.read() if again.read(100) else b""
            with open_file("model.pkl") as file:
                return read(self.mode, file)

    checked_apart: list[str] = []
    real_verify_file = storage.verify_file
    monkeypatch.setattr(storage, "verify_file", lambda *args: checked_apart.append(mode) or real_verify_file(*args))
    modes = ("read", "readinto", "head", "descriptor", "tail first", "twice")
    for mode in modes:
        loaded = storage.read_object(Reading(mode), ebnt.artifact_repo, model, verify_while_loading=True)
        assert loaded == (stored[:100] if mode == "head" else stored)
    assert checked_apart == ["head", "descriptor", "tail first", "twice"]
    for tamper, message in (
        (lambda data: data[:-1] + bytes([data[-1] ^ 1]), "sha256"),
        (lambda data: data[:-1], "bytes"),
    ):
        path.write_bytes(tamper(stored))
        for mode in modes:
            with pytest.raises(ArtifactIntegrityError, match=message):
                storage.read_object(Reading(mode), ebnt.artifact_repo, model, verify_while_loading=True)


def test_the_artifact_file_is_the_pickled_object(store: Path) -> None:
    import pickle

    ebnt = push_some(store, ["a"])
    model = ebnt.get_model("a", "task", "project")
    with open(store / "artifacts" / model.artifact_key / "model.pkl", "rb") as file:
        assert isinstance(pickle.load(file), ScaleModel)


def _push_from_worker(store: str, worker: int, count: int) -> list[str]:
    ebnt = Ebonite.local(store)
    task = ebnt.get_or_create_task("project", "task")  # every worker races to create it
    return [
        task.create_and_push_model(ScaleModel(float(worker * 1000 + index)), SAMPLE, f"w{worker}-m{index}").id
        for index in range(count)
    ]


def test_concurrent_processes_lose_nothing(store: Path) -> None:
    workers, pushes = 4, 50
    with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn")) as pool:
        futures = [pool.submit(_push_from_worker, str(store), worker, pushes) for worker in range(workers)]
        ids = [model_id for future in futures for model_id in future.result()]
    assert len(ids) == len(set(ids)) == workers * pushes
    document = json.loads((store / "metadata.json").read_text())
    assert len(document["tasks"]) == 1 and len(document["models"]) == workers * pushes
    ebnt = Ebonite.local(store)
    models = ebnt.get_models("task", "project")
    assert {model.name for model in models} == {f"w{w}-m{i}" for w in range(workers) for i in range(pushes)}
    assert set(ebnt.artifact_repo.keys()) == {model.artifact_key for model in models}
    for model in models:
        worker, index = (int(part[1:]) for part in model.name.split("-"))
        assert model.predict([1.0]) == [float(worker * 1000 + index)]


def test_the_file_always_holds_exactly_the_state_after_incremental_writes(store: Path) -> None:
    """Lines are re-encoded only for changed rows: after every kind of change the file must still match."""
    repo = LocalMetadataRepository(store / "metadata.json")
    ebnt = Ebonite(repo, Ebonite.inmemory().artifact_repo)
    task = ebnt.get_or_create_task("project", "task")
    models = [task.create_and_push_model(ScaleModel(), SAMPLE, f"m{index}") for index in range(4)]

    def check() -> None:
        on_disk = json.loads((store / "metadata.json").read_text())
        assert on_disk == {"schema_version": 2, "generation": repo._generation, **repo.state}
        fresh = LocalMetadataRepository(store / "metadata.json")
        assert fresh.get_models(task) == repo.get_models(task)
        assert fresh.get_aliases(task) == repo.get_aliases(task)

    check()
    ebnt.set_model_tags(models[1], {"stage": "production"})
    check()
    ebnt.set_alias(task, "champion", models[2])
    check()
    ebnt.delete_model(models[2])  # also rewrites the task's aliases
    check()
    ebnt.delete_model_tag(models[1], "stage")
    ebnt.get_or_create_task("project", "other")
    ebnt.delete_model(models[0])
    task.create_and_push_model(ScaleModel(), SAMPLE, "m0")  # a freed name, a new id at the end
    check()
    assert [model.name for model in ebnt.get_models(task)] == ["m1", "m3", "m0"]


def test_a_read_only_store_is_loaded_verified_listed_and_copied(
    store: Path, tmp_path: Path, read_only_view: Callable[[Path], Path]
) -> None:
    """A store on a read-only mount (baked into an image, a shared volume): reading needs no write, scratch
    files go to the system's temporary directory."""
    push_some(store / ".ebonite", ["first", "second"])
    view = read_only_view(store)
    with pytest.raises(OSError):
        (view / "probe").write_text("the mount is really read-only")
    ebnt = Ebonite.local(view / ".ebonite")
    assert [model.predict([1.0]) for model in ebnt.get_models("task", "project")] == [[0.0], [1.0]]
    env = {name: value for name, value in os.environ.items() if name != "EBONITE_CONFIG"}
    for command in (["verify"], ["ls", "project/task"], ["show", "project/task/first"], ["gc", "--dry-run"]):
        result = subprocess.run([EBONITE, *command], cwd=view, env=env, capture_output=True, text=True)
        assert result.returncode == 0, (command, result.stderr)
    (tmp_path / "copy").mkdir()
    copied = subprocess.run([EBONITE, "copy", "--to", str(tmp_path / "copy")], cwd=view, env=env, capture_output=True)
    assert copied.returncode == 0, copied.stderr
    assert Ebonite.local(tmp_path / "copy").get_model("second", "task", "project").predict([1.0]) == [1.0]


def test_a_push_of_a_file_that_is_gone_names_that_file_not_the_store(tmp_path: Path) -> None:
    store = LocalArtifactRepository(tmp_path / "artifacts")
    gone = tmp_path / "gone.bin"
    with pytest.raises(RepositoryError, match=r"Cannot push .*gone\.bin: the file is gone"):
        store.push("0123456789abcdef0123456789abcdef", {"model.pkl": gone})
    assert store.keys() == {}, "nothing stored"
