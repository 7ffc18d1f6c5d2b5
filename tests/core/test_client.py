"""Client behaviour beyond the contract: construction, binding, lazy loading."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import pytest

from ebonite_core import (
    ArtifactNotFoundError,
    Ebonite,
    ExistingModelError,
    ExistingProjectError,
    InMemoryArtifactRepository,
    InMemoryMetadataRepository,
    LocalMetadataRepository,
    Model,
    NonExistingModelError,
    Project,
    RepositoryError,
    Task,
    create_model,
)
from ebonite_core.testing import ScaleModel


def test_construction_checks_repository_types() -> None:
    with pytest.raises(TypeError, match="metadata_repository"):
        Ebonite(InMemoryArtifactRepository(), InMemoryArtifactRepository())  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="artifact_repository"):
        Ebonite(InMemoryMetadataRepository(), InMemoryMetadataRepository())  # type: ignore[arg-type]


def test_custom_client_takes_instances() -> None:
    meta, artifacts = InMemoryMetadataRepository(), InMemoryArtifactRepository()
    ebnt = Ebonite.custom_client(meta, artifacts)
    assert ebnt.meta_repo is meta and ebnt.artifact_repo is artifacts
    with pytest.raises(TypeError, match="meta_kwargs"):
        Ebonite.custom_client(meta, "inmemory", meta_kwargs={"path": "x"})


def test_custom_client_builds_each_repository_from_its_type_name(tmp_path: Path) -> None:
    """Type names resolve each repository on its own: local metadata with in-memory artifacts works like any
    other pair (each backend keeps the client contract with its own partner in test_builtin_backends.py)."""
    ebnt = Ebonite.custom_client("local", "inmemory", meta_kwargs={"path": tmp_path / "metadata.json"})
    assert isinstance(ebnt.meta_repo, LocalMetadataRepository) and ebnt.meta_repo.path == tmp_path / "metadata.json"
    assert isinstance(ebnt.artifact_repo, InMemoryArtifactRepository)
    stored = ebnt.create_model(ScaleModel(3.0), [1.0], "scale")
    assert ebnt.get_model("scale", "default_task", "default_project").predict([1.0]) == [3.0]
    assert set(ebnt.artifact_repo.keys()) == {stored.artifact_key}


def test_getting_a_model_fetches_metadata_only() -> None:
    ebnt = Ebonite.inmemory()
    stored = ebnt.create_model(ScaleModel(), [1.0], "scale")
    ebnt.artifact_repo.delete(stored.artifact_key)
    model = ebnt.get_model("scale", "default_task", "default_project")
    assert model is not None and model.params == {}
    with pytest.raises(ArtifactNotFoundError):
        model.predict([1.0])


def test_a_model_loads_once() -> None:
    ebnt = Ebonite.inmemory()
    ebnt.create_model(ScaleModel(), [1.0], "scale")
    model = ebnt.get_model("scale", "default_task", "default_project", load_artifacts=True)
    first = model.object
    ebnt.artifact_repo.delete(model.artifact_key)  # a second fetch would fail
    assert model.object is first and model.predict([2.0]) == [4.0]


def test_push_needs_a_task() -> None:
    ebnt = Ebonite.inmemory()
    with pytest.raises(ValueError, match="pass the task"):
        ebnt.push_model(create_model(ScaleModel(), [1.0], "scale"))


def test_push_into_the_task_a_model_already_names() -> None:
    ebnt = Ebonite.inmemory()
    task = ebnt.get_or_create_task("p", "t")
    model = create_model(ScaleModel(), [1.0], "scale")
    model.task_id = task.id
    assert ebnt.push_model(model).task_id == task.id


def test_a_model_from_the_store_cannot_be_pushed_without_its_object() -> None:
    ebnt = Ebonite.inmemory()
    task = ebnt.get_or_create_task("p", "t")
    model = create_model(ScaleModel(), [1.0], "scale")
    model._object = None
    with pytest.raises(ValueError, match="holds no object"):
        ebnt.push_model(model, task)


def test_unbound_objects_say_how_to_bind_them() -> None:
    with pytest.raises(ValueError, match="not bound to an Ebonite client"):
        _ = Project("p").tasks


def test_deleted_models_can_be_pushed_again() -> None:
    ebnt = Ebonite.inmemory()
    task = ebnt.get_or_create_task("p", "t")
    model = task.create_and_push_model(ScaleModel(), [1.0], "scale")
    ebnt.delete_model(model)
    assert model.id is None
    ebnt.push_model(model, task)
    assert ebnt.get_model("scale", task).predict([1.0]) == [2.0]


def test_create_project_twice() -> None:
    ebnt = Ebonite.inmemory()
    ebnt.create_project("p")
    with pytest.raises(ExistingProjectError):
        ebnt.create_project("p")
    assert ebnt.get_or_create_project("p").name == "p"


class _LostAnswerMetadata(InMemoryMetadataRepository):
    """Stores the model, then fails as a database does when its answer to COMMIT is lost with the connection;
    with ``unreachable``, every later read fails too."""

    def __init__(self, unreachable: bool = False) -> None:
        super().__init__()
        self.unreachable = False
        self._then_unreachable = unreachable

    def create_model(self, model: Model) -> Model:
        super().create_model(model)
        self.unreachable = self._then_unreachable
        raise RepositoryError("connection lost while committing")

    def get_model_by_name(self, task: Task, name: str) -> Model | None:
        if self.unreachable:
            raise RepositoryError("still unreachable")
        return super().get_model_by_name(task, name)


def test_a_metadata_write_that_took_effect_despite_an_error_is_a_successful_push() -> None:
    ebnt = Ebonite(_LostAnswerMetadata(), InMemoryArtifactRepository())
    task = ebnt.get_or_create_task("project", "task")
    pushed = task.create_and_push_model(ScaleModel(3.0), [1.0], "model")
    assert pushed.id is not None
    assert ebnt.get_model("model", task).predict([1.0]) == [3.0]


def test_artifacts_are_kept_when_the_store_cannot_say_whether_the_write_took_effect() -> None:
    metadata = _LostAnswerMetadata(unreachable=True)
    ebnt = Ebonite(metadata, InMemoryArtifactRepository())
    task = ebnt.get_or_create_task("project", "task")
    with pytest.raises(RepositoryError, match="committing"):
        task.create_and_push_model(ScaleModel(3.0), [1.0], "model")
    metadata.unreachable = False
    # The model was stored: removing its files would have lost it.
    assert ebnt.get_model("model", task).predict([1.0]) == [3.0]


class _RecordingArtifacts(InMemoryArtifactRepository):
    """Records the model in the request that stores its files, as a server that keeps both does; then, with
    ``failure``, fails as a connection does when the answer is lost."""

    def __init__(self, metadata: InMemoryMetadataRepository, failure: Exception | None = None) -> None:
        super().__init__()
        self.metadata, self.failure, self.recorded = metadata, failure, 0

    def records_models(self, metadata: object) -> bool:
        return metadata is self.metadata

    def push_model_files(self, key: str, files: Mapping[str, Path], model: Model, task: Task) -> Model | None:
        if self.metadata.get_model_by_name(task, model.name) is not None:
            raise ExistingModelError.taken(model.name, task.name)
        self.push(key, files)
        stored = self.metadata.create_model(model)
        self.recorded += 1
        if self.failure is not None:
            raise self.failure
        return stored


@pytest.mark.parametrize("answer", ["returned", "lost"])
def test_a_push_recorded_by_the_artifact_repository_is_recorded_once(answer: str) -> None:
    """The model is recorded with its files (the client writes no metadata of its own); when the answer is lost
    after the model was stored, the client finds it stored: the push succeeded."""
    metadata = InMemoryMetadataRepository()
    artifacts = _RecordingArtifacts(metadata, RepositoryError("connection lost") if answer == "lost" else None)
    ebnt = Ebonite(metadata, artifacts)
    task = ebnt.get_or_create_task("project", "task")
    pushed = task.create_and_push_model(ScaleModel(3.0), [1.0], "model")
    assert artifacts.recorded == 1 and pushed.id is not None
    assert ebnt.get_model("model", task).predict([1.0]) == [3.0]
    with pytest.raises(ExistingModelError):  # checked by the push itself
        task.create_and_push_model(ScaleModel(2.0), [1.0], "model")
    assert list(artifacts.keys()) == [pushed.artifact_key]


def test_a_recording_push_that_fails_before_the_model_is_stored_leaves_nothing() -> None:
    metadata = InMemoryMetadataRepository()

    class _Refusing(_RecordingArtifacts):
        def push_model_files(self, key: str, files: Mapping[str, Path], model: Model, task: Task) -> Model | None:
            self.push(key, files)
            raise RepositoryError("connection lost before the model was stored")

    ebnt = Ebonite(metadata, _Refusing(metadata))
    task = ebnt.get_or_create_task("project", "task")
    with pytest.raises(RepositoryError, match="before the model was stored"):
        task.create_and_push_model(ScaleModel(3.0), [1.0], "model")
    assert ebnt.get_models(task) == [] and ebnt.artifact_repo.keys() == {}


class _BlindMetadata(InMemoryMetadataRepository):
    """Finds no model by name: the client's early check passes, and the store itself refuses a taken name."""

    def get_model_by_name(self, task: Task, name: str) -> Model | None:
        return None


