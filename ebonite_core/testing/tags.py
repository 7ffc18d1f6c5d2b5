"""The tags part of the MetadataRepository contract: tags stored with a model, merged by ``set_model_tags``."""

from __future__ import annotations

from ..errors import NonExistingModelError
from ..interfaces import MetadataRepository
from ..objects import Task
from .checks import refused
from .fixtures import MetadataFixtures
from .models import make_model


class TagsContract(MetadataFixtures):
    """Tags, as every metadata repository stores them (part of :class:`MetadataRepositoryContract`)."""

    def test_tags_round_trip(self, repo: MetadataRepository, task: Task) -> None:
        stored = repo.create_model(make_model("model", task.id, tags={"stage": "candidate", "clé": "välue"}))
        assert stored.tags == {"stage": "candidate", "clé": "välue"}
        fetched = repo.get_model_by_name(task, "model")
        assert fetched is not None and fetched.tags == stored.tags

    def test_set_model_tags_adds_and_overwrites(self, repo: MetadataRepository, task: Task) -> None:
        model = repo.create_model(make_model("model", task.id, tags={"a": "1", "b": "2"}))
        other = repo.create_model(make_model("other", task.id, tags={"a": "1"}))
        updated = repo.set_model_tags(model, {"b": "two", "c": "3"})
        assert updated.tags == {"a": "1", "b": "two", "c": "3"}
        assert repo.get_model_by_id(model.id).tags == {"a": "1", "b": "two", "c": "3"}
        assert repo.get_model_by_id(other.id).tags == {"a": "1"}

    def test_delete_model_tag(self, repo: MetadataRepository, task: Task) -> None:
        model = repo.create_model(make_model("model", task.id, tags={"a": "1", "b": "2"}))
        assert repo.delete_model_tag(model, "a").tags == {"b": "2"}
        assert repo.delete_model_tag(model, "missing").tags == {"b": "2"}
        assert repo.get_model_by_id(model.id).tags == {"b": "2"}

    def test_tags_of_a_missing_model(self, repo: MetadataRepository, task: Task) -> None:
        model = repo.create_model(make_model("model", task.id))
        repo.delete_model(model)
        with refused(NonExistingModelError, f"set_model_tags() of model {model.id!r}, deleted"):
            repo.set_model_tags(model, {"a": "1"})
        with refused(NonExistingModelError, f"delete_model_tag() of model {model.id!r}, deleted"):
            repo.delete_model_tag(model, "a")