def test_artifacts_of_a_refused_push_are_removed() -> None:
    ebnt = Ebonite(_BlindMetadata(), InMemoryArtifactRepository())
    task = ebnt.get_or_create_task("project", "task")
    task.create_and_push_model(ScaleModel(1.0), [1.0], "model")
    with pytest.raises(ExistingModelError):
        task.create_and_push_model(ScaleModel(2.0), [1.0], "model")
    assert len(ebnt.artifact_repo.keys()) == 1


def test_a_taken_name_says_what_to_do() -> None:
    ebnt = Ebonite.inmemory()
    task = ebnt.get_or_create_task("project", "task")
    task.create_and_push_model(ScaleModel(1.0), [1.0], "model")
    with pytest.raises(ExistingModelError) as raised:
        task.create_and_push_model(ScaleModel(2.0), [1.0], "model")
    assert "already exists in task 'task': give the new model another name, or delete the stored one" in str(
        raised.value
    )


class _UndeletableArtifacts(InMemoryArtifactRepository):
    def delete(self, key: str) -> None:
        raise RepositoryError("Cannot delete key\nthe store is unreachable\n(connection refused)")


def test_a_failed_clean_up_logs_one_line_and_the_traceback_only_at_debug(caplog: pytest.LogCaptureFixture) -> None:
    """During an outage the push's own error is what the user needs; the clean-up's is one line before it."""
    ebnt = Ebonite(_BlindMetadata(), _UndeletableArtifacts())
    task = ebnt.get_or_create_task("project", "task")
    task.create_and_push_model(ScaleModel(1.0), [1.0], "model")
    caplog.set_level("DEBUG", logger="ebonite_core.recording")
    with pytest.raises(ExistingModelError):
        task.create_and_push_model(ScaleModel(2.0), [1.0], "model")
    [warning] = [record for record in caplog.records if record.levelname == "WARNING"]
    assert warning.exc_info is None and "\n" not in warning.getMessage()
    assert "RepositoryError: Cannot delete key the store is unreachable (connection refused)" in warning.getMessage()
    assert "ebonite gc" in warning.getMessage()
    [debug] = [record for record in caplog.records if record.levelname == "DEBUG"]
    assert debug.exc_info is not None and debug.exc_info[0] is RepositoryError


@pytest.mark.parametrize(
    ("field", "value", "fragment"),
    [
        ("params", {"loss": float("nan")}, "NaN"),
        ("params", {"seen": {1, 2}}, "not JSON"),
        ("description", "broken \udc80", "lone surrogate"),
        ("params", {"\x00": 0}, "NUL character"),  # PostgreSQL text holds no NUL: no backend may take it
        ("params", {"kernel": "a\x00b"}, "NUL character"),
        ("params", {"nested": [{"k": "\x00"}]}, "NUL character"),
        ("description", "\x00", "NUL character"),
    ],
)
def test_metadata_no_backend_can_store_is_refused_before_anything_is_uploaded(
    field: str, value: object, fragment: str
) -> None:
    ebnt = Ebonite.inmemory()
    task = ebnt.get_or_create_task("project", "task")
    model = create_model(ScaleModel(1.0), [1.0], "model")
    setattr(model, field, value)  # set by hand, after create_model's own checks
    with pytest.raises(ValueError, match=fragment):
        ebnt.push_model(model, task)
    assert ebnt.get_models(task) == [] and ebnt.artifact_repo.keys() == {}


def test_delete_model_of_an_object_from_another_registry_is_refused(tmp_path: Path) -> None:
    """`prod.delete_model(model_from_staging)`: the staging model has the id of prod's unrelated model. Refused,
    and prod's model keeps its metadata and its files."""
    prod, staging = Ebonite.local(tmp_path / "prod"), Ebonite.local(tmp_path / "staging")
    kept = prod.create_model(ScaleModel(2.0), [1.0], "production-model", project_name="p", task_name="t")
    from_staging = staging.create_model(ScaleModel(5.0), [1.0], "experiment", project_name="p", task_name="t")
    assert from_staging.id == kept.id, "ids are unique within one store only"
    with pytest.raises(NonExistingModelError, match="not in this registry"):
        prod.delete_model(from_staging)
    assert prod.get_model("production-model", "t", "p").predict([1.0]) == [2.0]
    assert staging.get_model("experiment", "t", "p").predict([1.0]) == [5.0]
